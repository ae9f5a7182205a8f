package train

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"

	"github.com/regcl/regcl/internal/plural"
	"github.com/regcl/regcl/model"
)

// Config is one training run. Its zero values are not defaults; use
// NewConfig (or Defaults).
type Config struct {
	// Method is the run's label (Label()), for display only: nothing is
	// derived from it. Records of older regcl versions hold their label here
	// ("l1+l1=0.0001") and have no Preset; Normalize reads them.
	Method string `json:"method" yaml:"method"`
	// Preset is the method the run starts from (model.Methods), and
	// Overrides what the run changes of it (canonical: see NewConfig).
	Preset          string       `json:"preset,omitempty" yaml:"preset"`
	Overrides       Overrides    `json:"overrides,omitzero" yaml:"overrides"`
	Model           model.Config `json:"model" yaml:"model"`
	Epochs          int          `json:"epochs" yaml:"epochs"`
	BatchSize       int          `json:"batch_size" yaml:"batch_size"`
	ValidationSplit float64      `json:"validation_split" yaml:"validation_split"`
	LR              float64      `json:"lr" yaml:"lr"`
	Seed            uint64       `json:"seed" yaml:"seed"`
	TrainSize       int          `json:"train_size,omitempty" yaml:"train_size"` // first N training images only; 0 = all
}

// Keras defaults the study used (DESIGN.md).
const (
	DefaultEpochs          = 20
	DefaultBatchSize       = 128
	DefaultValidationSplit = 0.1
	DefaultLR              = 1e-3
	AdamBeta1              = 0.9
	AdamBeta2              = 0.999
	AdamEpsilon            = 1e-7 // Keras's Adam default, not PyTorch's 1e-8
)

// Defaults returns the study's settings for a preset, seed 0 and no
// overrides.
func Defaults(method string) (Config, error) {
	m, err := model.Preset(method)
	if err != nil {
		return Config{}, err
	}
	return Config{Method: method, Preset: method, Model: m, Epochs: DefaultEpochs, BatchSize: DefaultBatchSize,
		ValidationSplit: DefaultValidationSplit, LR: DefaultLR}, nil
}

// Validate reports the first invalid setting. With a train size given, the
// split must leave at least one image to train and one to validate
// (SplitText); the data's own size is checked when it is loaded.
func (c Config) Validate() error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("epochs must be at least 1, got %d", c.Epochs)
	case c.BatchSize < 1:
		return fmt.Errorf("batch size must be at least 1, got %d", c.BatchSize)
	case !(c.ValidationSplit > 0 && c.ValidationSplit < 1):
		return fmt.Errorf("validation split must be in (0,1), got %v", c.ValidationSplit)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("learning rate must be a positive number, got %v", c.LR)
	case c.TrainSize < 0:
		return fmt.Errorf("train size must be ≥ 0, got %d", c.TrainSize)
	}
	if c.TrainSize > 0 {
		if tn, vn := c.Split(c.TrainSize); tn < 1 || vn < 1 {
			return fmt.Errorf("%s; each needs at least one: give more training images or another split", c.SplitText(c.TrainSize))
		}
	}
	return c.Model.Validate()
}

// idKey is every setting that changes a run's result but the seed: the
// network and its regularization, and the training settings. The preset, the
// overrides and the label are left out, since they only say how the settings
// were reached.
type idKey struct {
	Model           model.Config `json:"model"`
	Epochs          int          `json:"epochs"`
	BatchSize       int          `json:"batch_size"`
	ValidationSplit float64      `json:"validation_split"`
	LR              float64      `json:"lr"`
	TrainSize       int          `json:"train_size,omitempty"`
}

// Hash names what the run computes, seed aside: 12 hex digits of the SHA-256
// of the settings that change the result. Runs that differ only in their
// seed share it.
func (c Config) Hash() string {
	b, _ := json.Marshal(idKey{Model: c.Model, Epochs: c.Epochs, BatchSize: c.BatchSize,
		ValidationSplit: c.ValidationSplit, LR: c.LR, TrainSize: c.TrainSize}) // plain fields always marshal
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])[:12]
}

// ID is a stable identifier of the run, "<hash>-s<seed>": two runs with the
// same ID compute the same thing, however their configuration was reached
// (the preset "baseline" with l1 = 1e-4 is the preset "l1"), so a finished
// one is never run again. The label takes no part in it.
func (c Config) ID() string {
	return fmt.Sprintf("%s-s%d", c.Hash(), c.Seed)
}

// Split returns how many of n images train; the rest, the last ones, validate
// (Keras: split_at = floor(n·(1−split))).
func (c Config) Split(n int) (train, val int) {
	t := int(math.Floor(float64(n) * (1 - c.ValidationSplit)))
	return t, n - t
}

// SplitText says how n images split, e.g. "of 3 images, 2 train and the
// last 1 validates (validation split 0.1)": what the validation figures of
// a run are measured on.
func (c Config) SplitText(n int) string {
	tn, vn := c.Split(n)
	return fmt.Sprintf("of %s, %d %s and the last %d %s (validation split %g)", plural.Count(n, "image", "images"),
		tn, plural.Word(tn, "trains", "train"), vn, plural.Word(vn, "validates", "validate"), c.ValidationSplit)
}

// groupKey is every setting the runs of one group share.
type groupKey struct {
	Inputs          int     `json:"inputs"`
	Hidden          []int   `json:"hidden"`
	Classes         int     `json:"classes"`
	BatchNorm       bool    `json:"batch_norm"`
	Epochs          int     `json:"epochs"`
	BatchSize       int     `json:"batch_size"`
	ValidationSplit float64 `json:"validation_split"`
	TrainSize       int     `json:"train_size"`
}

// GroupKey says which runs may train as the lanes of one group (RunGroup):
// those of equal keys, which have one network shape (widths, BatchNorm on
// or off), batch size, epochs, train size and validation split. Their
// seeds, penalties, dropout rates and learning rates may differ.
func GroupKey(c Config) string {
	m := c.Model
	b, _ := json.Marshal(groupKey{Inputs: m.Inputs, Hidden: m.Hidden, Classes: m.Classes, BatchNorm: m.BatchNorm,
		Epochs: c.Epochs, BatchSize: c.BatchSize, ValidationSplit: c.ValidationSplit, TrainSize: c.TrainSize})
	return string(b)
}

package train

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"

	"github.com/regcl/regcl/model"
)

// Config is one training run. Its zero values are not defaults; use Defaults.
type Config struct {
	Method          string       `json:"method" yaml:"method"` // preset name, or a label for a custom mix
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

// Defaults returns the study's settings for a preset.
func Defaults(method string) (Config, error) {
	m, err := model.Preset(method)
	if err != nil {
		return Config{}, err
	}
	return Config{Method: method, Model: m, Epochs: DefaultEpochs, BatchSize: DefaultBatchSize,
		ValidationSplit: DefaultValidationSplit, LR: DefaultLR}, nil
}

// Validate reports the first invalid setting.
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
	return c.Model.Validate()
}

// ID is a stable identifier of the configuration: the method, a hash of every
// setting that changes the result, and the seed. Two runs with the same ID
// compute the same thing, so a finished one is never run again.
func (c Config) ID() string {
	key := c
	key.Method = ""
	b, _ := json.Marshal(key) // a struct of plain fields always marshals
	h := sha256.Sum256(b)
	return fmt.Sprintf("%s-%s-s%d", c.Method, hex.EncodeToString(h[:])[:10], c.Seed)
}

// Split returns how many of n images train; the rest, the last ones, validate
// (Keras: split_at = floor(n·(1−split))).
func (c Config) Split(n int) (train, val int) {
	t := int(math.Floor(float64(n) * (1 - c.ValidationSplit)))
	return t, n - t
}

package train

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/regcl/regcl/model"
)

// Overrides are the settings of a run that differ from its preset's: the
// network's regularization and widths, and the training settings a sweep can
// vary. A nil field keeps the preset's value (for the training settings, the
// study's: Defaults). In a Config made by NewConfig they are canonical: an
// override equal to the preset's own value is no override at all, so one
// configuration has one set of overrides and one label, whichever command
// made it.
type Overrides struct {
	L1              *float64 `json:"l1,omitempty"`
	L2              *float64 `json:"l2,omitempty"`
	Dropout         *float64 `json:"dropout,omitempty"`
	BatchNorm       *bool    `json:"batch_norm,omitempty"`
	Hidden          []int    `json:"hidden,omitempty"`
	LR              *float64 `json:"lr,omitempty"`
	Epochs          *int     `json:"epochs,omitempty"`
	BatchSize       *int     `json:"batch_size,omitempty"`
	TrainSize       *int     `json:"train_size,omitempty"`
	ValidationSplit *float64 `json:"validation_split,omitempty"`
}

// A setting is one field of Overrides with the Config field it overrides.
type setting struct {
	key      string // as in labels, grids and JSON
	training bool   // a training setting rather than the network's
	set      func(o *Overrides) bool
	text     func(o *Overrides) string // the override's value in a label
	apply    func(o *Overrides, c *Config)
	capture  func(o *Overrides, c *Config) // o's field ← c's value
	clear    func(o *Overrides)
	compare  func(a, b *Config) int // of the effective values
}

func pointerSetting[T any](key string, training bool, of func(*Overrides) **T, in func(*Config) *T,
	text func(T) string, compare func(a, b T) int) setting {
	return setting{key: key, training: training,
		set:     func(o *Overrides) bool { return *of(o) != nil },
		text:    func(o *Overrides) string { return text(**of(o)) },
		apply:   func(o *Overrides, c *Config) { *in(c) = **of(o) },
		capture: func(o *Overrides, c *Config) { v := *in(c); *of(o) = &v },
		clear:   func(o *Overrides) { *of(o) = nil },
		compare: func(a, b *Config) int { return compare(*in(a), *in(b)) },
	}
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// FormatHidden writes hidden widths as a flag or label takes them: "256,128".
func FormatHidden(h []int) string {
	s := make([]string, len(h))
	for i, w := range h {
		s[i] = strconv.Itoa(w)
	}
	return strings.Join(s, ",")
}

// settings is every override in the one order labels use: the network's
// (penalties first), then the training settings.
var settings = []setting{
	pointerSetting("l1", false, func(o *Overrides) **float64 { return &o.L1 }, func(c *Config) *float64 { return &c.Model.L1 }, fmtFloat, cmp.Compare[float64]),
	pointerSetting("l2", false, func(o *Overrides) **float64 { return &o.L2 }, func(c *Config) *float64 { return &c.Model.L2 }, fmtFloat, cmp.Compare[float64]),
	pointerSetting("dropout", false, func(o *Overrides) **float64 { return &o.Dropout }, func(c *Config) *float64 { return &c.Model.Dropout }, fmtFloat, cmp.Compare[float64]),
	pointerSetting("batch_norm", false, func(o *Overrides) **bool { return &o.BatchNorm }, func(c *Config) *bool { return &c.Model.BatchNorm }, strconv.FormatBool, compareBool),
	{key: "hidden",
		set:     func(o *Overrides) bool { return o.Hidden != nil },
		text:    func(o *Overrides) string { return FormatHidden(o.Hidden) },
		apply:   func(o *Overrides, c *Config) { c.Model.Hidden = slices.Clone(o.Hidden) },
		capture: func(o *Overrides, c *Config) { o.Hidden = slices.Clone(c.Model.Hidden) },
		clear:   func(o *Overrides) { o.Hidden = nil },
		compare: func(a, b *Config) int { return slices.Compare(a.Model.Hidden, b.Model.Hidden) },
	},
	pointerSetting("lr", true, func(o *Overrides) **float64 { return &o.LR }, func(c *Config) *float64 { return &c.LR }, fmtFloat, cmp.Compare[float64]),
	pointerSetting("epochs", true, func(o *Overrides) **int { return &o.Epochs }, func(c *Config) *int { return &c.Epochs }, strconv.Itoa, cmp.Compare[int]),
	pointerSetting("batch_size", true, func(o *Overrides) **int { return &o.BatchSize }, func(c *Config) *int { return &c.BatchSize }, strconv.Itoa, cmp.Compare[int]),
	pointerSetting("train_size", true, func(o *Overrides) **int { return &o.TrainSize }, func(c *Config) *int { return &c.TrainSize }, strconv.Itoa, cmp.Compare[int]),
	pointerSetting("validation_split", true, func(o *Overrides) **float64 { return &o.ValidationSplit }, func(c *Config) *float64 { return &c.ValidationSplit }, fmtFloat, cmp.Compare[float64]),
}

// Label is the one written form of a run's identity, for display: the
// preset, then "+key=value" for each override in the fixed order of
// settings, e.g. "dropout+l1=1e-05+hidden=512,256+epochs=5".
func (o Overrides) Label(preset string) string {
	var b strings.Builder
	b.WriteString(preset)
	for _, s := range settings {
		if s.set(&o) {
			b.WriteString("+" + s.key + "=" + s.text(&o))
		}
	}
	return b.String()
}

// IsZero reports whether o overrides nothing.
func (o Overrides) IsZero() bool {
	for _, s := range settings {
		if s.set(&o) {
			return false
		}
	}
	return true
}

// Without returns o with the named overrides removed.
func (o Overrides) Without(keys ...string) Overrides {
	o.Hidden = slices.Clone(o.Hidden)
	for _, s := range settings {
		if slices.Contains(keys, s.key) {
			s.clear(&o)
		}
	}
	return o
}

// apply sets c's fields to o's values.
func (o Overrides) apply(c *Config) {
	for _, s := range settings {
		if s.set(&o) {
			s.apply(&o, c)
		}
	}
}

// overridesOf returns the canonical overrides that turn base into c: one per
// setting whose value differs.
func overridesOf(base, c Config) Overrides {
	var o Overrides
	for _, s := range settings {
		if s.compare(&base, &c) != 0 {
			s.capture(&o, &c)
		}
	}
	return o
}

// NewConfig is the configuration of one run: the preset's, with the
// overrides applied, and the seed. Its Overrides are canonical (only what
// differs from the preset) and its Method is Label(), so that the same run
// reached from any command has one ID and one label. The configuration is
// returned even when it is invalid, with the error of Validate.
func NewConfig(preset string, o Overrides, seed uint64) (Config, error) {
	base, err := Defaults(preset)
	if err != nil {
		return Config{}, err
	}
	c := base.clone()
	o.apply(&c)
	canon := overridesOf(base, c)
	// Rebuilt from the canonical overrides: a value equal to the preset's
	// (−0 for 0, say) leaves the preset's own value, byte for byte.
	c = base.clone()
	canon.apply(&c)
	c.Overrides, c.Seed = canon, seed
	c.Method = c.Label()
	return c, c.Validate()
}

func (c Config) clone() Config {
	c.Model.Hidden = slices.Clone(c.Model.Hidden)
	c.Overrides = c.Overrides.Without()
	return c
}

// Label is the run's label (Overrides.Label of its preset). A configuration
// without a preset, as older regcl versions wrote a custom one, is labelled
// by its Method.
func (c Config) Label() string {
	if c.Preset == "" {
		return c.Method
	}
	return c.Overrides.Label(c.Preset)
}

// Normalize returns c with its structured identity complete and canonical:
// the preset (taken from the label of an older regcl's record, checkpoint or
// model file, whose Method was "preset+key=value…"), the overrides computed
// from the settings themselves (never parsed from a label), and Method set to
// Label(). Settings that change the result are untouched, so the ID stays.
// A configuration whose preset is unknown (a custom name) is returned as it is.
func (c Config) Normalize() Config {
	preset := c.Preset
	if preset == "" {
		preset, _, _ = strings.Cut(c.Method, "+")
	}
	base, err := Defaults(preset)
	if err != nil {
		return c
	}
	c.Preset = preset
	c.Overrides = overridesOf(base, c)
	c.Method = c.Label()
	return c
}

// presetRank orders presets as model.Methods does, other names after.
func presetRank(name string) int {
	if i := slices.Index(model.Methods, name); i >= 0 {
		return i
	}
	return len(model.Methods)
}

// CompareSettings orders configurations by preset (in the order of
// model.Methods, other names after, by name), then by the effective value of
// each setting in label order (numbers numerically, false before true), then
// by seed: the order in which reports show runs.
func CompareSettings(a, b Config) int {
	if r := cmp.Compare(presetRank(a.Preset), presetRank(b.Preset)); r != 0 {
		return r
	}
	name := func(c Config) string {
		if c.Preset == "" {
			return c.Method
		}
		return c.Preset
	}
	if r := cmp.Compare(name(a), name(b)); r != 0 {
		return r
	}
	for _, s := range settings {
		if r := s.compare(&a, &b); r != 0 {
			return r
		}
	}
	return cmp.Compare(a.Seed, b.Seed)
}

// StudyOverrides returns, for each configuration, its overrides without the
// training settings that all of cs share: what tells the runs of one study
// apart. A compare on 1,000 images for one epoch labels its runs "l1" and
// "dropout"; a sweep over learning rates keeps "lr=…".
func StudyOverrides(cs []Config) []Overrides {
	var shared []string
	for _, s := range settings {
		if !s.training {
			continue
		}
		same := true
		for i := 1; i < len(cs) && same; i++ {
			same = s.compare(&cs[0], &cs[i]) == 0
		}
		if same {
			shared = append(shared, s.key)
		}
	}
	out := make([]Overrides, len(cs))
	for i, c := range cs {
		out[i] = c.Overrides.Without(shared...)
	}
	return out
}

// StudyLabels are the labels of cs as a study shows them: Label without the
// training settings that all of cs share (see StudyOverrides).
func StudyLabels(cs []Config) []string {
	ov := StudyOverrides(cs)
	out := make([]string, len(cs))
	for i, c := range cs {
		if c.Preset == "" {
			out[i] = c.Method
		} else {
			out[i] = ov[i].Label(c.Preset)
		}
	}
	return out
}

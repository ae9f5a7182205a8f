package model

import (
	"fmt"
	"math"
	"strings"
)

// Config describes a network and its regularization.
type Config struct {
	Inputs    int     `json:"inputs" yaml:"inputs"`         // 784 for MNIST
	Hidden    []int   `json:"hidden" yaml:"hidden"`         // widths of the hidden layers, e.g. [256 128]
	Classes   int     `json:"classes" yaml:"classes"`       // 10 for MNIST
	L1        float64 `json:"l1" yaml:"l1"`                 // λ1 of λ1·Σ|W| on hidden kernels
	L2        float64 `json:"l2" yaml:"l2"`                 // λ2 of λ2·ΣW² on hidden kernels
	Dropout   float64 `json:"dropout" yaml:"dropout"`       // rate p after each hidden ReLU, in [0,1)
	BatchNorm bool    `json:"batch_norm" yaml:"batch_norm"` // BatchNorm after each hidden ReLU
}

// Keras BatchNormalization defaults, used by the study.
const (
	BNMomentum = 0.99
	BNEpsilon  = 1e-3
)

// Methods lists the presets: the five methods of the reference study and the
// baseline regcl adds, in the order reports show them.
var Methods = []string{"baseline", "l1", "l2", "dropout", "batch_norm", "elastic_net"}

// Preset returns the configuration of a named method of the study
// (DESIGN.md: λ1 = λ2 = 1e-4; elastic net λ1 = 1e-5, λ2 = 1e-4; dropout 0.3).
func Preset(name string) (Config, error) {
	c := Config{Inputs: 784, Hidden: []int{256, 128}, Classes: 10}
	switch name {
	case "baseline":
	case "l1":
		c.L1 = 1e-4
	case "l2":
		c.L2 = 1e-4
	case "dropout":
		c.Dropout = 0.3
	case "batch_norm":
		c.BatchNorm = true
	case "elastic_net":
		c.L1, c.L2 = 1e-5, 1e-4
	default:
		return Config{}, fmt.Errorf("unknown model %q (choose one of %s)", name, strings.Join(Methods, ", "))
	}
	return c, nil
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.Inputs < 1:
		return fmt.Errorf("inputs must be at least 1, got %d", c.Inputs)
	case c.Classes < 2:
		return fmt.Errorf("classes must be at least 2, got %d", c.Classes)
	case len(c.Hidden) == 0:
		return fmt.Errorf("at least one hidden layer is needed")
	case !(c.L1 >= 0) || math.IsInf(c.L1, 1):
		return fmt.Errorf("l1 must be a finite number ≥ 0, got %v", c.L1)
	case !(c.L2 >= 0) || math.IsInf(c.L2, 1):
		return fmt.Errorf("l2 must be a finite number ≥ 0, got %v", c.L2)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fmt.Errorf("dropout must be in [0,1), got %v", c.Dropout)
	}
	for i, h := range c.Hidden {
		if h < 1 || h > 1<<16 {
			return fmt.Errorf("hidden layer %d has width %d; widths must be in 1..65536", i+1, h)
		}
	}
	return nil
}

// Describe is a short human description, e.g. "784-256-128-10 l1=0.0001 batchnorm".
func (c Config) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", c.Inputs)
	for _, h := range c.Hidden {
		fmt.Fprintf(&b, "-%d", h)
	}
	fmt.Fprintf(&b, "-%d", c.Classes)
	if c.L1 != 0 {
		fmt.Fprintf(&b, " l1=%g", c.L1)
	}
	if c.L2 != 0 {
		fmt.Fprintf(&b, " l2=%g", c.L2)
	}
	if c.Dropout != 0 {
		fmt.Fprintf(&b, " dropout=%g", c.Dropout)
	}
	if c.BatchNorm {
		b.WriteString(" batchnorm")
	}
	return b.String()
}

// ParseHidden parses "256,128" into widths.
func ParseHidden(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var h int
		if _, err := fmt.Sscanf(strings.TrimSpace(f), "%d", &h); err != nil || h < 1 || fmt.Sprint(h) != strings.TrimSpace(f) {
			return nil, fmt.Errorf("hidden sizes %q: %q is not a positive integer", s, f)
		}
		out = append(out, h)
	}
	return out, nil
}

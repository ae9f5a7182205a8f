package model

import (
	"math"
	"strings"
	"testing"
)

// TestValidateBoundaries: each bound of a network's configuration from both
// sides: the value just inside is accepted, the value just past refused
// with a message naming the field (DESIGN.md, "Bounds on inputs").
func TestValidateBoundaries(t *testing.T) {
	below1 := math.Nextafter(1, 0)
	tiny := math.SmallestNonzeroFloat64
	for _, c := range []struct {
		name string
		mut  func(*Config)
		want string // "" when valid
	}{
		{"inputs 1", func(c *Config) { c.Inputs = 1 }, ""},
		{"inputs 0", func(c *Config) { c.Inputs = 0 }, "inputs must be at least 1, got 0"},
		{"classes 2", func(c *Config) { c.Classes = 2 }, ""},
		{"classes 1", func(c *Config) { c.Classes = 1 }, "classes must be at least 2, got 1"},
		{"one hidden layer", func(c *Config) { c.Hidden = []int{5} }, ""},
		{"no hidden layer", func(c *Config) { c.Hidden = nil }, "at least one hidden layer is needed"},
		{"width 1", func(c *Config) { c.Hidden = []int{1, 1} }, ""},
		{"width 0", func(c *Config) { c.Hidden = []int{3, 0} }, "hidden layer 2 has width 0; widths must be in 1..65536"},
		{"width 65536", func(c *Config) { c.Hidden = []int{65536} }, ""},
		{"width 65537", func(c *Config) { c.Hidden = []int{65537} }, "hidden layer 1 has width 65537"},
		{"l1 0", func(c *Config) { c.L1 = 0 }, ""},
		{"l1 -0", func(c *Config) { c.L1 = math.Copysign(0, -1) }, ""},
		{"l1 just below 0", func(c *Config) { c.L1 = -tiny }, "l1 must be a finite number ≥ 0, got -5e-324"},
		{"l1 the largest float", func(c *Config) { c.L1 = math.MaxFloat64 }, ""},
		{"l1 +Inf", func(c *Config) { c.L1 = math.Inf(1) }, "l1 must be a finite number ≥ 0, got +Inf"},
		{"l1 NaN", func(c *Config) { c.L1 = math.NaN() }, "l1 must be a finite number ≥ 0, got NaN"},
		{"l2 0", func(c *Config) { c.L2 = 0 }, ""},
		{"l2 just below 0", func(c *Config) { c.L2 = -tiny }, "l2 must be a finite number ≥ 0, got -5e-324"},
		{"l2 the largest float", func(c *Config) { c.L2 = math.MaxFloat64 }, ""},
		{"l2 +Inf", func(c *Config) { c.L2 = math.Inf(1) }, "l2 must be a finite number ≥ 0, got +Inf"},
		{"dropout 0", func(c *Config) { c.Dropout = 0 }, ""},
		{"dropout just below 0", func(c *Config) { c.Dropout = -tiny }, "dropout must be in [0,1), got -5e-324"},
		{"dropout just below 1", func(c *Config) { c.Dropout = below1 }, ""},
		{"dropout 1", func(c *Config) { c.Dropout = 1 }, "dropout must be in [0,1), got 1"},
		{"dropout NaN", func(c *Config) { c.Dropout = math.NaN() }, "dropout must be in [0,1), got NaN"},
	} {
		cfg, _ := Preset("elastic_net")
		c.mut(&cfg)
		err := cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v; want an error with %q", c.name, err, c.want)
		}
	}
}

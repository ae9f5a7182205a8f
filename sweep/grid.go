package sweep

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/regcl/regcl/model"
	"github.com/regcl/regcl/train"
)

// List is a grid axis: a YAML/JSON list, or a single value standing for a
// list of one.
type List[T any] []T

// UnmarshalYAML accepts a scalar or a sequence.
func (l *List[T]) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		var v []T
		if err := n.Decode(&v); err != nil {
			return err
		}
		*l = v
		return nil
	}
	var v T
	if err := n.Decode(&v); err != nil {
		return err
	}
	*l = List[T]{v}
	return nil
}

// Seeds is either a count K (seeds 1..K) or a list of seeds.
type Seeds []uint64

// UnmarshalYAML accepts a count or a list.
func (s *Seeds) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		var v []uint64
		if err := n.Decode(&v); err != nil {
			return err
		}
		*s = v
		return nil
	}
	var k int
	if err := n.Decode(&k); err != nil {
		return err
	}
	if k < 1 {
		return fmt.Errorf("seeds: a count must be at least 1, got %d", k)
	}
	*s = nil
	for i := 1; i <= k; i++ {
		*s = append(*s, uint64(i))
	}
	return nil
}

// Grid is a sweep: every combination of its axes is one run. Unset axes keep
// the preset's (or the study's) value.
type Grid struct {
	Model           List[string]  `yaml:"model"`
	L1              List[float64] `yaml:"l1"`
	L2              List[float64] `yaml:"l2"`
	Dropout         List[float64] `yaml:"dropout"`
	BatchNorm       List[bool]    `yaml:"batch_norm"`
	Hidden          List[string]  `yaml:"hidden"` // "256,128"
	LR              List[float64] `yaml:"lr"`
	Epochs          List[int]     `yaml:"epochs"`
	BatchSize       List[int]     `yaml:"batch_size"`
	TrainSize       List[int]     `yaml:"train_size"`
	ValidationSplit List[float64] `yaml:"validation_split"`
	Seeds           Seeds         `yaml:"seeds"`
}

// ReadGrid reads a grid from a YAML or JSON file. Unknown keys are errors.
func ReadGrid(path string) (*Grid, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseGrid(path, b)
}

// ParseGrid parses a grid; name is used in errors.
func ParseGrid(name string, b []byte) (*Grid, error) {
	var g Grid
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("grid %s: %w", name, err)
	}
	if len(g.Model) == 0 {
		return nil, fmt.Errorf("grid %s: model: give at least one preset (%s)", name, strings.Join(model.Methods, ", "))
	}
	if len(g.Seeds) == 0 {
		g.Seeds = Seeds{1}
	}
	return &g, nil
}

// Expand returns every run of the grid, in a fixed order: the product of the
// axes in the order of Grid's fields, seeds innermost. Each run's Method is
// the preset plus its overrides (the model settings the grid names, and the
// training settings it varies), e.g. "l1+l1=0.001"; runs with the same
// Method differ only in their seed.
func (g *Grid) Expand() ([]train.Config, error) {
	var out []train.Config
	type setter struct {
		n     int
		apply func(c *train.Config, i int, label *[]string)
	}
	many := func(n int) bool { return n > 1 }
	axes := []setter{
		{len(g.Hidden), func(c *train.Config, i int, lab *[]string) {
			h, _ := model.ParseHidden(g.Hidden[i]) // checked in validate
			c.Model.Hidden = h
			*lab = append(*lab, "hidden="+strings.ReplaceAll(g.Hidden[i], " ", ""))
		}},
		{len(g.BatchNorm), func(c *train.Config, i int, lab *[]string) {
			c.Model.BatchNorm = g.BatchNorm[i]
			*lab = append(*lab, "batch_norm="+strconv.FormatBool(g.BatchNorm[i]))
		}},
		{len(g.Dropout), func(c *train.Config, i int, lab *[]string) {
			c.Model.Dropout = g.Dropout[i]
			*lab = append(*lab, "dropout="+fmtF(g.Dropout[i]))
		}},
		{len(g.L1), func(c *train.Config, i int, lab *[]string) {
			c.Model.L1 = g.L1[i]
			*lab = append(*lab, "l1="+fmtF(g.L1[i]))
		}},
		{len(g.L2), func(c *train.Config, i int, lab *[]string) {
			c.Model.L2 = g.L2[i]
			*lab = append(*lab, "l2="+fmtF(g.L2[i]))
		}},
		{len(g.LR), func(c *train.Config, i int, lab *[]string) {
			c.LR = g.LR[i]
			if many(len(g.LR)) {
				*lab = append(*lab, "lr="+fmtF(g.LR[i]))
			}
		}},
		{len(g.Epochs), func(c *train.Config, i int, lab *[]string) {
			c.Epochs = g.Epochs[i]
			if many(len(g.Epochs)) {
				*lab = append(*lab, "epochs="+strconv.Itoa(g.Epochs[i]))
			}
		}},
		{len(g.BatchSize), func(c *train.Config, i int, lab *[]string) {
			c.BatchSize = g.BatchSize[i]
			if many(len(g.BatchSize)) {
				*lab = append(*lab, "batch_size="+strconv.Itoa(g.BatchSize[i]))
			}
		}},
		{len(g.TrainSize), func(c *train.Config, i int, lab *[]string) {
			c.TrainSize = g.TrainSize[i]
			if many(len(g.TrainSize)) {
				*lab = append(*lab, "train_size="+strconv.Itoa(g.TrainSize[i]))
			}
		}},
		{len(g.ValidationSplit), func(c *train.Config, i int, lab *[]string) {
			c.ValidationSplit = g.ValidationSplit[i]
			if many(len(g.ValidationSplit)) {
				*lab = append(*lab, "validation_split="+fmtF(g.ValidationSplit[i]))
			}
		}},
	}
	for _, h := range g.Hidden {
		if _, err := model.ParseHidden(h); err != nil {
			return nil, fmt.Errorf("grid: %w", err)
		}
	}
	idx := make([]int, len(axes))
	for _, m := range g.Model {
		base, err := train.Defaults(m)
		if err != nil {
			return nil, fmt.Errorf("grid: %w", err)
		}
		for i := range idx {
			idx[i] = 0
		}
		for {
			c := base
			c.Model.Hidden = append([]int(nil), base.Model.Hidden...)
			var label []string
			for a, ax := range axes {
				if ax.n > 0 {
					ax.apply(&c, idx[a], &label)
				}
			}
			if len(label) > 0 {
				c.Method = m + "+" + strings.Join(label, "+")
			}
			for _, s := range g.Seeds {
				r := c
				r.Seed = s
				if err := r.Validate(); err != nil {
					return nil, fmt.Errorf("grid: run %s seed %d: %w", r.Method, s, err)
				}
				out = append(out, r)
			}
			// Next combination: an odometer over the axes that are set.
			a := len(axes) - 1
			for ; a >= 0; a-- {
				if axes[a].n == 0 {
					continue
				}
				idx[a]++
				if idx[a] < axes[a].n {
					break
				}
				idx[a] = 0
			}
			if a < 0 {
				break
			}
		}
	}
	seen := map[string]bool{}
	for _, c := range out {
		if seen[c.ID()] {
			return nil, fmt.Errorf("grid: run %s appears twice (a repeated value in an axis?)", c.ID())
		}
		seen[c.ID()] = true
	}
	return out, nil
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

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

// Expand returns every run of the grid, in a fixed order: for each model,
// the product of the axes (hidden, batch_norm, dropout, l1, l2, lr, epochs,
// batch_size, train_size, validation_split, the last varying fastest), seeds
// innermost. Each run is train.NewConfig of its preset with the axes' values
// as overrides, so its label and ID are those any other command gives the
// same configuration (a value equal to the preset's is no override). Runs
// that two presets reach alike ("baseline" with l1 = 1e-4 is "l1") are one
// run, listed where it first appears; a value repeated within an axis is an
// error.
func (g *Grid) Expand() ([]train.Config, error) {
	hidden := make([][]int, len(g.Hidden))
	for i, h := range g.Hidden {
		var err error
		if hidden[i], err = model.ParseHidden(h); err != nil {
			return nil, fmt.Errorf("grid: %w", err)
		}
	}
	type axis struct {
		key   string
		n     int
		apply func(o *train.Overrides, i int)
		text  func(i int) string
	}
	f := func(key string, vs []float64, field func(*train.Overrides) **float64) axis {
		return axis{key, len(vs), func(o *train.Overrides, i int) { v := vs[i]; *field(o) = &v },
			func(i int) string { return fmtF(vs[i]) }}
	}
	n := func(key string, vs []int, field func(*train.Overrides) **int) axis {
		return axis{key, len(vs), func(o *train.Overrides, i int) { v := vs[i]; *field(o) = &v },
			func(i int) string { return strconv.Itoa(vs[i]) }}
	}
	axes := []axis{
		{"hidden", len(hidden), func(o *train.Overrides, i int) { o.Hidden = hidden[i] },
			func(i int) string { return train.FormatHidden(hidden[i]) }},
		{"batch_norm", len(g.BatchNorm), func(o *train.Overrides, i int) { v := g.BatchNorm[i]; o.BatchNorm = &v },
			func(i int) string { return strconv.FormatBool(g.BatchNorm[i]) }},
		f("dropout", g.Dropout, func(o *train.Overrides) **float64 { return &o.Dropout }),
		f("l1", g.L1, func(o *train.Overrides) **float64 { return &o.L1 }),
		f("l2", g.L2, func(o *train.Overrides) **float64 { return &o.L2 }),
		f("lr", g.LR, func(o *train.Overrides) **float64 { return &o.LR }),
		n("epochs", g.Epochs, func(o *train.Overrides) **int { return &o.Epochs }),
		n("batch_size", g.BatchSize, func(o *train.Overrides) **int { return &o.BatchSize }),
		n("train_size", g.TrainSize, func(o *train.Overrides) **int { return &o.TrainSize }),
		f("validation_split", g.ValidationSplit, func(o *train.Overrides) **float64 { return &o.ValidationSplit }),
	}
	models := axis{"model", len(g.Model), nil, func(i int) string { return g.Model[i] }}
	seeds := axis{"seeds", len(g.Seeds), nil, func(i int) string { return strconv.FormatUint(g.Seeds[i], 10) }}
	for _, ax := range append(axes, models, seeds) {
		seen := map[string]bool{}
		for i := 0; i < ax.n; i++ {
			v := ax.text(i)
			if seen[v] {
				return nil, fmt.Errorf("grid: %s: %s appears twice", ax.key, v)
			}
			seen[v] = true
		}
	}
	var out []train.Config
	seen := map[string]bool{}
	idx := make([]int, len(axes))
	for _, m := range g.Model {
		if _, err := train.Defaults(m); err != nil {
			return nil, fmt.Errorf("grid: %w", err)
		}
		for i := range idx {
			idx[i] = 0
		}
		for {
			var o train.Overrides
			for a, ax := range axes {
				if ax.n > 0 {
					ax.apply(&o, idx[a])
				}
			}
			for _, s := range g.Seeds {
				r, err := train.NewConfig(m, o, s)
				if err != nil {
					return nil, fmt.Errorf("grid: run %s seed %d: %w", r.Label(), s, err)
				}
				if !seen[r.ID()] {
					seen[r.ID()] = true
					out = append(out, r)
				}
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
	return out, nil
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

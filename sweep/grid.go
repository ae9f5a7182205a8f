package sweep

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/regcl/regcl/internal/readfile"
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

// Seeds is either a count K (seeds 1..K, kept as a count: a grid saying
// `seeds: 100000000` allocates nothing until its size has been checked) or
// a list of seeds.
type Seeds struct {
	List  []uint64
	Count int // seeds 1..Count when List is nil
}

// UnmarshalYAML accepts a count or a list.
func (s *Seeds) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		var v []uint64
		if err := n.Decode(&v); err != nil {
			return err
		}
		*s = Seeds{List: v}
		return nil
	}
	var k int
	if err := n.Decode(&k); err != nil {
		return err
	}
	if k < 1 {
		return fmt.Errorf("seeds: a count must be at least 1, got %d", k)
	}
	*s = Seeds{Count: k}
	return nil
}

// Len is the number of seeds.
func (s Seeds) Len() int {
	if s.List != nil {
		return len(s.List)
	}
	return s.Count
}

// At is seed i.
func (s Seeds) At(i int) uint64 {
	if s.List != nil {
		return s.List[i]
	}
	return uint64(i + 1)
}

// MaxRuns is the largest grid Expand accepts unless told otherwise
// (sweep's --max-runs): larger is nearly always a typo (seeds: 100000000),
// and its runs would exhaust memory before the first trains.
const MaxRuns = 100_000

// MaxGridFile bounds a grid file: a grid is a few lines.
const MaxGridFile = 1 << 20

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

// ReadGrid reads a grid from a YAML or JSON file of at most MaxGridFile
// bytes. Unknown keys are errors.
func ReadGrid(path string) (*Grid, error) {
	b, err := readfile.Max(path, MaxGridFile, "a grid (a few lines)")
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
	if g.Seeds.Len() == 0 {
		g.Seeds = Seeds{Count: 1}
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
//
// A grid of more than maxRuns runs (counted before any is made; MaxRuns
// when maxRuns is 0) is refused with its count.
func (g *Grid) Expand(maxRuns int) ([]train.Config, error) {
	if maxRuns <= 0 {
		maxRuns = MaxRuns
	}
	if n := g.Runs(); n > int64(maxRuns) {
		return nil, fmt.Errorf("grid: %d runs (%s), more than the %d allowed; check the axes and seeds, or raise the limit with --max-runs",
			n, g.RunsText(), maxRuns)
	}
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
	seeds := axis{"seeds", g.Seeds.Len(), nil, func(i int) string { return strconv.FormatUint(g.Seeds.At(i), 10) }}
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
			for si := 0; si < g.Seeds.Len(); si++ {
				s := g.Seeds.At(si)
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

// Runs is the number of runs the grid describes (models × every axis set ×
// seeds; runs that two presets reach alike count twice here), computed
// without making any, saturating at MaxInt64.
func (g *Grid) Runs() int64 {
	n := int64(1)
	for _, k := range g.axisLens() {
		if k == 0 {
			continue
		}
		if n > math.MaxInt64/int64(k) {
			return math.MaxInt64
		}
		n *= int64(k)
	}
	return n
}

// RunsText spells the product, e.g. "2 models × 4 l1 × 100000000 seeds".
func (g *Grid) RunsText() string {
	names := []string{"models", "l1", "l2", "dropout", "batch_norm", "hidden", "lr", "epochs", "batch_size", "train_size", "validation_split", "seeds"}
	var parts []string
	for i, k := range g.axisLens() {
		if k > 1 || (i == 0 || i == len(names)-1) {
			parts = append(parts, fmt.Sprintf("%d %s", k, names[i]))
		}
	}
	return strings.Join(parts, " × ")
}

func (g *Grid) axisLens() []int {
	return []int{len(g.Model), len(g.L1), len(g.L2), len(g.Dropout), len(g.BatchNorm), len(g.Hidden), len(g.LR),
		len(g.Epochs), len(g.BatchSize), len(g.TrainSize), len(g.ValidationSplit), g.Seeds.Len()}
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/regcl/regcl/internal/plural"
	"github.com/regcl/regcl/internal/readfile"
	"github.com/regcl/regcl/internal/suggest"
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
		return fmt.Errorf("a count must be at least 1, got %d", k)
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
// bytes (see ParseGrid).
func ReadGrid(path string) (*Grid, error) {
	b, err := readfile.Max(path, MaxGridFile, "a grid (a few lines)")
	if err != nil {
		return nil, err
	}
	return ParseGrid(path, b)
}

// Keys are the grid's keys, in the order of the Grid's fields: the names
// its YAML or JSON uses.
func Keys() []string {
	t := reflect.TypeFor[Grid]()
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i] = t.Field(i).Tag.Get("yaml")
	}
	return keys
}

// Format is the format ParseGrid reads b in: "JSON" when its first
// character other than white space is '{', else "YAML".
func Format(b []byte) string {
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return "JSON"
	}
	return "YAML"
}

// ParseGrid parses a grid in YAML or JSON (Format). Its errors start with
// "grid NAME (YAML):" or "(JSON):", give the line, and name the grid's own
// keys: an unknown key is refused with the nearest known one and the list of
// keys, a value of the wrong kind with what the key takes. JSON is checked
// as JSON (a trailing comma is an error) before its values are read.
func ParseGrid(name string, b []byte) (*Grid, error) {
	format := Format(b)
	fail := func(line int, msg string, args ...any) error {
		where := ""
		if line > 0 {
			where = fmt.Sprintf("line %d: ", line)
		}
		return fmt.Errorf("grid %s (%s): %s%s", name, format, where, fmt.Sprintf(msg, args...))
	}
	if format == "JSON" {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, fail(1+bytes.Count(b[:min(int(se.Offset), len(b))], []byte("\n")), "%v", se)
			}
			return nil, fail(0, "%v", err)
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fail(0, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	keys := Keys()
	if len(doc.Content) == 0 {
		return nil, fail(0, "empty: give at least model (the keys are %s)", strings.Join(keys, ", "))
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fail(root.Line, "want a mapping of keys to values (the keys are %s)", strings.Join(keys, ", "))
	}
	var g Grid
	fields := reflect.ValueOf(&g).Elem()
	lines := map[string]int{} // key → the line that gave it
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if l, ok := lines[k.Value]; ok {
			return nil, fail(k.Line, "%s is given twice (first on line %d)", k.Value, l)
		}
		lines[k.Value] = k.Line
		f := slices.Index(keys, k.Value)
		if f < 0 {
			hint := ""
			if near, ok := suggest.Nearest(k.Value, keys); ok {
				hint = fmt.Sprintf("did you mean %q? ", near)
			}
			return nil, fail(k.Line, "unknown key %q (%sthe keys are %s)", k.Value, hint, strings.Join(keys, ", "))
		}
		if err := v.Decode(fields.Field(f).Addr().Interface()); err != nil {
			return nil, fail(v.Line, "%s: %s", k.Value, valueError(err))
		}
	}
	if len(g.Model) == 0 {
		return nil, fail(0, "model: give at least one preset (%s)", strings.Join(model.Methods, ", "))
	}
	if g.Seeds.Len() == 0 {
		g.Seeds = Seeds{Count: 1}
	}
	return &g, nil
}

// yamlTypeError is one message of a yaml.TypeError: "line 3: cannot
// unmarshal !!str `abc` into float64".
var yamlTypeError = regexp.MustCompile("^(?:line \\d+: )?cannot unmarshal !!\\w+ `(.*)` into (\\S+)$")

// kinds says in words what a grid value of a Go type is.
var kinds = map[string]string{"float64": "a number", "int": "a whole number", "uint64": "a whole number ≥ 0",
	"bool": "true or false", "string": "text"}

// valueError rewrites an error decoding one key's value in the grid's
// words, without yaml's type names.
func valueError(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	var msgs []string
	for _, m := range te.Errors {
		if s := yamlTypeError.FindStringSubmatch(m); s != nil {
			want, ok := kinds[strings.TrimPrefix(s[2], "[]")]
			if !ok {
				want = "a " + s[2]
			}
			msgs = append(msgs, fmt.Sprintf("%q is not %s", s[1], want))
			continue
		}
		msgs = append(msgs, m)
	}
	return strings.Join(msgs, "; ")
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

// RunsText spells the product, e.g. "2 models × 4 l1 × 100000000 seeds":
// the models and seeds always, the other keys where they hold more than
// one value.
func (g *Grid) RunsText() string {
	keys := Keys()
	lens := g.axisLens()
	var parts []string
	for i, k := range lens {
		switch i {
		case 0:
			parts = append(parts, plural.Count(k, "model", "models"))
		case len(lens) - 1:
			parts = append(parts, plural.Count(k, "seed", "seeds"))
		default:
			if k > 1 {
				parts = append(parts, fmt.Sprintf("%d %s", k, keys[i]))
			}
		}
	}
	return strings.Join(parts, " × ")
}

// axisLens is the number of values of each key, in the order of Keys.
func (g *Grid) axisLens() []int {
	v := reflect.ValueOf(g).Elem()
	lens := make([]int, v.NumField())
	for i := range lens {
		if s, ok := v.Field(i).Interface().(Seeds); ok {
			lens[i] = s.Len()
		} else {
			lens[i] = v.Field(i).Len()
		}
	}
	return lens
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

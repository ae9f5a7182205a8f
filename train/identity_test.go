package train

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/regcl/regcl/model"
)

func f64(v float64) *float64 { return &v }
func num(v int) *int         { return &v }
func flag(v bool) *bool      { return &v }

// TestNewConfigCanonical: an override equal to the preset's value is no
// override; the label lists the others in one fixed order, whatever order
// they were given in; the ID is the same for the same settings however they
// were reached.
func TestNewConfigCanonical(t *testing.T) {
	plain, err := NewConfig("l1", Overrides{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	same, _ := NewConfig("l1", Overrides{L1: f64(1e-4), Epochs: num(DefaultEpochs), Hidden: []int{256, 128}, BatchNorm: flag(false)}, 1)
	if same.Label() != "l1" || !same.Overrides.IsZero() || same.ID() != plain.ID() {
		t.Errorf("l1 with l1 = 1e-4: label %q, overrides %+v, ID %s; want l1, none, %s", same.Label(), same.Overrides, same.ID(), plain.ID())
	}
	if same.Method != "l1" || same.Preset != "l1" {
		t.Errorf("Method %q, Preset %q", same.Method, same.Preset)
	}
	c, err := NewConfig("dropout", Overrides{TrainSize: num(1000), Hidden: []int{64, 32}, L1: f64(1e-5), Epochs: num(2),
		BatchNorm: flag(true), Dropout: f64(0.2), L2: f64(0), LR: f64(0.01), BatchSize: num(64), ValidationSplit: f64(0.2)}, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := "dropout+l1=1e-05+dropout=0.2+batch_norm=true+hidden=64,32+lr=0.01+epochs=2+batch_size=64+train_size=1000+validation_split=0.2"
	if c.Label() != want {
		t.Errorf("label %s, want %s", c.Label(), want)
	}
	m := c.Model
	if m.L1 != 1e-5 || m.L2 != 0 || m.Dropout != 0.2 || !m.BatchNorm || len(m.Hidden) != 2 || c.LR != 0.01 || c.Epochs != 2 ||
		c.BatchSize != 64 || c.TrainSize != 1000 || c.ValidationSplit != 0.2 || c.Seed != 3 {
		t.Errorf("settings not applied: %+v", c)
	}
	// Two presets, one configuration: one ID.
	b, _ := NewConfig("baseline", Overrides{L1: f64(1e-4)}, 1)
	if b.ID() != plain.ID() || b.Label() != "baseline+l1=0.0001" {
		t.Errorf("baseline with l1 = 1e-4: ID %s label %s; want the ID of l1, %s", b.ID(), b.Label(), plain.ID())
	}
	// −0 is 0: no override, the same bytes.
	z, _ := NewConfig("baseline", Overrides{L1: f64(math.Copysign(0, -1))}, 1)
	base, _ := NewConfig("baseline", Overrides{}, 1)
	if z.ID() != base.ID() || math.Signbit(z.Model.L1) {
		t.Errorf("l1 = −0 changes the run: %s vs %s", z.ID(), base.ID())
	}
	// The seed is the ID's suffix, not part of the hash.
	s2, _ := NewConfig("l1", Overrides{}, 2)
	if s2.Hash() != plain.Hash() || s2.ID() != plain.Hash()+"-s2" {
		t.Errorf("seed 2: ID %s, hash %s vs %s", s2.ID(), s2.Hash(), plain.Hash())
	}
	// The label is never part of the ID.
	l := plain
	l.Method, l.Preset = "something else", "l2"
	if l.ID() != plain.ID() {
		t.Error("the ID depends on the label")
	}
	if _, err := NewConfig("nope", Overrides{}, 1); err == nil || !strings.Contains(err.Error(), `unknown model "nope"`) {
		t.Errorf("unknown preset: %v", err)
	}
	if bad, err := NewConfig("l1", Overrides{Dropout: f64(1)}, 1); err == nil || bad.Label() != "l1+dropout=1" {
		t.Errorf("invalid dropout: %v, %q (the config comes back with the error)", err, bad.Label())
	}
	// Changing the overrides afterwards does not reach the config's (shared
	// pointers would).
	o := Overrides{L1: f64(1e-3)}
	c1, _ := NewConfig("baseline", o, 1)
	*o.L1 = 5
	if *c1.Overrides.L1 != 1e-3 {
		t.Error("the config shares the caller's override")
	}
}

// TestStudyLabels: the training settings all runs share are left out; those
// that vary stay, and the network's overrides always do.
func TestStudyLabels(t *testing.T) {
	mk := func(preset string, o Overrides) Config {
		c, err := NewConfig(preset, o, 1)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	quick := Overrides{Epochs: num(1), TrainSize: num(1000)}
	cs := []Config{mk("l1", quick), mk("dropout", quick), mk("baseline", Overrides{Epochs: num(1), TrainSize: num(1000), Hidden: []int{64}})}
	if got := strings.Join(StudyLabels(cs), " "); got != "l1 dropout baseline+hidden=64" {
		t.Errorf("quick compare: %s", got)
	}
	cs = []Config{mk("l1", Overrides{Epochs: num(1)}), mk("l1", Overrides{Epochs: num(1), LR: f64(0.01)})}
	if got := strings.Join(StudyLabels(cs), " "); got != "l1 l1+lr=0.01" {
		t.Errorf("lr sweep: %s", got)
	}
	if got := StudyLabels(cs[1:])[0]; got != "l1" {
		t.Errorf("a single run: %s", got)
	}
	r := &Result{Config: cs[1]}
	if row := r.ResultRow(); row[0] != "l1" {
		t.Errorf("the results CSV's model column: %q", row[0])
	}
}

// TestNormalizeLegacy: a configuration as an older regcl wrote it (the label
// in Method, no preset or overrides) gets its preset from the label and its
// overrides from its settings, and keeps its ID.
func TestNormalizeLegacy(t *testing.T) {
	cur, _ := NewConfig("dropout", Overrides{L1: f64(1e-5), Epochs: num(1)}, 4)
	var old Config
	// The JSON an older version wrote: no preset, no overrides.
	b := []byte(`{"method":"dropout+l1=1e-05","model":{"inputs":784,"hidden":[256,128],"classes":10,"l1":1e-05,"l2":0,"dropout":0.3,"batch_norm":false},` +
		`"epochs":1,"batch_size":128,"validation_split":0.1,"lr":0.001,"seed":4}`)
	if err := json.Unmarshal(b, &old); err != nil {
		t.Fatal(err)
	}
	if old.ID() != cur.ID() {
		t.Errorf("an older record's ID %s, the same run now %s", old.ID(), cur.ID())
	}
	n := old.Normalize()
	if n.Preset != "dropout" || n.Label() != cur.Label() || n.Method != cur.Label() || n.ID() != cur.ID() {
		t.Errorf("normalized: preset %q label %q method %q, want %q", n.Preset, n.Label(), n.Method, cur.Label())
	}
	// An older label that spelled out the preset's own value.
	old.Method = "dropout+l1=1e-05+dropout=0.3"
	if got := old.Normalize().Label(); got != cur.Label() {
		t.Errorf("%s normalized to %s, want %s", old.Method, got, cur.Label())
	}
	// A custom name of no preset stays as it is.
	old.Method = "mix"
	if n := old.Normalize(); n.Label() != "mix" || n.Preset != "" {
		t.Errorf("custom name: %+v", n)
	}
	// Normalize is idempotent.
	if a, b := cur.Normalize(), cur.Normalize().Normalize(); a.Label() != b.Label() || a.ID() != b.ID() {
		t.Error("Normalize is not idempotent")
	}
}

// TestCompareSettings: presets in model.Methods order, then each setting
// numerically.
func TestCompareSettings(t *testing.T) {
	mk := func(preset string, o Overrides) Config { c, _ := NewConfig(preset, o, 1); return c }
	order := []Config{
		mk("baseline", Overrides{}),
		mk("baseline", Overrides{L1: f64(1e-5)}),
		mk("baseline", Overrides{L1: f64(1e-4)}),
		mk("l1", Overrides{L1: f64(0)}), // l1 at λ = 0 sorts before l1 itself
		mk("l1", Overrides{}),
		mk("dropout", Overrides{}),
		mk("elastic_net", Overrides{Hidden: []int{64}}),
	}
	for i := 1; i < len(order); i++ {
		if CompareSettings(order[i-1], order[i]) >= 0 {
			t.Errorf("%s does not sort before %s", order[i-1].Label(), order[i].Label())
		}
	}
	if model.Methods[0] != "baseline" {
		t.Fatal("model.Methods changed order")
	}
}

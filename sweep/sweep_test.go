package sweep

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/regcl/regcl/train"
)

const testGrid = `
model: [l1, l2, dropout]
l1: [0, 1.0e-5, 1.0e-4]
dropout: [0.2, 0.3]
train_size: 1000
epochs: 1
seeds: 2
`

func expand(t *testing.T, src string) []train.Config {
	t.Helper()
	g, err := ParseGrid("test", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := g.Expand(0)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// TestShardsPartitionTheGrid: for N in 1..7 the shards are disjoint and
// together hold every run exactly once.
func TestShardsPartitionTheGrid(t *testing.T) {
	runs := expand(t, testGrid)
	// 3 presets × 3 × 2 × 2 seeds, but with l1 and dropout both set, the
	// presets l1 and dropout are the same network: 24 distinct runs.
	if len(runs) != 2*3*2*2 {
		t.Fatalf("%d runs, want 24", len(runs))
	}
	for n := 1; n <= 7; n++ {
		seen := map[string]int{}
		for i := 0; i < n; i++ {
			for _, r := range (Shard{i, n}).Select(runs) {
				seen[r.ID()]++
			}
		}
		if len(seen) != len(runs) {
			t.Errorf("N=%d: shards hold %d distinct runs, the grid has %d", n, len(seen), len(runs))
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("N=%d: run %s in %d shards", n, id, k)
			}
		}
	}
}

// TestRunIDsGolden pins the IDs and labels of a few configurations: an ID
// changes only when the configuration does, never between releases. If this
// fails after a change to train.Config or model.Config, give the new field
// `omitempty` so existing configurations hash as before. (The IDs of older
// releases, "batch_norm+l2=0.0001-6e28c20b69-s1", named the label; package
// study still reads folders named so.)
func TestRunIDsGolden(t *testing.T) {
	runs := expand(t, `
model: [batch_norm, l1]
l2: [1.0e-4]
train_size: 1000
epochs: 1
seeds: [1, 7]
`)
	want := []string{
		"a1e6f251c057-s1 batch_norm+l2=0.0001+epochs=1+train_size=1000",
		"a1e6f251c057-s7 batch_norm+l2=0.0001+epochs=1+train_size=1000",
		"15cc601889bd-s1 l1+l2=0.0001+epochs=1+train_size=1000",
		"15cc601889bd-s7 l1+l2=0.0001+epochs=1+train_size=1000",
	}
	if len(runs) != len(want) {
		t.Fatalf("%d runs, want %d", len(runs), len(want))
	}
	for i, r := range runs {
		if got := r.ID() + " " + r.Label(); got != want[i] {
			t.Errorf("run %d: %s, want %s", i, got, want[i])
		}
	}
	study, _ := train.Defaults("batch_norm")
	study.Seed = 1
	if got, want := study.ID(), "52d16aa92d5c-s1"; got != want {
		t.Errorf("the study's batch_norm run, seed 1: ID %s, want %s", got, want)
	}
}

// TestGridCanonical: a value equal to the preset's is no override, and two
// presets that reach the same configuration give one run.
func TestGridCanonical(t *testing.T) {
	runs := expand(t, "model: [baseline, l1]\nl1: [0, 1.0e-4]\n")
	var got []string
	for _, r := range runs {
		got = append(got, r.Label())
	}
	if strings.Join(got, " ") != "baseline baseline+l1=0.0001" {
		t.Errorf("labels %q, want baseline and baseline+l1=0.0001 (l1+l1=0 is baseline, l1+l1=0.0001 is baseline+l1=0.0001)", got)
	}
	l1, _ := train.NewConfig("l1", train.Overrides{}, 1)
	if runs[1].ID() != l1.ID() {
		t.Errorf("baseline with l1 = 1e-4 has ID %s, the preset l1 %s", runs[1].ID(), l1.ID())
	}
}

// TestGridErrors: every bad grid is refused with a message that says which
// format failed (YAML or JSON), where, and in the grid's own words: its keys
// (never a Go type name), the nearest key to a typo, what a key takes.
func TestGridErrors(t *testing.T) {
	keys := "the keys are model, l1, l2, dropout, batch_norm, hidden, lr, epochs, batch_size, train_size, validation_split, seeds"
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"no model", "l1: [0]\n", []string{"grid no model (YAML): model: give at least one preset"}},
		{"unknown key", "model: l1\nbogus: 3\n", []string{"(YAML): line 2: unknown key \"bogus\" (" + keys + ")"}},
		{"a typo", "model: l1\nl1s: [0, 1.0e-4]\n", []string{"(YAML): line 2: unknown key \"l1s\" (did you mean \"l1\"? " + keys + ")"}},
		{"a swap", "modle: l1\n", []string{"line 1: unknown key \"modle\" (did you mean \"model\"?"}},
		{"a typo in JSON", `{"model": "l1", "epoch": [1]}`, []string{"(JSON): line 1: unknown key \"epoch\" (did you mean \"epochs\"?"}},
		{"a string for a number, JSON", "{\n  \"model\": [\"l1\"],\n  \"l1\": [\"abc\"]\n}\n", []string{"(JSON): line 3: l1: \"abc\" is not a number"}},
		{"a string for a whole number", "model: l1\nepochs: [1, x]\n", []string{"(YAML): line 2: epochs: \"x\" is not a whole number"}},
		{"not true or false", "model: l1\nbatch_norm: maybe\n", []string{"batch_norm: \"maybe\" is not true or false"}},
		{"a trailing comma in JSON", `{"model": ["l1"], "l1": [0,]}`, []string{"(JSON): line 1: invalid character ']'"}},
		{"JSON cut short", "{\"model\": [\"l1\"],\n", []string{"(JSON): line 2: unexpected end of JSON input"}},
		{"not a mapping", "- l1\n", []string{"(YAML): line 1: want a mapping of keys to values (" + keys + ")"}},
		{"empty", "", []string{"(YAML): empty: give at least model (" + keys + ")"}},
		{"not yaml", "model: [l1\n", []string{"(YAML): ", "did not find expected"}},
		{"unknown model", "model: [nope]\n", []string{`unknown model "nope"`}},
		{"bad dropout", "model: dropout\ndropout: [1.5]\n", []string{"dropout must be in [0,1), got 1.5"}},
		{"bad hidden", "model: l1\nhidden: ['256,x']\n", []string{`"x" is not a positive integer`}},
		{"bad seeds", "model: l1\nseeds: 0\n", []string{"(YAML): line 2: seeds: a count must be at least 1, got 0"}},
		{"repeat", "model: l1\nl1: [1.0e-4, 1.0e-4]\n", []string{"l1: 0.0001 appears twice"}},
		{"repeat model", "model: [l1, l1]\n", []string{"model: l1 appears twice"}},
		{"repeat seed", "model: l1\nseeds: [3, 3]\n", []string{"seeds: 3 appears twice"}},
		{"repeat hidden", "model: l1\nhidden: ['64,32', '64, 32']\n", []string{"hidden: 64,32 appears twice"}},
		{"repeat key", "model: l1\nmodel: l2\n", []string{"(YAML): line 2: model is given twice (first on line 1)"}},
		{"repeat key, JSON", `{"model": "l1", "model": "l2"}`, []string{"(JSON): line 1: model is given twice"}},
	} {
		g, err := ParseGrid(c.name, []byte(c.src))
		if err == nil {
			_, err = g.Expand(0)
		}
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", c.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "sweep.Grid") || strings.Contains(err.Error(), "float64") || strings.Contains(err.Error(), "yaml: ") {
			t.Errorf("%s: %q speaks of Go types or yaml's internals", c.name, err)
		}
	}
	if got := strings.Join(Keys(), ", "); "the keys are "+got != keys {
		t.Errorf("Keys() = %s", got)
	}
}

func TestGridScalarsAndJSON(t *testing.T) {
	a := expand(t, "model: l1\nepochs: 2\nseeds: 3\n")
	b := expand(t, `{"model": ["l1"], "epochs": [2], "seeds": [1, 2, 3]}`)
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("%d and %d runs, want 3 and 3", len(a), len(b))
	}
	for i := range a {
		if a[i].ID() != b[i].ID() {
			t.Errorf("YAML and JSON forms differ: %s vs %s", a[i].ID(), b[i].ID())
		}
		if a[i].Epochs != 2 || a[i].Preset != "l1" || a[i].Label() != "l1+epochs=2" || train.StudyLabels(a)[i] != "l1" {
			t.Errorf("run %d: %+v", i, a[i])
		}
	}
}

func TestShardFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		name  string
		env   func(string) string
		count int
		want  Shard
		err   bool
	}{
		{"count", env("SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_COUNT", "8"), 0, Shard{3, 8}, false},
		{"min-max from 1", env("SLURM_ARRAY_TASK_ID", "4", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_MAX", "8"), 0, Shard{3, 8}, false},
		{"min-max from 0", env("SLURM_ARRAY_TASK_ID", "0", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "4"), 0, Shard{0, 5}, false},
		{"k8s", env("JOB_COMPLETION_INDEX", "2"), 5, Shard{2, 5}, false},
		{"k8s no count", env("JOB_COMPLETION_INDEX", "2"), 0, Shard{}, true},
		{"outside", env("SLURM_ARRAY_TASK_ID", "9", "SLURM_ARRAY_TASK_COUNT", "8"), 0, Shard{}, true},
		{"not a number", env("SLURM_ARRAY_TASK_ID", "x", "SLURM_ARRAY_TASK_COUNT", "8"), 0, Shard{}, true},
		{"nothing", env(), 0, Shard{}, true},
	}
	for _, c := range cases {
		got, err := ShardFromEnv(c.env, c.count)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("%s: got %v, %v; want %v, error %v", c.name, got, err, c.want, c.err)
		}
	}
	for _, s := range []string{"1/0", "3/3", "-1/2", "a/b", "2"} {
		if _, err := ParseShard(s); err == nil {
			t.Errorf("ParseShard(%q) accepted", s)
		}
	}
}

func TestWriteScript(t *testing.T) {
	dir := t.TempDir()
	grid := filepath.Join(dir, "g.yaml")
	os.WriteFile(grid, []byte(testGrid), 0o644)
	p, err := WriteScript(SlurmOptions{Regcl: "/opt/regcl bin/regcl", Grid: grid, Out: filepath.Join(dir, "out"),
		Tasks: 36, Throttle: 4, Partition: "gpu", GPUsPerTask: 1, Time: "00:30:00", Device: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	s := string(b)
	for _, want := range []string{"#SBATCH --array=0-35%4", "#SBATCH --partition=gpu", "#SBATCH --gpus-per-task=1",
		"#SBATCH --time=00:30:00", "'/opt/regcl bin/regcl' sweep run --grid", "--device 'auto'", "#SBATCH --output=" + filepath.Join(dir, "out", "slurm", "%A_%a.out")} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, g(grid)) {
		t.Errorf("script names the original grid file instead of its copy")
	}
	if strings.Contains(s, "--lanes") || strings.Contains(s, "--parallel") {
		t.Errorf("script sets --lanes or --parallel, which were not given:\n%s", s)
	}

	// --lanes and --parallel, when given, go to every task.
	p, err = WriteScript(SlurmOptions{Regcl: "/opt/regcl", Grid: grid, Out: filepath.Join(dir, "out"), Tasks: 2, Lanes: "8", Parallel: "2"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(p)
	if s := string(b); !strings.Contains(s, "--device 'auto' --lanes '8' --parallel '2'\n") {
		t.Errorf("script does not hand --lanes 8 --parallel 2 to its tasks:\n%s", s)
	}
}

func g(s string) string { return "--grid '" + s + "'" }

// TestGridBound: a grid's runs are counted before any is made; a grid at
// the limit expands, one past it is refused with its count, and a grid of
// 100,000,000 seeds is refused without allocating them.
func TestGridBound(t *testing.T) {
	at, err := ParseGrid("at", []byte("model: [baseline, l1]\nl1: [0, 1.0e-5, 1.0e-4, 1.0e-3, 1.0e-2]\nseeds: 10\n")) // 2·5·10 = 100
	if err != nil {
		t.Fatal(err)
	}
	if n := at.Runs(); n != 100 {
		t.Fatalf("Runs() = %d, want 100", n)
	}
	if runs, err := at.Expand(100); err != nil || len(runs) == 0 {
		t.Errorf("a grid of 100 runs with a limit of 100: %d runs, %v", len(runs), err)
	}
	if _, err := at.Expand(99); err == nil || !strings.Contains(err.Error(), "100 runs (2 models × 5 l1 × 10 seeds), more than the 99 allowed") {
		t.Errorf("a grid of 100 runs with a limit of 99: %v", err)
	}
	huge, err := ParseGrid("huge", []byte("model: [baseline]\nseeds: 100000000\n"))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = huge.Expand(0)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "100000000 runs") || !strings.Contains(err.Error(), fmt.Sprintf("more than the %d allowed", MaxRuns)) {
		t.Errorf("seeds: 100000000: %v", err)
	}
	if a := after.TotalAlloc - before.TotalAlloc; a > 1<<20 {
		t.Errorf("refusing it allocated %d bytes", a)
	}
	for src, want := range map[string]string{
		"model: baseline\n":                        "1 model × 1 seed",
		"model: [baseline, l1]\nl1: [0, 1.0e-4]\n": "2 models × 2 l1 × 1 seed",
		"model: l1\nepochs: [1, 2, 3]\nseeds: 2\n": "1 model × 3 epochs × 2 seeds",
	} {
		g, err := ParseGrid("count", []byte(src))
		if err != nil || g.RunsText() != want {
			t.Errorf("RunsText of %q = %q, %v; want %q", src, g.RunsText(), err, want)
		}
	}
	max, _ := ParseGrid("max", []byte(fmt.Sprintf("model: [baseline]\nseeds: %d\n", MaxRuns)))
	if runs, err := max.Expand(0); err != nil || len(runs) != MaxRuns {
		t.Errorf("a grid of MaxRuns seeds: %d runs, %v", len(runs), err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	os.WriteFile(big, bytes.Repeat([]byte("# a comment line\n"), MaxGridFile/16+1), 0o644)
	if _, err := ReadGrid(big); err == nil || !strings.Contains(err.Error(), "more than the 1048576") {
		t.Errorf("a grid file over MaxGridFile: %v", err)
	}
}

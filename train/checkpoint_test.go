package train

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/mnist/mnisttest"
)

// TestSaveKeepsANewerDamagedCheckpointAndItsOwn: a fresh run in a folder
// where a damaged checkpoint of a later step lies (a resume skipped it)
// keeps its own checkpoints — pruned as "older" by name, they used to go
// at once — and prunes only its own older ones; a resume then finds the
// run's newest, skipping the damaged one. OpenCheckpoint takes the folder
// or a file, and records where the run was told to write.
func TestSaveKeepsANewerDamagedCheckpointAndItsOwn(t *testing.T) {
	cfg, _ := Defaults("baseline")
	cfg.Model.Hidden = []int{16}
	cfg.TrainSize, cfg.Epochs, cfg.Seed = 600, 3, 1
	tr, err := NewTrainer(cpu.New[float32](1), cfg, mnisttest.Real(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	dir := t.TempDir()
	damaged := filepath.Join(dir, checkpointName(999999))
	if err := os.WriteFile(damaged, []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := &Outputs{CSV: "/somewhere/r.csv", Save: "/somewhere/m.regcl"}
	var mine []string
	for range 3 {
		if _, err := tr.RunEpoch(context.Background()); err != nil {
			t.Fatal(err)
		}
		p, err := tr.saveCheckpoint(0, dir, KeepCheckpoints, out)
		if err != nil {
			t.Fatal(err)
		}
		mine = append(mine, p)
	}
	want := []string{damaged, mine[2], mine[1]}
	if got := Checkpoints(dir); !slices.Equal(got, want) {
		t.Errorf("the folder holds %q, want %q (the damaged one and the run's newest two)", got, want)
	}
	var warned []string
	ck, err := OpenCheckpoint(dir, func(s string) { warned = append(warned, s) })
	if err != nil {
		t.Fatal(err)
	}
	if ck.Path != mine[2] || ck.Epoch != 3 || ck.EpochStep != 0 || !ck.Finished() || ck.Outputs == nil || *ck.Outputs != *out || len(warned) != 1 || !strings.Contains(warned[0], damaged) {
		t.Errorf("OpenCheckpoint(folder): %s, epoch %d step %d, outputs %+v, warnings %q", ck.Path, ck.Epoch, ck.EpochStep, ck.Outputs, warned)
	}
	ck, err = OpenCheckpoint(mine[1], nil)
	if err != nil || ck.Path != mine[1] || ck.Dir != dir || ck.Epoch != 2 || ck.Finished() {
		t.Errorf("OpenCheckpoint(file): %+v, %v", ck, err)
	}
	if _, err := OpenCheckpoint(damaged, nil); err == nil {
		t.Error("OpenCheckpoint took a damaged file")
	}
	if _, err := OpenCheckpoint(filepath.Join(dir, "missing"), nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("OpenCheckpoint of a missing path: %v", err)
	}
}

// TestResumeConfig: flags that agree with a checkpoint's configuration
// (effective values: --model baseline --l1 1e-4 is the preset l1) pass;
// each that differs is returned; --epochs extends or shortens, but not
// below the epochs done or begun.
func TestResumeConfig(t *testing.T) {
	f64 := func(v float64) *float64 { return &v }
	n := func(v int) *int { return &v }
	cfg, err := NewConfig("l1", Overrides{TrainSize: n(2000), Epochs: n(3)}, 3)
	if err != nil {
		t.Fatal(err)
	}
	ck := &Checkpoint{Config: cfg, Epoch: 2, Path: "ck"}
	seed := uint64(3)
	if got, c, err := ResumeConfig(ck, "baseline", Overrides{L1: f64(1e-4), TrainSize: n(2000)}, &seed); err != nil || len(c) != 0 || got.ID() != cfg.ID() {
		t.Errorf("agreeing flags: %v, %v, %v", got.Label(), c, err)
	}
	other := uint64(9)
	_, c, err := ResumeConfig(ck, "l2", Overrides{LR: f64(0.01), Dropout: f64(0.5)}, &other)
	var keys []string
	for _, k := range c {
		keys = append(keys, k.Key+" "+k.Given+" (ck "+k.Checkpoint+")")
	}
	if want := []string{"model l2 (ck l1)", "dropout 0.5 (ck 0)", "lr 0.01 (ck 0.001)", "seed 9 (ck 3)"}; err != nil || !slices.Equal(keys, want) {
		t.Errorf("contradictions %q, %v; want %q", keys, err, want)
	}
	got, c, err := ResumeConfig(ck, "", Overrides{Epochs: n(5)}, nil)
	want, _ := NewConfig("l1", Overrides{TrainSize: n(2000), Epochs: n(5)}, 3)
	if err != nil || len(c) != 0 || got.ID() != want.ID() || got.Label() != want.Label() {
		t.Errorf("--epochs 5: %s (%s), %v, %v; want %s (%s)", got.Label(), got.ID(), c, err, want.Label(), want.ID())
	}
	if _, _, err := ResumeConfig(ck, "", Overrides{Epochs: n(1)}, nil); err == nil || !strings.Contains(err.Error(), "has 2 of 3 epochs done; ask for at least 2") {
		t.Errorf("--epochs 1 after 2 done: %v", err)
	}
	mid := &Checkpoint{Config: cfg, Epoch: 2, EpochStep: 4, Path: "ck"}
	if _, _, err := ResumeConfig(mid, "", Overrides{Epochs: n(2)}, nil); err == nil || !strings.Contains(err.Error(), "stopped in epoch 3 of 3; ask for at least 3") {
		t.Errorf("--epochs 2 in epoch 3: %v", err)
	}
}

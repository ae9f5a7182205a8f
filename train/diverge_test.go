package train

import (
	"context"
	"errors"
	"testing"

	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/mnist/mnisttest"
)

// TestDivergenceStopsAndKeepsCheckpoint: a learning rate that overflows the
// weights makes the loss NaN; training stops with an error that names the
// epoch and step, and the last good checkpoint stays loadable.
func TestDivergenceStopsAndKeepsCheckpoint(t *testing.T) {
	cfg, _ := Defaults("baseline")
	cfg.TrainSize, cfg.Epochs, cfg.Seed = 2000, 3, 1
	tr, err := NewTrainer(cpu.New[float32](1), cfg, mnisttest.Real(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	dir := t.TempDir()
	if _, err := tr.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	good, err := tr.SaveCheckpoint(0, dir, KeepCheckpoints)
	if err != nil {
		t.Fatal(err)
	}
	tr.Cfgs[0].LR = 1e20 // float32 weights overflow within a few steps
	if err := tr.setLanes(); err != nil {
		t.Fatal(err)
	}
	_, err = tr.RunEpoch(context.Background())
	var d *DivergedError
	if !errors.As(err, &d) {
		t.Fatalf("RunEpoch = %v, want a DivergedError", err)
	}
	if d.Epoch != 2 || d.Step < 1 || d.Step > tr.Steps() {
		t.Errorf("diverged at epoch %d, step %d; want epoch 2 and a step in 1..%d", d.Epoch, d.Step, tr.Steps())
	}
	t.Logf("%v", err)
	f, path, err := LoadCheckpoint(dir, nil)
	if err != nil || path != good {
		t.Fatalf("the last good checkpoint: %s, %v; want %s", path, err, good)
	}
	if c, _ := TrainConfigOf(f); c.LR != cfg.LR {
		t.Errorf("checkpoint holds lr %v", c.LR)
	}
}

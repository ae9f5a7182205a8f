package train

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/mnist/mnisttest"
)

// TestStopWaitsForOneSlowStep: with steps that take the device longer than
// SlowStep (a 3072·3072 network on PoCL: about 10 GFLOP a step), the host
// keeps one step queued, so a stop waits for that step alone — where the
// whole epoch used to be queued at once, and a stop waited for all of it.
func TestStopWaitsForOneSlowStep(t *testing.T) {
	dev := openCLDevice(t)
	cfg, _ := Defaults("baseline")
	cfg.Model.Hidden = []int{3072, 3072}
	cfg.TrainSize, cfg.Epochs = 3000, 1 // 21 steps
	be, err := dev.NewBackend(1)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	tr, err := NewTrainer(be, cfg, mnisttest.Real(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	st := time.Now()
	if err := tr.TrainSteps(3); err != nil {
		t.Fatal(err)
	}
	step := time.Since(st) / 3
	if step < SlowStep {
		t.Skipf("a step takes %v here, under SlowStep %v: nothing to show", step, SlowStep)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := tr.RunEpoch(ctx)
		done <- err
	}()
	time.Sleep(6 * step)
	cancelled := time.Now()
	cancel()
	err = <-done
	took := time.Since(cancelled)
	t.Logf("a step takes %v; stopped %v after the cancel, at step %d of %d", step.Round(time.Millisecond), took.Round(time.Millisecond), tr.epochStep, tr.Steps())
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("RunEpoch returned %v, want ErrInterrupted", err)
	}
	// One step in flight, and the wait for the step before it: at most two
	// steps' time, where an epoch queued at once would take 15 more.
	if took > 2*step+200*time.Millisecond {
		t.Errorf("stopped %v after the cancel; a step takes %v, so the host kept more than one step queued", took, step)
	}
}

// cancelOn is a backend that cancels a context at the first GatherRows of
// validation (offset ≥ from): an interrupt in the middle of an epoch's
// validation.
type cancelOn struct {
	device.Backend
	from   int
	cancel func()
}

func (c *cancelOn) GatherRows(dst, src, idx device.Buffer, idxOff, rows, cols int) {
	if idxOff >= c.from {
		c.cancel()
	}
	c.Backend.GatherRows(dst, src, idx, idxOff, rows, cols)
}

// TestInterruptDuringValidation: a stop during an epoch's validation
// checkpoints the epoch with every step done and its validation pending; the
// resumed run validates and goes on, bit-identical to a run never stopped.
func TestInterruptDuringValidation(t *testing.T) {
	cfg := tinyConfig("batch_norm", 3000)
	cfg.Epochs, cfg.BatchSize, cfg.ValidationSplit = 2, 64, 0.5 // 1,500 validate: two chunks of EvalRows
	data := tinyData(3000)
	ref, err := NewTrainer(cpu.New[float32](1), cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	if err := ref.Fit(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	be := &cancelOn{Backend: cpu.New[float32](1), from: 1500, cancel: cancel}
	a, err := NewTrainer(be, cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.RunEpoch(ctx); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("RunEpoch returned %v, want ErrInterrupted", err)
	}
	if a.epochStep != a.Steps() || a.Epoch != 0 {
		t.Fatalf("interrupted at epoch %d step %d, want epoch 0 after its %d steps", a.Epoch, a.epochStep, a.Steps())
	}
	f, err := a.CheckpointFile(0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewTrainer(cpu.New[float32](1), cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Restore(f); err != nil {
		t.Fatalf("restoring a checkpoint taken during validation: %v", err)
	}
	if err := b.Fit(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if len(b.History[0]) != 2 {
		t.Fatalf("%d epochs in the history, want 2", len(b.History[0]))
	}
	for i := range b.History[0] {
		g, w := b.History[0][i], ref.History[0][i]
		g.Seconds, g.TrainSeconds, w.Seconds, w.TrainSeconds = 0, 0, 0, 0
		if g != w {
			t.Errorf("epoch %d: resumed %+v, uninterrupted %+v", i+1, g, w)
		}
	}
	wb, wr := readTensors(t, b.be, b), readTensors(t, ref.be, ref)
	for i := range wb {
		if !slices.Equal(wb[i], wr[i]) {
			t.Errorf("tensor %d differs from the uninterrupted run's", i)
		}
	}
}

package study

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/mnist/mnisttest"
	"github.com/regcl/regcl/train"
)

func ptr[T any](v T) *T { return &v }

// quick is a small, fast run: 540 images to train (5 steps), 60 to validate.
var quick = train.Overrides{TrainSize: ptr(600), Epochs: ptr(2), Hidden: []int{32}}

func configs(t *testing.T, presets []string, seeds int) []train.Config {
	t.Helper()
	cs, err := Configs(presets, seeds, quick)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// syncBuffer is a log written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	on func(string) // called with every write
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	n, err := b.b.Write(p)
	on := b.on
	b.mu.Unlock()
	if on != nil {
		on(string(p))
	}
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestRun: runs go into runs/, a second Run skips them, an interrupted one
// leaves its checkpoint and continues from it, and groups side by side
// (one run each, with --lanes 1) get a prefix per group.
func TestRun(t *testing.T) {
	data := mnisttest.Real(t)
	d := Open(t.TempDir())
	cfgs := configs(t, []string{"l1", "dropout"}, 1)
	var log syncBuffer
	n, err := d.Run(context.Background(), cfgs, RunOptions{Data: data, Device: cpu.Device{}, Lanes: 1, Parallel: 2, Log: &log})
	if err != nil || n != 2 {
		t.Fatalf("Run: %d trained, %v\n%s", n, err, log.String())
	}
	out := log.String()
	t.Logf("\n%s", out)
	for _, want := range []string{"[group 1/2] 1 run: ", "[group 2/2] 1 run: ", "1 run: l1+hidden=32 seed 1  elapsed", "1 run: dropout+hidden=32 seed 1  elapsed",
		"[group 1] Epoch 2/2", "[group 2] Epoch 1/2", "[group 1] test_loss", "[group 2] test_loss"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	for _, c := range cfgs {
		if !d.Done(c) {
			t.Errorf("%s is not done", c.Label())
		}
		if _, err := os.Stat(d.RecordPath(c)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(d.Path(), RunningDir)); err == nil {
		t.Error("the running/ folder is left behind")
	}

	// Again: nothing to do.
	log = syncBuffer{}
	if n, err := d.Run(context.Background(), cfgs, RunOptions{Data: data, Device: cpu.Device{}, Log: &log}); err != nil || n != 0 {
		t.Errorf("second Run: %d trained, %v", n, err)
	}
	if !strings.Contains(log.String(), "2 of 2 runs already finished") || strings.Contains(log.String(), "Epoch") {
		t.Errorf("the second Run trained again:\n%s", log.String())
	}

	// Interrupted after the first epoch of a new run: its checkpoint stays,
	// the error says how to go on, and the next Run resumes it.
	more := append(cfgs, configs(t, []string{"l2"}, 1)...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log = syncBuffer{on: func(s string) {
		if strings.Contains(s, "Epoch 1/2") {
			cancel()
		}
	}}
	n, err = d.Run(ctx, more, RunOptions{Data: data, Device: cpu.Device{}, Log: &log})
	if !errors.Is(err, train.ErrInterrupted) || n != 0 {
		t.Fatalf("interrupted Run: %d trained, %v\n%s", n, err, log.String())
	}
	t.Logf("%v", err)
	if !strings.Contains(err.Error(), "2 of 3 runs finished") || !strings.Contains(err.Error(), "run the same command again") {
		t.Errorf("the error does not say how to go on: %v", err)
	}
	l2 := more[2]
	if _, _, err := train.LoadCheckpoint(d.CheckpointDir(l2), nil); err != nil {
		t.Fatalf("no checkpoint left: %v", err)
	}
	log = syncBuffer{}
	if n, err := d.Run(context.Background(), more, RunOptions{Data: data, Device: cpu.Device{}, Log: &log}); err != nil || n != 1 {
		t.Fatalf("resumed Run: %d trained, %v\n%s", n, err, log.String())
	}
	if !strings.Contains(log.String(), "resuming l2") || strings.Contains(log.String(), "Epoch 1/2") {
		t.Errorf("the run did not continue from its checkpoint:\n%s", log.String())
	}
	if _, err := os.Stat(d.CheckpointDir(l2)); err == nil {
		t.Error("the finished run's checkpoints are left behind")
	}
	rs, err := d.Records()
	if err != nil || len(rs) != 3 {
		t.Fatalf("Records: %d, %v", len(rs), err)
	}
}

// TestRunFirstErrorStops: a run that fails stops the study, and the error
// names it.
func TestRunFirstErrorStops(t *testing.T) {
	data := mnisttest.Real(t)
	d := Open(t.TempDir())
	bad, err := train.NewConfig("l1", train.Overrides{TrainSize: ptr(70000), Epochs: ptr(1)}, 1) // valid, but more images than MNIST has
	if err != nil {
		t.Fatal(err)
	}
	cfgs := append([]train.Config{bad}, configs(t, []string{"l2"}, 2)...)
	n, err := d.Run(context.Background(), cfgs, RunOptions{Data: data, Device: cpu.Device{}})
	if err == nil || n != 0 || !strings.Contains(err.Error(), bad.ID()) || !strings.Contains(err.Error(), "exceeds the 60000 training images") {
		t.Errorf("Run: %d trained, %v; want the first run's error, and nothing trained", n, err)
	}
	if _, err := d.Run(context.Background(), []train.Config{{}}, RunOptions{Data: data, Device: cpu.Device{}}); err == nil {
		t.Error("an invalid configuration was accepted")
	}
}

func TestConfigsErrors(t *testing.T) {
	if _, err := Configs(nil, 1, train.Overrides{}); err == nil {
		t.Error("no methods accepted")
	}
	if _, err := Configs([]string{"l1"}, 0, train.Overrides{}); err == nil {
		t.Error("0 seeds accepted")
	}
	if _, err := Configs([]string{"l1", "nope"}, 1, train.Overrides{}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown method: %v", err)
	}
}

func TestRecordsErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing")).Records(); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing folder: %v", err)
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := Open(f).Records(); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("a file: %v", err)
	}
	if rs, err := Open(t.TempDir()).Records(); err != nil || len(rs) != 0 {
		t.Errorf("empty folder: %d records, %v", len(rs), err)
	}
}

package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/internal/plural"
	"github.com/regcl/regcl/mnist"
	"github.com/regcl/regcl/model"
)

// Options is everything `regcl train` needs besides the run's Config.
type Options struct {
	Data   *mnist.Data
	Device device.Device
	Log    io.Writer // epoch lines; nil for silence
	Live   bool      // draw a progress bar within epochs (Log is a terminal)
	Prefix string    // before each epoch line
	// Files names the files the run writes besides its checkpoints, given
	// its configuration (a resumed run's comes from its checkpoint); the
	// study folder decides them (package study). nil writes none.
	Files func(Config) Files
	// Save, when set, receives the trained network as a model file.
	Save string
	// CheckpointDir, when set, receives a checkpoint at the end of every
	// epoch (the last two are kept).
	CheckpointDir string
	// Resume, when set, is a checkpoint folder to continue from: the newest
	// valid checkpoint there decides the configuration.
	Resume string
	// Checkpoint, when set, is the checkpoint to continue from, opened
	// already (OpenCheckpoint; it takes the place of Resume). The run's
	// configuration is the one Run is given (ResumeConfig).
	Checkpoint *Checkpoint
	// ResumeHint, when set, turns the checkpoint folder of an interrupted
	// run into the command that continues it, for the error's last words.
	ResumeHint func(dir string) string
	// Warn receives notices (a damaged checkpoint skipped); nil discards them.
	Warn io.Writer
}

// Files are where one run's results go; an empty name writes nothing there.
type Files struct {
	Record  string // the run record (JSON), written when the run finishes
	History string // the per-epoch history (CSV): when it finishes, or is interrupted
	CSV     string // the per-run results CSV, appended one row when it finishes
	// Interrupted is where an interrupted run saves its checkpoint when
	// Options.CheckpointDir is empty.
	Interrupted string
}

// abs is path made absolute ("" stays "").
func abs(path string) string {
	if path == "" {
		return ""
	}
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}

// KeepCheckpoints is how many checkpoints a folder keeps.
const KeepCheckpoints = 2

// Run trains one configuration to the end and tests it. Interrupted through
// ctx, it saves a checkpoint and the history so far and returns an error
// saying where they are; the results CSV only ever receives finished runs.
func Run(ctx context.Context, cfg Config, opt Options) (*Result, error) {
	warn := func(s string) {
		if opt.Warn != nil {
			fmt.Fprintln(opt.Warn, s)
		}
	}
	ckpt := opt.Checkpoint
	if ckpt == nil && opt.Resume != "" {
		f, path, err := LoadCheckpoint(opt.Resume, warn)
		if err != nil {
			return nil, err
		}
		c, err := TrainConfigOf(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ckpt = &Checkpoint{File: f, Path: path, Dir: opt.Resume, Config: c}
		cfg = c
	}
	if ckpt != nil {
		warn(fmt.Sprintf("resuming %s seed %d (%s) from %s", cfg.Label(), cfg.Seed, cfg.ID(), ckpt.Path))
		if opt.CheckpointDir == "" {
			opt.CheckpointDir = ckpt.Dir
		}
	}
	if ctx.Err() != nil { // stopped while the data loaded
		return nil, fmt.Errorf("%w before its first step: nothing to save", ErrInterrupted)
	}
	be, err := opt.Device.NewBackend()
	if err != nil {
		return nil, err
	}
	defer be.Close()
	started := time.Now()
	t, err := NewTrainer(be, cfg, opt.Data)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	if ckpt != nil {
		if err := t.Restore(ckpt.File); err != nil {
			return nil, err
		}
	}
	if opt.Log != nil {
		t.Observer = &Printer{W: opt.Log, Live: opt.Live, Prefix: opt.Prefix}
		if opt.Live {
			t.ProgressEvery = 10
		}
	}
	var files Files
	if opt.Files != nil {
		files = opt.Files(cfg)
	}
	// Kept in every checkpoint: where a resumed run writes its results.
	outputs := &Outputs{CSV: abs(files.CSV), Save: abs(opt.Save)}
	var afterEpoch func() error
	if opt.CheckpointDir != "" {
		afterEpoch = func() error {
			_, err := t.saveCheckpoint(opt.CheckpointDir, KeepCheckpoints, outputs)
			return err
		}
	}
	interrupted := func() error {
		ck := opt.CheckpointDir
		if ck == "" {
			ck = files.Interrupted
		}
		return t.saveInterrupted(ck, files.History, outputs, opt.ResumeHint)
	}
	if err := t.Fit(ctx, afterEpoch); errors.Is(err, ErrInterrupted) {
		return nil, interrupted()
	} else if err != nil {
		return nil, err
	}
	r, err := t.Result(ctx, started)
	if r != nil {
		r.UnverifiedData = !opt.Data.Verified
	}
	if errors.Is(err, ErrInterrupted) { // every epoch done, the test not: a checkpoint at the end
		return nil, interrupted()
	}
	if err != nil {
		return nil, err
	}
	if opt.Log != nil {
		fmt.Fprintf(opt.Log, "%stest_loss %.4f  test_accuracy %.4f\n", opt.Prefix, r.TestLoss, r.TestAccuracy)
	}
	if opt.Save != "" {
		f, err := t.ModelFile()
		if err == nil {
			err = model.WriteFile(opt.Save, f)
		}
		if err != nil {
			return r, fmt.Errorf("saving the model: %w", err)
		}
	}
	if files.History != "" {
		if err := WriteHistoryCSV(files.History, r.History); err != nil {
			return r, err
		}
	}
	if files.Record != "" {
		if err := WriteJSON(files.Record, r); err != nil {
			return r, err
		}
	}
	if files.CSV != "" {
		if err := AppendCSV(files.CSV, ResultHeader, r.ResultRow()); err != nil {
			return r, err
		}
	}
	return r, nil
}

// saveInterrupted writes a checkpoint into ckptDir, and the history so far
// into hist when it is set, and returns the error that tells the user where
// they are, and (hint) how to go on.
func (t *Trainer) saveInterrupted(ckptDir, hist string, out *Outputs, hint func(string) string) error {
	where := t.position()
	if ckptDir == "" {
		return fmt.Errorf("%w %s (no checkpoint folder was given, so nothing was saved)", ErrInterrupted, where)
	}
	path, err := t.saveCheckpoint(ckptDir, KeepCheckpoints, out)
	if err != nil {
		return fmt.Errorf("interrupted, and the checkpoint could not be written: %w", err)
	}
	histText := ""
	if hist != "" {
		if err := WriteHistoryCSV(hist, t.History); err != nil {
			return fmt.Errorf("interrupted %s; checkpoint %s; the history could not be written: %w", where, path, err)
		}
		histText = ", history " + hist
	}
	next := "--resume " + ckptDir
	if hint != nil {
		next = hint(ckptDir)
	}
	return fmt.Errorf("%w %s: checkpoint %s%s; continue with: %s",
		ErrInterrupted, where, path, histText, next)
}

// position says where training stands, for a message.
func (t *Trainer) position() string {
	switch {
	case t.Epoch >= t.Cfg.Epochs:
		return fmt.Sprintf("after the last epoch (%d), before the test", t.Epoch)
	case t.epochStep >= t.Steps():
		return fmt.Sprintf("at epoch %d, after its %s, before its validation", t.Epoch+1, plural.Count(t.Steps(), "step", "steps"))
	}
	return fmt.Sprintf("at epoch %d, step %d of %d", t.Epoch+1, t.epochStep, t.Steps())
}

// Result tests the trained network and assembles the run's record.
func (t *Trainer) Result(ctx context.Context, started time.Time) (*Result, error) {
	loss, acc, err := t.TestContext(ctx)
	if err != nil {
		return nil, err
	}
	var kernels [][]float32
	for _, p := range t.Net.Tensors() {
		if p.Penalized {
			w := make([]float32, p.Len())
			if err := t.be.Read(p.W, 0, w); err != nil {
				return nil, err
			}
			kernels = append(kernels, w)
		}
	}
	r := &Result{ID: t.Cfg.ID(), Config: t.Cfg, History: t.History, TestLoss: loss, TestAccuracy: acc,
		Weights: ComputeWeightStats(kernels), Started: started, Finished: time.Now(), Device: t.be.Name()}
	var s float64
	for _, m := range t.History {
		s += m.Seconds
	}
	if len(t.History) > 0 {
		r.SecondsPerEpoch = s / float64(len(t.History))
	}
	return r, nil
}

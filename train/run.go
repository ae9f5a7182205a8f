package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
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

// Run trains one configuration to the end and tests it: RunGroup with one
// lane. Interrupted through ctx, it saves a checkpoint and the history so
// far and returns an error saying where they are; the results CSV only
// ever receives finished runs.
func Run(ctx context.Context, cfg Config, opt Options) (*Result, error) {
	ckpt := opt.Checkpoint
	if ckpt == nil && opt.Resume != "" {
		warn := func(s string) {
			if opt.Warn != nil {
				fmt.Fprintln(opt.Warn, s)
			}
		}
		f, path, err := LoadCheckpoint(opt.Resume, warn)
		if err != nil {
			return nil, err
		}
		c, err := TrainConfigOf(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		var meta checkpointMeta
		if err := json.Unmarshal(f.Meta, &meta); err != nil {
			return nil, fmt.Errorf("%s: %w: checkpoint meta: %v", path, model.ErrModelFile, err)
		}
		ckpt = &Checkpoint{File: f, Path: path, Dir: opt.Resume, Config: c, Epoch: meta.Epoch, EpochStep: meta.EpochStep, Outputs: meta.Outputs}
		cfg = c
	}
	var files Files
	if opt.Files != nil {
		files = opt.Files(cfg)
	}
	run := LaneRun{Config: cfg, Files: files, Save: opt.Save, CheckpointDir: opt.CheckpointDir, Checkpoint: ckpt, ResumeHint: opt.ResumeHint}
	res, err := RunGroup(ctx, []LaneRun{run}, GroupOptions{Device: opt.Device, Data: opt.Data, Log: opt.Log, Live: opt.Live, Prefix: opt.Prefix, Warn: opt.Warn})
	if err != nil {
		return nil, err
	}
	return res[0].Result, res[0].Err
}

// LaneRun is one run of a group (RunGroup): its configuration and where
// its results go, as Options says for Run.
type LaneRun struct {
	Config Config
	Files  Files
	// Save, when set, receives the trained network as a model file.
	Save string
	// CheckpointDir, when set, receives the run's checkpoint at the end of
	// every epoch (the last two are kept); a resumed run's defaults to its
	// checkpoint's folder.
	CheckpointDir string
	// Checkpoint, when set, is the checkpoint the run continues from; Config
	// is then the configuration to train (ResumeConfig).
	Checkpoint *Checkpoint
	// ResumeHint, when set, turns the checkpoint folder of an interrupted
	// run into the command that continues it, for the error's last words.
	ResumeHint func(dir string) string
	// Label names the run in the group's messages; "" names it by its
	// configuration's label and seed.
	Label string
}

// GroupOptions is what RunGroup needs besides the runs.
type GroupOptions struct {
	Device device.Device
	Data   *mnist.Data
	// Shared is Data on Device already (UploadData), for groups that share
	// it; nil uploads the data for this group alone.
	Shared *DeviceData
	Log    io.Writer // epoch lines; nil for silence
	Live   bool      // a progress bar within epochs (a group of one run, Log a terminal)
	Prefix string    // before each line of Log
	Warn   io.Writer // notices (resuming from a checkpoint); nil discards them
}

// LaneResult is how one run of a group ended: its Result when it finished
// (and Err nil, or the error of writing its files), or the error that
// stopped it (a *DivergedError; or ErrInterrupted, wrapped in a message
// saying where its checkpoint is).
type LaneResult struct {
	Result *Result
	Err    error
}

// RunGroup trains runs as the lanes of one backend of opt.Device, to the
// end, and tests them; each run's results are those it would have trained
// alone, and each writes the files it names when it finishes. Every run must
// have the GroupKey of the first, and stand at its position (PositionOf its
// Checkpoint). A run that diverges stops with its own error while the
// others go on. Interrupted through ctx, every run still going saves its
// checkpoint and history and gets an error saying where they are. The
// error RunGroup returns is the group's (settings that cannot train
// together, a device that fails, a stop before the first step); then there
// are no results.
func RunGroup(ctx context.Context, runs []LaneRun, opt GroupOptions) ([]LaneResult, error) {
	L := len(runs)
	if L < 1 || L > device.MaxLanes {
		return nil, fmt.Errorf("a group of %d runs; a group holds 1 to %d", L, device.MaxLanes)
	}
	runs = slices.Clone(runs)
	cfgs := make([]Config, L)
	labels := make([]string, L)
	files := make([]*model.File, L)
	resumed := false
	for l := range runs {
		r := &runs[l]
		cfgs[l] = r.Config
		labels[l] = r.Label
		if labels[l] == "" {
			labels[l] = fmt.Sprintf("%s seed %d", r.Config.Label(), r.Config.Seed)
		}
		if GroupKey(r.Config) != GroupKey(runs[0].Config) {
			return nil, fmt.Errorf("%s cannot train in a group with %s: they differ in the network's shape or the training settings", labels[l], labels[0])
		}
		if p, p0 := PositionOf(r.Checkpoint), PositionOf(runs[0].Checkpoint); p != p0 {
			return nil, fmt.Errorf("%s stands at epoch %d, step %d and %s at epoch %d, step %d: the runs of a group must stand at one position",
				labels[l], p.Epoch, p.EpochStep, labels[0], p0.Epoch, p0.EpochStep)
		}
		if ck := r.Checkpoint; ck != nil {
			if opt.Warn != nil {
				fmt.Fprintf(opt.Warn, "resuming %s seed %d (%s) from %s\n", r.Config.Label(), r.Config.Seed, r.Config.ID(), ck.Path)
			}
			if r.CheckpointDir == "" {
				r.CheckpointDir = ck.Dir
			}
			files[l], resumed = ck.File, true
		}
	}
	if ctx.Err() != nil { // stopped while the data loaded
		return nil, fmt.Errorf("%w before its first step: nothing to save", ErrInterrupted)
	}
	shared := opt.Shared
	if shared == nil {
		if opt.Data == nil {
			return nil, fmt.Errorf("RunGroup: no data")
		}
		var err error
		if shared, err = UploadData(opt.Device, opt.Data); err != nil {
			return nil, err
		}
		defer shared.Close()
	}
	be, err := opt.Device.NewBackend(L)
	if err != nil {
		return nil, err
	}
	defer be.Close()
	started := time.Now()
	t, err := NewGroup(be, cfgs, shared)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	if resumed {
		if err := t.RestoreLanes(files); err != nil {
			return nil, err
		}
	}
	if opt.Log != nil {
		if L == 1 {
			t.Observer = &Printer{W: opt.Log, Live: opt.Live, Prefix: opt.Prefix}
			if opt.Live {
				t.ProgressEvery = 10
			}
		} else {
			t.Observer = &GroupPrinter{W: opt.Log, Prefix: opt.Prefix, Labels: labels}
		}
	}
	// Kept in every checkpoint: where a resumed run writes its results.
	outputs := make([]*Outputs, L)
	for l, r := range runs {
		outputs[l] = &Outputs{CSV: abs(r.Files.CSV), Save: abs(r.Save)}
	}
	afterEpoch := func() error {
		var last error
		for l, r := range runs {
			if r.CheckpointDir == "" || !t.Active(l) {
				continue
			}
			if _, err := t.saveCheckpoint(l, r.CheckpointDir, KeepCheckpoints, outputs[l]); err != nil {
				t.stop(l, err) // the others go on
				last = err
			}
		}
		if t.active() == 0 {
			return last
		}
		return nil
	}
	res := make([]LaneResult, L)
	interrupted := func() []LaneResult {
		for l, r := range runs {
			if !t.Active(l) {
				res[l].Err = t.Stopped[l]
				continue
			}
			ck := r.CheckpointDir
			if ck == "" {
				ck = r.Files.Interrupted
			}
			res[l].Err = t.saveInterrupted(l, ck, r.Files.History, outputs[l], r.ResumeHint)
		}
		return res
	}
	err = t.Fit(ctx, afterEpoch)
	if errors.Is(err, ErrInterrupted) {
		return interrupted(), nil
	}
	if err != nil && t.active() > 0 {
		return nil, err
	}
	var rs []*Result
	if t.active() > 0 {
		rs, err = t.Results(ctx, started)
		if errors.Is(err, ErrInterrupted) { // every epoch done, the test not: a checkpoint at the end
			return interrupted(), nil
		}
		if err != nil {
			return nil, err
		}
	}
	for l, r := range runs {
		if !t.Active(l) {
			res[l].Err = t.Stopped[l]
			continue
		}
		rr := rs[l]
		rr.UnverifiedData = !shared.verified
		res[l].Result = rr
		if opt.Log != nil && L == 1 {
			fmt.Fprintf(opt.Log, "%stest_loss %.4f  test_accuracy %.4f\n", opt.Prefix, rr.TestLoss, rr.TestAccuracy)
		}
		res[l].Err = t.writeResults(l, rr, r)
	}
	if p, ok := t.Observer.(*GroupPrinter); ok {
		p.Test(rs)
	}
	return res, nil
}

// writeResults writes lane's files: the model file, the history, the
// record and the results CSV's row.
func (t *Trainer) writeResults(lane int, r *Result, run LaneRun) error {
	if run.Save != "" {
		f, err := t.ModelFile(lane)
		if err == nil {
			err = model.WriteFile(run.Save, f)
		}
		if err != nil {
			return fmt.Errorf("saving the model: %w", err)
		}
	}
	if run.Files.History != "" {
		if err := WriteHistoryCSV(run.Files.History, r.History); err != nil {
			return err
		}
	}
	if run.Files.Record != "" {
		if err := WriteJSON(run.Files.Record, r); err != nil {
			return err
		}
	}
	if run.Files.CSV != "" {
		if err := AppendCSV(run.Files.CSV, ResultHeader, r.ResultRow()); err != nil {
			return err
		}
	}
	return nil
}

// saveInterrupted writes lane's checkpoint into ckptDir, and its history so
// far into hist when it is set, and returns the error that tells the user
// where they are, and (hint) how to go on.
func (t *Trainer) saveInterrupted(lane int, ckptDir, hist string, out *Outputs, hint func(string) string) error {
	where := t.position()
	if ckptDir == "" {
		return fmt.Errorf("%w %s (no checkpoint folder was given, so nothing was saved)", ErrInterrupted, where)
	}
	path, err := t.saveCheckpoint(lane, ckptDir, KeepCheckpoints, out)
	if err != nil {
		return fmt.Errorf("interrupted, and the checkpoint could not be written: %w", err)
	}
	histText := ""
	if hist != "" {
		if err := WriteHistoryCSV(hist, t.History[lane]); err != nil {
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

// Results tests every lane's trained network (in one pass) and assembles
// each run's record; nil for a lane that has stopped.
func (t *Trainer) Results(ctx context.Context, started time.Time) ([]*Result, error) {
	loss, acc, err := t.TestContext(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Result, len(t.Cfgs))
	for l, cfg := range t.Cfgs {
		if !t.Active(l) {
			continue
		}
		var kernels [][]float32
		for _, p := range t.Net.Tensors() {
			if p.Penalized {
				w := make([]float32, p.Len())
				if err := t.be.Read(p.W, l, 0, w); err != nil {
					return nil, err
				}
				kernels = append(kernels, w)
			}
		}
		h := t.History[l]
		r := &Result{ID: cfg.ID(), Config: cfg, History: h, TestLoss: loss[l], TestAccuracy: acc[l],
			Weights: ComputeWeightStats(kernels), Started: started, Finished: time.Now(), Device: t.be.Name(), Lanes: t.be.Lanes()}
		var s float64
		for _, m := range h {
			s += m.Seconds
		}
		if len(h) > 0 {
			r.SecondsPerEpoch = s / float64(len(h))
		}
		out[l] = r
	}
	return out, nil
}

package study

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/internal/plural"
	"github.com/regcl/regcl/mnist"
	"github.com/regcl/regcl/train"
)

// RunOptions configures Dir.Run.
type RunOptions struct {
	Data     *mnist.Data
	Device   device.Device
	Parallel int       // runs trained side by side on the device (≥ 1)
	Log      io.Writer // progress and epoch lines; nil for silence
	Live     bool      // Log is a terminal
	// WaitForClaimed: a run that another live process has claimed is waited
	// for, and trained here if that process stops or dies before finishing
	// it (compare: it reports on every run). Without it such a run is
	// skipped (a sweep's shard: the task that holds it finishes it).
	WaitForClaimed bool
}

// ClaimPoll is how often a Run that waits for runs claimed elsewhere looks
// at them again.
var ClaimPoll = time.Second

// Run trains every configuration of cfgs that the folder has no record of
// yet, opt.Parallel side by side, each record written atomically when its run
// finishes, so that a killed study started again goes on where it stopped.
// Each run is claimed first (Dir.Claim), so that processes sharing the
// folder (a compare started twice, overlapping shards of a sweep) train each
// run once: a run another live process holds is waited for or skipped
// (opt.WaitForClaimed), and a run whose claim is stale, its owner gone, is
// taken over and continues from its checkpoint. A run writes a checkpoint
// at the end of every epoch (removed when it finishes).
//
// Run says how many runs it skips, and prints a progress line (run i of N,
// label, seed, elapsed, estimated time left) before each run it trains, and a
// prefix before each epoch line when runs go side by side. The first error
// stops the other runs (they save checkpoints); Ctrl-C (ctx) does too, and the
// error says how to go on. It returns the number of runs this process
// trained.
func (d *Dir) Run(ctx context.Context, cfgs []train.Config, opt RunOptions) (int, error) {
	var uniq, todo []train.Config
	seen := map[string]bool{}
	for _, c := range cfgs {
		if err := c.Validate(); err != nil {
			return 0, fmt.Errorf("%s seed %d: %w", c.Label(), c.Seed, err)
		}
		if seen[c.ID()] {
			continue
		}
		seen[c.ID()] = true
		uniq = append(uniq, c)
	}
	labels := map[string]string{}
	for i, l := range train.StudyLabels(uniq) {
		labels[uniq[i].ID()] = l
	}
	for _, c := range uniq {
		if !d.Done(c) {
			todo = append(todo, c)
		}
	}
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		if opt.Log != nil {
			logMu.Lock()
			fmt.Fprintf(opt.Log, format, args...)
			logMu.Unlock()
		}
	}
	total := len(uniq)
	done := total - len(todo)
	if done > 0 {
		logf("%d of %s already finished in %s: skipping %s\n", done, plural.Count(total, "run", "runs"), d.path, plural.Word(done, "it", "them"))
	}
	if len(todo) == 0 {
		return 0, nil
	}
	par := max(1, min(opt.Parallel, len(todo)))
	start := time.Now()
	q := &runQueue{d: d, pending: todo, wait: opt.WaitForClaimed, labels: labels, logf: logf, told: map[string]bool{}}
	var (
		mu                sync.Mutex
		started, finished int
	)
	g, gctx := errgroup.WithContext(ctx)
	for range par {
		g.Go(func() error {
			for {
				cfg, claim, err := q.next(gctx)
				if err != nil || claim == nil {
					return err
				}
				label := labels[cfg.ID()]
				mu.Lock()
				started++
				eta := "unknown"
				if finished > 0 {
					per := time.Since(start) / time.Duration(finished)
					eta = (per * time.Duration(max(0, len(todo)-finished)) / time.Duration(par)).Round(time.Second).String()
				}
				logf("[run %d/%d] %s seed %d  elapsed %s  left ~%s\n", done+started, total, label, cfg.Seed,
					time.Since(start).Round(time.Second), eta)
				mu.Unlock()
				if claim.Stale != nil {
					logf("%s seed %d: taking over its claim from %s, which is gone\n", label, cfg.Seed, claim.Stale)
				}
				err = d.runOne(gctx, cfg, label, par, opt, logf)
				claim.Release()
				if err != nil {
					return err
				}
				mu.Lock()
				finished++
				mu.Unlock()
			}
		})
	}
	err := g.Wait()
	os.Remove(d.join(RunningDir)) // only when empty: other tasks may share the folder
	if ctx.Err() != nil {
		return finished, fmt.Errorf("%w: %d of %s finished in %s; unfinished runs keep their checkpoints in %s; run the same command again to go on",
			train.ErrInterrupted, d.countDone(uniq), plural.Count(total, "run", "runs"), d.path, d.CheckpointsDir())
	}
	if err == nil && len(q.skipped) > 0 {
		logf("%d of %s %s being trained by other processes, and %s left to them\n", len(q.skipped), plural.Count(total, "run", "runs"),
			plural.Word(len(q.skipped), "is", "are"), plural.Word(len(q.skipped), "was", "were"))
	}
	return finished, err
}

// runQueue hands out the runs of a Run, each claimed.
type runQueue struct {
	d       *Dir
	mu      sync.Mutex
	pending []train.Config // neither recorded, nor handed out, nor skipped
	skipped []train.Config // claimed elsewhere (without wait)
	wait    bool
	labels  map[string]string
	logf    func(string, ...any)
	told    map[string]bool // runs whose owner was named in the log
}

// next claims the next run to train and returns it; a nil claim (and no
// error) means that there is none left for this worker. With wait set it
// looks again, every ClaimPoll, at the runs that other processes hold.
func (q *runQueue) next(ctx context.Context) (train.Config, *Claim, error) {
	for ctx.Err() == nil {
		cfg, c, left, err := q.claimOne()
		if err != nil || c != nil {
			return cfg, c, err
		}
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(ClaimPoll):
		}
	}
	return train.Config{}, nil, nil
}

// claimOne goes through the pending runs in order, dropping those recorded
// meanwhile, until it claims one; left is how many remain pending.
func (q *runQueue) claimOne() (cfg train.Config, claim *Claim, left int, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var keep []train.Config
	for i, cfg := range q.pending {
		label := q.labels[cfg.ID()]
		if q.d.Done(cfg) {
			if q.told[cfg.ID()] {
				q.logf("%s seed %d: finished by another process\n", label, cfg.Seed)
			}
			continue
		}
		c, err := q.d.Claim(cfg)
		if err != nil {
			return cfg, nil, 0, err
		}
		if c.Held && q.d.Done(cfg) { // finished and released between the two looks
			c.Release()
			continue
		}
		if c.Held {
			q.pending = append(keep, q.pending[i+1:]...)
			return cfg, &c, len(q.pending), nil
		}
		if !q.told[cfg.ID()] {
			q.told[cfg.ID()] = true
			what := "skipping it"
			if q.wait {
				what = "waiting for it"
			}
			q.logf("%s seed %d is being trained by %s (claim %s): %s\n", label, cfg.Seed, c.Owner, q.d.ClaimPath(cfg), what)
		}
		if q.wait {
			keep = append(keep, cfg)
		} else {
			q.skipped = append(q.skipped, cfg)
		}
	}
	q.pending = keep
	return train.Config{}, nil, len(q.pending), nil
}

// countDone counts the runs of cfgs that the folder has records of.
func (d *Dir) countDone(cfgs []train.Config) int {
	n := 0
	for _, c := range cfgs {
		if d.Done(c) {
			n++
		}
	}
	return n
}

// runOne trains one run into the folder, from its checkpoint when it has one.
func (d *Dir) runOne(ctx context.Context, cfg train.Config, label string, par int, opt RunOptions, logf func(string, ...any)) error {
	prefix := ""
	if par > 1 {
		prefix = fmt.Sprintf("[%s s%d] ", label, cfg.Seed)
	}
	ck := d.CheckpointDir(cfg)
	ropt := train.Options{Data: opt.Data, Device: opt.Device, Log: opt.Log, Live: opt.Live && par == 1,
		Prefix: prefix, Warn: opt.Log,
		// A checkpoint at the end of every epoch, so that a killed process
		// loses at most an epoch: the process that takes over the run's
		// claim continues from it.
		CheckpointDir: ck,
		// The run's record goes into runs/; an interrupted run leaves its
		// checkpoint in checkpoints/<id>, and the next Run continues it.
		Files: func(train.Config) train.Files { return train.Files{Record: d.RecordPath(cfg), Interrupted: ck} }}
	ropt.Resume = d.resumeFrom(cfg, func(s string) { logf("%s%s\n", prefix, s) })
	_, err := train.Run(ctx, cfg, ropt)
	switch {
	case err == nil:
		os.RemoveAll(ck)
		if ropt.Resume != "" {
			os.RemoveAll(ropt.Resume)
		}
		os.Remove(filepath.Dir(ck)) // only when empty
		return nil
	case errors.Is(err, train.ErrInterrupted):
		return err
	}
	return fmt.Errorf("run %s (%s seed %d): %w", cfg.ID(), label, cfg.Seed, err)
}

// Configs expands presets × seeds 1..seeds, each with the overrides applied.
func Configs(presets []string, seeds int, o train.Overrides) ([]train.Config, error) {
	if len(presets) == 0 {
		return nil, fmt.Errorf("no methods to compare")
	}
	if seeds < 1 {
		return nil, fmt.Errorf("seeds must be at least 1, got %d", seeds)
	}
	var out []train.Config
	for _, m := range presets {
		for s := 1; s <= seeds; s++ {
			c, err := train.NewConfig(m, o, uint64(s))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// SingleRun names the files of one run, as `regcl train --output CSV`
// writes them: the results CSV, and its folder as a study folder holding the
// run's record (runs/<id>.json, so that regcl report reads it), its
// history <id>_history.csv, and the checkpoint of an interrupted run
// (checkpoints/<id>, where compare would continue it). With csv empty only
// the last is written, under the current folder.
func SingleRun(csv string) func(train.Config) train.Files {
	return func(c train.Config) train.Files {
		if csv == "" {
			return train.Files{Interrupted: Open(".").CheckpointDir(c)}
		}
		d := Open(filepath.Dir(csv))
		return train.Files{CSV: csv, Record: d.RecordPath(c), History: d.HistoryPath(c), Interrupted: d.CheckpointDir(c)}
	}
}

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
}

// Run trains every configuration of cfgs that the folder has no record of
// yet, opt.Parallel side by side, each record written atomically when its run
// finishes, so that a killed study started again goes on where it stopped.
// It says how many runs it skips, and prints a progress line (run i of N,
// label, seed, elapsed, estimated time left) before each run, and a prefix
// before each epoch line when runs go side by side. A run interrupted before
// continues from its checkpoint. The first error stops the other runs (they
// save checkpoints); Ctrl-C (ctx) does too, and the error says how to go on.
// It returns the number of runs trained.
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
	var (
		mu       sync.Mutex
		finished int
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(par)
	for k, cfg := range todo {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil // stopped before it began
			}
			label := labels[cfg.ID()]
			mu.Lock()
			eta := "unknown"
			if finished > 0 {
				per := time.Since(start) / time.Duration(finished)
				eta = (per * time.Duration(len(todo)-finished) / time.Duration(par)).Round(time.Second).String()
			}
			logf("[run %d/%d] %s seed %d  elapsed %s  left ~%s\n", done+k+1, total, label, cfg.Seed,
				time.Since(start).Round(time.Second), eta)
			mu.Unlock()
			err := d.runOne(gctx, cfg, label, par, opt, logf)
			if err == nil {
				mu.Lock()
				finished++
				mu.Unlock()
			}
			return err
		})
	}
	err := g.Wait()
	os.Remove(d.join(RunningDir)) // only when empty: other tasks may share the folder
	if ctx.Err() != nil {
		return finished, fmt.Errorf("%w: %d of %s finished in %s; unfinished runs keep their checkpoints in %s; run the same command again to go on",
			train.ErrInterrupted, done+finished, plural.Count(total, "run", "runs"), d.path, d.CheckpointsDir())
	}
	return finished, err
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
		// The run's record goes into runs/; an interrupted run leaves its
		// checkpoint in checkpoints/<id>, and the next Run continues it.
		Files: func(train.Config) train.Files { return train.Files{Record: d.RecordPath(cfg), Interrupted: ck} }}
	// A resumed run goes on checkpointing where it resumed from (train.Run).
	ropt.Resume = d.resumeFrom(cfg, func(s string) { logf("%s%s\n", prefix, s) })
	unmark := d.markRunning(cfg)
	_, err := train.Run(ctx, cfg, ropt)
	unmark()
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

// SingleRun names the files of one run outside a study folder, as `regcl
// train --output CSV` writes them: the results CSV, and beside it the run's
// record <id>.json, its history <id>_history.csv, and the checkpoint of an
// interrupted run in interrupted/<id>. With csv empty only the last is
// written, under the current folder.
func SingleRun(csv string) func(train.Config) train.Files {
	return func(c train.Config) train.Files {
		if csv == "" {
			return train.Files{Interrupted: filepath.Join(InterruptedDir, c.ID())}
		}
		dir := filepath.Dir(csv)
		return train.Files{CSV: csv, Record: filepath.Join(dir, c.ID()+".json"),
			History: filepath.Join(dir, c.ID()+"_history.csv"), Interrupted: filepath.Join(dir, InterruptedDir, c.ID())}
	}
}

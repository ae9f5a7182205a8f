package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/mnist"
)

// RecordDir is the folder, under a study's output folder, holding one JSON
// record per finished run, named by the run's ID.
const RecordDir = "runs"

// RecordPath is where the record of cfg's run goes under out.
func RecordPath(out string, cfg Config) string {
	return filepath.Join(out, RecordDir, cfg.ID()+".json")
}

// ReadRecord reads one run record.
func ReadRecord(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.ID == "" || len(r.History) == 0 {
		return nil, fmt.Errorf("%s: not a finished run record", path)
	}
	return &r, nil
}

// ReadRecords reads every record under out/runs, in name order.
func ReadRecords(out string) ([]*Result, error) {
	paths, err := filepath.Glob(filepath.Join(out, RecordDir, "*.json"))
	if err != nil {
		return nil, err
	}
	var rs []*Result
	for _, p := range paths {
		r, err := ReadRecord(p)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// ManyOptions configures RunMany.
type ManyOptions struct {
	Data     *mnist.Data
	Device   device.Device
	Out      string    // records go to Out/runs/<id>.json
	Parallel int       // runs trained side by side on the device (≥ 1)
	Log      io.Writer // progress and epoch lines; nil for silence
	Live     bool      // Log is a terminal
}

// RunMany trains every configuration that has no record under opt.Out yet,
// writing each record atomically when its run finishes, so that a killed
// study started again goes on where it stopped. It prints a progress line
// (run i of N, method, seed, elapsed, estimated time left) before each run.
// It returns the number of runs trained.
func RunMany(ctx context.Context, cfgs []Config, opt ManyOptions) (int, error) {
	var todo []Config
	seen := map[string]bool{}
	for _, c := range cfgs {
		if err := c.Validate(); err != nil {
			return 0, fmt.Errorf("%s: %w", c.ID(), err)
		}
		if seen[c.ID()] {
			continue
		}
		seen[c.ID()] = true
		if _, err := ReadRecord(RecordPath(opt.Out, c)); err == nil {
			continue
		}
		todo = append(todo, c)
	}
	logf := func(format string, args ...any) {
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, format, args...)
		}
	}
	total := len(seen)
	done := total - len(todo)
	if done > 0 {
		logf("%d of %d runs already finished in %s: skipping them\n", done, total, opt.Out)
	}
	if len(todo) == 0 {
		return 0, nil
	}
	par := max(1, min(opt.Parallel, len(todo)))
	start := time.Now()
	var (
		mu       sync.Mutex
		next     int
		finished int
		firstErr error
		wg       sync.WaitGroup
	)
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= len(todo) || firstErr != nil || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				cfg := todo[next]
				next++
				i := done + next
				eta := "unknown"
				if finished > 0 {
					per := time.Since(start) / time.Duration(finished)
					eta = (per * time.Duration(len(todo)-finished) / time.Duration(par)).Round(time.Second).String()
				}
				logf("[run %d/%d] %s seed %d  elapsed %s  left ~%s\n", i, total, cfg.Method, cfg.Seed,
					time.Since(start).Round(time.Second), eta)
				mu.Unlock()
				prefix := ""
				if par > 1 {
					prefix = fmt.Sprintf("[%s s%d] ", cfg.Method, cfg.Seed)
				}
				// An interrupted run leaves a checkpoint here, and the next
				// RunMany continues it.
				ck := filepath.Join(opt.Out, "checkpoints", cfg.ID())
				ropt := Options{Data: opt.Data, Device: opt.Device, Log: opt.Log,
					Live: opt.Live && par == 1, Prefix: prefix, InterruptDir: ck, Warn: opt.Log}
				if _, _, err := LoadCheckpoint(ck, nil); err == nil {
					ropt.Resume = ck
				}
				unmark := markRunning(opt.Out, cfg)
				r, err := Run(ctx, cfg, ropt)
				unmark()
				if err == nil {
					err = WriteJSON(RecordPath(opt.Out, cfg), r)
				}
				if err == nil {
					os.RemoveAll(ck)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					if !errors.Is(err, ErrInterrupted) {
						err = fmt.Errorf("run %s: %w", cfg.ID(), err)
					}
					firstErr = err
				}
				if err == nil {
					finished++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	os.Remove(filepath.Join(opt.Out, RunningDir)) // only when empty: other tasks may share the folder
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("%w: %d of %d runs finished; run again with the same output folder to go on", ErrInterrupted, done+finished, total)
	}
	return finished, firstErr
}

// RunningDir holds a marker per run in progress: host, pid and start time.
const RunningDir = "running"

func markerPath(out string, cfg Config) string { return filepath.Join(out, RunningDir, cfg.ID()) }

// markRunning marks cfg's run as in progress and returns the function that
// removes the mark.
func markRunning(out string, cfg Config) func() {
	host, _ := os.Hostname()
	p := markerPath(out, cfg)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return func() {}
	}
	os.WriteFile(p, []byte(fmt.Sprintf("%s %d %s\n", host, os.Getpid(), time.Now().UTC().Format(time.RFC3339))), 0o644)
	return func() { os.Remove(p) }
}

// IsRunning reports whether cfg's run is marked in progress by a process
// that still lives (one on this host whose pid is gone left a stale mark;
// marks from other hosts are trusted).
func IsRunning(out string, cfg Config) bool {
	b, err := os.ReadFile(markerPath(out, cfg))
	if err != nil {
		return false
	}
	var host string
	var pid int
	if _, err := fmt.Sscan(string(b), &host, &pid); err != nil {
		return false
	}
	if me, _ := os.Hostname(); host == me {
		return syscall.Kill(pid, 0) == nil
	}
	return true
}

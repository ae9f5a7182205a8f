package study

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
	Data   *mnist.Data
	Device device.Device
	// Lanes bounds the runs of one group, trained together as the lanes of
	// one computation (train.RunGroup): 1 trains one run at a time; 0 (auto)
	// puts every run that can share a computation into one group, up to
	// device.MaxLanes.
	Lanes int
	// Parallel is the number of groups trained at once on the device (0
	// counts as 1).
	Parallel int
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
// yet, each record written atomically when its run finishes, so that a
// killed study started again goes on where it stopped.
//
// Runs that can share a computation are trained together, as the lanes of
// one group (train.RunGroup): runs of equal train.GroupKey (the network's
// shape, batch size, epochs, train size, validation split) that start from
// the same position (fresh, or resumed from checkpoints at the same epoch
// and step, train.PositionOf), at most opt.Lanes of them (0: as many as
// there are, up to device.MaxLanes). The study's six methods × 3 seeds
// make two groups: batch_norm's runs, and the rest. opt.Parallel groups
// train at once; the training data is uploaded to the device once and
// shared by them.
//
// Each run of a group is claimed first (Dir.Claim), so that processes
// sharing the folder (a compare started twice, overlapping shards of a
// sweep) train each run once: a run another live process holds is waited
// for or skipped (opt.WaitForClaimed), and a run whose claim is stale, its
// owner gone, is taken over and continues from its checkpoint. A run
// writes a checkpoint at the end of every epoch (removed when it finishes).
//
// Run says how many runs it skips, and prints a line before each group it
// trains ("[group 1/2] 15 runs: baseline, l1, …; seeds 1–3", elapsed,
// estimated time left). A run that fails on its own (its loss diverges)
// does not stop the others: the runs that failed are reported together at
// the end. An error of a whole group stops the other groups (they save
// checkpoints); Ctrl-C (ctx) does too, every run saving its checkpoint, and
// the error says how to go on. It returns the number of runs this process
// trained.
func (d *Dir) Run(ctx context.Context, cfgs []train.Config, opt RunOptions) (int, error) {
	if opt.Lanes < 0 || opt.Lanes > device.MaxLanes {
		return 0, fmt.Errorf("%d lanes: want 1..%d, or 0 for as many as can share a computation", opt.Lanes, device.MaxLanes)
	}
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
	if done := total - len(todo); done > 0 {
		logf("%d of %s already finished in %s: skipping %s\n", done, plural.Count(total, "run", "runs"), d.path, plural.Word(done, "it", "them"))
	}
	if len(todo) == 0 {
		return 0, nil
	}
	if opt.Device == nil || opt.Data == nil {
		return 0, fmt.Errorf("%s to train, but no device or no data to train %s on", plural.Count(len(todo), "run", "runs"), plural.Word(len(todo), "it", "them"))
	}
	lanes := opt.Lanes
	if lanes == 0 {
		lanes = device.MaxLanes
	}
	var keys []string
	for _, c := range todo {
		keys = append(keys, groupKey(c, d.peekCheckpoint(c)))
	}
	planned := countGroups(keys, lanes)
	par := max(1, min(opt.Parallel, planned))
	start := time.Now()
	q := &runQueue{d: d, pending: todo, wait: opt.WaitForClaimed, lanes: lanes, labels: labels, logf: logf, told: map[string]bool{}}

	// The training data goes to the device once, when the first group
	// starts, and serves every group.
	var (
		upMu   sync.Mutex
		shared *train.DeviceData
	)
	upload := func() (*train.DeviceData, error) {
		upMu.Lock()
		defer upMu.Unlock()
		if shared == nil {
			s, err := train.UploadData(opt.Device, opt.Data)
			if err != nil {
				return nil, err
			}
			shared = s
		}
		return shared, nil
	}
	defer func() {
		if shared != nil {
			shared.Close()
		}
	}()

	var (
		mu                sync.Mutex
		started, finished int // groups started, runs finished
		groupsDone        int
		failed            []error // runs that failed on their own
	)
	g, gctx := errgroup.WithContext(ctx)
	for range par {
		g.Go(func() error {
			for {
				grp, err := q.next(gctx)
				if err != nil || len(grp) == 0 {
					return err
				}
				mu.Lock()
				started++
				number := started
				eta := "unknown"
				if groupsDone > 0 {
					per := time.Since(start) / time.Duration(groupsDone)
					eta = (per * time.Duration(max(0, planned-groupsDone)) / time.Duration(par)).Round(time.Second).String()
				}
				logf("[group %d/%d] %s  elapsed %s  left ~%s\n", started, max(planned, started), describe(grp),
					time.Since(start).Round(time.Second), eta)
				mu.Unlock()
				for _, l := range grp {
					if l.claim.Stale != nil {
						logf("%s seed %d: taking over its claim from %s, which is gone\n", l.label, l.cfg.Seed, l.claim.Stale)
					}
				}
				data, err := upload()
				if err != nil {
					release(grp)
					return err
				}
				prefix := ""
				if par > 1 { // groups side by side: whose epoch line is whose
					prefix = fmt.Sprintf("[group %d] ", number)
				}
				n, errs, err := d.trainGroup(gctx, grp, data, opt, opt.Live && par == 1, prefix)
				mu.Lock()
				finished += n
				groupsDone++
				failed = append(failed, errs...)
				mu.Unlock()
				if err != nil {
					return err
				}
			}
		})
	}
	err := g.Wait()
	os.Remove(d.join(RunningDir)) // only when empty: other tasks may share the folder
	var lost error
	if len(failed) > 0 {
		lost = fmt.Errorf("%s failed (the others went on): %w", plural.Count(len(failed), "run", "runs"), errors.Join(failed...))
	}
	if ctx.Err() != nil {
		stop := fmt.Errorf("%w: %d of %s finished in %s; unfinished runs keep their checkpoints in %s; run the same command again to go on",
			train.ErrInterrupted, d.countDone(uniq), plural.Count(total, "run", "runs"), d.path, d.CheckpointsDir())
		if lost != nil {
			return finished, errors.Join(stop, lost)
		}
		return finished, stop
	}
	if err != nil {
		if lost != nil {
			return finished, errors.Join(err, lost)
		}
		return finished, err
	}
	if len(q.skipped) > 0 {
		logf("%d of %s %s being trained by other processes, and %s left to them\n", len(q.skipped), plural.Count(total, "run", "runs"),
			plural.Word(len(q.skipped), "is", "are"), plural.Word(len(q.skipped), "was", "were"))
	}
	if lost != nil {
		return finished, lost
	}
	return finished, nil
}

// groupKey is what the runs of one group share: the shape of the
// computation (train.GroupKey) and the position they start from (fresh, or
// a checkpoint's epoch and step).
func groupKey(cfg train.Config, ck *train.Checkpoint) string {
	pos := "fresh"
	if ck != nil {
		cfg = ck.Config
		pos = fmt.Sprint(train.PositionOf(ck))
	}
	return train.GroupKey(cfg) + " @ " + pos
}

// countGroups is how many groups of at most lanes runs the runs of the
// given group keys make.
func countGroups(keys []string, lanes int) int {
	n := map[string]int{}
	for _, k := range keys {
		n[k]++
	}
	groups := 0
	for _, c := range n {
		groups += (c + lanes - 1) / lanes
	}
	return groups
}

// lane is a run of a group: claimed, with the checkpoint it continues from.
type lane struct {
	cfg    train.Config // the run, as the study names it
	label  string
	claim  *Claim
	ck     *train.Checkpoint // nil for a fresh start
	resume string            // ck's folder
	key    string            // groupKey
}

// trains is the configuration the run trains: its checkpoint's, when it
// continues from one (the same run, under an older version's name maybe).
func (l *lane) trains() train.Config {
	if l.ck != nil {
		return l.ck.Config
	}
	return l.cfg
}

func release(grp []*lane) {
	for _, l := range grp {
		l.claim.Release()
	}
}

// trainGroup trains the runs of grp as the lanes of one group, writes each
// finished run's record and removes its checkpoints, and releases their
// claims. It returns the number of runs finished, the errors of the runs
// that failed on their own, and the error that stopped the whole group.
func (d *Dir) trainGroup(ctx context.Context, grp []*lane, data *train.DeviceData, opt RunOptions, live bool, prefix string) (int, []error, error) {
	defer release(grp)
	runs := make([]train.LaneRun, len(grp))
	for i, l := range grp {
		ck := d.CheckpointDir(l.cfg)
		runs[i] = train.LaneRun{Config: l.trains(), Checkpoint: l.ck, Label: fmt.Sprintf("%s seed %d", l.label, l.cfg.Seed),
			// A checkpoint at the end of every epoch, so that a killed
			// process loses at most an epoch: the process that takes over
			// the run's claim continues from it.
			CheckpointDir: ck,
			// The run's record goes into runs/; an interrupted run leaves
			// its checkpoint in checkpoints/<id>, and the next Run
			// continues it.
			Files: train.Files{Record: d.RecordPath(l.cfg), Interrupted: ck}}
	}
	res, err := train.RunGroup(ctx, runs, train.GroupOptions{Device: opt.Device, Data: opt.Data, Shared: data,
		Log: opt.Log, Live: live, Prefix: prefix, Warn: opt.Log})
	if err != nil {
		if errors.Is(err, train.ErrInterrupted) {
			return 0, nil, err
		}
		if len(grp) == 1 {
			l := grp[0]
			return 0, nil, fmt.Errorf("run %s (%s seed %d): %w", l.cfg.ID(), l.label, l.cfg.Seed, err)
		}
		return 0, nil, fmt.Errorf("the group of %s: %w", describe(grp), err)
	}
	if len(res) != len(grp) {
		return 0, nil, fmt.Errorf("the group of %s: %d results for %d runs", describe(grp), len(res), len(grp))
	}
	finished := 0
	var failed []error
	for i, r := range res {
		l := grp[i]
		switch {
		case r.Err == nil:
			ck := d.CheckpointDir(l.cfg)
			os.RemoveAll(ck)
			if l.resume != "" {
				os.RemoveAll(l.resume)
			}
			os.Remove(filepath.Dir(ck)) // only when empty
			finished++
		case errors.Is(r.Err, train.ErrInterrupted):
			// Its checkpoint is saved; Run's error says how to go on.
		default:
			failed = append(failed, fmt.Errorf("run %s (%s seed %d): %w", l.cfg.ID(), l.label, l.cfg.Seed, r.Err))
		}
	}
	return finished, failed, nil
}

// describe says which runs a group holds: "15 runs: baseline, l1, l2,
// dropout, elastic_net; seeds 1–3", "4 runs: baseline seeds 1–3, l1 seed 1",
// and where they resume.
func describe(grp []*lane) string {
	var labels []string
	seeds := map[string][]uint64{}
	for _, l := range grp {
		if _, ok := seeds[l.label]; !ok {
			labels = append(labels, l.label)
		}
		seeds[l.label] = append(seeds[l.label], l.cfg.Seed)
	}
	same := true
	for _, lb := range labels[1:] {
		if !slices.Equal(seeds[lb], seeds[labels[0]]) {
			same = false
		}
	}
	var s string
	if same && len(labels) > 1 {
		s = strings.Join(labels, ", ") + "; " + seedText(seeds[labels[0]])
	} else {
		var parts []string
		for _, lb := range labels {
			parts = append(parts, lb+" "+seedText(seeds[lb]))
		}
		s = strings.Join(parts, ", ")
	}
	if ck := grp[0].ck; ck != nil {
		if ck.EpochStep == 0 {
			s += fmt.Sprintf(", resuming after epoch %d", ck.Epoch)
		} else {
			s += fmt.Sprintf(", resuming at epoch %d, step %d", ck.Epoch+1, ck.EpochStep)
		}
	}
	return plural.Count(len(grp), "run", "runs") + ": " + s
}

// seedText is "seed 4", or "seeds 1–3", "seeds 1, 3, 5–7".
func seedText(s []uint64) string {
	s = slices.Clone(s)
	slices.Sort(s)
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		p := strconv.FormatUint(s[i], 10)
		if j > i {
			p += "–" + strconv.FormatUint(s[j], 10)
		}
		parts = append(parts, p)
		i = j + 1
	}
	return plural.Word(len(s), "seed", "seeds") + " " + strings.Join(parts, ", ")
}

// runQueue hands out the runs of a Run, claimed, in groups.
type runQueue struct {
	d       *Dir
	mu      sync.Mutex
	pending []train.Config // neither recorded, nor handed out, nor skipped
	skipped []train.Config // claimed elsewhere (without wait)
	wait    bool
	lanes   int // the most runs of a group
	labels  map[string]string
	logf    func(string, ...any)
	told    map[string]bool // runs whose owner was named in the log
}

// next claims the next group to train and returns it; no group (and no
// error) means that there is none left for this worker. With wait set it
// looks again, every ClaimPoll, at the runs that other processes hold.
func (q *runQueue) next(ctx context.Context) ([]*lane, error) {
	for ctx.Err() == nil {
		grp, left, err := q.claimGroup()
		if err != nil || len(grp) > 0 {
			return grp, err
		}
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(ClaimPoll):
		}
	}
	return nil, nil
}

// claimGroup goes through the pending runs in order, dropping those
// recorded meanwhile: the first it can claim starts a group, and every
// later one of the same group key that it can claim joins it, up to
// q.lanes runs. A run is claimed before its checkpoint is read (the
// position it starts from); one whose position differs from the group's is
// let go again, for a later group. left is how many runs remain pending.
func (q *runQueue) claimGroup() (grp []*lane, left int, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var keep []train.Config
	for i, cfg := range q.pending {
		if len(grp) == q.lanes {
			keep = append(keep, q.pending[i:]...)
			break
		}
		label := q.labels[cfg.ID()]
		if q.d.Done(cfg) {
			if q.told[cfg.ID()] {
				q.logf("%s seed %d: finished by another process\n", label, cfg.Seed)
			}
			continue
		}
		if len(grp) > 0 && train.GroupKey(cfg) != train.GroupKey(grp[0].trains()) {
			keep = append(keep, cfg) // cannot join: not worth a claim
			continue
		}
		c, err := q.d.Claim(cfg)
		if err != nil {
			release(grp)
			return nil, 0, err
		}
		if c.Held && q.d.Done(cfg) { // finished and released between the two looks
			c.Release()
			continue
		}
		if c.Held {
			l, err := q.d.openLane(cfg, label, &c, q.logf)
			if err != nil {
				c.Release()
				release(grp)
				return nil, 0, err
			}
			if len(grp) > 0 && l.key != grp[0].key {
				c.Release() // resumes from elsewhere: a later group's
				keep = append(keep, cfg)
				continue
			}
			grp = append(grp, l)
			continue
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
	return grp, len(keep), nil
}

// openLane makes the claimed run cfg a lane: it finds the checkpoint the
// run continues from, if any (resumeFrom), and opens it.
func (d *Dir) openLane(cfg train.Config, label string, c *Claim, logf func(string, ...any)) (*lane, error) {
	l := &lane{cfg: cfg, label: label, claim: c}
	l.resume = d.resumeFrom(cfg, func(s string) { logf("%s\n", s) })
	if l.resume != "" {
		ck, err := train.OpenCheckpoint(l.resume, func(s string) { logf("%s\n", s) })
		if err != nil {
			return nil, fmt.Errorf("run %s (%s seed %d): %w", cfg.ID(), label, cfg.Seed, err)
		}
		l.ck = ck
	}
	l.key = groupKey(cfg, l.ck)
	return l, nil
}

// peekCheckpoint opens the checkpoint cfg's run would continue from, for
// planning only: the run is not claimed, and nothing is moved.
func (d *Dir) peekCheckpoint(cfg train.Config) *train.Checkpoint {
	for _, dir := range []string{d.CheckpointDir(cfg), d.legacyCheckpoint(cfg.ID())} {
		if dir == "" {
			continue
		}
		if ck, err := train.OpenCheckpoint(dir, nil); err == nil {
			return ck
		}
	}
	return nil
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

package study

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/mnist/mnisttest"
	"github.com/regcl/regcl/model"
	"github.com/regcl/regcl/train"
)

// queue is a runQueue over cfgs with groups of at most lanes runs, logging
// into log.
func queue(d *Dir, cfgs []train.Config, lanes int, log *syncBuffer) *runQueue {
	labels := map[string]string{}
	for i, l := range train.StudyLabels(cfgs) {
		labels[cfgs[i].ID()] = l
	}
	return &runQueue{d: d, pending: cfgs, lanes: lanes, labels: labels, told: map[string]bool{},
		logf: func(f string, a ...any) { fmt.Fprintf(log, f, a...) }}
}

// groups claims every group q hands out, in order, and lets them go.
func groups(t *testing.T, q *runQueue) [][]*lane {
	t.Helper()
	var out [][]*lane
	for {
		g, _, err := q.claimGroup()
		if err != nil {
			t.Fatal(err)
		}
		if len(g) == 0 {
			return out
		}
		for _, l := range g {
			if !l.claim.Held {
				t.Errorf("%s seed %d is in a group unclaimed", l.label, l.cfg.Seed)
			}
		}
		out = append(out, g)
	}
}

func releaseAll(gs [][]*lane) {
	for _, g := range gs {
		release(g)
	}
}

func sizes(gs [][]*lane) []int {
	var n []int
	for _, g := range gs {
		n = append(n, len(g))
	}
	return n
}

// TestGroupDefaultStudy: the study's six methods × 3 seeds make two
// groups, batch_norm's three runs and the other fifteen (all but the
// network's BatchNorm agree), with auto lanes; each run in exactly one.
func TestGroupDefaultStudy(t *testing.T) {
	cfgs := configs(t, model.Methods, 3)
	var keys []string
	for _, c := range cfgs {
		keys = append(keys, groupKey(c, nil))
	}
	if n := countGroups(keys, device.MaxLanes); n != 2 {
		t.Errorf("the default study plans %d groups, want 2", n)
	}
	d := Open(t.TempDir())
	var log syncBuffer
	gs := groups(t, queue(d, cfgs, device.MaxLanes, &log))
	defer releaseAll(gs)
	if fmt.Sprint(sizes(gs)) != "[15 3]" {
		t.Fatalf("groups of %v runs, want [15 3]", sizes(gs))
	}
	for _, l := range gs[1] {
		if !l.cfg.Model.BatchNorm {
			t.Errorf("%s is in the BatchNorm group", l.label)
		}
	}
	seen := map[string]int{}
	for _, g := range gs {
		for _, l := range g {
			seen[l.cfg.ID()]++
		}
	}
	for _, c := range cfgs {
		if seen[c.ID()] != 1 {
			t.Errorf("%s seed %d is in %d groups", c.Label(), c.Seed, seen[c.ID()])
		}
	}
	if got, want := describe(gs[0]), "15 runs: baseline+hidden=32, l1+hidden=32, l2+hidden=32, dropout+hidden=32, elastic_net+hidden=32; seeds 1–3"; got != want {
		t.Errorf("describe: %q, want %q", got, want)
	}
}

// TestGroupLanesBound: --lanes bounds a group; runs fill groups in the
// study's order, and the plan counts the groups the queue hands out.
func TestGroupLanesBound(t *testing.T) {
	cfgs := configs(t, model.Methods, 3)
	for _, c := range []struct {
		lanes int
		want  string
	}{{1, "[1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1]"}, {4, "[4 4 4 3 3]"}, {15, "[15 3]"}, {16, "[15 3]"}, {14, "[14 3 1]"}} {
		var keys []string
		for _, cfg := range cfgs {
			keys = append(keys, groupKey(cfg, nil))
		}
		d := Open(t.TempDir())
		var log syncBuffer
		gs := groups(t, queue(d, cfgs, c.lanes, &log))
		releaseAll(gs)
		if got := fmt.Sprint(sizes(gs)); got != c.want {
			t.Errorf("lanes %d: groups of %s runs, want %s", c.lanes, got, c.want)
		}
		if n := countGroups(keys, c.lanes); n != len(gs) {
			t.Errorf("lanes %d: %d groups planned, %d made", c.lanes, n, len(gs))
		}
		if c.lanes == 4 {
			if got, want := describe(gs[0]), "4 runs: baseline+hidden=32 seeds 1–3, l1+hidden=32 seed 1"; got != want {
				t.Errorf("describe: %q, want %q", got, want)
			}
			if got, want := describe(gs[4]), "3 runs: elastic_net+hidden=32 seeds 1–3"; got != want {
				t.Errorf("describe: %q, want %q", got, want)
			}
		}
	}
	if got := seedText([]uint64{7, 1, 3, 2, 5, 6}); got != "seeds 1–3, 5–7" {
		t.Errorf("seedText: %q", got)
	}
	if got := seedText([]uint64{4}); got != "seed 4" {
		t.Errorf("seedText: %q", got)
	}
}

// TestGroupKeyParts: runs that differ in a per-lane setting (seed, L1, L2,
// dropout rate, learning rate) share a group; runs that differ in the
// shape of the computation do not.
func TestGroupKeyParts(t *testing.T) {
	base, err := train.NewConfig("baseline", quick, 1)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(preset string, o train.Overrides, seed uint64) train.Config {
		if o.TrainSize == nil {
			o.TrainSize = quick.TrainSize
		}
		if o.Epochs == nil {
			o.Epochs = quick.Epochs
		}
		o.Hidden = quick.Hidden
		c, err := train.NewConfig(preset, o, seed)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	same := []train.Config{mk("baseline", train.Overrides{}, 2), mk("l1", train.Overrides{}, 1), mk("dropout", train.Overrides{}, 1),
		mk("baseline", train.Overrides{LR: ptr(0.01)}, 1), mk("elastic_net", train.Overrides{}, 5)}
	for _, c := range same {
		if groupKey(c, nil) != groupKey(base, nil) {
			t.Errorf("%s seed %d does not share a group with %s", c.Label(), c.Seed, base.Label())
		}
	}
	apart := []train.Config{mk("batch_norm", train.Overrides{}, 1), mk("baseline", train.Overrides{BatchSize: ptr(64)}, 1),
		mk("baseline", train.Overrides{Epochs: ptr(3)}, 1), mk("baseline", train.Overrides{TrainSize: ptr(700)}, 1),
		mk("baseline", train.Overrides{ValidationSplit: ptr(0.2)}, 1)}
	h := mk("baseline", train.Overrides{}, 1)
	h.Model.Hidden = []int{33}
	apart = append(apart, h)
	for _, c := range apart {
		if groupKey(c, nil) == groupKey(base, nil) {
			t.Errorf("%s shares a group with %s", c.Label(), base.Label())
		}
	}
}

// TestGroupHeldRun: a run another process holds joins no group (it is
// skipped, or kept pending to wait for), and its claim stays its owner's.
func TestGroupHeldRun(t *testing.T) {
	cfgs := configs(t, []string{"baseline", "l1"}, 2)
	for _, wait := range []bool{false, true} {
		d := Open(t.TempDir())
		held, err := d.Claim(cfgs[1])
		if err != nil || !held.Held {
			t.Fatalf("%+v, %v", held, err)
		}
		var log syncBuffer
		q := queue(d, cfgs, device.MaxLanes, &log)
		q.wait = wait
		g, left, err := q.claimGroup()
		if err != nil {
			t.Fatal(err)
		}
		if len(g) != 3 {
			t.Errorf("wait %v: a group of %d runs, want the 3 not held", wait, len(g))
		}
		for _, l := range g {
			if l.cfg.ID() == cfgs[1].ID() {
				t.Errorf("wait %v: the held run is in the group", wait)
			}
		}
		if wait && (left != 1 || len(q.skipped) != 0) || !wait && (left != 0 || len(q.skipped) != 1) {
			t.Errorf("wait %v: %d left pending, %d skipped", wait, left, len(q.skipped))
		}
		if o, ok := d.Claimed(cfgs[1]); !ok || o.Token == "" {
			t.Errorf("wait %v: the held run's claim is gone", wait)
		}
		release(g)
		held.Release()
	}
}

// TestGroupRun: a Run of the default study (small runs) trains two groups,
// one line each, and records every run.
func TestGroupRun(t *testing.T) {
	data := mnisttest.Real(t)
	d := Open(t.TempDir())
	cfgs := configs(t, model.Methods, 3)
	var log syncBuffer
	n, err := d.Run(context.Background(), cfgs, RunOptions{Data: data, Device: cpu.Device{}, Log: &log})
	out := log.String()
	t.Logf("\n%s", out)
	if err != nil || n != len(cfgs) {
		t.Fatalf("Run: %d trained, %v", n, err)
	}
	for _, c := range cfgs {
		if !d.Done(c) {
			t.Errorf("%s seed %d is not done", c.Label(), c.Seed)
		}
	}
	if n := strings.Count(out, "[group "); n != 2 {
		t.Errorf("%d group lines, want 2", n)
	}
	for _, want := range []string{"[group 1/2] 15 runs: baseline+hidden=32, l1+hidden=32, l2+hidden=32, dropout+hidden=32, elastic_net+hidden=32; seeds 1–3  elapsed",
		"[group 2/2] 3 runs: batch_norm+hidden=32 seeds 1–3  elapsed"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	if _, err := os.Stat(d.CheckpointsDir()); err == nil {
		t.Error("checkpoints/ is left behind")
	}
}

// TestGroupClaimedOnce: two Runs of one study side by side on one folder
// (two processes, as far as the claims go) train every run once between
// them, however they split the groups.
func TestGroupClaimedOnce(t *testing.T) {
	data := mnisttest.Real(t)
	d := Open(t.TempDir())
	cfgs := configs(t, []string{"baseline", "l2", "batch_norm"}, 2)
	var (
		logs [2]syncBuffer
		ns   [2]int
		errs [2]error
		wg   sync.WaitGroup
	)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns[i], errs[i] = d.Run(context.Background(), cfgs, RunOptions{Data: data, Device: cpu.Device{}, Log: &logs[i]})
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("Run %d: %v\n%s", i, errs[i], logs[i].String())
		}
		t.Logf("Run %d trained %d:\n%s", i, ns[i], logs[i].String())
	}
	if ns[0]+ns[1] != len(cfgs) {
		t.Errorf("%d + %d runs trained, want %d in all: a run trained twice, or not at all", ns[0], ns[1], len(cfgs))
	}
	for _, c := range cfgs {
		if !d.Done(c) {
			t.Errorf("%s seed %d is not done", c.Label(), c.Seed)
		}
	}
}

// TestGroupResumedApart: runs that resume from checkpoints at different
// positions train in different groups (a run interrupted after its first
// epoch, and two fresh ones of the same shape).
func TestGroupResumedApart(t *testing.T) {
	data := mnisttest.Real(t)
	d := Open(t.TempDir())
	cfgs := configs(t, []string{"l1"}, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := syncBuffer{on: func(s string) {
		if strings.Contains(strings.ToLower(s), "epoch 1/2") {
			cancel()
		}
	}}
	if _, err := d.Run(ctx, cfgs[:1], RunOptions{Data: data, Device: cpu.Device{}, Log: &log}); !errors.Is(err, train.ErrInterrupted) {
		t.Fatalf("interrupted Run: %v\n%s", err, log.String())
	}
	ck := d.peekCheckpoint(cfgs[0])
	if ck == nil {
		t.Fatalf("no checkpoint left:\n%s", log.String())
	}
	if groupKey(cfgs[0], ck) == groupKey(cfgs[1], nil) {
		t.Fatalf("a resumed run and a fresh one have one group key, %q", groupKey(cfgs[0], ck))
	}
	var qlog syncBuffer
	gs := groups(t, queue(d, cfgs, device.MaxLanes, &qlog))
	releaseAll(gs)
	if got := fmt.Sprint(sizes(gs)); got != "[1 2]" || gs[0][0].ck == nil || gs[1][0].ck != nil || gs[1][1].ck != nil {
		t.Fatalf("groups of %s runs, want [1 2]: the resumed run alone", got)
	}

	log = syncBuffer{}
	n, err := d.Run(context.Background(), cfgs, RunOptions{Data: data, Device: cpu.Device{}, Log: &log})
	out := log.String()
	t.Logf("\n%s", out)
	if err != nil || n != 3 {
		t.Fatalf("Run: %d trained, %v", n, err)
	}
	for _, want := range []string{"[group 1/2] 1 run: l1+hidden=32 seed 1, resuming", "[group 2/2] 2 runs: l1+hidden=32 seeds 2–3"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
}

// TestRunLanesBound: a Run refuses lanes outside 0..device.MaxLanes before
// it trains anything.
func TestRunLanesBound(t *testing.T) {
	d := Open(t.TempDir())
	cfgs := configs(t, []string{"l1"}, 1)
	for _, n := range []int{-1, device.MaxLanes + 1} {
		if _, err := d.Run(context.Background(), cfgs, RunOptions{Lanes: n}); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d lanes: want 1..%d", n, device.MaxLanes)) {
			t.Errorf("lanes %d: %v", n, err)
		}
	}
	for _, n := range []int{0, 1, device.MaxLanes} { // nothing to train: no error
		if _, err := d.Run(context.Background(), nil, RunOptions{Lanes: n}); err != nil {
			t.Errorf("lanes %d refused: %v", n, err)
		}
	}
}

// TestGroupLaneDiverges: a run whose loss diverges stops alone; the other
// runs of its group finish and are recorded, and Run's error names the run
// that failed.
func TestGroupLaneDiverges(t *testing.T) {
	data := mnisttest.Real(t)
	d := Open(t.TempDir())
	cfgs := configs(t, []string{"l1", "l2"}, 1)
	o := quick
	o.LR = ptr(1e20) // float32 weights overflow within a few steps
	bad, err := train.NewConfig("l1", o, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfgs = append(cfgs, bad)
	var log syncBuffer
	n, err := d.Run(context.Background(), cfgs, RunOptions{Data: data, Device: cpu.Device{}, Log: &log})
	t.Logf("%v\n%s", err, log.String())
	if strings.Count(log.String(), "[group ") != 1 {
		t.Errorf("the three runs did not train as one group")
	}
	if n != 2 || !d.Done(cfgs[0]) || !d.Done(cfgs[1]) || d.Done(bad) {
		t.Errorf("%d runs trained; want the two that did not diverge", n)
	}
	if err == nil || !strings.Contains(err.Error(), "1 run failed (the others went on)") || !strings.Contains(err.Error(), bad.ID()) ||
		strings.Contains(err.Error(), cfgs[0].ID()) {
		t.Errorf("Run's error does not name the diverged run (and it alone): %v", err)
	}
	var div *train.DivergedError
	if !errors.As(err, &div) || errors.Is(err, train.ErrInterrupted) {
		t.Errorf("Run's error is not the run's divergence: %v", err)
	}
}

// TestGroupInterrupted: Ctrl-C in a group of three runs leaves every run's
// checkpoint, at one position; the error says how to go on, and the next
// Run continues the three as one group.
func TestGroupInterrupted(t *testing.T) {
	data := mnisttest.Real(t)
	d := Open(t.TempDir())
	cfgs := configs(t, []string{"l1", "dropout"}, 2)[:3]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := syncBuffer{on: func(s string) {
		if strings.HasPrefix(s, "epoch 1/2 ") {
			cancel()
		}
	}}
	n, err := d.Run(ctx, cfgs, RunOptions{Data: data, Device: cpu.Device{}, Log: &log})
	t.Logf("%v\n%s", err, log.String())
	if !errors.Is(err, train.ErrInterrupted) || n != 0 || !strings.Contains(err.Error(), "0 of 3 runs finished") || !strings.Contains(err.Error(), "run the same command again") {
		t.Fatalf("interrupted Run: %d trained, %v", n, err)
	}
	var pos []string
	for _, c := range cfgs {
		ck := d.peekCheckpoint(c)
		if ck == nil {
			t.Fatalf("%s seed %d has no checkpoint", c.Label(), c.Seed)
		}
		pos = append(pos, fmt.Sprint(train.PositionOf(ck)))
	}
	if pos[0] != pos[1] || pos[0] != pos[2] {
		t.Errorf("the checkpoints stand at %v, want one position", pos)
	}
	log = syncBuffer{}
	n, err = d.Run(context.Background(), cfgs, RunOptions{Data: data, Device: cpu.Device{}, Log: &log})
	t.Logf("\n%s", log.String())
	if err != nil || n != 3 || !strings.Contains(log.String(), "[group 1/1] 3 runs: l1+hidden=32 seeds 1–2, dropout+hidden=32 seed 1, resuming") {
		t.Errorf("resumed Run: %d trained, %v", n, err)
	}
}

package train

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/device/opencl"
	"github.com/regcl/regcl/mnist/mnisttest"
	"github.com/regcl/regcl/model"
)

// Tests of groups: runs trained as the lanes of one backend must give each
// run's results as it gives them trained alone, on the same backend, bit
// for bit. Small runs (600 images: 540 train in 9 steps of 64, the last of
// 28; 60 validate; 2 epochs) keep them fast.

// laneConfigs is a group mixing seeds (two lanes share one), penalties,
// dropout rates and learning rates; with batchNorm every lane has BatchNorm.
func laneConfigs(t *testing.T, batchNorm bool) []Config {
	t.Helper()
	mk := func(preset string, o Overrides, seed uint64) Config {
		o.Hidden, o.TrainSize, o.Epochs, o.BatchSize = []int{32, 16}, num(600), num(2), num(64)
		o.BatchNorm = flag(batchNorm)
		c, err := NewConfig(preset, o, seed)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return []Config{
		mk("baseline", Overrides{}, 1),
		mk("l1", Overrides{L1: f64(1e-3)}, 2),
		mk("l2", Overrides{L2: f64(1e-3), Dropout: f64(0.3)}, 3),
		mk("dropout", Overrides{Dropout: f64(0.5), LR: f64(3e-3)}, 1),
		mk("elastic_net", Overrides{L1: f64(1e-4), L2: f64(1e-3), Dropout: f64(0.2)}, 4),
	}
}

// groupOutcome is what a run leaves: its result (or error), and its model
// file and last checkpoint, read back from disk.
type groupOutcome struct {
	res   LaneResult
	model *model.File
	ckpt  *model.File
}

// runGroups trains cfgs on dev in groups (each a slice of indices into
// cfgs), every run saving its model and checkpointing into a folder of its
// own under dir, and returns each run's outcome in cfgs' order.
func runGroups(t *testing.T, ctx context.Context, dev device.Device, shared *DeviceData, cfgs []Config, groups [][]int, dir string, log *bytes.Buffer) []groupOutcome {
	t.Helper()
	out := make([]groupOutcome, len(cfgs))
	for gi, g := range groups {
		runs := make([]LaneRun, len(g))
		for i, l := range g {
			d := filepath.Join(dir, fmt.Sprintf("g%d-run%d", gi, l))
			runs[i] = LaneRun{Config: cfgs[l], Save: filepath.Join(d, "model.regcl"), CheckpointDir: d,
				Files: Files{CSV: filepath.Join(dir, "results.csv")}}
		}
		opt := GroupOptions{Device: dev, Shared: shared}
		if log != nil {
			opt.Log = log
		}
		res, err := RunGroup(ctx, runs, opt)
		if err != nil {
			t.Fatalf("group %d: %v", gi, err)
		}
		for i, l := range g {
			o := groupOutcome{res: res[i]}
			if res[i].Err == nil {
				var err error
				if o.model, err = model.ReadFile(runs[i].Save); err != nil {
					t.Fatal(err)
				}
				if o.ckpt, _, err = LoadCheckpoint(runs[i].CheckpointDir, nil); err != nil {
					t.Fatal(err)
				}
			}
			out[l] = o
		}
	}
	return out
}

// sameOutcome fails t unless a and b (runs of one configuration) have the
// same history (every epoch's loss and accuracies, timings aside), test
// figures and tensors (weights, BatchNorm statistics, Adam moments), bit
// for bit.
func sameOutcome(t *testing.T, what string, a, b groupOutcome) {
	t.Helper()
	if a.res.Err != nil || b.res.Err != nil {
		t.Fatalf("%s: errors %v and %v", what, a.res.Err, b.res.Err)
	}
	ra, rb := a.res.Result, b.res.Result
	if len(ra.History) != len(rb.History) || len(ra.History) == 0 {
		t.Fatalf("%s: %d and %d epochs", what, len(ra.History), len(rb.History))
	}
	for i := range ra.History {
		x, y := ra.History[i], rb.History[i]
		x.Seconds, x.TrainSeconds, y.Seconds, y.TrainSeconds = 0, 0, 0, 0
		if x != y {
			t.Errorf("%s: epoch %d: %+v, alone %+v", what, i+1, x, y)
		}
	}
	if math.Float64bits(ra.TestLoss) != math.Float64bits(rb.TestLoss) || ra.TestAccuracy != rb.TestAccuracy {
		t.Errorf("%s: test %v / %v, alone %v / %v", what, ra.TestLoss, ra.TestAccuracy, rb.TestLoss, rb.TestAccuracy)
	}
	if ra.Weights.NearZero != rb.Weights.NearZero || !slices.Equal(ra.Weights.Hist, rb.Weights.Hist) {
		t.Errorf("%s: weight statistics %+v, alone %+v", what, ra.Weights, rb.Weights)
	}
	for _, f := range [][2]*model.File{{a.model, b.model}, {a.ckpt, b.ckpt}} {
		if len(f[0].Tensors) != len(f[1].Tensors) {
			t.Fatalf("%s: %d and %d tensors", what, len(f[0].Tensors), len(f[1].Tensors))
		}
		for i, x := range f[0].Tensors {
			y := f[1].Tensors[i]
			if x.Name != y.Name || !slices.EqualFunc(x.Data, y.Data, func(p, q float32) bool { return math.Float32bits(p) == math.Float32bits(q) }) {
				t.Errorf("%s: %s %s differs from the run's alone", what, f[0].Kind, x.Name)
			}
		}
	}
}

// lanesIdentical trains laneConfigs as one group and each alone, on dev.
func lanesIdentical(t *testing.T, dev device.Device) {
	data := mnisttest.Real(t)
	shared, err := UploadData(dev, data)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	for _, bn := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch_norm=%v", bn), func(t *testing.T) {
			cfgs := laneConfigs(t, bn)
			all := make([]int, len(cfgs))
			var alone [][]int
			for i := range all {
				all[i] = i
				alone = append(alone, []int{i})
			}
			var log bytes.Buffer
			group := runGroups(t, t.Context(), dev, shared, cfgs, [][]int{all}, t.TempDir(), &log)
			solo := runGroups(t, t.Context(), dev, shared, cfgs, alone, t.TempDir(), nil)
			for i, c := range cfgs {
				sameOutcome(t, fmt.Sprintf("lane %d (%s seed %d)", i, c.Label(), c.Seed), group[i], solo[i])
			}
			// Each record says how many runs shared its epochs' time.
			for i := range cfgs {
				if g, s := group[i].res.Result.Lanes, solo[i].res.Result.Lanes; g != len(cfgs) || s != 1 {
					t.Errorf("lane %d: record's Lanes %d in the group and %d alone, want %d and 1", i, g, s, len(cfgs))
				}
			}
			// The lanes differ (a group that computed one run five times would pass the above).
			for i := 1; i < len(cfgs); i++ {
				if group[i].res.Result.History[0].Loss == group[0].res.Result.History[0].Loss {
					t.Errorf("lanes 0 and %d have the same first-epoch loss", i)
				}
			}
			// One summary line per epoch and one for the test.
			lines := strings.Split(strings.TrimSpace(log.String()), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "epoch 1/2  5 runs  loss ") || !strings.HasPrefix(lines[2], "test  5 runs  test_loss ") {
				t.Errorf("the group printed %q; want one line per epoch and one for the test", lines)
			}
			t.Logf("%s", log.String())
		})
	}
}

// TestLanesIdenticalCPU: every lane of a group equals its run alone, on
// the gonum backend.
func TestLanesIdenticalCPU(t *testing.T) { lanesIdentical(t, cpu.Device{}) }

// TestLanesIdenticalOpenCL: the same on OpenCL (PoCL in CI).
func TestLanesIdenticalOpenCL(t *testing.T) { lanesIdentical(t, openCLDevice(t)) }

// TestLanesIdenticalOpenCLGPUVariant: the same with the kernels' GPU
// variant built on this device.
func TestLanesIdenticalOpenCLGPUVariant(t *testing.T) {
	first := openCLDevice(t)
	d, err := opencl.OpenTuned(first.Info, opencl.VariantTuning(first.Info, false))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	lanesIdentical(t, d)
}

// cancelDevice hands out backends that cancel a context at the at-th
// GatherRows of all of them: a stop at a chosen point of training.
type cancelDevice struct {
	device.Device
	at     int64
	n      atomic.Int64
	cancel func()
}

func (d *cancelDevice) NewBackend(lanes int) (device.Backend, error) {
	be, err := d.Device.NewBackend(lanes)
	if err != nil {
		return nil, err
	}
	return &cancelBackend{Backend: be, d: d}, nil
}

type cancelBackend struct {
	device.Backend
	d *cancelDevice
}

func (c *cancelBackend) GatherRows(dst, src, idx device.Buffer, idxOff, rows, cols int) {
	if c.d.n.Add(1) == c.d.at {
		c.d.cancel()
	}
	c.Backend.GatherRows(dst, src, idx, idxOff, rows, cols)
}

// TestLanesResume: a group stopped in the middle of its second epoch saves
// every run's checkpoint and says where; the runs resumed from them, as a
// group again, finish bit-identical to the group never stopped.
func TestLanesResume(t *testing.T) { lanesResume(t, cpu.Device{}) }

// TestLanesResumeOpenCL: the same on OpenCL (PoCL in CI).
func TestLanesResumeOpenCL(t *testing.T) { lanesResume(t, openCLDevice(t)) }

func lanesResume(t *testing.T, dev device.Device) {
	data := mnisttest.Real(t)
	shared, err := UploadData(dev, data)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	cfgs := laneConfigs(t, true)
	ref := runGroups(t, t.Context(), dev, shared, cfgs, [][]int{{0, 1, 2, 3, 4}}, t.TempDir(), nil)

	// Epoch 1 gathers 9 training batches and 1 validation chunk; the 14th
	// gather is step 4 of epoch 2, after which the group stops.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stop := &cancelDevice{Device: dev, at: 14, cancel: cancel}
	dir := t.TempDir()
	runs := make([]LaneRun, 5)
	for l := range runs {
		runs[l] = LaneRun{Config: cfgs[l], CheckpointDir: filepath.Join(dir, fmt.Sprint(l)),
			ResumeHint: func(d string) string { return "regcl train --resume " + d }}
	}
	res, err := RunGroup(ctx, runs, GroupOptions{Device: stop, Shared: shared})
	if err != nil {
		t.Fatal(err)
	}
	var cks []*Checkpoint
	for l, r := range res {
		if !errors.Is(r.Err, ErrInterrupted) || r.Result != nil {
			t.Fatalf("lane %d: %v, want ErrInterrupted", l, r.Err)
		}
		msg := r.Err.Error()
		if !strings.Contains(msg, "at epoch 2, step 4 of 9") || !strings.Contains(msg, "continue with: regcl train --resume "+runs[l].CheckpointDir) {
			t.Errorf("lane %d: %q; want the position and the resume hint", l, msg)
		}
		ck, err := OpenCheckpoint(runs[l].CheckpointDir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(msg, ck.Path) || ck.Config.ID() != cfgs[l].ID() {
			t.Errorf("lane %d: the message %q does not name the checkpoint %s, or it holds another run", l, msg, ck.Path)
		}
		if p := PositionOf(ck); p != (Position{Epoch: 1, EpochStep: 4}) {
			t.Fatalf("lane %d stopped at %+v, want epoch 1 done and 4 steps of the next", l, p)
		}
		cks = append(cks, ck)
	}
	// Resumed as a group (on the plain device), with folders of their own
	// for the model files.
	res2dir := t.TempDir()
	for l := range runs {
		runs[l].Checkpoint = cks[l]
		runs[l].Save = filepath.Join(res2dir, fmt.Sprintf("m%d.regcl", l))
	}
	res, err = RunGroup(t.Context(), runs, GroupOptions{Device: dev, Shared: shared})
	if err != nil {
		t.Fatal(err)
	}
	for l, r := range res {
		o := groupOutcome{res: r}
		if r.Err == nil {
			if o.model, err = model.ReadFile(runs[l].Save); err != nil {
				t.Fatal(err)
			}
			if o.ckpt, _, err = LoadCheckpoint(runs[l].CheckpointDir, nil); err != nil {
				t.Fatal(err)
			}
		}
		sameOutcome(t, fmt.Sprintf("lane %d resumed", l), o, ref[l])
	}
	// Runs at different positions are not one group: a fresh run beside
	// the resumed ones is refused, saying where each stands.
	fresh := cfgs[0].clone()
	fresh.Seed = 9
	runs = append(runs, LaneRun{Config: fresh})
	if _, err := RunGroup(t.Context(), runs, GroupOptions{Device: dev, Shared: shared}); err == nil || !strings.Contains(err.Error(), "one position") {
		t.Errorf("a fresh run in a group of resumed ones: %v", err)
	}
}

// TestLaneDiverges: a lane whose learning rate blows its weights up stops
// alone, with an error naming its epoch and step and a line in the log;
// the others finish, bit-identical to their runs alone, and only they
// reach the results CSV.
func TestLaneDiverges(t *testing.T) { laneDiverges(t, cpu.Device{}) }

// TestLaneDivergesOpenCL: the same on OpenCL (PoCL in CI): a lane's NaNs
// stay in its lane.
func TestLaneDivergesOpenCL(t *testing.T) { laneDiverges(t, openCLDevice(t)) }

func laneDiverges(t *testing.T, dev device.Device) {
	data := mnisttest.Real(t)
	shared, err := UploadData(dev, data)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	cfgs := laneConfigs(t, false)[:3]
	cfgs[1].LR = 1e20 // float32 weights overflow within a few steps
	dir := t.TempDir()
	var log bytes.Buffer
	group := runGroups(t, t.Context(), dev, shared, cfgs, [][]int{{0, 1, 2}}, dir, &log)
	solo := runGroups(t, t.Context(), dev, shared, cfgs, [][]int{{0}, {2}}, t.TempDir(), nil)
	var d *DivergedError
	if !errors.As(group[1].res.Err, &d) || group[1].res.Result != nil {
		t.Fatalf("lane 1 (lr 1e20): %v, want a DivergedError", group[1].res.Err)
	}
	if d.Epoch != 1 || d.Step < 1 || d.Step > 9 {
		t.Errorf("lane 1 diverged at epoch %d, step %d; want epoch 1, a step in 1..9", d.Epoch, d.Step)
	}
	t.Logf("lane 1: %v", d)
	for _, l := range []int{0, 2} {
		sameOutcome(t, fmt.Sprintf("lane %d beside a diverging lane", l), group[l], solo[l])
	}
	if !strings.Contains(log.String(), "stopped: "+d.Error()) || !strings.Contains(log.String(), "epoch 2/2  2 runs") {
		t.Errorf("the log %q does not say that lane 1 stopped, or counts it on", log.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Errorf("results CSV: %q (%v); want the header and the 2 finished runs", rows, err)
	}
	if cks := Checkpoints(filepath.Join(dir, "g0-run1")); len(cks) != 0 {
		t.Errorf("the diverged run left checkpoints %q", cks)
	}
}

// TestGroupKey: runs differing in a per-lane setting share a key; runs
// differing in shape or a training setting do not, and RunGroup refuses
// them together.
func TestGroupKey(t *testing.T) {
	cfgs := laneConfigs(t, false)
	for _, c := range cfgs[1:] {
		if GroupKey(c) != GroupKey(cfgs[0]) {
			t.Errorf("%s has another group key than %s", c.Label(), cfgs[0].Label())
		}
	}
	for name, mut := range map[string]func(*Config){
		"hidden":     func(c *Config) { c.Model.Hidden = []int{32, 17} },
		"batch_norm": func(c *Config) { c.Model.BatchNorm = true },
		"batch_size": func(c *Config) { c.BatchSize = 32 },
		"epochs":     func(c *Config) { c.Epochs = 3 },
		"train_size": func(c *Config) { c.TrainSize = 700 },
		"split":      func(c *Config) { c.ValidationSplit = 0.2 },
	} {
		c := cfgs[0].clone()
		mut(&c)
		if GroupKey(c) == GroupKey(cfgs[0]) {
			t.Errorf("%s: the same group key", name)
		}
	}
	c := cfgs[0].clone()
	c.Model.Hidden = []int{8}
	_, err := RunGroup(t.Context(), []LaneRun{{Config: cfgs[0]}, {Config: c}}, GroupOptions{Device: cpu.Device{}, Data: tinyData(10)})
	if err == nil || !strings.Contains(err.Error(), "cannot train in a group") {
		t.Errorf("two shapes in one group: %v", err)
	}
}

package train

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/mnist"
)

// Tests that pin the training loop itself with numbers from DESIGN.md and
// Keras (not from regcl's constants): the split, the order of each epoch,
// the last batch, Adam's schedule. A recorder wraps the CPU backend and
// notes the calls the loop makes.

type gatherCall struct{ off, rows int }

type recorder struct {
	device.Backend
	gathers   []gatherCall // GatherRows offsets into the index list and row counts
	scales    []float64    // SoftmaxXent's gradient scale of training calls
	penalties []float64    // the penalty's scale: a training step's (AdamStep's, left pending) and an evaluation's (PenaltySum's)
	alphas    []float64    // AdamStep's α: lane 0's learning rate times the step's correction
	lr        float64      // lane 0's learning rate (SetLanes)
}

func (r *recorder) GatherRows(dst, src, idx device.Buffer, idxOff, rows, cols int) {
	r.gathers = append(r.gathers, gatherCall{idxOff, rows})
	r.Backend.GatherRows(dst, src, idx, idxOff, rows, cols)
}

func (r *recorder) SoftmaxXent(dl, db, logits, labels, idx device.Buffer, idxOff, rows, classes int, gradScale float64, acc, pending device.Buffer, step int) {
	if dl != nil {
		r.scales = append(r.scales, gradScale)
	}
	r.Backend.SoftmaxXent(dl, db, logits, labels, idx, idxOff, rows, classes, gradScale, acc, pending, step)
}

func (r *recorder) PenaltySum(acc, w device.Buffer, n int, scale float64) {
	r.penalties = append(r.penalties, scale)
	r.Backend.PenaltySum(acc, w, n, scale)
}

func (r *recorder) SetLanes(p []device.LaneParams) error {
	r.lr = p[0].LR
	return r.Backend.SetLanes(p)
}

func (r *recorder) AdamStep(w, g, m, v device.Buffer, n, pen int, h device.Adam) {
	r.alphas = append(r.alphas, r.lr*h.Correction)
	if h.Pending != nil {
		r.penalties = append(r.penalties, h.PenaltyScale)
	}
	r.Backend.AdamStep(w, g, m, v, n, pen, h)
}

func (r *recorder) reset() { r.gathers, r.scales, r.penalties, r.alphas = nil, nil, nil, nil }

// tinyData is n images of 4 pixels with labels 0..2, for loop tests that
// need no learning.
func tinyData(n int) *mnist.Data {
	s := &mnist.Set{N: n, Rows: 4, Cols: 1}
	for i := 0; i < n; i++ {
		s.Images = append(s.Images, uint8(i), uint8(3*i), uint8(255-i), uint8(7*i))
		s.Labels = append(s.Labels, uint8(i%3))
	}
	return &mnist.Data{Train: s, Test: s}
}

func tinyConfig(method string, n int) Config {
	cfg, _ := Defaults(method)
	cfg.Model.Inputs, cfg.Model.Hidden, cfg.Model.Classes = 4, []int{5, 3}, 3
	cfg.Epochs, cfg.TrainSize = 2, n
	return cfg
}

// TestSplitIsKerasValidationSplit: Keras's validation_split holds out the
// LAST floor(n·split)-complement images, before any shuffle (split_at =
// int(n·(1−split))), and evaluates exactly those rows.
func TestSplitIsKerasValidationSplit(t *testing.T) {
	for _, c := range []struct {
		n          int
		split      float64
		train, val int
	}{
		{60000, 0.1, 54000, 6000}, {12, 0.4, 7, 5}, // 12·0.6 = 7.199999…: floor, not round
		{1000, 0.1, 900, 100}, {7, 0.5, 3, 4}, {101, 0.25, 75, 26},
	} {
		cfg := Config{ValidationSplit: c.split}
		if tn, vn := cfg.Split(c.n); tn != c.train || vn != c.val {
			t.Errorf("Split(%d) with %v = %d, %d; want %d, %d", c.n, c.split, tn, vn, c.train, c.val)
		}
	}
	rec := &recorder{Backend: cpu.New[float64](1)}
	cfg := tinyConfig("baseline", 300) // 270 train, 30 validate
	cfg.BatchSize = 64
	tr, err := NewTrainer(rec, cfg, tinyData(300))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Training gathers steps of 64 from the permutation, then validation
	// gathers rows 270..299 of the identity.
	want := []gatherCall{{0, 64}, {64, 64}, {128, 64}, {192, 64}, {256, 14}, {270, 30}}
	if !slices.Equal(rec.gathers, want) {
		t.Errorf("the epoch gathered %v, want %v (training steps, then the last 30 images)", rec.gathers, want)
	}
}

// TestEpochOrder: every epoch's order is a permutation of exactly the
// training part, different from the previous epoch's, and the steps take it
// in order.
func TestEpochOrder(t *testing.T) {
	cfg := tinyConfig("baseline", 500) // 450 train
	tr, err := NewTrainer(cpu.New[float64](1), cfg, tinyData(500))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var prev []int32
	for e := 0; e < 3; e++ {
		if err := tr.startEpoch(); err != nil {
			t.Fatal(err)
		}
		p := make([]int32, 450)
		if err := tr.be.Read(tr.perm, 0, 0, p); err != nil {
			t.Fatal(err)
		}
		s := slices.Clone(p)
		slices.Sort(s)
		for i, v := range s {
			if v != int32(i) {
				t.Fatalf("epoch %d's order is not a permutation of 0..449 (sorted[%d] = %d)", e+1, i, v)
			}
		}
		if prev != nil && slices.Equal(p, prev) {
			t.Errorf("epoch %d is shuffled as epoch %d", e+1, e)
		}
		if slices.Equal(p, s) {
			t.Errorf("epoch %d is not shuffled", e+1)
		}
		prev = p
		tr.Epoch++
	}
}

// TestLastBatch: the study's 54,000 training images make 421 batches of 128
// and a last one of 112, whose gradient is the mean over its 112 rows (scale
// 1/112, not 1/128) and whose penalty counts 112 times in the epoch's sum.
func TestLastBatch(t *testing.T) {
	rec := &recorder{Backend: cpu.New[float64](1)}
	cfg := tinyConfig("l2", 60000)
	cfg.Epochs = 1
	data := tinyData(60000)
	tr, err := NewTrainer(rec, cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.Steps() != 422 {
		t.Fatalf("%d steps, want 422", tr.Steps())
	}
	if err := tr.startEpoch(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []int{0, 420, 421} {
		rec.reset()
		tr.trainStep(s)
		rows := 128
		if s == 421 {
			rows = 112
		}
		if len(rec.gathers) != 1 || rec.gathers[0] != (gatherCall{128 * s, rows}) {
			t.Errorf("step %d gathered %v, want %d rows from %d", s+1, rec.gathers, rows, 128*s)
		}
		if len(rec.scales) != 1 || rec.scales[0] != 1/float64(rows) {
			t.Errorf("step %d: gradient scale %v, want 1/%d", s+1, rec.scales, rows)
		}
		if len(rec.penalties) != 1 || rec.penalties[0] != float64(rows) {
			t.Errorf("step %d: the penalty is counted %v times, want %d (once per row)", s+1, rec.penalties, rows)
		}
	}
}

// TestLastBatchBoundary: the epoch is ⌈n/batch⌉ steps and its last one
// takes what is left, from both sides of a multiple of the batch: 256
// training images make 2 full steps of 128 and no third; 257 make a third
// step of 1 image, whose gradient is its mean (scale 1/1) and whose penalty
// counts once.
func TestLastBatchBoundary(t *testing.T) {
	for _, c := range []struct {
		n, ntrain, steps, last int
	}{
		{285, 256, 2, 128}, // floor(285·0.9) = 256
		{286, 257, 3, 1},   // floor(286·0.9) = 257
	} {
		rec := &recorder{Backend: cpu.New[float64](1)}
		cfg := tinyConfig("l2", c.n)
		cfg.Epochs, cfg.BatchSize = 1, 128
		tr, err := NewTrainer(rec, cfg, tinyData(c.n))
		if err != nil {
			t.Fatal(err)
		}
		if tr.TrainSamples() != c.ntrain || tr.Steps() != c.steps {
			t.Errorf("%d images: %d train in %d steps, want %d in %d", c.n, tr.TrainSamples(), tr.Steps(), c.ntrain, c.steps)
		}
		if _, err := tr.RunEpoch(context.Background()); err != nil {
			t.Fatal(err)
		}
		var train []gatherCall
		for _, g := range rec.gathers {
			if g.off < c.ntrain && len(train) < len(rec.scales) {
				train = append(train, g)
			}
		}
		if len(rec.scales) != c.steps || len(train) != c.steps {
			t.Fatalf("%d images: %d training steps ran, want %d", c.n, len(rec.scales), c.steps)
		}
		lastStep := train[c.steps-1]
		if lastStep != (gatherCall{128 * (c.steps - 1), c.last}) || rec.scales[c.steps-1] != 1/float64(c.last) || rec.penalties[c.steps-1] != float64(c.last) {
			t.Errorf("%d images: the last step gathered %v with gradient scale %v and penalty count %v; want %d rows from %d, 1/%d, %d",
				c.n, lastStep, rec.scales[c.steps-1], rec.penalties[c.steps-1], c.last, 128*(c.steps-1), c.last, c.last)
		}
		tr.Close()
	}
}

// keras α: lr·√(1−β2^t)/(1−β1^t) with Keras's β1 = 0.9, β2 = 0.999.
func kerasAlpha(lr float64, t int) float64 {
	return lr * math.Sqrt(1-math.Pow(0.999, float64(t))) / (1 - math.Pow(0.9, float64(t)))
}

// TestAdamSchedule: step t (from 1, counted across epochs) uses α_t, also
// after a resume in the middle of an epoch.
func TestAdamSchedule(t *testing.T) {
	// α_1..α_5 for lr 1e-3, from Python: 1e-3*math.sqrt(1-0.999**t)/(1-0.9**t).
	for step, want := range []float64{0, 3.1622776601683816e-04, 2.3531672532745276e-04, 2.020105974389679e-04, 1.837689237449852e-04, 1.7249884690452813e-04} {
		if step == 0 {
			continue
		}
		if got := Alpha(1e-3, uint64(step)); math.Abs(got-want) > 1e-12*want || math.Abs(got-kerasAlpha(1e-3, step)) > 1e-15*want {
			t.Errorf("Alpha(1e-3, %d) = %.14g, want %.14g", step, got, want)
		}
	}
	cfg := tinyConfig("dropout", 100) // 90 train
	cfg.BatchSize, cfg.Epochs = 32, 3 // 3 steps per epoch, 9 in all
	data := tinyData(100)
	rec := &recorder{Backend: cpu.New[float64](1)}
	a, err := NewTrainer(rec, cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// An uninterrupted run's α sequence.
	if err := a.Fit(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	full := slices.Clone(rec.alphas)
	if len(full) != 9 {
		t.Fatalf("%d Adam steps in 3 epochs of 3, want 9", len(full))
	}
	for i, al := range full {
		if math.Abs(al-kerasAlpha(1e-3, i+1)) > 1e-15 {
			t.Errorf("Adam step %d used α %v, want α_%d = %v", i+1, al, i+1, kerasAlpha(1e-3, i+1))
		}
	}
	// Interrupted after 5 steps (in the middle of epoch 2), resumed from the
	// checkpoint by a fresh trainer: the same sequence.
	rec2 := &recorder{Backend: cpu.New[float64](1)}
	b, err := NewTrainer(rec2, cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Observer = &cancelAfter{steps: 2, cancel: cancel}
	b.ProgressEvery = 1
	if _, err := b.RunEpoch(ctx); err != ErrInterrupted {
		t.Fatalf("the interrupted epoch returned %v, want ErrInterrupted", err)
	}
	f, err := b.CheckpointFile(0)
	if err != nil {
		t.Fatal(err)
	}
	rec3 := &recorder{Backend: cpu.New[float64](1)}
	c, err := NewTrainer(rec3, cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Restore(f); err != nil {
		t.Fatal(err)
	}
	if err := c.Fit(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	got := append(slices.Clone(rec2.alphas), rec3.alphas...)
	if !slices.Equal(got, full) {
		t.Errorf("interrupted after %d steps and resumed, α went %v; uninterrupted %v", len(rec2.alphas), got, full)
	}
}

// cancelAfter cancels the context after a number of steps of an epoch.
type cancelAfter struct {
	steps  int
	cancel func()
}

func (c *cancelAfter) EpochStart(int, int, int) {}
func (c *cancelAfter) Step(step, steps int) {
	if step >= c.steps {
		c.cancel()
	}
}
func (c *cancelAfter) EpochEnd([]EpochMetrics, int) {}
func (c *cancelAfter) LaneStopped(int, error)       {}

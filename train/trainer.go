package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/mnist"
	"github.com/regcl/regcl/model"
)

// EpochMetrics are one epoch's figures as Keras prints them: training loss and
// accuracy averaged over the epoch's samples (dropout active, penalties
// included in the loss), validation loss and accuracy at the epoch's end in
// inference mode.
type EpochMetrics struct {
	Epoch        int     `json:"epoch"` // 1-based
	Loss         float64 `json:"loss"`
	Accuracy     float64 `json:"accuracy"`
	ValLoss      float64 `json:"val_loss"`
	ValAccuracy  float64 `json:"val_accuracy"`
	Seconds      float64 `json:"seconds"`       // the whole epoch, validation included
	TrainSeconds float64 `json:"train_seconds"` // the training steps alone, until the device finished them
}

// ErrInterrupted is returned when the context is cancelled during training.
var ErrInterrupted = errors.New("training interrupted")

// DivergedError reports a non-finite loss or parameter.
type DivergedError struct {
	Epoch, Step int // 1-based epoch, 1-based step within it
	What        string
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("training diverged at epoch %d, step %d: %s (try a smaller --lr)", e.Epoch, e.Step, e.What)
}

// Observer is told how training goes. Step is called only when the
// Trainer's ProgressEvery is positive, after the device has caught up.
type Observer interface {
	EpochStart(epoch, epochs, steps int)
	Step(step, steps int)
	EpochEnd(m EpochMetrics, steps int)
}

// Trainer holds one run's network, optimizer state and data on a backend.
type Trainer struct {
	Cfg      Config
	Net      *model.Net
	Opt      *Adam
	be       device.Backend
	data     *deviceData
	ntrain   int
	nval     int
	Epoch    int    // epochs completed
	Step     uint64 // optimizer steps completed (global, across epochs)
	History  []EpochMetrics
	Observer Observer
	// ProgressEvery > 0 makes the trainer wait for the device every that many
	// steps and call Observer.Step (a live progress bar); 0 enqueues the whole
	// epoch without waiting.
	ProgressEvery int
	acc           device.Buffer

	// The position inside an epoch that was interrupted and checkpointed:
	// steps done, the accumulators so far and the seconds spent.
	epochStep    int
	epochAcc     []float64
	epochElapsed float64
}

type deviceData struct {
	trainX, trainY, testX, testY device.Buffer
	perm, ident                  device.Buffer
	batch                        device.Buffer
	ntest                        int
	bufs                         *device.Buffers // all of the above
}

// EvalRows is the chunk size of evaluation, and so the network's row capacity
// when larger than the batch.
const EvalRows = 1024

// NewTrainer uploads the data (once, for the whole run), allocates and
// initializes the network from cfg.Seed.
func NewTrainer(be device.Backend, cfg Config, data *mnist.Data) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr := data.Train
	n := tr.N
	if cfg.TrainSize > 0 {
		if cfg.TrainSize > n {
			return nil, fmt.Errorf("train size %d exceeds the %d training images", cfg.TrainSize, n)
		}
		n = cfg.TrainSize
	}
	feat := tr.Rows * tr.Cols
	if feat != cfg.Model.Inputs {
		return nil, fmt.Errorf("the data has %d pixels per image but the model expects %d inputs", feat, cfg.Model.Inputs)
	}
	ntrain, nval := cfg.Split(n)
	if ntrain < 1 || nval < 1 {
		return nil, fmt.Errorf("validation split %v of %d images leaves %d to train and %d to validate; both must be at least 1", cfg.ValidationSplit, n, ntrain, nval)
	}
	t := &Trainer{Cfg: cfg, be: be, ntrain: ntrain, nval: nval}
	rows := max(cfg.BatchSize, EvalRows)
	if err := t.upload(data, n, rows); err != nil {
		t.Close()
		return nil, err
	}
	net, err := model.New(be, cfg.Model, rows)
	if err != nil {
		t.Close()
		return nil, err
	}
	t.Net = net
	if err := net.Init(cfg.Seed); err != nil {
		t.Close()
		return nil, err
	}
	if t.Opt, err = NewAdam(be, net, cfg.LR); err != nil {
		t.Close()
		return nil, err
	}
	if t.acc, err = be.Alloc(device.Float32, device.AccLen); err != nil {
		t.Close()
		return nil, fmt.Errorf("allocating accumulators: %w", err)
	}
	return t, nil
}

func (t *Trainer) upload(data *mnist.Data, n, rows int) error {
	be := t.be
	feat := t.Cfg.Model.Inputs
	d := &deviceData{ntest: data.Test.N, bufs: device.NewBuffers(be)}
	t.data = d
	alloc := d.bufs.New
	d.trainX = alloc(device.Uint8, n*feat, data.Train.Images[:n*feat])
	d.trainY = alloc(device.Uint8, n, data.Train.Labels[:n])
	d.testX = alloc(device.Uint8, data.Test.N*feat, data.Test.Images)
	d.testY = alloc(device.Uint8, data.Test.N, data.Test.Labels)
	d.perm = alloc(device.Int32, t.ntrain, nil)
	ident := make([]int32, max(n, data.Test.N))
	for i := range ident {
		ident[i] = int32(i)
	}
	d.ident = alloc(device.Int32, len(ident), ident)
	d.batch = alloc(device.Float32, rows*feat, nil)
	if err := d.bufs.Err(); err != nil {
		return fmt.Errorf("uploading the data to %s: %w", be.Name(), err)
	}
	return nil
}

// Close releases everything on the device.
func (t *Trainer) Close() {
	if t.Net != nil {
		t.Net.Free()
	}
	if t.Opt != nil {
		t.Opt.Free()
	}
	if t.data != nil {
		t.data.bufs.Free()
	}
	if t.acc != nil {
		t.be.Free(t.acc)
	}
}

// Steps is the number of optimizer steps per epoch.
func (t *Trainer) Steps() int { return (t.ntrain + t.Cfg.BatchSize - 1) / t.Cfg.BatchSize }

// TrainSamples and ValSamples are the sizes of the two parts of the split.
func (t *Trainer) TrainSamples() int { return t.ntrain }
func (t *Trainer) ValSamples() int   { return t.nval }

// Permutation is epoch's shuffled order of the n training images (epoch
// counted from 0), a pure function of (seed, epoch) so that a resumed run
// shuffles exactly as an uninterrupted one.
func Permutation(seed uint64, epoch, n int) []int32 {
	rng := rand.New(rand.NewPCG(seed, 0x73687566666c65^uint64(epoch))) // stream "shuffle"
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	rng.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

func (t *Trainer) resetAcc() error {
	return t.be.Write(t.acc, 0, []float64{0, 0, -1, 0})
}

// readAcc reads the accumulators, in the backend's precision (float64 on
// the float64 oracle).
func (t *Trainer) readAcc() ([]float64, error) {
	a := make([]float64, device.AccLen)
	err := t.be.Read(t.acc, 0, a)
	return a, err
}

// The host keeps a bounded amount of training queued on the device: enough
// that the device never waits for the host, little enough that a stop waits
// for little work. It marks its place in the queue every few steps (marking
// and waiting on every step cost PoCL 5 % of its speed; so as many steps as
// take the device about MarkEvery) and waits for the older of RunAhead
// marks before queueing more: at most about 50 ms of work is queued. When a step alone takes the device longer than
// SlowStep (a slow device, a large network), every step is marked and only
// one is kept queued, so that a stop waits for at most that one step.
const (
	RunAhead     = 2
	MarkEvery    = 10 * time.Millisecond
	SlowStep     = 50 * time.Millisecond
	maxMarkSteps = 64
)

// RunEpoch trains one epoch (or the rest of an interrupted one) and
// evaluates on the validation part. When ctx is cancelled it stops after the
// steps already queued (see RunAhead) or between chunks of the validation,
// and returns ErrInterrupted; Checkpoint then saves the position inside the
// epoch.
func (t *Trainer) RunEpoch(ctx context.Context) (EpochMetrics, error) {
	start := time.Now()
	steps := t.Steps()
	if t.Observer != nil {
		t.Observer.EpochStart(t.Epoch+1, t.Cfg.Epochs, steps)
	}
	if err := t.startEpoch(); err != nil {
		return EpochMetrics{}, err
	}
	var queued []device.Marker // markers on the device, oldest first
	var marked []int           // the step each marker follows
	var lastDone time.Time
	lastStep := -1
	depth, every := RunAhead, 1 // markers kept queued, steps between markers
	drain := func() error {
		for _, m := range queued {
			if err := t.be.Wait(m); err != nil {
				return err
			}
		}
		queued, marked = queued[:0], marked[:0]
		return nil
	}
	for s := t.epochStep; s < steps; s++ {
		for len(queued) >= depth {
			if err := t.be.Wait(queued[0]); err != nil {
				return EpochMetrics{}, err
			}
			// Markers are reached one after another: the time between two,
			// over the steps between them, is a step's device time (or the
			// host's, if it is the slower).
			now, done := time.Now(), marked[0]
			queued, marked = queued[1:], marked[1:]
			if lastStep >= 0 && done > lastStep {
				per := now.Sub(lastDone) / time.Duration(done-lastStep)
				if per > SlowStep {
					depth, every = 1, 1
				} else if depth > 1 {
					every = min(maxMarkSteps, max(1, int(MarkEvery/max(per, time.Microsecond))))
				}
			}
			lastDone, lastStep = now, done
		}
		if ctx.Err() != nil {
			if err := drain(); err != nil {
				return EpochMetrics{}, err
			}
			t.epochStep = s
			t.epochElapsed += time.Since(start).Seconds()
			return EpochMetrics{}, ErrInterrupted
		}
		t.trainStep(s)
		if (s+1)%every == 0 || s+1 == steps {
			queued, marked = append(queued, t.be.Mark()), append(marked, s)
		}
		if t.ProgressEvery > 0 && t.Observer != nil && ((s+1)%t.ProgressEvery == 0 || s+1 == steps) {
			if err := drain(); err != nil {
				return EpochMetrics{}, err
			}
			t.Observer.Step(s+1, steps)
		}
	}
	if err := drain(); err != nil {
		return EpochMetrics{}, err
	}
	acc, err := t.readAcc() // the end of the training steps
	if err != nil {
		return EpochMetrics{}, err
	}
	trainSeconds := time.Since(start).Seconds() + t.epochElapsed
	m, err := t.finishEpoch(ctx, acc)
	if errors.Is(err, ErrInterrupted) {
		// Every step is done; the validation is not. A checkpoint now says
		// so (EpochStep == Steps), and a resumed run validates first.
		t.epochStep, t.epochAcc = steps, acc
		t.epochElapsed += time.Since(start).Seconds()
		return m, err
	}
	if err != nil {
		return m, err
	}
	m.TrainSeconds = trainSeconds
	m.Seconds = time.Since(start).Seconds() + t.epochElapsed
	t.epochStep, t.epochAcc, t.epochElapsed = 0, nil, 0
	t.Epoch++
	t.History = append(t.History, m)
	if t.Observer != nil {
		t.Observer.EpochEnd(m, steps)
	}
	return m, nil
}

// startEpoch sends the epoch's permutation and zeroes the accumulators (or
// restores them, resuming inside an epoch).
func (t *Trainer) startEpoch() error {
	if err := t.be.Write(t.data.perm, 0, Permutation(t.Cfg.Seed, t.Epoch, t.ntrain)); err != nil {
		return err
	}
	if t.epochStep > 0 && t.epochAcc != nil {
		return t.be.Write(t.acc, 0, t.epochAcc)
	}
	t.epochAcc = nil
	return t.resetAcc()
}

// trainStep enqueues step s of the current epoch: gather the batch, forward,
// loss and its gradient, penalties, backward, Adam. Nothing waits.
func (t *Trainer) trainStep(s int) {
	be, cfg, d := t.be, t.Cfg, t.data
	off := s * cfg.BatchSize
	rows := min(cfg.BatchSize, t.ntrain-off)
	step := t.Step
	be.GatherRows(d.batch, d.trainX, d.perm, off, rows, cfg.Model.Inputs)
	t.Net.Forward(d.batch, rows, true, cfg.Seed, step)
	be.SoftmaxXent(t.Net.DLogits(), t.Net.Logits(), d.trainY, d.perm, off, rows, cfg.Model.Classes, 1/float64(rows), t.acc, int(step))
	t.Net.PenaltySum(t.acc, float64(rows))
	t.Net.Backward(d.batch, rows, cfg.Seed, step)
	t.Opt.Step(step + 1)
	t.Step++
}

// finishEpoch turns the epoch's accumulators into metrics and evaluates on
// the validation part.
func (t *Trainer) finishEpoch(ctx context.Context, acc []float64) (EpochMetrics, error) {
	var err error
	steps := t.Steps()
	epoch := t.Epoch
	if bad := int(acc[device.AccBadStep]); bad >= 0 {
		first := t.Step - uint64(steps) // global index of the epoch's first step
		return EpochMetrics{}, &DivergedError{Epoch: epoch + 1, Step: bad - int(first) + 1, What: "the training loss is not finite"}
	}
	m := EpochMetrics{Epoch: epoch + 1,
		Loss:     float64(acc[device.AccLoss]) / float64(t.ntrain),
		Accuracy: float64(acc[device.AccCorrect]) / float64(t.ntrain)}
	m.ValLoss, m.ValAccuracy, err = t.evaluate(ctx, t.data.trainX, t.data.trainY, t.ntrain, t.nval)
	if err != nil {
		return EpochMetrics{}, err
	}
	if math.IsNaN(m.ValLoss) || math.IsInf(m.ValLoss, 0) {
		return EpochMetrics{}, &DivergedError{Epoch: epoch + 1, Step: steps, What: "the validation loss is not finite (a parameter is NaN or Inf)"}
	}
	return m, nil
}

// TrainSteps runs the first n training steps of the current epoch and waits
// for the device, without evaluating or counting an epoch: a measurement aid
// (regcl bench times steps and profiles kernels with it). The optimizer state
// moves on as in training.
func (t *Trainer) TrainSteps(n int) error {
	if n < 0 || n > t.Steps() {
		return fmt.Errorf("TrainSteps: %d steps, the epoch has %d", n, t.Steps())
	}
	saved := t.epochStep
	t.epochStep = 0
	err := t.startEpoch()
	t.epochStep = saved
	if err != nil {
		return err
	}
	for s := 0; s < n; s++ {
		t.trainStep(s)
	}
	return t.be.Finish()
}

// evaluate returns the mean cross-entropy plus the penalty, and the accuracy,
// of rows [start, start+n) of (x, y) in inference mode. A cancelled ctx stops
// it between chunks with ErrInterrupted.
func (t *Trainer) evaluate(ctx context.Context, x, y device.Buffer, start, n int) (loss, accuracy float64, err error) {
	ev := t.evaluator()
	ev.ctx = ctx
	e, err := ev.run(x, y, t.data.ident, start, n, false, nil)
	if err != nil {
		return 0, 0, err
	}
	return e.Loss, e.Accuracy, nil
}

// evaluator is the trainer's network on its backend, with its buffers.
func (t *Trainer) evaluator() *evaluator {
	return &evaluator{be: t.be, net: t.Net, batch: t.data.batch, acc: t.acc}
}

// Test returns the test loss and accuracy on the whole test set.
func (t *Trainer) Test() (loss, accuracy float64, err error) {
	return t.TestContext(context.Background())
}

// TestContext is Test, stopped between chunks with ErrInterrupted when ctx
// is cancelled.
func (t *Trainer) TestContext(ctx context.Context) (loss, accuracy float64, err error) {
	return t.evaluate(ctx, t.data.testX, t.data.testY, 0, t.data.ntest)
}

// Evaluate evaluates the trained network on the whole test set, reading
// back every row: Test's figures with per-class accuracy and the confusion
// matrix (labels are the test labels, as uploaded).
func (t *Trainer) Evaluate(labels []uint8) (*Evaluation, error) {
	return t.evaluator().run(t.data.testX, t.data.testY, t.data.ident, 0, t.data.ntest, true, labels)
}

// Fit runs the remaining epochs, calling afterEpoch (when not nil) after
// each one: where Run saves its checkpoints.
func (t *Trainer) Fit(ctx context.Context, afterEpoch func() error) error {
	for t.Epoch < t.Cfg.Epochs {
		if _, err := t.RunEpoch(ctx); err != nil {
			return err
		}
		if afterEpoch != nil {
			if err := afterEpoch(); err != nil {
				return err
			}
		}
	}
	return nil
}

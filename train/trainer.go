package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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
// EpochEnd receives one EpochMetrics per lane, the zero value for a lane
// that has stopped; LaneStopped is told when a lane stops (it diverged),
// before the EpochEnd of its epoch.
type Observer interface {
	EpochStart(epoch, epochs, steps int)
	Step(step, steps int)
	EpochEnd(ms []EpochMetrics, steps int)
	LaneStopped(lane int, err error)
}

// Trainer holds the networks, optimizer states and positions of a group of
// runs trained as the lanes of one backend: one run is a group of one. The
// runs share the settings of GroupKey (the network's shape, batch size,
// epochs, train size, split) and so their position (epoch, step); each has
// its own seed (initialization, shuffle, dropout masks), penalties, dropout
// rate and learning rate, its own history, and stops alone when it
// diverges, while the others go on. Lane l's results are those of its run
// trained alone, bit for bit.
type Trainer struct {
	// Cfg is lane 0's configuration: the settings every lane shares are
	// read from it; Cfgs holds each lane's.
	Cfg   Config
	Cfgs  []Config
	Net   *model.Net
	Opt   *Adam
	be    device.Backend
	data  *DeviceData // the images and labels, shared (perhaps with other groups)
	owned *DeviceData // data this trainer uploaded itself (NewTrainer), closed with it
	perm  device.Buffer
	batch device.Buffer
	acc   device.Buffer
	// ntrain and nval are the sizes of the two parts of the split.
	ntrain int
	nval   int
	Epoch  int    // epochs completed
	Step   uint64 // optimizer steps completed (global, across epochs)
	// History is each lane's per-epoch metrics; Stopped each lane's reason
	// to have stopped (a *DivergedError), nil while it goes on. A stopped
	// lane goes on computing with the others, but nothing more of it is
	// recorded.
	History  [][]EpochMetrics
	Stopped  []error
	Observer Observer
	// ProgressEvery > 0 makes the trainer wait for the device every that many
	// steps and call Observer.Step (a live progress bar); 0 enqueues the whole
	// epoch without waiting.
	ProgressEvery int

	// The position inside an epoch that was interrupted and checkpointed:
	// steps done, each lane's accumulators so far and the seconds spent.
	epochStep    int
	epochAcc     [][]float64
	pending      bool // a step's penalty is pending in Opt.Pending, not yet in acc
	epochElapsed float64
}

// DeviceData is the training and test data on one device, in shared
// buffers (Backend.AllocShared) that the backends of every group on the
// device read: uploaded once per device.
type DeviceData struct {
	be                           device.Backend // the backend that owns the buffers
	own                          bool           // be was opened for the data (UploadData), closed with it
	trainX, trainY, testX, testY device.Buffer
	ident                        device.Buffer // 0, 1, 2, … : the order of validation and test
	ntrain, ntest, feat          int           // training images, test images, pixels per image
	verified                     bool          // the files were checked against MNIST's SHA-256
	bufs                         *device.Buffers
}

// UploadData copies d's images and labels to dev, once for every group that
// trains on it (GroupOptions.Shared); Close frees them after the last group.
func UploadData(dev device.Device, d *mnist.Data) (*DeviceData, error) {
	be, err := dev.NewBackend(1)
	if err != nil {
		return nil, err
	}
	dd, err := uploadOn(be, d)
	if err != nil {
		be.Close()
		return nil, err
	}
	dd.own = true
	return dd, nil
}

// uploadOn puts d's images and labels into shared buffers of be.
func uploadOn(be device.Backend, data *mnist.Data) (*DeviceData, error) {
	tr, te := data.Train, data.Test
	feat := tr.Rows * tr.Cols
	if te.Rows*te.Cols != feat {
		return nil, fmt.Errorf("the training images have %d pixels and the test images %d", feat, te.Rows*te.Cols)
	}
	d, err := allocData(be, tr.N, te.N, feat, data)
	if err != nil {
		return nil, fmt.Errorf("uploading the data to %s: %w", be.Name(), err)
	}
	return d, nil
}

// allocData makes the shared buffers of ntrain training and ntest test
// images of feat pixels, and their labels, holding data's (nothing written
// when data is nil: a rehearsal's placeholders).
func allocData(be device.Backend, ntrain, ntest, feat int, data *mnist.Data) (*DeviceData, error) {
	d := &DeviceData{be: be, ntrain: ntrain, ntest: ntest, feat: feat, bufs: device.NewBuffers(be)}
	var trX, trY, teX, teY, ident any // nil: nothing written
	if data != nil {
		tr, te := data.Train, data.Test
		d.verified = data.Verified
		trX, trY, teX, teY = tr.Images[:ntrain*feat], tr.Labels[:ntrain], te.Images[:ntest*feat], te.Labels[:ntest]
		id := make([]int32, max(ntrain, ntest))
		for i := range id {
			id[i] = int32(i)
		}
		ident = id
	}
	alloc := d.bufs.NewShared
	d.trainX = alloc(device.Uint8, ntrain*feat, trX)
	d.trainY = alloc(device.Uint8, ntrain, trY)
	d.testX = alloc(device.Uint8, ntest*feat, teX)
	d.testY = alloc(device.Uint8, ntest, teY)
	d.ident = alloc(device.Int32, max(ntrain, ntest), ident)
	if err := d.bufs.Err(); err != nil {
		d.bufs.Free()
		return nil, err
	}
	return d, nil
}

// Close frees the data (after the work of every group on it).
func (d *DeviceData) Close() error {
	if d == nil || d.bufs == nil {
		return nil
	}
	err := d.be.Finish()
	d.bufs.Free()
	d.bufs = nil
	if d.own {
		if e := d.be.Close(); err == nil {
			err = e
		}
	}
	return err
}

// EvalRows is the chunk size of evaluation, and so the network's row capacity
// when larger than the batch.
const EvalRows = 1024

// NewTrainer is a trainer of one run on be (a backend of one lane): it
// uploads the data onto be, and allocates and initializes the network from
// cfg.Seed.
func NewTrainer(be device.Backend, cfg Config, data *mnist.Data) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, err := uploadOn(be, data)
	if err != nil {
		return nil, err
	}
	t, err := NewGroup(be, []Config{cfg}, d)
	if err != nil {
		d.Close()
		return nil, err
	}
	t.owned = d
	return t, nil
}

// NewGroup is a trainer of the runs cfgs as the lanes of be (len(cfgs) ==
// be.Lanes(); their GroupKeys must agree), on data uploaded to be's device
// (UploadData, or a trainer's own). Each lane's network is initialized from
// its seed.
func NewGroup(be device.Backend, cfgs []Config, data *DeviceData) (*Trainer, error) {
	if len(cfgs) == 0 || len(cfgs) != be.Lanes() {
		return nil, fmt.Errorf("%d runs for a backend of %d lanes", len(cfgs), be.Lanes())
	}
	for i, c := range cfgs {
		if err := c.Validate(); err != nil {
			return nil, err
		}
		if GroupKey(c) != GroupKey(cfgs[0]) {
			return nil, fmt.Errorf("run %d (%s) cannot train beside run 1 (%s): they differ in shape or training settings", i+1, c.Label(), cfgs[0].Label())
		}
	}
	cfg := cfgs[0]
	n := data.ntrain
	if cfg.TrainSize > 0 {
		if cfg.TrainSize > n {
			return nil, fmt.Errorf("train size %d exceeds the %d training images", cfg.TrainSize, n)
		}
		n = cfg.TrainSize
	}
	if data.feat != cfg.Model.Inputs {
		return nil, fmt.Errorf("the data has %d pixels per image but the model expects %d inputs", data.feat, cfg.Model.Inputs)
	}
	ntrain, nval := cfg.Split(n)
	if ntrain < 1 || nval < 1 {
		return nil, fmt.Errorf("validation split %v of %d images leaves %d to train and %d to validate; both must be at least 1", cfg.ValidationSplit, n, ntrain, nval)
	}
	L := len(cfgs)
	t := &Trainer{Cfg: cfg, Cfgs: slices.Clone(cfgs), be: be, data: data, ntrain: ntrain, nval: nval,
		History: make([][]EpochMetrics, L), Stopped: make([]error, L)}
	if err := t.setLanes(); err != nil {
		return nil, err
	}
	rows := max(cfg.BatchSize, EvalRows)
	models := make([]model.Config, L)
	seeds := make([]uint64, L)
	for l, c := range cfgs {
		models[l], seeds[l] = c.Model, c.Seed
	}
	net, err := model.New(be, models, rows)
	if err != nil {
		return nil, err
	}
	t.Net = net
	if err := net.Init(seeds); err != nil {
		t.Close()
		return nil, err
	}
	if t.Opt, err = NewAdam(be, net); err != nil {
		t.Close()
		return nil, err
	}
	for _, b := range []struct {
		p    *device.Buffer
		kind device.Kind
		n    int
	}{{&t.perm, device.Int32, ntrain}, {&t.batch, device.Float, rows * cfg.Model.Inputs}, {&t.acc, device.Float, device.AccLen}} {
		if *b.p, err = be.Alloc(b.kind, b.n); err != nil {
			t.Close()
			return nil, fmt.Errorf("allocating the training buffers on %s: %w", be.Name(), err)
		}
	}
	return t, nil
}

// setLanes gives the backend every lane's hyper-parameters from Cfgs.
func (t *Trainer) setLanes() error {
	p := make([]device.LaneParams, len(t.Cfgs))
	for l, c := range t.Cfgs {
		p[l] = device.LaneParams{Seed: c.Seed, DropoutRate: c.Model.Dropout, L1: c.Model.L1, L2: c.Model.L2, LR: c.LR}
	}
	return t.be.SetLanes(p)
}

// Lanes is the number of runs in the group.
func (t *Trainer) Lanes() int { return len(t.Cfgs) }

// Active reports whether lane l goes on (has not stopped).
func (t *Trainer) Active(l int) bool { return t.Stopped[l] == nil }

func (t *Trainer) active() int {
	n := 0
	for l := range t.Cfgs {
		if t.Active(l) {
			n++
		}
	}
	return n
}

// Close releases everything on the device the trainer allocated.
func (t *Trainer) Close() {
	if t.Net != nil {
		t.Net.Free()
	}
	if t.Opt != nil {
		t.Opt.Free()
	}
	for _, b := range []device.Buffer{t.perm, t.batch, t.acc} {
		if b != nil {
			t.be.Free(b)
		}
	}
	if t.owned != nil {
		t.owned.Close()
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

// resetAcc zeroes every lane's accumulators (AccBadStep −1: no bad step),
// and drops a penalty still pending for them.
func (t *Trainer) resetAcc() error {
	t.pending = false
	if err := t.Opt.ClearPending(); err != nil {
		return err
	}
	for l := range t.Cfgs {
		if err := t.be.Write(t.acc, l, 0, []float64{0, 0, -1, 0}); err != nil {
			return err
		}
	}
	return nil
}

// readAcc reads lane's accumulators, in the backend's precision (float64
// on the float64 oracle).
func (t *Trainer) readAcc(lane int) ([]float64, error) {
	if t.pending {
		// The last step's penalty, added where the next step's loss would
		// add it: one fold for every lane, before the first read.
		t.be.PenaltyFold(t.acc, t.Opt.Pending)
		t.pending = false
	}
	a := make([]float64, device.AccLen)
	err := t.be.Read(t.acc, lane, 0, a)
	return a, err
}

// readAccs reads every lane's accumulators.
func (t *Trainer) readAccs() ([][]float64, error) {
	out := make([][]float64, len(t.Cfgs))
	for l := range out {
		var err error
		if out[l], err = t.readAcc(l); err != nil {
			return nil, err
		}
	}
	return out, nil
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
// evaluates on the validation part, in every lane; it returns each lane's
// metrics (the zero value for a lane that has stopped). A lane whose loss
// turned non-finite stops (Stopped); when no lane is left it returns the
// error of the last one to stop. When ctx is cancelled it stops after the
// steps already queued (see RunAhead) or between chunks of the validation,
// and returns ErrInterrupted; a checkpoint then saves the position inside
// the epoch.
func (t *Trainer) RunEpoch(ctx context.Context) ([]EpochMetrics, error) {
	if t.active() == 0 {
		return nil, fmt.Errorf("every run of the group has stopped")
	}
	start := time.Now()
	steps := t.Steps()
	if t.Observer != nil {
		t.Observer.EpochStart(t.Epoch+1, t.Cfg.Epochs, steps)
	}
	if err := t.startEpoch(); err != nil {
		return nil, err
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
				return nil, err
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
				return nil, err
			}
			t.epochStep = s
			t.epochElapsed += time.Since(start).Seconds()
			return nil, ErrInterrupted
		}
		t.trainStep(s)
		if (s+1)%every == 0 || s+1 == steps {
			queued, marked = append(queued, t.be.Mark()), append(marked, s)
		}
		if t.ProgressEvery > 0 && t.Observer != nil && ((s+1)%t.ProgressEvery == 0 || s+1 == steps) {
			if err := drain(); err != nil {
				return nil, err
			}
			t.Observer.Step(s+1, steps)
		}
	}
	if err := drain(); err != nil {
		return nil, err
	}
	acc, err := t.readAccs() // the end of the training steps
	if err != nil {
		return nil, err
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
	seconds := time.Since(start).Seconds() + t.epochElapsed
	t.epochStep, t.epochAcc, t.epochElapsed = 0, nil, 0
	var last error
	for l := range m {
		if !t.Active(l) {
			last = t.Stopped[l]
			m[l] = EpochMetrics{}
			continue
		}
		m[l].TrainSeconds, m[l].Seconds = trainSeconds, seconds
		t.History[l] = append(t.History[l], m[l])
	}
	if t.active() == 0 {
		return m, last
	}
	t.Epoch++
	if t.Observer != nil {
		t.Observer.EpochEnd(m, steps)
	}
	return m, nil
}

// startEpoch sends each lane's permutation of the epoch and zeroes the
// accumulators (or restores them, resuming inside an epoch).
func (t *Trainer) startEpoch() error {
	perms := map[uint64][]int32{} // lanes of one seed shuffle alike
	for l, c := range t.Cfgs {
		p, ok := perms[c.Seed]
		if !ok {
			p = Permutation(c.Seed, t.Epoch, t.ntrain)
			perms[c.Seed] = p
		}
		if err := t.be.Write(t.perm, l, 0, p); err != nil {
			return err
		}
	}
	if t.epochStep > 0 && t.epochAcc != nil {
		t.pending = false
		if err := t.Opt.ClearPending(); err != nil { // epochAcc holds every penalty of its steps
			return err
		}
		for l, a := range t.epochAcc {
			if err := t.be.Write(t.acc, l, 0, a); err != nil {
				return err
			}
		}
		return nil
	}
	t.epochAcc = nil
	return t.resetAcc()
}

// trainStep enqueues step s of the current epoch: gather the batch, forward,
// loss and its gradient, backward, Adam (with the penalties). Nothing waits.
func (t *Trainer) trainStep(s int) {
	be, cfg, d := t.be, t.Cfg, t.data
	off := s * cfg.BatchSize
	rows := min(cfg.BatchSize, t.ntrain-off)
	step := t.Step
	be.GatherRows(t.batch, d.trainX, t.perm, off, rows, cfg.Model.Inputs)
	t.Net.Forward(t.batch, rows, true, step)
	// The loss adds the step before's penalty, which Adam left pending,
	// then this step's; Adam leaves this step's (Adam.Pending).
	t.Net.LossGrad(d.trainY, t.perm, off, rows, 1/float64(rows), t.acc, t.Opt.Pending, int(step))
	t.Net.Backward(t.batch, rows, step)
	t.Opt.Step(step+1, rows)
	t.pending = t.Opt.Pending != nil
	t.Step++
}

// finishEpoch turns the epoch's accumulators into each lane's metrics and
// evaluates on the validation part, in one pass for every lane; a lane
// whose training or validation loss is not finite stops there.
func (t *Trainer) finishEpoch(ctx context.Context, acc [][]float64) ([]EpochMetrics, error) {
	steps := t.Steps()
	epoch := t.Epoch
	first := t.Step - uint64(steps) // global index of the epoch's first step
	ms := make([]EpochMetrics, len(t.Cfgs))
	for l, a := range acc {
		if !t.Active(l) {
			continue
		}
		if bad := int(a[device.AccBadStep]); bad >= 0 {
			t.stop(l, &DivergedError{Epoch: epoch + 1, Step: bad - int(first) + 1, What: "the training loss is not finite"})
			continue
		}
		ms[l] = EpochMetrics{Epoch: epoch + 1,
			Loss:     float64(a[device.AccLoss]) / float64(t.ntrain),
			Accuracy: float64(a[device.AccCorrect]) / float64(t.ntrain)}
	}
	if t.active() == 0 {
		return ms, nil
	}
	ev, err := t.evaluate(ctx, t.data.trainX, t.data.trainY, t.ntrain, t.nval)
	if err != nil {
		return nil, err
	}
	for l := range ms {
		if !t.Active(l) {
			continue
		}
		ms[l].ValLoss, ms[l].ValAccuracy = ev[l].Loss, ev[l].Accuracy
		if math.IsNaN(ms[l].ValLoss) || math.IsInf(ms[l].ValLoss, 0) {
			t.stop(l, &DivergedError{Epoch: epoch + 1, Step: steps, What: "the validation loss is not finite (a parameter is NaN or Inf)"})
		}
	}
	return ms, nil
}

// stop records why lane l stops, and tells the observer.
func (t *Trainer) stop(l int, err error) {
	t.Stopped[l] = err
	if t.Observer != nil {
		t.Observer.LaneStopped(l, err)
	}
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

// evaluate returns each lane's mean cross-entropy plus its penalty, and
// accuracy, of rows [start, start+n) of (x, y) in inference mode, in one
// pass. A cancelled ctx stops it between chunks with ErrInterrupted.
func (t *Trainer) evaluate(ctx context.Context, x, y device.Buffer, start, n int) ([]*Evaluation, error) {
	ev := t.evaluator()
	ev.ctx = ctx
	return ev.run(x, y, t.data.ident, start, n, false, nil)
}

// evaluator is the trainer's networks on its backend, with their buffers.
func (t *Trainer) evaluator() *evaluator {
	return &evaluator{be: t.be, net: t.Net, batch: t.batch, acc: t.acc}
}

// Test returns each lane's test loss and accuracy on the whole test set.
func (t *Trainer) Test() (loss, accuracy []float64, err error) {
	return t.TestContext(context.Background())
}

// TestContext is Test, stopped between chunks with ErrInterrupted when ctx
// is cancelled.
func (t *Trainer) TestContext(ctx context.Context) (loss, accuracy []float64, err error) {
	ev, err := t.evaluate(ctx, t.data.testX, t.data.testY, 0, t.data.ntest)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ev {
		loss, accuracy = append(loss, e.Loss), append(accuracy, e.Accuracy)
	}
	return loss, accuracy, nil
}

// Evaluate evaluates lane's trained network on the whole test set, reading
// back every row: Test's figures with per-class accuracy and the confusion
// matrix (labels are the test labels, as uploaded).
func (t *Trainer) Evaluate(lane int, labels []uint8) (*Evaluation, error) {
	if lane < 0 || lane >= len(t.Cfgs) {
		return nil, fmt.Errorf("Evaluate: lane %d of %d", lane, len(t.Cfgs))
	}
	ev := t.evaluator()
	ev.lane = lane
	es, err := ev.run(t.data.testX, t.data.testY, t.data.ident, 0, t.data.ntest, true, labels)
	if err != nil {
		return nil, err
	}
	return es[lane], nil
}

// Fit runs the remaining epochs, calling afterEpoch (when not nil) after
// each one: where Run saves its checkpoints. It returns the error of the
// last lane to stop when none goes on.
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

package train

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/model"
)

// Evaluation is a network's performance on a set of images.
type Evaluation struct {
	N        int
	Loss     float64 // mean cross-entropy plus the penalties, as Keras's evaluate reports it (NaN without labels)
	Accuracy float64 // share of rows whose most probable class is the label (NaN without labels)
	// Only when the evaluation was asked for the rows (EvalRows):
	Logits    [][]float32 // per row, as the device computed them
	Predicted []int       // per row, the most probable class (the first on ties, as the device counts)
	PerClass  []float64   // accuracy over the rows of each true class (NaN where a class has none)
	Confusion [][]int     // Confusion[true][predicted]
}

// Probabilities is the softmax of row i's logits, in float64.
func (e *Evaluation) Probabilities(i int) []float64 { return softmax(e.Logits[i]) }

// evaluator runs a network in inference mode over rows of images held on
// its backend, every lane at once: the one path of the test and validation
// figures of training, of `regcl eval` and of `regcl predict`.
type evaluator struct {
	ctx   context.Context // nil: never interrupted; else checked between chunks
	be    device.Backend
	net   *model.Net
	batch device.Buffer // chunk × inputs floats a lane
	acc   device.Buffer // AccLen floats a lane
	lane  int           // the lane whose rows are read back (run's rows)
}

// chunk is how many rows one forward pass takes: EvalRows, or fewer when the
// network holds fewer. A fixed chunk makes the sums the same in training and
// in `regcl eval`.
func (ev *evaluator) chunk() int { return min(ev.net.MaxRows, EvalRows) }

// run evaluates rows idx[start : start+n] of the images x in every lane,
// returning one Evaluation a lane. With labels y on the device, loss and
// accuracy come from the device's accumulators (SoftmaxXent and PenaltySum,
// nothing read back but them); y nil means unlabelled images. With rows
// set, the logits of every row of lane ev.lane are read back too (only that
// lane's Evaluation has them), and with host labels (the same as y's) the
// per-class accuracy and the confusion matrix are computed from them.
func (ev *evaluator) run(x, y, idx device.Buffer, start, n int, rows bool, labels []uint8) ([]*Evaluation, error) {
	be, net := ev.be, ev.net
	cfg := net.Cfg
	lanes := be.Lanes()
	es := make([]*Evaluation, lanes)
	for l := range es {
		es[l] = &Evaluation{N: n, Loss: math.NaN(), Accuracy: math.NaN()}
	}
	e := es[ev.lane]
	if y != nil {
		for l := 0; l < lanes; l++ {
			if err := be.Write(ev.acc, l, 0, []float64{0, 0, -1, 0}); err != nil {
				return nil, err
			}
		}
	}
	var logits []float32
	if rows {
		logits = make([]float32, ev.chunk()*cfg.Classes)
		e.Logits = make([][]float32, 0, n)
	}
	for off := 0; off < n; off += ev.chunk() {
		if ev.ctx != nil && ev.ctx.Err() != nil {
			if err := be.Finish(); err != nil {
				return nil, err
			}
			return nil, ErrInterrupted
		}
		r := min(ev.chunk(), n-off)
		if ev.ctx != nil && ev.ctx.Done() != nil && off > 0 {
			// Keep one chunk queued at most, so that a stop waits for one.
			if err := be.Finish(); err != nil {
				return nil, err
			}
		}
		be.GatherRows(ev.batch, x, idx, start+off, r, cfg.Inputs)
		net.Forward(ev.batch, r, false, 0)
		if y != nil {
			net.Loss(y, idx, start+off, r, ev.acc, 0)
		}
		if rows {
			if err := be.Read(net.Logits(), ev.lane, 0, logits[:r*cfg.Classes]); err != nil {
				return nil, err
			}
			for i := 0; i < r; i++ {
				e.Logits = append(e.Logits, append([]float32(nil), logits[i*cfg.Classes:(i+1)*cfg.Classes]...))
			}
		}
	}
	if y != nil {
		net.PenaltySum(ev.acc, float64(n))
		acc := make([]float64, device.AccLen)
		for l, el := range es {
			if err := be.Read(ev.acc, l, 0, acc); err != nil { // waits for the device
				return nil, err
			}
			if n > 0 {
				el.Loss, el.Accuracy = acc[device.AccLoss]/float64(n), acc[device.AccCorrect]/float64(n)
			}
		}
	}
	if err := be.Err(); err != nil {
		return nil, err
	}
	if rows {
		e.Predicted = make([]int, n)
		for i, z := range e.Logits {
			e.Predicted[i] = argmax(z)
		}
		if labels != nil {
			e.confusion(labels, cfg.Classes)
		}
	}
	return es, nil
}

// confusion fills PerClass and Confusion from Predicted and the labels.
func (e *Evaluation) confusion(labels []uint8, classes int) {
	e.Confusion = make([][]int, classes)
	for i := range e.Confusion {
		e.Confusion[i] = make([]int, classes)
	}
	for i, k := range e.Predicted {
		e.Confusion[labels[i]][k]++
	}
	e.PerClass = make([]float64, classes)
	for c, row := range e.Confusion {
		tot := 0
		for _, v := range row {
			tot += v
		}
		e.PerClass[c] = math.NaN()
		if tot > 0 {
			e.PerClass[c] = float64(row[c]) / float64(tot)
		}
	}
}

// fileEvaluation evaluates the network of a model file on n images given as
// raw bytes (n×Inputs, scaled by 1/255 as in training), with labels (nil for
// unlabelled images), reading back the rows when asked.
func fileEvaluation(be device.Backend, f *model.File, images, labels []uint8, n int, rows bool) (*Evaluation, error) {
	cfg := f.Config
	if len(images) != n*cfg.Inputs {
		return nil, fmt.Errorf("%d bytes for %d images of %d pixels", len(images), n, cfg.Inputs)
	}
	if labels != nil {
		if len(labels) != n {
			return nil, fmt.Errorf("%d labels for %d images", len(labels), n)
		}
		for i, y := range labels {
			if int(y) >= cfg.Classes {
				return nil, fmt.Errorf("label %d of image %d is not below %d classes", y, i, cfg.Classes)
			}
		}
	}
	// The penalty of the file's network counts in its loss, as in training.
	if err := be.SetLanes([]device.LaneParams{{L1: cfg.L1, L2: cfg.L2}}); err != nil {
		return nil, err
	}
	net, err := model.New(be, []model.Config{cfg}, min(max(n, 1), EvalRows))
	if err != nil {
		return nil, err
	}
	defer net.Free()
	if err := net.Restore(0, f.Tensors); err != nil {
		return nil, err
	}
	ev := &evaluator{be: be, net: net}
	bufs := device.NewBuffers(be)
	defer bufs.Free()
	ident := make([]int32, n)
	for i := range ident {
		ident[i] = int32(i)
	}
	x := bufs.NewShared(device.Uint8, len(images), images)
	idx := bufs.NewShared(device.Int32, n, ident)
	ev.batch = bufs.New(device.Float, ev.chunk()*cfg.Inputs, nil)
	var y device.Buffer
	if labels != nil {
		y = bufs.NewShared(device.Uint8, n, labels)
		ev.acc = bufs.New(device.Float, device.AccLen, nil)
	}
	if err := bufs.Err(); err != nil {
		return nil, err
	}
	es, err := ev.run(x, y, idx, 0, n, rows, labels)
	if err != nil {
		return nil, err
	}
	return es[0], nil
}

// Evaluate computes loss and accuracy (on the device, as training computes
// its test figures), per-class accuracy and the confusion matrix of the
// model on n labelled images, on dev.
func Evaluate(dev device.Device, f *model.File, images, labels []uint8, n int) (*Evaluation, error) {
	if labels == nil {
		labels = []uint8{}
	}
	be, err := dev.NewBackend(1)
	if err != nil {
		return nil, err
	}
	defer be.Close()
	return fileEvaluation(be, f, images, labels, n, true)
}

// Infer returns the class probabilities (softmax of the logits, in float64)
// of n unlabelled images of the file's input size, given as raw bytes
// (n×Inputs, scaled by 1/255 as in training), computed on dev in inference
// mode.
func Infer(dev device.Device, f *model.File, images []uint8, n int) ([][]float64, error) {
	be, err := dev.NewBackend(1)
	if err != nil {
		return nil, err
	}
	defer be.Close()
	e, err := fileEvaluation(be, f, images, nil, n, true)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, n)
	for i := range out {
		out[i] = e.Probabilities(i)
	}
	return out, nil
}

func softmax(z []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v))
	}
	p := make([]float64, len(z))
	var s float64
	for i, v := range z {
		p[i] = math.Exp(float64(v) - mx)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p
}

func argmax[T float32 | float64](p []T) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// Argmax is the first index of the largest value.
func Argmax(p []float64) int { return argmax(p) }

// WriteText prints the evaluation: loss and accuracy, per-class accuracy and
// the confusion matrix (rows: true digit, columns: predicted).
func (e *Evaluation) WriteText(w io.Writer) {
	fmt.Fprintf(w, "test_loss %.4f  test_accuracy %.4f  (%d images)\n\nper-class accuracy\n", e.Loss, e.Accuracy, e.N)
	for k, a := range e.PerClass {
		fmt.Fprintf(w, "  %d  %.4f\n", k, a)
	}
	fmt.Fprintf(w, "\nconfusion matrix (rows: true digit, columns: predicted)\n     ")
	for k := range e.Confusion {
		fmt.Fprintf(w, "%6d", k)
	}
	fmt.Fprintln(w)
	for y, row := range e.Confusion {
		fmt.Fprintf(w, "  %d  ", y)
		for _, v := range row {
			fmt.Fprintf(w, "%6d", v)
		}
		fmt.Fprintln(w)
	}
}

package train

import (
	"fmt"
	"io"
	"math"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/model"
)

// Evaluation is a model's performance on a labelled set.
type Evaluation struct {
	N         int
	Loss      float64   // mean cross-entropy plus the penalties, as Keras's evaluate reports it
	Accuracy  float64   // share of rows whose most probable class is the label
	PerClass  []float64 // accuracy over the rows of each true class (NaN where a class has none)
	Confusion [][]int   // Confusion[true][predicted]
}

// Infer returns the class probabilities (softmax of the logits, in float64)
// of n images of the file's input size, given as raw bytes (n×Inputs,
// scaled by 1/255 as in training), computed on dev in inference mode.
func Infer(dev device.Device, f *model.File, images []uint8, n int) ([][]float64, error) {
	be, err := dev.NewBackend()
	if err != nil {
		return nil, err
	}
	defer be.Close()
	return infer(be, f, images, n)
}

func infer(be device.Backend, f *model.File, images []uint8, n int) ([][]float64, error) {
	cfg := f.Config
	if len(images) != n*cfg.Inputs {
		return nil, fmt.Errorf("%d bytes for %d images of %d pixels", len(images), n, cfg.Inputs)
	}
	rows := min(max(n, 1), EvalRows)
	net, err := model.New(be, cfg, rows)
	if err != nil {
		return nil, err
	}
	defer net.Free()
	if err := net.Restore(f.Tensors); err != nil {
		return nil, err
	}
	x, err := be.Alloc(device.Uint8, max(len(images), 1))
	if err != nil {
		return nil, err
	}
	defer be.Free(x)
	idx, err := be.Alloc(device.Int32, max(n, 1))
	if err != nil {
		return nil, err
	}
	defer be.Free(idx)
	batch, err := be.Alloc(device.Float32, rows*cfg.Inputs)
	if err != nil {
		return nil, err
	}
	defer be.Free(batch)
	ident := make([]int32, n)
	for i := range ident {
		ident[i] = int32(i)
	}
	if n > 0 {
		if err := be.Write(x, 0, images); err != nil {
			return nil, err
		}
		if err := be.Write(idx, 0, ident); err != nil {
			return nil, err
		}
	}
	out := make([][]float64, 0, n)
	logits := make([]float32, rows*cfg.Classes)
	for off := 0; off < n; off += rows {
		r := min(rows, n-off)
		be.GatherRows(batch, x, idx, off, r, cfg.Inputs)
		net.Forward(batch, r, false, 0, 0)
		if err := be.Read(net.Logits(), 0, logits[:r*cfg.Classes]); err != nil {
			return nil, err
		}
		for i := 0; i < r; i++ {
			out = append(out, softmax(logits[i*cfg.Classes:(i+1)*cfg.Classes]))
		}
	}
	return out, be.Err()
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

// Argmax is the first index of the largest value.
func Argmax(p []float64) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// Evaluate computes loss, accuracy, per-class accuracy and the confusion
// matrix of the model on n labelled images.
func Evaluate(dev device.Device, f *model.File, images, labels []uint8, n int) (*Evaluation, error) {
	if len(labels) != n {
		return nil, fmt.Errorf("%d labels for %d images", len(labels), n)
	}
	probs, err := Infer(dev, f, images, n)
	if err != nil {
		return nil, err
	}
	C := f.Config.Classes
	e := &Evaluation{N: n, Confusion: make([][]int, C), PerClass: make([]float64, C)}
	for i := range e.Confusion {
		e.Confusion[i] = make([]int, C)
	}
	var loss float64
	correct := 0
	for i, p := range probs {
		y := int(labels[i])
		if y >= C {
			return nil, fmt.Errorf("label %d of image %d is not below %d classes", y, i, C)
		}
		loss -= math.Log(math.Max(p[y], math.SmallestNonzeroFloat64))
		k := Argmax(p)
		e.Confusion[y][k]++
		if k == y {
			correct++
		}
	}
	for c := range e.PerClass {
		tot := 0
		for _, v := range e.Confusion[c] {
			tot += v
		}
		e.PerClass[c] = math.NaN()
		if tot > 0 {
			e.PerClass[c] = float64(e.Confusion[c][c]) / float64(tot)
		}
	}
	if n > 0 {
		e.Loss = loss/float64(n) + penalty(f)
		e.Accuracy = float64(correct) / float64(n)
	}
	return e, nil
}

// penalty is λ1·Σ|W| + λ2·ΣW² over the hidden kernels of a model file.
func penalty(f *model.File) float64 {
	var s float64
	for i := range f.Config.Hidden {
		t := f.Tensor(model.HiddenKernel(i))
		if t == nil {
			continue
		}
		for _, v := range t.Data {
			s += f.Config.L1*math.Abs(float64(v)) + f.Config.L2*float64(v)*float64(v)
		}
	}
	return s
}

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

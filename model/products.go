package model

import (
	"fmt"

	"github.com/regcl/regcl/device"
)

// Sizes are the lengths of the network's one parameter buffer as
// Net.ParamBuffers reports them: every trainable element, and how many
// leading ones the penalty covers (the hidden kernels). Read off a network
// built on the recording backend, as Products is, so that the layout is
// described once, in New.
func Sizes(cfg Config) (params, penalized int, err error) {
	n, err := New(&recorder{}, []Config{cfg}, 1)
	if err != nil {
		return 0, 0, err
	}
	defer n.Free()
	_, _, params, penalized = n.ParamBuffers()
	return params, penalized, nil
}

// Products are the matrix products the network of cfg issues: those of one
// training step at batch rows (Forward then Backward), then those of one
// inference pass at evalRows rows that a training step has not issued
// already (none when evalRows is 0 or equals batch), in the order they are
// issued, each shape once. They are read off Forward and Backward
// themselves, run on a backend that only records its products, so that the
// step is described once, here, and the tuner, bench and the conformance
// benchmarks ask for it rather than writing the shapes again. Names are
// fwdL (forward of layer L, counted from 1), dWL (its kernel's gradient,
// TN), dXL (the gradient of its input, NT) and evalL (forward at evalRows).
func Products(cfg Config, batch, evalRows int) ([]device.GemmShape, error) {
	if batch < 1 || evalRows < 0 {
		return nil, fmt.Errorf("model: products at batch %d and evaluation chunk %d, want ≥ 1 and ≥ 0", batch, evalRows)
	}
	rec := &recorder{}
	n, err := New(rec, []Config{cfg}, max(batch, evalRows))
	if err != nil {
		return nil, err
	}
	defer n.Free()
	layers := len(cfg.Hidden) + 1
	rec.name = func(i int) string { // forward: one product a layer, in order
		return fmt.Sprintf("fwd%d", i+1)
	}
	n.Forward(nil, batch, true, 0)
	fwd := len(rec.out)
	rec.name = func(i int) string { // backward, from the top: dW then dX of each layer, no dX for the first
		j := i - fwd
		l := layers - j/2
		if j%2 == 0 {
			return fmt.Sprintf("dW%d", l)
		}
		return fmt.Sprintf("dX%d", l)
	}
	n.Backward(nil, batch, 0)
	if evalRows > 0 && evalRows != batch {
		start := len(rec.out)
		rec.name = func(i int) string { return fmt.Sprintf("eval%d", i-start+1) }
		n.Forward(nil, evalRows, false, 0)
	}
	seen := map[device.GemmShape]bool{}
	var out []device.GemmShape
	for _, s := range rec.out {
		key := s
		key.Name = ""
		if !seen[key] {
			seen[key] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// recorder is a one-lane Backend that computes nothing: it hands out
// placeholder buffers and records the shape of every product it is asked
// for. The operations Forward and Backward do not call panic through the
// nil embedded interface.
type recorder struct {
	device.Backend
	out  []device.GemmShape
	name func(i int) string
}

type placeholder struct {
	n      int
	kind   device.Kind
	shared bool
}

func (p *placeholder) Len() int          { return p.n }
func (p *placeholder) Kind() device.Kind { return p.kind }
func (p *placeholder) Shared() bool      { return p.shared }

func (r *recorder) add(transA, transB bool, m, n, k int) {
	r.out = append(r.out, device.GemmShape{Name: r.name(len(r.out)), TransA: transA, TransB: transB, M: m, N: n, K: k})
}

func (r *recorder) Name() string   { return "recorder" }
func (r *recorder) Lanes() int     { return 1 }
func (r *recorder) FloatBits() int { return 32 }
func (r *recorder) Err() error     { return nil }
func (r *recorder) Alloc(kind device.Kind, n int) (device.Buffer, error) {
	return &placeholder{n: n, kind: kind}, nil
}
func (r *recorder) AllocShared(kind device.Kind, n int) (device.Buffer, error) {
	return &placeholder{n: n, kind: kind, shared: true}, nil
}
func (r *recorder) View(parent device.Buffer, off, n int) (device.Buffer, error) {
	return &placeholder{n: n, kind: parent.Kind()}, nil
}
func (r *recorder) ViewAlign() int                                                              { return 1 }
func (r *recorder) Free(device.Buffer)                                                          {}
func (r *recorder) Fill(device.Buffer, int, float64)                                            {}
func (r *recorder) Write(device.Buffer, int, int, any) error                                    { return nil }
func (r *recorder) DropoutApply(device.Buffer, int, int, device.Dropout)                        {}
func (r *recorder) ColSum(device.Buffer, device.Buffer, int, int)                               {}
func (r *recorder) ReLUBackwardColSum(_, _, _ device.Buffer, _, _ int, _ bool)                  {}
func (r *recorder) BatchNormTrain(_, _, _, _, _, _, _, _ device.Buffer, _, _ int, _, _ float64) {}
func (r *recorder) BatchNormInfer(_, _, _, _, _, _ device.Buffer, _, _ int, _ float64)          {}
func (r *recorder) BatchNormBackward(_, _, _, _, _, _, _, _, _ device.Buffer, _, _ int)         {}
func (r *recorder) Gemm(transA, transB bool, m, n, k int, _ float64, _, _ device.Buffer, _ float64, _ device.Buffer) {
	r.add(transA, transB, m, n, k)
}
func (r *recorder) GemmBiasAct(m, n, k int, _, _, _ device.Buffer, _ bool, _ device.Dropout, _ device.Buffer) {
	r.add(false, false, m, n, k)
}

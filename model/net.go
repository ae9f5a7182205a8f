package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/regcl/regcl/device"
)

// Tensor is one named array of the network on the device.
type Tensor struct {
	Name      string // e.g. "dense1/kernel"
	Shape     []int  // (in,out) for kernels, (n) for vectors
	W         device.Buffer
	G         device.Buffer // gradient; nil for non-trainable state (moving statistics)
	Penalized bool          // L1/L2 apply (hidden kernels only)
	// Off is where a trainable tensor starts in the network's parameter
	// buffer (W is a view of it there) and in its gradient buffer (G); -1 for
	// non-trainable state, which has buffers of its own.
	Off int
}

// Len is the number of elements.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

type hidden struct {
	in, out     int
	w, b        *Tensor
	gamma, beta *Tensor       // BatchNorm scale and shift
	mm, mv      *Tensor       // BatchNorm moving mean and variance
	act         device.Buffer // (rows,out): relu(x·W+b), dropped out when there is no BatchNorm
	bn          device.Buffer // (rows,out): BatchNorm output, dropped out in training
	mean, istd  device.Buffer // (out): the batch statistics saved for the backward pass
	g, g2       device.Buffer // (rows,out): gradient at the block's output, and below BatchNorm
}

// Net is the network's buffers on one backend, for batches of at most MaxRows rows.
//
// Every trainable tensor lives in one parameter buffer, and its gradient at
// the same offset of one gradient buffer: the penalized hidden kernels
// first, then the other trainable tensors, each starting at a multiple of the
// backend's ViewAlign (the gaps are zero and stay zero). So the optimizer
// updates the whole network in one pass over contiguous memory, and the
// penalty is one sum over one range (llm.c's gpt2_update).
type Net struct {
	Cfg        Config
	MaxRows    int
	be         device.Backend
	layers     []*hidden
	ow, ob     *Tensor
	logits     device.Buffer // (rows,classes)
	dlogits    device.Buffer // (rows,classes)
	tensors    []*Tensor
	params     device.Buffer   // every trainable tensor
	grads      device.Buffer   // their gradients, at the same offsets
	nParams    int             // length of params and grads
	nPenalized int             // params[0:nPenalized] holds the penalized kernels (and their gaps)
	bufs       *device.Buffers // activations, non-trainable tensors, params and grads
	views      []device.Buffer // freed before bufs
}

// HiddenKernel is the tensor name of hidden layer i's kernel (counted from 0),
// the tensors that L1/L2 penalize.
func HiddenKernel(i int) string { return fmt.Sprintf("dense%d/kernel", i+1) }

// New allocates a network on be. Its weights are undefined until Init or a load.
func New(be device.Backend, cfg Config, maxRows int) (*Net, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if maxRows < 1 {
		return nil, fmt.Errorf("model: batch capacity must be at least 1, got %d", maxRows)
	}
	n := &Net{Cfg: cfg, MaxRows: maxRows, be: be, bufs: device.NewBuffers(be)}
	alloc := func(size int) device.Buffer { return n.bufs.New(device.Float32, size, nil) }
	// Tensors are declared first; trainable ones get their views once the
	// parameter buffer's layout is known.
	var trainable []*Tensor
	tensor := func(name string, train, penalized bool, shape ...int) *Tensor {
		t := &Tensor{Name: name, Shape: shape, Penalized: penalized, Off: -1}
		if train {
			trainable = append(trainable, t)
		} else {
			t.W = alloc(t.Len())
		}
		n.tensors = append(n.tensors, t)
		return t
	}
	in := cfg.Inputs
	for i, h := range cfg.Hidden {
		p := fmt.Sprintf("dense%d/", i+1)
		L := &hidden{in: in, out: h}
		L.w = tensor(HiddenKernel(i), true, true, in, h)
		L.b = tensor(p+"bias", true, false, h)
		L.act = alloc(maxRows * h)
		L.g = alloc(maxRows * h)
		if cfg.BatchNorm {
			q := fmt.Sprintf("batchnorm%d/", i+1)
			L.gamma = tensor(q+"gamma", true, false, h)
			L.beta = tensor(q+"beta", true, false, h)
			L.mm = tensor(q+"moving_mean", false, false, h)
			L.mv = tensor(q+"moving_variance", false, false, h)
			L.bn = alloc(maxRows * h)
			L.g2 = alloc(maxRows * h)
			L.mean = alloc(h)
			L.istd = alloc(h)
		}
		n.layers = append(n.layers, L)
		in = h
	}
	n.ow = tensor("output/kernel", true, false, in, cfg.Classes)
	n.ob = tensor("output/bias", true, false, cfg.Classes)
	n.logits = alloc(maxRows * cfg.Classes)
	n.dlogits = alloc(maxRows * cfg.Classes)
	err := n.bufs.Err()
	if err == nil {
		err = n.layout(trainable)
	}
	if err != nil {
		n.Free()
		return nil, fmt.Errorf("model: allocating the network on %s: %w", be.Name(), err)
	}
	return n, nil
}

// layout places the trainable tensors in the parameter and gradient
// buffers, penalized ones first, and zeroes both (the gaps stay zero).
func (n *Net) layout(ts []*Tensor) error {
	align := max(1, n.be.ViewAlign())
	off := 0
	place := func(penalized bool) {
		for _, t := range ts {
			if t.Penalized == penalized {
				t.Off = off
				off += (t.Len() + align - 1) / align * align
			}
		}
	}
	place(true)
	n.nPenalized = off
	place(false)
	n.nParams = off
	for _, b := range []*device.Buffer{&n.params, &n.grads} {
		if *b = n.bufs.New(device.Float32, n.nParams, nil); *b == nil {
			return n.bufs.Err()
		}
		n.be.Fill(*b, n.nParams, 0)
	}
	var err error
	for _, t := range ts {
		if t.W, err = n.be.View(n.params, t.Off, t.Len()); err != nil {
			return err
		}
		n.views = append(n.views, t.W)
		if t.G, err = n.be.View(n.grads, t.Off, t.Len()); err != nil {
			return err
		}
		n.views = append(n.views, t.G)
	}
	return n.be.Err()
}

// Free releases the network's buffers.
func (n *Net) Free() {
	for _, b := range n.views {
		n.be.Free(b)
	}
	n.views = nil
	n.bufs.Free()
}

// ParamBuffers returns the buffer holding every trainable tensor, the buffer
// of their gradients (at the same offsets), their common length n, and how
// many leading elements are penalized (the hidden kernels): what one
// optimizer step works on.
func (n *Net) ParamBuffers() (params, grads device.Buffer, size, penalized int) {
	return n.params, n.grads, n.nParams, n.nPenalized
}

// Tensors lists every array of the network in a fixed order: parameters and
// BatchNorm moving statistics.
func (n *Net) Tensors() []*Tensor { return n.tensors }

// Params lists the trainable tensors.
func (n *Net) Params() []*Tensor {
	var ps []*Tensor
	for _, t := range n.tensors {
		if t.G != nil {
			ps = append(ps, t)
		}
	}
	return ps
}

// HiddenOutputs are the hidden layers' (rows,width) ReLU outputs of the last
// Forward (after dropout when there is no BatchNorm, before BatchNorm when
// there is): tests compare them across backends.
func (n *Net) HiddenOutputs() []device.Buffer {
	out := make([]device.Buffer, len(n.layers))
	for i, L := range n.layers {
		out[i] = L.act
	}
	return out
}

// Logits is the (rows,classes) output of the last Forward; DLogits receives
// the loss gradient that Backward starts from.
func (n *Net) Logits() device.Buffer  { return n.logits }
func (n *Net) DLogits() device.Buffer { return n.dlogits }

// Init sets Glorot-uniform kernels (limit √(6/(fan_in+fan_out)), Keras's
// default), zero biases, γ = 1, β = 0, moving mean 0 and moving variance 1,
// drawn from a PCG stream keyed by seed.
func (n *Net) Init(seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x676c6f726f74)) // stream "glorot"
	for _, t := range n.tensors {
		v := make([]float32, t.Len())
		switch {
		case len(t.Shape) == 2:
			limit := math.Sqrt(6 / float64(t.Shape[0]+t.Shape[1]))
			for i := range v {
				v[i] = float32(limit * (2*rng.Float64() - 1))
			}
		case hasSuffix(t.Name, "/gamma"), hasSuffix(t.Name, "/moving_variance"):
			for i := range v {
				v[i] = 1
			}
		}
		if err := n.be.Write(t.W, 0, v); err != nil {
			return fmt.Errorf("model: init %s: %w", t.Name, err)
		}
	}
	return nil
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// dropout returns layer l's dropout for the given training step.
func (n *Net) dropout(l int, seed, step uint64) device.Dropout {
	if n.Cfg.Dropout == 0 {
		return device.Dropout{}
	}
	return device.Dropout{Rate: n.Cfg.Dropout, Seed: seed, Step: step, Layer: uint32(l)}
}

// Forward computes the logits of the (rows,Inputs) batch x into Logits().
// In training mode BatchNorm uses (and updates) batch statistics and dropout
// draws the mask of (seed, step); in inference mode both are the identity
// transforms Keras uses at test time.
func (n *Net) Forward(x device.Buffer, rows int, train bool, seed, step uint64) {
	be := n.be
	in := x
	for l, L := range n.layers {
		d := device.Dropout{}
		if train {
			d = n.dropout(l, seed, step)
		}
		if !n.Cfg.BatchNorm && d.Rate != 0 {
			// Dropout right after the ReLU: the product, then bias, ReLU and
			// the mask in one pass.
			be.Gemm(false, false, rows, L.out, L.in, 1, in, L.w.W, 0, L.act)
			be.BiasAct(L.act, L.b.W, rows, L.out, true, d)
			in = L.act
			continue
		}
		be.GemmBiasAct(rows, L.out, L.in, in, L.w.W, L.b.W, true, L.act)
		if !n.Cfg.BatchNorm {
			in = L.act
			continue
		}
		if train {
			be.BatchNormTrain(L.bn, L.act, L.gamma.W, L.beta.W, L.mean, L.istd, L.mm.W, L.mv.W, rows, L.out, BNEpsilon, BNMomentum)
			be.DropoutApply(L.bn, rows, L.out, d)
		} else {
			be.BatchNormInfer(L.bn, L.act, L.gamma.W, L.beta.W, L.mm.W, L.mv.W, rows, L.out, BNEpsilon)
		}
		in = L.bn
	}
	be.GemmBiasAct(rows, n.Cfg.Classes, n.ow.Shape[0], in, n.ow.W, n.ob.W, false, n.logits)
}

// Backward computes every parameter gradient (into Tensor.G) from the loss
// gradient in DLogits(), for the batch x of the last training-mode Forward.
// Penalty gradients are not included: the optimizer fuses them into its step.
func (n *Net) Backward(x device.Buffer, rows int, seed, step uint64) {
	be := n.be
	last := n.layers[len(n.layers)-1]
	top := last.act
	if n.Cfg.BatchNorm {
		top = last.bn
	}
	C := n.Cfg.Classes
	be.Gemm(true, false, last.out, C, rows, 1, top, n.dlogits, 0, n.ow.G)
	be.ColSum(n.ob.G, n.dlogits, rows, C)
	be.Gemm(false, true, rows, last.out, C, 1, n.dlogits, n.ow.W, 0, last.g)
	for l := len(n.layers) - 1; l >= 0; l-- {
		L := n.layers[l]
		d := n.dropout(l, seed, step)
		dz := L.g
		if n.Cfg.BatchNorm {
			be.DropoutApply(L.g, rows, L.out, d)
			be.BatchNormBackward(L.g2, L.g, L.act, L.gamma.W, L.mean, L.istd, L.gamma.G, L.beta.G, rows, L.out)
			be.ReLUBackwardColSum(L.g2, L.act, L.b.G, rows, L.out, 1)
			dz = L.g2
		} else {
			be.ReLUBackwardColSum(L.g, L.act, L.b.G, rows, L.out, d.Scale())
		}
		input := x
		if l > 0 {
			input = n.layers[l-1].act
			if n.Cfg.BatchNorm {
				input = n.layers[l-1].bn
			}
		}
		be.Gemm(true, false, L.in, L.out, rows, 1, input, dz, 0, L.w.G)
		if l > 0 {
			be.Gemm(false, true, rows, L.in, L.out, 1, dz, L.w.W, 0, n.layers[l-1].g)
		}
	}
}

// PenaltySum adds scale·Σ over hidden kernels of (λ1·Σ|W| + λ2·ΣW²) into
// acc: one sum over the penalized range of the parameter buffer.
func (n *Net) PenaltySum(acc device.Buffer, scale float64) {
	if n.Cfg.L1 == 0 && n.Cfg.L2 == 0 {
		return
	}
	n.be.PenaltySum(acc, n.params, n.nPenalized, n.Cfg.L1, n.Cfg.L2, scale)
}

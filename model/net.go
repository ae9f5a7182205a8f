package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

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

// Net is the network's buffers on one backend, for batches of at most MaxRows
// rows, one network per lane of the backend: the lanes share the shape
// (Cfg) and differ in their regularization (Lanes), which reaches the
// device through the backend's lane parameters (Backend.SetLanes, which
// the caller sets: seeds and learning rates are training settings).
//
// Every trainable tensor lives in one parameter buffer, and its gradient at
// the same offset of one gradient buffer: the penalized hidden kernels
// first, then the other trainable tensors, each starting at a multiple of the
// backend's ViewAlign (the gaps are zero and stay zero). So the optimizer
// updates the whole network in one pass over contiguous memory, and the
// penalty is one sum over one range (llm.c's gpt2_update).
type Net struct {
	// Cfg is the shape every lane shares: lane 0's configuration, whose
	// regularization (L1, L2, Dropout) is lane 0's alone; Lanes holds each
	// lane's own.
	Cfg        Config
	Lanes      []Config
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
	penalized  bool            // some lane has L1 or L2
	bufs       *device.Buffers // activations, non-trainable tensors, params and grads
	views      []device.Buffer // freed before bufs
}

// HiddenKernel is the tensor name of hidden layer i's kernel (counted from 0),
// the tensors that L1/L2 penalize.
func HiddenKernel(i int) string { return fmt.Sprintf("dense%d/kernel", i+1) }

// SameShape reports why networks of configurations a and b cannot be lanes
// of one Net (nil when they can): their widths and BatchNorm must agree.
func SameShape(a, b Config) error {
	if a.Inputs != b.Inputs || a.Classes != b.Classes || !slices.Equal(a.Hidden, b.Hidden) || a.BatchNorm != b.BatchNorm {
		return fmt.Errorf("networks %s and %s differ in shape", a.Describe(), b.Describe())
	}
	return nil
}

// New allocates a network on be, one lane per configuration (len(cfgs) ==
// be.Lanes(); their shapes must agree). Its weights are undefined until
// Init or a load.
func New(be device.Backend, cfgs []Config, maxRows int) (*Net, error) {
	if len(cfgs) != be.Lanes() {
		return nil, fmt.Errorf("model: %d configurations for a backend of %d lanes", len(cfgs), be.Lanes())
	}
	for i, c := range cfgs {
		if err := c.Validate(); err != nil {
			return nil, err
		}
		if err := SameShape(cfgs[0], c); err != nil {
			return nil, fmt.Errorf("model: lane %d: %w", i, err)
		}
	}
	if maxRows < 1 {
		return nil, fmt.Errorf("model: batch capacity must be at least 1, got %d", maxRows)
	}
	cfg := cfgs[0]
	n := &Net{Cfg: cfg, Lanes: slices.Clone(cfgs), MaxRows: maxRows, be: be, bufs: device.NewBuffers(be)}
	for _, c := range cfgs {
		n.penalized = n.penalized || c.L1 != 0 || c.L2 != 0
	}
	alloc := func(size int) device.Buffer { return n.bufs.New(device.Float, size, nil) }
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
		if *b = n.bufs.New(device.Float, n.nParams, nil); *b == nil {
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

// Init sets every lane's network: lane l's from seeds[l] (InitLane).
func (n *Net) Init(seeds []uint64) error {
	if len(seeds) != len(n.Lanes) {
		return fmt.Errorf("model: init: %d seeds for %d lanes", len(seeds), len(n.Lanes))
	}
	for l, s := range seeds {
		if err := n.InitLane(l, s); err != nil {
			return err
		}
	}
	return nil
}

// InitLane sets lane's network to Glorot-uniform kernels (limit
// √(6/(fan_in+fan_out)), Keras's default), zero biases, γ = 1, β = 0,
// moving mean 0 and moving variance 1, drawn from a PCG stream keyed by
// seed: the same numbers whatever the lane.
func (n *Net) InitLane(lane int, seed uint64) error {
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
		if err := n.be.Write(t.W, lane, 0, v); err != nil {
			return fmt.Errorf("model: init %s: %w", t.Name, err)
		}
	}
	return nil
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// Forward computes the logits of the (rows,Inputs) batch x into Logits(),
// in every lane. In training mode BatchNorm uses (and updates) batch
// statistics and dropout draws each lane's mask of (its seed, step) at its
// rate; in inference mode both are the identity transforms Keras uses at
// test time.
func (n *Net) Forward(x device.Buffer, rows int, train bool, step uint64) {
	be := n.be
	in := x
	for l, L := range n.layers {
		d := device.Dropout{}
		if train {
			d = device.Dropout{On: true, Step: step, Layer: uint32(l)}
		}
		if !n.Cfg.BatchNorm {
			// Dropout right after the ReLU: product, bias, ReLU and mask in one operation.
			be.GemmBiasAct(rows, L.out, L.in, in, L.w.W, L.b.W, true, d, L.act)
			in = L.act
			continue
		}
		be.GemmBiasAct(rows, L.out, L.in, in, L.w.W, L.b.W, true, device.Dropout{}, L.act)
		if train {
			be.BatchNormTrain(L.bn, L.act, L.gamma.W, L.beta.W, L.mean, L.istd, L.mm.W, L.mv.W, rows, L.out, BNEpsilon, BNMomentum)
			be.DropoutApply(L.bn, rows, L.out, d)
		} else {
			be.BatchNormInfer(L.bn, L.act, L.gamma.W, L.beta.W, L.mm.W, L.mv.W, rows, L.out, BNEpsilon)
		}
		in = L.bn
	}
	be.GemmBiasAct(rows, n.Cfg.Classes, n.ow.Shape[0], in, n.ow.W, n.ob.W, false, device.Dropout{}, n.logits)
}

// Loss adds the softmax cross-entropy of the logits of the last Forward of
// rows rows, against labels[idx[idxOff+r]], into each lane's acc with its
// hits and first bad step (device.Backend.SoftmaxXent): an evaluation.
func (n *Net) Loss(labels, idx device.Buffer, idxOff, rows int, acc device.Buffer, step int) {
	n.be.SoftmaxXent(nil, nil, n.logits, labels, idx, idxOff, rows, n.Cfg.Classes, 0, acc, nil, step)
}

// LossGrad is Loss for a training step: it also leaves what Backward starts
// from, the loss gradient gradScale·(softmax − onehot) in DLogits() and its
// column sums, the output layer's bias gradient, in the same operation.
// A penalty pending from the step before (the optimizer's, in pending;
// nil: none) is added to acc first (device.Backend.SoftmaxXent).
func (n *Net) LossGrad(labels, idx device.Buffer, idxOff, rows int, gradScale float64, acc, pending device.Buffer, step int) {
	n.be.SoftmaxXent(n.dlogits, n.ob.G, n.logits, labels, idx, idxOff, rows, n.Cfg.Classes, gradScale, acc, pending, step)
}

// Penalized reports whether some lane has an L1 or L2 penalty: whether a
// step has a penalty to add to its loss.
func (n *Net) Penalized() bool { return n.penalized }

// Backward computes every parameter gradient (into Tensor.G) from what
// LossGrad left (the loss gradient in DLogits() and the output layer's bias
// gradient), for the batch x of the last training-mode Forward. Penalty
// gradients are not included: the optimizer fuses them into its step.
func (n *Net) Backward(x device.Buffer, rows int, step uint64) {
	be := n.be
	last := n.layers[len(n.layers)-1]
	top := last.act
	if n.Cfg.BatchNorm {
		top = last.bn
	}
	C := n.Cfg.Classes
	be.Gemm(true, false, last.out, C, rows, 1, top, n.dlogits, 0, n.ow.G)
	be.Gemm(false, true, rows, last.out, C, 1, n.dlogits, n.ow.W, 0, last.g)
	for l := len(n.layers) - 1; l >= 0; l-- {
		L := n.layers[l]
		dz := L.g
		if n.Cfg.BatchNorm {
			be.DropoutApply(L.g, rows, L.out, device.Dropout{On: true, Step: step, Layer: uint32(l)})
			// The BatchNorm's backward pass, then its input ReLU's, in one.
			be.BatchNormBackward(L.g2, L.g, L.act, L.gamma.W, L.mean, L.istd, L.gamma.G, L.beta.G, L.b.G, rows, L.out)
			dz = L.g2
		} else {
			// The dropout after the ReLU: a dropped unit's output is 0, so
			// the ReLU's mask drops its gradient; a kept one's is scaled.
			be.ReLUBackwardColSum(L.g, L.act, L.b.G, rows, L.out, true)
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
// each lane's acc, with the lane's λs: one sum over the penalized range of
// the parameter buffer. No call is made when no lane has a penalty.
func (n *Net) PenaltySum(acc device.Buffer, scale float64) {
	if !n.penalized {
		return
	}
	n.be.PenaltySum(acc, n.params, n.nPenalized, scale)
}

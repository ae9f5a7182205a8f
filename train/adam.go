package train

import (
	"fmt"
	"math"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/model"
)

// Adam is the optimizer state: the first and second moments of every
// trainable tensor, on the device, each in one buffer laid out as the
// network's parameter buffer (model.Net.ParamBuffers), so that a step is
// one pass over contiguous memory: one AdamStep call.
type Adam struct {
	LR     float64
	be     device.Backend
	w, g   device.Buffer // the network's parameters and gradients
	n, pen int           // their length, and the penalized prefix
	M, V   device.Buffer
	l1, l2 float64
}

// NewAdam allocates zeroed moments for net's parameters.
func NewAdam(be device.Backend, net *model.Net, lr float64) (*Adam, error) {
	a := &Adam{LR: lr, be: be, l1: net.Cfg.L1, l2: net.Cfg.L2}
	a.w, a.g, a.n, a.pen = net.ParamBuffers()
	var err error
	for _, b := range []*device.Buffer{&a.M, &a.V} {
		if *b, err = be.Alloc(device.Float32, a.n); err != nil {
			a.Free()
			return nil, fmt.Errorf("allocating Adam moments: %w", err)
		}
		be.Fill(*b, a.n, 0)
	}
	return a, be.Err()
}

// Free releases the moments.
func (a *Adam) Free() {
	for _, b := range []device.Buffer{a.M, a.V} {
		if b != nil {
			a.be.Free(b)
		}
	}
	a.M, a.V = nil, nil
}

// Alpha is step t's bias-corrected learning rate lr·√(1−β2^t)/(1−β1^t), t ≥ 1.
func Alpha(lr float64, t uint64) float64 {
	ft := float64(t)
	return lr * math.Sqrt(1-math.Pow(AdamBeta2, ft)) / (1 - math.Pow(AdamBeta1, ft))
}

// Step applies update t (counted from 1) to every parameter in one call,
// with the L1/L2 penalty gradients on the penalized (hidden) kernels.
func (a *Adam) Step(t uint64) {
	h := device.Adam{Alpha: Alpha(a.LR, t), Beta1: AdamBeta1, Beta2: AdamBeta2, Eps: AdamEpsilon, L1: a.l1, L2: a.l2}
	a.be.AdamStep(a.w, a.g, a.M, a.V, a.n, a.pen, h)
}

package train

import (
	"fmt"
	"math"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/model"
)

// Adam is the optimizer state: first and second moments of every trainable
// tensor, on the device.
type Adam struct {
	LR     float64
	be     device.Backend
	params []*model.Tensor
	M, V   []device.Buffer
	l1, l2 float32
}

// NewAdam allocates zeroed moments for net's parameters.
func NewAdam(be device.Backend, net *model.Net, lr float64) (*Adam, error) {
	a := &Adam{LR: lr, be: be, params: net.Params(), l1: float32(net.Cfg.L1), l2: float32(net.Cfg.L2)}
	for _, p := range a.params {
		m, err := be.Alloc(device.Float32, p.Len())
		if err != nil {
			a.Free()
			return nil, fmt.Errorf("allocating Adam moments: %w", err)
		}
		a.M = append(a.M, m)
		v, err := be.Alloc(device.Float32, p.Len())
		if err != nil {
			a.Free()
			return nil, fmt.Errorf("allocating Adam moments: %w", err)
		}
		a.V = append(a.V, v)
		be.Fill(m, p.Len(), 0)
		be.Fill(v, p.Len(), 0)
	}
	return a, be.Err()
}

// Free releases the moments.
func (a *Adam) Free() {
	for _, b := range append(a.M, a.V...) {
		a.be.Free(b)
	}
	a.M, a.V = nil, nil
}

// Alpha is step t's bias-corrected learning rate lr·√(1−β2^t)/(1−β1^t), t ≥ 1.
func Alpha(lr float64, t uint64) float64 {
	ft := float64(t)
	return lr * math.Sqrt(1-math.Pow(AdamBeta2, ft)) / (1 - math.Pow(AdamBeta1, ft))
}

// Step applies update t (counted from 1) to every parameter, with the
// L1/L2 penalty gradients on the penalized (hidden) kernels.
func (a *Adam) Step(t uint64) {
	h := device.Adam{Alpha: float32(Alpha(a.LR, t)), Beta1: AdamBeta1, Beta2: AdamBeta2, Eps: AdamEpsilon}
	for i, p := range a.params {
		hp := h
		if p.Penalized {
			hp.L1, hp.L2 = a.l1, a.l2
		}
		a.be.AdamStep(p.W, p.G, a.M[i], a.V[i], p.Len(), hp)
	}
}

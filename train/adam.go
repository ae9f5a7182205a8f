package train

import (
	"fmt"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/model"
)

// Adam is the optimizer state: the first and second moments of every
// trainable tensor, on the device, each in one buffer laid out as the
// network's parameter buffer (model.Net.ParamBuffers), so that a step is
// one pass over contiguous memory: one AdamStep call for every lane. Each
// lane's learning rate and penalties are the backend's lane parameters.
type Adam struct {
	be     device.Backend
	w, g   device.Buffer // the network's parameters and gradients
	n, pen int           // their length, and the penalized prefix
	M, V   device.Buffer
}

// NewAdam allocates zeroed moments for net's parameters.
func NewAdam(be device.Backend, net *model.Net) (*Adam, error) {
	a := &Adam{be: be}
	a.w, a.g, a.n, a.pen = net.ParamBuffers()
	var err error
	for _, b := range []*device.Buffer{&a.M, &a.V} {
		if *b, err = be.Alloc(device.Float, a.n); err != nil {
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

// Correction is step t's bias correction √(1−β2^t)/(1−β1^t) with Keras's
// β1 and β2, t ≥ 1: a lane's step t moves by α = lr·Correction(t).
func Correction(t uint64) float64 { return device.AdamCorrection(AdamBeta1, AdamBeta2, t) }

// Alpha is step t's bias-corrected learning rate lr·√(1−β2^t)/(1−β1^t), t ≥ 1.
func Alpha(lr float64, t uint64) float64 { return lr * Correction(t) }

// Step applies update t (counted from 1) to every parameter of every lane
// in one call, with the L1/L2 penalty gradients on the penalized (hidden)
// kernels.
func (a *Adam) Step(t uint64) {
	h := device.Adam{Correction: Correction(t), Beta1: AdamBeta1, Beta2: AdamBeta2, Eps: AdamEpsilon}
	a.be.AdamStep(a.w, a.g, a.M, a.V, a.n, a.pen, h)
}

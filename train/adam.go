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
//
// A step also leaves the penalty of the weights it read pending in
// Pending (device.Adam.Pending), summed in the same pass over the weights:
// the next step's loss (model.Net.LossGrad) or PenaltyFold adds it to the
// accumulators, so a penalized step takes no launch for its penalty.
type Adam struct {
	be     device.Backend
	w, g   device.Buffer // the network's parameters and gradients
	n, pen int           // their length, and the penalized prefix
	M, V   device.Buffer
	// Pending holds the last step's penalty until it is added to the loss;
	// nil when no lane has a penalty.
	Pending device.Buffer
}

// NewAdam allocates zeroed moments for net's parameters, and the buffer of
// a pending penalty when some lane has one.
func NewAdam(be device.Backend, net *model.Net) (*Adam, error) {
	a := &Adam{be: be}
	a.w, a.g, a.n, a.pen = net.ParamBuffers()
	bufs := []*device.Buffer{&a.M, &a.V}
	sizes := []int{a.n, a.n}
	if net.Penalized() {
		bufs, sizes = append(bufs, &a.Pending), append(sizes, be.PendingLen(a.pen))
	}
	var err error
	for i, b := range bufs {
		if *b, err = be.Alloc(device.Float, sizes[i]); err != nil {
			a.Free()
			return nil, fmt.Errorf("allocating Adam's state: %w", err)
		}
		be.Fill(*b, sizes[i], 0)
	}
	return a, be.Err()
}

// Free releases the moments and the pending penalty.
func (a *Adam) Free() {
	for _, b := range []device.Buffer{a.M, a.V, a.Pending} {
		if b != nil {
			a.be.Free(b)
		}
	}
	a.M, a.V, a.Pending = nil, nil, nil
}

// ClearPending drops a pending penalty (the accumulators it was meant for
// are being reset): zeros written from the host, no launch.
func (a *Adam) ClearPending() error {
	if a.Pending == nil {
		return nil
	}
	zeros := make([]float32, a.Pending.Len())
	for l := 0; l < a.be.Lanes(); l++ {
		if err := a.be.Write(a.Pending, l, 0, zeros); err != nil {
			return err
		}
	}
	return nil
}

// Correction is step t's bias correction √(1−β2^t)/(1−β1^t) with Keras's
// β1 and β2, t ≥ 1: a lane's step t moves by α = lr·Correction(t).
func Correction(t uint64) float64 { return device.AdamCorrection(AdamBeta1, AdamBeta2, t) }

// Alpha is step t's bias-corrected learning rate lr·√(1−β2^t)/(1−β1^t), t ≥ 1.
func Alpha(lr float64, t uint64) float64 { return lr * Correction(t) }

// Step applies update t (counted from 1) to every parameter of every lane
// in one call, with the L1/L2 penalty gradients on the penalized (hidden)
// kernels, and leaves the penalty of a step of rows rows pending (the
// loss sums over the rows, so the penalty is scaled by them).
func (a *Adam) Step(t uint64, rows int) {
	h := device.Adam{Correction: Correction(t), Beta1: AdamBeta1, Beta2: AdamBeta2, Eps: AdamEpsilon}
	if a.Pending != nil {
		h.Pending, h.PenaltyScale = a.Pending, float64(rows)
	}
	a.be.AdamStep(a.w, a.g, a.M, a.V, a.n, a.pen, h)
}

package device

import (
	"fmt"
	"math"
)

// Kind is the element type of a Buffer.
type Kind uint8

const (
	// Float is the backend's floating-point type: float32, or float64 in the
	// CPU oracle's float64 mode (Backend.FloatBits says which). Activations,
	// parameters, gradients and accumulators are Float.
	Float Kind = iota
	Int32      // permutations and index lists
	Uint8      // raw MNIST pixels and labels
)

func (k Kind) String() string {
	switch k {
	case Float:
		return "float"
	case Int32:
		return "int32"
	case Uint8:
		return "uint8"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Buffer is device memory owned by the Backend that allocated it.
//
// A backend trains L lanes (Backend.Lanes) at once. A buffer from Alloc
// holds Len elements for each lane, one lane's part after another (with
// gaps between the parts that a backend may add for alignment); every
// operation works on every lane's part, lane l reading and writing only
// part l. A buffer from AllocShared holds Len elements that every lane
// reads (the training images and labels, an index list all lanes share).
type Buffer interface {
	Len() int     // elements per lane
	Kind() Kind   // element type
	Shared() bool // one copy read by every lane (AllocShared)
}

// Slots of the scalar accumulator buffer (AccLen Float elements per lane)
// that SoftmaxXent and PenaltySum add into. The host zeroes it with Write,
// lets a whole epoch accumulate into it, and reads it back once.
const (
	AccLoss    = 0 // Σ over rows of cross-entropy, plus the penalties PenaltySum (or Adam.Pending) adds
	AccCorrect = 1 // number of rows whose argmax equals the label
	AccBadStep = 2 // first step whose loss was not finite, or -1 (write -1 first)
	AccLen     = 4
)

// LaneParams are the hyper-parameters that differ between the lanes of one
// backend: everything by which the runs of a study differ, once their shapes
// agree. They live on the device (SetLanes), not in the operations'
// arguments, so that one launch serves lanes that differ.
type LaneParams struct {
	Seed        uint64  // key of the lane's dropout masks (Mask)
	DropoutRate float64 // p in [0,1): the share of units dropped; 0 disables dropout
	L1, L2      float64 // penalty weights of PenaltySum and AdamStep
	LR          float64 // Adam's learning rate: the step's α is LR·Adam.Correction
}

// Dropout selects the dropout of one layer in one training step. When On is
// false, or the lane's DropoutRate is 0, the operation taking it applies no
// dropout; otherwise lane l draws Mask{Rate, Seed of lane l, Step, Layer}.
type Dropout struct {
	On    bool
	Step  uint64 // global training step, counted from 0 across epochs
	Layer uint32
}

// Mask is one lane's inverted-dropout mask for one layer and step. The
// mask bit of element e (row-major index within the batch) is
// Philox4x32-10 keyed by Seed with counter (e/4, Layer, Step lo, Step hi),
// word e%4; the element is kept when that word ≥ Threshold(Rate), and kept
// elements are scaled by DropoutScale(Rate) = 1/(1−Rate). Every backend draws
// the same mask.
type Mask struct {
	Rate  float64
	Seed  uint64
	Step  uint64
	Layer uint32
}

// Mask is the mask lane parameters p give dropout d.
func (p LaneParams) Mask(d Dropout) Mask {
	if !d.On {
		return Mask{}
	}
	return Mask{Rate: p.DropoutRate, Seed: p.Seed, Step: d.Step, Layer: d.Layer}
}

// Threshold is the keep threshold for dropout rate p: a uniform 32-bit word u
// keeps its element iff u ≥ Threshold(p), so P(keep) = 1 − p to within 2^-32.
func Threshold(p float64) uint32 {
	t := math.Round(p * (1 << 32))
	if t >= 1<<32 {
		return math.MaxUint32
	}
	return uint32(t)
}

// DropoutScale is the factor 1/(1−p) applied to kept elements (a backend
// rounds it to its precision); 1 when p is 0.
func DropoutScale(p float64) float64 {
	if p == 0 {
		return 1
	}
	return 1 / (1 - p)
}

// Scale is DropoutScale(m.Rate).
func (m Mask) Scale() float64 { return DropoutScale(m.Rate) }

// Adam holds the hyper-parameters of one Adam step that every lane shares.
// With lane l's L1, L2 and LR, on the penalized elements,
//
//	g' = g + L1·sign(w) + 2·L2·w    (g' = g on the elements that are not penalized)
//	m ← Beta1·m + (1−Beta1)·g'
//	v ← Beta2·v + (1−Beta2)·g'²
//	w ← w − α·m/(√v + Eps),  α = LR·Correction
//
// Correction is the bias correction √(1−β2^t)/(1−β1^t) of step t
// (AdamCorrection), computed by the host in float64 from the step count.
//
// When Pending is not nil (a buffer of PendingLen(penalized) Float
// elements a lane), the step also leaves in it, pending, the penalty of the
// weights before the update, the value PenaltySum would add:
//
//	PenaltyScale·(L1·Σ|w[i]| + L2·Σ w[i]²),  i < penalized,
//
// replacing what was pending there (nothing, in a lane whose L1 and L2 are
// both 0). SoftmaxXent or PenaltyFold adds it to the loss, once: a training
// step's penalty is summed in the pass the optimizer makes over the weights
// anyway, rather than in launches of its own.
type Adam struct {
	Correction, Beta1, Beta2, Eps float64
	Pending                       Buffer
	PenaltyScale                  float64
}

// AdamCorrection is step t's bias correction √(1−β2^t)/(1−β1^t), t ≥ 1.
func AdamCorrection(beta1, beta2 float64, t uint64) float64 {
	ft := float64(t)
	return math.Sqrt(1-math.Pow(beta2, ft)) / (1 - math.Pow(beta1, ft))
}

// Backend is one stream of work on a compute device, training Lanes() lanes
// at once: every operation is applied to every lane, lane l's part of each
// per-lane buffer computed from lane l's parts and lane l's LaneParams only,
// so a lane's results do not depend on the other lanes or on how many there
// are (one run is the case of one lane). All shapes are in elements of one
// lane; buffers passed to one call must not overlap unless the call says it
// works in place. A shared buffer may be passed where an operation only
// reads; an operation's outputs are per-lane buffers.
//
// Scalars are float64: a backend rounds them to the precision it computes
// in, so that the CPU backend's float64 mode is a float64 computation
// throughout (the oracle the golden tests pin).
type Backend interface {
	// Name describes the device, e.g. "cpu (gonum, float32)".
	Name() string
	// Lanes is the number of lanes, L ≥ 1.
	Lanes() int
	// FloatBits is the precision of Float buffers: 32, or 64 for the CPU
	// oracle's float64 mode.
	FloatBits() int
	// SetLanes sets every lane's hyper-parameters (len(p) == Lanes()); the
	// operations queued after it use them. Rates outside [0,1) and negative
	// or non-finite penalties and rates are refused.
	SetLanes(p []LaneParams) error

	// Alloc returns a per-lane buffer of n elements a lane, contents undefined.
	Alloc(kind Kind, n int) (Buffer, error)
	// AllocShared returns a buffer of n elements that every lane reads. A
	// shared buffer may also be passed to the other backends of the same
	// Device (the training data is uploaded once per device); it stays owned,
	// and is freed, by the backend that allocated it, after their work on it.
	AllocShared(kind Kind, n int) (Buffer, error)
	// Free releases a buffer (or a view) now. Freeing nil is a no-op.
	Free(b Buffer)
	// View returns a per-lane buffer that aliases elements [off, off+n) of
	// each lane's part of parent, a per-lane Float buffer from Alloc (not a
	// view). off must be a multiple of ViewAlign. Writes through either are
	// seen through the other; the view must be freed before its parent.
	View(parent Buffer, off, n int) (Buffer, error)
	// ViewAlign is the element alignment a view's offset needs (≥ 1).
	ViewAlign() int

	// Write copies src into lane lane's part of dst starting at element off
	// (lane 0 for a shared buffer). src is []float64 or []float32 for a Float
	// buffer (rounded to nearest where the backend's precision is lower),
	// []int32 for Int32 and []uint8 for Uint8. The call returns once src may
	// be reused.
	Write(dst Buffer, lane, off int, src any) error
	// Read waits for queued work and copies elements [off, off+len(dst)) of
	// lane lane's part of src into dst, whose type is as for Write (a Float
	// read into []float32 from a float64 backend is rounded to nearest).
	Read(src Buffer, lane, off int, dst any) error

	// Fill sets x[0:n] = v in every lane.
	Fill(x Buffer, n int, v float64)

	// GatherRows gathers image rows and scales bytes to [0,1]:
	//   dst[r,c] = float(src[idx[idxOff+r], c]) / 255, r < rows, c < cols;
	// src is a Uint8 (N,cols) matrix, idx an Int32 list (each shared or
	// per-lane), dst a Float (rows,cols) matrix.
	GatherRows(dst, src, idx Buffer, idxOff, rows, cols int)

	// Gemm computes C = alpha·op(A)·op(B) + beta·C where op(A) is (m,k) and op(B) is
	// (k,n): A is (m,k), or (k,m) when transA; B is (k,n), or (n,k) when transB;
	// C is (m,n). With beta == 0, C is not read (it may hold NaN).
	Gemm(transA, transB bool, m, n, k int, alpha float64, a, b Buffer, beta float64, c Buffer)

	// GemmBiasAct is a dense layer's forward pass in one operation:
	//   c[i,j] = drop(act(Σ_k a[i,k]·b[k,j] + bias[j])),  a (m,k), b (k,n), c (m,n),
	// with act ReLU when relu is set (identity otherwise, NaN passing through
	// ReLU), and drop the lane's inverted dropout d (element e = i·n+j kept
	// by its Mask and scaled by 1/(1−p); the identity where d is off or the
	// lane's rate is 0). c is not read.
	GemmBiasAct(m, n, k int, a, b, bias Buffer, relu bool, d Dropout, c Buffer)

	// DropoutApply works in place: x[e] = keep(e)·x[e]·scale for e < rows·cols,
	// with the lane's Mask for d (the identity where d is off or the lane's
	// rate is 0). Applied to the gradient with the same d it is dropout's
	// backward pass.
	DropoutApply(x Buffer, rows, cols int, d Dropout)

	// ColSum computes dst[c] = Σ_r x[r,c] for the (rows,cols) matrix x.
	ColSum(dst, x Buffer, rows, cols int)

	// ReLUBackwardColSum is the backward pass of ReLU (and of the dropout
	// after it, when dropout is set) in one pass over the (rows,cols)
	// gradient dx given the layer's output y:
	//   dx[r,c] = dx[r,c]·s where y[r,c] > 0, else 0;  then dst[c] = Σ_r dx[r,c]
	// (the bias gradient of the layer), with s = DropoutScale(lane's rate)
	// when dropout is set and 1 otherwise. A dropped unit has y = 0.
	ReLUBackwardColSum(dx, y, dst Buffer, rows, cols int, dropout bool)

	// BatchNormTrain normalizes the (rows,cols) matrix x with its batch statistics:
	//   mean[c] = Σ_r x[r,c]/rows, var[c] = Σ_r (x[r,c]−mean[c])²/rows (biased),
	//   invstd[c] = 1/√(var[c]+eps), y[r,c] = gamma[c]·(x[r,c]−mean[c])·invstd[c] + beta[c],
	// saves mean and invstd for the backward pass, and updates the moving statistics
	// as Keras does: mov ← mov − (mov − batch)·(1−momentum).
	BatchNormTrain(y, x, gamma, beta, mean, invstd, movMean, movVar Buffer, rows, cols int, eps, momentum float64)

	// BatchNormInfer normalizes with the moving statistics:
	//   y[r,c] = gamma[c]·(x[r,c]−movMean[c])/√(movVar[c]+eps) + beta[c].
	BatchNormInfer(y, x, gamma, beta, movMean, movVar Buffer, rows, cols int, eps float64)

	// BatchNormBackward, with x̂ = (x−mean)·invstd and B = rows:
	//   dbeta[c] = Σ_r dy[r,c], dgamma[c] = Σ_r dy[r,c]·x̂[r,c],
	//   dx[r,c] = gamma[c]·invstd[c]/B · (B·dy[r,c] − dbeta[c] − x̂[r,c]·dgamma[c]).
	// When dbias is not nil, x is the output of a ReLU (BatchNorm after the
	// ReLU, as in the study) and the ReLU's backward pass follows in the
	// same pass, as ReLUBackwardColSum(dx, x, dbias, rows, cols, false):
	//   dx[r,c] = 0 where x[r,c] ≤ 0;  then dbias[c] = Σ_r dx[r,c]
	// (the dense layer's bias gradient).
	BatchNormBackward(dx, dy, x, gamma, mean, invstd, dgamma, dbeta, dbias Buffer, rows, cols int)

	// SoftmaxXent is softmax cross-entropy fused with its gradient, computed
	// stably from the (rows,classes) logits. The label of row r is
	// labels[idx[idxOff+r]] (labels Uint8, idx Int32, each shared or
	// per-lane). It adds into the lane's acc (AccLen elements):
	//   acc[AccLoss] += Σ_r (logsumexp(logits[r,:]) − logits[r,label_r]),
	//   acc[AccCorrect] += #{r : argmax_c logits[r,c] == label_r} (first maximum wins),
	// and if this call's loss is not finite and acc[AccBadStep] < 0 it sets
	// acc[AccBadStep] = step. When dlogits is not nil it writes
	//   dlogits[r,c] = gradScale·(softmax(logits[r,:])[c] − [c == label_r]),
	// and when dbias is not nil too, their column sums (the output layer's
	// bias gradient), as ColSum(dbias, dlogits, rows, classes) would:
	//   dbias[c] = Σ_r dlogits[r,c].
	// When pending is not nil, the penalty pending there (Adam.Pending: the
	// step before's) is first added to acc[AccLoss] and cleared, as
	// PenaltyFold(acc, pending) would: acc[AccLoss] sees a step's loss, then
	// its penalty, then the next step's loss, as with a PenaltySum after
	// each step.
	SoftmaxXent(dlogits, dbias, logits, labels, idx Buffer, idxOff, rows, classes int, gradScale float64, acc, pending Buffer, step int)

	// PendingLen is the length (Float elements a lane) of the buffer in
	// which AdamStep leaves the penalty of a penalized prefix of penalized
	// elements (Adam.Pending); its layout is the backend's own.
	PendingLen(penalized int) int

	// PenaltyFold adds the penalty pending in pending (Adam.Pending) to the
	// lane's acc[AccLoss] and clears it; a lane with nothing pending is left
	// alone. A buffer written with zeros holds nothing pending.
	PenaltyFold(acc, pending Buffer)

	// PenaltySum adds scale·(L1·Σ|w[i]| + L2·Σ w[i]²), i < n, with the lane's
	// L1 and L2, into the lane's acc[AccLoss]; a lane whose L1 and L2 are both
	// 0 adds nothing (its acc is not touched).
	PenaltySum(acc, w Buffer, n int, scale float64)

	// AdamStep updates w, m and v in place from the gradient g (all n long),
	// with the penalty gradients on the first penalized elements only
	// (0 ≤ penalized ≤ n); see Adam for the formula, and for the penalty it
	// leaves pending in h.Pending. One call updates every parameter of a
	// network held in one contiguous buffer.
	AdamStep(w, g, m, v Buffer, n, penalized int, h Adam)

	// Mark returns a marker of the work queued so far, and Wait blocks until
	// that work is done (then the marker is spent): with them the host keeps
	// a bounded number of steps in flight, so that it can stop promptly.
	// Wait returns the first error so far, like Err.
	Mark() Marker
	Wait(m Marker) error

	// Finish waits for all queued work and returns the first error, if any.
	Finish() error
	// Err returns the first error so far without waiting.
	Err() error
	// Close waits, frees every buffer still allocated and releases the stream.
	Close() error
}

// Marker is a point in a Backend's stream of work (Backend.Mark).
type Marker interface{}

// Device is an opened compute device. Each group of runs trained as lanes
// takes its own Backend from it; compiled programs are shared between them,
// and so may be shared buffers (AllocShared).
type Device interface {
	Name() string
	// NewBackend returns a stream of work of lanes lanes (≥ 1).
	NewBackend(lanes int) (Backend, error)
	Close() error
}

// MaxLanes bounds the lanes of one backend (a flag or a file's count is
// checked against it before it sizes anything).
const MaxLanes = 1024

// CheckLanes validates the lane parameters p for a backend of lanes lanes:
// the checks SetLanes makes on every backend.
func CheckLanes(lanes int, p []LaneParams) error {
	if len(p) != lanes {
		return fmt.Errorf("SetLanes: %d lane parameters for %d lanes", len(p), lanes)
	}
	for i, q := range p {
		ok := func(x float64) bool { return x >= 0 && !math.IsInf(x, 0) && !math.IsNaN(x) }
		switch {
		case !(q.DropoutRate >= 0 && q.DropoutRate < 1):
			return fmt.Errorf("SetLanes: lane %d: dropout rate %g, want [0, 1)", i, q.DropoutRate)
		case !ok(q.L1) || !ok(q.L2):
			return fmt.Errorf("SetLanes: lane %d: penalties L1 %g and L2 %g, want finite and ≥ 0", i, q.L1, q.L2)
		case !ok(q.LR):
			return fmt.Errorf("SetLanes: lane %d: learning rate %g, want finite and ≥ 0", i, q.LR)
		}
	}
	return nil
}

package device

import (
	"fmt"
	"math"
)

// Kind is the element type of a Buffer.
type Kind uint8

const (
	Float32 Kind = iota // activations, parameters, gradients (float64 in the CPU oracle's float64 mode)
	Int32               // permutations and index lists
	Uint8               // raw MNIST pixels and labels
)

func (k Kind) String() string {
	switch k {
	case Float32:
		return "float32"
	case Int32:
		return "int32"
	case Uint8:
		return "uint8"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Buffer is device memory owned by the Backend that allocated it.
type Buffer interface {
	Len() int   // number of elements
	Kind() Kind // element type
}

// Slots of the scalar accumulator buffer (AccLen float elements) that
// SoftmaxXent and PenaltySum add into. The host zeroes it with Fill, lets a
// whole epoch accumulate into it, and reads it back once.
const (
	AccLoss    = 0 // Σ over rows of cross-entropy, plus the penalties PenaltySum adds
	AccCorrect = 1 // number of rows whose argmax equals the label
	AccBadStep = 2 // first step whose loss was not finite, or -1 (Fill it with -1 first)
	AccLen     = 4
)

// Dropout selects inverted dropout with a counter-based mask. A zero Rate
// disables it. The mask bit of element e (row-major index within the batch)
// is Philox4x32-10 keyed by Seed with counter (e/4, Layer, Step lo, Step hi),
// word e%4; the element is kept when that word ≥ Threshold(Rate), and kept
// elements are scaled by Scale() = 1/(1−Rate). Every backend draws the same mask.
type Dropout struct {
	Rate  float64
	Seed  uint64
	Step  uint64 // global training step, counted from 0 across epochs
	Layer uint32
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

// Scale is the factor 1/(1−p) applied to kept elements (a backend rounds it
// to its precision).
func (d Dropout) Scale() float64 {
	if d.Rate == 0 {
		return 1
	}
	return 1 / (1 - d.Rate)
}

// Adam holds the hyper-parameters of one Adam step, with the L1/L2 penalty
// gradients fused in on the penalized elements:
//
//	g' = g + L1·sign(w) + 2·L2·w    (g' = g on the elements that are not penalized)
//	m ← Beta1·m + (1−Beta1)·g'
//	v ← Beta2·v + (1−Beta2)·g'²
//	w ← w − Alpha·m/(√v + Eps)
//
// Alpha is the step's bias-corrected rate lr·√(1−β2^t)/(1−β1^t), computed by
// the host in float64 from the step count t (so no device round-trip).
type Adam struct {
	Alpha, Beta1, Beta2, Eps float64
	L1, L2                   float64
}

// Backend is one stream of work on a compute device. All shapes are in
// elements; buffers passed to one call must not overlap unless the call says
// it works in place. Scalars are float64: a backend rounds them to the
// precision it computes in, so that the CPU backend's float64 mode is a
// float64 computation throughout (the oracle the golden tests pin).
type Backend interface {
	// Name describes the device, e.g. "cpu (gonum, float32)".
	Name() string

	// Alloc returns a buffer of n elements of the given kind, contents undefined.
	Alloc(kind Kind, n int) (Buffer, error)
	// Free releases a buffer (or a view) now. Freeing nil is a no-op.
	Free(b Buffer)
	// View returns a buffer that aliases elements [off, off+n) of parent, a
	// buffer of kind Float32 from Alloc (not a view). off must be a multiple of
	// ViewAlign. Writes through either are seen through the other; the view
	// must be freed before its parent.
	View(parent Buffer, off, n int) (Buffer, error)
	// ViewAlign is the element alignment a view's offset needs (≥ 1).
	ViewAlign() int

	// Write copies src into dst starting at element off. src is a []float32,
	// []int32 or []uint8 matching dst's kind. The call returns once src may be reused.
	Write(dst Buffer, off int, src any) error
	// Read waits for queued work and copies elements [off, off+len(dst)) of src
	// into dst ([]float32, []int32 or []uint8 matching src's kind).
	Read(src Buffer, off int, dst any) error

	// Fill sets x[0:n] = v.
	Fill(x Buffer, n int, v float64)

	// GatherRows gathers image rows and scales bytes to [0,1]:
	//   dst[r,c] = float(src[idx[idxOff+r], c]) / 255, r < rows, c < cols;
	// src is a Uint8 (N,cols) matrix, idx an Int32 list, dst a Float32 (rows,cols) matrix.
	GatherRows(dst, src, idx Buffer, idxOff, rows, cols int)

	// Gemm computes C = alpha·op(A)·op(B) + beta·C where op(A) is (m,k) and op(B) is
	// (k,n): A is (m,k), or (k,m) when transA; B is (k,n), or (n,k) when transB;
	// C is (m,n). With beta == 0, C is not read (it may hold NaN).
	Gemm(transA, transB bool, m, n, k int, alpha float64, a, b Buffer, beta float64, c Buffer)

	// GemmBiasAct is a dense layer's forward pass in one operation:
	//   c[i,j] = act(Σ_k a[i,k]·b[k,j] + bias[j]),  a (m,k), b (k,n), c (m,n),
	// with act ReLU when relu is set (identity otherwise, NaN passing through
	// ReLU). c is not read. It equals Gemm then BiasAct without dropout.
	GemmBiasAct(m, n, k int, a, b, bias Buffer, relu bool, c Buffer)

	// BiasAct works in place on the (rows,cols) matrix x:
	//   x[r,c] = drop(act(x[r,c] + bias[c])),
	// where act is ReLU when relu is set (identity otherwise) and drop is d's
	// inverted dropout (identity when d.Rate is 0).
	BiasAct(x, bias Buffer, rows, cols int, relu bool, d Dropout)

	// DropoutApply works in place: x[e] = mask(e)·x[e]·d.Scale() for e < rows·cols.
	// Applied to the gradient with the same d it is dropout's backward pass.
	DropoutApply(x Buffer, rows, cols int, d Dropout)

	// ReLUBackward works in place on the gradient dx given the layer's output y:
	//   dx[e] = dx[e]·scale if y[e] > 0, else 0, for e < n.
	// With scale = 1/(1−p) and y the output of BiasAct with dropout, this is the
	// backward pass of ReLU followed by dropout (a dropped unit has y = 0).
	ReLUBackward(dx, y Buffer, n int, scale float64)

	// ColSum computes dst[c] = Σ_r x[r,c] for the (rows,cols) matrix x.
	ColSum(dst, x Buffer, rows, cols int)

	// ReLUBackwardColSum is ReLUBackward then ColSum in one pass over the
	// (rows,cols) gradient dx: dx[r,c] = dx[r,c]·scale where y[r,c] > 0, else
	// 0; then dst[c] = Σ_r dx[r,c] (the bias gradient of the layer).
	ReLUBackwardColSum(dx, y, dst Buffer, rows, cols int, scale float64)

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
	BatchNormBackward(dx, dy, x, gamma, mean, invstd, dgamma, dbeta Buffer, rows, cols int)

	// SoftmaxXent is softmax cross-entropy fused with its gradient, computed
	// stably from the (rows,classes) logits. The label of row r is
	// labels[idx[idxOff+r]] (labels Uint8, idx Int32). It adds into acc:
	//   acc[AccLoss] += Σ_r (logsumexp(logits[r,:]) − logits[r,label_r]),
	//   acc[AccCorrect] += #{r : argmax_c logits[r,c] == label_r} (first maximum wins),
	// and if this call's loss is not finite and acc[AccBadStep] < 0 it sets
	// acc[AccBadStep] = step. When dlogits is not nil it writes
	//   dlogits[r,c] = gradScale·(softmax(logits[r,:])[c] − [c == label_r]).
	SoftmaxXent(dlogits, logits, labels, idx Buffer, idxOff, rows, classes int, gradScale float64, acc Buffer, step int)

	// PenaltySum adds scale·(l1·Σ|w[i]| + l2·Σ w[i]²), i < n, into acc[AccLoss].
	PenaltySum(acc, w Buffer, n int, l1, l2, scale float64)

	// AdamStep updates w, m and v in place from the gradient g (all n long),
	// with the penalty gradients on the first penalized elements only
	// (0 ≤ penalized ≤ n); see Adam for the formula. One call updates every
	// parameter of a network held in one contiguous buffer.
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

// Device is an opened compute device. Each run (or each of several runs
// trained side by side) takes its own Backend from it; compiled programs are
// shared between them.
type Device interface {
	Name() string
	NewBackend() (Backend, error)
	Close() error
}

// SideBySide is how many runs a study trains at once on d when the user
// does not say: what d suggests through a SideBySide() int method, else 1.
func SideBySide(d Device) int {
	if s, ok := d.(interface{ SideBySide() int }); ok {
		return max(1, s.SideBySide())
	}
	return 1
}

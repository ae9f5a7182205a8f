package cpu

import (
	"fmt"
	"math"
	"runtime"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	gonumblas "gonum.org/v1/gonum/blas/gonum"

	"github.com/regcl/regcl/device"
)

// Float is the element type of a backend's float buffers.
type Float interface{ float32 | float64 }

// Buf is a CPU buffer. Exactly one of its slices is set, by Kind.
type Buf[T Float] struct {
	F    []T
	I    []int32
	U    []uint8
	kind device.Kind
}

func (b *Buf[T]) Len() int {
	switch b.kind {
	case device.Int32:
		return len(b.I)
	case device.Uint8:
		return len(b.U)
	}
	return len(b.F)
}

func (b *Buf[T]) Kind() device.Kind { return b.kind }

// Backend implements device.Backend on the host. It is not safe for
// concurrent use; make one per run.
type Backend[T Float] struct {
	// Scalars32 rounds every scalar argument (and every constant derived
	// from one, such as 1−β2) to float32 before use, as a float32 device
	// does. The float64 oracle with Scalars32 computes in float64 from
	// exactly the numbers an OpenCL device receives, so that comparing the
	// two measures arithmetic rounding alone (train's agreement test); the
	// golden tests leave it off, to compute with the true constants.
	Scalars32 bool
	err       error
	blas      gonumblas.Implementation
}

// scalar is x as this backend uses it: rounded to float32 under Scalars32.
func (be *Backend[T]) scalar(x float64) float64 {
	if be.Scalars32 {
		return float64(float32(x))
	}
	return x
}

// New returns a CPU backend computing in T.
func New[T Float]() *Backend[T] { return &Backend[T]{} }

// Device is the CPU as a device.Device.
type Device struct{}

func (Device) Name() string                        { return "cpu (gonum, float32)" }
func (Device) NewBackend() (device.Backend, error) { return New[float32](), nil }
func (Device) Close() error                        { return nil }

// SideBySide is the number of CPUs Go may use: a run of this backend keeps
// about one core busy (gonum's products at the study's sizes run on the
// calling goroutine), so a study trains one run per core (measured on 2
// cores: 4 runs of 1 epoch took 8.4 s one at a time, 5.0 s two at a time).
func (Device) SideBySide() int { return runtime.GOMAXPROCS(0) }

func (be *Backend[T]) Name() string {
	var z T
	return fmt.Sprintf("cpu (gonum, %T)", z)
}

func (be *Backend[T]) Alloc(kind device.Kind, n int) (device.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("cpu: Alloc: negative length %d", n)
	}
	b := &Buf[T]{kind: kind}
	switch kind {
	case device.Float32:
		b.F = make([]T, n)
	case device.Int32:
		b.I = make([]int32, n)
	case device.Uint8:
		b.U = make([]uint8, n)
	default:
		return nil, fmt.Errorf("cpu: Alloc: unknown kind %v", kind)
	}
	return b, nil
}

func (be *Backend[T]) Free(device.Buffer) {}

// View aliases parent's float elements [off, off+n).
func (be *Backend[T]) View(parent device.Buffer, off, n int) (device.Buffer, error) {
	p, ok := parent.(*Buf[T])
	if !ok || p.kind != device.Float32 {
		return nil, fmt.Errorf("cpu: View: the parent must be a Float32 buffer of this backend")
	}
	if off < 0 || n < 0 || off+n > len(p.F) {
		return nil, fmt.Errorf("cpu: View: elements [%d, %d) of a buffer of %d", off, off+n, len(p.F))
	}
	return &Buf[T]{F: p.F[off : off+n : off+n], kind: device.Float32}, nil
}

// ViewAlign is 1: host slices start anywhere.
func (be *Backend[T]) ViewAlign() int { return 1 }

// Floats returns the float slice behind b, for tests and the float64 oracle.
func Floats[T Float](b device.Buffer) []T { return b.(*Buf[T]).F }

func (be *Backend[T]) Write(dst device.Buffer, off int, src any) error {
	d := dst.(*Buf[T])
	switch s := src.(type) {
	case []float32:
		return moveIn("Write", d, device.Float32, d.F, off, s)
	case []float64:
		return moveIn("Write", d, device.Float32, d.F, off, s)
	case []int32:
		return moveIn("Write", d, device.Int32, d.I, off, s)
	case []uint8:
		return moveIn("Write", d, device.Uint8, d.U, off, s)
	}
	return fmt.Errorf("cpu: Write: unsupported source %T", src)
}

func (be *Backend[T]) Read(src device.Buffer, off int, dst any) error {
	s := src.(*Buf[T])
	var err error
	switch d := dst.(type) {
	case []float32:
		err = moveOut(s, device.Float32, s.F, off, d)
	case []float64:
		err = moveOut(s, device.Float32, s.F, off, d)
	case []int32:
		err = moveOut(s, device.Int32, s.I, off, d)
	case []uint8:
		err = moveOut(s, device.Uint8, s.U, off, d)
	default:
		err = fmt.Errorf("cpu: Read: unsupported destination %T", dst)
	}
	if err != nil {
		return err
	}
	return be.err
}

type number interface {
	~float32 | ~float64 | ~int32 | ~uint8
}

// moveIn copies (converting) src into buf[off:], after checking kind and range.
func moveIn[D, S number](op string, b device.Buffer, want device.Kind, buf []D, off int, src []S) error {
	if b.Kind() != want || off < 0 || off+len(src) > len(buf) {
		return fmt.Errorf("cpu: %s: %d %T elements at %d of a %v buffer of %d", op, len(src), src, off, b.Kind(), b.Len())
	}
	for i, v := range src {
		buf[off+i] = D(v)
	}
	return nil
}

// moveOut copies (converting) buf[off:off+len(dst)] into dst.
func moveOut[D, S number](b device.Buffer, want device.Kind, buf []S, off int, dst []D) error {
	if b.Kind() != want || off < 0 || off+len(dst) > len(buf) {
		return fmt.Errorf("cpu: Read: %d %T elements at %d of a %v buffer of %d", len(dst), dst, off, b.Kind(), b.Len())
	}
	for i := range dst {
		dst[i] = D(buf[off+i])
	}
	return nil
}

// Mark and Wait: the CPU backend works synchronously, so every marker is
// reached when Mark returns.
func (be *Backend[T]) Mark() device.Marker      { return nil }
func (be *Backend[T]) Wait(device.Marker) error { return be.err }
func (be *Backend[T]) Finish() error            { return be.err }
func (be *Backend[T]) Err() error               { return be.err }
func (be *Backend[T]) Close() error             { return be.err }

func f[T Float](b device.Buffer) []T { return b.(*Buf[T]).F }

// Fill: x[0:n] = v.
func (be *Backend[T]) Fill(x device.Buffer, n int, v float64) {
	xs := f[T](x)[:n]
	for i := range xs {
		xs[i] = T(be.scalar(v))
	}
}

// GatherRows: dst[r,c] = src[idx[idxOff+r], c] / 255.
func (be *Backend[T]) GatherRows(dst, src, idx device.Buffer, idxOff, rows, cols int) {
	d := f[T](dst)
	s := src.(*Buf[T]).U
	ix := idx.(*Buf[T]).I[idxOff : idxOff+rows]
	for r, i := range ix {
		row := s[int(i)*cols : int(i)*cols+cols]
		out := d[r*cols : r*cols+cols]
		for c, p := range row {
			out[c] = T(p) / 255
		}
	}
}

// Gemm: C = alpha·op(A)·op(B) + beta·C, row-major, through gonum's BLAS.
func (be *Backend[T]) Gemm(transA, transB bool, m, n, k int, alpha float64, a, b device.Buffer, beta float64, c device.Buffer) {
	if m == 0 || n == 0 {
		return
	}
	tA, tB := blas.NoTrans, blas.NoTrans
	lda, ldb := k, n
	if transA {
		tA, lda = blas.Trans, m
	}
	if transB {
		tB, ldb = blas.Trans, k
	}
	alpha, beta = be.scalar(alpha), be.scalar(beta)
	cs := f[T](c)[:m*n]
	if beta == 0 {
		// BLAS implementations may compute 0·C, which is NaN where C holds NaN.
		clear(cs)
	}
	if k == 0 {
		scale(cs, T(beta))
		return
	}
	switch as := any(f[T](a)).(type) {
	case []float32:
		be.blas.Sgemm(tA, tB, m, n, k, float32(alpha), as[:m*k], lda, any(f[T](b)).([]float32)[:k*n], ldb, float32(beta), any(cs).([]float32), n)
	case []float64:
		be.blas.Dgemm(tA, tB, m, n, k, alpha, as[:m*k], lda, any(f[T](b)).([]float64)[:k*n], ldb, beta, any(cs).([]float64), n)
	}
}

func scale[T Float](x []T, s T) {
	for i := range x {
		x[i] *= s
	}
}

// GemmBiasAct: c = act(a·b + bias), as Gemm then BiasAct without dropout.
func (be *Backend[T]) GemmBiasAct(m, n, k int, a, b, bias device.Buffer, relu bool, c device.Buffer) {
	be.Gemm(false, false, m, n, k, 1, a, b, 0, c)
	be.BiasAct(c, bias, m, n, relu, device.Dropout{})
}

// ReLUBackwardColSum: ReLUBackward, then ColSum of the result.
func (be *Backend[T]) ReLUBackwardColSum(dx, y, dst device.Buffer, rows, cols int, scale float64) {
	be.ReLUBackward(dx, y, rows*cols, scale)
	be.ColSum(dst, dx, rows, cols)
}

// BiasAct: x[r,c] = drop(act(x[r,c] + bias[c])).
func (be *Backend[T]) BiasAct(x, bias device.Buffer, rows, cols int, relu bool, d device.Dropout) {
	xs, bs := f[T](x)[:rows*cols], f[T](bias)[:cols]
	thr, sc := device.Threshold(d.Rate), T(be.scalar(d.Scale()))
	for r := 0; r < rows; r++ {
		row := xs[r*cols : r*cols+cols]
		for c := range row {
			v := row[c] + bs[c]
			if relu && v < 0 { // NaN passes through, so divergence is seen
				v = 0
			}
			if d.Rate != 0 {
				if d.Bits(r*cols+c) >= thr {
					v *= sc
				} else {
					v = 0
				}
			}
			row[c] = v
		}
	}
}

// DropoutApply: x[e] = mask(e)·x[e]·scale.
func (be *Backend[T]) DropoutApply(x device.Buffer, rows, cols int, d device.Dropout) {
	if d.Rate == 0 {
		return
	}
	xs := f[T](x)[:rows*cols]
	thr, sc := device.Threshold(d.Rate), T(be.scalar(d.Scale()))
	for e := range xs {
		if d.Bits(e) >= thr {
			xs[e] *= sc
		} else {
			xs[e] = 0
		}
	}
}

// ReLUBackward: dx[e] = dx[e]·scale where y[e] > 0, else 0.
func (be *Backend[T]) ReLUBackward(dx, y device.Buffer, n int, scale float64) {
	ds, ys := f[T](dx)[:n], f[T](y)[:n]
	s := T(be.scalar(scale))
	for i, v := range ys {
		if v > 0 {
			ds[i] *= s
		} else {
			ds[i] = 0
		}
	}
}

// ColSum: dst[c] = Σ_r x[r,c], summed in row order.
func (be *Backend[T]) ColSum(dst, x device.Buffer, rows, cols int) {
	ds, xs := f[T](dst)[:cols], f[T](x)[:rows*cols]
	clear(ds)
	for r := 0; r < rows; r++ {
		for c, v := range xs[r*cols : r*cols+cols] {
			ds[c] += v
		}
	}
}

// BatchNormTrain: batch statistics (float64 accumulation), normalization and
// the moving-average update; see device.Backend.
func (be *Backend[T]) BatchNormTrain(y, x, gamma, beta, mean, invstd, movMean, movVar device.Buffer, rows, cols int, eps, momentum float64) {
	ys, xs := f[T](y), f[T](x)
	g, b, mu, is, mm, mv := f[T](gamma), f[T](beta), f[T](mean), f[T](invstd), f[T](movMean), f[T](movVar)
	decay, eps := T(be.scalar(1-momentum)), be.scalar(eps)
	for c := 0; c < cols; c++ {
		var s float64
		for r := 0; r < rows; r++ {
			s += float64(xs[r*cols+c])
		}
		m := s / float64(rows)
		var ss float64
		for r := 0; r < rows; r++ {
			d := float64(xs[r*cols+c]) - m
			ss += d * d
		}
		v := ss / float64(rows)
		mu[c] = T(m)
		is[c] = T(1 / math.Sqrt(v+eps))
		for r := 0; r < rows; r++ {
			ys[r*cols+c] = g[c]*(xs[r*cols+c]-mu[c])*is[c] + b[c]
		}
		mm[c] = flush(mm[c] - (mm[c]-T(m))*decay)
		mv[c] = flush(mv[c] - (mv[c]-T(v))*decay)
	}
}

// BatchNormInfer normalizes with the moving statistics.
func (be *Backend[T]) BatchNormInfer(y, x, gamma, beta, movMean, movVar device.Buffer, rows, cols int, eps float64) {
	ys, xs := f[T](y), f[T](x)
	g, b, mm, mv := f[T](gamma), f[T](beta), f[T](movMean), f[T](movVar)
	for c := 0; c < cols; c++ {
		is := T(1 / math.Sqrt(float64(mv[c])+be.scalar(eps)))
		for r := 0; r < rows; r++ {
			ys[r*cols+c] = g[c]*(xs[r*cols+c]-mm[c])*is + b[c]
		}
	}
}

// BatchNormBackward; see device.Backend.
func (be *Backend[T]) BatchNormBackward(dx, dy, x, gamma, mean, invstd, dgamma, dbeta device.Buffer, rows, cols int) {
	dxs, dys, xs := f[T](dx), f[T](dy), f[T](x)
	g, mu, is, dg, db := f[T](gamma), f[T](mean), f[T](invstd), f[T](dgamma), f[T](dbeta)
	n := T(rows)
	for c := 0; c < cols; c++ {
		var sb, sg float64
		for r := 0; r < rows; r++ {
			d := dys[r*cols+c]
			sb += float64(d)
			sg += float64(d * (xs[r*cols+c] - mu[c]) * is[c])
		}
		db[c], dg[c] = T(sb), T(sg)
		k := g[c] * is[c] / n
		for r := 0; r < rows; r++ {
			xh := (xs[r*cols+c] - mu[c]) * is[c]
			dxs[r*cols+c] = k * (n*dys[r*cols+c] - db[c] - xh*dg[c])
		}
	}
}

// SoftmaxXent: fused, stable softmax cross-entropy; see device.Backend.
func (be *Backend[T]) SoftmaxXent(dlogits, logits, labels, idx device.Buffer, idxOff, rows, classes int, gradScale float64, acc device.Buffer, step int) {
	ls := f[T](logits)
	lab := labels.(*Buf[T]).U
	ix := idx.(*Buf[T]).I
	var dl []T
	if dlogits != nil {
		dl = f[T](dlogits)
	}
	var loss, correct float64
	for r := 0; r < rows; r++ {
		row := ls[r*classes : r*classes+classes]
		y := int(lab[ix[idxOff+r]])
		best := 0
		for c := 1; c < classes; c++ {
			if row[c] > row[best] {
				best = c
			}
		}
		mx := float64(row[best])
		var se float64
		for _, v := range row {
			se += math.Exp(float64(v) - mx)
		}
		lse := mx + math.Log(se)
		loss += lse - float64(row[y])
		if best == y {
			correct++
		}
		if dl != nil {
			for c, v := range row {
				p := math.Exp(float64(v) - lse)
				if c == y {
					p--
				}
				dl[r*classes+c] = flush(T(be.scalar(gradScale) * p))
			}
		}
	}
	a := f[T](acc)
	a[device.AccLoss] += T(loss)
	a[device.AccCorrect] += T(correct)
	if (math.IsNaN(loss) || math.IsInf(loss, 0)) && a[device.AccBadStep] < 0 {
		a[device.AccBadStep] = T(step)
	}
}

// PenaltySum: acc[AccLoss] += scale·(l1·Σ|w| + l2·Σw²), float64 accumulation.
func (be *Backend[T]) PenaltySum(acc, w device.Buffer, n int, l1, l2, scale float64) {
	var s1, s2 float64
	for _, v := range f[T](w)[:n] {
		s1 += math.Abs(float64(v))
		s2 += float64(v) * float64(v)
	}
	f[T](acc)[device.AccLoss] += T(be.scalar(scale) * (be.scalar(l1)*s1 + be.scalar(l2)*s2))
}

// AdamStep: the Adam update with the penalty gradient fused on the first
// penalized elements; see device.Adam.
//
// Terms that would be subnormal are taken as 0, as on a device that flushes
// them (-cl-denorms-are-zero), without being computed: computing them costs
// the CPU its subnormal penalty, and in the run they arise every step, long
// before any stored result is subnormal. A weight that an L2 penalty decays
// on a pixel that is always 0 has g' = 2·λ2·w, and (1−β2)·g'² falls below
// 2⁻¹²⁶ for every |w| below about 1.7e-14 (λ2 = 1e-4): without the guard,
// l2's late epochs on the gonum backend ran at 0.74× its fresh ones.
func (be *Backend[T]) AdamStep(w, g, m, v device.Buffer, n, penalized int, h device.Adam) {
	ws, gs, ms, vs := f[T](w)[:n], f[T](g)[:n], f[T](m)[:n], f[T](v)[:n]
	b1, b2 := T(be.scalar(h.Beta1)), T(be.scalar(h.Beta2))
	// 1−β in float64, then rounded: 1−float32(0.999) would be off by 1.3e-5.
	c1, c2 := T(be.scalar(1-h.Beta1)), T(be.scalar(1-h.Beta2))
	l1, l2x2 := T(be.scalar(h.L1)), 2*T(be.scalar(h.L2))
	alpha, eps := T(be.scalar(h.Alpha)), T(be.scalar(h.Eps))
	// Below these magnitudes, 2·λ2·w, (1−β1)·g' and (1−β2)·g'² are
	// subnormal. Magnitudes are compared as bits (see mag): a test of the
	// sign would be a branch that fails half the time.
	// Without L2, no |w| reaches tinyW (not even a NaN's bits).
	tinyW, tinyM, tinyV := uint64(math.MaxUint64), mag(T(minNormal32/float64(c1))), mag(T(math.Sqrt(minNormal32/float64(c2))))
	if l2x2 != 0 {
		tinyW = mag(T(minNormal32 / float64(l2x2)))
	}
	for i := range ws {
		gi := gs[i]
		if i < penalized {
			if l1 != 0 {
				gi += l1 * sign(ws[i])
			}
			if mag(ws[i]) >= tinyW {
				gi += l2x2 * ws[i]
			}
		}
		mi, vi := b1*ms[i], b2*vs[i]
		a := mag(gi)
		if a >= tinyM {
			mi += c1 * gi
		}
		if a >= tinyV {
			vi += c2 * gi * gi
		}
		ws[i] -= alpha * mi / (T(math.Sqrt(float64(vi))) + eps)
		// Flush subnormal results to zero, as the kernel does (see flush).
		ms[i], vs[i], ws[i] = flush(mi), flush(vi), flush(ws[i])
	}
}

// minNormal32 is the smallest normal float32, 2⁻¹²⁶.
const minNormal32 = 0x1p-126

// flush returns x, or 0 where |x| < 2⁻¹²⁶: float32's subnormal range. A run
// breeds subnormals in three places, measured with regcl bench --denormals:
// Adam's weights and moments (an L2 penalty decaying the weights of pixels
// that are always 0, moments of gradients that stay 0), BatchNorm's moving
// statistics of a dead unit, and softmax probabilities below e⁻⁸⁷. Go cannot
// set the CPU's flush-to-zero mode, and each operation on a subnormal costs
// up to 100 cycles, so these operations flush their results, as the
// kernels do; the float64 oracle flushes at the same threshold, so that
// both compute the same function.
func flush[T Float](x T) T {
	if unsafe.Sizeof(x) == 4 {
		// float32: zero or subnormal when the exponent bits are 0, then
		// ±0 as the kernel's FLUSH gives. Bits, not x < a && x > −a (a
		// coin toss on the sign: a mispredicted branch every other value)
		// nor |x| in float64 (conversions): this loop is the gonum
		// AdamStep's, and either made it 2–4× slower.
		b := math.Float32bits(float32(x))
		if b&0x7f800000 == 0 {
			return T(math.Float32frombits(b & 0x80000000))
		}
		return x
	}
	if math.Abs(float64(x)) < minNormal32 {
		return 0
	}
	return x
}

// mag orders floats by magnitude without a branch on the sign: the bits
// of |x| as an integer, which for IEEE 754 values grows with |x| (NaN above
// +Inf). One integer compare, where math.Abs on a float32 would convert it
// twice.
func mag[T Float](x T) uint64 {
	if unsafe.Sizeof(x) == 4 {
		return uint64(math.Float32bits(float32(x)) &^ (1 << 31))
	}
	return math.Float64bits(float64(x)) &^ (1 << 63)
}

func sign[T Float](x T) T {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

package cpu

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	gonumblas "gonum.org/v1/gonum/blas/gonum"

	"github.com/regcl/regcl/device"
)

// Float is the element type of a backend's float buffers.
type Float interface{ float32 | float64 }

// Buf is a CPU buffer: lanes parts of n elements, part l at elements
// [l·stride, l·stride+n) of the one slice of its kind (f, i or u). A shared
// buffer has one part, which every lane reads. A view shares its parent's
// slice and stride, starting at an offset.
type Buf[T Float] struct {
	kind   device.Kind
	n      int // elements per lane
	stride int // elements from one lane's part to the next
	lanes  int // parts: the backend's lanes, or 1 when shared
	shared bool
	f      []T
	i      []int32
	u      []uint8
}

func (b *Buf[T]) Len() int          { return b.n }
func (b *Buf[T]) Kind() device.Kind { return b.kind }
func (b *Buf[T]) Shared() bool      { return b.shared }

// lo is where lane l's part starts; a shared buffer's one part serves every lane.
func (b *Buf[T]) lo(l int) int {
	if b.shared {
		return 0
	}
	return l * b.stride
}

// Floats returns lane 0's part of the Float buffer b (Len elements), for
// tests and the float64 oracle's callers; writes to it are the buffer's.
func Floats[T Float](b device.Buffer) []T { return LaneFloats[T](b, 0) }

// LaneFloats returns lane l's part of the Float buffer b (Len elements).
func LaneFloats[T Float](b device.Buffer, l int) []T {
	p := b.(*Buf[T])
	o := p.lo(l)
	return p.f[o : o+p.n : o+p.n]
}

// LaneInt32s returns lane l's part of the Int32 buffer b of a backend computing in T.
func LaneInt32s[T Float](b device.Buffer, l int) []int32 {
	p := b.(*Buf[T])
	o := p.lo(l)
	return p.i[o : o+p.n : o+p.n]
}

// LaneUint8s returns lane l's part of the Uint8 buffer b of a backend computing in T.
func LaneUint8s[T Float](b device.Buffer, l int) []uint8 {
	p := b.(*Buf[T])
	o := p.lo(l)
	return p.u[o : o+p.n : o+p.n]
}

// Backend implements device.Backend on the host for Lanes() lanes. It is not
// safe for concurrent use; make one per group of runs. With more than one
// lane, an operation runs its lanes on parallel goroutines (at most
// GOMAXPROCS), each lane's part computed exactly as a backend of one lane
// computes it, so a lane's results are bit-identical whatever the number of
// lanes.
type Backend[T Float] struct {
	// Scalars32 rounds every scalar argument (and every constant derived
	// from one, such as 1−β2, and the lanes' parameters) to float32 before
	// use, as a float32 device does. The float64 oracle with Scalars32
	// computes in float64 from exactly the numbers an OpenCL device
	// receives, so that comparing the two measures arithmetic rounding
	// alone (train's agreement test); the golden tests leave it off, to
	// compute with the true constants.
	Scalars32 bool
	lanes     int
	params    []device.LaneParams
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

// New returns a CPU backend computing in T for lanes lanes, every lane's
// parameters zero (no dropout, no penalties, learning rate 0) until SetLanes.
// It panics unless 1 ≤ lanes ≤ device.MaxLanes (Device.NewBackend returns an
// error instead).
func New[T Float](lanes int) *Backend[T] {
	if lanes < 1 || lanes > device.MaxLanes {
		panic(fmt.Sprintf("cpu: New: %d lanes, want 1 to %d", lanes, device.MaxLanes))
	}
	return &Backend[T]{lanes: lanes, params: make([]device.LaneParams, lanes)}
}

// Device is the CPU as a device.Device, computing in float32.
type Device struct{}

func (Device) Name() string { return "cpu (gonum, float32)" }
func (Device) NewBackend(lanes int) (device.Backend, error) {
	if lanes < 1 || lanes > device.MaxLanes {
		return nil, fmt.Errorf("cpu: NewBackend: %d lanes, want 1 to %d", lanes, device.MaxLanes)
	}
	return New[float32](lanes), nil
}
func (Device) Close() error { return nil }

func (be *Backend[T]) Name() string {
	var z T
	return fmt.Sprintf("cpu (gonum, %T)", z)
}

func (be *Backend[T]) Lanes() int { return be.lanes }

func (be *Backend[T]) FloatBits() int {
	var z T
	return int(unsafe.Sizeof(z)) * 8
}

// SetLanes stores every lane's parameters after device.CheckLanes.
func (be *Backend[T]) SetLanes(p []device.LaneParams) error {
	if err := device.CheckLanes(be.lanes, p); err != nil {
		return fmt.Errorf("cpu: %w", err)
	}
	copy(be.params, p)
	return nil
}

// each runs f for every lane: in line for one lane, else on up to
// GOMAXPROCS goroutines taking lanes in turn.
func (be *Backend[T]) each(f func(l int)) {
	if be.lanes == 1 {
		f(0)
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := min(be.lanes, runtime.GOMAXPROCS(0)); w > 0; w-- {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := int(next.Add(1) - 1); l < be.lanes; l = int(next.Add(1) - 1) {
				f(l)
			}
		}()
	}
	wg.Wait()
}

// align is the alignment of every lane's part, in bytes: a cache line, so
// that lanes on different cores never share one.
const align = 64

// Alloc returns a per-lane buffer: be.Lanes() parts of n elements, each
// starting on a 64-byte boundary.
func (be *Backend[T]) Alloc(kind device.Kind, n int) (device.Buffer, error) {
	return be.alloc("Alloc", kind, n, be.lanes, false)
}

// AllocShared returns a buffer of one part that every lane reads; any CPU
// backend computing in T accepts it.
func (be *Backend[T]) AllocShared(kind device.Kind, n int) (device.Buffer, error) {
	return be.alloc("AllocShared", kind, n, 1, true)
}

func (be *Backend[T]) alloc(op string, kind device.Kind, n, lanes int, shared bool) (device.Buffer, error) {
	var size int
	switch kind {
	case device.Float:
		var z T
		size = int(unsafe.Sizeof(z))
	case device.Int32:
		size = 4
	case device.Uint8:
		size = 1
	default:
		return nil, fmt.Errorf("cpu: %s: unknown kind %v", op, kind)
	}
	if n < 0 {
		return nil, fmt.Errorf("cpu: %s: negative length %d", op, n)
	}
	per := align / size
	stride := (n + per - 1) / per * per
	if n > maxBytes/size/lanes {
		return nil, fmt.Errorf("cpu: %s: %d %v elements a lane for %d lanes is too large", op, n, kind, lanes)
	}
	b := &Buf[T]{kind: kind, n: n, stride: stride, lanes: lanes, shared: shared}
	total := stride*lanes + per // room to start on a 64-byte boundary
	switch kind {
	case device.Float:
		s := make([]T, total)
		b.f = s[alignOff(unsafe.Pointer(unsafe.SliceData(s)), size):][:stride*lanes]
	case device.Int32:
		s := make([]int32, total)
		b.i = s[alignOff(unsafe.Pointer(unsafe.SliceData(s)), size):][:stride*lanes]
	case device.Uint8:
		s := make([]uint8, total)
		b.u = s[alignOff(unsafe.Pointer(unsafe.SliceData(s)), size):][:stride*lanes]
	}
	return b, nil
}

// maxBytes bounds one buffer (all its lanes), so that sizes never overflow.
const maxBytes = 1 << 40

// alignOff is the number of elements of size bytes from p to the next
// 64-byte boundary.
func alignOff(p unsafe.Pointer, size int) int {
	r := int(uintptr(p) % align)
	if r == 0 {
		return 0
	}
	return (align - r) / size
}

// Free does nothing: the garbage collector reclaims a buffer once unused.
func (be *Backend[T]) Free(device.Buffer) {}

// View aliases elements [off, off+n) of each lane's part of parent.
func (be *Backend[T]) View(parent device.Buffer, off, n int) (device.Buffer, error) {
	p, ok := parent.(*Buf[T])
	if !ok || p.kind != device.Float || p.shared {
		return nil, fmt.Errorf("cpu: View: the parent must be a per-lane Float buffer of a %s backend", be.Name())
	}
	if p.lanes != be.lanes {
		return nil, fmt.Errorf("cpu: View: the parent has %d lanes, the backend %d", p.lanes, be.lanes)
	}
	if off < 0 || n < 0 || off+n > p.n {
		return nil, fmt.Errorf("cpu: View: elements [%d, %d) of a buffer of %d a lane", off, off+n, p.n)
	}
	return &Buf[T]{kind: device.Float, n: n, stride: p.stride, lanes: p.lanes, f: p.f[off:]}, nil
}

// ViewAlign is 1: host slices start anywhere.
func (be *Backend[T]) ViewAlign() int { return 1 }

// buf checks that b is a buffer this backend can work on for transfers.
func (be *Backend[T]) buf(op string, b device.Buffer, lane int) (*Buf[T], error) {
	p, ok := b.(*Buf[T])
	switch {
	case !ok:
		return nil, fmt.Errorf("cpu: %s: a %T is not a buffer of a %s backend", op, b, be.Name())
	case !p.shared && p.lanes != be.lanes:
		return nil, fmt.Errorf("cpu: %s: a buffer of %d lanes on a backend of %d", op, p.lanes, be.lanes)
	case p.shared && lane != 0:
		return nil, fmt.Errorf("cpu: %s: lane %d of a shared buffer (it has lane 0 only)", op, lane)
	case lane < 0 || lane >= p.lanes:
		return nil, fmt.Errorf("cpu: %s: lane %d of a buffer of %d lanes", op, lane, p.lanes)
	}
	return p, nil
}

// Write copies src into lane lane's part of dst from element off. A
// []float64 source of a float32 backend, like a []float32 one of a float64
// backend, is converted as Go converts: float64 to float32 rounds to
// nearest (ties to even), float32 to float64 is exact.
func (be *Backend[T]) Write(dst device.Buffer, lane, off int, src any) error {
	d, err := be.buf("Write", dst, lane)
	if err != nil {
		return err
	}
	o := d.lo(lane)
	switch s := src.(type) {
	case []float32:
		return move("Write", d.kind, device.Float, lane, d.f, o, d.n, off, s, true)
	case []float64:
		return move("Write", d.kind, device.Float, lane, d.f, o, d.n, off, s, true)
	case []int32:
		return move("Write", d.kind, device.Int32, lane, d.i, o, d.n, off, s, true)
	case []uint8:
		return move("Write", d.kind, device.Uint8, lane, d.u, o, d.n, off, s, true)
	}
	return fmt.Errorf("cpu: Write: unsupported source %T (want []float32, []float64, []int32 or []uint8)", src)
}

// Read copies elements [off, off+len(dst)) of lane lane's part of src into
// dst, converting as Write does.
func (be *Backend[T]) Read(src device.Buffer, lane, off int, dst any) error {
	s, err := be.buf("Read", src, lane)
	if err != nil {
		return err
	}
	o := s.lo(lane)
	switch d := dst.(type) {
	case []float32:
		err = move("Read", s.kind, device.Float, lane, s.f, o, s.n, off, d, false)
	case []float64:
		err = move("Read", s.kind, device.Float, lane, s.f, o, s.n, off, d, false)
	case []int32:
		err = move("Read", s.kind, device.Int32, lane, s.i, o, s.n, off, d, false)
	case []uint8:
		err = move("Read", s.kind, device.Uint8, lane, s.u, o, s.n, off, d, false)
	default:
		err = fmt.Errorf("cpu: Read: unsupported destination %T (want []float32, []float64, []int32 or []uint8)", dst)
	}
	if err != nil {
		return err
	}
	return be.err
}

type number interface {
	~float32 | ~float64 | ~int32 | ~uint8
}

// move copies (converting) host into part[off:] when in is set, else
// part[off:] into host, part = all[o:o+n], after checking the buffer's kind and the range.
func move[P, H number](op string, kind, want device.Kind, lane int, all []P, o, n, off int, host []H, in bool) error {
	if kind != want {
		return fmt.Errorf("cpu: %s: %T data for a buffer of %v", op, host, kind)
	}
	if off < 0 || off+len(host) > n {
		return fmt.Errorf("cpu: %s: lane %d: elements [%d, %d) of a buffer of %d a lane", op, lane, off, off+len(host), n)
	}
	part := all[o : o+n]
	if in {
		for i, v := range host {
			part[off+i] = P(v)
		}
	} else {
		for i := range host {
			host[i] = H(part[off+i])
		}
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

// part returns lane l's part of the Float buffer b, n elements. Shapes are
// the caller's contract: a buffer of another lane count or a part shorter
// than n panics.
func (be *Backend[T]) part(b device.Buffer, l, n int) []T {
	p := b.(*Buf[T])
	if !p.shared && p.lanes != be.lanes {
		panic(fmt.Sprintf("cpu: a buffer of %d lanes on a backend of %d", p.lanes, be.lanes))
	}
	if n > p.n {
		panic(fmt.Sprintf("cpu: %d elements of a buffer of %d a lane", n, p.n))
	}
	o := p.lo(l)
	return p.f[o : o+n : o+n]
}

// ints and bytes are lane l's whole part of the Int32 or Uint8 buffer b.
func (be *Backend[T]) ints(b device.Buffer, l int) []int32 {
	p := b.(*Buf[T])
	if !p.shared && p.lanes != be.lanes {
		panic(fmt.Sprintf("cpu: a buffer of %d lanes on a backend of %d", p.lanes, be.lanes))
	}
	o := p.lo(l)
	return p.i[o : o+p.n : o+p.n]
}

func (be *Backend[T]) bytes(b device.Buffer, l int) []uint8 {
	p := b.(*Buf[T])
	if !p.shared && p.lanes != be.lanes {
		panic(fmt.Sprintf("cpu: a buffer of %d lanes on a backend of %d", p.lanes, be.lanes))
	}
	o := p.lo(l)
	return p.u[o : o+p.n : o+p.n]
}

// Fill: x[0:n] = v in every lane.
func (be *Backend[T]) Fill(x device.Buffer, n int, v float64) {
	t := T(be.scalar(v))
	be.each(func(l int) {
		xs := be.part(x, l, n)
		for i := range xs {
			xs[i] = t
		}
	})
}

// GatherRows: dst[r,c] = src[idx[idxOff+r], c] / 255.
func (be *Backend[T]) GatherRows(dst, src, idx device.Buffer, idxOff, rows, cols int) {
	be.each(func(l int) {
		d := be.part(dst, l, rows*cols)
		s := be.bytes(src, l)
		ix := be.ints(idx, l)[idxOff : idxOff+rows]
		for r, i := range ix {
			row := s[int(i)*cols : int(i)*cols+cols]
			out := d[r*cols : r*cols+cols]
			for c, p := range row {
				out[c] = T(p) / 255
			}
		}
	})
}

// Gemm: C = alpha·op(A)·op(B) + beta·C, row-major, through gonum's BLAS.
func (be *Backend[T]) Gemm(transA, transB bool, m, n, k int, alpha float64, a, b device.Buffer, beta float64, c device.Buffer) {
	alpha, beta = be.scalar(alpha), be.scalar(beta)
	be.each(func(l int) {
		be.gemm(transA, transB, m, n, k, alpha, be.part(a, l, m*k), be.part(b, l, k*n), beta, be.part(c, l, m*n))
	})
}

// gemm is one lane's product on its parts.
func (be *Backend[T]) gemm(transA, transB bool, m, n, k int, alpha float64, as, bs []T, beta float64, cs []T) {
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
	if beta == 0 {
		// BLAS implementations may compute 0·C, which is NaN where C holds NaN.
		clear(cs)
	}
	if k == 0 {
		scale(cs, T(beta))
		return
	}
	switch a := any(as).(type) {
	case []float32:
		be.blas.Sgemm(tA, tB, m, n, k, float32(alpha), a, lda, any(bs).([]float32), ldb, float32(beta), any(cs).([]float32), n)
	case []float64:
		be.blas.Dgemm(tA, tB, m, n, k, alpha, a, lda, any(bs).([]float64), ldb, beta, any(cs).([]float64), n)
	}
}

func scale[T Float](x []T, s T) {
	for i := range x {
		x[i] *= s
	}
}

// GemmBiasAct: c = drop(act(a·b + bias)): the product, then bias,
// activation and the lane's dropout on each element.
func (be *Backend[T]) GemmBiasAct(m, n, k int, a, b, bias device.Buffer, relu bool, d device.Dropout, c device.Buffer) {
	be.each(func(l int) {
		cs := be.part(c, l, m*n)
		be.gemm(false, false, m, n, k, 1, be.part(a, l, m*k), be.part(b, l, k*n), 0, cs)
		bs := be.part(bias, l, n)
		mask := be.params[l].Mask(d)
		sc := T(be.scalar(mask.Scale()))
		for i := 0; i < m; i++ {
			row := cs[i*n : i*n+n]
			for j := range row {
				v := row[j] + bs[j]
				if relu && v < 0 { // NaN passes through, so divergence is seen
					v = 0
				}
				if mask.Rate != 0 {
					if mask.Keep(i*n + j) {
						v *= sc
					} else {
						v = 0
					}
				}
				row[j] = v
			}
		}
	})
}

// DropoutApply: x[e] = keep(e)·x[e]·scale with the lane's mask.
func (be *Backend[T]) DropoutApply(x device.Buffer, rows, cols int, d device.Dropout) {
	be.each(func(l int) {
		mask := be.params[l].Mask(d)
		if mask.Rate == 0 {
			return
		}
		xs := be.part(x, l, rows*cols)
		sc := T(be.scalar(mask.Scale()))
		for e := range xs {
			if mask.Keep(e) {
				xs[e] *= sc
			} else {
				xs[e] = 0
			}
		}
	})
}

// ColSum: dst[c] = Σ_r x[r,c], summed in row order.
func (be *Backend[T]) ColSum(dst, x device.Buffer, rows, cols int) {
	be.each(func(l int) {
		colSum(be.part(dst, l, cols), be.part(x, l, rows*cols), rows, cols)
	})
}

func colSum[T Float](ds, xs []T, rows, cols int) {
	clear(ds)
	for r := 0; r < rows; r++ {
		for c, v := range xs[r*cols : r*cols+cols] {
			ds[c] += v
		}
	}
}

// ReLUBackwardColSum: dx[e] = dx[e]·s where y[e] > 0, else 0, with s the
// lane's dropout scale when dropout is set (1 otherwise); then the column
// sums of dx into dst.
func (be *Backend[T]) ReLUBackwardColSum(dx, y, dst device.Buffer, rows, cols int, dropout bool) {
	be.each(func(l int) {
		ds, ys := be.part(dx, l, rows*cols), be.part(y, l, rows*cols)
		s := T(1)
		if dropout {
			s = T(be.scalar(device.DropoutScale(be.params[l].DropoutRate)))
		}
		for i, v := range ys {
			if v > 0 {
				ds[i] *= s
			} else {
				ds[i] = 0
			}
		}
		colSum(be.part(dst, l, cols), ds, rows, cols)
	})
}

// BatchNormTrain: batch statistics (float64 accumulation), normalization and
// the moving-average update; see device.Backend.
func (be *Backend[T]) BatchNormTrain(y, x, gamma, beta, mean, invstd, movMean, movVar device.Buffer, rows, cols int, eps, momentum float64) {
	decay, eps := T(be.scalar(1-momentum)), be.scalar(eps)
	be.each(func(l int) {
		ys, xs := be.part(y, l, rows*cols), be.part(x, l, rows*cols)
		g, b, mu, is := be.part(gamma, l, cols), be.part(beta, l, cols), be.part(mean, l, cols), be.part(invstd, l, cols)
		mm, mv := be.part(movMean, l, cols), be.part(movVar, l, cols)
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
	})
}

// BatchNormInfer normalizes with the moving statistics.
func (be *Backend[T]) BatchNormInfer(y, x, gamma, beta, movMean, movVar device.Buffer, rows, cols int, eps float64) {
	eps = be.scalar(eps)
	be.each(func(l int) {
		ys, xs := be.part(y, l, rows*cols), be.part(x, l, rows*cols)
		g, b, mm, mv := be.part(gamma, l, cols), be.part(beta, l, cols), be.part(movMean, l, cols), be.part(movVar, l, cols)
		for c := 0; c < cols; c++ {
			is := T(1 / math.Sqrt(float64(mv[c])+eps))
			for r := 0; r < rows; r++ {
				ys[r*cols+c] = g[c]*(xs[r*cols+c]-mm[c])*is + b[c]
			}
		}
	})
}

// BatchNormBackward; see device.Backend. With dbias, the ReLU's backward
// pass is ReLUBackwardColSum's own, after the BatchNorm's.
func (be *Backend[T]) BatchNormBackward(dx, dy, x, gamma, mean, invstd, dgamma, dbeta, dbias device.Buffer, rows, cols int) {
	be.batchNormBackward(dx, dy, x, gamma, mean, invstd, dgamma, dbeta, rows, cols)
	if dbias != nil {
		be.ReLUBackwardColSum(dx, x, dbias, rows, cols, false)
	}
}

func (be *Backend[T]) batchNormBackward(dx, dy, x, gamma, mean, invstd, dgamma, dbeta device.Buffer, rows, cols int) {
	n := T(rows)
	be.each(func(l int) {
		dxs, dys, xs := be.part(dx, l, rows*cols), be.part(dy, l, rows*cols), be.part(x, l, rows*cols)
		g, mu, is := be.part(gamma, l, cols), be.part(mean, l, cols), be.part(invstd, l, cols)
		dg, db := be.part(dgamma, l, cols), be.part(dbeta, l, cols)
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
	})
}

// SoftmaxXent: fused, stable softmax cross-entropy; see device.Backend.
// dbias is ColSum's own, after it.
func (be *Backend[T]) SoftmaxXent(dlogits, dbias, logits, labels, idx device.Buffer, idxOff, rows, classes int, gradScale float64, acc, pending device.Buffer, step int) {
	if pending != nil {
		be.PenaltyFold(acc, pending) // the step before's penalty, then this step's loss
	}
	be.softmaxXent(dlogits, logits, labels, idx, idxOff, rows, classes, gradScale, acc, step)
	if dlogits != nil && dbias != nil {
		be.ColSum(dbias, dlogits, rows, classes)
	}
}

func (be *Backend[T]) softmaxXent(dlogits, logits, labels, idx device.Buffer, idxOff, rows, classes int, gradScale float64, acc device.Buffer, step int) {
	gs := be.scalar(gradScale)
	be.each(func(l int) {
		ls := be.part(logits, l, rows*classes)
		lab := be.bytes(labels, l)
		ix := be.ints(idx, l)
		var dl []T
		if dlogits != nil {
			dl = be.part(dlogits, l, rows*classes)
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
					dl[r*classes+c] = flush(T(gs * p))
				}
			}
		}
		a := be.part(acc, l, device.AccLen)
		a[device.AccLoss] += T(loss)
		a[device.AccCorrect] += T(correct)
		if (math.IsNaN(loss) || math.IsInf(loss, 0)) && a[device.AccBadStep] < 0 {
			a[device.AccBadStep] = T(step)
		}
	})
}

// PenaltySum: acc[AccLoss] += scale·(L1·Σ|w| + L2·Σw²) with the lane's L1
// and L2, the sums in float64; a lane without penalties is left alone.
func (be *Backend[T]) PenaltySum(acc, w device.Buffer, n int, scale float64) {
	be.each(func(l int) {
		if v, ok := be.penalty(w, l, n, scale); ok {
			be.part(acc, l, device.AccLen)[device.AccLoss] += v
		}
	})
}

// penalty is lane l's scale·(L1·Σ|w| + L2·Σw²) over w[0:n], the sums in
// float64, rounded once to T; false for a lane without penalties.
func (be *Backend[T]) penalty(w device.Buffer, l, n int, scale float64) (T, bool) {
	p := be.params[l]
	if p.L1 == 0 && p.L2 == 0 {
		return 0, false
	}
	var s1, s2 float64
	for _, v := range be.part(w, l, n) {
		s1 += math.Abs(float64(v))
		s2 += float64(v) * float64(v)
	}
	return T(be.scalar(scale) * (be.scalar(p.L1)*s1 + be.scalar(p.L2)*s2)), true
}

// A pending penalty (device.Adam.Pending) is two elements a lane: 1 when
// one is pending (else 0), then its value, scale·(L1·Σ|w| + L2·Σw²) as
// PenaltySum computes it, rounded once to T.
const pendingLen = 2

// PendingLen: see device.Backend; the same for any prefix.
func (be *Backend[T]) PendingLen(int) int { return pendingLen }

// PenaltyFold: see device.Backend.
func (be *Backend[T]) PenaltyFold(acc, pending device.Buffer) {
	be.each(func(l int) {
		p := be.part(pending, l, pendingLen)
		if p[0] == 0 {
			return
		}
		be.part(acc, l, device.AccLen)[device.AccLoss] += p[1]
		p[0], p[1] = 0, 0
	})
}

// pend leaves lane l's penalty of w[0:n] pending (AdamStep's h.Pending).
func (be *Backend[T]) pend(pending, w device.Buffer, l, n int, scale float64) {
	p := be.part(pending, l, pendingLen)
	p[0], p[1] = 0, 0
	if v, ok := be.penalty(w, l, n, scale); ok {
		p[0], p[1] = 1, v
	}
}

// AdamStep: the Adam update with the lane's penalty gradients fused on the
// first penalized elements; see device.Adam. The lane's step size is
// α = T(LR)·T(Correction), computed in T as a float32 device computes it
// (in the float64 oracle, the float64 product).
//
// Terms that would be subnormal are taken as 0, as on a device that flushes
// them (-cl-denorms-are-zero), without being computed: computing them costs
// the CPU its subnormal penalty, and in the run they arise every step, long
// before any stored result is subnormal. A weight that an L2 penalty decays
// on a pixel that is always 0 has g' = 2·λ2·w, and (1−β2)·g'² falls below
// 2⁻¹²⁶ for every |w| below about 1.7e-14 (λ2 = 1e-4): without the guard,
// l2's late epochs on the gonum backend ran at 0.74× its fresh ones.
func (be *Backend[T]) AdamStep(w, g, m, v device.Buffer, n, penalized int, h device.Adam) {
	b1, b2 := T(be.scalar(h.Beta1)), T(be.scalar(h.Beta2))
	// 1−β in float64, then rounded: 1−float32(0.999) would be off by 1.3e-5.
	c1, c2 := T(be.scalar(1-h.Beta1)), T(be.scalar(1-h.Beta2))
	corr, eps := T(be.scalar(h.Correction)), T(be.scalar(h.Eps))
	// Below these magnitudes, (1−β1)·g' and (1−β2)·g'² are subnormal.
	// Magnitudes are compared as bits (see mag): a test of the sign would
	// be a branch that fails half the time.
	tinyM, tinyV := mag(T(minNormal32/float64(c1))), mag(T(math.Sqrt(minNormal32/float64(c2))))
	be.each(func(l int) {
		p := be.params[l]
		l1, l2x2 := T(be.scalar(p.L1)), 2*T(be.scalar(p.L2))
		alpha := T(be.scalar(p.LR)) * corr
		// Below tinyW, 2·λ2·w is subnormal. Without L2, no |w| reaches
		// tinyW (not even a NaN's bits).
		tinyW := uint64(math.MaxUint64)
		if l2x2 != 0 {
			tinyW = mag(T(minNormal32 / float64(l2x2)))
		}
		if h.Pending != nil {
			be.pend(h.Pending, w, l, penalized, h.PenaltyScale) // the weights before the update
		}
		ws, gs, ms, vs := be.part(w, l, n), be.part(g, l, n), be.part(m, l, n), be.part(v, l, n)
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
	})
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

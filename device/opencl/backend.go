package opencl

import (
	"fmt"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/opencl/cl"
	"github.com/regcl/regcl/kernels"
)

type buffer struct {
	mem    *cl.Mem
	n      int
	kind   device.Kind
	parent *buffer // set for a view
}

func (b *buffer) Len() int          { return b.n }
func (b *buffer) Kind() device.Kind { return b.kind }

// Backend is one command queue on a Device.
type Backend struct {
	dev       *Device
	q         *cl.Queue
	k         map[string]*cl.Kernel            // the ops program's kernels
	gk        map[string]map[string]*cl.Kernel // each matrix-product program's, by settings key
	pack      *cl.Mem                          // scratch for packed panels of B, grown as needed
	packBytes int
	bufs      map[*buffer]struct{}
	lut       *cl.Mem // lut[b] = b/255 for gather_rows
	err       error
	prof      *profile // per-kernel times when the queue profiles
}

func (d *Device) newBackend(profiling bool) (*Backend, error) {
	q, err := cl.CreateQueue(d.ctx, d.Info.dev, profiling)
	if err != nil {
		return nil, err
	}
	be := &Backend{dev: d, q: q, k: map[string]*cl.Kernel{}, gk: map[string]map[string]*cl.Kernel{}, bufs: map[*buffer]struct{}{}}
	if profiling {
		be.prof = newProfile()
	}
	for _, name := range kernels.Ops.Kernels {
		k, err := cl.CreateKernel(d.ops.prog, name)
		if err != nil {
			be.Close()
			return nil, err
		}
		be.k[name] = k
	}
	for key, g := range d.gemms {
		ks := map[string]*cl.Kernel{}
		be.gk[key] = ks
		for _, name := range d.gemm.Kernels {
			k, err := cl.CreateKernel(g.prog, name)
			if err != nil {
				be.Close()
				return nil, err
			}
			ks[name] = k
		}
	}
	lut := make([]float32, 256)
	for i := range lut {
		lut[i] = float32(i) / 255 // float32 division, correctly rounded: the same value as the CPU backend's
	}
	if be.lut, err = cl.CreateBuffer(d.ctx, cl.MemReadOnly, 4*len(lut)); err == nil {
		err = cl.WriteBuffer(q, be.lut, true, 0, lut)
	}
	if err != nil {
		be.Close()
		return nil, err
	}
	return be, nil
}

func (be *Backend) Name() string { return be.dev.Name() }

func elemSize(k device.Kind) int {
	switch k {
	case device.Int32, device.Float32:
		return 4
	}
	return 1
}

func (be *Backend) Alloc(kind device.Kind, n int) (device.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("opencl: Alloc: negative length %d", n)
	}
	// OpenCL rejects zero-sized buffers; keep one element.
	m, err := cl.CreateBuffer(be.dev.ctx, cl.MemReadWrite, max(n, 1)*elemSize(kind))
	if err != nil {
		return nil, be.wrap(err)
	}
	b := &buffer{mem: m, n: n, kind: kind}
	be.bufs[b] = struct{}{}
	return b, nil
}

// View aliases parent's elements [off, off+n) through a sub-buffer.
func (be *Backend) View(parent device.Buffer, off, n int) (device.Buffer, error) {
	p, ok := parent.(*buffer)
	if !ok || p == nil || p.kind != device.Float32 || p.parent != nil {
		return nil, fmt.Errorf("opencl: View: the parent must be a Float32 buffer from Alloc")
	}
	if _, live := be.bufs[p]; !live {
		return nil, fmt.Errorf("opencl: View: the parent buffer was freed")
	}
	if a := be.ViewAlign(); off < 0 || n < 0 || off+n > p.n || off%a != 0 {
		return nil, fmt.Errorf("opencl: View: elements [%d, %d) of a buffer of %d (the offset must be a multiple of %d)", off, off+n, p.n, a)
	}
	m, err := cl.CreateSubBuffer(p.mem, cl.MemReadWrite, 4*off, 4*max(n, 1))
	if err != nil {
		return nil, be.wrap(err)
	}
	b := &buffer{mem: m, n: n, kind: device.Float32, parent: p}
	be.bufs[b] = struct{}{}
	return b, nil
}

// ViewAlign is the device's CL_DEVICE_MEM_BASE_ADDR_ALIGN in float elements.
func (be *Backend) ViewAlign() int { return max(1, be.dev.Info.BaseAddrAlign/(8*4)) }

func (be *Backend) Free(x device.Buffer) {
	b, ok := x.(*buffer)
	if !ok || b == nil {
		return
	}
	if _, live := be.bufs[b]; !live {
		return
	}
	delete(be.bufs, b)
	if err := b.mem.Release(); err != nil {
		be.fail(err)
	}
}

func (be *Backend) Write(dst device.Buffer, off int, src any) error {
	if be.err != nil {
		return be.err
	}
	d := dst.(*buffer)
	switch s := src.(type) {
	case []float32:
		return be.wrap(transfer(be.q, true, d, device.Float32, off, s))
	case []float64:
		f := make([]float32, len(s))
		for i, v := range s {
			f[i] = float32(v)
		}
		return be.wrap(transfer(be.q, true, d, device.Float32, off, f))
	case []int32:
		return be.wrap(transfer(be.q, true, d, device.Int32, off, s))
	case []uint8:
		return be.wrap(transfer(be.q, true, d, device.Uint8, off, s))
	}
	return fmt.Errorf("opencl: Write: unsupported source %T", src)
}

func (be *Backend) Read(src device.Buffer, off int, dst any) error {
	if be.err != nil {
		return be.err
	}
	s := src.(*buffer)
	switch d := dst.(type) {
	case []float32:
		return be.wrap(transfer(be.q, false, s, device.Float32, off, d))
	case []float64:
		f := make([]float32, len(d))
		err := transfer(be.q, false, s, device.Float32, off, f)
		for i, v := range f {
			d[i] = float64(v)
		}
		return be.wrap(err)
	case []int32:
		return be.wrap(transfer(be.q, false, s, device.Int32, off, d))
	case []uint8:
		return be.wrap(transfer(be.q, false, s, device.Uint8, off, d))
	}
	return fmt.Errorf("opencl: Read: unsupported destination %T", dst)
}

// transfer is a blocking write (or read) of host elements at element offset
// off of b, after checking its kind and range.
func transfer[T cl.Elem](q *cl.Queue, write bool, b *buffer, want device.Kind, off int, host []T) error {
	op := map[bool]string{true: "Write", false: "Read"}[write]
	if b.kind != want || off < 0 || off+len(host) > b.n {
		return fmt.Errorf("opencl: %s: %d %v at %d of a %v buffer of %d", op, len(host), want, off, b.kind, b.n)
	}
	if len(host) == 0 {
		return nil
	}
	byteOff := off * elemSize(want)
	if write {
		return cl.WriteBuffer(q, b.mem, true, byteOff, host)
	}
	return cl.ReadBuffer(q, b.mem, true, byteOff, host)
}

// wrap adds the device and a hint to an OpenCL error.
func (be *Backend) wrap(err error) error {
	if err == nil {
		return nil
	}
	if h := cl.Hint(err); h != "" {
		return fmt.Errorf("%s: %w (%s)", be.dev.Info.Name, err, h)
	}
	return fmt.Errorf("%s: %w", be.dev.Info.Name, err)
}

func (be *Backend) fail(err error) {
	if be.err == nil && err != nil {
		be.err = be.wrap(err)
	}
}

func (be *Backend) Err() error { return be.err }

// Mark enqueues a marker (an OpenCL event after everything queued so far).
func (be *Backend) Mark() device.Marker {
	if be.err != nil {
		return nil
	}
	ev, err := cl.EnqueueMarker(be.q)
	if err != nil {
		be.fail(err)
		return nil
	}
	be.fail(be.q.Flush()) // so that the device starts on what is queued
	return ev
}

// Wait blocks until the marker's work is done and releases its event.
func (be *Backend) Wait(m device.Marker) error {
	if ev, ok := m.(cl.Event); ok {
		be.fail(ev.Wait())
		ev.Release()
	}
	return be.err
}

func (be *Backend) Finish() error {
	if be.err != nil {
		return be.err
	}
	be.fail(be.q.Finish())
	if be.prof != nil {
		be.fail(be.prof.collect())
	}
	return be.err
}

// Close waits for the queue, then releases every buffer, kernel and the queue.
func (be *Backend) Close() error {
	var err error
	if be.q != nil {
		err = be.q.Finish()
	}
	if be.prof != nil {
		be.prof.collect()
		be.prof.release()
	}
	for b := range be.bufs { // views first: a sub-buffer goes before its parent
		if b.parent != nil {
			b.mem.Release()
		}
	}
	for b := range be.bufs {
		if b.parent == nil {
			b.mem.Release()
		}
	}
	be.bufs = nil
	for _, k := range be.k {
		k.Release()
	}
	be.k = nil
	for _, ks := range be.gk {
		for _, k := range ks {
			k.Release()
		}
	}
	be.gk = nil
	if be.pack != nil {
		be.pack.Release()
		be.pack = nil
	}
	if be.lut != nil {
		be.lut.Release()
		be.lut = nil
	}
	if be.q != nil {
		if e := be.q.Release(); err == nil {
			err = e
		}
		be.q = nil
	}
	if be.err != nil {
		return be.err
	}
	return be.wrap(err)
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// launch sets the arguments and enqueues the ops program's kernel name;
// errors are sticky.
func (be *Backend) launch(name string, global, local []int, args ...any) {
	be.launchK(be.k[name], name, global, local, args...)
}

// launchK is launch for a given kernel.
func (be *Backend) launchK(k *cl.Kernel, name string, global, local []int, args ...any) {
	if be.err != nil {
		return
	}
	for _, g := range global {
		if g == 0 {
			return // nothing to do
		}
	}
	for i, a := range args {
		var v any
		switch x := a.(type) {
		case device.Buffer:
			if x == nil {
				v = (*cl.Mem)(nil)
			} else {
				v = x.(*buffer).mem
			}
		case *cl.Mem:
			v = x
		case int:
			v = int32(x)
		case bool:
			v = int32(0)
			if x {
				v = int32(1)
			}
		case float64: // every float scalar of the kernels is a float
			v = float32(x)
		default:
			v = a
		}
		if err := k.SetArg(i, v); err != nil {
			be.fail(err)
			return
		}
	}
	ev, err := cl.EnqueueNDRange(be.q, k, global, local, be.prof != nil)
	if err != nil {
		be.fail(err)
		return
	}
	if be.prof != nil {
		be.prof.add(name, ev)
	}
}

// planes is how many Philox blocks a dropout work-item draws: VEC/4, at
// least 1 (PLANES in philox.cl).
func (be *Backend) planes() int { return max(1, be.dev.Tuning.Ops["VEC"]/4) }

// vec1D is elem1D for kernels that take VEC elements per work-item.
func (be *Backend) vec1D(n int) ([]int, []int) {
	v := be.dev.Tuning.Ops["VEC"]
	return be.elem1D((n + v - 1) / v)
}

func (be *Backend) elem1D(n int) ([]int, []int) {
	l := be.dev.Tuning.Ops["WG_ELEM"]
	return []int{roundUp(n, l)}, []int{l}
}

// Fill: x[0:n] = v, through clEnqueueFillBuffer (enqueued like a kernel).
func (be *Backend) Fill(x device.Buffer, n int, v float64) {
	if be.err != nil || n == 0 {
		return
	}
	be.fail(cl.FillBuffer(be.q, x.(*buffer).mem, float32(v), 0, 4*n))
}

func (be *Backend) GatherRows(dst, src, idx device.Buffer, idxOff, rows, cols int) {
	v := be.dev.Tuning.Ops["VEC"]
	g, l := be.elem1D(rows * ((cols + v - 1) / v))
	be.launch("gather_rows", g, l, dst, src, idx, idxOff, rows, cols, be.lut)
}

func (be *Backend) Gemm(transA, transB bool, m, n, k int, alpha float64, a, b device.Buffer, beta float64, c device.Buffer) {
	be.gemm(transA, transB, m, n, k, alpha, a, b, beta, c, nil, false)
}

// GemmBiasAct: C = act(A·B + bias), the product's epilogue doing what
// BiasAct would in a launch of its own.
func (be *Backend) GemmBiasAct(m, n, k int, a, b, bias device.Buffer, relu bool, c device.Buffer) {
	be.gemm(false, false, m, n, k, 1, a, b, 0, c, bias, relu)
}

// gemm launches a product with its epilogue: bias (nil for none) and ReLU.
func (be *Backend) gemm(transA, transB bool, m, n, k int, alpha float64, a, b device.Buffer, beta float64, c device.Buffer, biasBuf device.Buffer, act bool) {
	if m == 0 || n == 0 || be.err != nil {
		return
	}
	var bias any = (*cl.Mem)(nil) // the kernels' NULL: no bias
	if biasBuf != nil {
		bias = biasBuf
	}
	s := be.dev.Tuning.gemmFor(transA, transB, m, n, k)
	ks := be.gk[be.dev.gemm.Key(s)]
	name := gemmNames[b2i(transA)][b2i(transB)]
	if be.dev.gemm != kernels.GemmCPU {
		rtsn, rtsm := s["TSN"]/s["WPTN"], s["TSM"]/s["WPTM"]
		g := []int{(n + s["TSN"] - 1) / s["TSN"] * rtsn, (m + s["TSM"] - 1) / s["TSM"] * rtsm}
		be.launchK(ks[name], name, g, []int{rtsn, rtsm}, m, n, k, alpha, a, b, beta, c, bias, act)
		return
	}
	mr, nr := s["MR"], s["NV"]*s["VW"]
	short := name == "gemm_nt" && k < s["NT_SHORT_K"]
	packed := s["PACK"] == 1 || (short && s["NT_SHORT"] == 1)
	if short && !packed {
		name = "gemm_ntg"
	}
	switch {
	case packed:
		// op(B) into panels of NR columns, then the product over them.
		panels := (n + nr - 1) / nr
		bytes := 4 * panels * nr * k
		if bytes > be.packBytes {
			if be.pack != nil {
				be.pack.Release() // OpenCL keeps it until queued commands finish
				be.pack, be.packBytes = nil, 0
			}
			var err error
			if be.pack, err = cl.CreateBuffer(be.dev.ctx, cl.MemReadWrite, bytes); err != nil {
				be.fail(err)
				return
			}
			be.packBytes = bytes
		}
		pk, gn := "pack_bn", "gemm_np"
		if transB {
			pk = "pack_bt"
		}
		if transA {
			gn = "gemm_tp"
		}
		pg := []int{panels, k}
		if transB {
			pg[1] = (k + s["VW"] - 1) / s["VW"]
		}
		be.launchK(ks[pk], pk, pg, nil, n, k, b, be.pack)
		be.launchK(ks[gn], gn, []int{panels, (m + mr - 1) / mr}, []int{1, 1}, m, n, k, alpha, a, be.pack, beta, c, bias, act)
	case name == "gemm_nt":
		be.launchK(ks[name], name, []int{(n + s["NT_NR"] - 1) / s["NT_NR"], (m + s["NT_MR"] - 1) / s["NT_MR"]}, []int{1, 1},
			m, n, k, alpha, a, b, beta, c, bias, act)
	default:
		be.launchK(ks[name], name, []int{(n + nr - 1) / nr, (m + mr - 1) / mr}, []int{1, 1}, m, n, k, alpha, a, b, beta, c, bias, act)
	}
}

var gemmNames = [2][2]string{{"gemm_nn", "gemm_nt"}, {"gemm_tn", "gemm_tt"}}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func dropArgs(d device.Dropout) (thresh uint32, scale float64, seedLo, seedHi, stepLo, stepHi, layer uint32) {
	return device.Threshold(d.Rate), d.Scale(), uint32(d.Seed), uint32(d.Seed >> 32), uint32(d.Step), uint32(d.Step >> 32), d.Layer
}

func (be *Backend) BiasAct(x, bias device.Buffer, rows, cols int, relu bool, d device.Dropout) {
	th, sc, s0, s1, t0, t1, ly := dropArgs(d)
	if d.Rate == 0 {
		th = 0
	}
	g, l := be.elem1D((rows*cols + 4*be.planes() - 1) / (4 * be.planes()))
	be.launch("bias_act", g, l, x, bias, rows, cols, relu, th, sc, s0, s1, t0, t1, ly)
}

func (be *Backend) DropoutApply(x device.Buffer, rows, cols int, d device.Dropout) {
	if d.Rate == 0 {
		return
	}
	th, sc, s0, s1, t0, t1, ly := dropArgs(d)
	g, l := be.elem1D((rows*cols + 4*be.planes() - 1) / (4 * be.planes()))
	be.launch("dropout_apply", g, l, x, rows*cols, th, sc, s0, s1, t0, t1, ly)
}

func (be *Backend) ReLUBackward(dx, y device.Buffer, n int, scale float64) {
	g, l := be.vec1D(n)
	be.launch("relu_backward", g, l, dx, y, n, scale)
}

func (be *Backend) ReLUBackwardColSum(dx, y, dst device.Buffer, rows, cols int, scale float64) {
	g, l := be.vec1D(cols)
	be.launch("relu_backward_colsum", g, l, dx, y, dst, rows, cols, scale)
}

func (be *Backend) ColSum(dst, x device.Buffer, rows, cols int) {
	g, l := be.vec1D(cols)
	be.launch("col_sum", g, l, dst, x, rows, cols)
}

func (be *Backend) BatchNormTrain(y, x, gamma, beta, mean, invstd, movMean, movVar device.Buffer, rows, cols int, eps, momentum float64) {
	g, l := be.vec1D(cols)
	be.launch("bn_train", g, l, y, x, gamma, beta, mean, invstd, movMean, movVar, rows, cols, eps, 1-momentum)
}

func (be *Backend) BatchNormInfer(y, x, gamma, beta, movMean, movVar device.Buffer, rows, cols int, eps float64) {
	l := min(64, be.dev.Tuning.Ops["WG_ELEM"])
	be.launch("bn_infer", []int{roundUp(cols, l), rows}, []int{l, 1}, y, x, gamma, beta, movMean, movVar, rows, cols, eps)
}

func (be *Backend) BatchNormBackward(dx, dy, x, gamma, mean, invstd, dgamma, dbeta device.Buffer, rows, cols int) {
	g, l := be.vec1D(cols)
	be.launch("bn_backward", g, l, dx, dy, x, gamma, mean, invstd, dgamma, dbeta, rows, cols)
}

func (be *Backend) SoftmaxXent(dlogits, logits, labels, idx device.Buffer, idxOff, rows, classes int, gradScale float64, acc device.Buffer, step int) {
	if classes > kernels.MaxClasses {
		be.fail(fmt.Errorf("opencl: SoftmaxXent: %d classes exceed the kernel's MAX_CLASSES %d", classes, kernels.MaxClasses))
		return
	}
	w := be.dev.Tuning.Ops["WG_REDUCE"]
	var dl device.Buffer = dlogits
	has := dlogits != nil
	if !has {
		dl = logits // never written: has_grad is 0
	}
	be.launch("softmax_xent", []int{w}, []int{w}, dl, logits, labels, idx, idxOff, rows, classes, gradScale, has, acc, step)
}

func (be *Backend) PenaltySum(acc, w device.Buffer, n int, l1, l2, scale float64) {
	wg := be.dev.Tuning.Ops["WG_REDUCE"]
	be.launch("penalty_sum", []int{wg}, []int{wg}, acc, w, n, l1, l2, scale)
}

func (be *Backend) AdamStep(w, g, m, v device.Buffer, n, penalized int, h device.Adam) {
	gs, l := be.vec1D(n)
	be.launch("adam", gs, l, w, g, m, v, n, penalized, h.Alpha, h.Beta1, 1-h.Beta1, h.Beta2, 1-h.Beta2, h.Eps, h.L1, h.L2)
}

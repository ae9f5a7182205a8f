package opencl

import (
	"fmt"
	"math"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/opencl/cl"
	"github.com/regcl/regcl/kernels"
)

// buffer is a device.Buffer: a cl_mem holding one part per lane at a fixed
// lane stride (the stride 0 of a shared buffer makes every lane read the
// one part), and the element offset of the buffer within each part (a
// view's offset). Kernels take (mem, off, ls) for each buffer argument
// (kernels/lanes.cl).
type buffer struct {
	mem    *cl.Mem
	n      int // elements a lane
	kind   device.Kind
	off    int // element offset within each lane's part
	ls     int // lane stride in elements, 0 for a shared buffer
	shared bool
	parent *buffer // set for a view, which shares its parent's mem
	owner  *Backend
	freed  bool
}

func (b *buffer) Len() int          { return b.n }
func (b *buffer) Kind() device.Kind { return b.kind }
func (b *buffer) Shared() bool      { return b.shared }

// kern is one kernel with its declared arguments (kernels.Signatures) and
// the program and settings it was built from (k is nil on a described
// device).
type kern struct {
	k        *cl.Kernel
	name     string
	sig      []kernels.Arg
	prog     string
	settings kernels.Settings
	// sites holds a kernel object of its own for each call site (the
	// buffers of a launch: site), up to maxSites, k serving the rest: a
	// kernel keeps its arguments from launch to launch, so a site's
	// launches set again only what changed (cl.Kernel.SetArg), where one
	// object for the kernel's every use would be set anew at each.
	sites   map[site]*cl.Kernel
	program *cl.Program
}

// site is a call site of a kernel: the first buffer arguments of a launch.
type site [4]*buffer

// maxSites bounds the kernel objects of one kernel (kern.sites): a step
// has a few call sites of a kernel; code that makes many buffers (the
// tuner, tests) shares the kernel's own object beyond them.
const maxSites = 16

// object is the kernel object that the launch at call site s uses.
func (k *kern) object(s site) (*cl.Kernel, error) {
	if o, ok := k.sites[s]; ok {
		return o, nil
	}
	if len(k.sites) >= maxSites {
		return k.k, nil
	}
	o, err := cl.CreateKernel(k.program, k.name)
	if err != nil {
		return nil, err
	}
	if k.sites == nil {
		k.sites = map[site]*cl.Kernel{}
	}
	k.sites[s] = o
	return o, nil
}

// release releases k's kernel objects.
func (k *kern) release() {
	k.k.Release()
	for _, o := range k.sites {
		o.Release()
	}
	k.sites = nil
}

// gemmKey is a product's shape; gemmPlan the launches computed for it once.
type gemmKey struct {
	transA, transB bool
	m, n, k        int
}

type gemmPlan struct {
	pack       *kern // nil unless op(B) is packed first
	packG      [2]int
	main       *kern
	g, l       [2]int // l[0] == 0: the driver chooses
	tile       [2]int // rows × columns of C a work-group computes (0: not a fixed tile)
	panelElems int    // per-lane elements of the packed panels
	// Split-K (kernels.SplitK): main is a gemm_split_* kernel writing
	// slices partials of depth values of k each, then finish adds them.
	finish          *kern
	finishG         [2]int
	slices, depth   int
	partElems, wgdF int // per-lane elements of the partials; finish's work-group side
}

// Backend is one command queue on a Device, serving Lanes() lanes: every
// kernel launch covers all lanes, lane in grid dimension 2.
type Backend struct {
	dev    *Device
	q      *cl.Queue
	lanes  int
	k      map[string]*kern            // the ops program's kernels
	gk     map[string]map[string]*kern // each matrix-product program's, by settings key
	plans  map[gemmKey]*gemmPlan
	pack   *buffer // per-lane scratch for packed panels of B, grown as needed
	pen    *buffer // per-lane scratch for penalty_part's sums, grown as needed
	xent   *buffer // per-lane scratch for softmax_xent_part's sums, grown as needed
	split  *buffer // per-lane scratch for split-K partial products, grown as needed
	bufs   map[*buffer]struct{}
	lut    *cl.Mem // lut[b] = b/255 for gather_rows
	laneU  *cl.Mem // lane parameters (kernels.LaneU uints a lane)
	laneF  *cl.Mem // (kernels.LaneF floats a lane)
	params []device.LaneParams
	// anyDrop and anyPen: some lane has a dropout rate, some lane a
	// penalty; when none has, the launches that would do nothing are skipped.
	anyDrop, anyPen bool
	// Launch geometry from the ops program's settings.
	vec, wgElem, wgReduce, planes int
	rowSlices, colTile            int  // the column reductions' work-groups (kernels.Ops, common.cl)
	penGroups                     int  // PEN_GROUPS (kernels.Ops, softmax.cl)
	penTree                       bool // PEN_TREE (kernels.Ops, adam.cl)
	adamRun                       int  // ADAM_RUN (kernels.Ops, adam.cl)
	err                           error
	prof                          *profile // per-kernel times when the queue profiles
	// dry: a described device's backend (no queue; launches computed, not
	// enqueued); record: keep every launch in launches (Record).
	dry, record bool
	launches    []Launch
}

func (d *Device) newBackend(lanes int, profiling bool) (*Backend, error) {
	if lanes < 1 || lanes > device.MaxLanes {
		return nil, fmt.Errorf("opencl: NewBackend: %d lanes, want 1 to %d", lanes, device.MaxLanes)
	}
	var q *cl.Queue
	var err error
	if !d.dry {
		if q, err = cl.CreateQueue(d.ctx, d.Info.dev, profiling); err != nil {
			return nil, err
		}
	}
	ops := d.Tuning.Ops
	be := &Backend{dev: d, q: q, lanes: lanes, k: map[string]*kern{}, gk: map[string]map[string]*kern{},
		plans: map[gemmKey]*gemmPlan{}, bufs: map[*buffer]struct{}{}, params: make([]device.LaneParams, lanes),
		vec: ops["VEC"], wgElem: ops["WG_ELEM"], wgReduce: ops["WG_REDUCE"], planes: max(1, ops["VEC"]/4),
		rowSlices: ops["ROW_SLICES"], colTile: ops["COL_TILE"], penGroups: ops["PEN_GROUPS"], penTree: ops["PEN_TREE"] == 1, adamRun: ops["ADAM_RUN"], dry: d.dry}
	if profiling {
		be.prof = newProfile()
	}
	mk := func(p *built, prog, name string) (*kern, error) {
		sig, ok := kernels.Signatures[name]
		if !ok {
			return nil, fmt.Errorf("opencl: kernel %s has no declared arguments (kernels.Signatures)", name)
		}
		kn := &kern{name: name, sig: sig, prog: prog, settings: p.settings, program: p.prog}
		if !d.dry {
			if kn.k, err = cl.CreateKernel(p.prog, name); err != nil {
				return nil, err
			}
		}
		return kn, nil
	}
	for _, name := range kernels.Ops.Kernels {
		k, err := mk(d.ops, kernels.Ops.Name, name)
		if err != nil {
			be.Close()
			return nil, err
		}
		be.k[name] = k
	}
	for key, g := range d.gemms {
		ks := map[string]*kern{}
		be.gk[key] = ks
		for _, name := range d.gemm.Kernels {
			k, err := mk(g, d.gemm.Name, name)
			if err != nil {
				be.Close()
				return nil, err
			}
			ks[name] = k
		}
	}
	if !d.dry { // a described device has nothing to hold the table and the lane parameters
		err = be.deviceTables(lanes)
	}
	if err == nil {
		err = be.SetLanes(be.params) // every lane's parameters zero
	}
	if err != nil {
		be.Close()
		return nil, err
	}
	return be, nil
}

// deviceTables makes the look-up table of gather_rows and the lane
// parameters' buffers.
func (be *Backend) deviceTables(lanes int) error {
	lut := make([]float32, 256)
	for i := range lut {
		lut[i] = float32(i) / 255 // float32 division, correctly rounded: the same value as the CPU backend's
	}
	ctx := be.dev.ctx
	var err error
	if be.lut, err = cl.CreateBuffer(ctx, cl.MemReadOnly, 4*len(lut)); err == nil {
		err = cl.WriteBuffer(be.q, be.lut, true, 0, lut)
	}
	if err == nil {
		be.laneU, err = cl.CreateBuffer(ctx, cl.MemReadOnly, 4*kernels.LaneU*lanes)
	}
	if err == nil {
		be.laneF, err = cl.CreateBuffer(ctx, cl.MemReadOnly, 4*kernels.LaneF*lanes)
	}
	return err
}

func (be *Backend) Name() string   { return be.dev.Name() }
func (be *Backend) Lanes() int     { return be.lanes }
func (be *Backend) FloatBits() int { return 32 }

// SetLanes writes every lane's parameters into the lane buffers (lane_u:
// seed words, keep threshold, dropout switch; lane_f: dropout scale, L1, L2,
// learning rate, each rounded to float once). The write is blocking, after
// the work queued before it (one in-order queue), so the operations queued
// after it see the new values.
func (be *Backend) SetLanes(p []device.LaneParams) error {
	if err := device.CheckLanes(be.lanes, p); err != nil {
		return fmt.Errorf("opencl: %w", err)
	}
	if be.err != nil {
		return be.err
	}
	u := make([]uint32, kernels.LaneU*be.lanes)
	f := make([]float32, kernels.LaneF*be.lanes)
	be.anyDrop, be.anyPen = false, false
	for l, q := range p {
		uu, ff := u[l*kernels.LaneU:], f[l*kernels.LaneF:]
		uu[kernels.LaneSeedLo], uu[kernels.LaneSeedHi] = uint32(q.Seed), uint32(q.Seed>>32)
		uu[kernels.LaneThresh] = device.Threshold(q.DropoutRate)
		if q.DropoutRate > 0 {
			uu[kernels.LaneDrop] = 1
			be.anyDrop = true
		}
		ff[kernels.LaneScale] = float32(device.DropoutScale(q.DropoutRate))
		ff[kernels.LaneL1], ff[kernels.LaneL2], ff[kernels.LaneLR] = float32(q.L1), float32(q.L2), float32(q.LR)
		be.anyPen = be.anyPen || q.L1 != 0 || q.L2 != 0
	}
	var err error
	if !be.dry {
		if err = cl.WriteBuffer(be.q, be.laneU, true, 0, u); err == nil {
			err = cl.WriteBuffer(be.q, be.laneF, true, 0, f)
		}
	}
	if err != nil {
		be.fail(err)
		return be.err
	}
	copy(be.params, p)
	return nil
}

func elemSize(k device.Kind) int {
	switch k {
	case device.Int32, device.Float:
		return 4
	}
	return 1
}

// alignBytes is the alignment of every lane's part: the device's
// CL_DEVICE_MEM_BASE_ADDR_ALIGN (bits), at least one float.
func (be *Backend) alignBytes() int { return max(4, (be.dev.Info.BaseAddrAlign/8+3)/4*4) }

// maxAlloc is the largest buffer the device takes (CL_DEVICE_MAX_MEM_ALLOC_SIZE,
// or the global memory where that is not reported).
func (be *Backend) maxAlloc() uint64 {
	if m := be.dev.Info.MaxAlloc; m > 0 {
		return m
	}
	if m := be.dev.Info.GlobalMem; m > 0 {
		return m
	}
	return math.MaxInt64
}

// Alloc returns a per-lane buffer: lanes parts of n elements, each starting
// at a multiple of the device's base-address alignment.
func (be *Backend) Alloc(kind device.Kind, n int) (device.Buffer, error) {
	return be.alloc("Alloc", kind, n, be.lanes)
}

// AllocShared returns a buffer of one part, lane stride 0, that the other
// backends of the same Device (same OpenCL context) accept too.
func (be *Backend) AllocShared(kind device.Kind, n int) (device.Buffer, error) {
	return be.alloc("AllocShared", kind, n, 1)
}

func (be *Backend) alloc(op string, kind device.Kind, n, parts int) (device.Buffer, error) {
	if kind > device.Uint8 {
		return nil, fmt.Errorf("opencl: %s: unknown kind %v", op, kind)
	}
	if n < 0 {
		return nil, fmt.Errorf("opencl: %s: negative length %d", op, n)
	}
	if be.closed() {
		return nil, fmt.Errorf("opencl: %s: the backend is closed", op)
	}
	esz, align, limit := uint64(elemSize(kind)), uint64(be.alignBytes()), be.maxAlloc()
	// OpenCL rejects zero-sized buffers: a part holds one element at least.
	// Each bound is checked before the product it guards, so nothing overflows.
	un := uint64(max(n, 1))
	if un > limit/esz {
		return nil, fmt.Errorf("opencl: %s: %d %v elements a lane exceed %s's largest allocation of %d bytes; use a smaller batch or network",
			op, n, kind, be.dev.Info.Name, limit)
	}
	stride := (un*esz + align - 1) / align * align
	if stride > limit/uint64(parts) || stride*uint64(parts) > limit {
		return nil, fmt.Errorf("opencl: %s: %d lanes × %d %v elements (%d bytes a lane) exceed %s's largest allocation of %d bytes; use a smaller batch or network, or fewer lanes",
			op, parts, n, kind, stride, be.dev.Info.Name, limit)
	}
	var m *cl.Mem // none on a described device
	if !be.dry {
		var err error
		if m, err = cl.CreateBuffer(be.dev.ctx, cl.MemReadWrite, int(stride*uint64(parts))); err != nil {
			return nil, be.wrap(err)
		}
	}
	b := &buffer{mem: m, n: n, kind: kind, owner: be, shared: parts == 1 && op == "AllocShared"}
	if !b.shared {
		b.ls = int(stride / esz)
	}
	be.bufs[b] = struct{}{}
	return b, nil
}

// View aliases elements [off, off+n) of each lane's part of parent: the
// parent's mem, offset and lane stride (no sub-buffer).
func (be *Backend) View(parent device.Buffer, off, n int) (device.Buffer, error) {
	p, ok := parent.(*buffer)
	if !ok || p == nil || p.kind != device.Float || p.parent != nil || p.shared {
		return nil, fmt.Errorf("opencl: View: the parent must be a per-lane float buffer from Alloc, not a view")
	}
	if p.owner != be || p.freed {
		return nil, fmt.Errorf("opencl: View: the parent buffer was freed or belongs to another backend")
	}
	if a := be.ViewAlign(); off < 0 || n < 0 || off+n > p.n || off%a != 0 {
		return nil, fmt.Errorf("opencl: View: elements [%d, %d) of a buffer of %d (the offset must be a multiple of %d)", off, off+n, p.n, a)
	}
	b := &buffer{mem: p.mem, n: n, kind: device.Float, off: p.off + off, ls: p.ls, parent: p, owner: be}
	be.bufs[b] = struct{}{}
	return b, nil
}

// ViewAlign is the device's CL_DEVICE_MEM_BASE_ADDR_ALIGN in float elements:
// a view starts where a buffer could (aligned vector loads).
func (be *Backend) ViewAlign() int { return be.alignBytes() / 4 }

func (be *Backend) Free(x device.Buffer) {
	b, ok := x.(*buffer)
	if !ok || b == nil {
		return
	}
	if _, live := be.bufs[b]; !live {
		return
	}
	delete(be.bufs, b)
	b.freed = true
	if b.parent == nil {
		if err := b.mem.Release(); err != nil {
			be.fail(err)
		}
	}
}

// usable reports why be cannot use b, or "": b must be live and belong to
// be, or be a shared buffer of another backend of the same context.
func (be *Backend) usable(b *buffer) string {
	switch {
	case b.freed || b.owner == nil || b.owner.closed():
		return "the buffer was freed"
	case b.owner == be:
		return ""
	case !b.shared:
		return "a per-lane buffer of another backend"
	case b.owner.dev.ctx != be.dev.ctx:
		return "a shared buffer of another device"
	}
	return ""
}

// Write copies src into lane lane's part of dst from element off. Float
// buffers hold float32: a []float64 source is rounded to nearest.
func (be *Backend) Write(dst device.Buffer, lane, off int, src any) error {
	if be.err != nil {
		return be.err
	}
	switch s := src.(type) {
	case []float32:
		return be.transfer("Write", dst, lane, off, device.Float, s, func(m *cl.Mem, o int) error { return cl.WriteBuffer(be.q, m, true, o, s) })
	case []float64:
		f := make([]float32, len(s))
		for i, v := range s {
			f[i] = float32(v)
		}
		return be.transfer("Write", dst, lane, off, device.Float, s, func(m *cl.Mem, o int) error { return cl.WriteBuffer(be.q, m, true, o, f) })
	case []int32:
		return be.transfer("Write", dst, lane, off, device.Int32, s, func(m *cl.Mem, o int) error { return cl.WriteBuffer(be.q, m, true, o, s) })
	case []uint8:
		return be.transfer("Write", dst, lane, off, device.Uint8, s, func(m *cl.Mem, o int) error { return cl.WriteBuffer(be.q, m, true, o, s) })
	}
	return fmt.Errorf("opencl: Write: source %T, want []float32 or []float64 (float), []int32 or []uint8", src)
}

// Read waits for the queued work and copies elements [off, off+len(dst))
// of lane lane's part of src into dst ([]float64 gets the float32 values
// exactly).
func (be *Backend) Read(src device.Buffer, lane, off int, dst any) error {
	if be.err != nil {
		return be.err
	}
	switch d := dst.(type) {
	case []float32:
		return be.transfer("Read", src, lane, off, device.Float, d, func(m *cl.Mem, o int) error { return cl.ReadBuffer(be.q, m, true, o, d) })
	case []float64:
		f := make([]float32, len(d))
		err := be.transfer("Read", src, lane, off, device.Float, d, func(m *cl.Mem, o int) error { return cl.ReadBuffer(be.q, m, true, o, f) })
		if err == nil {
			for i, v := range f {
				d[i] = float64(v)
			}
		}
		return err
	case []int32:
		return be.transfer("Read", src, lane, off, device.Int32, d, func(m *cl.Mem, o int) error { return cl.ReadBuffer(be.q, m, true, o, d) })
	case []uint8:
		return be.transfer("Read", src, lane, off, device.Uint8, d, func(m *cl.Mem, o int) error { return cl.ReadBuffer(be.q, m, true, o, d) })
	}
	return fmt.Errorf("opencl: Read: destination %T, want []float32 or []float64 (float), []int32 or []uint8", dst)
}

// transfer checks a Write or Read of n elements of kind want at element off
// of lane lane's part of x, then runs do at the byte offset.
func (be *Backend) transfer(op string, x device.Buffer, lane, off int, want device.Kind, host any, do func(*cl.Mem, int) error) error {
	b, ok := x.(*buffer)
	if !ok || b == nil {
		return fmt.Errorf("opencl: %s: %T is not a buffer of this backend", op, x)
	}
	if why := be.usable(b); why != "" {
		return fmt.Errorf("opencl: %s: %s", op, why)
	}
	if b.kind != want {
		if op == "Write" {
			return fmt.Errorf("opencl: Write: %T into a %v buffer (it takes %s)", host, b.kind, goTypes[b.kind])
		}
		return fmt.Errorf("opencl: Read: a %v buffer into %T (it gives %s)", b.kind, host, goTypes[b.kind])
	}
	n := hostLen(host)
	switch {
	case b.shared && lane != 0:
		return fmt.Errorf("opencl: %s: lane %d of a shared buffer (its one copy is lane 0)", op, lane)
	case !b.shared && (lane < 0 || lane >= be.lanes):
		return fmt.Errorf("opencl: %s: lane %d of a backend of %d lanes", op, lane, be.lanes)
	case off < 0 || n > b.n-off:
		return fmt.Errorf("opencl: %s: elements [%d, %d) of a buffer of %d a lane", op, off, off+n, b.n)
	}
	if n == 0 || be.dry { // a described device holds no data: a Read gives zeros
		return nil
	}
	return be.wrap(do(b.mem, (b.off+off+lane*b.ls)*elemSize(want)))
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
	if be.err != nil || be.dry {
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
	if be.err != nil || be.dry {
		return be.err
	}
	be.fail(be.q.Finish())
	if be.prof != nil {
		be.fail(be.prof.collect(be.timeLaunch))
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
		be.prof.collect(be.timeLaunch)
		be.prof.release()
	}
	for b := range be.bufs {
		b.freed = true
		if b.parent == nil {
			b.mem.Release()
		}
	}
	be.bufs = nil
	for _, k := range be.k {
		k.release()
	}
	be.k = nil
	for _, ks := range be.gk {
		for _, k := range ks {
			k.release()
		}
	}
	be.gk, be.plans = nil, nil
	for _, b := range []**buffer{&be.pack, &be.pen, &be.xent, &be.split} {
		if *b != nil {
			(*b).mem.Release()
			*b = nil
		}
	}
	for _, m := range []**cl.Mem{&be.lut, &be.laneU, &be.laneF} {
		if *m != nil {
			(*m).Release()
			*m = nil
		}
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

// closed reports whether Close has run.
func (be *Backend) closed() bool { return be.k == nil }

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// goTypes are the Go slices Write and Read take for each kind.
var goTypes = map[device.Kind]string{device.Float: "[]float32 or []float64", device.Int32: "[]int32", device.Uint8: "[]uint8"}

func hostLen(h any) int {
	switch s := h.(type) {
	case []float32:
		return len(s)
	case []float64:
		return len(s)
	case []int32:
		return len(s)
	case []uint8:
		return len(s)
	}
	return 0
}

var elemOf = map[device.Kind]string{device.Float: "float", device.Int32: "int", device.Uint8: "uchar"}

// launch sets k's arguments from args, in the order of its declaration
// (kernels.Signatures), checking each, and enqueues it over the global
// size (gx, gy, lanes) in work-groups of (lx, ly, 1) (lx == 0: the driver
// chooses). Errors are sticky.
func (be *Backend) launch(k *kern, gx, gy, lx, ly int, args ...any) {
	if be.err != nil || gx == 0 || gy == 0 {
		return
	}
	if len(args) != len(k.sig) {
		be.fail(fmt.Errorf("opencl: %s: %d arguments, its declaration has %d", k.name, len(args), len(k.sig)))
		return
	}
	var obj *cl.Kernel
	if !be.dry {
		var at site
		n := 0
		for _, a := range args {
			if b, ok := a.(*buffer); ok && n < len(at) {
				at[n] = b
				n++
			}
		}
		var err error
		if obj, err = k.object(at); err != nil {
			be.fail(err)
			return
		}
	}
	i := 0
	set := func(v any) bool {
		if be.dry {
			return true
		}
		if err := obj.SetArg(i, v); err != nil {
			be.fail(err)
			return false
		}
		i++
		return true
	}
	for j, a := range k.sig {
		var v any
		switch a.Kind {
		case kernels.ArgBuf:
			var b *buffer
			switch x := args[j].(type) {
			case nil:
			case *buffer:
				b = x
			default:
				be.fail(fmt.Errorf("opencl: %s: argument %s: %T is not a buffer of this backend", k.name, a.Name, args[j]))
				return
			}
			if b == nil {
				if !set((*cl.Mem)(nil)) || !set(int64(0)) || !set(int64(0)) {
					return
				}
				continue
			}
			if why := be.usable(b); why != "" {
				be.fail(fmt.Errorf("opencl: %s: argument %s: %s", k.name, a.Name, why))
				return
			}
			if elemOf[b.kind] != a.Elem {
				be.fail(fmt.Errorf("opencl: %s: argument %s: a %v buffer, want %s", k.name, a.Name, b.kind, a.Elem))
				return
			}
			if a.Out && b.shared {
				be.fail(fmt.Errorf("opencl: %s: argument %s is written: a shared buffer cannot take it", k.name, a.Name))
				return
			}
			if !set(b.mem) || !set(int64(b.off)) || !set(int64(b.ls)) {
				return
			}
			continue
		case kernels.ArgMem:
			v, _ = args[j].(*cl.Mem)
		case kernels.ArgInt:
			switch x := args[j].(type) {
			case int:
				v = int32(x)
			case bool:
				v = int32(0)
				if x {
					v = int32(1)
				}
			}
		case kernels.ArgUint:
			if x, ok := args[j].(uint32); ok {
				v = x
			}
		case kernels.ArgFloat:
			if x, ok := args[j].(float64); ok {
				v = float32(x)
			}
		}
		if v == nil {
			be.fail(fmt.Errorf("opencl: %s: argument %s: %T does not match its declaration", k.name, a.Name, args[j]))
			return
		}
		if !set(v) {
			return
		}
	}
	g := []int{gx, gy, be.lanes}
	var l []int
	if lx > 0 {
		l = []int{lx, ly, 1}
	}
	if be.record {
		be.recordLaunch(k, g, l, args)
	}
	if be.dry {
		return
	}
	ev, err := cl.EnqueueNDRange(be.q, obj, g, l, be.prof != nil)
	if err != nil {
		be.fail(err)
		return
	}
	if be.prof != nil {
		rec := -1
		if be.record {
			rec = len(be.launches) - 1
		}
		be.prof.add(k.name, ev, rec)
	}
}

// op launches the ops program's kernel name.
func (be *Backend) op(name string, gx, gy, lx, ly int, args ...any) {
	if be.err != nil {
		return
	}
	be.launch(be.k[name], gx, gy, lx, ly, args...)
}

// vec1D is the global and local size of a kernel that takes VEC elements
// (or columns) per work-item over n.
func (be *Backend) vec1D(n int) (int, int) {
	return be.elem1D((n + be.vec - 1) / be.vec)
}

func (be *Backend) elem1D(n int) (int, int) { return roundUp(n, be.wgElem), be.wgElem }

// colLaunch launches a column reduction (col_sum, relu_backward_colsum,
// bn_train, bn_backward) over cols columns: whole columns per work-item,
// VEC of them (ROW_SLICES 1), or COL_TILE columns a work-group, each
// column's rows shared by ROW_SLICES items (common.cl). The geometry
// depends on the settings and cols only, never on the lanes, so a lane
// sums in the same order in any group.
func (be *Backend) colLaunch(name string, cols int, args ...any) {
	if be.rowSlices > 1 {
		be.op(name, roundUp(cols, be.colTile), be.rowSlices, be.colTile, be.rowSlices, args...)
		return
	}
	g, l := be.vec1D(cols)
	be.op(name, g, 1, l, 1, args...)
}

// Fill: x[0:n] = v in every lane (the fill kernel: one launch for the lanes).
func (be *Backend) Fill(x device.Buffer, n int, v float64) {
	g, l := be.vec1D(n)
	be.op("fill", g, 1, l, 1, x, n, v)
}

func (be *Backend) GatherRows(dst, src, idx device.Buffer, idxOff, rows, cols int) {
	g, l := be.elem1D(rows * ((cols + be.vec - 1) / be.vec))
	be.op("gather_rows", g, 1, l, 1, dst, src, idx, idxOff, rows, cols, be.lut)
}

func (be *Backend) Gemm(transA, transB bool, m, n, k int, alpha float64, a, b device.Buffer, beta float64, c device.Buffer) {
	be.gemm(transA, transB, m, n, k, alpha, a, b, beta, c, nil, false, device.Dropout{})
}

// GemmBiasAct: C = drop(act(A·B + bias)), the product's epilogue adding the
// bias, applying ReLU and the dropout, for the lanes whose dropout is on,
// in the product's last launch (keep ? v·scale : 0 of the epilogue's
// result: what dropout_apply would store in a launch of its own).
func (be *Backend) GemmBiasAct(m, n, k int, a, b, bias device.Buffer, relu bool, d device.Dropout, c device.Buffer) {
	be.gemm(false, false, m, n, k, 1, a, b, 0, c, bias, relu, d)
}

// plan is the launches of a product of a shape, computed once from the
// tuning's settings for its shape class.
func (be *Backend) plan(key gemmKey) *gemmPlan {
	if p, ok := be.plans[key]; ok {
		return p
	}
	transA, transB, m, n, k := key.transA, key.transB, key.m, key.n, key.k
	s := be.dev.Tuning.gemmFor(transA, transB, m, n, k)
	ks := be.gk[be.dev.gemm.Key(s)]
	name := gemmNames[b2i(transA)][b2i(transB)]
	p := &gemmPlan{}
	if kernels.Direct(s, m, n, k) {
		p.main = ks[directNames[b2i(transA)][b2i(transB)]]
		if be.dev.gemm != kernels.GemmCPU {
			// One work-item per element of C in WGD×WGD work-groups.
			w := s["WGD"]
			p.g, p.l, p.tile = [2]int{roundUp(n, w), roundUp(m, w)}, [2]int{w, w}, [2]int{w, w}
		} else {
			// A work-item per vector of VW columns and row worker; the
			// workers walk C's blocks of MR rows (a grid-stride loop), so
			// their number is free: enough for directWork work-items per
			// compute unit over all lanes, each amortizing its copy of
			// op(B)'s tile over as many rows as that leaves it.
			cols, blocks := (n+s["VW"]-1)/s["VW"], (m+s["MR"]-1)/s["MR"]
			want := directWork * max(1, be.dev.Info.ComputeUnits)
			rows := min(blocks, max(1, (want+cols*be.lanes-1)/(cols*be.lanes)))
			p.g, p.l = [2]int{cols, rows}, [2]int{1, 1}
		}
		be.plans[key] = p
		return p
	}
	if be.dev.gemm != kernels.GemmCPU {
		rtsn, rtsm := s["TSN"]/s["WPTN"], s["TSM"]/s["WPTM"]
		p.main = ks[name]
		p.g = [2]int{(n + s["TSN"] - 1) / s["TSN"] * rtsn, (m + s["TSM"] - 1) / s["TSM"] * rtsm}
		p.l, p.tile = [2]int{rtsn, rtsm}, [2]int{s["TSM"], s["TSN"]}
		if sl, d := kernels.SplitK(s, m, n, k, be.dev.Info.ComputeUnits); sl > 1 {
			// The slices stacked in grid dimension 1, then the finish:
			// one work-item per element of C.
			w := s["WGD"]
			p.main, p.slices, p.depth, p.partElems = ks[splitNames[b2i(transA)][b2i(transB)]], sl, d, sl*m*n
			p.g[1] *= sl
			p.finish, p.finishG, p.wgdF = ks["gemm_split_finish"], [2]int{roundUp(n, w), roundUp(m, w)}, w
		}
		be.plans[key] = p
		return p
	}
	mr, nr := s["MR"], s["NV"]*s["VW"]
	short := name == "gemm_nt" && k < s["NT_SHORT_K"]
	packed := s["PACK"] == 1 || (short && s["NT_SHORT"] == 1)
	if short && !packed {
		name = "gemm_ntg"
	}
	p.l = [2]int{1, 1}
	switch {
	case packed:
		// op(B) into panels of NR columns, then the product over them.
		panels := (n + nr - 1) / nr
		p.panelElems = panels * nr * k
		pk, gn := "pack_bn", "gemm_np"
		if transB {
			pk = "pack_bt"
		}
		if transA {
			gn = "gemm_tp"
		}
		p.pack, p.packG = ks[pk], [2]int{panels, k}
		if transB {
			p.packG[1] = (k + s["VW"] - 1) / s["VW"]
		}
		p.main, p.g, p.tile = ks[gn], [2]int{panels, (m + mr - 1) / mr}, [2]int{mr, nr}
	case name == "gemm_nt":
		p.main, p.g = ks[name], [2]int{(n + s["NT_NR"] - 1) / s["NT_NR"], (m + s["NT_MR"] - 1) / s["NT_MR"]}
		p.tile = [2]int{s["NT_MR"], s["NT_NR"]}
	default:
		p.main, p.g, p.tile = ks[name], [2]int{(n + nr - 1) / nr, (m + mr - 1) / mr}, [2]int{mr, nr}
	}
	be.plans[key] = p
	return p
}

// packScratch returns the per-lane scratch for packed panels, at least
// elems a lane.
func (be *Backend) packScratch(elems int) *buffer {
	return be.scratch(&be.pack, "Gemm (packing scratch)", elems)
}

// scratch returns *slot, a per-lane scratch buffer owned by the backend
// (released by Close), first grown to at least elems a lane.
func (be *Backend) scratch(slot **buffer, op string, elems int) *buffer {
	if b := *slot; b != nil && b.n >= elems {
		return b
	}
	if b := *slot; b != nil {
		b.mem.Release() // OpenCL keeps it until the queued commands finish
		b.freed = true
		*slot = nil
	}
	x, err := be.alloc(op, device.Float, elems, be.lanes)
	if err != nil {
		be.fail(err)
		return nil
	}
	b := x.(*buffer)
	delete(be.bufs, b) // owned by the backend, released by Close
	*slot = b
	return b
}

// gemm launches a product with its epilogue: bias (nil for none), ReLU,
// and the dropout d.
func (be *Backend) gemm(transA, transB bool, m, n, k int, alpha float64, a, b device.Buffer, beta float64, c device.Buffer, bias device.Buffer, act bool,
	d device.Dropout) {
	if m == 0 || n == 0 || be.err != nil {
		return
	}
	lo, hi, on := uint32(d.Step), uint32(d.Step>>32), d.On && be.anyDrop // DROP_ARGS, written out below (no slice to build)
	p := be.plan(gemmKey{transA, transB, m, n, k})
	if p.pack != nil {
		bp := be.packScratch(p.panelElems)
		if bp == nil {
			return // failed: the error sticks
		}
		be.launch(p.pack, p.packG[0], p.packG[1], 0, 0, n, k, b, bp)
		b = bp
	}
	if p.finish != nil {
		part := be.splitScratch(p.partElems)
		if part == nil {
			return // failed: the error sticks
		}
		be.launch(p.main, p.g[0], p.g[1], p.l[0], p.l[1], m, n, k, p.depth, a, b, part)
		be.recordTile(p.main, p.tile)
		be.launch(p.finish, p.finishG[0], p.finishG[1], p.wgdF, p.wgdF, m, n, p.slices, alpha, part, beta, c, bias, act,
			be.laneU, be.laneF, lo, hi, d.Layer, on)
		return
	}
	be.launch(p.main, p.g[0], p.g[1], p.l[0], p.l[1], m, n, k, alpha, a, b, beta, c, bias, act, be.laneU, be.laneF, lo, hi, d.Layer, on)
	be.recordTile(p.main, p.tile)
}

// splitScratch returns the per-lane scratch of split-K's partial
// products, at least elems a lane.
func (be *Backend) splitScratch(elems int) *buffer {
	return be.scratch(&be.split, "Gemm (split-K scratch)", elems)
}

var gemmNames = [2][2]string{{"gemm_nn", "gemm_nt"}, {"gemm_tn", "gemm_tt"}}

// splitNames are split-K's slice products (kernels.SplitK), by transposes.
var splitNames = [2][2]string{{"gemm_split_nn", "gemm_split_nt"}, {"gemm_split_tn", "gemm_split_tt"}}

// directNames are the direct products (kernels.Direct), by transposes.
var directNames = [2][2]string{{"gemm_direct_nn", "gemm_direct_nt"}, {"gemm_direct_tn", "gemm_direct_tt"}}

// directWork is the direct products' work-items per compute unit on a CPU
// device: a few, so that the units share out the blocks evenly, and no
// more, since each work-item copies op(B)'s tile once.
const directWork = 4

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// dropoutDims is the global and local size of dropout_apply over n elements.
func (be *Backend) dropoutDims(n int) (int, int) {
	per := 4 * be.planes
	return be.elem1D((n + per - 1) / per)
}

func (be *Backend) DropoutApply(x device.Buffer, rows, cols int, d device.Dropout) {
	if !d.On || !be.anyDrop {
		return
	}
	g, l := be.dropoutDims(rows * cols)
	be.op("dropout_apply", g, 1, l, 1, x, rows*cols, be.laneU, be.laneF, uint32(d.Step), uint32(d.Step>>32), d.Layer)
}

func (be *Backend) ReLUBackwardColSum(dx, y, dst device.Buffer, rows, cols int, dropout bool) {
	be.colLaunch("relu_backward_colsum", cols, dx, y, dst, rows, cols, be.laneF, dropout)
}

func (be *Backend) ColSum(dst, x device.Buffer, rows, cols int) {
	be.colLaunch("col_sum", cols, dst, x, rows, cols)
}

func (be *Backend) BatchNormTrain(y, x, gamma, beta, mean, invstd, movMean, movVar device.Buffer, rows, cols int, eps, momentum float64) {
	be.colLaunch("bn_train", cols, y, x, gamma, beta, mean, invstd, movMean, movVar, rows, cols, eps, 1-momentum)
}

func (be *Backend) BatchNormInfer(y, x, gamma, beta, movMean, movVar device.Buffer, rows, cols int, eps float64) {
	l := min(64, be.wgElem)
	be.op("bn_infer", roundUp(cols, l), rows, l, 1, y, x, gamma, beta, movMean, movVar, rows, cols, eps)
}

func (be *Backend) BatchNormBackward(dx, dy, x, gamma, mean, invstd, dgamma, dbeta, dbias device.Buffer, rows, cols int) {
	be.colLaunch("bn_backward", cols, dx, dy, x, gamma, mean, invstd, dgamma, dbeta, dbias, rows, cols)
}

// SoftmaxXent: a batch of at most WG_REDUCE rows in one launch, dbias
// included (each of the first classes items sums a column of dlogits, the
// rows in order, once the work-group's rows are written); more rows in
// softmax_xent_part and softmax_xent_finish, then col_sum for dbias.
func (be *Backend) SoftmaxXent(dlogits, dbias, logits, labels, idx device.Buffer, idxOff, rows, classes int, gradScale float64, acc, pending device.Buffer, step int) {
	if classes > kernels.MaxClasses {
		be.fail(fmt.Errorf("opencl: SoftmaxXent: %d classes exceed the kernel's MAX_CLASSES %d", classes, kernels.MaxClasses))
		return
	}
	var dl, db any // nil: the kernel's NULL (has_grad 0; no bias gradient)
	if dlogits != nil {
		dl = dlogits
		if dbias != nil {
			db = dbias
		}
	}
	var pend any // nil: the kernel's NULL (no penalty pending)
	if pending != nil {
		pend = pending
	}
	w := be.wgReduce
	if rows <= w {
		be.op("softmax_xent", w, 1, w, 1, dl, db, logits, labels, idx, idxOff, rows, classes, gradScale, dlogits != nil, acc, step,
			pend, be.laneF)
		return
	}
	// A row a work-item in ceil(rows/w) work-groups, then one adding their
	// sums in a fixed order: the split depends on rows and WG_REDUCE only,
	// never on the lanes.
	groups := (rows + w - 1) / w
	part := be.scratch(&be.xent, "SoftmaxXent (scratch)", 2*groups)
	if part == nil {
		return // failed: the error sticks
	}
	be.op("softmax_xent_part", groups*w, 1, w, 1, dl, logits, labels, idx, idxOff, rows, classes, gradScale, dlogits != nil, part)
	be.op("softmax_xent_finish", w, 1, w, 1, acc, part, groups, step, pend, be.laneF)
	if db != nil {
		be.ColSum(dbias, dlogits, rows, classes)
	}
}

func (be *Backend) PenaltySum(acc, w device.Buffer, n int, scale float64) {
	if !be.anyPen {
		return // no lane has a penalty: nothing to add
	}
	wg := be.wgReduce
	groups, chunk := be.penaltyGroups(n)
	if groups == 1 {
		be.op("penalty_sum", wg, 1, wg, 1, acc, w, n, be.laneF, scale)
		return
	}
	part := be.penScratch(2 * groups)
	be.op("penalty_part", groups*wg, 1, wg, 1, part, w, n, chunk, be.laneF)
	be.op("penalty_finish", wg, 1, wg, 1, acc, part, groups, be.laneF, scale)
}

// penaltyGroups is how PenaltySum splits n weights: into groups chunks of
// chunk (a multiple of VEC) for penalty_part, at most PEN_GROUPS and no
// more than leave each work-item of a work-group VEC weights; groups 1 is
// penalty_sum alone. It depends on n and the settings only, never on the
// lanes, so a lane sums in the same order in any group.
func (be *Backend) penaltyGroups(n int) (groups, chunk int) {
	perGroup := be.wgReduce * be.vec
	groups = min(be.penGroups, max(1, (n+perGroup-1)/perGroup))
	if groups <= 1 {
		return 1, n
	}
	chunk = roundUp((n+groups-1)/groups, be.vec)
	return (n + chunk - 1) / chunk, chunk
}

// penScratch returns the per-lane scratch of penalty_part's sums, at
// least elems a lane.
func (be *Backend) penScratch(elems int) *buffer {
	return be.scratch(&be.pen, "PenaltySum (scratch)", elems)
}

func (be *Backend) AdamStep(w, g, m, v device.Buffer, n, penalized int, h device.Adam) {
	var pend any // nil: the kernel's NULL (no penalty left pending)
	if h.Pending != nil {
		if h.Pending.Len() < be.PendingLen(penalized) {
			be.fail(fmt.Errorf("opencl: AdamStep: a pending-penalty buffer of %d elements, want at least PendingLen(%d) = %d",
				h.Pending.Len(), penalized, be.PendingLen(penalized)))
			return
		}
		pend = h.Pending
	}
	gs, l := be.elem1D((n + be.vec*be.adamRun - 1) / (be.vec * be.adamRun)) // ADAM_RUN vectors of VEC a work-item
	be.op("adam", gs, 1, l, 1, w, g, m, v, n, penalized, be.laneF, h.Correction, h.Beta1, 1-h.Beta1, h.Beta2, 1-h.Beta2, h.Eps,
		pend, h.PenaltyScale)
}

// PendingLen: the scale, the count of pairs, then a pair of partial sums
// for each of adam's work-groups over the penalized prefix
// (kernels.PendParts; adam.cl).
func (be *Backend) PendingLen(penalized int) int {
	return kernels.PendParts + 2*be.adamGroups(penalized)
}

// adamGroups is how many of adam's parts (PEN_TREE 1: work-groups of
// VEC·WG_ELEM elements; 0: work-items of VEC) cover a penalized prefix: the
// pairs of partial sums a pending penalty holds. It depends on the
// settings only, never on the lanes.
func (be *Backend) adamGroups(penalized int) int {
	per := be.vec * be.adamRun
	if be.penTree {
		per *= be.wgElem
	}
	return (penalized + per - 1) / per
}

// PenaltyFold: one work-group a lane (penalty_fold).
func (be *Backend) PenaltyFold(acc, pending device.Buffer) {
	w := be.wgReduce
	be.op("penalty_fold", w, 1, w, 1, acc, pending, be.laneF)
}

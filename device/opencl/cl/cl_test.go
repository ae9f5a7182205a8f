package cl

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// requireOpenCL loads OpenCL and returns the first device of the first
// platform that has one. Without OpenCL the test fails when the CI
// environment variable is set and is skipped otherwise.
func requireOpenCL(t *testing.T) Device {
	t.Helper()
	unavailable := func(reason string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("OpenCL is required when CI is set: %s", reason)
		}
		t.Skipf("OpenCL not available: %s", reason)
	}
	if err := Load(); err != nil {
		unavailable(err.Error())
	}
	ps, err := Platforms()
	if err != nil {
		unavailable(err.Error())
	}
	for _, p := range ps {
		ds, err := p.Devices()
		if err != nil {
			unavailable(err.Error())
		}
		if len(ds) > 0 {
			return ds[0]
		}
	}
	unavailable("no OpenCL device found")
	return Device{}
}

// setup returns a context and a queue for dev, released at the end of the
// test.
func setup(t *testing.T, dev Device, profiling bool) (*Context, *Queue) {
	t.Helper()
	ctx, err := CreateContext(dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ctx.Release(); err != nil {
			t.Error(err)
		}
	})
	q, err := CreateQueue(ctx, dev, profiling)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := q.Release(); err != nil {
			t.Error(err)
		}
	})
	return ctx, q
}

func build(t *testing.T, ctx *Context, src string) *Program {
	t.Helper()
	p, err := BuildProgram(ctx, nil, src, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Release() })
	return p
}

func kernel(t *testing.T, p *Program, name string) *Kernel {
	t.Helper()
	k, err := CreateKernel(p, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Release() })
	return k
}

func buffer(t *testing.T, ctx *Context, size int) *Mem {
	t.Helper()
	m, err := CreateBuffer(ctx, MemReadWrite, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Release() })
	return m
}

func setArgs(t *testing.T, k *Kernel, args ...any) {
	t.Helper()
	for i, a := range args {
		if err := k.SetArg(i, a); err != nil {
			t.Fatal(err)
		}
	}
}

const vaddSource = `
__kernel void vadd(__global const float* a, __global const float* b,
                   __global float* c, const float s, const int n) {
	int i = get_global_id(0);
	if (i < n) c[i] = a[i] + s * b[i];
}
`

func TestPlatformsAndDevices(t *testing.T) {
	requireOpenCL(t)
	ps, err := Platforms()
	if err != nil {
		t.Fatal(err)
	}
	if LibraryName() == "" {
		t.Error("LibraryName is empty after a successful Load")
	}
	for _, p := range ps {
		if p.Name() == "" || p.Vendor() == "" || !strings.HasPrefix(p.Version(), "OpenCL ") {
			t.Errorf("platform: name %q vendor %q version %q", p.Name(), p.Vendor(), p.Version())
		}
		ds, err := p.Devices()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			t.Logf("%s: %s (%s, %s, driver %s): %d compute units at %d MHz, %d MiB global, %d KiB local, work-groups up to %d %v",
				p.Name(), d.Name(), d.Type(), d.Version(), d.DriverVersion(), d.MaxComputeUnits(), d.MaxClockFrequency(),
				d.GlobalMemSize()>>20, d.LocalMemSize()>>10, d.MaxWorkGroupSize(), d.MaxWorkItemSizes())
			if d.Name() == "" || d.Vendor() == "" || d.DriverVersion() == "" {
				t.Errorf("device: name %q vendor %q driver %q", d.Name(), d.Vendor(), d.DriverVersion())
			}
			if !strings.HasPrefix(d.Version(), "OpenCL ") {
				t.Errorf("device version %q does not start with \"OpenCL \"", d.Version())
			}
			if d.MaxComputeUnits() <= 0 || d.MaxWorkGroupSize() <= 0 || d.GlobalMemSize() == 0 || d.LocalMemSize() == 0 {
				t.Errorf("device %s: compute units %d, max work-group %d, global %d, local %d",
					d.Name(), d.MaxComputeUnits(), d.MaxWorkGroupSize(), d.GlobalMemSize(), d.LocalMemSize())
			}
			if d.Type()&(DeviceCPU|DeviceGPU|DeviceAccelerator|DeviceCustom) == 0 {
				t.Errorf("device %s: type %v", d.Name(), d.Type())
			}
			if len(d.MaxWorkItemSizes()) < 3 {
				t.Errorf("device %s: max work-item sizes %v", d.Name(), d.MaxWorkItemSizes())
			}
			dp, err := d.Platform()
			if err != nil || dp != p {
				t.Errorf("device %s: platform %v, %v; want %v", d.Name(), dp, err, p)
			}
			// A generic query: CL_DEVICE_OPENCL_C_VERSION.
			if v, err := d.InfoString(0x103D); err != nil || !strings.HasPrefix(v, "OpenCL C ") {
				t.Errorf("CL_DEVICE_OPENCL_C_VERSION: %q, %v", v, err)
			}
			// A bad parameter gives a clGetDeviceInfo error.
			if _, err := d.InfoUint(0x7fff); err == nil || !strings.Contains(err.Error(), "clGetDeviceInfo(0x7fff): CL_INVALID_VALUE") {
				t.Errorf("bad device info parameter: %v", err)
			}
		}
	}
}

func TestConcurrentLoad(t *testing.T) {
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = Load() })
	}
	wg.Wait()
	for _, err := range errs[1:] {
		if err != errs[0] {
			t.Fatalf("Load returned %v and %v", errs[0], err)
		}
	}
}

func TestVectorAdd(t *testing.T) {
	dev := requireOpenCL(t)
	ctx, q := setup(t, dev, false)
	k := kernel(t, build(t, ctx, vaddSource), "vadd")

	const n = 1003 // not a multiple of 8
	const s = float32(0.5)
	a, b := make([]float32, n), make([]float32, n)
	for i := range a {
		a[i] = float32(i) * 0.25
		b[i] = float32(n-i) * 1.5
	}
	ma, mb, mc := buffer(t, ctx, 4*n), buffer(t, ctx, 4*n), buffer(t, ctx, 4*n)
	if ma.Size() != 4*n {
		t.Errorf("Size() = %d, want %d", ma.Size(), 4*n)
	}
	if err := WriteBuffer(q, ma, true, 0, a); err != nil {
		t.Fatal(err)
	}
	if err := WriteBuffer(q, mb, false, 0, b); err != nil {
		t.Fatal(err)
	}
	if err := FillBuffer(q, mc, float32(-1), 0, 4*n); err != nil {
		t.Fatal(err)
	}
	setArgs(t, k, ma, mb, mc, s, int32(n))

	for _, local := range [][]int{nil, {64}} {
		global := []int{n}
		if local != nil {
			global[0] = (n + 63) / 64 * 64
		}
		runVadd(t, q, k, mc, a, b, s, global, local, fmt.Sprintf("local %v", local))
	}

	// Read at an offset.
	tail := make([]float32, 3)
	if err := ReadBuffer(q, mc, true, 4*(n-3), tail); err != nil {
		t.Fatal(err)
	}
	for i, v := range tail {
		j := n - 3 + i
		if want := a[j] + s*b[j]; v != want {
			t.Errorf("tail[%d] = %v, want %v", i, v, want)
		}
	}
	// Reading past the end names the call and the sizes.
	err := ReadBuffer(q, mc, true, 4*n, tail)
	if err == nil || !strings.HasPrefix(err.Error(), "clEnqueueReadBuffer(12 bytes at 4012 of 4012): CL_INVALID_VALUE") {
		t.Errorf("read past the end: %v", err)
	}
	if err := q.Finish(); err != nil {
		t.Fatal(err)
	}
}

func TestKernelArgTypes(t *testing.T) {
	dev := requireOpenCL(t)
	ctx, q := setup(t, dev, false)
	const src = `
__kernel void args(__global ulong* out, int a, uint b, long c, ulong d, float e,
                   __local uint* scratch, __global const uint* nothing) {
	scratch[get_local_id(0)] = 7;
	barrier(CLK_LOCAL_MEM_FENCE);
	out[0] = (ulong)(long)a;
	out[1] = b;
	out[2] = (ulong)c;
	out[3] = d;
	out[4] = as_uint(e);
	out[5] = scratch[0];
	out[6] = nothing == 0;
}
`
	k := kernel(t, build(t, ctx, src), "args")
	out := buffer(t, ctx, 8*7)
	setArgs(t, k, out, int32(-5), uint32(0xfffffffe), int64(-1<<40), uint64(1<<63|12345), float32(-2.5), LocalMem(4*16), (*Mem)(nil))
	if _, err := EnqueueNDRange(q, k, []int{16}, []int{16}, false); err != nil {
		t.Fatal(err)
	}
	got := make([]uint64, 7)
	if err := ReadBuffer(q, out, true, 0, got); err != nil {
		t.Fatal(err)
	}
	want := []uint64{uint64(math.MaxUint64 - 4), 0xfffffffe, uint64(1<<64 - 1<<40), 1<<63 | 12345, uint64(math.Float32bits(-2.5)), 7, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("out[%d] = %#x, want %#x", i, got[i], want[i])
		}
	}
	if err := k.SetArg(0, "a string"); err == nil || !strings.Contains(err.Error(), "unsupported argument type string") {
		t.Errorf("SetArg with a string: %v", err)
	}
	err := k.SetArg(9, int32(1))
	if err == nil || err.Error() != "clSetKernelArg(args arg 9): CL_INVALID_ARG_INDEX" {
		t.Errorf("SetArg out of range: %v", err)
	}
}

func TestBuildError(t *testing.T) {
	dev := requireOpenCL(t)
	ctx, _ := setup(t, dev, false)
	const src = `__kernel void broken(__global float* x) { x[0] = undefined_thing + ; }`
	p, err := BuildProgram(ctx, []Device{dev}, src, "-cl-fast-relaxed-math")
	if err == nil {
		p.Release()
		t.Fatal("a kernel with a syntax error built")
	}
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("error %T is not a *BuildError: %v", err, err)
	}
	t.Logf("build error:\n%v", err)
	if !strings.Contains(be.Log, "undefined_thing") && !strings.Contains(be.Log, "error") {
		t.Errorf("build log does not mention the error:\n%s", be.Log)
	}
	msg := err.Error()
	for _, s := range []string{"clBuildProgram", "CL_BUILD_PROGRAM_FAILURE", be.Log, "-cl-fast-relaxed-math", dev.Name()} {
		if !strings.Contains(msg, s) {
			t.Errorf("error text lacks %q:\n%s", s, msg)
		}
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Status != BuildProgramFailure {
		t.Errorf("errors.As(*Error): %v", ce)
	}
	if h := Hint(err); !strings.Contains(h, "failed to compile") {
		t.Errorf("Hint = %q", h)
	}
}

func TestLaunchErrors(t *testing.T) {
	dev := requireOpenCL(t)
	ctx, q := setup(t, dev, false)
	k := kernel(t, build(t, ctx, vaddSource), "vadd")
	m := buffer(t, ctx, 4*100)

	check := func(what string, err error, statuses ...int32) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		t.Logf("%s: %v", what, err)
		if !strings.HasPrefix(err.Error(), "clEnqueueNDRangeKernel(vadd): CL_") {
			t.Errorf("%s: error %q does not name the call, the kernel and a CL_ status", what, err)
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: %T is not an *Error", what, err)
		}
		for _, s := range statuses {
			if e.Status == s {
				return
			}
		}
		t.Errorf("%s: status %s, want one of %v", what, StatusName(e.Status), statuses)
	}

	// Arguments 2 to 4 are not set.
	setArgs(t, k, m, m)
	_, err := EnqueueNDRange(q, k, []int{100}, nil, false)
	check("unset arguments", err, InvalidKernelArgs)

	setArgs(t, k, m, m, m, float32(1), int32(100))
	wi, err := k.WorkGroupInfo(dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("work-group info: %+v", wi)
	if wi.WorkGroupSize <= 0 || wi.PreferredSizeMultiple <= 0 {
		t.Errorf("WorkGroupInfo = %+v", wi)
	}
	// 7 does not divide 100.
	_, err = EnqueueNDRange(q, k, []int{100}, []int{7}, false)
	check("local size 7 of 100", err, InvalidWorkGroupSize)
	// Larger than any device allows.
	big := 2 * max(wi.WorkGroupSize, dev.MaxWorkGroupSize(), dev.MaxWorkItemSizes()[0])
	_, err = EnqueueNDRange(q, k, []int{big}, []int{big}, false)
	check("local size too large", err, InvalidWorkGroupSize, InvalidWorkItemSize)
	if !strings.Contains(Hint(err), "local work size") && Hint(err) != "" {
		t.Errorf("Hint = %q", Hint(err))
	}
	// Four dimensions.
	_, err = EnqueueNDRange(q, k, []int{1, 1, 1, 1}, nil, false)
	check("four dimensions", err, InvalidWorkDimension)

	if _, err := CreateKernel(build(t, ctx, vaddSource), "nope"); err == nil || err.Error() != "clCreateKernel(nope): CL_INVALID_KERNEL_NAME" {
		t.Errorf("CreateKernel(nope): %v", err)
	}
	if err := q.Finish(); err != nil {
		t.Fatal(err)
	}
}

func TestProfiling(t *testing.T) {
	dev := requireOpenCL(t)
	ctx, q := setup(t, dev, true)
	if !q.Profiling() {
		t.Fatal("Profiling() = false")
	}
	k := kernel(t, build(t, ctx, vaddSource), "vadd")
	const n = 1 << 16
	m := buffer(t, ctx, 4*n)
	if err := FillBuffer(q, m, float32(1), 0, 4*n); err != nil {
		t.Fatal(err)
	}
	setArgs(t, k, m, m, m, float32(2), int32(n))
	ev, err := EnqueueNDRange(q, k, []int{n}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Release()
	if ev.IsZero() {
		t.Fatal("no event")
	}
	if err := q.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := ev.Wait(); err != nil {
		t.Fatal(err)
	}
	queued, submit, start, end, err := ev.ProfilingTimes()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("queued %d, submit +%d ns, start +%d ns, end +%d ns", queued, submit-queued, start-queued, end-queued)
	if !(queued <= submit && submit <= start && start <= end) || end == 0 {
		t.Errorf("times not monotone: queued %d submit %d start %d end %d", queued, submit, start, end)
	}

	// A queue without profiling has no times.
	q2, err := CreateQueue(ctx, dev, false)
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Release()
	ev2, err := EnqueueNDRange(q2, k, []int{n}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	defer ev2.Release()
	if err := ev2.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, _, _, _, err := ev2.ProfilingTimes(); err == nil || err.Error() != "clGetEventProfilingInfo: CL_PROFILING_INFO_NOT_AVAILABLE" {
		t.Errorf("times without profiling: %v", err)
	}
}

// TestQueueFallback creates a profiling queue with clCreateCommandQueue, as
// on an OpenCL 1.2 library without clCreateCommandQueueWithProperties.
func TestQueueFallback(t *testing.T) {
	dev := requireOpenCL(t)
	t.Logf("clCreateCommandQueueWithProperties present: %v", lib.createCommandQueueWithPr != 0)
	saved := lib.createCommandQueueWithPr
	lib.createCommandQueueWithPr = 0
	defer func() { lib.createCommandQueueWithPr = saved }()
	ctx, q := setup(t, dev, true)
	k := kernel(t, build(t, ctx, vaddSource), "vadd")
	m := buffer(t, ctx, 4*10)
	setArgs(t, k, m, m, m, float32(1), int32(10))
	ev, err := EnqueueNDRange(q, k, []int{10}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Release()
	if err := ev.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, _, start, end, err := ev.ProfilingTimes(); err != nil || start > end {
		t.Errorf("ProfilingTimes: start %d end %d, %v", start, end, err)
	}
}

// TestConcurrentQueues runs kernels from several goroutines, each with its
// own queue and kernel, with the garbage collector running.
func TestConcurrentQueues(t *testing.T) {
	dev := requireOpenCL(t)
	ctx, _ := setup(t, dev, false)
	p := build(t, ctx, vaddSource)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			q, err := CreateQueue(ctx, dev, false)
			if err != nil {
				errs <- err
				return
			}
			defer q.Release()
			k, err := CreateKernel(p, "vadd")
			if err != nil {
				errs <- err
				return
			}
			defer k.Release()
			const n = 257
			m, err := CreateBuffer(ctx, MemReadWrite, 4*n)
			if err != nil {
				errs <- err
				return
			}
			defer m.Release()
			for it := range 20 {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(g*1000 + it + i)
				}
				if err := WriteBuffer(q, m, false, 0, x); err != nil {
					errs <- err
					return
				}
				for i, a := range []any{m, m, m, float32(1), int32(n)} {
					if err := k.SetArg(i, a); err != nil {
						errs <- err
						return
					}
				}
				if _, err := EnqueueNDRange(q, k, []int{n}, nil, false); err != nil {
					errs <- err
					return
				}
				runtime.GC()
				y := make([]float32, n)
				if err := ReadBuffer(q, m, true, 0, y); err != nil {
					errs <- err
					return
				}
				for i := range y {
					if y[i] != 2*x[i] {
						errs <- fmt.Errorf("goroutine %d iteration %d: y[%d] = %v, want %v", g, it, i, y[i], 2*x[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestLoadMissingLibrary(t *testing.T) {
	const path = "/nonexistent/libOpenCL.so.1"
	_, err := load(path)
	if err == nil {
		t.Fatal("loaded a nonexistent library")
	}
	t.Log(err)
	for _, s := range []string{"opencl: cannot load " + path, "REGCL_OPENCL_LIB", "No such file"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}

	saved := defaultLibs
	defer func() { defaultLibs = saved }()
	defaultLibs = []string{"libregcl-missing-opencl.so.1", "libregcl-missing-opencl.so"}
	_, err = load("")
	t.Log(err)
	if err == nil || !strings.HasPrefix(err.Error(), "opencl: cannot load libregcl-missing-opencl.so.1 (") ||
		!strings.HasSuffix(err.Error(), "; set REGCL_OPENCL_LIB to the library's path") {
		t.Errorf("error for missing default libraries: %v", err)
	}

	// A library that is not OpenCL names the missing function.
	_, err = load("libc.so.6")
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "has no function clGetPlatformIDs") {
		t.Errorf("loading libc: %v", err)
	}
}

// TestNoPlatform runs itself in a child process whose ICD loader finds no
// driver (OCL_ICD_VENDORS names an empty folder) and checks the error.
func TestNoPlatform(t *testing.T) {
	if os.Getenv("REGCL_CL_TEST_CHILD") == "noplatform" {
		_, err := Platforms()
		if !errors.Is(err, ErrNoPlatform) {
			t.Fatalf("Platforms() = %v, want ErrNoPlatform", err)
		}
		t.Logf("child: %v\nhint: %s", err, Hint(err))
		if !strings.Contains(Hint(err), "no OpenCL platform is installed") {
			t.Errorf("Hint = %q", Hint(err))
		}
		return
	}
	requireOpenCL(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoPlatform$", "-test.v")
	cmd.Env = append(os.Environ(), "REGCL_CL_TEST_CHILD=noplatform", "OCL_ICD_VENDORS="+t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("child output:\n%s", out)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	if !strings.Contains(string(out), "opencl: no OpenCL platform found") {
		t.Errorf("child output lacks the error")
	}
}

func TestStatusNames(t *testing.T) {
	for _, c := range []struct {
		status int32
		name   string
	}{
		{0, "CL_SUCCESS"},
		{-5, "CL_OUT_OF_RESOURCES"},
		{-11, "CL_BUILD_PROGRAM_FAILURE"},
		{-54, "CL_INVALID_WORK_GROUP_SIZE"},
		{-72, "CL_MAX_SIZE_RESTRICTION_EXCEEDED"},
		{-1001, "CL_PLATFORM_NOT_FOUND_KHR"},
		{-1234, "CL status -1234"},
		{-20, "CL status -20"},
		{1, "CL status 1"},
	} {
		if got := StatusName(c.status); got != c.name {
			t.Errorf("StatusName(%d) = %q, want %q", c.status, got, c.name)
		}
	}
	// Every standard code from 0 to -72 outside the gap -20 to -29 has a name.
	for s := int32(0); s >= -72; s-- {
		if s <= -20 && s >= -29 {
			continue
		}
		if name := StatusName(s); !strings.HasPrefix(name, "CL_") {
			t.Errorf("StatusName(%d) = %q", s, name)
		}
	}
}

func TestErrorText(t *testing.T) {
	err := error(&Error{Call: "clEnqueueNDRangeKernel", Object: "gemm_nt", Status: OutOfResources})
	if got := err.Error(); got != "clEnqueueNDRangeKernel(gemm_nt): CL_OUT_OF_RESOURCES" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&Error{Call: "clCreateContext", Status: DeviceNotAvailable}).Error(); got != "clCreateContext: CL_DEVICE_NOT_AVAILABLE" {
		t.Errorf("Error() = %q", got)
	}
	wrapped := errors.Join(errors.New("step 3"), err)
	var e *Error
	if !errors.As(wrapped, &e) || e.Status != -5 {
		t.Errorf("errors.As: %v", e)
	}
	for _, c := range []struct {
		err  error
		hint string
	}{
		{wrapped, "the device ran out of memory: use a smaller batch or fewer parallel runs"},
		{&Error{Call: "clCreateBuffer", Status: MemObjectAllocationFailure}, "the device ran out of memory: use a smaller batch or fewer parallel runs"},
		{&Error{Call: "clFinish", Status: OutOfHostMemory}, "the device ran out of memory: use a smaller batch or fewer parallel runs"},
		{&Error{Call: "clCreateContext", Status: DeviceNotAvailable}, "the device is busy or was lost"},
		{&Error{Call: "clFinish", Status: -9999}, "the device is busy or was lost"},
		{&BuildError{Err: &Error{Call: "clBuildProgram", Status: BuildProgramFailure}}, "the kernel failed to compile; see the build log above"},
		{&Error{Call: "clGetPlatformIDs", Status: PlatformNotFoundKHR}, "no OpenCL platform is installed (no ICD file in /etc/OpenCL/vendors)"},
		{ErrNoPlatform, "no OpenCL platform is installed (no ICD file in /etc/OpenCL/vendors)"},
		{&Error{Call: "clFinish", Status: InvalidValue}, ""},
		{errors.New("other"), ""},
		{nil, ""},
	} {
		if got := Hint(c.err); got != c.hint {
			t.Errorf("Hint(%v) = %q, want %q", c.err, got, c.hint)
		}
	}
}

// BenchmarkLaunch measures the host cost of setting five arguments and
// enqueueing a small kernel.
func BenchmarkLaunch(b *testing.B) {
	if err := Load(); err != nil {
		b.Skip(err)
	}
	ps, err := Platforms()
	if err != nil {
		b.Skip(err)
	}
	ds, err := ps[0].Devices()
	if err != nil || len(ds) == 0 {
		b.Skip("no device")
	}
	ctx, err := CreateContext(ds[0])
	if err != nil {
		b.Fatal(err)
	}
	defer ctx.Release()
	q, err := CreateQueue(ctx, ds[0], false)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Release()
	p, err := BuildProgram(ctx, nil, vaddSource, "")
	if err != nil {
		b.Fatal(err)
	}
	defer p.Release()
	k, err := CreateKernel(p, "vadd")
	if err != nil {
		b.Fatal(err)
	}
	defer k.Release()
	m, err := CreateBuffer(ctx, MemReadWrite, 4*64)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Release()
	b.ReportAllocs()
	for b.Loop() {
		for i, a := range []any{m, m, m, float32(1), int32(64)} {
			if err := k.SetArg(i, a); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := EnqueueNDRange(q, k, []int{64}, nil, false); err != nil {
			b.Fatal(err)
		}
	}
	if err := q.Finish(); err != nil {
		b.Fatal(err)
	}
}

// TestSetArgOnlyWhenChanged: SetArg calls clSetKernelArg only for a value
// the argument does not hold already, and a launch after skipped calls
// computes with the values set before; a new buffer is always set, even
// where OpenCL gives it the released one's handle.
func TestSetArgOnlyWhenChanged(t *testing.T) {
	dev := requireOpenCL(t)
	ctx, q := setup(t, dev, false)
	k := kernel(t, build(t, ctx, vaddSource), "vadd")
	const n = 37
	a, b := make([]float32, n), make([]float32, n)
	for i := range a {
		a[i], b[i] = float32(i), float32(3*i+1)
	}
	ma, mb := buffer(t, ctx, 4*n), buffer(t, ctx, 4*n)
	if err := WriteBuffer(q, ma, true, 0, a); err != nil {
		t.Fatal(err)
	}
	if err := WriteBuffer(q, mb, true, 0, b); err != nil {
		t.Fatal(err)
	}
	// run sets the arguments, launches and checks c = a + s·b.
	run := func(what string, mc *Mem, s float32, wantCalls int) {
		t.Helper()
		before := k.SetArgCalls()
		setArgs(t, k, ma, mb, mc, s, int32(n))
		if got := k.SetArgCalls() - before; got != wantCalls {
			t.Errorf("%s: %d clSetKernelArg calls, want %d", what, got, wantCalls)
		}
		if err := FillBuffer(q, mc, float32(-7), 0, 4*n); err != nil {
			t.Fatal(err)
		}
		runVadd(t, q, k, mc, a, b, s, []int{n}, nil, what)
	}
	mc, err := CreateBuffer(ctx, MemReadWrite, 4*n)
	if err != nil {
		t.Fatal(err)
	}
	run("first launch", mc, 0.5, 5)
	run("the same arguments", mc, 0.5, 0)
	run("a new scale", mc, 2, 1)
	old := mc.h
	if err := mc.Release(); err != nil {
		t.Fatal(err)
	}
	if mc, err = CreateBuffer(ctx, MemReadWrite, 4*n); err != nil {
		t.Fatal(err)
	}
	defer mc.Release()
	t.Logf("the new buffer's handle is the released one's: %v", mc.h == old)
	run("a new buffer", mc, 2, 1)
	if err := k.SetArg(2, (*Mem)(nil)); err != nil { // NULL: a value of its own
		t.Fatal(err)
	}
	run("the buffer after NULL", mc, 2, 1)
	// A failed call leaves the argument unknown: the next call is made.
	if err := k.SetArg(4, int64(1)); err == nil {
		t.Fatal("an int64 for an int argument: no error")
	}
	run("the count after a failed call", mc, 2, 1)
}

// runVadd launches vadd over global (in work-groups of local; nil: the
// driver chooses) and checks that c = a + s·b, element by element.
func runVadd(t *testing.T, q *Queue, k *Kernel, mc *Mem, a, b []float32, s float32, global, local []int, what string) {
	t.Helper()
	if _, err := EnqueueNDRange(q, k, global, local, false); err != nil {
		t.Fatal(err)
	}
	c := make([]float32, len(a))
	if err := ReadBuffer(q, mc, true, 0, c); err != nil {
		t.Fatal(err)
	}
	for i := range c {
		if want := a[i] + s*b[i]; c[i] != want {
			t.Fatalf("%s: c[%d] = %v, want %v", what, i, c[i], want)
		}
	}
}

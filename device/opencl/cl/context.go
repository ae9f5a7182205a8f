package cl

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"
)

// Context is an OpenCL context. Release it when done.
type Context struct {
	h       uintptr
	devices []Device
}

// CreateContext creates a context for devices, which must all belong to one
// platform.
func CreateContext(devices ...Device) (*Context, error) {
	if err := loaded(); err != nil {
		return nil, err
	}
	if len(devices) == 0 {
		return nil, &Error{Call: "clCreateContext", Object: "no devices", Status: InvalidValue}
	}
	p, err := devices[0].Platform()
	if err != nil {
		return nil, err
	}
	const contextPlatform = 0x1084 // CL_CONTEXT_PLATFORM
	props := [3]uintptr{contextPlatform, p.id, 0}
	ids := deviceIDs(devices)
	var st int32
	h := sys(lib.createContext, uintptr(unsafe.Pointer(&props[0])), uintptr(len(ids)), uintptr(unsafe.Pointer(&ids[0])), 0, 0, uintptr(unsafe.Pointer(&st)))
	runtime.KeepAlive(ids)
	if err := check(st, "clCreateContext", ""); err != nil {
		return nil, err
	}
	return &Context{h: h, devices: append([]Device(nil), devices...)}, nil
}

// Devices returns the devices the context was created for.
func (c *Context) Devices() []Device { return append([]Device(nil), c.devices...) }

// Release releases the context. Releasing a released context does nothing.
func (c *Context) Release() error {
	if c == nil {
		return nil
	}
	return release(&c.h, lib.releaseContext, "clReleaseContext", "")
}

// Queue is an in-order command queue on one device. Release it when done.
//
// Like the OpenCL calls it wraps, a Queue may be used from several
// goroutines, but commands from different goroutines are then ordered
// arbitrarily.
type Queue struct {
	h         uintptr
	dev       Device
	profiling bool
}

// CreateQueue creates an in-order command queue for dev in ctx. With
// profiling set, events from the queue carry timestamps (see
// Event.ProfilingTimes).
//
// It uses clCreateCommandQueueWithProperties when both the library and the
// device support OpenCL 2.0 or later, and clCreateCommandQueue otherwise.
func CreateQueue(ctx *Context, dev Device, profiling bool) (*Queue, error) {
	const (
		queueProperties  = 0x1093 // CL_QUEUE_PROPERTIES
		profilingEnabled = 1 << 1 // CL_QUEUE_PROFILING_ENABLE
	)
	var flags uint64
	if profiling {
		flags = profilingEnabled
	}
	var st int32
	var h uintptr
	if lib.createCommandQueueWithPr != 0 && deviceMajorVersion(dev) >= 2 {
		props := [3]uint64{queueProperties, flags, 0}
		h = sys(lib.createCommandQueueWithPr, ctx.h, dev.id, uintptr(unsafe.Pointer(&props[0])), uintptr(unsafe.Pointer(&st)))
		if st != Success {
			return nil, &Error{Call: "clCreateCommandQueueWithProperties", Object: dev.Name(), Status: st}
		}
	} else {
		h = sys(lib.createCommandQueue, ctx.h, dev.id, uintptr(flags), uintptr(unsafe.Pointer(&st)))
		if st != Success {
			return nil, &Error{Call: "clCreateCommandQueue", Object: dev.Name(), Status: st}
		}
	}
	return &Queue{h: h, dev: dev, profiling: profiling}, nil
}

// deviceMajorVersion parses the major version from CL_DEVICE_VERSION,
// "OpenCL <major>.<minor> <vendor-specific>", and returns 1 when it cannot.
func deviceMajorVersion(d Device) int {
	v := strings.TrimPrefix(d.Version(), "OpenCL ")
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return 1
	}
	return n
}

// Device returns the queue's device.
func (q *Queue) Device() Device { return q.dev }

// Profiling reports whether the queue was created with profiling enabled.
func (q *Queue) Profiling() bool { return q.profiling }

// Flush submits the queued commands to the device (clFlush).
func (q *Queue) Flush() error {
	return check(int32(sys(lib.flush, q.h)), "clFlush", "")
}

// Finish blocks until all queued commands have completed (clFinish). An
// error from a failed command may be reported here.
func (q *Queue) Finish() error {
	return check(int32(sys(lib.finish, q.h)), "clFinish", "")
}

// Release releases the queue. It does not wait for queued commands; call
// Finish first. Releasing a released queue does nothing.
func (q *Queue) Release() error {
	if q == nil {
		return nil
	}
	return release(&q.h, lib.releaseCommandQueue, "clReleaseCommandQueue", "")
}

// MemFlags is a cl_mem_flags bit field. The host-pointer flags
// (CL_MEM_USE_HOST_PTR, CL_MEM_COPY_HOST_PTR) are not offered: buffers
// never refer to Go memory.
type MemFlags uint64

// Memory flags.
const (
	MemReadWrite     MemFlags = 1 << 0
	MemWriteOnly     MemFlags = 1 << 1
	MemReadOnly      MemFlags = 1 << 2
	MemAllocHostPtr  MemFlags = 1 << 4
	MemHostWriteOnly MemFlags = 1 << 7
	MemHostReadOnly  MemFlags = 1 << 8
	MemHostNoAccess  MemFlags = 1 << 9
)

// Mem is an OpenCL buffer. Release it when done.
type Mem struct {
	h    uintptr
	size int
	id   uint64 // unique in the process (Kernel.SetArg tells buffers apart by it: a released handle may be reused)
}

// memIDs numbers the buffers created (Mem.id); 0 is no buffer.
var memIDs atomic.Uint64

// CreateBuffer allocates a device buffer of size bytes. Its contents are
// undefined until written or filled.
func CreateBuffer(ctx *Context, flags MemFlags, size int) (*Mem, error) {
	var st int32
	h := sys(lib.createBuffer, ctx.h, uintptr(flags), uintptr(size), 0, uintptr(unsafe.Pointer(&st)))
	if err := check(st, "clCreateBuffer", strconv.Itoa(size)+" bytes"); err != nil {
		return nil, err
	}
	return &Mem{h: h, size: size, id: memIDs.Add(1)}, nil
}

// bufferCreateTypeRegion is CL_BUFFER_CREATE_TYPE_REGION.
const bufferCreateTypeRegion = 0x1220

// CreateSubBuffer returns a buffer aliasing bytes [origin, origin+size) of
// parent (clCreateSubBuffer, OpenCL 1.1). origin must be a multiple of the
// device's MemBaseAddrAlign (in bytes: bits/8). Release the sub-buffer
// before its parent.
func CreateSubBuffer(parent *Mem, flags MemFlags, origin, size int) (*Mem, error) {
	region := [2]uintptr{uintptr(origin), uintptr(size)}
	var st int32
	h := sys(lib.createSubBuffer, parent.h, uintptr(flags), bufferCreateTypeRegion,
		uintptr(unsafe.Pointer(&region[0])), uintptr(unsafe.Pointer(&st)))
	if err := check(st, "clCreateSubBuffer", fmt.Sprintf("bytes [%d, %d) of %d", origin, origin+size, parent.size)); err != nil {
		return nil, err
	}
	return &Mem{h: h, size: size, id: memIDs.Add(1)}, nil
}

// Size returns the buffer's size in bytes.
func (m *Mem) Size() int { return m.size }

// Release releases the buffer. Releasing a released buffer does nothing.
func (m *Mem) Release() error {
	if m == nil {
		return nil
	}
	return release(&m.h, lib.releaseMemObject, "clReleaseMemObject", "")
}

// Elem is the set of element types that may be transferred between Go
// slices and buffers: numbers only, so that the device never sees Go
// pointers.
type Elem interface {
	~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64 | ~float32 | ~float64
}

// sliceBytes returns the address and byte length of s; the address is nil
// for an empty slice.
func sliceBytes[T Elem](s []T) (unsafe.Pointer, int) {
	if len(s) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(&s[0]), len(s) * int(unsafe.Sizeof(s[0]))
}

// WriteBuffer copies src into dst starting at byte offset (clEnqueueWriteBuffer).
// An empty src does nothing.
//
// With blocking set, src may be reused when WriteBuffer returns. Without
// it, the copy happens later: the caller must keep src alive and unchanged
// until the command has completed, for example until a later Queue.Finish
// or blocking read returns.
func WriteBuffer[T Elem](q *Queue, dst *Mem, blocking bool, offset int, src []T) error {
	p, n := sliceBytes(src)
	if n == 0 {
		return nil
	}
	st := int32(sys(lib.enqueueWriteBuffer, q.h, dst.h, boolArg(blocking), uintptr(offset), uintptr(n), uintptr(p), 0, 0, 0))
	runtime.KeepAlive(src)
	if st != Success {
		return &Error{Call: "clEnqueueWriteBuffer", Object: transferObject(n, offset, dst), Status: st}
	}
	return nil
}

// ReadBuffer copies from src, starting at byte offset, into dst
// (clEnqueueReadBuffer). An empty dst does nothing.
//
// With blocking set, dst holds the data when ReadBuffer returns. Without
// it, the copy happens later: the caller must keep dst alive and must not
// use it until the command has completed, for example until a later
// Queue.Finish returns.
func ReadBuffer[T Elem](q *Queue, src *Mem, blocking bool, offset int, dst []T) error {
	p, n := sliceBytes(dst)
	if n == 0 {
		return nil
	}
	st := int32(sys(lib.enqueueReadBuffer, q.h, src.h, boolArg(blocking), uintptr(offset), uintptr(n), uintptr(p), 0, 0, 0))
	runtime.KeepAlive(dst)
	if st != Success {
		return &Error{Call: "clEnqueueReadBuffer", Object: transferObject(n, offset, src), Status: st}
	}
	return nil
}

// FillBuffer enqueues filling size bytes of m from byte offset with copies
// of value (clEnqueueFillBuffer). Offset and size must be multiples of the
// size of T. The value is copied at once, so the call never retains Go
// memory.
func FillBuffer[T Elem](q *Queue, m *Mem, value T, offset, size int) error {
	if size == 0 {
		return nil
	}
	st := int32(sys(lib.enqueueFillBuffer, q.h, m.h, uintptr(unsafe.Pointer(&value)), unsafe.Sizeof(value), uintptr(offset), uintptr(size), 0, 0, 0))
	runtime.KeepAlive(&value)
	if st != Success {
		return &Error{Call: "clEnqueueFillBuffer", Object: transferObject(size, offset, m), Status: st}
	}
	return nil
}

// transferObject describes a transfer for an Error.
func transferObject(n, offset int, m *Mem) string {
	return fmt.Sprintf("%d bytes at %d of %d", n, offset, m.size)
}

// boolArg converts b to a cl_bool.
func boolArg(b bool) uintptr {
	if b {
		return 1
	}
	return 0
}

// deviceIDs returns the handles of ds.
func deviceIDs(ds []Device) []uintptr {
	ids := make([]uintptr, len(ds))
	for i, d := range ds {
		ids[i] = d.id
	}
	return ids
}

package cl

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"unsafe"
)

// cl_program_info, cl_program_build_info and cl_kernel_work_group_info
// values.
const (
	programBuildStatus = 0x1181
	programBuildLog    = 0x1183

	buildError = -2 // CL_BUILD_ERROR

	kernelWorkGroupSize         = 0x11B0
	kernelCompileWorkGroupSize  = 0x11B1
	kernelLocalMemSize          = 0x11B2
	kernelPreferredWorkGroupMul = 0x11B3
	kernelPrivateMemSize        = 0x11B4
)

// Program is a built OpenCL program. Release it when done; its kernels
// keep it alive inside OpenCL until they are released too.
type Program struct {
	h       uintptr
	devices []Device
}

// BuildProgram compiles source for devices of ctx (all of the context's
// devices when devices is nil) with the given build options, such as
// "-cl-fast-relaxed-math". When compilation fails the error is a
// *BuildError that carries the compiler's log.
func BuildProgram(ctx *Context, devices []Device, source, options string) (*Program, error) {
	if devices == nil {
		devices = ctx.devices
	}
	// Copy the source to the heap: the driver reads it during the call
	// through an array of pointers, which escape analysis cannot follow
	// into a string's bytes.
	src := []byte(source)
	if len(src) == 0 {
		return nil, &Error{Call: "clCreateProgramWithSource", Object: "empty source", Status: InvalidValue}
	}
	strs := []unsafe.Pointer{unsafe.Pointer(&src[0])}
	lens := []uintptr{uintptr(len(src))}
	var st int32
	h := sys(lib.createProgramWithSource, ctx.h, 1, uintptr(unsafe.Pointer(&strs[0])), uintptr(unsafe.Pointer(&lens[0])), uintptr(unsafe.Pointer(&st)))
	runtime.KeepAlive(strs)
	runtime.KeepAlive(src)
	if err := check(st, "clCreateProgramWithSource", ""); err != nil {
		return nil, err
	}
	p := &Program{h: h, devices: append([]Device(nil), devices...)}
	if err := p.build(options); err != nil {
		p.Release()
		return nil, err
	}
	return p, nil
}

// build runs clBuildProgram and turns a failure into a *BuildError.
func (p *Program) build(options string) error {
	opts := append([]byte(options), 0)
	ids := deviceIDs(p.devices)
	var idp unsafe.Pointer
	if len(ids) > 0 {
		idp = unsafe.Pointer(&ids[0])
	}
	st := int32(sys(lib.buildProgram, p.h, uintptr(len(ids)), uintptr(idp), uintptr(unsafe.Pointer(&opts[0])), 0, 0))
	runtime.KeepAlive(ids)
	runtime.KeepAlive(opts)
	if st == Success {
		return nil
	}
	be := &BuildError{Options: options, Err: &Error{Call: "clBuildProgram", Status: st}}
	// Report the first device whose build failed, else the first device.
	for i, d := range p.devices {
		b, err := info("clGetProgramBuildInfo", lib.getProgramBuildInfo, p.h, d.id, true, programBuildStatus)
		failed := err == nil && len(b) == 4 && int32(binary.LittleEndian.Uint32(b)) == buildError
		if failed || i == 0 {
			be.Device = d.Name()
			be.Log, _ = p.BuildLog(d)
		}
		if failed {
			break
		}
	}
	return be
}

// BuildLog returns the build log of the program for device d; it may hold
// warnings even when the build succeeded.
func (p *Program) BuildLog(d Device) (string, error) {
	b, err := info("clGetProgramBuildInfo", lib.getProgramBuildInfo, p.h, d.id, true, programBuildLog)
	return cString(b), err
}

// Devices returns the devices the program was built for.
func (p *Program) Devices() []Device { return append([]Device(nil), p.devices...) }

// Release releases the program. Releasing a released program does nothing.
func (p *Program) Release() error {
	if p == nil {
		return nil
	}
	return release(&p.h, lib.releaseProgram, "clReleaseProgram", "")
}

// Kernel is a kernel function of a program with its arguments. Release it
// when done.
//
// Setting arguments and enqueueing a kernel are not safe for concurrent use
// on one Kernel; create one Kernel per goroutine instead.
type Kernel struct {
	h    uintptr
	name string
	// set is the value each argument was last given, so that SetArg
	// skips a clSetKernelArg that would change nothing (a kernel keeps its
	// arguments from launch to launch); calls counts the calls made.
	set   []argValue
	calls int
}

// argValue is an argument's value as SetArg passes it: its bytes (a
// buffer's id, not its handle, which OpenCL may give again to a new
// buffer once the old one is released), their size, and whether it is a
// local-memory size.
type argValue struct {
	word  uint64
	size  uintptr
	local bool
	valid bool
}

// CreateKernel creates the kernel called name in p.
func CreateKernel(p *Program, name string) (*Kernel, error) {
	cname := append([]byte(name), 0)
	var st int32
	h := sys(lib.createKernel, p.h, uintptr(unsafe.Pointer(&cname[0])), uintptr(unsafe.Pointer(&st)))
	runtime.KeepAlive(cname)
	if err := check(st, "clCreateKernel", name); err != nil {
		return nil, err
	}
	return &Kernel{h: h, name: name}, nil
}

// Name returns the kernel's function name.
func (k *Kernel) Name() string { return k.name }

// LocalMem is a kernel argument that allocates that many bytes of local
// memory for each work-group: a __local pointer parameter.
type LocalMem int

// SetArg sets kernel argument index to v, which must be a *Mem (nil for a
// NULL buffer), an int32, uint32, float32, int64, uint64 or float64 passed
// by value, or a LocalMem size. The value is copied; nothing is retained.
// An argument given the value it already holds (the same buffer, the same
// number) is left as it is: clSetKernelArg is not called again.
func (k *Kernel) SetArg(index int, v any) error {
	if index < 0 {
		return fmt.Errorf("opencl: clSetKernelArg(%s arg %d): a negative index", k.name, index)
	}
	var word uint64
	size := uintptr(8)
	ptr := true
	key := &word // what tells this value from another: the bytes, or a buffer's id
	switch x := v.(type) {
	case *Mem:
		var id uint64 // 0: NULL
		if x != nil {
			if x.h == 0 {
				return fmt.Errorf("opencl: clSetKernelArg(%s arg %d): the buffer was released", k.name, index)
			}
			word, id = uint64(x.h), x.id
		}
		key = &id
		size = unsafe.Sizeof(x.h)
	case int32:
		word, size = uint64(uint32(x)), 4
	case uint32:
		word, size = uint64(x), 4
	case float32:
		word, size = uint64(math.Float32bits(x)), 4
	case int64:
		word = uint64(x)
	case uint64:
		word = x
	case float64:
		word = math.Float64bits(x)
	case LocalMem:
		size, ptr = uintptr(x), false
	default:
		return fmt.Errorf("opencl: clSetKernelArg(%s arg %d): unsupported argument type %T", k.name, index, v)
	}
	val := argValue{word: *key, size: size, local: !ptr, valid: true}
	if index < len(k.set) && k.set[index] == val {
		return nil
	}
	var st int32
	if ptr {
		st = int32(sys(lib.setKernelArg, k.h, uintptr(index), size, uintptr(unsafe.Pointer(&word))))
	} else {
		st = int32(sys(lib.setKernelArg, k.h, uintptr(index), size, 0))
	}
	k.calls++
	if st != Success {
		if index < len(k.set) {
			k.set[index] = argValue{} // unknown now
		}
		return &Error{Call: "clSetKernelArg", Object: fmt.Sprintf("%s arg %d", k.name, index), Status: st}
	}
	if index >= len(k.set) {
		k.set = append(k.set, make([]argValue, index+1-len(k.set))...)
	}
	k.set[index] = val
	return nil
}

// SetArgCalls is the number of clSetKernelArg calls SetArg has made on k.
func (k *Kernel) SetArgCalls() int {
	if k == nil {
		return 0
	}
	return k.calls
}

// WorkGroupInfo describes a kernel compiled for one device
// (clGetKernelWorkGroupInfo).
type WorkGroupInfo struct {
	WorkGroupSize         int    // the largest local size the kernel can be launched with
	CompileWorkGroupSize  [3]int // from __attribute__((reqd_work_group_size)), or zeros
	LocalMemSize          uint64 // bytes of local memory the kernel uses
	PreferredSizeMultiple int    // the preferred multiple of the local size (warp or wavefront size)
	PrivateMemSize        uint64 // bytes of private memory per work-item
}

// WorkGroupInfo returns the work-group properties of k on device d.
func (k *Kernel) WorkGroupInfo(d Device) (WorkGroupInfo, error) {
	var wi WorkGroupInfo
	get := func(param uint32) ([]byte, error) {
		return info("clGetKernelWorkGroupInfo", lib.getKernelWorkGroupInfo, k.h, d.id, true, param)
	}
	word := func(param uint32) (uint64, error) {
		b, err := get(param)
		if err != nil {
			return 0, err
		}
		return leUint(b, "clGetKernelWorkGroupInfo", param)
	}
	v, err := word(kernelWorkGroupSize)
	if err != nil {
		return wi, err
	}
	wi.WorkGroupSize = int(v)
	if v, err = word(kernelLocalMemSize); err != nil {
		return wi, err
	}
	wi.LocalMemSize = v
	if v, err = word(kernelPreferredWorkGroupMul); err != nil {
		return wi, err
	}
	wi.PreferredSizeMultiple = int(v)
	if v, err = word(kernelPrivateMemSize); err != nil {
		return wi, err
	}
	wi.PrivateMemSize = v
	b, err := get(kernelCompileWorkGroupSize)
	if err != nil {
		return wi, err
	}
	for i := 0; i < 3 && 8*i+8 <= len(b); i++ {
		wi.CompileWorkGroupSize[i] = int(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return wi, nil
}

// Release releases the kernel. Releasing a released kernel does nothing.
func (k *Kernel) Release() error {
	if k == nil {
		return nil
	}
	return release(&k.h, lib.releaseKernel, "clReleaseKernel", k.name)
}

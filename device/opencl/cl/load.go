package cl

import (
	"fmt"
	"os"
	"sync"

	"github.com/ebitengine/purego"
)

// EnvLib is the environment variable that names the OpenCL library to load.
// When it is set, Load opens exactly that file and nothing else.
const EnvLib = "REGCL_OPENCL_LIB"

// defaultLibs are the names tried, in order, when EnvLib is not set.
var defaultLibs = []string{"libOpenCL.so.1", "libOpenCL.so"}

// library is a loaded OpenCL library and the addresses of the functions the
// package calls. A field is zero only for an optional function that the
// library does not export.
type library struct {
	handle uintptr
	name   string // the name or path that was opened

	getPlatformIDs           uintptr
	getPlatformInfo          uintptr
	getDeviceIDs             uintptr
	getDeviceInfo            uintptr
	createContext            uintptr
	releaseContext           uintptr
	createCommandQueue       uintptr
	createCommandQueueWithPr uintptr // optional (OpenCL 2.0)
	releaseCommandQueue      uintptr
	createBuffer             uintptr
	createSubBuffer          uintptr
	releaseMemObject         uintptr
	enqueueWriteBuffer       uintptr
	enqueueReadBuffer        uintptr
	enqueueFillBuffer        uintptr
	createProgramWithSource  uintptr
	buildProgram             uintptr
	getProgramBuildInfo      uintptr
	releaseProgram           uintptr
	createKernel             uintptr
	releaseKernel            uintptr
	setKernelArg             uintptr
	getKernelWorkGroupInfo   uintptr
	enqueueNDRangeKernel     uintptr
	enqueueMarker            uintptr
	flush                    uintptr
	finish                   uintptr
	waitForEvents            uintptr
	getEventProfilingInfo    uintptr
	releaseEvent             uintptr
}

// symbol is a function to resolve and where to store its address.
type symbol struct {
	name     string
	addr     *uintptr
	optional bool // absent from older libraries
}

// symbols lists the functions to resolve.
func (l *library) symbols() []symbol {
	return []symbol{
		{"clGetPlatformIDs", &l.getPlatformIDs, false},
		{"clGetPlatformInfo", &l.getPlatformInfo, false},
		{"clGetDeviceIDs", &l.getDeviceIDs, false},
		{"clGetDeviceInfo", &l.getDeviceInfo, false},
		{"clCreateContext", &l.createContext, false},
		{"clReleaseContext", &l.releaseContext, false},
		{"clCreateCommandQueue", &l.createCommandQueue, false},
		{"clCreateCommandQueueWithProperties", &l.createCommandQueueWithPr, true},
		{"clReleaseCommandQueue", &l.releaseCommandQueue, false},
		{"clCreateBuffer", &l.createBuffer, false},
		{"clCreateSubBuffer", &l.createSubBuffer, false},
		{"clReleaseMemObject", &l.releaseMemObject, false},
		{"clEnqueueWriteBuffer", &l.enqueueWriteBuffer, false},
		{"clEnqueueReadBuffer", &l.enqueueReadBuffer, false},
		{"clEnqueueFillBuffer", &l.enqueueFillBuffer, false},
		{"clCreateProgramWithSource", &l.createProgramWithSource, false},
		{"clBuildProgram", &l.buildProgram, false},
		{"clGetProgramBuildInfo", &l.getProgramBuildInfo, false},
		{"clReleaseProgram", &l.releaseProgram, false},
		{"clCreateKernel", &l.createKernel, false},
		{"clReleaseKernel", &l.releaseKernel, false},
		{"clSetKernelArg", &l.setKernelArg, false},
		{"clGetKernelWorkGroupInfo", &l.getKernelWorkGroupInfo, false},
		{"clEnqueueNDRangeKernel", &l.enqueueNDRangeKernel, false},
		{"clEnqueueMarkerWithWaitList", &l.enqueueMarker, false},
		{"clFlush", &l.flush, false},
		{"clFinish", &l.finish, false},
		{"clWaitForEvents", &l.waitForEvents, false},
		{"clGetEventProfilingInfo", &l.getEventProfilingInfo, false},
		{"clReleaseEvent", &l.releaseEvent, false},
	}
}

var (
	loadOnce sync.Once
	lib      *library // set once by Load; read-only afterwards
	loadErr  error
)

// Load loads the OpenCL library and resolves the functions the package uses.
// It does the work once per process; later calls, concurrent ones included,
// return the first call's result. Load never panics or exits: when no library
// can be loaded it returns an error that says why and how to fix it, so that
// the caller can fall back to another backend.
//
// With REGCL_OPENCL_LIB set, Load opens exactly that file. Otherwise it tries
// libOpenCL.so.1, then libOpenCL.so.
//
// Platforms calls Load, so most programs need not call it directly.
func Load() error {
	loadOnce.Do(func() {
		lib, loadErr = load(os.Getenv(EnvLib))
	})
	return loadErr
}

// LibraryName returns the name or path of the loaded OpenCL library, or ""
// when Load has not succeeded.
func LibraryName() string {
	if Load() != nil {
		return ""
	}
	return lib.name
}

// load opens the OpenCL library: exactly path when it is not empty, else the
// first of defaultLibs that opens. It does not touch the package state, so
// tests can call it with any path.
func load(path string) (*library, error) {
	const mode = purego.RTLD_NOW | purego.RTLD_LOCAL
	if path != "" {
		h, err := purego.Dlopen(path, mode)
		if err != nil {
			return nil, fmt.Errorf("opencl: cannot load %s (%v); fix or unset %s", path, err, EnvLib)
		}
		return resolve(h, path)
	}
	var first error
	for _, name := range defaultLibs {
		h, err := purego.Dlopen(name, mode)
		if err == nil {
			return resolve(h, name)
		}
		if first == nil {
			first = err
		}
	}
	return nil, fmt.Errorf("opencl: cannot load %s (%v); set %s to the library's path", defaultLibs[0], first, EnvLib)
}

// resolve looks up the functions in the library opened as handle h.
func resolve(h uintptr, name string) (*library, error) {
	l := &library{handle: h, name: name}
	for _, s := range l.symbols() {
		addr, err := purego.Dlsym(h, s.name)
		if err != nil || addr == 0 {
			if s.optional {
				continue
			}
			purego.Dlclose(h)
			return nil, fmt.Errorf("opencl: %s has no function %s (%v); is it an OpenCL library?", name, s.name, err)
		}
		*s.addr = addr
	}
	return l, nil
}

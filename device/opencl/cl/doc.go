// Package cl is a thin binding to the OpenCL API, loaded at run time.
//
// The package calls the OpenCL C API through github.com/ebitengine/purego,
// without cgo: programs that import it build with CGO_ENABLED=0 and run on
// machines with no OpenCL installed. It wraps only the calls that the
// OpenCL backend uses: platforms and devices, contexts, in-order command
// queues, buffers and their transfers, programs built from source or
// binaries, kernels, NDRange launches and events with profiling.
//
// # Loading
//
// Load opens the OpenCL library once per process. When the environment
// variable REGCL_OPENCL_LIB is set, it opens exactly that file, for example
// a vendor's libOpenCL.so outside the linker's search path; otherwise it
// tries libOpenCL.so.1, the ICD loader, then libOpenCL.so. Load does not
// panic or exit when there is no library: its error says what could not be
// loaded and why, so that a caller can fall back to the CPU backend with a
// one-line explanation. Platforms calls Load; when the library loads but no
// driver is installed it returns an error wrapping ErrNoPlatform.
//
// # Errors
//
// Every failed OpenCL call returns an *Error naming the call, what it was
// working on when that is useful, and the status by its symbolic name:
//
//	clEnqueueNDRangeKernel(gemm_nt): CL_OUT_OF_RESOURCES
//	clCreateContext: CL_DEVICE_NOT_AVAILABLE
//
// Use errors.As to inspect the Status, which may be compared with the
// status constants such as OutOfResources. A failed build returns a
// *BuildError holding the compiler's log. Hint returns a short advice line
// for common statuses, such as running out of device memory.
//
// # Memory and lifetimes
//
// Objects are released explicitly with their Release methods; the package
// sets no finalizers. OpenCL never keeps a Go pointer beyond the call that
// receives it, with one documented exception: a non-blocking WriteBuffer or
// ReadBuffer reads or writes the Go slice later, so the caller must keep it
// alive and untouched until the command has completed. Transfers take
// slices of numbers only (see Elem), so device memory never holds Go
// pointers.
//
// Kernel arguments set with Kernel.SetArg are copied by OpenCL when the
// kernel is enqueued, and a kernel keeps them from launch to launch, so
// SetArg skips the call for a value the argument already holds (a buffer
// is told apart from a released one that had the same handle). A Kernel must not be used by several goroutines at
// once; the other objects follow OpenCL's own thread-safety rules.
package cl

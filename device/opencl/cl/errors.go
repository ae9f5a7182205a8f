package cl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Error is a failed OpenCL call: the function, an optional object it was
// working on (a kernel name, a buffer size, a device), and the status the
// call returned. Its text has the form
//
//	clEnqueueNDRangeKernel(gemm_nt): CL_OUT_OF_RESOURCES
//	clCreateContext: CL_DEVICE_NOT_AVAILABLE
//
// Use errors.As to inspect Status.
type Error struct {
	Call   string // the OpenCL function, e.g. "clEnqueueNDRangeKernel"
	Object string // what the call worked on, e.g. a kernel name; may be ""
	Status int32  // the cl_int status, e.g. -5 for CL_OUT_OF_RESOURCES
}

func (e *Error) Error() string {
	if e.Object == "" {
		return e.Call + ": " + StatusName(e.Status)
	}
	return e.Call + "(" + e.Object + "): " + StatusName(e.Status)
}

// check returns nil for CL_SUCCESS and an *Error otherwise.
func check(status int32, call, object string) error {
	if status == Success {
		return nil
	}
	return &Error{Call: call, Object: object, Status: status}
}

// ErrNoPlatform is returned, wrapped, by Platforms when the OpenCL library
// loads but reports no platform, which is what an ICD loader with no
// installed driver does.
var ErrNoPlatform = errors.New("opencl: no OpenCL platform found")

// BuildError is a failed clBuildProgram, with the compiler's log.
type BuildError struct {
	Device  string // the name of the device whose build failed
	Options string // the build options
	Log     string // the build log of that device
	Err     error  // the *Error returned by clBuildProgram
}

func (e *BuildError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	if e.Device != "" {
		fmt.Fprintf(&b, " on device %q", e.Device)
	}
	if e.Options != "" {
		fmt.Fprintf(&b, " with options %q", e.Options)
	}
	if e.Log == "" {
		b.WriteString(" (empty build log)")
	} else {
		b.WriteString("; build log:\n")
		b.WriteString(e.Log)
	}
	return b.String()
}

// Unwrap returns the underlying *Error.
func (e *BuildError) Unwrap() error { return e.Err }

// OpenCL status codes, as returned in Error.Status.
const (
	Success                            int32 = 0
	DeviceNotFound                     int32 = -1
	DeviceNotAvailable                 int32 = -2
	CompilerNotAvailable               int32 = -3
	MemObjectAllocationFailure         int32 = -4
	OutOfResources                     int32 = -5
	OutOfHostMemory                    int32 = -6
	ProfilingInfoNotAvailable          int32 = -7
	MemCopyOverlap                     int32 = -8
	ImageFormatMismatch                int32 = -9
	ImageFormatNotSupported            int32 = -10
	BuildProgramFailure                int32 = -11
	MapFailure                         int32 = -12
	MisalignedSubBufferOffset          int32 = -13
	ExecStatusErrorForEventsInWaitList int32 = -14
	CompileProgramFailure              int32 = -15
	LinkerNotAvailable                 int32 = -16
	LinkProgramFailure                 int32 = -17
	DevicePartitionFailed              int32 = -18
	KernelArgInfoNotAvailable          int32 = -19
	InvalidValue                       int32 = -30
	InvalidDeviceType                  int32 = -31
	InvalidPlatform                    int32 = -32
	InvalidDevice                      int32 = -33
	InvalidContext                     int32 = -34
	InvalidQueueProperties             int32 = -35
	InvalidCommandQueue                int32 = -36
	InvalidHostPtr                     int32 = -37
	InvalidMemObject                   int32 = -38
	InvalidImageFormatDescriptor       int32 = -39
	InvalidImageSize                   int32 = -40
	InvalidSampler                     int32 = -41
	InvalidBinary                      int32 = -42
	InvalidBuildOptions                int32 = -43
	InvalidProgram                     int32 = -44
	InvalidProgramExecutable           int32 = -45
	InvalidKernelName                  int32 = -46
	InvalidKernelDefinition            int32 = -47
	InvalidKernel                      int32 = -48
	InvalidArgIndex                    int32 = -49
	InvalidArgValue                    int32 = -50
	InvalidArgSize                     int32 = -51
	InvalidKernelArgs                  int32 = -52
	InvalidWorkDimension               int32 = -53
	InvalidWorkGroupSize               int32 = -54
	InvalidWorkItemSize                int32 = -55
	InvalidGlobalOffset                int32 = -56
	InvalidEventWaitList               int32 = -57
	InvalidEvent                       int32 = -58
	InvalidOperation                   int32 = -59
	InvalidGLObject                    int32 = -60
	InvalidBufferSize                  int32 = -61
	InvalidMipLevel                    int32 = -62
	InvalidGlobalWorkSize              int32 = -63
	InvalidProperty                    int32 = -64
	InvalidImageDescriptor             int32 = -65
	InvalidCompilerOptions             int32 = -66
	InvalidLinkerOptions               int32 = -67
	InvalidDevicePartitionCount        int32 = -68
	InvalidPipeSize                    int32 = -69
	InvalidDeviceQueue                 int32 = -70
	InvalidSpecID                      int32 = -71
	MaxSizeRestrictionExceeded         int32 = -72
	PlatformNotFoundKHR                int32 = -1001
	ContextTerminatedKHR               int32 = -1121
)

// nvidiaIllegalAddress is the non-standard status NVIDIA's driver returns
// after a kernel faults and the context is lost.
const nvidiaIllegalAddress int32 = -9999

// statusNames maps the standard OpenCL 1.0–3.0 status codes and the Khronos
// and vendor extension codes from the official headers to their names.
var statusNames = map[int32]string{
	0:   "CL_SUCCESS",
	-1:  "CL_DEVICE_NOT_FOUND",
	-2:  "CL_DEVICE_NOT_AVAILABLE",
	-3:  "CL_COMPILER_NOT_AVAILABLE",
	-4:  "CL_MEM_OBJECT_ALLOCATION_FAILURE",
	-5:  "CL_OUT_OF_RESOURCES",
	-6:  "CL_OUT_OF_HOST_MEMORY",
	-7:  "CL_PROFILING_INFO_NOT_AVAILABLE",
	-8:  "CL_MEM_COPY_OVERLAP",
	-9:  "CL_IMAGE_FORMAT_MISMATCH",
	-10: "CL_IMAGE_FORMAT_NOT_SUPPORTED",
	-11: "CL_BUILD_PROGRAM_FAILURE",
	-12: "CL_MAP_FAILURE",
	-13: "CL_MISALIGNED_SUB_BUFFER_OFFSET",
	-14: "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST",
	-15: "CL_COMPILE_PROGRAM_FAILURE",
	-16: "CL_LINKER_NOT_AVAILABLE",
	-17: "CL_LINK_PROGRAM_FAILURE",
	-18: "CL_DEVICE_PARTITION_FAILED",
	-19: "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
	-30: "CL_INVALID_VALUE",
	-31: "CL_INVALID_DEVICE_TYPE",
	-32: "CL_INVALID_PLATFORM",
	-33: "CL_INVALID_DEVICE",
	-34: "CL_INVALID_CONTEXT",
	-35: "CL_INVALID_QUEUE_PROPERTIES",
	-36: "CL_INVALID_COMMAND_QUEUE",
	-37: "CL_INVALID_HOST_PTR",
	-38: "CL_INVALID_MEM_OBJECT",
	-39: "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR",
	-40: "CL_INVALID_IMAGE_SIZE",
	-41: "CL_INVALID_SAMPLER",
	-42: "CL_INVALID_BINARY",
	-43: "CL_INVALID_BUILD_OPTIONS",
	-44: "CL_INVALID_PROGRAM",
	-45: "CL_INVALID_PROGRAM_EXECUTABLE",
	-46: "CL_INVALID_KERNEL_NAME",
	-47: "CL_INVALID_KERNEL_DEFINITION",
	-48: "CL_INVALID_KERNEL",
	-49: "CL_INVALID_ARG_INDEX",
	-50: "CL_INVALID_ARG_VALUE",
	-51: "CL_INVALID_ARG_SIZE",
	-52: "CL_INVALID_KERNEL_ARGS",
	-53: "CL_INVALID_WORK_DIMENSION",
	-54: "CL_INVALID_WORK_GROUP_SIZE",
	-55: "CL_INVALID_WORK_ITEM_SIZE",
	-56: "CL_INVALID_GLOBAL_OFFSET",
	-57: "CL_INVALID_EVENT_WAIT_LIST",
	-58: "CL_INVALID_EVENT",
	-59: "CL_INVALID_OPERATION",
	-60: "CL_INVALID_GL_OBJECT",
	-61: "CL_INVALID_BUFFER_SIZE",
	-62: "CL_INVALID_MIP_LEVEL",
	-63: "CL_INVALID_GLOBAL_WORK_SIZE",
	-64: "CL_INVALID_PROPERTY",
	-65: "CL_INVALID_IMAGE_DESCRIPTOR",
	-66: "CL_INVALID_COMPILER_OPTIONS",
	-67: "CL_INVALID_LINKER_OPTIONS",
	-68: "CL_INVALID_DEVICE_PARTITION_COUNT",
	-69: "CL_INVALID_PIPE_SIZE",
	-70: "CL_INVALID_DEVICE_QUEUE",
	-71: "CL_INVALID_SPEC_ID",
	-72: "CL_MAX_SIZE_RESTRICTION_EXCEEDED",

	// Khronos and vendor extensions (cl_ext.h, cl_gl.h, cl_d3d*.h,
	// cl_dx9_media_sharing*.h, cl_egl.h, cl_va_api_media_sharing_intel.h).
	-1000: "CL_INVALID_GL_SHAREGROUP_REFERENCE_KHR",
	-1001: "CL_PLATFORM_NOT_FOUND_KHR",
	-1002: "CL_INVALID_D3D10_DEVICE_KHR",
	-1003: "CL_INVALID_D3D10_RESOURCE_KHR",
	-1004: "CL_D3D10_RESOURCE_ALREADY_ACQUIRED_KHR",
	-1005: "CL_D3D10_RESOURCE_NOT_ACQUIRED_KHR",
	-1006: "CL_INVALID_D3D11_DEVICE_KHR",
	-1007: "CL_INVALID_D3D11_RESOURCE_KHR",
	-1008: "CL_D3D11_RESOURCE_ALREADY_ACQUIRED_KHR",
	-1009: "CL_D3D11_RESOURCE_NOT_ACQUIRED_KHR",
	-1010: "CL_INVALID_DX9_MEDIA_ADAPTER_KHR",
	-1011: "CL_INVALID_DX9_MEDIA_SURFACE_KHR",
	-1012: "CL_DX9_MEDIA_SURFACE_ALREADY_ACQUIRED_KHR",
	-1013: "CL_DX9_MEDIA_SURFACE_NOT_ACQUIRED_KHR",
	-1057: "CL_DEVICE_PARTITION_FAILED_EXT",
	-1058: "CL_INVALID_PARTITION_COUNT_EXT",
	-1059: "CL_INVALID_PARTITION_NAME_EXT",
	-1092: "CL_EGL_RESOURCE_NOT_ACQUIRED_KHR",
	-1093: "CL_INVALID_EGL_OBJECT_KHR",
	-1094: "CL_INVALID_ACCELERATOR_INTEL",
	-1095: "CL_INVALID_ACCELERATOR_TYPE_INTEL",
	-1096: "CL_INVALID_ACCELERATOR_DESCRIPTOR_INTEL",
	-1097: "CL_ACCELERATOR_TYPE_NOT_SUPPORTED_INTEL",
	-1098: "CL_INVALID_VA_API_MEDIA_ADAPTER_INTEL",
	-1099: "CL_INVALID_VA_API_MEDIA_SURFACE_INTEL",
	-1100: "CL_VA_API_MEDIA_SURFACE_ALREADY_ACQUIRED_INTEL",
	-1101: "CL_VA_API_MEDIA_SURFACE_NOT_ACQUIRED_INTEL",
	-1108: "CL_COMMAND_TERMINATED_ITSELF_WITH_FAILURE_ARM",
	-1121: "CL_CONTEXT_TERMINATED_KHR",
	-1138: "CL_INVALID_COMMAND_BUFFER_KHR",
	-1139: "CL_INVALID_SYNC_POINT_WAIT_LIST_KHR",
	-1140: "CL_INCOMPATIBLE_COMMAND_QUEUE_KHR",
	-1141: "CL_INVALID_MUTABLE_COMMAND_KHR",
	-1142: "CL_INVALID_SEMAPHORE_KHR",
}

// StatusName returns the symbolic name of an OpenCL status code, such as
// "CL_OUT_OF_RESOURCES" for -5, or "CL status -1234" for a code it does not
// know.
func StatusName(status int32) string {
	if name, ok := statusNames[status]; ok {
		return name
	}
	return "CL status " + strconv.Itoa(int(status))
}

// Hint returns a short piece of advice for the OpenCL error in err's chain,
// or "" when it has none. It is meant to be printed on its own line after
// the error.
func Hint(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		if errors.Is(err, ErrNoPlatform) {
			return hintNoPlatform
		}
		return ""
	}
	switch e.Status {
	case OutOfResources, MemObjectAllocationFailure, OutOfHostMemory:
		return "the device ran out of memory: use a smaller batch or fewer parallel runs"
	case DeviceNotAvailable, ContextTerminatedKHR, nvidiaIllegalAddress:
		return "the device is busy or was lost"
	case BuildProgramFailure:
		return "the kernel failed to compile; see the build log above"
	case PlatformNotFoundKHR:
		return hintNoPlatform
	case InvalidWorkGroupSize, InvalidWorkItemSize:
		return "the local work size must divide the global size and not exceed the kernel's maximum work-group size"
	case InvalidKernelArgs:
		return "a kernel argument was not set"
	case InvalidBufferSize:
		return "the buffer is larger than the device allows in one allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE): use a smaller batch or network"
	}
	return ""
}

const hintNoPlatform = "no OpenCL platform is installed (no ICD file in /etc/OpenCL/vendors)"

// release calls an OpenCL release function on *h once: a zero handle is
// already released, and *h is zeroed so that a second Release does nothing.
func release(h *uintptr, fn uintptr, call, object string) error {
	if *h == 0 {
		return nil
	}
	st := int32(sys(fn, *h))
	*h = 0
	return check(st, call, object)
}

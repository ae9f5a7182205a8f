package cl

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Platform is an OpenCL platform: one installed driver.
type Platform struct{ id uintptr }

// Device is an OpenCL device of a platform. Devices are not reference
// counted and need no release.
type Device struct{ id uintptr }

// DeviceType is a cl_device_type bit field.
type DeviceType uint64

// Device types.
const (
	DeviceDefault     DeviceType = 1 << 0
	DeviceCPU         DeviceType = 1 << 1
	DeviceGPU         DeviceType = 1 << 2
	DeviceAccelerator DeviceType = 1 << 3
	DeviceCustom      DeviceType = 1 << 4
	DeviceAll         DeviceType = 0xFFFFFFFF
)

// String returns the names of the bits set in t, joined by "|", such as
// "GPU" or "CPU|Default".
func (t DeviceType) String() string {
	if t == DeviceAll {
		return "All"
	}
	var names []string
	for _, b := range []struct {
		bit  DeviceType
		name string
	}{{DeviceCPU, "CPU"}, {DeviceGPU, "GPU"}, {DeviceAccelerator, "Accelerator"}, {DeviceCustom, "Custom"}, {DeviceDefault, "Default"}} {
		if t&b.bit != 0 {
			names = append(names, b.name)
			t &^= b.bit
		}
	}
	if t != 0 {
		names = append(names, fmt.Sprintf("0x%x", uint64(t)))
	}
	if len(names) == 0 {
		return "None"
	}
	return strings.Join(names, "|")
}

// cl_platform_info and cl_device_info values used by the typed accessors.
const (
	platformVersion = 0x0901
	platformName    = 0x0902
	platformVendor  = 0x0903

	deviceType              = 0x1000
	deviceMaxComputeUnits   = 0x1002
	deviceMaxWorkGroupSize  = 0x1004
	deviceMaxWorkItemSizes  = 0x1005
	devicePrefVecWidthFloat = 0x100A
	deviceMaxClockFrequency = 0x100C
	deviceMemBaseAddrAlign  = 0x1019
	deviceNativeVecWidthFlt = 0x103A
	deviceMaxMemAllocSize   = 0x1010
	deviceGlobalMemSize     = 0x101F
	deviceLocalMemSize      = 0x1023
	deviceName              = 0x102B
	deviceVendor            = 0x102C
	driverVersion           = 0x102D
	deviceVersion           = 0x102F
	deviceExtensions        = 0x1030
	devicePlatform          = 0x1031
)

// Platforms loads the OpenCL library (see Load) and returns the installed
// platforms. When the library loads but no platform is installed it returns
// an error wrapping ErrNoPlatform.
func Platforms() ([]Platform, error) {
	if err := Load(); err != nil {
		return nil, err
	}
	var n uint32
	st := int32(sys(lib.getPlatformIDs, 0, 0, uintptr(unsafe.Pointer(&n))))
	if st == PlatformNotFoundKHR || (st == Success && n == 0) {
		if err := check(st, "clGetPlatformIDs", ""); err != nil {
			return nil, fmt.Errorf("%w (%w)", ErrNoPlatform, err)
		}
		return nil, ErrNoPlatform
	}
	if err := check(st, "clGetPlatformIDs", ""); err != nil {
		return nil, err
	}
	ids := make([]uintptr, n)
	st = int32(sys(lib.getPlatformIDs, uintptr(n), uintptr(unsafe.Pointer(&ids[0])), uintptr(unsafe.Pointer(&n))))
	if err := check(st, "clGetPlatformIDs", ""); err != nil {
		return nil, err
	}
	ps := make([]Platform, min(int(n), len(ids)))
	for i := range ps {
		ps[i] = Platform{ids[i]}
	}
	return ps, nil
}

// Name returns CL_PLATFORM_NAME, or "" if the query fails.
func (p Platform) Name() string { s, _ := p.InfoString(platformName); return s }

// Vendor returns CL_PLATFORM_VENDOR, or "" if the query fails.
func (p Platform) Vendor() string { s, _ := p.InfoString(platformVendor); return s }

// Version returns CL_PLATFORM_VERSION, such as "OpenCL 3.0 PoCL 3.1", or ""
// if the query fails.
func (p Platform) Version() string { s, _ := p.InfoString(platformVersion); return s }

// InfoString returns a string-valued clGetPlatformInfo parameter; param is
// a cl_platform_info value from the OpenCL headers.
func (p Platform) InfoString(param uint32) (string, error) {
	if err := loaded(); err != nil {
		return "", err
	}
	b, err := info("clGetPlatformInfo", lib.getPlatformInfo, p.id, 0, false, param)
	return cString(b), err
}

// Devices returns the platform's devices of every type. A platform with no
// device returns an empty slice and no error.
func (p Platform) Devices() ([]Device, error) {
	if err := loaded(); err != nil {
		return nil, err
	}
	var n uint32
	st := int32(sys(lib.getDeviceIDs, p.id, uintptr(DeviceAll), 0, 0, uintptr(unsafe.Pointer(&n))))
	if st == DeviceNotFound || (st == Success && n == 0) {
		return nil, nil
	}
	if err := check(st, "clGetDeviceIDs", ""); err != nil {
		return nil, err
	}
	ids := make([]uintptr, n)
	st = int32(sys(lib.getDeviceIDs, p.id, uintptr(DeviceAll), uintptr(n), uintptr(unsafe.Pointer(&ids[0])), uintptr(unsafe.Pointer(&n))))
	if err := check(st, "clGetDeviceIDs", ""); err != nil {
		return nil, err
	}
	ds := make([]Device, min(int(n), len(ids)))
	for i := range ds {
		ds[i] = Device{ids[i]}
	}
	return ds, nil
}

// The typed Device accessors below return the zero value when the query
// fails, which for a valid device it does not; use Info, InfoString or
// InfoUint to see errors.

// Name returns CL_DEVICE_NAME.
func (d Device) Name() string { s, _ := d.InfoString(deviceName); return s }

// Vendor returns CL_DEVICE_VENDOR.
func (d Device) Vendor() string { s, _ := d.InfoString(deviceVendor); return s }

// Version returns CL_DEVICE_VERSION, such as "OpenCL 3.0 CUDA".
func (d Device) Version() string { s, _ := d.InfoString(deviceVersion); return s }

// DriverVersion returns CL_DRIVER_VERSION.
func (d Device) DriverVersion() string { s, _ := d.InfoString(driverVersion); return s }

// Extensions returns CL_DEVICE_EXTENSIONS, a space-separated list.
func (d Device) Extensions() string { s, _ := d.InfoString(deviceExtensions); return s }

// Type returns CL_DEVICE_TYPE.
func (d Device) Type() DeviceType { v, _ := d.InfoUint(deviceType); return DeviceType(v) }

// MaxComputeUnits returns CL_DEVICE_MAX_COMPUTE_UNITS.
func (d Device) MaxComputeUnits() int { v, _ := d.InfoUint(deviceMaxComputeUnits); return int(v) }

// GlobalMemSize returns CL_DEVICE_GLOBAL_MEM_SIZE in bytes.
func (d Device) GlobalMemSize() uint64 { v, _ := d.InfoUint(deviceGlobalMemSize); return v }

// MaxMemAllocSize returns CL_DEVICE_MAX_MEM_ALLOC_SIZE, the largest buffer
// in bytes.
func (d Device) MaxMemAllocSize() uint64 { v, _ := d.InfoUint(deviceMaxMemAllocSize); return v }

// LocalMemSize returns CL_DEVICE_LOCAL_MEM_SIZE in bytes.
func (d Device) LocalMemSize() uint64 { v, _ := d.InfoUint(deviceLocalMemSize); return v }

// MaxWorkGroupSize returns CL_DEVICE_MAX_WORK_GROUP_SIZE.
func (d Device) MaxWorkGroupSize() int { v, _ := d.InfoUint(deviceMaxWorkGroupSize); return int(v) }

// MemBaseAddrAlign returns CL_DEVICE_MEM_BASE_ADDR_ALIGN in bits: the
// alignment of a sub-buffer's origin.
func (d Device) MemBaseAddrAlign() int { v, _ := d.InfoUint(deviceMemBaseAddrAlign); return int(v) }

// PreferredVectorWidthFloat returns CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT.
func (d Device) PreferredVectorWidthFloat() int {
	v, _ := d.InfoUint(devicePrefVecWidthFloat)
	return int(v)
}

// NativeVectorWidthFloat returns CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT (OpenCL 1.1).
func (d Device) NativeVectorWidthFloat() int {
	v, _ := d.InfoUint(deviceNativeVecWidthFlt)
	return int(v)
}

// MaxClockFrequency returns CL_DEVICE_MAX_CLOCK_FREQUENCY in MHz.
func (d Device) MaxClockFrequency() int { v, _ := d.InfoUint(deviceMaxClockFrequency); return int(v) }

// MaxWorkItemSizes returns CL_DEVICE_MAX_WORK_ITEM_SIZES, the largest local
// size in each dimension.
func (d Device) MaxWorkItemSizes() []int {
	b, err := d.Info(deviceMaxWorkItemSizes)
	if err != nil {
		return nil
	}
	sizes := make([]int, len(b)/8)
	for i := range sizes {
		sizes[i] = int(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return sizes
}

// Platform returns the device's platform (CL_DEVICE_PLATFORM).
func (d Device) Platform() (Platform, error) {
	v, err := d.InfoUint(devicePlatform)
	return Platform{uintptr(v)}, err
}

// String returns the device's name.
func (d Device) String() string { return d.Name() }

// Info returns the raw bytes of any clGetDeviceInfo parameter; param is a
// cl_device_info value from the OpenCL headers, such as 0x103D for
// CL_DEVICE_OPENCL_C_VERSION.
func (d Device) Info(param uint32) ([]byte, error) {
	if err := loaded(); err != nil {
		return nil, err
	}
	return info("clGetDeviceInfo", lib.getDeviceInfo, d.id, 0, false, param)
}

// InfoString returns a string-valued clGetDeviceInfo parameter.
func (d Device) InfoString(param uint32) (string, error) {
	b, err := d.Info(param)
	return cString(b), err
}

// InfoUint returns a clGetDeviceInfo parameter of type cl_uint, cl_bool,
// cl_ulong, size_t, a bit field or a handle, widened to uint64.
func (d Device) InfoUint(param uint32) (uint64, error) {
	b, err := d.Info(param)
	if err != nil {
		return 0, err
	}
	return leUint(b, "clGetDeviceInfo", param)
}

// leUint decodes a 1-, 2-, 4- or 8-byte little-endian (host order on every
// platform this package supports) value.
func leUint(b []byte, call string, param uint32) (uint64, error) {
	switch len(b) {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.LittleEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.LittleEndian.Uint32(b)), nil
	case 8:
		return binary.LittleEndian.Uint64(b), nil
	}
	return 0, fmt.Errorf("opencl: %s(0x%x) returned %d bytes, not an integer", call, param, len(b))
}

// info runs the two-step query of a clGet*Info function of the form
// f(object, param, size, value, size_ret), or with extra set, of the form
// f(object, extra, param, size, value, size_ret).
func info(call string, f, obj, extra uintptr, hasExtra bool, param uint32) ([]byte, error) {
	var n uintptr
	var st int32
	if hasExtra {
		st = int32(sys(f, obj, extra, uintptr(param), 0, 0, uintptr(unsafe.Pointer(&n))))
	} else {
		st = int32(sys(f, obj, uintptr(param), 0, 0, uintptr(unsafe.Pointer(&n))))
	}
	if st != Success {
		return nil, &Error{Call: call, Object: fmt.Sprintf("0x%x", param), Status: st}
	}
	if n == 0 {
		return nil, nil
	}
	b := make([]byte, n)
	if hasExtra {
		st = int32(sys(f, obj, extra, uintptr(param), n, uintptr(unsafe.Pointer(&b[0])), 0))
	} else {
		st = int32(sys(f, obj, uintptr(param), n, uintptr(unsafe.Pointer(&b[0])), 0))
	}
	runtime.KeepAlive(b)
	if st != Success {
		return nil, &Error{Call: call, Object: fmt.Sprintf("0x%x", param), Status: st}
	}
	return b, nil
}

// loaded returns Load's error, so that a call on a zero Platform or Device
// before Load fails instead of calling a nil function.
func loaded() error { return Load() }

// cString returns b up to its first NUL, without trailing white space.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimRight(string(b), " \t\r\n")
}

// sys calls the C function at fn with integer and pointer arguments and
// returns its result register. Pointer arguments must be converted to
// uintptr in the argument list of the call to sys itself, so that the
// uintptrescapes directive below keeps the Go memory they point to on the
// heap and alive until the call returns.
//
//go:uintptrescapes
func sys(fn uintptr, args ...uintptr) uintptr {
	r, _, _ := purego.SyscallN(fn, args...)
	return r
}

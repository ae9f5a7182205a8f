package opencl

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/opencl/cl"
	"github.com/regcl/regcl/kernels"
)

// Info describes one OpenCL device as `regcl devices` lists it.
type Info struct {
	Platform, Device int // indices for --device opencl:P:D
	PlatformName     string
	Name, Vendor     string
	Version, Driver  string
	Type             string
	ComputeUnits     int
	GlobalMem        uint64
	LocalMem         uint64
	MaxWorkGroupSize int
	MaxClockMHz      int
	BaseAddrAlign    int // CL_DEVICE_MEM_BASE_ADDR_ALIGN, bits: the alignment of a view's origin
	PrefVecFloat     int // CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT
	NativeVecFloat   int // CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT
	dev              cl.Device
}

// List enumerates every platform and device.
func List() ([]Info, error) {
	ps, err := cl.Platforms()
	if err != nil {
		return nil, err
	}
	var out []Info
	for pi, p := range ps {
		ds, err := p.Devices()
		if err != nil {
			return nil, fmt.Errorf("platform %d (%s): %w", pi, p.Name(), err)
		}
		for di, d := range ds {
			out = append(out, Info{Platform: pi, Device: di, PlatformName: p.Name(), Name: strings.TrimSpace(d.Name()),
				Vendor: d.Vendor(), Version: d.Version(), Driver: d.DriverVersion(), Type: d.Type().String(),
				ComputeUnits: d.MaxComputeUnits(), GlobalMem: d.GlobalMemSize(), LocalMem: d.LocalMemSize(),
				MaxWorkGroupSize: d.MaxWorkGroupSize(), MaxClockMHz: d.MaxClockFrequency(),
				BaseAddrAlign: d.MemBaseAddrAlign(), PrefVecFloat: d.PreferredVectorWidthFloat(),
				NativeVecFloat: d.NativeVectorWidthFloat(), dev: d})
		}
	}
	return out, nil
}

// Library is the OpenCL library file in use ("" before List loads it).
func Library() string { return cl.LibraryName() }

// IsGPU reports whether the device is a GPU.
func (i Info) IsGPU() bool { return strings.Contains(i.Type, "GPU") }

// Device is an opened OpenCL device with its program built.
type Device struct {
	Info      Info
	ctx       *cl.Context
	prog      *cl.Program
	Tuning    Tuning
	Options   string        // the build options used
	BuildTime time.Duration // time to compile the program
}

// Open creates a context on the device and builds the kernels for it with
// the device's tuning.
func Open(info Info) (*Device, error) { return OpenTuned(info, TuningFor(info)) }

// OpenTuned is Open with a given tuning.
func OpenTuned(info Info, t Tuning) (*Device, error) {
	ctx, err := cl.CreateContext(info.dev)
	if err != nil {
		return nil, err
	}
	d := &Device{Info: info, ctx: ctx, Tuning: t}
	// Denormals are flushed to zero (-cl-denorms-are-zero, an OpenCL 1.0
	// option a device may ignore): nothing in the network needs them, and a
	// CPU device spends up to 100 cycles on each operation that meets one.
	// A device that refuses the option builds without it.
	d.Options = d.Tuning.Options() + " " + denormsAreZero
	start := time.Now()
	d.prog, err = cl.BuildProgram(ctx, nil, kernels.Source(), d.Options)
	var be *cl.BuildError
	if errors.As(err, &be) {
		d.Options = d.Tuning.Options()
		d.prog, err = cl.BuildProgram(ctx, nil, kernels.Source(), d.Options)
	}
	d.BuildTime = time.Since(start)
	if err != nil {
		ctx.Release()
		if errors.As(err, &be) {
			return nil, fmt.Errorf("building the kernels for %s: %w", info.Name, err)
		}
		return nil, err
	}
	return d, nil
}

// denormsAreZero is the build option that flushes denormal floats.
const denormsAreZero = "-cl-denorms-are-zero"

// FlushesDenormals reports whether the program was built with -cl-denorms-are-zero.
func (d *Device) FlushesDenormals() bool { return strings.Contains(d.Options, denormsAreZero) }

// Name is the device's name and platform.
func (d *Device) Name() string {
	return fmt.Sprintf("opencl:%d:%d %s (%s)", d.Info.Platform, d.Info.Device, d.Info.Name, d.Info.PlatformName)
}

// NewBackend makes a Backend with its own queue on the device.
func (d *Device) NewBackend() (device.Backend, error) { return d.newBackend(false) }

// NewProfilingBackend makes a Backend whose queue records per-kernel times.
func (d *Device) NewProfilingBackend() (*Backend, error) { return d.newBackend(true) }

// Close releases the program and the context.
func (d *Device) Close() error {
	var err error
	if d.prog != nil {
		err = d.prog.Release()
		d.prog = nil
	}
	if d.ctx != nil {
		if e := d.ctx.Release(); err == nil {
			err = e
		}
		d.ctx = nil
	}
	return err
}

// OpenFirst opens the first GPU, else the first device of any type, over all
// platforms: what --device auto and --device opencl choose.
func OpenFirst() (*Device, error) {
	infos, err := List()
	if err != nil {
		return nil, err
	}
	if len(infos) == 0 {
		return nil, fmt.Errorf("no OpenCL device found")
	}
	for _, i := range infos {
		if i.IsGPU() {
			return Open(i)
		}
	}
	return Open(infos[0])
}

package opencl

import (
	"errors"
	"fmt"
	"sort"
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
	MaxAlloc         uint64 // CL_DEVICE_MAX_MEM_ALLOC_SIZE: the largest buffer
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
				ComputeUnits: d.MaxComputeUnits(), GlobalMem: d.GlobalMemSize(), MaxAlloc: d.MaxMemAllocSize(), LocalMem: d.LocalMemSize(),
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

// Device is an opened OpenCL device with its programs built: the ops
// program, and a matrix-product program for each distinct setting of its
// tuning (the default and the tuned shape classes), each built once.
type Device struct {
	Info      Info
	ctx       *cl.Context
	Tuning    Tuning
	gemm      *kernels.Program
	ops       *built
	gemms     map[string]*built // by kernels.Program.Key of their settings
	owned     []*built          // the programs Close releases
	Options   string            // the ops program's build options
	BuildTime time.Duration     // time to compile the programs
	parent    *Device           // set for a Candidate, which shares its parent's context
	dry       bool              // a described device (Describe): no context, nothing built
}

// built is one program and the settings it was built with.
type built struct {
	prog     *cl.Program
	settings kernels.Settings
	options  string
}

// Open creates a context on the device and builds the kernels for it with
// the device's default tuning.
func Open(info Info) (*Device, error) { return OpenTuned(info, DefaultTuning(info)) }

// OpenTuned is Open with a given tuning, which must be valid for the device.
func OpenTuned(info Info, t Tuning) (*Device, error) {
	if err := t.Validate(info); err != nil {
		return nil, fmt.Errorf("tuning for %s: %w", info.Name, err)
	}
	g, _ := t.gemmProgram()
	ctx, err := cl.CreateContext(info.dev)
	if err != nil {
		return nil, err
	}
	d := &Device{Info: info, ctx: ctx, Tuning: t, gemm: g, gemms: map[string]*built{}}
	start := time.Now()
	if d.ops, err = d.build(kernels.Ops, t.Ops); err == nil {
		d.Options = d.ops.options
		for _, s := range append([]kernels.Settings{t.Matmul}, shapeSettings(t)...) {
			if _, ok := d.gemms[g.Key(s)]; ok {
				continue
			}
			var b *built
			if b, err = d.build(g, s); err != nil {
				break
			}
			d.gemms[g.Key(s)] = b
		}
	}
	d.BuildTime = time.Since(start)
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// shapeSettings lists a tuning's per-class settings in a fixed order.
func shapeSettings(t Tuning) []kernels.Settings {
	var classes []string
	for c := range t.Shapes {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	var out []kernels.Settings
	for _, c := range classes {
		out = append(out, t.Shapes[c])
	}
	return out
}

// build compiles program p with settings s. Denormals are flushed to zero
// (-cl-denorms-are-zero, an OpenCL 1.0 option a device may ignore): nothing
// in the network needs them, and a CPU device spends up to 100 cycles on
// each operation that meets one. A device that refuses the option builds
// without it.
func (d *Device) build(p *kernels.Program, s kernels.Settings) (*built, error) {
	opts := p.Options(s)
	prog, err := cl.BuildProgram(d.ctx, nil, p.Source(), opts+" "+denormsAreZero)
	var be *cl.BuildError
	if errors.As(err, &be) {
		if prog2, err2 := cl.BuildProgram(d.ctx, nil, p.Source(), opts); err2 == nil {
			prog, err = prog2, nil
		}
	} else if err == nil {
		opts += " " + denormsAreZero
	}
	if err != nil {
		if errors.As(err, &be) {
			return nil, fmt.Errorf("building the %s program for %s (%s): %w", p.Name, d.Info.Name, opts, err)
		}
		return nil, err
	}
	b := &built{prog: prog, settings: s, options: opts}
	d.owned = append(d.owned, b)
	return b, nil
}

// Candidate is the device with settings s for every matrix product, sharing
// this device's context and ops program; it builds only the new
// matrix-product program (the tuner's candidates). Close it before d.
func (d *Device) Candidate(s kernels.Settings) (*Device, error) {
	if d.dry {
		return nil, fmt.Errorf("opencl: %s builds no programs", d.Name())
	}
	if err := d.gemm.Validate(s, d.Info.Limits(d.gemm == kernels.GemmCPU)); err != nil {
		return nil, err
	}
	t := d.Tuning
	t.Matmul, t.Shapes = s, nil
	c := &Device{Info: d.Info, ctx: d.ctx, Tuning: t, gemm: d.gemm, ops: d.ops, gemms: map[string]*built{},
		Options: d.Options, parent: d}
	start := time.Now()
	b, err := c.build(d.gemm, s)
	c.BuildTime = time.Since(start)
	if err != nil {
		return nil, err
	}
	c.gemms[d.gemm.Key(s)] = b
	return c, nil
}

// CandidateOps is the device with settings s for the ops program, sharing
// this device's context and matrix-product programs (the tuner's ops
// candidates). Close it before d.
func (d *Device) CandidateOps(s kernels.Settings) (*Device, error) {
	if d.dry {
		return nil, fmt.Errorf("opencl: %s builds no programs", d.Name())
	}
	if err := kernels.Ops.Validate(s, d.Info.Limits(d.gemm == kernels.GemmCPU)); err != nil {
		return nil, err
	}
	t := d.Tuning
	t.Ops = s
	c := &Device{Info: d.Info, ctx: d.ctx, Tuning: t, gemm: d.gemm, gemms: d.gemms, parent: d}
	start := time.Now()
	b, err := c.build(kernels.Ops, s)
	c.BuildTime = time.Since(start)
	if err != nil {
		return nil, err
	}
	c.ops, c.Options = b, b.options
	return c, nil
}

// GemmProgram is the device's matrix-product program.
func (d *Device) GemmProgram() *kernels.Program { return d.gemm }

// denormsAreZero is the build option that flushes denormal floats.
const denormsAreZero = "-cl-denorms-are-zero"

// FlushesDenormals reports whether the programs were built with -cl-denorms-are-zero.
func (d *Device) FlushesDenormals() bool { return strings.Contains(d.Options, denormsAreZero) }

// Name is the device's name and platform.
func (d *Device) Name() string {
	if d.dry {
		return fmt.Sprintf("described %s (%s)", d.Info.Name, d.Info.PlatformName)
	}
	return fmt.Sprintf("opencl:%d:%d %s (%s)", d.Info.Platform, d.Info.Device, d.Info.Name, d.Info.PlatformName)
}

// NewBackend makes a Backend of lanes lanes (1 to device.MaxLanes) with
// its own queue on the device. Its shared buffers are accepted by every
// other backend of d (one OpenCL context).
func (d *Device) NewBackend(lanes int) (device.Backend, error) { return d.newBackend(lanes, false) }

// NewProfilingBackend makes a Backend whose queue records per-kernel times.
func (d *Device) NewProfilingBackend(lanes int) (*Backend, error) { return d.newBackend(lanes, true) }

// Close releases the programs and the context (a Candidate releases its
// own program only).
func (d *Device) Close() error {
	var err error
	for _, b := range d.owned {
		if e := b.prog.Release(); err == nil {
			err = e
		}
	}
	d.owned, d.ops, d.gemms = nil, nil, nil
	if d.ctx != nil && d.parent == nil {
		if e := d.ctx.Release(); err == nil {
			err = e
		}
	}
	d.ctx = nil
	return err
}

// OpenFirst opens the first GPU, else the first device of any type, over all
// platforms (what --device auto and --device opencl choose), untuned.
func OpenFirst() (*Device, error) {
	infos, err := List()
	if err != nil {
		return nil, err
	}
	i, err := First(infos)
	if err != nil {
		return nil, err
	}
	return Open(i)
}

// First is the first GPU of infos, else the first device of any type.
func First(infos []Info) (Info, error) {
	if len(infos) == 0 {
		return Info{}, fmt.Errorf("no OpenCL device found")
	}
	for _, i := range infos {
		if i.IsGPU() {
			return i, nil
		}
	}
	return infos[0], nil
}

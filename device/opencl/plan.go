package opencl

import (
	"fmt"
	"time"

	"github.com/regcl/regcl/kernels"
)

// Describe is a described device: info (read from a file, or a real
// device's) with tuning t, and no OpenCL context. Its backends compute
// every launch as a real device's do, from the same settings and the same
// code (launch, the products' plan), and record the launch instead of
// enqueueing it; their buffers hold nothing (a Read gives zeros). So the
// step plan of a GPU can be read on a machine without one (regcl plan).
func Describe(info Info, t Tuning) (*Device, error) {
	if err := t.Validate(info); err != nil {
		return nil, fmt.Errorf("tuning for %s: %w", info.Name, err)
	}
	g, _ := t.gemmProgram()
	d := &Device{Info: info, Tuning: t, gemm: g, gemms: map[string]*built{}, dry: true,
		ops: &built{settings: t.Ops, options: kernels.Ops.Options(t.Ops)}}
	d.Options = d.ops.options
	for _, s := range append([]kernels.Settings{t.Matmul}, shapeSettings(t)...) {
		d.gemms[g.Key(s)] = &built{settings: s, options: g.Options(s)}
	}
	return d, nil
}

// Described reports whether the device is a described one (Describe).
func (d *Device) Described() bool { return d.dry }

// Launch is one kernel launch as a backend enqueues it (Backend.Record).
type Launch struct {
	Kernel   string
	Program  string           // the program that defines it: kernels.Ops.Name, or a matrix-product program's
	Settings kernels.Settings // the settings that program is built with
	Global   [3]int           // work-items: dimension 2 is the lane
	Local    [3]int           // work-group size; Local[0] == 0: the driver chooses
	// Sizes are the launch's integer arguments by their declared names
	// (kernels.Signatures: m, n, k of a product, rows and cols, n, …).
	Sizes map[string]int
	// Tile is the rows × columns of C one work-group of a product
	// computes, where that is fixed (else zero).
	Tile [2]int
	// Time is the launch's time on the device, from its start to its end,
	// where the backend profiles (Device.NewProfilingBackend); else zero.
	Time time.Duration
}

// Groups is the number of work-groups over every lane, or 0 where the
// driver chooses the work-group size.
func (l Launch) Groups() int {
	if l.Local[0] == 0 {
		return 0
	}
	n := 1
	for i := range l.Global {
		n *= (l.Global[i] + l.Local[i] - 1) / l.Local[i]
	}
	return n
}

// Record starts (on) or stops recording the backend's launches; a
// described device's backend records only when asked, as a real one.
func (be *Backend) Record(on bool) { be.record = on }

// Launches returns the launches recorded since the last call, and forgets
// them. On a profiling backend it waits for the queue first, so that each
// launch has its Time.
func (be *Backend) Launches() []Launch {
	if be.prof != nil {
		be.Finish()
		be.prof.unrecord() // events left by a failed queue must not time the next launches
	}
	out := be.launches
	be.launches = nil
	return out
}

// recordLaunch keeps one launch of k over global size g in work-groups of
// l (nil: the driver chooses), with its arguments.
func (be *Backend) recordLaunch(k *kern, g, l []int, args []any) {
	r := Launch{Kernel: k.name, Program: k.prog, Settings: k.settings, Sizes: map[string]int{}}
	copy(r.Global[:], g)
	copy(r.Local[:], l)
	for j, a := range k.sig {
		if x, ok := args[j].(int); ok && a.Kind == kernels.ArgInt {
			r.Sizes[a.Name] = x
		}
	}
	be.launches = append(be.launches, r)
}

// timeLaunch gives recorded launch i its device time d (profile.collect).
func (be *Backend) timeLaunch(i int, d time.Duration) {
	if i < len(be.launches) {
		be.launches[i].Time = d
	}
}

// recordTile adds a product's tile to its launch of k, just recorded.
func (be *Backend) recordTile(k *kern, tile [2]int) {
	if n := len(be.launches); be.record && n > 0 && be.launches[n-1].Kernel == k.name {
		be.launches[n-1].Tile = tile
	}
}

package opencl_test

import (
	"slices"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/device/devicetest"
	"github.com/regcl/regcl/device/opencl"
)

// openDevice opens the first OpenCL device (PoCL in CI, where its absence fails).
func openDevice(t testing.TB) *opencl.Device {
	t.Helper()
	d := devicetest.Require(t, "OpenCL device", opencl.OpenFirst)
	t.Cleanup(func() { d.Close() })
	return d
}

// TestConformance runs the whole device conformance suite on OpenCL: every
// kernel against a float64 reference on fresh random inputs, at sizes that
// are no multiple of any tile, with poisoned outputs.
func TestConformance(t *testing.T) {
	d := openDevice(t)
	t.Logf("device %s, build options %s", d.Name(), d.Options)
	devicetest.Run(t, d.NewBackend)
}

// TestConformanceGPUVariant builds the kernels' GPU variant (local-memory
// tiled GEMM, one element per work-item) on whatever device is here and runs
// the suite on it, so that the GPU code is checked on PoCL in CI too.
func TestConformanceGPUVariant(t *testing.T) {
	first := openDevice(t)
	d, err := opencl.OpenTuned(first.Info, opencl.VariantTuning(first.Info, false))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	t.Logf("device %s, build options %s", d.Name(), d.Options)
	devicetest.Run(t, d.NewBackend)
}

// TestDropoutMasksMatchCPU: the OpenCL and CPU backends draw bit-identical
// dropout masks for the same seed, step and layer.
func TestDropoutMasksMatchCPU(t *testing.T) {
	d := openDevice(t)
	be, err := d.NewBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	ref := cpu.New[float32]()
	keys := []device.Dropout{
		{Rate: 0.3, Seed: 1, Step: 0, Layer: 0},
		{Rate: 0.3, Seed: 1, Step: 421, Layer: 1},
		{Rate: 0.5, Seed: 0xdeadbeefcafe, Step: 1<<32 + 7, Layer: 3},
		{Rate: 0.05, Seed: 42, Step: 8439, Layer: 0},
	}
	for _, k := range keys {
		for _, sz := range [][2]int{{128, 256}, {112, 128}, {7, 33}, {1, 1}} {
			a := devicetest.Masks(t, be, k, sz[0], sz[1])
			b := devicetest.Masks(t, ref, k, sz[0], sz[1])
			if !slices.Equal(a, b) {
				diff := 0
				for i := range a {
					if a[i] != b[i] {
						diff++
					}
				}
				t.Errorf("key %+v, %dx%d: masks differ in %d of %d elements", k, sz[0], sz[1], diff, len(a))
			}
		}
	}
}

// TestDeviceInfo: every listed device describes itself.
func TestDeviceInfo(t *testing.T) {
	openDevice(t)
	infos, _ := opencl.List()
	if len(infos) == 0 {
		t.Fatal("no devices listed")
	}
	for _, i := range infos {
		if i.Name == "" || i.ComputeUnits < 1 || i.MaxWorkGroupSize < 1 || i.GlobalMem == 0 {
			t.Errorf("device %d:%d has incomplete info: %+v", i.Platform, i.Device, i)
		}
	}
}

// BenchmarkOps: every kernel at the sizes of a training step
// (go test -bench Ops ./device/opencl).
func BenchmarkOps(b *testing.B) {
	d := openDevice(b)
	devicetest.Bench(b, d.NewBackend)
}

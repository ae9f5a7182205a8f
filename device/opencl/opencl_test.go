package opencl_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/device/devicetest"
	"github.com/regcl/regcl/device/opencl"
	"github.com/regcl/regcl/kernels"
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
// dropout masks for the same seed, step and layer, at 1 and 3 lanes.
func TestDropoutMasksMatchCPU(t *testing.T) {
	d := openDevice(t)
	keys := []device.Mask{
		{Rate: 0.3, Seed: 1, Step: 0, Layer: 0},
		{Rate: 0.3, Seed: 1, Step: 421, Layer: 1},
		{Rate: 0.5, Seed: 0xdeadbeefcafe, Step: 1<<32 + 7, Layer: 3},
		{Rate: 0.05, Seed: 42, Step: 8439, Layer: 0},
	}
	for _, lanes := range []int{1, 3} {
		be, err := d.NewBackend(lanes)
		if err != nil {
			t.Fatal(err)
		}
		defer be.Close()
		ref := cpu.New[float32](lanes)
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
					t.Errorf("%d lanes, key %+v, %dx%d: masks differ in %d of %d elements", lanes, k, sz[0], sz[1], diff, len(a))
				}
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

// settingsSample returns settings of p that together give every parameter
// every one of its values at least once (a covering sample, in a fixed
// order), or with REGCL_ALL_SETTINGS=1 the whole space: what any tuning may
// choose builds and passes the conformance suite.
func settingsSample(t *testing.T, p *kernels.Program, l kernels.Limits) []kernels.Settings {
	space := p.Space(l)
	if len(space) == 0 {
		t.Fatalf("%s has no valid settings for %+v", p.Name, l)
	}
	if os.Getenv("REGCL_ALL_SETTINGS") == "1" {
		return space
	}
	var out []kernels.Settings
	seen := map[string]bool{}
	covered := map[string]map[int]bool{}
	for _, q := range p.Params {
		covered[q.Name] = map[int]bool{}
	}
	// Greedy: take the settings that cover the most values not yet covered.
	for {
		best, bestN := -1, 0
		for i, s := range space {
			if seen[p.Key(s)] {
				continue
			}
			n := 0
			for _, q := range p.Params {
				if !covered[q.Name][s[q.Name]] {
					n++
				}
			}
			if n > bestN {
				best, bestN = i, n
			}
		}
		if best < 0 {
			return out
		}
		s := space[best]
		seen[p.Key(s)] = true
		for _, q := range p.Params {
			covered[q.Name][s[q.Name]] = true
		}
		out = append(out, s)
	}
}

// TestConformanceSettings builds every program of both variants with a
// covering sample of its settings (see settingsSample) and runs the
// conformance suite's tests of its kernels on each.
func TestConformanceSettings(t *testing.T) {
	// The settings change the kernels' tiling, not their lane indexing, which
	// TestConformance checks at every lane count: here one count of several
	// lanes (2) serves, unless DEVICETEST_LANES already narrows the suite.
	// (All four counts made this test 171 s of the package's 235 s on PoCL.)
	if os.Getenv(devicetest.LanesEnv) == "" {
		t.Setenv(devicetest.LanesEnv, "2")
	}
	first := openDevice(t)
	for _, cpu := range []bool{true, false} {
		base := opencl.VariantTuning(first.Info, cpu)
		l := first.Info.Limits(cpu)
		g := kernels.GemmProgram(l)
		for _, s := range settingsSample(t, g, l) {
			tu := base
			tu.Matmul = s
			t.Run(g.Name+"/"+strings.ReplaceAll(g.Key(s), " ", "_"), func(t *testing.T) {
				d, err := opencl.OpenTuned(first.Info, tu)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				devicetest.GemmTest(t, d.NewBackend)
			})
		}
		if !cpu {
			continue
		}
		for _, s := range settingsSample(t, kernels.Ops, l) {
			tu := base
			tu.Ops = s
			t.Run("ops/"+strings.ReplaceAll(kernels.Ops.Key(s), " ", "_"), func(t *testing.T) {
				d, err := opencl.OpenTuned(first.Info, tu)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				for _, f := range []func(*testing.T, devicetest.Factory){devicetest.FillTest, devicetest.GatherRowsTest,
					devicetest.DropoutApplyTest, devicetest.ColSumTest, devicetest.ReLUBackwardColSumTest, devicetest.BatchNormTrainTest,
					devicetest.BatchNormInferTest, devicetest.BatchNormBackwardTest, devicetest.SoftmaxXentTest,
					devicetest.PenaltySumTest, devicetest.AdamStepTest, devicetest.PendingPenaltyTest, devicetest.FlushTest} {
					f(t, d.NewBackend)
				}
			})
		}
	}
}

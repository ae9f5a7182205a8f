package opencl_test

import (
	"os"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/devicetest"
	"github.com/regcl/regcl/device/opencl"
	"github.com/regcl/regcl/kernels"
)

// splitDevice opens the GPU variant on PoCL as a device of units compute
// units (the count kernels.SplitK reads), its products split with SPLITK
// split.
func splitDevice(t *testing.T, units, split int) *opencl.Device {
	t.Helper()
	first := openDevice(t)
	info := first.Info
	info.ComputeUnits = units
	tu := opencl.VariantTuning(info, false)
	tu.Matmul["SPLITK"] = split
	d, err := opencl.OpenTuned(info, tu)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestSplitKConformance: the products and the dense layers' forward
// pass, split along K as a device of 132 units splits them (SPLITK 0:
// fwd1's 784 into 25 slices, the weight gradients' 128 into 4; odd shapes
// into slices whose last is short), against the float64 reference, NaN
// outputs first; the split and its finish take the epilogue (alpha,
// beta·C, bias, ReLU, dropout after it).
func TestSplitKConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if os.Getenv(devicetest.LanesEnv) == "" {
		t.Setenv(devicetest.LanesEnv, "2") // lane indexing is TestConformance's
	}
	d := splitDevice(t, 132, 0)
	devicetest.GemmTest(t, d.NewBackend)
	devicetest.GemmBiasActTest(t, d.NewBackend)
}

// TestSplitKLaunches: the launches of split products, worked by hand from
// SplitK's rule and the GPU variant's default tiles (64×64, work-groups of
// 16×16 items, TSK 16, WGD 8), at 3 lanes: the slices stacked in grid
// dimension 1, then gemm_split_finish over C; no split with SPLITK 1 or
// where the tiles already fill the units.
func TestSplitKLaunches(t *testing.T) {
	type launch struct {
		kernel string
		global [3]int
		local  [3]int
	}
	for _, c := range []struct {
		name         string
		units, split int
		ta, tb       bool
		m, n, k      int
		want         []launch
	}{
		// 8 tiles of 64×64; 25 slices of 32 (200 work-groups ≥ 132).
		{"fwd1", 132, 0, false, false, 128, 256, 784, []launch{
			{"gemm_split_nn", [3]int{4 * 16, 2 * 16 * 25, 3}, [3]int{16, 16, 1}},
			{"gemm_split_finish", [3]int{256, 128, 3}, [3]int{8, 8, 1}}}},
		// dW1 (TN): 13×4 = 52 tiles; 4 slices of 32 (208 ≥ 132).
		{"dW1", 132, 0, true, false, 784, 256, 128, []launch{
			{"gemm_split_tn", [3]int{4 * 16, 13 * 16 * 4, 3}, [3]int{16, 16, 1}},
			{"gemm_split_finish", [3]int{256, 784, 3}, [3]int{8, 8, 1}}}},
		// dX2 (NT) 33×70×45 with SPLITK 2: depth 32 (23 rounded up), 2 slices.
		{"odd", 2, 2, false, true, 33, 70, 45, []launch{
			{"gemm_split_nt", [3]int{2 * 16, 1 * 16 * 2, 3}, [3]int{16, 16, 1}},
			{"gemm_split_finish", [3]int{72, 40, 3}, [3]int{8, 8, 1}}}},
		// SPLITK 1: one launch of the tiled kernel.
		{"off", 132, 1, false, false, 128, 256, 784, []launch{
			{"gemm_nn", [3]int{4 * 16, 2 * 16, 3}, [3]int{16, 16, 1}}}},
		// 52 tiles on 52 units: no split.
		{"filled", 52, 0, true, false, 784, 256, 128, []launch{
			{"gemm_tn", [3]int{4 * 16, 13 * 16, 3}, [3]int{16, 16, 1}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := splitDevice(t, c.units, c.split)
			b, err := d.NewBackend(3)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			be := b.(*opencl.Backend)
			alloc := func(n int) device.Buffer {
				x, err := be.Alloc(device.Float, n)
				if err != nil {
					t.Fatal(err)
				}
				return x
			}
			a, bb, cc := alloc(c.m*c.k), alloc(c.k*c.n), alloc(c.m*c.n)
			be.Record(true)
			be.Gemm(c.ta, c.tb, c.m, c.n, c.k, 1, a, bb, 0, cc)
			if err := be.Finish(); err != nil {
				t.Fatal(err)
			}
			var got []launch
			for _, l := range be.Launches() {
				got = append(got, launch{l.Kernel, l.Global, l.Local})
			}
			if len(got) != len(c.want) {
				t.Fatalf("launches %+v, want %+v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("launch %d: %+v, want %+v", i, got[i], c.want[i])
				}
			}
			if sl, _ := kernels.SplitK(d.Tuning.Matmul, c.m, c.n, c.k, c.units); sl > 1 != (len(c.want) == 2) {
				t.Errorf("SplitK says %d slices", sl)
			}
		})
	}
}

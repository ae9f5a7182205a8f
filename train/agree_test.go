package train

import (
	"math"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/device/devicetest"
	"github.com/regcl/regcl/device/opencl"
	"github.com/regcl/regcl/model"
)

// openCLDevice opens the first OpenCL device (PoCL in CI, where its absence fails).
func openCLDevice(t *testing.T) *opencl.Device {
	t.Helper()
	d := devicetest.Require(t, "OpenCL device", opencl.OpenFirst)
	t.Cleanup(func() { d.Close() })
	return d
}

func relDiff(a, b []float32) (diff, norm float64) {
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		diff += d * d
		norm += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(diff), math.Sqrt(norm)
}

func readTensors(t *testing.T, be device.Backend, tr *Trainer) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, p := range tr.Net.Tensors() {
		w := make([]float32, p.Len())
		if err := be.Read(p.W, 0, w); err != nil {
			t.Fatal(err)
		}
		out = append(out, w)
	}
	return out
}

// TestOpenCLAgreesWithCPU trains 30 steps of each preset from the same
// initial weights (both backends initialize from the seed on the host) on
// OpenCL and on the float64 CPU oracle, comparing after every step.
func TestOpenCLAgreesWithCPU(t *testing.T) {
	agreeWithCPU(t, openCLDevice(t))
}

// TestOpenCLGPUVariantAgreesWithCPU: the same with the kernels' GPU variant
// built on this device (PoCL in CI), so that the code a GPU runs is checked
// end to end where no GPU is.
func TestOpenCLGPUVariantAgreesWithCPU(t *testing.T) {
	first := openCLDevice(t)
	d, err := opencl.OpenTuned(first.Info, opencl.ForDevice(first.Info, false))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	agreeWithCPU(t, d)
}

func agreeWithCPU(t *testing.T, dev *opencl.Device) {
	data := realMNIST(t)
	const steps = 30
	for _, m := range model.Methods {
		t.Run(m, func(t *testing.T) {
			cfg, _ := Defaults(m)
			// 4,267 images leave floor(4267·0.9) = 3,840 = 30·128 to train: 30 full steps.
			cfg.TrainSize, cfg.Epochs, cfg.Seed = 4267, 1, 5
			clbe, err := dev.NewBackend()
			if err != nil {
				t.Fatal(err)
			}
			defer clbe.Close()
			ref := cpu.New[float64]()
			a, err := NewTrainer(clbe, cfg, data)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := NewTrainer(ref, cfg, data)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if a.Steps() != steps {
				t.Fatalf("%d steps per epoch, want %d", a.Steps(), steps)
			}
			for _, tr := range []*Trainer{a, b} {
				if err := tr.startEpoch(); err != nil {
					t.Fatal(err)
				}
			}
			var prevA, prevB float64
			worstLoss, worstParam := 0.0, 0.0
			for s := 0; s < steps; s++ {
				a.trainStep(s)
				b.trainStep(s)
				accA, err := a.readAcc()
				if err != nil {
					t.Fatal(err)
				}
				accB, _ := b.readAcc()
				la, lb := float64(accA[device.AccLoss])-prevA, float64(accB[device.AccLoss])-prevB
				prevA, prevB = float64(accA[device.AccLoss]), float64(accB[device.AccLoss])
				worstLoss = max(worstLoss, math.Abs(la-lb)/math.Abs(lb))
				wa, wb := readTensors(t, clbe, a), readTensors(t, ref, b)
				for i, p := range a.Net.Tensors() {
					d, n := relDiff(wa[i], wb[i])
					if n == 0 {
						continue
					}
					worstParam = max(worstParam, d/n)
					// After one step both backends differ by float32 rounding
					// only (~1e-7 relative per operation): 1e-5 leaves room for
					// the sums over 784 inputs yet catches any real difference.
					if s == 0 && d/n > 1e-5 {
						t.Errorf("step 1: %s differs by ‖Δ‖/‖W‖ = %.3g > 1e-5", p.Name, d/n)
					}
					// Adam divides by √v: where a gradient is near zero, a
					// rounding-level difference becomes a whole step of the
					// learning rate in either direction, so the parameters
					// drift apart by up to 1e-3 over 30 steps without the two
					// backends computing different functions.
					if d/n > 1e-3 {
						t.Errorf("step %d: %s differs by ‖Δ‖/‖W‖ = %.3g > 1e-3", s+1, p.Name, d/n)
					}
				}
				// The loss is a sum over the batch: float32 rounding gives
				// ~1e-6 relative, so 1e-4 is loose enough for 30 steps of drift.
				if math.Abs(la-lb) > 1e-4*math.Abs(lb) {
					t.Errorf("step %d: loss %.7g on OpenCL, %.7g on the CPU (relative %.3g > 1e-4)", s+1, la, lb, math.Abs(la-lb)/math.Abs(lb))
				}
			}
			t.Logf("%s: worst relative loss difference %.3g, worst parameter difference %.3g over %d steps", m, worstLoss, worstParam, steps)
		})
	}
}

package train

import (
	"fmt"
	"math"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/device/devicetest"
	"github.com/regcl/regcl/device/opencl"
	"github.com/regcl/regcl/mnist/mnisttest"
	"github.com/regcl/regcl/model"
)

// openCLDevice opens the first OpenCL device (PoCL in CI, where its absence fails).
func openCLDevice(t *testing.T) *opencl.Device {
	t.Helper()
	d := devicetest.Require(t, "OpenCL device", opencl.OpenFirst)
	t.Cleanup(func() { d.Close() })
	return d
}

func readTensors(t *testing.T, be device.Backend, tr *Trainer) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, p := range tr.Net.Tensors() {
		w := make([]float32, p.Len())
		if err := be.Read(p.W, 0, 0, w); err != nil {
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
	d, err := opencl.OpenTuned(first.Info, opencl.VariantTuning(first.Info, false))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	agreeWithCPU(t, d)
}

// agreement is the worst relative difference seen of each quantity, and the
// bound it must stay under, with the reason in agreeWithCPU.
type agreement struct {
	what  string
	bound float64
	worst float64
	at    string
}

func (g *agreement) see(t *testing.T, rel float64, at string) {
	t.Helper()
	if rel > g.worst || math.IsNaN(rel) {
		g.worst, g.at = rel, at
	}
	if !(rel <= g.bound) {
		t.Errorf("%s: %s differs by %.3g relative, above %.0e", at, g.what, rel, g.bound)
	}
}

// agreeWithCPU checks that an OpenCL device trains as the float64 oracle
// does, one step at a time: before each of 30 steps of every preset, both
// trainers are loaded with the same state (the oracle's, rounded to float32
// through a checkpoint: weights, BatchNorm statistics, Adam moments); then
// each takes the step, and the step's loss, every gradient, Adam moment,
// moving statistic and parameter update are compared.
//
// Comparing whole trajectories instead would not be a test of the kernels:
// where a gradient is exactly 0 in exact arithmetic (the bias before
// BatchNorm of a unit active in every row of a batch: BatchNorm removes any
// shift), each backend computes rounding noise, and Adam divides it by √v ≈ 0
// into a step of up to the learning rate, in a random direction. Such a bias
// drifts, and once it moves a unit across zero the two runs follow different
// paths (some seeds diverged by 6e-4 in 30 steps). One step from a shared
// state has no room for that, so the bounds can be those of float32 rounding.
// The oracle receives the scalars rounded to float32 (Scalars32), as the
// device does, so that only arithmetic differs.
func agreeWithCPU(t *testing.T, dev *opencl.Device) {
	data := mnisttest.Real(t)
	const steps = 30
	// Bounds, and why (ε = 2⁻²⁴ ≈ 6e-8, float32's unit roundoff):
	checks := []*agreement{
		// A step's loss sums 128 rows of log-sum-exp: relative error ~ε·√128 ≈ 7e-7.
		{what: "the loss", bound: 1e-5},
		// Gradients are sums of up to 784 products (≈ ε·√784 ≈ 2e-6 relative),
		// taken against the same sums of absolute values where they cancel.
		{what: "a gradient", bound: 1e-5},
		// m = β1·m + (1−β1)·g and v = β2·v + (1−β2)·g² inherit g's error.
		{what: "an Adam moment", bound: 1e-5},
		// Moving statistics: one batch mean or variance (sums of 128 terms)
		// blended in.
		{what: "a moving statistic", bound: 1e-5},
		// The update α·m/(√v+ε) inherits m's and v's errors; where g is
		// rounding noise (see above) its relative error is O(1), but such an
		// element's update is tiny beside the others'. The device also
		// rounds the new weight to float32 (ε·|w|, which is large beside an
		// update of 1e-4 to a BatchNorm γ of 1): that much is taken off
		// ‖Δw‖ before it is compared with ‖update‖.
		{what: "a parameter update", bound: 1e-5},
	}
	loss, grad, moment, moving, update := checks[0], checks[1], checks[2], checks[3], checks[4]
	flips := 0
	for _, m := range model.Methods {
		t.Run(m, func(t *testing.T) {
			cfg, _ := Defaults(m)
			// 4,267 images leave floor(4267·0.9) = 3,840 = 30·128 to train: 30 full steps.
			cfg.TrainSize, cfg.Epochs, cfg.Seed = 4267, 1, 5
			clbe, err := dev.NewBackend(1)
			if err != nil {
				t.Fatal(err)
			}
			defer clbe.Close()
			ref := cpu.New[float64](1)
			ref.Scalars32 = true // the numbers the float32 device receives
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
			for s := 0; s < steps; s++ {
				at := fmt.Sprintf("%s step %d", m, s+1)
				state, err := b.CheckpointFile(0)
				if err != nil {
					t.Fatal(err)
				}
				for _, tr := range []*Trainer{a, b} {
					if err := tr.Restore(state); err != nil {
						t.Fatal(err)
					}
					if err := tr.resetAcc(); err != nil {
						t.Fatal(err)
					}
					tr.trainStep(s)
				}
				accA, err := a.readAcc(0)
				if err != nil {
					t.Fatal(err)
				}
				accB, _ := b.readAcc(0)
				loss.see(t, relErr(float64(accA[device.AccLoss]), float64(accB[device.AccLoss])), at)
				// A pre-activation within rounding of 0 may pass ReLU on one
				// backend and not on the other, flipping ReLU's derivative for
				// that row and unit: a legitimate, rare difference that moves
				// a gradient by up to 1e-3. Such a step's gradients are not
				// compared; the flip itself must be at a near-zero value.
				if n := reluFlips(t, clbe, ref, a.Net, b.Net, cfg.BatchSize, at); n > 0 {
					flips += n
					t.Logf("%s: %d ReLU decisions at a pre-activation within rounding of 0 differ; gradients not compared", at, n)
					continue
				}
				if d := math.Abs(float64(accA[device.AccCorrect] - accB[device.AccCorrect])); d > 1 {
					// Only a row whose two best logits tie to rounding can differ.
					t.Errorf("%s: %v rows right on OpenCL, %v on the CPU", at, accA[device.AccCorrect], accB[device.AccCorrect])
				}
				before := map[string][]float32{}
				for _, ft := range state.Tensors {
					before[ft.Name] = ft.Data
				}
				pa, pb := a.Net.Params(), b.Net.Params()
				alpha := Alpha(cfg.LR, uint64(s+1))
				for i, p := range pa {
					q := pb[i]
					ga, gb := readBuf(t, clbe, p.G, 0, p.Len()), readBuf(t, ref, q.G, 0, q.Len())
					grad.see(t, relNorm(ga, gb, nil), at+" "+p.Name+" gradient")
					ma, mb := readBuf(t, clbe, a.Opt.M, p.Off, p.Len()), readBuf(t, ref, b.Opt.M, q.Off, q.Len())
					va, vb := readBuf(t, clbe, a.Opt.V, p.Off, p.Len()), readBuf(t, ref, b.Opt.V, q.Off, q.Len())
					moment.see(t, relNorm(ma, mb, nil), at+" "+p.Name+" m")
					moment.see(t, relNorm(va, vb, nil), at+" "+p.Name+" v")
					// The update −α·m/(√v+ε) moves by J·Δg when the gradient moves
					// by Δg, J = ∂update/∂g = α·(c1/(√v+ε) − m·c2·g'/(√v·(√v+ε)²)):
					// at step 1, where v = c2·g'², an element with |g'| ≲ ε/√c2
					// turns its gradient's rounding error (already compared above)
					// into an update error α·c1·Δg/ε. That propagated part, and
					// the float32 rounding of the new weight, are taken off.
					w0 := f64s(before[p.Name])
					m0 := f64s(before["adam/m/"+p.Name])
					wa, wb := readBuf(t, clbe, p.W, 0, p.Len()), readBuf(t, ref, q.W, 0, q.Len())
					prop := make([]float64, p.Len())
					for j := range prop {
						gp := (mb[j] - AdamBeta1*m0[j]) / (1 - AdamBeta1)
						sv := math.Sqrt(vb[j])
						jac := (1 - AdamBeta1) / (sv + AdamEpsilon)
						if sv > 0 {
							jac -= mb[j] * (1 - AdamBeta2) * gp / (sv * (sv + AdamEpsilon) * (sv + AdamEpsilon))
						}
						prop[j] = alpha * jac * (ga[j] - gb[j])
					}
					du, dw := norm2(sub(wb, w0)), norm2(sub(wa, wb))
					update.see(t, max(0, dw-norm2(prop)-eps32*norm2(wb))/du, at+" "+p.Name)
				}
				for i, p := range a.Net.Tensors() {
					if p.G == nil {
						q := b.Net.Tensors()[i]
						moving.see(t, relNorm(readBuf(t, clbe, p.W, 0, p.Len()), readBuf(t, ref, q.W, 0, q.Len()), nil), at+" "+p.Name)
					}
				}
			}
		})
	}
	for _, c := range checks {
		t.Logf("worst difference in %s: %.3g (bound %.0e), at %s", c.what, c.worst, c.bound, c.at)
	}
	t.Logf("%d ReLU decisions flipped at near-zero pre-activations over %d steps of %d presets", flips, steps, len(model.Methods))
}

// eps32 is float32's unit roundoff, 2⁻²⁴.
const eps32 = 1.0 / (1 << 24)

func norm2(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s)
}

// reluFlips counts the hidden units (of the last step's batch) that ReLU
// passed on one backend and zeroed on the other, failing t if one of them
// is not within rounding of zero (1e-5 of its layer's largest output).
func reluFlips(t *testing.T, ba, bb device.Backend, na, nb *model.Net, rows int, at string) int {
	t.Helper()
	flips := 0
	for l, xa := range na.HiddenOutputs() {
		xb := nb.HiddenOutputs()[l]
		n := rows * na.Cfg.Hidden[l]
		va, vb := readBuf(t, ba, xa, 0, n), readBuf(t, bb, xb, 0, n)
		var big float64
		for _, v := range vb {
			big = max(big, math.Abs(v))
		}
		for i := range va {
			if (va[i] == 0) != (vb[i] == 0) {
				flips++
				if max(math.Abs(va[i]), math.Abs(vb[i])) > 1e-5*big {
					t.Errorf("%s: hidden layer %d element %d is %v on OpenCL and %v on the CPU: not a rounding-level ReLU flip", at, l+1, i, va[i], vb[i])
				}
			}
		}
	}
	return flips
}

func readBuf(t *testing.T, be device.Backend, b device.Buffer, off, n int) []float64 {
	t.Helper()
	v := make([]float64, n)
	if err := be.Read(b, 0, off, v); err != nil {
		t.Fatal(err)
	}
	return v
}

func f64s(x []float32) []float64 {
	v := make([]float64, len(x))
	for i, e := range x {
		v[i] = float64(e)
	}
	return v
}

func sub(a, b []float64) []float64 {
	v := make([]float64, len(a))
	for i := range a {
		v[i] = a[i] - b[i]
	}
	return v
}

// relNorm is ‖a−b‖/‖b‖ (‖a−b‖ when b is all zeros).
func relNorm(a, b, _ []float64) float64 {
	var d, n float64
	for i := range a {
		d += (a[i] - b[i]) * (a[i] - b[i])
		n += b[i] * b[i]
	}
	if n == 0 {
		return math.Sqrt(d)
	}
	return math.Sqrt(d / n)
}

func relErr(a, b float64) float64 {
	if b == 0 {
		return math.Abs(a)
	}
	return math.Abs(a-b) / math.Abs(b)
}

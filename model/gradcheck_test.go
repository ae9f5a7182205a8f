package model_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/model"
)

// gradCase is a tiny network: 7 inputs, hidden 6 and 5, 3 classes, batch 8.
type gradCase struct {
	name string
	cfg  model.Config
}

func gradCases(t *testing.T) []gradCase {
	var cs []gradCase
	for _, m := range model.Methods {
		c, err := model.Preset(m)
		if err != nil {
			t.Fatal(err)
		}
		c.Inputs, c.Hidden, c.Classes = 7, []int{6, 5}, 3
		cs = append(cs, gradCase{m, c})
	}
	// The presets' penalties (1e-4) barely move the loss; strong penalties and
	// every method at once make a wrong penalty or interaction term visible.
	cs = append(cs, gradCase{"all-strong", model.Config{Inputs: 7, Hidden: []int{6, 5}, Classes: 3,
		L1: 0.03, L2: 0.05, Dropout: 0.4, BatchNorm: true}})
	cs = append(cs, gradCase{"l1l2-strong", model.Config{Inputs: 7, Hidden: []int{6, 5}, Classes: 3, L1: 0.03, L2: 0.05}})
	return cs
}

// TestGradients compares the backward pass (plus the penalty gradient
// λ1·sign(W) + 2·λ2·W that the optimizer fuses in) with central finite
// differences of the loss, all in float64.
func TestGradients(t *testing.T) {
	const rows = 8
	const seed, step = 11, 5
	for _, gc := range gradCases(t) {
		t.Run(gc.name, func(t *testing.T) {
			be := cpu.New[float64](1)
			if err := be.SetLanes([]device.LaneParams{{Seed: seed, DropoutRate: gc.cfg.Dropout, L1: gc.cfg.L1, L2: gc.cfg.L2}}); err != nil {
				t.Fatal(err)
			}
			net, err := model.New(be, []model.Config{gc.cfg}, rows)
			if err != nil {
				t.Fatal(err)
			}
			if err := net.Init([]uint64{3}); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			// Random biases and BatchNorm parameters too, so none sits at its
			// special initial value (biases slightly positive and γ near 1
			// keep most ReLUs of so small a network alive).
			for _, p := range net.Params() {
				w := cpu.Floats[float64](p.W)
				for i := range w {
					switch {
					case strings.HasSuffix(p.Name, "/gamma"):
						w[i] = 0.5 + rng.Float64()
					case strings.HasSuffix(p.Name, "/bias"):
						w[i] = 0.1 + 0.2*rng.Float64()
					case strings.HasSuffix(p.Name, "/beta"):
						w[i] = 0.1 + 0.4*rng.Float64()
					}
				}
			}
			x, _ := be.Alloc(device.Float, rows*gc.cfg.Inputs)
			xs := cpu.Floats[float64](x)
			for i := range xs {
				xs[i] = rng.Float64()
			}
			labels, _ := be.Alloc(device.Uint8, rows)
			idx, _ := be.Alloc(device.Int32, rows)
			lab := make([]uint8, rows)
			ix := make([]int32, rows)
			for i := range lab {
				lab[i] = uint8(rng.IntN(gc.cfg.Classes))
				ix[i] = int32(i)
			}
			be.Write(labels, 0, 0, lab)
			be.Write(idx, 0, 0, ix)
			acc, _ := be.Alloc(device.Float, device.AccLen)

			loss := func() float64 {
				be.Write(acc, 0, 0, []float64{0, 0, -1, 0})
				net.Forward(x, rows, true, step)
				net.Loss(labels, idx, 0, rows, acc, 0)
				net.PenaltySum(acc, rows)
				return cpu.Floats[float64](acc)[device.AccLoss] / rows
			}

			loss()
			be.Write(acc, 0, 0, []float64{0, 0, -1, 0})
			net.Forward(x, rows, true, step)
			net.LossGrad(labels, idx, 0, int(rows), 1.0/rows, acc, nil, 0)
			net.Backward(x, rows, step)

			const h = 1e-5
			for _, p := range net.Params() {
				w := cpu.Floats[float64](p.W)
				g := append([]float64(nil), cpu.Floats[float64](p.G)...)
				if p.Penalized {
					for i, v := range w {
						g[i] += gc.cfg.L1*sign(v) + 2*gc.cfg.L2*v
					}
				}
				var num, den float64
				for i := range w {
					orig := w[i]
					w[i] = orig + h
					lp := loss()
					w[i] = orig - h
					lm := loss()
					w[i] = orig
					fd := (lp - lm) / (2 * h)
					num += (g[i] - fd) * (g[i] - fd)
					den += fd * fd
				}
				// float64 central differences with h = 1e-5 carry truncation
				// error ~h²·|f'''| ≈ 1e-10 and rounding error ~ε·|f|/h ≈ 1e-11
				// per element, about 1e-8 relative to gradients of norm ≥ 1e-2,
				// well below the 1e-6 bound; a wrong term in the backward pass
				// gives errors of order 1.
				rel := math.Sqrt(num) / math.Sqrt(den)
				if math.Sqrt(den) < 1e-4 {
					t.Errorf("%s: the gradient is degenerate (‖numeric‖ = %.3g); the test network is dead", p.Name, math.Sqrt(den))
				} else if rel > 1e-6 || math.IsNaN(rel) {
					t.Errorf("%s: ‖analytic − numeric‖/‖numeric‖ = %.3g (‖numeric‖ = %.3g)", p.Name, rel, math.Sqrt(den))
				}
			}
		})
	}
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

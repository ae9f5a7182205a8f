package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/regcl/regcl/device"
)

// AdamStepTest runs several consecutive AdamStep calls with fresh gradients,
// with and without the L1 and L2 penalties, from zero and from random moments,
// comparing w, m and v after every step. About a fifth of the weights start
// at exactly 0, where sign(0) = 0 leaves the L1 term out.
func AdamStepTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	const (
		lr    = 1e-3
		beta1 = 0.9
		beta2 = 0.999
		eps   = 1e-7
		steps = 4
	)
	pens := []struct {
		name   string
		l1, l2 float32
	}{{"plain", 0, 0}, {"L1", 0.01, 0}, {"L2", 0, 0.05}, {"L1L2", 0.01, 0.05}}
	for _, n := range []int{1, 7, 33, 129, 784, 1280, 200704} {
		for _, pen := range pens {
			if n > 100000 && pen.name != "L1L2" {
				continue // the largest size only with both penalties, to stay fast
			}
			for _, warm := range []bool{false, true} {
				init := "fresh"
				if warm {
					init = "warm"
				}
				h.run(fmt.Sprintf("n%d/%s/%s", n, pen.name, init), func(c *tcase) {
					wv := c.normal(n, 0, 0.05)
					for i := range wv {
						if c.rng.IntN(5) == 0 {
							wv[i] = 0
						}
					}
					mv, vv := make([]float32, n), make([]float32, n)
					if warm {
						mv = c.normal(n, 0, 0.01)
						vv = c.uniform(n, 1e-6, 1e-3)
					}
					w, m, v := c.inOut("w", wv), c.inOut("m", mv), c.inOut("v", vv)
					for step := 1; step <= steps; step++ {
						hp := device.Adam{
							Alpha: float32(lr * math.Sqrt(1-math.Pow(beta2, float64(step))) / (1 - math.Pow(beta1, float64(step)))),
							Beta1: beta1, Beta2: beta2, Eps: eps,
							L1: pen.l1, L2: pen.l2,
						}
						g := c.in("g", c.adamGrad(wv, hp))
						c.be.AdamStep(w.buf, g.buf, m.buf, v.buf, n, hp)
						ref := adamRef(wv, g.vals, mv, vv, hp)
						wv, mv, vv = c.get(w), c.get(m), c.get(v)
						what := fmt.Sprintf("AdamStep %d of %d (n=%d, %+v)", step, steps, n, hp)
						c.near(what+" w", wv, ref.w)
						c.nearFloor(what+" m", mv, ref.m, norm(ref.mMag))
						c.nearFloor(what+" v", vv, ref.v, norm(ref.vMag))
						c.guards(g)
						if c.t.Failed() {
							break
						}
					}
					c.guards(w, m, v)
				})
			}
		}
	}
}

// adamGrad returns a random gradient for weights w whose penalized gradient
// g' = g + L1·sign(w) + 2·L2·w is nowhere within 1e-4 of 0. Near 0 the step
// m/√v of a fresh Adam state is ±(1−β1)/√(1−β2) by the sign of g', which
// float32 rounding of g' could flip.
func (c *tcase) adamGrad(w []float32, h device.Adam) []float32 {
	g := c.normal(len(w), 0, 0.1)
	for i := range g {
		for math.Abs(penalized(g[i], w[i], h)) < 1e-4 {
			g[i] = float32(0.1 * c.rng.NormFloat64())
		}
	}
	return g
}

// penalized returns g' = g + L1·sign(w) + 2·L2·w, with sign(0) = 0.
func penalized(g, w float32, h device.Adam) float64 {
	wi := float64(w)
	sgn := 0.0
	switch {
	case wi > 0:
		sgn = 1
	case wi < 0:
		sgn = -1
	}
	return float64(g) + float64(h.L1)*sgn + 2*float64(h.L2)*wi
}

// adamResult is one Adam step in float64. mMag and vMag are the same sums
// over the terms' absolute values, against which the rounding errors of m
// and v are measured (β1·m and (1−β1)·g' can cancel, and so can the terms of
// g').
type adamResult struct {
	w, m, v    []float64
	mMag, vMag []float64
}

// adamRef is one Adam step in float64 from the float32 state w, m, v.
func adamRef(w, g, m, v []float32, h device.Adam) adamResult {
	n := len(w)
	r := adamResult{
		w: make([]float64, n), m: make([]float64, n), v: make([]float64, n),
		mMag: make([]float64, n), vMag: make([]float64, n),
	}
	b1, b2 := float64(h.Beta1), float64(h.Beta2)
	for i := range w {
		wi := float64(w[i])
		gi := penalized(g[i], w[i], h)
		ga := math.Abs(float64(g[i])) + math.Abs(gi-float64(g[i]))
		r.m[i] = b1*float64(m[i]) + (1-b1)*gi
		r.v[i] = b2*float64(v[i]) + (1-b2)*gi*gi
		r.mMag[i] = b1*math.Abs(float64(m[i])) + (1-b1)*ga
		r.vMag[i] = b2*float64(v[i]) + (1-b2)*ga*ga
		r.w[i] = wi - float64(h.Alpha)*r.m[i]/(math.Sqrt(r.v[i])+float64(h.Eps))
	}
	return r
}

package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/regcl/regcl/device"
)

// AdamStepTest runs several consecutive AdamStep calls with fresh gradients,
// with and without the L1 and L2 penalties, from zero and from random moments,
// comparing w, m and v after every step. Every lane has its own penalties
// and learning rate (lane 0 those the case is named by, the others cycling
// through the rest). About a fifth of the weights start at exactly 0, where
// sign(0) = 0 leaves the L1 term out. With penalties, the penalized part is
// the whole buffer, none of it, or a prefix whose end is no multiple of any
// vector width (a network's buffer: hidden kernels first).
func AdamStepTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	const (
		beta1 = 0.9
		beta2 = 0.999
		eps   = 1e-7
		steps = 4
	)
	pens := []string{"plain", "L1", "L2", "L1L2"} // penalties[i] of lane 0
	for _, n := range []int{1, 7, 33, 129, 784, 1280, 200704} {
		for pi, pen := range pens {
			if n > 100000 && pen != "L1L2" {
				continue // the largest size only with both penalties, to stay fast
			}
			parts := []string{"all"}
			if pen == "L1L2" && n > 1 {
				parts = []string{"all", "none", "prefix"}
			}
			for _, part := range parts {
				penalized := map[string]int{"all": n, "none": 0, "prefix": n*3/7 + 1}[part]
				for _, warm := range []bool{false, true} {
					init := "fresh"
					if warm {
						init = "warm"
					}
					name := fmt.Sprintf("n%d/%s/%s", n, pen, init)
					if len(parts) > 1 {
						name = fmt.Sprintf("n%d/%s_%s/%s", n, pen, part, init)
					}
					h.run(name, 4*n*steps, func(c *tcase) { // work: 4 arrays updated, steps times
						p := c.params(pi)
						c.setParams(p)
						wv := c.lanesOf(func() []float32 {
							w := c.normal(n, 0, 0.05)
							for i := range w {
								if c.rng.IntN(5) == 0 {
									w[i] = 0
								}
							}
							return w
						})
						mv := c.lanesOf(func() []float32 { return make([]float32, n) })
						vv := c.lanesOf(func() []float32 { return make([]float32, n) })
						if warm {
							mv = c.lanesOf(func() []float32 { return c.normal(n, 0, 0.01) })
							vv = c.lanesOf(func() []float32 { return c.uniform(n, 1e-6, 1e-3) })
						}
						w, m, v := c.inOut("w", wv), c.inOut("m", mv), c.inOut("v", vv)
						for step := 1; step <= steps; step++ {
							hp := device.Adam{Correction: device.AdamCorrection(beta1, beta2, uint64(step)), Beta1: beta1, Beta2: beta2, Eps: eps}
							gv := make([][]float32, c.lanes)
							for l := range gv {
								gv[l] = c.adamGrad(wv[l], p[l], penalized)
							}
							g := c.in("g", gv)
							c.be.AdamStep(w.buf, g.buf, m.buf, v.buf, n, penalized, hp)
							for l := 0; l < c.lanes; l++ {
								ref := adamRef(wv[l], gv[l], mv[l], vv[l], hp, p[l], penalized)
								wv[l], mv[l], vv[l] = c.get(w, l), c.get(m, l), c.get(v, l)
								what := c.at(l, "AdamStep %d of %d (n=%d, penalized=%d, %+v, %+v)", step, steps, n, penalized, hp, p[l])
								c.nearFloor(what+" w", wv[l], ref.w, norm(ref.wMag))
								c.nearFloor(what+" m", mv[l], ref.m, norm(ref.mMag))
								c.nearFloor(what+" v", vv[l], ref.v, norm(ref.vMag))
							}
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
}

// adamGrad returns a random gradient for weights w whose penalized gradient
// g' = g + L1·sign(w) + 2·L2·w is nowhere within 1e-4 of 0. Near 0 the step
// m/√v of a fresh Adam state is ±(1−β1)/√(1−β2) by the sign of g', which
// float32 rounding of g' could flip.
func (c *tcase) adamGrad(w []float32, h device.LaneParams, pen int) []float32 {
	g := c.normal(len(w), 0, 0.1)
	for i := range g {
		for math.Abs(penalizedGrad(g[i], w[i], h, i < pen)) < 1e-4 {
			g[i] = float32(0.1 * c.rng.NormFloat64())
		}
	}
	return g
}

// penalizedGrad returns g' = g + L1·sign(w) + 2·L2·w, with sign(0) = 0, on a
// penalized element, and g on the others.
func penalizedGrad(g, w float32, h device.LaneParams, on bool) float64 {
	if !on {
		return float64(g)
	}
	wi := float64(w)
	sgn := 0.0
	switch {
	case wi > 0:
		sgn = 1
	case wi < 0:
		sgn = -1
	}
	return float64(g) + h.L1*sgn + 2*h.L2*wi
}

// adamResult is one Adam step in float64. mMag, vMag and wMag are the same
// sums over the terms' absolute values, against which the rounding errors of
// m, v and w are measured: β1·m and (1−β1)·g' can cancel, and so can the terms
// of g', and the new weight w − α·m/(√v+ε) can be near zero when the step
// cancels the old weight (a relative error taken against such a result would
// fail a correct float32 backend at random: it once did, one run in 30).
type adamResult struct {
	w, m, v          []float64
	mMag, vMag, wMag []float64
}

// adamRef is one Adam step in float64 from the float32 state w, m, v, with
// the lane parameters p, the first pen elements penalized, and the step size
// α = p.LR·h.Correction in float64.
func adamRef(w, g, m, v []float32, h device.Adam, p device.LaneParams, pen int) adamResult {
	n := len(w)
	r := adamResult{
		w: make([]float64, n), m: make([]float64, n), v: make([]float64, n),
		mMag: make([]float64, n), vMag: make([]float64, n), wMag: make([]float64, n),
	}
	b1, b2 := h.Beta1, h.Beta2
	alpha := p.LR * h.Correction
	for i := range w {
		wi := float64(w[i])
		gi := penalizedGrad(g[i], w[i], p, i < pen)
		ga := math.Abs(float64(g[i])) + math.Abs(gi-float64(g[i]))
		r.m[i] = b1*float64(m[i]) + (1-b1)*gi
		r.v[i] = b2*float64(v[i]) + (1-b2)*gi*gi
		r.mMag[i] = b1*math.Abs(float64(m[i])) + (1-b1)*ga
		r.vMag[i] = b2*float64(v[i]) + (1-b2)*ga*ga
		den := math.Sqrt(r.v[i]) + h.Eps
		r.w[i] = wi - alpha*r.m[i]/den
		r.wMag[i] = math.Abs(wi) + alpha*r.mMag[i]/den
	}
	return r
}

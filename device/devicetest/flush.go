package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/regcl/regcl/device"
)

// minNormal is the smallest normal float32, 2⁻¹²⁶ ≈ 1.18e-38.
const minNormal = 0x1p-126

// FlushTest checks that the operations through which a training run breeds
// subnormal floats flush those results to zero (device.Backend's contract):
// AdamStep's weights and moments, BatchNormTrain's moving statistics and
// SoftmaxXent's gradient. Inputs are normal floats chosen so that the exact
// result of some elements is subnormal (by a margin of at least 5e-4
// relative, far beyond float32 rounding); those elements must be exactly 0,
// and every other element is compared as usual.
func FlushTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	h.run("AdamStep", 129, func(c *tcase) {
		const n = 129
		p := c.params(0)
		for l := range p {
			p[l].LR = 1e-3 * float64(1+l%3) // α = LR·Correction differs between lanes
		}
		c.setParams(p)
		hp := device.Adam{Correction: math.Sqrt(1-0.999) / (1 - 0.9), Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}
		ws, gs, ms, vs := make([][]float32, c.lanes), make([][]float32, c.lanes), make([][]float32, c.lanes), make([][]float32, c.lanes)
		for l := range ws {
			alpha := p[l].LR * hp.Correction
			wv, gv, mv, vv := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range wv {
				s := float32(1 - 2*c.rng.IntN(2))
				switch (i + l) % 4 {
				case 0: // m = 0.9·1.2e-38 = 1.08e-38 < 2⁻¹²⁶: flushed
					wv[i], mv[i], vv[i] = 0.01*s, 1.2e-38*s, 1e-6
				case 1: // v = 0.999·1.176e-38 = 1.1748e-38 < 2⁻¹²⁶: flushed
					wv[i], vv[i] = 0.01*s, 1.176e-38
				case 2: // w = 2e-38 − α·0.9·m/(1+ε) with α·0.9·m = 1.5e-38: 5e-39, flushed
					wv[i], vv[i] = 2e-38*s, 1
					mv[i] = float32(1.5e-38/(0.9*alpha)) * s
				default: // an ordinary element, not flushed
					wv[i], gv[i], mv[i], vv[i] = 0.05*s, float32(0.1*c.rng.NormFloat64()), 0.01*s, 1e-4
				}
			}
			ws[l], gs[l], ms[l], vs[l] = wv, gv, mv, vv
		}
		w, m, v, g := c.inOut("w", ws), c.inOut("m", ms), c.inOut("v", vs), c.in("g", gs)
		c.be.AdamStep(w.buf, g.buf, m.buf, v.buf, n, 0, hp)
		for l := 0; l < c.lanes; l++ {
			ref := adamRef(ws[l], gs[l], ms[l], vs[l], hp, p[l], 0)
			c.flushed(c.at(l, "AdamStep w"), c.get(w, l), ref.w, norm(ref.wMag))
			c.flushed(c.at(l, "AdamStep m"), c.get(m, l), ref.m, norm(ref.mMag))
			c.flushed(c.at(l, "AdamStep v"), c.get(v, l), ref.v, norm(ref.vMag))
		}
		c.guards(w, m, v, g)
	})
	h.run("BatchNormTrain", 33*7, func(c *tcase) {
		const rows, cols = 33, 7
		// Column l%cols is all zeros in lane l (a dead unit): its batch mean
		// and variance are 0, so the moving statistics decay by 0.99 into the
		// subnormals.
		xs := c.lanesOf(func() []float32 { return c.normal(rows*cols, 1, 1) })
		mm0s, mv0s := make([][]float32, c.lanes), make([][]float32, c.lanes)
		for l := range xs {
			dead := l % cols
			for r := 0; r < rows; r++ {
				xs[l][r*cols+dead] = 0
			}
			mm0s[l], mv0s[l] = c.normal(cols, 0, 1), c.uniform(cols, 0.5, 2)
			mm0s[l][dead], mv0s[l][dead] = 1.18e-38, 1.18e-38 // ·0.99 = 1.168e-38 < 2⁻¹²⁶
		}
		xb := c.in("x", xs)
		gamma := c.in("gamma", c.lanesOf(func() []float32 { return c.uniform(cols, 0.5, 1.5) }))
		beta := c.in("beta", c.lanesOf(func() []float32 { return c.normal(cols, 0, 0.5) }))
		movMean, movVar := c.inOut("movMean", mm0s), c.inOut("movVar", mv0s)
		y, mean, invstd := c.out("y", rows*cols), c.out("mean", cols), c.out("invstd", cols)
		c.be.BatchNormTrain(y.buf, xb.buf, gamma.buf, beta.buf, mean.buf, invstd.buf, movMean.buf, movVar.buf, rows, cols, 1e-3, 0.99)
		for l := 0; l < c.lanes; l++ {
			mm0, mv0 := mm0s[l], mv0s[l]
			mu, va := batchStats(xs[l], rows, cols)
			wmm, wmv := make([]float64, cols), make([]float64, cols)
			for j := range wmm {
				wmm[j] = float64(mm0[j]) - (float64(mm0[j])-mu[j])*0.01
				wmv[j] = float64(mv0[j]) - (float64(mv0[j])-va[j])*0.01
			}
			c.flushed(c.at(l, "BatchNormTrain movMean"), c.get(movMean, l), wmm, math.Hypot(norm(f64(mm0)), norm(mu)))
			c.flushed(c.at(l, "BatchNormTrain movVar"), c.get(movVar, l), wmv, norm(wmv))
		}
		c.guards(xb, gamma, beta, movMean, movVar, y, mean, invstd)
	})
	h.run("SoftmaxXent", 70, func(c *tcase) {
		const rows, classes = 7, 10
		ins := c.laneInputs("normal", rows, classes, false, false)
		// Row r ≥ 1 has a logit 95 above the others: their probabilities
		// are e⁻⁹⁵ ≈ 5.5e-42, subnormal; the first row stays ordinary.
		for l, in := range ins {
			for r := 1; r < rows; r++ {
				for k := 0; k < classes; k++ {
					in.logits[r*classes+k] = float32(c.rng.Float64())
				}
				in.logits[r*classes+(r+l)%classes] = 96
			}
		}
		refs := make([]xentResult, c.lanes)
		inits := make([][]float32, c.lanes)
		for l := range refs {
			refs[l] = xentRef(ins[l], 1)
			inits[l] = c.accInit(refs[l].loss, -1)
		}
		labels, idx := c.upload(ins, false)
		logits := c.in("logits", logitsOf(ins))
		acc := c.inOut("acc", inits)
		dl := c.out("dlogits", rows*classes)
		c.be.SoftmaxXent(dl.buf, nil, logits.buf, labels, idx, 0, rows, classes, 1, acc.buf, nil, 1)
		for l := 0; l < c.lanes; l++ {
			c.flushed(c.at(l, "SoftmaxXent dlogits"), c.get(dl, l), refs[l].dlogits, math.Sqrt(rows))
		}
		c.guards(logits, acc, dl)
	})
}

// flushed checks got against want: exactly ±0 where |want| is below the
// smallest normal float32, and within Tolerance of the scale elsewhere.
func (c *tcase) flushed(what string, got []float32, want []float64, scale float64) {
	c.t.Helper()
	n := 0
	for i, w := range want {
		if w != 0 && math.Abs(w) < minNormal {
			n++
			if got[i] != 0 {
				c.t.Errorf("%s: element %d = %g, want 0: the exact result %g is subnormal and must be flushed", what, i, got[i], w)
				return
			}
		}
	}
	if n == 0 {
		c.t.Fatalf("%s: the test's inputs give no subnormal result to flush", what)
	}
	c.nearFloor(fmt.Sprintf("%s (%d flushed)", what, n), got, want, scale)
}

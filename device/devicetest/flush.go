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
	h.run("AdamStep", func(c *tcase) {
		const n = 129
		hp := device.Adam{Alpha: 1e-3 * math.Sqrt(1-0.999) / (1 - 0.9), Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}
		wv, gv, mv, vv := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range wv {
			s := float32(1 - 2*c.rng.IntN(2))
			switch i % 4 {
			case 0: // m = 0.9·1.2e-38 = 1.08e-38 < 2⁻¹²⁶: flushed
				wv[i], mv[i], vv[i] = 0.01*s, 1.2e-38*s, 1e-6
			case 1: // v = 0.999·1.176e-38 = 1.1748e-38 < 2⁻¹²⁶: flushed
				wv[i], vv[i] = 0.01*s, 1.176e-38
			case 2: // w = 2e-38 − α·0.9·m/(1+ε) with α·0.9·m = 1.5e-38: 5e-39, flushed
				wv[i], vv[i] = 2e-38*s, 1
				mv[i] = float32(1.5e-38/(0.9*hp.Alpha)) * s
			default: // an ordinary element, not flushed
				wv[i], gv[i], mv[i], vv[i] = 0.05*s, float32(0.1*c.rng.NormFloat64()), 0.01*s, 1e-4
			}
		}
		w, m, v, g := c.inOut("w", wv), c.inOut("m", mv), c.inOut("v", vv), c.in("g", gv)
		c.be.AdamStep(w.buf, g.buf, m.buf, v.buf, n, 0, hp)
		ref := adamRef(wv, gv, mv, vv, hp, 0)
		c.flushed("AdamStep w", c.get(w), ref.w, norm(ref.wMag))
		c.flushed("AdamStep m", c.get(m), ref.m, norm(ref.mMag))
		c.flushed("AdamStep v", c.get(v), ref.v, norm(ref.vMag))
		c.guards(w, m, v, g)
	})
	h.run("BatchNormTrain", func(c *tcase) {
		const rows, cols = 33, 7
		// Column 0 is all zeros (a dead unit): its batch mean and variance
		// are 0, so the moving statistics decay by 0.99 into the subnormals.
		x := c.normal(rows*cols, 1, 1)
		for r := 0; r < rows; r++ {
			x[r*cols] = 0
		}
		xb, gamma, beta := c.in("x", x), c.in("gamma", c.uniform(cols, 0.5, 1.5)), c.in("beta", c.normal(cols, 0, 0.5))
		mm0, mv0 := c.normal(cols, 0, 1), c.uniform(cols, 0.5, 2)
		mm0[0], mv0[0] = 1.18e-38, 1.18e-38 // ·0.99 = 1.168e-38 < 2⁻¹²⁶
		movMean, movVar := c.inOut("movMean", mm0), c.inOut("movVar", mv0)
		y, mean, invstd := c.out("y", rows*cols), c.out("mean", cols), c.out("invstd", cols)
		c.be.BatchNormTrain(y.buf, xb.buf, gamma.buf, beta.buf, mean.buf, invstd.buf, movMean.buf, movVar.buf, rows, cols, 1e-3, 0.99)
		mu, va := batchStats(x, rows, cols)
		wmm, wmv := make([]float64, cols), make([]float64, cols)
		for j := range wmm {
			wmm[j] = float64(mm0[j]) - (float64(mm0[j])-mu[j])*0.01
			wmv[j] = float64(mv0[j]) - (float64(mv0[j])-va[j])*0.01
		}
		c.flushed("BatchNormTrain movMean", c.get(movMean), wmm, math.Hypot(norm(f64(mm0)), norm(mu)))
		c.flushed("BatchNormTrain movVar", c.get(movVar), wmv, norm(wmv))
		c.guards(xb, gamma, beta, movMean, movVar, y, mean, invstd)
	})
	h.run("SoftmaxXent", func(c *tcase) {
		const rows, classes = 7, 10
		in := c.xentInputs("normal", rows, classes, false)
		// Row r has a logit 95 above the others: their probabilities are
		// e⁻⁹⁵ ≈ 5.5e-42, subnormal; the first row stays ordinary.
		for r := 1; r < rows; r++ {
			for k := 0; k < classes; k++ {
				in.logits[r*classes+k] = float32(c.rng.Float64())
			}
			in.logits[r*classes+r%classes] = 96
		}
		ref := xentRef(in, 1)
		labels, idx := c.upload(in)
		logits := c.in("logits", in.logits)
		acc := c.inOut("acc", c.accInit(ref.loss, -1))
		dl := c.out("dlogits", rows*classes)
		c.be.SoftmaxXent(dl.buf, logits.buf, labels, idx, in.idxOff, rows, classes, 1, acc.buf, 1)
		c.flushed("SoftmaxXent dlogits", c.get(dl), ref.dlogits, math.Sqrt(rows))
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

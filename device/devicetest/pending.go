package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/regcl/regcl/device"
)

// PendingPenaltyTest checks the penalty AdamStep leaves pending
// (device.Adam.Pending). PenaltyFold, or the next SoftmaxXent given the
// buffer, adds scale·(L1·Σ|w| + L2·Σw²) over the penalized prefix of the
// weights before the update, with every lane's own L1 and L2, into its
// acc[AccLoss], once (a second fold adds nothing); a lane whose L1 and L2
// are both 0 is left untouched (its loss holds −0, which adding even +0
// would turn into +0); a buffer of zeros holds nothing pending; and the
// update itself is bit for bit the one AdamStep makes without the buffer.
// The buffer starts poisoned with NaN, so the fold reads only what the
// step wrote. SoftmaxXent is taken at 128 rows (one work-group of the
// OpenCL kernels) and 600 (the rows split among work-groups).
func PendingPenaltyTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, n := range []int{1, 33, 1280, 200704} {
		for _, part := range []string{"all", "prefix", "none"} {
			pen := map[string]int{"all": n, "prefix": n*3/7 + 1, "none": 0}[part]
			if part == "prefix" && pen == n {
				continue
			}
			for _, via := range []string{"fold", "xent128", "xent600"} {
				h.run(fmt.Sprintf("n%d/%s/%s", n, part, via), 4*n, func(c *tcase) {
					p := c.penaltyParams(c.rng.IntN(len(penaltyPairs) - 1)) // lane 0 penalized: (0, 0) is the last pair
					wv := c.penaltyWeights(n)
					gv := c.lanesOf(func() []float32 { return c.normal(n, 0, 0.1) })
					zeros := c.lanesOf(func() []float32 { return make([]float32, n) })
					scale := 1 + float64(c.rng.IntN(600))
					// The step twice: without a pending buffer, and with one.
					w1, m1, v1 := c.inOut("w", wv), c.inOut("m", zeros), c.inOut("v", zeros)
					w2, m2, v2 := c.inOut("w2", wv), c.inOut("m2", zeros), c.inOut("v2", zeros)
					g := c.in("g", gv)
					pend := c.out("pending", c.be.PendingLen(pen))
					hp := device.Adam{Correction: device.AdamCorrection(0.9, 0.999, 1), Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}
					c.be.AdamStep(w1.buf, g.buf, m1.buf, v1.buf, n, pen, hp)
					hp.Pending, hp.PenaltyScale = pend.buf, scale
					c.be.AdamStep(w2.buf, g.buf, m2.buf, v2.buf, n, pen, hp)

					wants := make([]float64, c.lanes)
					inits := make([][]float32, c.lanes)
					for l := range wants {
						wants[l] = penaltyRef(wv[l][:pen], p[l], scale)
						inits[l] = c.accInit(wants[l]+1, -1)
						if p[l].L1 == 0 && p[l].L2 == 0 && via == "fold" {
							inits[l][device.AccLoss] = float32(math.Copysign(0, -1)) // −0 + 0 = +0: must stay −0
						}
					}
					acc := c.inOut("acc", inits)
					refs := make([]xentResult, c.lanes)
					if via == "fold" {
						c.be.PenaltyFold(acc.buf, pend.buf)
					} else {
						rows := map[string]int{"xent128": 128, "xent600": 600}[via]
						ins := c.laneInputs("normal", rows, 10, true, false)
						labels, idx := c.upload(ins, false)
						logits := c.in("logits", logitsOf(ins))
						c.be.SoftmaxXent(nil, nil, logits.buf, labels, idx, ins[0].idxOff, rows, 10, 1, acc.buf, pend.buf, 9)
						for l := range refs {
							refs[l] = xentRef(ins[l], 1)
						}
						c.guards(logits)
					}
					for l := 0; l < c.lanes; l++ {
						what := c.at(l, "AdamStep(n=%d, penalized=%d, scale=%v, L1=%v, L2=%v) then %s", n, pen, scale, p[l].L1, p[l].L2, via)
						for _, b := range [][2]*fbuf{{w1, w2}, {m1, m2}, {v1, v2}} {
							a, z := c.get(b[0], l), c.get(b[1], l)
							for i := range a {
								if math.Float32bits(a[i]) != math.Float32bits(z[i]) {
									c.t.Fatalf("%s: %s[%d] = %v with a pending buffer, %v without", what, b[0].name, i, z[i], a[i])
								}
							}
						}
						got := c.get(acc, l)
						if via != "fold" {
							// The penalty is a sum of terms ≥ 0: its rounding is
							// relative to itself, and adds to the loss's scale.
							r := refs[l]
							c.checkAcc(what, got, inits[l], xentResult{loss: r.loss + wants[l], mag: r.mag + wants[l], correct: r.correct})
							continue
						}
						from := 1
						if p[l].L1 == 0 && p[l].L2 == 0 {
							from = 0
						} else {
							c.near(what+" acc[AccLoss]", got[:1], []float64{float64(inits[l][device.AccLoss]) + wants[l]})
						}
						for i := from; i < device.AccLen; i++ {
							if math.Float32bits(got[i]) != math.Float32bits(inits[l][i]) {
								c.t.Errorf("%s: acc[%d] = %v, want it untouched (%v)", what, i, got[i], inits[l][i])
							}
						}
					}
					// Added once: a second fold, and a fold of zeros, add nothing.
					before := make([][]float32, c.lanes)
					for l := range before {
						before[l] = c.get(acc, l)
					}
					c.be.PenaltyFold(acc.buf, pend.buf)
					c.be.Fill(pend.buf, pend.n, 0)
					c.be.PenaltyFold(acc.buf, pend.buf)
					for l := 0; l < c.lanes; l++ {
						got := c.get(acc, l)
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(before[l][i]) {
								c.t.Errorf("%s: a fold after the penalty was added changed acc[%d] from %v to %v",
									c.at(l, "n=%d, penalized=%d, %s", n, pen, via), i, before[l][i], got[i])
							}
						}
					}
					c.guards(w1, m1, v1, w2, m2, v2, g, pend, acc)
				})
			}
		}
	}
}

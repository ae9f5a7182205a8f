package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/regcl/regcl/device"
)

// xentInputs are the inputs of one SoftmaxXent call.
type xentInputs struct {
	rows, classes, idxOff int
	logits                []float32
	labels                []uint8 // the whole label set, indexed through idx
	idx                   []int32
}

// label returns the label of row r.
func (in *xentInputs) label(r int) int { return int(in.labels[in.idx[in.idxOff+r]]) }

// xentResult is the float64 reference of SoftmaxXent.
type xentResult struct {
	loss    float64   // Σ_r logsumexp(row r) − logit of its label
	mag     float64   // Σ_r |logsumexp(row r)| + |logit of its label|: the scale of the loss's rounding error
	correct int       // rows whose first maximum is the label
	dlogits []float64 // gradScale·(softmax − onehot)
}

func xentRef(in *xentInputs, gradScale float32) xentResult {
	C := in.classes
	var loss, mag float64
	var correct int
	dlogits := make([]float64, in.rows*C)
	for r := 0; r < in.rows; r++ {
		row := in.logits[r*C : r*C+C]
		y := in.label(r)
		best := 0
		for j := 1; j < C; j++ {
			if row[j] > row[best] {
				best = j
			}
		}
		mx := float64(row[best])
		var se float64
		for _, v := range row {
			se += math.Exp(float64(v) - mx)
		}
		lse := mx + math.Log(se)
		loss += lse - float64(row[y])
		mag += math.Abs(lse) + math.Abs(float64(row[y]))
		if best == y {
			correct++
		}
		for j, v := range row {
			p := math.Exp(float64(v) - lse)
			if j == y {
				p--
			}
			dlogits[r*C+j] = float64(gradScale) * p
		}
	}
	return xentResult{loss, mag, correct, dlogits}
}

// xentInputs draws logits of the given kind, n labels and a permutation idx
// of them, with labels that equal the first maximum of their row about a
// third of the time and its last maximum another third. Kinds:
//
//	normal: N(0, 2²) logits;
//	large:  logits of magnitude up to 100 (±80 ± 20), where a softmax that
//	        exponentiates without subtracting the maximum overflows float32;
//	ties:   small integers, so that most rows have several maxima (and a
//	        label on a later maximum must not count as correct).
func (c *tcase) xentInputs(kind string, rows, classes, n, idxOff int) *xentInputs {
	in := &xentInputs{rows: rows, classes: classes, idxOff: idxOff, idx: c.perm(n), labels: make([]uint8, n)}
	for i := range in.labels {
		in.labels[i] = uint8(c.rng.IntN(classes))
	}
	in.logits = c.logits(kind, rows*classes)
	for r := 0; r < rows; r++ {
		row := in.logits[r*classes : r*classes+classes]
		var maxima []int
		for j, v := range row {
			switch {
			case len(maxima) == 0 || v > row[maxima[0]]:
				maxima = []int{j}
			case v == row[maxima[0]]:
				maxima = append(maxima, j)
			}
		}
		i := in.idx[in.idxOff+r]
		switch c.rng.IntN(3) {
		case 0:
			in.labels[i] = uint8(maxima[0])
		case 1:
			in.labels[i] = uint8(maxima[len(maxima)-1])
		}
	}
	return in
}

func (c *tcase) logits(kind string, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch kind {
		case "normal":
			x[i] = float32(2 * c.rng.NormFloat64())
		case "large":
			x[i] = float32(80*float64(2*c.rng.IntN(2)-1) + 40*(c.rng.Float64()-0.5))
		case "ties":
			x[i] = float32(c.rng.IntN(3))
		default:
			panic("devicetest: unknown logits kind " + kind)
		}
	}
	return x
}

// laneInputs draws every lane's inputs of one SoftmaxXent call: its own
// logits in each lane, and its own labels and idx too unless shared, when
// every lane reads lane 0's. Every lane's idx has the same length and
// offset (0 unless offset).
func (c *tcase) laneInputs(kind string, rows, classes int, offset, shared bool) []*xentInputs {
	n := rows + 1 + c.rng.IntN(100)
	idxOff := 0
	if offset {
		idxOff = 1 + c.rng.IntN(n-rows)
	}
	ins := make([]*xentInputs, c.lanes)
	for l := range ins {
		if shared && l > 0 {
			in := *ins[0]
			in.logits = c.logits(kind, rows*classes)
			ins[l] = &in
			continue
		}
		ins[l] = c.xentInputs(kind, rows, classes, n, idxOff)
	}
	return ins
}

// upload writes the lanes' labels and idx to the backend, as shared buffers
// (lane 0's) or per-lane ones.
func (c *tcase) upload(ins []*xentInputs, shared bool) (labels, idx device.Buffer) {
	c.t.Helper()
	parts := len(ins)
	if shared {
		parts = 1
	}
	lab, ix := make([][]uint8, parts), make([][]int32, parts)
	for l := range parts {
		lab[l], ix[l] = ins[l].labels, ins[l].idx
	}
	return c.bytesIn(lab, shared), c.int32sIn(ix, shared)
}

// logitsOf returns the lanes' logits.
func logitsOf(ins []*xentInputs) [][]float32 {
	x := make([][]float32, len(ins))
	for l, in := range ins {
		x[l] = in.logits
	}
	return x
}

// accInit returns accumulator contents that SoftmaxXent must add into:
// a loss about as large as the loss to add, a count, and the given bad step;
// the unused slot holds the sentinel.
func (c *tcase) accInit(loss float64, badStep float32) []float32 {
	a := make([]float32, device.AccLen)
	a[device.AccLoss] = float32(loss * (0.5 + c.rng.Float64()))
	a[device.AccCorrect] = float32(c.rng.IntN(1000))
	a[device.AccBadStep] = badStep
	for i := device.AccBadStep + 1; i < device.AccLen; i++ {
		a[i] = sentinel
	}
	return a
}

// checkAcc checks acc against init plus the reference loss and count. The
// loss is compared relative to |init| + ref.mag: a row classified right by a
// wide margin has a loss far below the rounding error of its logsumexp.
func (c *tcase) checkAcc(what string, got, init []float32, ref xentResult) {
	c.t.Helper()
	c.nearFloor(what+" acc[AccLoss]", got[device.AccLoss:device.AccLoss+1], []float64{float64(init[device.AccLoss]) + ref.loss},
		math.Abs(float64(init[device.AccLoss]))+ref.mag)
	if want := init[device.AccCorrect] + float32(ref.correct); got[device.AccCorrect] != want {
		c.t.Errorf("%s: acc[AccCorrect] = %v, want %v + %d correct = %v", what, got[device.AccCorrect], init[device.AccCorrect], ref.correct, want)
	}
	if got[device.AccBadStep] != init[device.AccBadStep] {
		c.t.Errorf("%s: acc[AccBadStep] = %v, want it left at %v (the loss is finite)", what, got[device.AccBadStep], init[device.AccBadStep])
	}
	for i := device.AccBadStep + 1; i < device.AccLen; i++ {
		if got[i] != init[i] {
			c.t.Errorf("%sunused acc[%d] = %v, want it untouched (%v)", what, i, got[i], init[i])
		}
	}
}

// SoftmaxXentTest checks the loss and the correct count (exact) added into
// acc, dlogits with gradScale, with dbias (dlogits' column sums: mode
// dbias) and the nil-dlogits mode, for normal, large and
// tied logits, labels read through idx at offsets 0 and ≠ 0 (shared by the
// lanes or per lane), accumulation over two calls, and AccBadStep set in the
// lanes whose loss is not finite only.
func SoftmaxXentTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	variants := []struct {
		kind   string
		shared bool
	}{{"normal", false}, {"normal", true}, {"large", false}, {"ties", true}}
	// 600 rows: more than a work-group of the OpenCL kernels has items by
	// default (WG_REDUCE, at most 512), so they split the rows among
	// work-groups and add the groups' sums in a second launch.
	for _, rows := range []int{1, 7, 112, 128, 129, 600} {
		for _, classes := range []int{10, 3, 33} {
			for vi, v := range variants {
				for _, mode := range []string{"dlogits", "dbias", "nodlogits"} {
					grad, bias := mode != "nodlogits", mode == "dbias"
					h.run(fmt.Sprintf("%s/%s_%s/%s", shape(rows, classes), v.kind, shareMode(v.shared), mode), rows*classes, func(c *tcase) {
						ins := c.laneInputs(v.kind, rows, classes, vi != 0, v.shared)
						gradScale := float32(1) / float32(rows)
						if c.rng.IntN(2) == 0 {
							gradScale = float32(0.25 + c.rng.Float64())
						}
						labels, idx := c.upload(ins, v.shared)
						logits := c.in("logits", logitsOf(ins))
						refs := make([]xentResult, c.lanes)
						inits := make([][]float32, c.lanes)
						for l := range refs {
							refs[l] = xentRef(ins[l], gradScale)
							inits[l] = c.accInit(refs[l].loss, -1)
						}
						acc := c.inOut("acc", inits)
						var dl, db *fbuf
						var dlb, dbb device.Buffer
						if grad {
							dl = c.out("dlogits", rows*classes)
							dlb = dl.buf
						}
						if bias {
							db = c.out("dbias", classes)
							dbb = db.buf
						}
						const step = 4321
						idxOff := ins[0].idxOff
						c.be.SoftmaxXent(dlb, dbb, logits.buf, labels, idx, idxOff, rows, classes, float64(gradScale), acc.buf, nil, step)
						for l := 0; l < c.lanes; l++ {
							what := c.at(l, "SoftmaxXent(rows=%d, classes=%d, idxOff=%d, gradScale=%v, %s)", rows, classes, idxOff, gradScale, shareMode(v.shared))
							c.checkAcc(what, c.get(acc, l), inits[l], refs[l])
							if grad {
								// Each row's gradient has a norm of up to √2·gradScale, and
								// far less where the row is confidently right.
								c.nearFloor(what+" dlogits", c.get(dl, l), refs[l].dlogits, math.Abs(float64(gradScale))*math.Sqrt(float64(rows)))
							}
							if bias {
								// dbias[c] adds column c of dlogits. Their errors are
								// bounded above as a whole (norm ≤ tol·gradScale·√rows:
								// a value near 0, p − 1 for a sure label, carries the
								// absolute error of p), so the column sums' norm is
								// within √rows times that (Cauchy–Schwarz), plus the
								// sums' own rounding, relative to the columns' absolute
								// sums.
								want, mag := make([]float64, classes), make([]float64, classes)
								for e, v := range refs[l].dlogits {
									want[e%classes] += v
									mag[e%classes] += math.Abs(v)
								}
								c.nearFloor(what+" dbias", c.get(db, l), want, math.Abs(float64(gradScale))*float64(rows)+norm(mag))
							}
						}
						if grad {
							c.guards(dl)
						}
						if bias {
							c.guards(db)
						}
						c.guards(logits, acc)
						c.unchangedXent(ins, v.shared, labels, idx)
					})
				}
			}
		}
	}
	h.run("accumulates/128x10", 1280, func(c *tcase) {
		const rows, classes = 128, 10
		in1 := c.laneInputs("normal", rows, classes, false, false)
		in2 := make([]*xentInputs, c.lanes)
		off2 := 1 + c.rng.IntN(len(in1[0].idx)-rows)
		sums := make([]xentResult, c.lanes)
		inits := make([][]float32, c.lanes)
		for l := range in2 {
			in := *in1[l]
			in.logits, in.idxOff = c.logits("normal", rows*classes), off2
			in2[l] = &in
			r1, r2 := xentRef(in1[l], 1), xentRef(in2[l], 1)
			sums[l] = xentResult{loss: r1.loss + r2.loss, mag: r1.mag + r2.mag, correct: r1.correct + r2.correct}
			inits[l] = c.accInit(sums[l].loss, -1)
		}
		labels, idx := c.upload(in1, false)
		g1, g2 := c.in("logits1", logitsOf(in1)), c.in("logits2", logitsOf(in2))
		acc := c.inOut("acc", inits)
		c.be.SoftmaxXent(nil, nil, g1.buf, labels, idx, 0, rows, classes, 1, acc.buf, nil, 10)
		c.be.SoftmaxXent(nil, nil, g2.buf, labels, idx, off2, rows, classes, 1, acc.buf, nil, 11)
		for l := 0; l < c.lanes; l++ {
			c.checkAcc(c.at(l, "two SoftmaxXent calls"), c.get(acc, l), inits[l], sums[l])
		}
		c.guards(g1, g2, acc)
	})
	for _, rows := range []int{1, 7, 128, 600} {
		for _, tc := range []struct {
			name    string
			nan     bool
			badStep float32 // acc[AccBadStep] before the call
			want    float32 // and after, in the lanes with a NaN logit
		}{
			{"NaNSetsBadStep", true, -1, 777},
			{"NaNKeepsEarlierBadStep", true, 12, 12},
			{"NaNKeepsBadStep0", true, 0, 0},
			{"FiniteLeavesBadStep", false, 5, 5},
		} {
			// A NaN logit in the even lanes only: the odd lanes' loss is
			// finite, and their AccBadStep must stay as it was.
			h.run(fmt.Sprintf("%s/%s", tc.name, shape(rows, 10)), rows*10, func(c *tcase) {
				const classes, step = 10, 777
				ins := c.laneInputs("normal", rows, classes, true, false)
				nanLane := func(l int) bool { return tc.nan && l%2 == 0 }
				inits := make([][]float32, c.lanes)
				for l, in := range ins {
					if nanLane(l) {
						in.logits[c.rng.IntN(rows)*classes+c.rng.IntN(classes)] = nan32
					}
					inits[l] = c.accInit(10, tc.badStep)
				}
				labels, idx := c.upload(ins, false)
				logits := c.in("logits", logitsOf(ins))
				acc := c.inOut("acc", inits)
				c.be.SoftmaxXent(nil, nil, logits.buf, labels, idx, ins[0].idxOff, rows, classes, 1, acc.buf, nil, step)
				for l := 0; l < c.lanes; l++ {
					got := c.get(acc, l)
					want := tc.badStep
					if nanLane(l) {
						want = tc.want
					}
					if got[device.AccBadStep] != want {
						c.t.Errorf("%sSoftmaxXent(step=%d) with acc[AccBadStep] = %v and NaN logits %v: acc[AccBadStep] = %v, want %v",
							c.at(l, ""), step, tc.badStep, nanLane(l), got[device.AccBadStep], want)
					}
					for i := device.AccBadStep + 1; i < device.AccLen; i++ {
						if got[i] != inits[l][i] {
							c.t.Errorf("%sunused acc[%d] = %v, want it untouched (%v)", c.at(l, ""), i, got[i], inits[l][i])
						}
					}
					if !nanLane(l) {
						c.checkAcc(c.at(l, "SoftmaxXent"), got, inits[l], xentRef(ins[l], 1))
					}
				}
				c.guards(logits, acc)
			})
		}
	}
}

// unchangedXent checks that SoftmaxXent left labels and idx alone.
func (c *tcase) unchangedXent(ins []*xentInputs, shared bool, labels, idx device.Buffer) {
	c.t.Helper()
	parts := len(ins)
	if shared {
		parts = 1
	}
	lab, ix := make([][]uint8, parts), make([][]int32, parts)
	for l := range parts {
		lab[l], ix[l] = ins[l].labels, ins[l].idx
	}
	unchangedInts(c, "labels after SoftmaxXent", labels, lab)
	unchangedInts(c, "idx after SoftmaxXent", idx, ix)
}

// penaltyPairs are the (L1, L2) that the lanes of a PenaltySum case cycle
// through; (0, 0) adds nothing.
var penaltyPairs = [][2]float64{{1e-3, 0}, {0, 1e-3}, {5e-4, 2e-4}, {0.01, 0.02}, {0, 0}}

// penaltyParams sets and returns lane parameters whose (L1, L2) cycle
// through penaltyPairs from pair first.
func (c *tcase) penaltyParams(first int) []device.LaneParams {
	c.t.Helper()
	p := c.params(0)
	for l := range p {
		pen := penaltyPairs[(first+l)%len(penaltyPairs)]
		p[l].L1, p[l].L2 = pen[0], pen[1]
	}
	c.setParams(p)
	return p
}

// penaltyWeights are every lane's n weights of a penalty case: small,
// about one in eight exactly 0.
func (c *tcase) penaltyWeights(n int) [][]float32 {
	return c.lanesOf(func() []float32 {
		w := c.normal(n, 0, 0.05)
		for i := range w {
			if c.rng.IntN(8) == 0 {
				w[i] = 0
			}
		}
		return w
	})
}

// penaltyRef is scale·(L1·Σ|w| + L2·Σw²) in float64.
func penaltyRef(w []float32, p device.LaneParams, scale float64) float64 {
	var s1, s2 float64
	for _, v := range w {
		s1 += math.Abs(float64(v))
		s2 += float64(v) * float64(v)
	}
	return scale * (p.L1*s1 + p.L2*s2)
}

// PenaltySumTest checks that PenaltySum adds scale·(L1·Σ|w| + L2·Σw²), with
// every lane's own L1 and L2, into its acc[AccLoss] and leaves the other
// slots alone, and that a lane whose L1 and L2 are both 0 is untouched: its
// loss holds −0, which adding anything, even +0, would change to +0.
func PenaltySumTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, n := range vecLens {
		for first, p0 := range penaltyPairs {
			for _, scale := range []float32{1, 0.5, 3} {
				if scale != 1 && n > 1000 {
					continue // other scales only on the smaller sizes, to stay fast
				}
				h.run(fmt.Sprintf("n%d/l1_%v_l2_%v_scale%v", n, p0[0], p0[1], scale), n, func(c *tcase) {
					p := c.penaltyParams(first)
					wv := c.penaltyWeights(n)
					wants := make([]float64, c.lanes)
					inits := make([][]float32, c.lanes)
					for l := range wants {
						wants[l] = penaltyRef(wv[l], p[l], float64(scale))
						init := make([]float32, device.AccLen)
						init[device.AccLoss] = float32(wants[l] * (0.5 + c.rng.Float64()))
						if p[l].L1 == 0 && p[l].L2 == 0 {
							init[device.AccLoss] = float32(math.Copysign(0, -1)) // −0 + 0 = +0: must stay −0
						}
						init[device.AccCorrect] = float32(c.rng.IntN(1000))
						init[device.AccBadStep] = -1
						for i := device.AccBadStep + 1; i < device.AccLen; i++ {
							init[i] = sentinel
						}
						inits[l] = init
					}
					w := c.in("w", wv)
					acc := c.inOut("acc", inits)
					c.be.PenaltySum(acc.buf, w.buf, n, float64(scale))
					for l := 0; l < c.lanes; l++ {
						got := c.get(acc, l)
						what := c.at(l, "PenaltySum(n=%d, l1=%v, l2=%v, scale=%v)", n, p[l].L1, p[l].L2, scale)
						first := 1
						if p[l].L1 == 0 && p[l].L2 == 0 {
							first = 0
						} else {
							c.near(what+" acc[AccLoss]", got[:1], []float64{float64(inits[l][device.AccLoss]) + wants[l]})
						}
						for i := first; i < device.AccLen; i++ {
							if math.Float32bits(got[i]) != math.Float32bits(inits[l][i]) {
								c.t.Errorf("%s: acc[%d] = %v, want it untouched (%v)", what, i, got[i], inits[l][i])
							}
						}
					}
					c.guards(w, acc)
				})
			}
		}
	}
}

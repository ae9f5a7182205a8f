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

// xentInputs draws logits of the given kind and labels that equal the first
// maximum of their row about half the time. Kinds:
//
//	normal: N(0, 2²) logits;
//	large:  logits of magnitude up to 100 (±80 ± 20), where a softmax that
//	        exponentiates without subtracting the maximum overflows float32;
//	ties:   small integers, so that most rows have several maxima (and a
//	        label on a later maximum must not count as correct).
func (c *tcase) xentInputs(kind string, rows, classes int, offset bool) *xentInputs {
	n := rows + 1 + c.rng.IntN(100)
	in := &xentInputs{rows: rows, classes: classes, idx: c.perm(n), labels: make([]uint8, n)}
	if offset {
		in.idxOff = 1 + c.rng.IntN(n-rows)
	}
	for i := range in.labels {
		in.labels[i] = uint8(c.rng.IntN(classes))
	}
	in.logits = make([]float32, rows*classes)
	for i := range in.logits {
		switch kind {
		case "normal":
			in.logits[i] = float32(2 * c.rng.NormFloat64())
		case "large":
			in.logits[i] = float32(80*float64(2*c.rng.IntN(2)-1) + 40*(c.rng.Float64()-0.5))
		case "ties":
			in.logits[i] = float32(c.rng.IntN(3))
		default:
			panic("devicetest: unknown logits kind " + kind)
		}
	}
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

// upload writes labels and idx to the backend.
func (c *tcase) upload(in *xentInputs) (labels, idx device.Buffer) {
	c.t.Helper()
	labels = c.alloc(device.Uint8, len(in.labels))
	c.write(labels, 0, in.labels)
	idx = c.alloc(device.Int32, len(in.idx))
	c.write(idx, 0, in.idx)
	return labels, idx
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
			c.t.Errorf("%s: unused acc[%d] = %v, want it untouched (%v)", what, i, got[i], init[i])
		}
	}
}

// SoftmaxXentTest checks the loss and the correct count (exact) added into
// acc, dlogits with gradScale and the nil-dlogits mode, for normal, large and
// tied logits, labels read through idx at offsets 0 and ≠ 0, accumulation over
// two calls, and AccBadStep.
func SoftmaxXentTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, rows := range []int{1, 7, 112, 128, 129} {
		for _, classes := range []int{10, 3, 33} {
			for ki, kind := range []string{"normal", "large", "ties"} {
				for _, grad := range []bool{true, false} {
					mode := "dlogits"
					if !grad {
						mode = "nodlogits"
					}
					h.run(fmt.Sprintf("%s/%s/%s", shape(rows, classes), kind, mode), func(c *tcase) {
						in := c.xentInputs(kind, rows, classes, ki != 0)
						gradScale := float32(1) / float32(rows)
						if c.rng.IntN(2) == 0 {
							gradScale = float32(0.25 + c.rng.Float64())
						}
						ref := xentRef(in, gradScale)
						labels, idx := c.upload(in)
						logits := c.in("logits", in.logits)
						init := c.accInit(ref.loss, -1)
						acc := c.inOut("acc", init)
						var dl *fbuf
						var dlb device.Buffer
						if grad {
							dl = c.out("dlogits", rows*classes)
							dlb = dl.buf
						}
						const step = 4321
						c.be.SoftmaxXent(dlb, logits.buf, labels, idx, in.idxOff, rows, classes, float64(gradScale), acc.buf, step)
						what := fmt.Sprintf("SoftmaxXent(rows=%d, classes=%d, idxOff=%d, gradScale=%v)", rows, classes, in.idxOff, gradScale)
						c.checkAcc(what, c.get(acc), init, ref)
						if grad {
							// Each row's gradient has a norm of up to √2·gradScale, and
							// far less where the row is confidently right.
							c.nearFloor(what+" dlogits", c.get(dl), ref.dlogits, math.Abs(float64(gradScale))*math.Sqrt(float64(rows)))
							c.guards(dl)
						}
						c.guards(logits, acc)
					})
				}
			}
		}
	}
	h.run("accumulates/128x10", func(c *tcase) {
		const rows, classes = 128, 10
		in1 := c.xentInputs("normal", rows, classes, false)
		in2 := c.xentInputs("normal", rows, classes, true)
		in2.labels, in2.idx = in1.labels, in1.idx
		in2.idxOff = 1 + c.rng.IntN(len(in1.idx)-rows)
		r1, r2 := xentRef(in1, 1), xentRef(in2, 1)
		sum := xentResult{loss: r1.loss + r2.loss, mag: r1.mag + r2.mag, correct: r1.correct + r2.correct}
		labels, idx := c.upload(in1)
		g1, g2 := c.in("logits1", in1.logits), c.in("logits2", in2.logits)
		init := c.accInit(sum.loss, -1)
		acc := c.inOut("acc", init)
		c.be.SoftmaxXent(nil, g1.buf, labels, idx, in1.idxOff, rows, classes, 1, acc.buf, 10)
		c.be.SoftmaxXent(nil, g2.buf, labels, idx, in2.idxOff, rows, classes, 1, acc.buf, 11)
		c.checkAcc("two SoftmaxXent calls", c.get(acc), init, sum)
		c.guards(g1, g2, acc)
	})
	for _, rows := range []int{1, 7, 128} {
		for _, tc := range []struct {
			name    string
			nan     bool
			badStep float32 // acc[AccBadStep] before the call
			want    float32 // and after
		}{
			{"NaNSetsBadStep", true, -1, 777},
			{"NaNKeepsEarlierBadStep", true, 12, 12},
			{"NaNKeepsBadStep0", true, 0, 0},
			{"FiniteLeavesBadStep", false, 5, 5},
		} {
			h.run(fmt.Sprintf("%s/%s", tc.name, shape(rows, 10)), func(c *tcase) {
				const classes, step = 10, 777
				in := c.xentInputs("normal", rows, classes, true)
				if tc.nan {
					in.logits[c.rng.IntN(rows)*classes+c.rng.IntN(classes)] = nan32
				}
				labels, idx := c.upload(in)
				logits := c.in("logits", in.logits)
				init := c.accInit(10, tc.badStep)
				acc := c.inOut("acc", init)
				c.be.SoftmaxXent(nil, logits.buf, labels, idx, in.idxOff, rows, classes, 1, acc.buf, step)
				got := c.get(acc)
				if got[device.AccBadStep] != tc.want {
					c.t.Errorf("SoftmaxXent(step=%d) with acc[AccBadStep] = %v and NaN logits %v: acc[AccBadStep] = %v, want %v",
						step, tc.badStep, tc.nan, got[device.AccBadStep], tc.want)
				}
				for i := device.AccBadStep + 1; i < device.AccLen; i++ {
					if got[i] != init[i] {
						c.t.Errorf("unused acc[%d] = %v, want it untouched (%v)", i, got[i], init[i])
					}
				}
				if !tc.nan {
					c.checkAcc("SoftmaxXent", got, init, xentRef(in, 1))
				}
				c.guards(logits, acc)
			})
		}
	}
}

// PenaltySumTest checks that PenaltySum adds scale·(l1·Σ|w| + l2·Σw²) into
// acc[AccLoss] and leaves the other slots alone.
func PenaltySumTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, n := range vecLens {
		for _, p := range [][3]float32{{1e-3, 0, 1}, {0, 1e-3, 1}, {5e-4, 2e-4, 0.5}, {0.01, 0.02, 3}} {
			l1, l2, scale := p[0], p[1], p[2]
			h.run(fmt.Sprintf("n%d/l1_%v_l2_%v_scale%v", n, l1, l2, scale), func(c *tcase) {
				wv := c.normal(n, 0, 0.05)
				for i := range wv {
					if c.rng.IntN(8) == 0 {
						wv[i] = 0
					}
				}
				var s1, s2 float64
				for _, v := range wv {
					s1 += math.Abs(float64(v))
					s2 += float64(v) * float64(v)
				}
				want := float64(scale) * (float64(l1)*s1 + float64(l2)*s2)
				w := c.in("w", wv)
				init := make([]float32, device.AccLen)
				init[device.AccLoss] = float32(want * (0.5 + c.rng.Float64()))
				init[device.AccCorrect] = float32(c.rng.IntN(1000))
				init[device.AccBadStep] = -1
				for i := device.AccBadStep + 1; i < device.AccLen; i++ {
					init[i] = sentinel
				}
				acc := c.inOut("acc", init)
				c.be.PenaltySum(acc.buf, w.buf, n, float64(l1), float64(l2), float64(scale))
				got := c.get(acc)
				what := fmt.Sprintf("PenaltySum(n=%d, l1=%v, l2=%v, scale=%v)", n, l1, l2, scale)
				c.near(what+" acc[AccLoss]", got[:1], []float64{float64(init[device.AccLoss]) + want})
				for i := 1; i < device.AccLen; i++ {
					if got[i] != init[i] {
						c.t.Errorf("%s: acc[%d] = %v, want it untouched (%v)", what, i, got[i], init[i])
					}
				}
				c.guards(w, acc)
			})
		}
	}
}

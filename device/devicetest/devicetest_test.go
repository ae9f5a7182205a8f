package devicetest_test

import (
	"math"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/device/devicetest"
)

// The suite must be able to fail. TestSuiteCatchesBugs reruns this test
// binary once per mutant below, with TestMutant running part of the suite on
// the float32 CPU backend with one operation deliberately broken, and
// expects that run to fail.

const mutantEnv = "DEVICETEST_MUTANT"

type mutantCase struct {
	name string
	test func(*testing.T, devicetest.Factory)
	run  string // subtests of the suite test to run, a -test.run pattern element
}

var mutants = []mutantCase{
	{"GemmIgnoresBeta", devicetest.GemmTest, "m7_n33_k129/L1"},
	{"GemmReadsCWhenBetaIs0", devicetest.GemmTest, "m1_n1_k1/L1"},
	{"GemmIgnoresTransB", devicetest.GemmTest, "m33_n7_k784/L1"},
	{"GemmWritesPastC", devicetest.GemmTest, "m128_n10_k128/L1"},
	{"GemmWritesIntoA", devicetest.GemmTest, "m7_n1_k33/L1"},
	{"FillOneMore", devicetest.FillTest, "n7/"},
	{"GatherRowsIgnoresIdxOff", devicetest.GatherRowsTest, "7x784/idxOffRandom/perlane/L1"},
	{"GatherRowsMultipliesByInverse", devicetest.GatherRowsTest, "33x784/idxOff0/shared/L1"},
	{"GemmBiasActSkipsLastColumn", devicetest.GemmBiasActTest, "m128_n256_k784/relu/drop0.5/L2"},
	{"GemmBiasActShiftedMask", devicetest.DropoutMaskTest, "7x33/"},
	{"DropoutApplyColumnMajorMask", devicetest.DropoutApplyTest, "7x33/drop0.5/L1"},
	{"ReLUBackwardColSumPassesZero", devicetest.ReLUBackwardColSumTest, "129x33/nodropout/L1"},
	{"ColSumAddsIntoDst", devicetest.ColSumTest, "7x33/L1"},
	{"ColSumWritesPastEnd", devicetest.ColSumTest, "128x10/L1"},
	{"BatchNormUnbiasedVariance", devicetest.BatchNormTrainTest, "128x256/momentum0.99/L1"},
	{"BatchNormOnePassVariance", devicetest.BatchNormTrainTest, "128x256/offset/L1"},
	{"BatchNormBackwardNoDgammaTerm", devicetest.BatchNormBackwardTest, "128x128/L1"},
	{"SoftmaxXentOverwritesAcc", devicetest.SoftmaxXentTest, "128x10/normal_perlane/dlogits/L1"},
	{"SoftmaxXentLastMaximumWins", devicetest.SoftmaxXentTest, "128x10/ties_shared/nodlogits/L1"},
	{"SoftmaxXentBadStepOverwritten", devicetest.SoftmaxXentTest, "NaNKeepsEarlierBadStep/7x10/L1"},
	{"PenaltySumOverwritesAcc", devicetest.PenaltySumTest, "n784/l1_0.001_l2_0_scale1/L1"},
	{"AdamSignOfZeroIsOne", devicetest.AdamStepTest, "n784/L1/fresh/L1"},
	{"AdamOldV", devicetest.AdamStepTest, "n129/plain/warm/L1"},
	{"AdamPenalizesAll", devicetest.AdamStepTest, "n129/L1L2_prefix/fresh/L1"},
	{"AdamKeepsSubnormals", devicetest.FlushTest, "AdamStep/L1"},
	{"PendingAfterUpdate", devicetest.PendingPenaltyTest, "n1280/all/fold/L1"},
	{"PendingOverWholeBuffer", devicetest.PendingPenaltyTest, "n1280/prefix/xent128/L1"},
	{"PendingAddedTwice", devicetest.PendingPenaltyTest, "n33/all/xent600/L1"},
	{"GemmBiasActIgnoresBias", devicetest.GemmBiasActTest, "m7_n33_k129/linear/off/L1"},
	{"GemmBiasActNoReLU", devicetest.GemmBiasActTest, "m33_n7_k784/relu/off/L1"},
	{"ReLUBackwardColSumBeforeMask", devicetest.ReLUBackwardColSumTest, "129x33/nodropout/L1"},
	{"BatchNormKeepsSubnormals", devicetest.FlushTest, "BatchNormTrain/L1"},
	{"SoftmaxKeepsSubnormals", devicetest.FlushTest, "SoftmaxXent/L1"},
	// Bugs in one lane, or between lanes: only a run of several lanes can
	// see them.
	{"DropoutLane0Params", devicetest.DropoutApplyTest, "7x33/drop0.2/L2"},
	{"ReLUBackwardColSumLane0Rate", devicetest.ReLUBackwardColSumTest, "7x33/dropout/L2"},
	{"AdamLane0LR", devicetest.AdamStepTest, "n129/plain/fresh/L2"},
	{"PenaltySumLane0Penalties", devicetest.PenaltySumTest, "n784/l1_0.001_l2_0_scale1/L2"},
	{"PenaltySumTouchesZeroLanes", devicetest.PenaltySumTest, "n33/l1_0.001_l2_0_scale1/L18"},
	{"ColSumWritesIntoNextLane", devicetest.ColSumTest, "7x33/L3"},
	{"GatherRowsLane0Idx", devicetest.GatherRowsTest, "7x7/idxOff0/perlane/L3"},
	{"GemmSkipsLastLane", devicetest.GemmTest, "m7_n33_k129/L3"},
	{"SoftmaxBadStepAllLanes", devicetest.SoftmaxXentTest, "NaNSetsBadStep/7x10/L2"},
	{"WriteIgnoresLane", devicetest.WriteReadTest, "float/n33/perlane/L2"},
	{"LaneDependentColSum", devicetest.LaneIndependenceTest, "step/L3"},
	{"FillLane0Only", devicetest.ViewTest, "alias/L2"},
}

func TestSuiteCatchesBugs(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("running as a mutant")
	}
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			pattern := "^TestMutant$/^" + regexp.QuoteMeta(m.name) + "$/" + m.run
			cmd := exec.Command(os.Args[0], "-test.run="+pattern, "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), mutantEnv+"="+m.name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a CPU backend with %s:\n%s", m.name, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestMutant/"+m.name+"/") {
				t.Fatalf("the mutant run failed without a failing suite subtest:\n%s", out)
			}
			// Show what the suite reported, for the record.
			for _, l := range strings.Split(string(out), "\n") {
				if strings.Contains(l, ".go:") && !strings.Contains(l, "seed") && !strings.Contains(l, "lanes") {
					t.Log(strings.TrimSpace(l))
					break
				}
			}
		})
	}
}

func TestMutant(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("runs only under TestSuiteCatchesBugs")
	}
	for _, m := range mutants {
		if m.name == name {
			t.Run(m.name, func(t *testing.T) {
				m.test(t, func(lanes int) (device.Backend, error) {
					return &mutant{Backend: cpu.New[float32](lanes), bug: name}, nil
				})
			})
			return
		}
	}
	t.Fatalf("unknown mutant %q", name)
}

// mutant is the float32 CPU backend with the bug named bug.
type mutant struct {
	*cpu.Backend[float32]
	bug string
	p   []device.LaneParams // as set by SetLanes
}

// fs is lane l's part of b.
func fs(b device.Buffer, l int) []float32 { return cpu.LaneFloats[float32](b, l) }

func (b *mutant) SetLanes(p []device.LaneParams) error {
	b.p = append([]device.LaneParams(nil), p...)
	if b.bug == "DropoutLane0Params" || b.bug == "AdamLane0LR" || b.bug == "ReLUBackwardColSumLane0Rate" {
		q := append([]device.LaneParams(nil), p...)
		for l := range q {
			if len(q) == b.Lanes() {
				q[l].Seed, q[l].DropoutRate, q[l].LR = p[0].Seed, p[0].DropoutRate, p[0].LR
			}
		}
		return b.Backend.SetLanes(q)
	}
	return b.Backend.SetLanes(p)
}

// with runs f with every lane's parameters replaced by set's, then restores them.
func (b *mutant) with(set func(l int, p *device.LaneParams), f func()) {
	q := append([]device.LaneParams(nil), b.p...)
	for l := range q {
		set(l, &q[l])
	}
	b.Backend.SetLanes(q)
	f()
	b.Backend.SetLanes(b.p)
}

func (b *mutant) lanes() int { return b.Lanes() }

func (b *mutant) Write(dst device.Buffer, lane, off int, src any) error {
	if b.bug == "WriteIgnoresLane" && lane > 0 && !dst.Shared() {
		return b.Backend.Write(dst, lane-1, off, src)
	}
	return b.Backend.Write(dst, lane, off, src)
}

func (b *mutant) Fill(x device.Buffer, n int, v float64) {
	if b.bug == "FillOneMore" {
		n++
	}
	if b.bug == "FillLane0Only" && b.Lanes() > 1 {
		xs := fs(x, 0) // lane 0 filled, the others left alone
		for i := 0; i < n; i++ {
			xs[i] = float32(v)
		}
		return
	}
	b.Backend.Fill(x, n, v)
}

func (b *mutant) GatherRows(dst, src, idx device.Buffer, idxOff, rows, cols int) {
	switch b.bug {
	case "GatherRowsIgnoresIdxOff":
		idxOff = 0
	case "GatherRowsMultipliesByInverse", "GatherRowsLane0Idx":
		inv := float32(1) / 255
		for l := 0; l < b.lanes(); l++ {
			d, s, ix := fs(dst, l), cpu.LaneUint8s[float32](src, l), cpu.LaneInt32s[float32](idx, l)
			if b.bug == "GatherRowsLane0Idx" {
				ix = cpu.LaneInt32s[float32](idx, 0)
			}
			for r := 0; r < rows; r++ {
				for c := 0; c < cols; c++ {
					p := s[int(ix[idxOff+r])*cols+c]
					if b.bug == "GatherRowsLane0Idx" {
						d[r*cols+c] = float32(float64(p) / 255)
					} else {
						d[r*cols+c] = float32(p) * inv
					}
				}
			}
		}
		return
	}
	b.Backend.GatherRows(dst, src, idx, idxOff, rows, cols)
}

func (b *mutant) Gemm(tA, tB bool, m, n, k int, alpha float64, a, bb device.Buffer, beta float64, c device.Buffer) {
	switch b.bug {
	case "GemmIgnoresBeta":
		beta = 0
	case "GemmIgnoresTransB":
		tB = false
	case "GemmReadsCWhenBetaIs0":
		if beta == 0 {
			var olds [][]float32
			for l := 0; l < b.lanes(); l++ {
				olds = append(olds, append([]float32(nil), fs(c, l)[:m*n]...))
			}
			b.Backend.Gemm(tA, tB, m, n, k, alpha, a, bb, beta, c)
			for l, old := range olds {
				cs := fs(c, l)
				for i := range old {
					cs[i] += 0 * old[i]
				}
			}
			return
		}
	case "GemmWritesPastC":
		defer func() { fs(c, 0)[m*n] = 0 }()
	case "GemmWritesIntoA":
		defer func() { fs(a, 0)[0] = 0.5 }()
	case "GemmSkipsLastLane":
		last := b.lanes() - 1
		old := append([]float32(nil), fs(c, last)[:m*n]...)
		defer func() { copy(fs(c, last), old) }()
	}
	b.Backend.Gemm(tA, tB, m, n, k, alpha, a, bb, beta, c)
}

func (b *mutant) GemmBiasAct(m, n, k int, a, bb, bias device.Buffer, relu bool, d device.Dropout, c device.Buffer) {
	switch b.bug {
	case "GemmBiasActIgnoresBias":
		b.Backend.Gemm(false, false, m, n, k, 1, a, bb, 0, c)
		b.Backend.DropoutApply(c, m, n, d)
		return
	case "GemmBiasActNoReLU":
		relu = false
	case "GemmBiasActSkipsLastColumn":
		// The last column keeps what c held before.
		var olds [][]float32
		for l := 0; l < b.lanes(); l++ {
			olds = append(olds, append([]float32(nil), fs(c, l)[:m*n]...))
		}
		b.Backend.GemmBiasAct(m, n, k, a, bb, bias, relu, d, c)
		for l, old := range olds {
			cs := fs(c, l)
			for r := 0; r < m; r++ {
				cs[r*n+n-1] = old[r*n+n-1]
			}
		}
		return
	case "GemmBiasActShiftedMask":
		b.Backend.GemmBiasAct(m, n, k, a, bb, bias, relu, device.Dropout{}, c)
		for l := 0; l < b.lanes(); l++ {
			mk, cs := b.p[l].Mask(d), fs(c, l)
			if mk.Rate == 0 {
				continue
			}
			for e := 0; e < m*n; e++ {
				if mk.Keep(e + 1) {
					cs[e] *= float32(mk.Scale())
				} else {
					cs[e] = 0
				}
			}
		}
		return
	}
	b.Backend.GemmBiasAct(m, n, k, a, bb, bias, relu, d, c)
}

func (b *mutant) DropoutApply(x device.Buffer, rows, cols int, d device.Dropout) {
	if b.bug == "DropoutApplyColumnMajorMask" {
		for l := 0; l < b.lanes(); l++ {
			mk, xs := b.p[l].Mask(d), fs(x, l)
			if mk.Rate == 0 {
				continue
			}
			for r := 0; r < rows; r++ {
				for c := 0; c < cols; c++ {
					if mk.Keep(c*rows + r) {
						xs[r*cols+c] *= float32(mk.Scale())
					} else {
						xs[r*cols+c] = 0
					}
				}
			}
		}
		return
	}
	b.Backend.DropoutApply(x, rows, cols, d)
}

func (b *mutant) ReLUBackwardColSum(dx, y, dst device.Buffer, rows, cols int, dropout bool) {
	switch b.bug {
	case "ReLUBackwardColSumBeforeMask":
		b.Backend.ColSum(dst, dx, rows, cols)
		b.Backend.ReLUBackwardColSum(dx, y, b.scratch(cols), rows, cols, dropout)
		return
	case "ReLUBackwardColSumPassesZero":
		for l := 0; l < b.lanes(); l++ {
			ds, ys := fs(dx, l), fs(y, l)
			s := float32(1)
			if dropout {
				s = float32(device.DropoutScale(b.p[l].DropoutRate))
			}
			for i := 0; i < rows*cols; i++ {
				if ys[i] >= 0 {
					ds[i] *= s
				} else {
					ds[i] = 0
				}
			}
		}
		b.Backend.ColSum(dst, dx, rows, cols)
		return
	}
	b.Backend.ReLUBackwardColSum(dx, y, dst, rows, cols, dropout)
}

// scratch is a throw-away per-lane buffer of n elements.
func (b *mutant) scratch(n int) device.Buffer {
	s, err := b.Backend.Alloc(device.Float, n)
	if err != nil {
		panic(err)
	}
	return s
}

func (b *mutant) ColSum(dst, x device.Buffer, rows, cols int) {
	switch b.bug {
	case "ColSumAddsIntoDst":
		var olds [][]float32
		for l := 0; l < b.lanes(); l++ {
			olds = append(olds, append([]float32(nil), fs(dst, l)[:cols]...))
		}
		defer func() {
			for l, old := range olds {
				for i, v := range old {
					fs(dst, l)[i] += v
				}
			}
		}()
	case "ColSumWritesPastEnd":
		defer func() { fs(dst, 0)[cols] = 1 }()
	case "ColSumWritesIntoNextLane":
		if b.lanes() > 1 {
			defer func() { fs(dst, 1)[cols+1] = 1 }()
		}
	case "LaneDependentColSum":
		if b.lanes() > 1 {
			defer func() {
				for l := 0; l < b.lanes(); l++ {
					ds := fs(dst, l)
					ds[0] = math.Nextafter32(ds[0], float32(math.Inf(1)))
				}
			}()
		}
	}
	b.Backend.ColSum(dst, x, rows, cols)
}

func (b *mutant) BatchNormTrain(y, x, gamma, beta, mean, invstd, movMean, movVar device.Buffer, rows, cols int, eps, momentum float64) {
	if b.bug == "BatchNormKeepsSubnormals" {
		// The moving statistics without the flush: redo their update.
		var mm0s, mv0s [][]float32
		for l := 0; l < b.lanes(); l++ {
			mm0s = append(mm0s, append([]float32(nil), fs(movMean, l)[:cols]...))
			mv0s = append(mv0s, append([]float32(nil), fs(movVar, l)[:cols]...))
		}
		b.Backend.BatchNormTrain(y, x, gamma, beta, mean, invstd, movMean, movVar, rows, cols, eps, momentum)
		for l := 0; l < b.lanes(); l++ {
			mm, mv, mu, xs := fs(movMean, l), fs(movVar, l), fs(mean, l), fs(x, l)
			for c := 0; c < cols; c++ {
				var ss float32
				for r := 0; r < rows; r++ {
					d := xs[r*cols+c] - mu[c]
					ss += d * d
				}
				mm[c] = mm0s[l][c] - (mm0s[l][c]-mu[c])*float32(1-momentum)
				mv[c] = mv0s[l][c] - (mv0s[l][c]-ss/float32(rows))*float32(1-momentum)
			}
		}
		return
	}
	if b.bug == "BatchNormUnbiasedVariance" || b.bug == "BatchNormOnePassVariance" {
		for l := 0; l < b.lanes(); l++ {
			ys, xs := fs(y, l), fs(x, l)
			g, bt, mu, is, mm, mv := fs(gamma, l), fs(beta, l), fs(mean, l), fs(invstd, l), fs(movMean, l), fs(movVar, l)
			for c := 0; c < cols; c++ {
				var s, ss float32
				for r := 0; r < rows; r++ {
					v := xs[r*cols+c]
					s += v
					ss += v * v
				}
				m := s / float32(rows)
				var v float32
				if b.bug == "BatchNormOnePassVariance" {
					v = ss/float32(rows) - m*m
				} else {
					var d2 float32
					for r := 0; r < rows; r++ {
						d := xs[r*cols+c] - m
						d2 += d * d
					}
					v = d2 / float32(max(rows-1, 1))
				}
				mu[c], is[c] = m, float32(1/math.Sqrt(float64(v)+eps))
				for r := 0; r < rows; r++ {
					ys[r*cols+c] = g[c]*(xs[r*cols+c]-m)*is[c] + bt[c]
				}
				mm[c] -= (mm[c] - m) * float32(1-momentum)
				mv[c] -= (mv[c] - v) * float32(1-momentum)
			}
		}
		return
	}
	b.Backend.BatchNormTrain(y, x, gamma, beta, mean, invstd, movMean, movVar, rows, cols, eps, momentum)
}

func (b *mutant) BatchNormBackward(dx, dy, x, gamma, mean, invstd, dgamma, dbeta, dbias device.Buffer, rows, cols int) {
	b.Backend.BatchNormBackward(dx, dy, x, gamma, mean, invstd, dgamma, dbeta, dbias, rows, cols)
	if b.bug == "BatchNormBackwardNoDgammaTerm" {
		for l := 0; l < b.lanes(); l++ {
			dxs, dys, g, is, db := fs(dx, l), fs(dy, l), fs(gamma, l), fs(invstd, l), fs(dbeta, l)
			n := float32(rows)
			for r := 0; r < rows; r++ {
				for c := 0; c < cols; c++ {
					dxs[r*cols+c] = g[c] * is[c] / n * (n*dys[r*cols+c] - db[c])
				}
			}
		}
	}
}

func (b *mutant) softmaxXent(dlogits, dbias, logits, labels, idx device.Buffer, idxOff, rows, classes int, gradScale float64, acc, pending device.Buffer, step int) {
	var olds [][]float32
	for l := 0; l < b.lanes(); l++ {
		olds = append(olds, append([]float32(nil), fs(acc, l)[:device.AccLen]...))
	}
	b.Backend.SoftmaxXent(dlogits, dbias, logits, labels, idx, idxOff, rows, classes, gradScale, acc, pending, step)
	anyBad := false
	for l := 0; l < b.lanes(); l++ {
		if v := fs(acc, l)[device.AccLoss]; v != v {
			anyBad = true
		}
	}
	for l := 0; l < b.lanes(); l++ {
		as, old := fs(acc, l), olds[l]
		ls, lab, ix := fs(logits, l), cpu.LaneUint8s[float32](labels, l), cpu.LaneInt32s[float32](idx, l)
		switch b.bug {
		case "SoftmaxKeepsSubnormals":
			// The gradient without the flush: redo it in float64, rounded once.
			dl := fs(dlogits, l)
			for r := 0; r < rows; r++ {
				row := ls[r*classes : r*classes+classes]
				mx := math.Inf(-1)
				for _, v := range row {
					mx = math.Max(mx, float64(v))
				}
				var se float64
				for _, v := range row {
					se += math.Exp(float64(v) - mx)
				}
				y := int(lab[ix[idxOff+r]])
				for c, v := range row {
					p := math.Exp(float64(v) - mx - math.Log(se))
					if c == y {
						p--
					}
					dl[r*classes+c] = float32(gradScale * p)
				}
			}
		case "SoftmaxXentOverwritesAcc":
			as[device.AccLoss] -= old[device.AccLoss]
			as[device.AccCorrect] -= old[device.AccCorrect]
		case "SoftmaxXentLastMaximumWins":
			for r := 0; r < rows; r++ {
				row := ls[r*classes : r*classes+classes]
				first, last := 0, 0
				for c := range row {
					if row[c] > row[first] {
						first = c
					}
					if row[c] >= row[last] {
						last = c
					}
				}
				y := int(lab[ix[idxOff+r]])
				if first == y {
					as[device.AccCorrect]--
				}
				if last == y {
					as[device.AccCorrect]++
				}
			}
		case "SoftmaxXentBadStepOverwritten":
			if v := as[device.AccLoss]; v != v {
				as[device.AccBadStep] = float32(step)
			}
		case "SoftmaxBadStepAllLanes":
			if anyBad && as[device.AccBadStep] < 0 {
				as[device.AccBadStep] = float32(step)
			}
		}
	}
}

func (b *mutant) PenaltySum(acc, w device.Buffer, n int, scale float64) {
	switch b.bug {
	case "PenaltySumOverwritesAcc":
		for l := 0; l < b.lanes(); l++ {
			fs(acc, l)[device.AccLoss] = 0
		}
	case "PenaltySumLane0Penalties":
		b.with(func(l int, p *device.LaneParams) { p.L1, p.L2 = b.p[0].L1, b.p[0].L2 }, func() { b.Backend.PenaltySum(acc, w, n, scale) })
		return
	case "PenaltySumTouchesZeroLanes":
		defer func() {
			for l := 0; l < b.lanes(); l++ {
				fs(acc, l)[device.AccLoss] += 0
			}
		}()
	}
	b.Backend.PenaltySum(acc, w, n, scale)
}

// PenaltyFold: the CPU backend's pending penalty is (1, value) a lane.
func (b *mutant) PenaltyFold(acc, pending device.Buffer) {
	if b.bug != "PendingAddedTwice" {
		b.Backend.PenaltyFold(acc, pending)
		return
	}
	var keep [][]float32
	for l := 0; l < b.lanes(); l++ {
		keep = append(keep, append([]float32(nil), fs(pending, l)[:2]...))
	}
	b.Backend.PenaltyFold(acc, pending)
	for l, k := range keep {
		copy(fs(pending, l), k) // never cleared
	}
}

func (b *mutant) SoftmaxXent(dlogits, dbias, logits, labels, idx device.Buffer, idxOff, rows, classes int, gradScale float64, acc, pending device.Buffer, step int) {
	if pending != nil && b.bug == "PendingAddedTwice" {
		b.PenaltyFold(acc, pending)
		pending = nil
	}
	b.softmaxXent(dlogits, dbias, logits, labels, idx, idxOff, rows, classes, gradScale, acc, pending, step)
}

// pendWrong leaves lane by lane the penalty of ws[0:n] (a wrong range or
// the weights after the update) pending, in the CPU backend's layout.
func (b *mutant) pendWrong(pending, w device.Buffer, n int, scale float64) {
	for l := 0; l < b.lanes(); l++ {
		var s1, s2 float64
		for _, v := range fs(w, l)[:n] {
			s1 += math.Abs(float64(v))
			s2 += float64(v) * float64(v)
		}
		p := fs(pending, l)
		p[0], p[1] = 1, float32(scale*(b.p[l].L1*s1+b.p[l].L2*s2))
	}
}

func (b *mutant) AdamStep(w, g, m, v device.Buffer, n, pen int, h device.Adam) {
	switch b.bug {
	case "PendingAfterUpdate":
		if h.Pending != nil {
			pending := h.Pending
			h.Pending = nil
			b.Backend.AdamStep(w, g, m, v, n, pen, h)
			b.pendWrong(pending, w, pen, h.PenaltyScale)
			return
		}
	case "PendingOverWholeBuffer":
		if h.Pending != nil {
			b.pendWrong(h.Pending, w, n, h.PenaltyScale)
			h.Pending = nil
		}
	case "AdamSignOfZeroIsOne":
		var olds [][]float32
		for l := 0; l < b.lanes(); l++ {
			ws, gs := fs(w, l), fs(g, l)
			olds = append(olds, append([]float32(nil), gs[:n]...))
			for i := 0; i < n; i++ {
				if ws[i] == 0 && i < pen {
					gs[i] += float32(b.p[l].L1)
				}
			}
		}
		defer func() {
			for l, old := range olds {
				copy(fs(g, l), old)
			}
		}()
	case "AdamOldV":
		// Divide by the previous √v: run the step, then redo w's update
		// with the old v.
		var oldVs [][]float32
		for l := 0; l < b.lanes(); l++ {
			oldVs = append(oldVs, append([]float32(nil), fs(v, l)[:n]...))
		}
		b.Backend.AdamStep(w, g, m, v, n, pen, h)
		for l := 0; l < b.lanes(); l++ {
			ws, ms, newV, oldV := fs(w, l), fs(m, l), fs(v, l), oldVs[l]
			alpha, eps := float32(b.p[l].LR)*float32(h.Correction), float32(h.Eps)
			for i := 0; i < n; i++ {
				ws[i] += alpha * ms[i] / (float32(math.Sqrt(float64(newV[i]))) + eps)
				ws[i] -= alpha * ms[i] / (float32(math.Sqrt(float64(oldV[i]))) + eps)
			}
		}
		return
	case "AdamPenalizesAll":
		pen = n
	case "AdamKeepsSubnormals":
		// The whole update without the flush.
		for l := 0; l < b.lanes(); l++ {
			ws, gs, ms, vs := fs(w, l), fs(g, l), fs(m, l), fs(v, l)
			b1, b2, eps := float32(h.Beta1), float32(h.Beta2), float32(h.Eps)
			alpha := float32(b.p[l].LR) * float32(h.Correction)
			for i := 0; i < n; i++ {
				gi := gs[i]
				ms[i] = b1*ms[i] + float32(1-h.Beta1)*gi
				vs[i] = b2*vs[i] + float32(1-h.Beta2)*gi*gi
				ws[i] -= alpha * ms[i] / (float32(math.Sqrt(float64(vs[i]))) + eps)
			}
		}
		return
	}
	b.Backend.AdamStep(w, g, m, v, n, pen, h)
}

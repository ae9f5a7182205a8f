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
	{"GemmIgnoresBeta", devicetest.GemmTest, "m7_n33_k129"},
	{"GemmReadsCWhenBetaIs0", devicetest.GemmTest, "m1_n1_k1"},
	{"GemmIgnoresTransB", devicetest.GemmTest, "m33_n7_k784"},
	{"GemmWritesPastC", devicetest.GemmTest, "m128_n10_k128"},
	{"GemmWritesIntoA", devicetest.GemmTest, "m7_n1_k33"},
	{"FillOneMore", devicetest.FillTest, "n7/"},
	{"GatherRowsIgnoresIdxOff", devicetest.GatherRowsTest, "7x784"},
	{"GatherRowsMultipliesByInverse", devicetest.GatherRowsTest, "33x784"},
	{"BiasActSkipsLastColumn", devicetest.BiasActTest, "128x256"},
	{"BiasActShiftedMask", devicetest.DropoutMaskTest, "7x33"},
	{"DropoutApplyColumnMajorMask", devicetest.DropoutApplyTest, "7x33"},
	{"ReLUBackwardPassesZero", devicetest.ReLUBackwardTest, "n784/"},
	{"ColSumAddsIntoDst", devicetest.ColSumTest, "7x33"},
	{"ColSumWritesPastEnd", devicetest.ColSumTest, "128x10"},
	{"BatchNormUnbiasedVariance", devicetest.BatchNormTrainTest, "128x256"},
	{"BatchNormOnePassVariance", devicetest.BatchNormTrainTest, "128x256/offset"},
	{"BatchNormBackwardNoDgammaTerm", devicetest.BatchNormBackwardTest, "128x128"},
	{"SoftmaxXentOverwritesAcc", devicetest.SoftmaxXentTest, "128x10/normal"},
	{"SoftmaxXentLastMaximumWins", devicetest.SoftmaxXentTest, "128x10/ties"},
	{"SoftmaxXentBadStepOverwritten", devicetest.SoftmaxXentTest, "NaNKeepsEarlierBadStep"},
	{"PenaltySumOverwritesAcc", devicetest.PenaltySumTest, "n784/"},
	{"AdamSignOfZeroIsOne", devicetest.AdamStepTest, "n784/L1/"},
	{"AdamOldV", devicetest.AdamStepTest, "n129/plain/"},
	{"AdamPenalizesAll", devicetest.AdamStepTest, "n129/L1L2_prefix/"},
	{"AdamKeepsSubnormals", devicetest.FlushTest, "AdamStep"},
	{"GemmBiasActIgnoresBias", devicetest.GemmBiasActTest, "m7_n33_k129/linear"},
	{"GemmBiasActNoReLU", devicetest.GemmBiasActTest, "m33_n7_k784/relu"},
	{"ReLUBackwardColSumBeforeMask", devicetest.ReLUBackwardColSumTest, "129x33/"},
	{"BatchNormKeepsSubnormals", devicetest.FlushTest, "BatchNormTrain"},
	{"SoftmaxKeepsSubnormals", devicetest.FlushTest, "SoftmaxXent"},
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
				if strings.Contains(l, ".go:") && !strings.Contains(l, "seed") {
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
				m.test(t, func() (device.Backend, error) {
					return &mutant{Backend: cpu.New[float32](), bug: name}, nil
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
}

func fs(b device.Buffer) []float32 { return cpu.Floats[float32](b) }

func (b *mutant) Fill(x device.Buffer, n int, v float64) {
	if b.bug == "FillOneMore" {
		n++
	}
	b.Backend.Fill(x, n, v)
}

func (b *mutant) GatherRows(dst, src, idx device.Buffer, idxOff, rows, cols int) {
	switch b.bug {
	case "GatherRowsIgnoresIdxOff":
		idxOff = 0
	case "GatherRowsMultipliesByInverse":
		d, s, ix := fs(dst), src.(*cpu.Buf[float32]).U, idx.(*cpu.Buf[float32]).I
		inv := float32(1) / 255
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				d[r*cols+c] = float32(s[int(ix[idxOff+r])*cols+c]) * inv
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
			cs := fs(c)[:m*n]
			old := append([]float32(nil), cs...)
			b.Backend.Gemm(tA, tB, m, n, k, alpha, a, bb, beta, c)
			for i := range cs {
				cs[i] += 0 * old[i]
			}
			return
		}
	case "GemmWritesPastC":
		defer func() { fs(c)[m*n] = 0 }()
	case "GemmWritesIntoA":
		defer func() { fs(a)[0] = 0.5 }()
	}
	b.Backend.Gemm(tA, tB, m, n, k, alpha, a, bb, beta, c)
}

func (b *mutant) BiasAct(x, bias device.Buffer, rows, cols int, relu bool, d device.Dropout) {
	xs := fs(x)
	switch b.bug {
	case "BiasActSkipsLastColumn":
		last := make([]float32, rows)
		for r := range last {
			last[r] = xs[r*cols+cols-1]
		}
		defer func() {
			for r, v := range last {
				xs[r*cols+cols-1] = v
			}
		}()
	case "BiasActShiftedMask":
		if d.Rate != 0 {
			b.Backend.BiasAct(x, bias, rows, cols, relu, device.Dropout{})
			for e := 0; e < rows*cols; e++ {
				if d.Keep(e + 1) {
					xs[e] *= float32(d.Scale())
				} else {
					xs[e] = 0
				}
			}
			return
		}
	}
	b.Backend.BiasAct(x, bias, rows, cols, relu, d)
}

func (b *mutant) DropoutApply(x device.Buffer, rows, cols int, d device.Dropout) {
	if b.bug == "DropoutApplyColumnMajorMask" && d.Rate != 0 {
		xs := fs(x)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				if d.Keep(c*rows + r) {
					xs[r*cols+c] *= float32(d.Scale())
				} else {
					xs[r*cols+c] = 0
				}
			}
		}
		return
	}
	b.Backend.DropoutApply(x, rows, cols, d)
}

func (b *mutant) ReLUBackward(dx, y device.Buffer, n int, scale float64) {
	if b.bug == "ReLUBackwardPassesZero" {
		ds, ys := fs(dx), fs(y)
		for i := 0; i < n; i++ {
			if ys[i] >= 0 {
				ds[i] *= float32(scale)
			} else {
				ds[i] = 0
			}
		}
		return
	}
	b.Backend.ReLUBackward(dx, y, n, scale)
}

func (b *mutant) GemmBiasAct(m, n, k int, a, bb, bias device.Buffer, relu bool, c device.Buffer) {
	switch b.bug {
	case "GemmBiasActIgnoresBias":
		b.Backend.Gemm(false, false, m, n, k, 1, a, bb, 0, c)
		return
	case "GemmBiasActNoReLU":
		relu = false
	}
	b.Backend.GemmBiasAct(m, n, k, a, bb, bias, relu, c)
}

func (b *mutant) ReLUBackwardColSum(dx, y, dst device.Buffer, rows, cols int, scale float64) {
	if b.bug == "ReLUBackwardColSumBeforeMask" {
		b.Backend.ColSum(dst, dx, rows, cols)
		b.Backend.ReLUBackward(dx, y, rows*cols, scale)
		return
	}
	b.Backend.ReLUBackwardColSum(dx, y, dst, rows, cols, scale)
}

func (b *mutant) ColSum(dst, x device.Buffer, rows, cols int) {
	ds := fs(dst)
	switch b.bug {
	case "ColSumAddsIntoDst":
		old := append([]float32(nil), ds[:cols]...)
		defer func() {
			for i, v := range old {
				ds[i] += v
			}
		}()
	case "ColSumWritesPastEnd":
		defer func() { ds[cols] = 1 }()
	}
	b.Backend.ColSum(dst, x, rows, cols)
}

func (b *mutant) BatchNormTrain(y, x, gamma, beta, mean, invstd, movMean, movVar device.Buffer, rows, cols int, eps, momentum float64) {
	if b.bug == "BatchNormKeepsSubnormals" {
		// The moving statistics without the flush: redo their update.
		mm, mv, mu := fs(movMean), fs(movVar), fs(mean)
		mm0, mv0 := append([]float32(nil), mm[:cols]...), append([]float32(nil), mv[:cols]...)
		b.Backend.BatchNormTrain(y, x, gamma, beta, mean, invstd, movMean, movVar, rows, cols, eps, momentum)
		xs := fs(x)
		for c := 0; c < cols; c++ {
			var ss float32
			for r := 0; r < rows; r++ {
				d := xs[r*cols+c] - mu[c]
				ss += d * d
			}
			mm[c] = mm0[c] - (mm0[c]-mu[c])*float32(1-momentum)
			mv[c] = mv0[c] - (mv0[c]-ss/float32(rows))*float32(1-momentum)
		}
		return
	}
	if b.bug == "BatchNormUnbiasedVariance" || b.bug == "BatchNormOnePassVariance" {
		ys, xs := fs(y), fs(x)
		g, bt, mu, is, mm, mv := fs(gamma), fs(beta), fs(mean), fs(invstd), fs(movMean), fs(movVar)
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
		return
	}
	b.Backend.BatchNormTrain(y, x, gamma, beta, mean, invstd, movMean, movVar, rows, cols, eps, momentum)
}

func (b *mutant) BatchNormBackward(dx, dy, x, gamma, mean, invstd, dgamma, dbeta device.Buffer, rows, cols int) {
	b.Backend.BatchNormBackward(dx, dy, x, gamma, mean, invstd, dgamma, dbeta, rows, cols)
	if b.bug == "BatchNormBackwardNoDgammaTerm" {
		dxs, dys, g, is, db := fs(dx), fs(dy), fs(gamma), fs(invstd), fs(dbeta)
		n := float32(rows)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				dxs[r*cols+c] = g[c] * is[c] / n * (n*dys[r*cols+c] - db[c])
			}
		}
	}
}

func (b *mutant) SoftmaxXent(dlogits, logits, labels, idx device.Buffer, idxOff, rows, classes int, gradScale float64, acc device.Buffer, step int) {
	as := fs(acc)
	old := append([]float32(nil), as[:device.AccLen]...)
	b.Backend.SoftmaxXent(dlogits, logits, labels, idx, idxOff, rows, classes, gradScale, acc, step)
	switch b.bug {
	case "SoftmaxKeepsSubnormals":
		// The gradient without the flush: redo it in float64, rounded once.
		ls, lab, ix, dl := fs(logits), labels.(*cpu.Buf[float32]).U, idx.(*cpu.Buf[float32]).I, fs(dlogits)
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
		ls, lab, ix := fs(logits), labels.(*cpu.Buf[float32]).U, idx.(*cpu.Buf[float32]).I
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
		if l := as[device.AccLoss]; l != l {
			as[device.AccBadStep] = float32(step)
		}
	}
}

func (b *mutant) PenaltySum(acc, w device.Buffer, n int, l1, l2, scale float64) {
	if b.bug == "PenaltySumOverwritesAcc" {
		fs(acc)[device.AccLoss] = 0
	}
	b.Backend.PenaltySum(acc, w, n, l1, l2, scale)
}

func (b *mutant) AdamStep(w, g, m, v device.Buffer, n, pen int, h device.Adam) {
	ws, gs, vs := fs(w), fs(g), fs(v)
	switch b.bug {
	case "AdamSignOfZeroIsOne":
		old := append([]float32(nil), gs[:n]...)
		for i := 0; i < n; i++ {
			if ws[i] == 0 && i < pen {
				gs[i] += float32(h.L1)
			}
		}
		defer copy(gs, old)
	case "AdamOldV":
		// Divide by the previous √v: run the step on a copy of v, then
		// restore v and update it afterwards.
		oldV := append([]float32(nil), vs[:n]...)
		ms := fs(m)
		b.Backend.AdamStep(w, g, m, v, n, pen, h)
		newV := append([]float32(nil), vs[:n]...)
		alpha, eps := float32(h.Alpha), float32(h.Eps)
		for i := 0; i < n; i++ {
			// Undo w's update and redo it with the old v.
			step := alpha * ms[i] / (float32(math.Sqrt(float64(newV[i]))) + eps)
			ws[i] += step
			ws[i] -= alpha * ms[i] / (float32(math.Sqrt(float64(oldV[i]))) + eps)
		}
		return
	case "AdamPenalizesAll":
		pen = n
	case "AdamKeepsSubnormals":
		// The whole update without the flush.
		ms, b1, b2, eps, alpha := fs(m), float32(h.Beta1), float32(h.Beta2), float32(h.Eps), float32(h.Alpha)
		for i := 0; i < n; i++ {
			gi := gs[i]
			ms[i] = b1*ms[i] + float32(1-h.Beta1)*gi
			vs[i] = b2*vs[i] + float32(1-h.Beta2)*gi*gi
			ws[i] -= alpha * ms[i] / (float32(math.Sqrt(float64(vs[i]))) + eps)
		}
		return
	}
	b.Backend.AdamStep(w, g, m, v, n, pen, h)
}

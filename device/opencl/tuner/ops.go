package tuner

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/device/opencl"
	"github.com/regcl/regcl/kernels"
)

// opsWork is the elementwise and reduction work of one training step of the
// study's network (784-256-128-10, batch 128, BatchNorm and dropout on):
// every ops-program kernel at the sizes a step runs it.
type opsWork struct {
	bufs map[string]device.Buffer
	be   device.Backend
	all  []device.Buffer
}

const (
	wRows, wIn, wH1, wH2, wC = 128, 784, 256, 128, 10
	wParams, wPen            = 235146, 233472
)

// opsInputs are the random inputs of one check or timing.
type opsInputs map[string][]float32

func newOpsInputs(rng *rand.Rand) (opsInputs, []uint8, []int32) {
	in := opsInputs{}
	norm := func(name string, n int, mean, sd float64) {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(mean + sd*rng.NormFloat64())
		}
		in[name] = v
	}
	norm("h1", wRows*wH1, 0.1, 1)
	norm("h2", wRows*wH2, 0.1, 1)
	norm("g1", wRows*wH1, 0, 0.1)
	norm("gamma", wH1, 1, 0.2)
	norm("beta", wH1, 0, 0.2)
	norm("logits", wRows*wC, 0, 2)
	norm("w", wParams, 0, 0.05)
	norm("g", wParams, 0, 0.01)
	norm("m", wParams, 0, 0.001)
	v := make([]float32, wParams)
	for i := range v {
		v[i] = float32(1e-6 * (1 + rng.Float64()))
	}
	in["v"] = v
	img := make([]uint8, 200*wIn)
	for i := range img {
		img[i] = uint8(rng.IntN(256))
	}
	idx := make([]int32, 200)
	for i, p := range rng.Perm(200) {
		idx[i] = int32(p)
	}
	return in, img, idx
}

// runOps runs one step's ops on be and returns every output.
func runOps(be device.Backend, in opsInputs, img []uint8, idx []int32) (map[string][]float64, error) {
	bufs := device.NewBuffers(be)
	defer bufs.Free()
	buf := bufs.New
	f := func(name string) device.Buffer { return buf(device.Float, len(in[name]), in[name]) }
	x := buf(device.Float, wRows*wIn, nil)
	src := buf(device.Uint8, len(img), img)
	ix := buf(device.Int32, len(idx), idx)
	labels := make([]uint8, 200)
	for i := range labels {
		labels[i] = uint8(i % wC)
	}
	lab := buf(device.Uint8, len(labels), labels)
	h1, h2, g1 := f("h1"), f("h2"), f("g1")
	gamma, beta, logits := f("gamma"), f("beta"), f("logits")
	w, g, m, v := f("w"), f("g"), f("m"), f("v")
	y := buf(device.Float, wRows*wH1, nil)
	dx := buf(device.Float, wRows*wH1, nil)
	mean, istd := buf(device.Float, wH1, nil), buf(device.Float, wH1, nil)
	mm, mv := buf(device.Float, wH1, make([]float32, wH1)), buf(device.Float, wH1, ones(wH1))
	cs := buf(device.Float, wH1, nil)
	dg, db := buf(device.Float, wH1, nil), buf(device.Float, wH1, nil)
	dl := buf(device.Float, wRows*wC, nil)
	acc := buf(device.Float, device.AccLen, []float32{0, 0, -1, 0})
	if err := bufs.Err(); err != nil {
		return nil, err
	}
	// One lane with dropout and both penalties: every kernel does its work.
	// A large learning rate, so that the update stands far above the
	// rounding of the weights (compared as the update itself: w − w₀, below).
	if err := be.SetLanes([]device.LaneParams{{Seed: 7, DropoutRate: 0.3, L1: 1e-4, L2: 1e-4, LR: 1e-2}}); err != nil {
		return nil, err
	}
	d := device.Dropout{On: true, Step: 11, Layer: 1}
	be.GatherRows(x, src, ix, 3, wRows, wIn)
	be.DropoutApply(h2, wRows, wH2, d)
	be.BatchNormTrain(y, h1, gamma, beta, mean, istd, mm, mv, wRows, wH1, 1e-3, 0.99)
	be.BatchNormBackward(dx, g1, h1, gamma, mean, istd, dg, db, wRows, wH1)
	be.ReLUBackwardColSum(dx, h1, cs, wRows, wH1, true)
	be.SoftmaxXent(dl, logits, lab, ix, 5, wRows, wC, 1.0/wRows, acc, 3)
	be.PenaltySum(acc, w, wPen, wRows)
	be.AdamStep(w, g, m, v, wParams, wPen, device.Adam{Correction: 1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7})
	out := map[string][]float64{}
	for name, b := range map[string]device.Buffer{"gather": x, "dropout": h2, "bn_y": y,
		"bn_dx": dx, "dgamma": dg, "dbeta": db, "colsum": cs, "dlogits": dl, "acc": acc, "w": w, "m": m, "v": v, "movmean": mm} {
		o := make([]float64, b.Len())
		if err := be.Read(b, 0, 0, o); err != nil {
			return nil, err
		}
		out[name] = o
	}
	out["acc"] = out["acc"][:2]
	for i, w0 := range in["w"] {
		out["w"][i] -= float64(w0)
	}
	return out, be.Err()
}

func ones(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

// checkOps compares a step's ops on be with the float64 oracle on fresh
// inputs: each output's relative 2-norm error within device.Tolerance.
func checkOps(be device.Backend, rng *rand.Rand) error {
	in, img, idx := newOpsInputs(rng)
	got, err := runOps(be, in, img, idx)
	if err != nil {
		return err
	}
	want, err := runOps(cpu.New[float64](1), in, img, idx)
	if err != nil {
		return err
	}
	for name, w := range want {
		var d, n float64
		for i := range w {
			e := got[name][i] - w[i]
			if math.IsNaN(e) {
				return fmt.Errorf("%s: element %d is NaN", name, i)
			}
			d += e * e
			n += w[i] * w[i]
		}
		if rel := math.Sqrt(d / max(n, 1e-300)); !(rel <= device.Tolerance) {
			return fmt.Errorf("%s: relative error %.3g > %g", name, rel, device.Tolerance)
		}
	}
	return nil
}

// timeOps is the device time of one step's ops over every lane of be, in µs
// (median of batches).
func timeOps(ctx context.Context, be device.Backend, rng *rand.Rand) (float64, error) {
	in, img, idx := newOpsInputs(rng)
	// Buffers once; the timed calls are the operations alone.
	bufs := device.NewBuffers(be)
	defer bufs.Free()
	mk := bufs.New
	fb := func(name string) device.Buffer { return mk(device.Float, len(in[name]), in[name]) }
	x, src, ix := mk(device.Float, wRows*wIn, nil), mk(device.Uint8, len(img), img), mk(device.Int32, len(idx), idx)
	lab := mk(device.Uint8, 200, make([]uint8, 200))
	h1, h2, g1, gamma, beta, logits := fb("h1"), fb("h2"), fb("g1"), fb("gamma"), fb("beta"), fb("logits")
	w, g, m, v := fb("w"), fb("g"), fb("m"), fb("v")
	y, dx := mk(device.Float, wRows*wH1, nil), mk(device.Float, wRows*wH1, nil)
	mean, istd, mm, mv := mk(device.Float, wH1, nil), mk(device.Float, wH1, nil), mk(device.Float, wH1, make([]float32, wH1)), mk(device.Float, wH1, ones(wH1))
	cs, dg, db := mk(device.Float, wH1, nil), mk(device.Float, wH1, nil), mk(device.Float, wH1, nil)
	dl, acc := mk(device.Float, wRows*wC, nil), mk(device.Float, device.AccLen, []float32{0, 0, -1, 0})
	if err := bufs.Err(); err != nil {
		return 0, err
	}
	if err := be.Err(); err != nil {
		return 0, err
	}
	// A tiny learning rate: the timed steps leave the weights as they are.
	// Every lane with dropout and both penalties: each does a whole step's work.
	lanes := make([]device.LaneParams, be.Lanes())
	for i := range lanes {
		lanes[i] = device.LaneParams{Seed: 7 + uint64(i), DropoutRate: 0.3, L1: 1e-4, L2: 1e-4, LR: 1e-12}
	}
	if err := be.SetLanes(lanes); err != nil {
		return 0, err
	}
	d := device.Dropout{On: true, Step: 11, Layer: 1}
	h := device.Adam{Correction: 1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}
	step := func() {
		be.GatherRows(x, src, ix, 3, wRows, wIn)
		be.Fill(cs, wH1, 0)
		be.DropoutApply(h2, wRows, wH2, d)
		be.BatchNormTrain(y, h1, gamma, beta, mean, istd, mm, mv, wRows, wH1, 1e-3, 0.99)
		be.BatchNormBackward(dx, g1, h1, gamma, mean, istd, dg, db, wRows, wH1)
		be.ReLUBackwardColSum(dx, h1, cs, wRows, wH1, false)
		be.SoftmaxXent(dl, logits, lab, ix, 5, wRows, wC, 1.0/wRows, acc, 3)
		be.PenaltySum(acc, w, wPen, wRows)
		be.AdamStep(w, g, m, v, wParams, wPen, h)
	}
	rate, err := timeCalls(ctx, be, 1, step)
	if err != nil || rate == 0 {
		return 0, err
	}
	return 1e6 / rate, nil
}

// tuneOps searches the ops program's settings (a small space: all of it,
// in random order, until the deadline), keeping the fastest that agrees
// with the oracle.
func tuneOps(ctx context.Context, dev *opencl.Device, opt Options, rng *rand.Rand, deadline time.Time, res *Result,
	logf func(string, ...any)) (kernels.Settings, float64, error) {
	l := dev.Info.Limits(dev.GemmProgram() == kernels.GemmCPU)
	space := kernels.Ops.Space(l)
	def := dev.Tuning.Ops
	logf("elementwise and reduction kernels: %d valid settings of ops\n", len(space))
	order := append([]kernels.Settings{def}, shuffled(space, rng)...)
	var best kernels.Settings
	bestT := math.Inf(1)
	seen := map[string]bool{}
	for i, s := range order {
		key := kernels.Ops.Key(s)
		if seen[key] {
			continue
		}
		seen[key] = true
		if i > 0 && (time.Now().After(deadline) || ctx.Err() != nil) {
			break
		}
		res.Tried++
		cand, err := dev.CandidateOps(s)
		if err != nil {
			res.BuildFailed++
			logf("  ops candidate %s: build failed, dropped: %v\n", key, err)
			continue
		}
		t, why, err := func() (float64, string, error) {
			defer cand.Close()
			be, err := cand.NewBackend(1)
			if err != nil {
				return 0, "", err
			}
			if opt.Wrap != nil {
				be = opt.Wrap(kernels.Ops.Name, s, be)
			}
			defer be.Close()
			if err := checkOps(be, rng); err != nil {
				return 0, err.Error(), nil
			}
			if opt.Lanes > 1 {
				// Timed as the products are, at opt.Lanes lanes: a setting
				// that fills the device at one lane may not at fifteen.
				bl, err := cand.NewBackend(opt.Lanes)
				if err != nil {
					return 0, "", err
				}
				if opt.Wrap != nil {
					bl = opt.Wrap(kernels.Ops.Name, s, bl)
				}
				defer bl.Close()
				be = bl
			}
			t, err := timeOps(ctx, be, rng)
			return t, "", err
		}()
		if err != nil {
			return nil, 0, err
		}
		if why != "" {
			res.Rejected++
			logf("  ops candidate %s: disagrees with the float64 oracle, dropped: %s\n", key, why)
			continue
		}
		res.Timed++
		logf("  ops candidate %s: %.0f µs per step\n", key, t)
		if i == 0 {
			res.OpsDefault = t
		}
		if t < bestT {
			best, bestT = s, t
		}
	}
	if best == nil {
		return def, res.OpsDefault, nil
	}
	return best, bestT, nil
}

func shuffled(s []kernels.Settings, rng *rand.Rand) []kernels.Settings {
	out := make([]kernels.Settings, len(s))
	for i, j := range rng.Perm(len(s)) {
		out[i] = s[j]
	}
	return out
}

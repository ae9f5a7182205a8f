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
	"github.com/regcl/regcl/model"
)

// Net is the network whose training step the ops program is tuned on:
// Rows a step (the batch), the layer widths (inputs, hidden…, classes),
// and the parameter buffer's lengths (model.Sizes): every trainable
// element, and the leading ones the penalty covers.
type Net struct {
	Rows              int
	Widths            []int
	Params, Penalized int
}

// NetOf is the Net of the network cfg at batch rows a step.
func NetOf(cfg model.Config, batch int) (Net, error) {
	params, pen, err := model.Sizes(cfg)
	if err != nil {
		return Net{}, err
	}
	if batch < 1 {
		return Net{}, fmt.Errorf("tuner: batch %d, want at least 1", batch)
	}
	widths := append(append([]int{cfg.Inputs}, cfg.Hidden...), cfg.Classes)
	return Net{Rows: batch, Widths: widths, Params: params, Penalized: pen}, nil
}

func (n Net) check() error {
	if n.Rows < 1 || len(n.Widths) < 2 || n.Params < 1 || n.Penalized < 0 || n.Penalized > n.Params {
		return fmt.Errorf("tuner: the network of the ops step is unset or inconsistent (rows %d, widths %v, params %d, penalized %d; NetOf makes one)",
			n.Rows, n.Widths, n.Params, n.Penalized)
	}
	for _, w := range n.Widths {
		if w < 1 {
			return fmt.Errorf("tuner: a layer of %d units in the ops step's network %v", w, n.Widths)
		}
	}
	return nil
}

func (n Net) hidden() []int { return n.Widths[1 : len(n.Widths)-1] }
func (n Net) inputs() int   { return n.Widths[0] }
func (n Net) classes() int  { return n.Widths[len(n.Widths)-1] }
func (n Net) images() int   { return n.Rows + 72 } // more images than rows: the step gathers from an offset
func (n Net) labelsOf() []uint8 {
	l := make([]uint8, n.images())
	for i := range l {
		l[i] = uint8(i % n.classes())
	}
	return l
}

// opsInputs are the random inputs of one check or timing: per hidden layer
// i, its activations hᵢ, their gradient gᵢ and BatchNorm's γᵢ, βᵢ; the
// logits; the parameters w, their gradient g and Adam's moments m, v.
type opsInputs map[string][]float32

func newOpsInputs(rng *rand.Rand, net Net) (opsInputs, []uint8, []int32) {
	in := opsInputs{}
	norm := func(name string, n int, mean, sd float64) {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(mean + sd*rng.NormFloat64())
		}
		in[name] = v
	}
	for i, h := range net.hidden() {
		norm(fmt.Sprint("h", i), net.Rows*h, 0.1, 1)
		norm(fmt.Sprint("g", i), net.Rows*h, 0, 0.1)
		norm(fmt.Sprint("gamma", i), h, 1, 0.2)
		norm(fmt.Sprint("beta", i), h, 0, 0.2)
	}
	norm("logits", net.Rows*net.classes(), 0, 2)
	norm("w", net.Params, 0, 0.05)
	norm("g", net.Params, 0, 0.01)
	norm("m", net.Params, 0, 0.001)
	v := make([]float32, net.Params)
	for i := range v {
		v[i] = float32(1e-6 * (1 + rng.Float64()))
	}
	in["v"] = v
	img := make([]uint8, net.images()*net.inputs())
	for i := range img {
		img[i] = uint8(rng.IntN(256))
	}
	idx := make([]int32, net.images())
	for i, p := range rng.Perm(net.images()) {
		idx[i] = int32(p)
	}
	return in, img, idx
}

// opsStep is one training step's elementwise and reduction work on be, at
// the network's sizes: every ops-program kernel as a step runs it (the
// gather of the batch; per hidden layer BatchNorm, its backward pass, ReLU's
// backward pass with the bias gradient, dropout; softmax cross-entropy and
// the output layer's bias gradient, with the step before's penalty; the
// penalty as an evaluation sums it; Adam, leaving the step's penalty), on buffers made
// once, so that a timing times the operations alone.
type opsStep struct {
	be   device.Backend
	bufs *device.Buffers
	out  map[string]device.Buffer // what a check compares
	run  func(step int)           // one step's operations
	w0   []float32                // the weights before, so that a check compares the update
	// acc and the penalty pending for it: read folds the last step's in.
	acc, pend device.Buffer
}

func newOpsStep(be device.Backend, net Net, in opsInputs, img []uint8, idx []int32) (*opsStep, error) {
	bufs := device.NewBuffers(be)
	buf := bufs.New
	f := func(name string) device.Buffer { return buf(device.Float, len(in[name]), in[name]) }
	rows, c := net.Rows, net.classes()
	o := &opsStep{be: be, bufs: bufs, out: map[string]device.Buffer{}, w0: in["w"]}
	x := buf(device.Float, rows*net.inputs(), nil)
	src, ix := buf(device.Uint8, len(img), img), buf(device.Int32, len(idx), idx)
	labels := net.labelsOf()
	lab := buf(device.Uint8, len(labels), labels)
	logits, dl, cb := f("logits"), buf(device.Float, rows*c, nil), buf(device.Float, c, nil)
	w, g, m, v := f("w"), f("g"), f("m"), f("v")
	acc := buf(device.Float, device.AccLen, []float32{0, 0, -1, 0})
	accPen := buf(device.Float, device.AccLen, []float32{0, 0, -1, 0}) // PenaltySum's, as an evaluation adds it
	pend := buf(device.Float, be.PendingLen(net.Penalized), nil)       // the penalty Adam leaves for the next loss
	o.pend, o.acc = pend, acc
	o.out["gather"], o.out["dlogits"], o.out["bias_out"], o.out["acc"], o.out["acc_pen"] = x, dl, cb, acc, accPen
	o.out["w"], o.out["m"], o.out["v"] = w, m, v
	type layer struct{ h, g, gamma, beta, y, dx, mean, istd, mm, mv, cs, bb, dg, db device.Buffer }
	var layers []layer
	for i, h := range net.hidden() {
		ones := make([]float32, h)
		for j := range ones {
			ones[j] = 1
		}
		l := layer{h: f(fmt.Sprint("h", i)), g: f(fmt.Sprint("g", i)), gamma: f(fmt.Sprint("gamma", i)), beta: f(fmt.Sprint("beta", i)),
			y: buf(device.Float, rows*h, nil), dx: buf(device.Float, rows*h, nil),
			mean: buf(device.Float, h, nil), istd: buf(device.Float, h, nil),
			mm: buf(device.Float, h, make([]float32, h)), mv: buf(device.Float, h, ones),
			cs: buf(device.Float, h, nil), bb: buf(device.Float, h, nil), dg: buf(device.Float, h, nil), db: buf(device.Float, h, nil)}
		layers = append(layers, l)
		for name, b := range map[string]device.Buffer{"y": l.y, "dx": l.dx, "dgamma": l.dg, "dbeta": l.db, "bias": l.cs, "bn_bias": l.bb, "movmean": l.mm, "movvar": l.mv} {
			o.out[fmt.Sprint(name, i)] = b
		}
	}
	if err := bufs.Err(); err != nil {
		bufs.Free()
		return nil, err
	}
	be.Fill(pend, pend.Len(), 0) // nothing pending
	h := device.Adam{Correction: 1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7, Pending: pend, PenaltyScale: float64(rows)}
	o.run = func(step int) {
		be.GatherRows(x, src, ix, 3, rows, net.inputs())
		be.SoftmaxXent(dl, cb, logits, lab, ix, 5, rows, c, 1.0/float64(rows), acc, pend, step) // with the step before's penalty
		for i := len(layers) - 1; i >= 0; i-- {                                                 // backward from the top, as a step goes
			l, hw := layers[i], net.hidden()[i]
			be.BatchNormTrain(l.y, l.h, l.gamma, l.beta, l.mean, l.istd, l.mm, l.mv, rows, hw, 1e-3, 0.99)
			be.DropoutApply(l.y, rows, hw, device.Dropout{On: true, Step: uint64(step), Layer: uint32(i)})
			be.BatchNormBackward(l.dx, l.g, l.h, l.gamma, l.mean, l.istd, l.dg, l.db, l.bb, rows, hw) // with its ReLU's bias gradient
			be.ReLUBackwardColSum(l.dx, l.h, l.cs, rows, hw, true)
		}
		be.PenaltySum(accPen, w, net.Penalized, float64(rows))
		be.AdamStep(w, g, m, v, net.Params, net.Penalized, h) // the step's penalty left pending
	}
	return o, nil
}

func (o *opsStep) free() { o.bufs.Free() }

// read returns every output of lane 0 in float64, the weights as their
// update w − w₀.
func (o *opsStep) read() (map[string][]float64, error) {
	o.be.PenaltyFold(o.acc, o.pend)
	out := map[string][]float64{}
	for name, b := range o.out {
		v := make([]float64, b.Len())
		if err := o.be.Read(b, 0, 0, v); err != nil {
			return nil, err
		}
		out[name] = v
	}
	out["acc"], out["acc_pen"] = out["acc"][:2], out["acc_pen"][:2]
	for i, w0 := range o.w0 {
		out["w"][i] -= float64(w0)
	}
	return out, o.be.Err()
}

// runOps runs one step's ops on be (one lane) and returns every output.
func runOps(be device.Backend, net Net, in opsInputs, img []uint8, idx []int32) (map[string][]float64, error) {
	// One lane with dropout and both penalties: every kernel does its work.
	// A large learning rate, so that the update stands far above the
	// rounding of the weights (compared as the update itself: w − w₀).
	if err := be.SetLanes([]device.LaneParams{{Seed: 7, DropoutRate: 0.3, L1: 1e-4, L2: 1e-4, LR: 1e-2}}); err != nil {
		return nil, err
	}
	o, err := newOpsStep(be, net, in, img, idx)
	if err != nil {
		return nil, err
	}
	defer o.free()
	o.run(11)
	return o.read()
}

// checkOps compares a step's ops on be with the float64 oracle on fresh
// inputs: each output's relative 2-norm error within device.Tolerance.
func checkOps(be device.Backend, net Net, rng *rand.Rand) error {
	in, img, idx := newOpsInputs(rng, net)
	got, err := runOps(be, net, in, img, idx)
	if err != nil {
		return err
	}
	want, err := runOps(cpu.New[float64](1), net, in, img, idx)
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
func timeOps(ctx context.Context, be device.Backend, net Net, rng *rand.Rand) (float64, error) {
	// A tiny learning rate: the timed steps leave the weights as they are.
	// Every lane with dropout and both penalties: each does a whole step's work.
	lanes := make([]device.LaneParams, be.Lanes())
	for i := range lanes {
		lanes[i] = device.LaneParams{Seed: 7 + uint64(i), DropoutRate: 0.3, L1: 1e-4, L2: 1e-4, LR: 1e-12}
	}
	if err := be.SetLanes(lanes); err != nil {
		return 0, err
	}
	in, img, idx := newOpsInputs(rng, net)
	o, err := newOpsStep(be, net, in, img, idx)
	if err != nil {
		return 0, err
	}
	defer o.free()
	if err := be.Err(); err != nil {
		return 0, err
	}
	rate, err := timeCalls(ctx, be, 1, func() { o.run(11) })
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
	// The defaults, then each value of the parameters that choose a
	// reduction's form (Choices: one work-group or spread), then the rest.
	order := append(append([]kernels.Settings{def}, kernels.Ops.ChoiceVariants(def, l)...), shuffled(space, rng)...)
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
			if err := checkOps(be, opt.Net, rng); err != nil {
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
			t, err := timeOps(ctx, be, opt.Net, rng)
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

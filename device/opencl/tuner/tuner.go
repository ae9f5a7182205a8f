package tuner

import (
	"context"
	"fmt"
	"github.com/regcl/regcl/internal/plural"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/opencl"
	"github.com/regcl/regcl/kernels"
)

// Options says what to tune.
type Options struct {
	// Shapes are the products to tune: the network's (model.Products,
	// through Distinct) and, as a reference, 1024³. Products of one shape class share settings.
	Shapes []device.GemmShape
	// Net is the network whose step the ops program is tuned on (NetOf):
	// its batch, layer widths and parameter count size the elementwise and
	// reduction kernels' work, as Shapes size the products.
	Net Net
	// Lanes is the lane count candidates are timed at (0 or 1: one lane):
	// the settings that win on one run's products can lose on a group's,
	// whose launches carry Lanes times the work.
	Lanes int
	// Budget bounds the search (candidates are built and timed until it is
	// spent); the ops program gets a quarter of it.
	Budget time.Duration
	Seed   uint64
	// Progress receives one line per candidate (nil: none).
	Progress io.Writer
	// Wrap, when set, wraps each candidate's backend: tests plant a wrong
	// candidate with it.
	Wrap func(program string, s kernels.Settings, be device.Backend) device.Backend
}

// Row is one shape's figures: the default's and the best candidate's.
type Row struct {
	Shape    device.GemmShape
	Class    string
	Default  float64 // GFLOP/s with the device's default settings
	Tuned    float64 // GFLOP/s with the best candidate that passed the oracle
	Settings string  // the best candidate's settings
}

// Result is what a search found.
type Result struct {
	Tuning opencl.Tuning
	Rows   []Row
	// Ops step time (µs) of the elementwise kernels of a training step
	// over Lanes lanes, with the defaults and with the best candidate.
	OpsDefault, OpsTuned float64
	Lanes                int // the lane count every candidate was timed at
	OpsSettings          string
	// Candidates tried, and of them: failed to build, rejected by the
	// oracle, timed.
	Tried, BuildFailed, Rejected, Timed int
	Took                                time.Duration
}

// Distinct keeps the first product of each shape class (opencl.ShapeClass:
// products of one class share settings, so one of them is tuned) and adds
// device.Yardstick, as a reference.
func Distinct(shapes []device.GemmShape) []device.GemmShape {
	var out []device.GemmShape
	seen := map[string]bool{}
	for _, s := range append(shapes, device.Yardstick) {
		c := opencl.ShapeClass(s.TransA, s.TransB, s.M, s.N, s.K)
		if !seen[c] {
			seen[c] = true
			out = append(out, s)
		}
	}
	return out
}

// Tune searches on the device opened with its default tuning, dev.
func Tune(ctx context.Context, dev *opencl.Device, opt Options) (*Result, error) {
	start := time.Now()
	if err := opt.Net.check(); err != nil {
		return nil, err
	}
	if opt.Budget <= 0 {
		opt.Budget = 2 * time.Minute
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x74756e65)) // stream "tune"
	res := &Result{Tuning: dev.Tuning, Lanes: max(1, opt.Lanes)}
	res.Tuning.Shapes = map[string]kernels.Settings{}
	logf := func(format string, args ...any) {
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, format, args...)
		}
	}
	deadline := start.Add(opt.Budget)
	opsDeadline := start.Add(opt.Budget / 4)

	// The ops program.
	opsBest, opsT, err := tuneOps(ctx, dev, opt, rng, opsDeadline, res, logf)
	if err != nil {
		return nil, err
	}
	res.Tuning.Ops, res.OpsTuned, res.OpsSettings = opsBest, opsT, kernels.Ops.Key(opsBest)

	// The matrix products: every candidate is built once and timed on every
	// shape; each shape keeps its best.
	g := dev.GemmProgram()
	l := dev.Info.Limits(g == kernels.GemmCPU)
	space := g.Space(l)
	best := make([]kernels.Settings, len(opt.Shapes))
	bestG := make([]float64, len(opt.Shapes))
	tried := map[string]bool{}
	evaluate := func(s kernels.Settings, why string) error {
		key := g.Key(s)
		if tried[key] {
			return nil
		}
		tried[key] = true
		res.Tried++
		cand, err := dev.Candidate(s)
		if err != nil {
			res.BuildFailed++
			logf("  candidate %d (%s): build failed, dropped: %v\n", res.Tried, why, err)
			return nil
		}
		defer cand.Close()
		be, err := cand.NewBackend(max(1, opt.Lanes))
		if err != nil {
			res.BuildFailed++
			logf("  candidate %d (%s): %v, dropped\n", res.Tried, why, err)
			return nil
		}
		if opt.Wrap != nil {
			be = opt.Wrap(g.Name, s, be)
		}
		defer be.Close()
		for _, sh := range opt.Shapes {
			if err := checkGemm(be, sh, rng); err != nil {
				res.Rejected++
				logf("  candidate %d (%s) %s: disagrees with the float64 oracle, dropped: %v\n", res.Tried, why, key, err)
				return nil
			}
		}
		res.Timed++
		var line []string
		for i, sh := range opt.Shapes {
			gf, err := timeGemm(ctx, be, sh)
			if err != nil {
				return err
			}
			line = append(line, fmt.Sprintf("%s %.1f", sh.Name, gf))
			if gf > bestG[i] {
				bestG[i], best[i] = gf, s
			}
		}
		logf("  candidate %d (%s) %s: %v GFLOP/s\n", res.Tried, why, key, line)
		return ctx.Err()
	}
	def := dev.Tuning.Matmul
	logf("matrix products: %d valid settings of %s; timing the defaults first\n", len(space), g.Name)
	if err := evaluate(def, "default"); err != nil {
		return nil, err
	}
	for i := range opt.Shapes {
		res.Rows = append(res.Rows, Row{Shape: opt.Shapes[i], Class: opencl.ShapeClass(opt.Shapes[i].TransA, opt.Shapes[i].TransB, opt.Shapes[i].M, opt.Shapes[i].N, opt.Shapes[i].K), Default: bestG[i]})
	}
	// Every kernel on every shape first: the defaults with each value of
	// each parameter that chooses a kernel (kernels.Program.Choices), so
	// that a class the direct kernel, or the tiled one without split-K,
	// serves better is found whatever the random search meets.
	for _, s := range g.ChoiceVariants(def, l) {
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			break
		}
		if err := evaluate(s, "kernel choice "+choiceOf(g, def, s)); err != nil {
			return nil, err
		}
	}
	// Alternate random points of the space with mutations of a shape's
	// best (one or two parameters moved to a neighbouring value).
	order := rng.Perm(len(space))
	next := 0
	for time.Now().Before(deadline) && ctx.Err() == nil && len(tried) < len(space) {
		var s kernels.Settings
		why := "random"
		if res.Tried%2 == 0 || next >= len(order) {
			i := rng.IntN(len(opt.Shapes))
			if best[i] != nil {
				s, why = mutate(g, best[i], l, rng), "near "+opt.Shapes[i].Name
			}
		}
		if s == nil {
			for next < len(order) && tried[g.Key(space[order[next]])] {
				next++
			}
			if next >= len(order) {
				break
			}
			s = space[order[next]]
			next++
		}
		if err := evaluate(s, why); err != nil {
			return nil, err
		}
	}
	for i := range res.Rows {
		res.Rows[i].Tuned = bestG[i]
		if best[i] == nil {
			best[i] = def
		}
		res.Rows[i].Settings = g.Key(best[i])
		res.Tuning.Shapes[res.Rows[i].Class] = best[i]
	}
	res.Tuning.Source = ""
	res.Took = time.Since(start)
	return res, nil
}

// choiceOf names the parameters in which s differs from def ("DIRECT=0").
func choiceOf(p *kernels.Program, def, s kernels.Settings) string {
	var d []string
	for _, q := range p.Params {
		if s[q.Name] != def[q.Name] {
			d = append(d, fmt.Sprintf("%s=%d", q.Name, s[q.Name]))
		}
	}
	return strings.Join(d, " ")
}

// mutate moves one or two parameters of s to a neighbouring allowed value,
// keeping the result valid (the original when no move is valid).
func mutate(p *kernels.Program, s kernels.Settings, l kernels.Limits, rng *rand.Rand) kernels.Settings {
	for try := 0; try < 20; try++ {
		c := kernels.Settings{}
		for k, v := range s {
			c[k] = v
		}
		for n := 1 + rng.IntN(2); n > 0; n-- {
			q := p.Params[rng.IntN(len(p.Params))]
			i := 0
			for j, v := range q.Values {
				if v == c[q.Name] {
					i = j
				}
			}
			i += 1 - 2*rng.IntN(2)
			if i >= 0 && i < len(q.Values) {
				c[q.Name] = q.Values[i]
			}
		}
		if p.Validate(c, l) == nil {
			return c
		}
	}
	return s
}

// checkGemm runs the product of shape sh, and of an awkward shape of the
// same transposes (no side a multiple of any block), on fresh random
// inputs with C poisoned with NaN, and compares with a float64 reference
// (the oracle's arithmetic, written out): ‖C − ref‖ ≤ Tolerance ×
// ‖|op(A)|·|op(B)|‖, the conformance suite's bound, over every element of
// the awkward shape and over 2,048 random elements of sh (an error in 1 %
// of the elements escapes that sample with probability 1e-9; edges are the
// awkward shape's job).
func checkGemm(be device.Backend, sh device.GemmShape, rng *rand.Rand) error {
	for _, s := range []device.GemmShape{{Name: "edges", TransA: sh.TransA, TransB: sh.TransB, M: 33, N: 65, K: 129}, sh} {
		a, b := randoms(rng, s.M*s.K), randoms(rng, s.K*s.N)
		got, err := runGemm(be, s, a, b)
		if err != nil {
			return err
		}
		opA := func(i, k int) float64 {
			if s.TransA {
				return float64(a[k*s.M+i])
			}
			return float64(a[i*s.K+k])
		}
		opB := func(k, j int) float64 {
			if s.TransB {
				return float64(b[j*s.K+k])
			}
			return float64(b[k*s.N+j])
		}
		var d, m float64
		n := s.M * s.N
		for t := 0; t < min(n, 2048); t++ {
			e := t
			if n > 2048 {
				e = rng.IntN(n)
			}
			i, j := e/s.N, e%s.N
			var ref, mag float64
			for k := 0; k < s.K; k++ {
				p := opA(i, k) * opB(k, j)
				ref += p
				mag += math.Abs(p)
			}
			diff := got[e] - ref
			if math.IsNaN(diff) || math.IsInf(diff, 0) {
				return fmt.Errorf("%s %dx%dx%d: element %d is %v", s.Trans(), s.M, s.N, s.K, e, got[e])
			}
			d += diff * diff
			m += mag * mag
		}
		if rel := math.Sqrt(d / m); !(rel <= device.Tolerance) {
			return fmt.Errorf("%s %dx%dx%d: relative error %.3g > %g", s.Trans(), s.M, s.N, s.K, rel, device.Tolerance)
		}
	}
	return nil
}

func randoms(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// runGemm computes C = op(A)·op(B) on be with C poisoned with NaN.
func runGemm(be device.Backend, s device.GemmShape, a, b []float32) ([]float64, error) {
	bufs := device.NewBuffers(be)
	defer bufs.Free()
	ab, bb, cb := bufs.New(device.Float, len(a), a), bufs.New(device.Float, len(b), b), bufs.New(device.Float, s.M*s.N, nil)
	if err := bufs.Err(); err != nil {
		return nil, err
	}
	be.Fill(cb, s.M*s.N, math.NaN())
	be.Gemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, ab, bb, 0, cb)
	out := make([]float64, s.M*s.N)
	if err := be.Read(cb, 0, 0, out); err != nil {
		return nil, err
	}
	return out, be.Err()
}

// timeGemm is the median of 3 batches of calls of at least 30 ms each.
func timeGemm(ctx context.Context, be device.Backend, s device.GemmShape) (float64, error) {
	return device.GemmRate(ctx, be, s, 30*time.Millisecond, 3)
}

// timeCalls returns work per second of call: the median of 3 batches of at
// least 30 ms each (short, for a search over many candidates).
func timeCalls(ctx context.Context, be device.Backend, work float64, call func()) (float64, error) {
	return device.Rate(ctx, be, work, call, 30*time.Millisecond, 3)
}

// WriteTable prints the before/after table: every shape's GFLOP/s with the
// defaults and tuned, the ops' time per step, and the search's counts.
func (r *Result) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "shape\tclass\tdefault GFLOP/s\ttuned GFLOP/s\ttuned/default\t settings\t")
	for _, row := range r.Rows {
		ratio := math.NaN()
		if row.Default > 0 {
			ratio = row.Tuned / row.Default
		}
		fmt.Fprintf(tw, "%s %s %dx%dx%d\t%s\t%.1f\t%.1f\t%.2f\t %s\t\n", row.Shape.Name, row.Shape.Trans(), row.Shape.M, row.Shape.N, row.Shape.K,
			row.Class, row.Default, row.Tuned, ratio, row.Settings)
	}
	fmt.Fprintf(tw, "elementwise kernels of a step (%s)\t\t%.0f µs\t%.0f µs\t%.2f\t %s\t\n", plural.Count(max(1, r.Lanes), "lane", "lanes"), r.OpsDefault, r.OpsTuned, r.OpsDefault/r.OpsTuned, r.OpsSettings)
	tw.Flush()
	fmt.Fprintf(w, "%d candidates in %s: %d failed to build, %d disagreed with the float64 oracle (both dropped), %d timed\n",
		r.Tried, r.Took.Round(time.Second), r.BuildFailed, r.Rejected, r.Timed)
}

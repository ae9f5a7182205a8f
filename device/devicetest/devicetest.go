package devicetest

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regcl/regcl/device"
)

// Factory returns a fresh backend of lanes lanes under test (a Device's
// NewBackend is one). Each test of the suite calls it once for every lane
// count it runs at and closes the backends when the test ends.
type Factory func(lanes int) (device.Backend, error)

// Tolerance is device.Tolerance, the suite's bound on the relative error of
// an operation that rounds (its documentation says why it is what it is).
const Tolerance = device.Tolerance

// SeedEnv names the environment variable that fixes the random seed. Every
// test logs the seed it drew; setting the variable to it and running the same
// test (or subtest) again reproduces the inputs exactly.
const SeedEnv = "DEVICETEST_SEED"

// sentinel fills the tail past the logical end of output buffers. It is
// negative (ReLU maps it to 0), not a representable result of the suite's
// inputs, and of a magnitude where adding a bias or scaling by a dropout
// factor changes it, so that any write past the end is seen.
const sentinel float32 = -7777.75

var nan32 = float32(math.NaN())

// Run runs the whole suite against the backends made by newBackend, each
// operation as a subtest of t.
func Run(t *testing.T, newBackend Factory) {
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, newBackend) })
	}
}

var suite = []struct {
	name string
	test func(*testing.T, Factory)
}{
	{"WriteRead", WriteReadTest},
	{"FinishErr", FinishErrTest},
	{"MarkWait", MarkWaitTest},
	{"Fill", FillTest},
	{"GatherRows", GatherRowsTest},
	{"Gemm", GemmTest},
	{"GemmBiasAct", GemmBiasActTest},
	{"DropoutApply", DropoutApplyTest},
	{"DropoutMask", DropoutMaskTest},
	{"ColSum", ColSumTest},
	{"ReLUBackwardColSum", ReLUBackwardColSumTest},
	{"BatchNormTrain", BatchNormTrainTest},
	{"BatchNormInfer", BatchNormInferTest},
	{"BatchNormBackward", BatchNormBackwardTest},
	{"SoftmaxXent", SoftmaxXentTest},
	{"PenaltySum", PenaltySumTest},
	{"AdamStep", AdamStepTest},
	{"PendingPenalty", PendingPenaltyTest},
	{"Flush", FlushTest},
	{"View", ViewTest},
	{"SharedAcrossBackends", SharedAcrossBackendsTest},
	{"SetLanes", SetLanesTest},
	{"LaneIndependence", LaneIndependenceTest},
}

// Sizes shared by the tests: 1, 7, 33, 129 and 784 are no multiple of any
// tile or vector width; the study's network is 784→256→128→10 trained in
// batches of 128 with a last batch of 112.

// matShapes are (rows, cols) of activation-like matrices.
var matShapes = [][2]int{
	{1, 1}, {1, 7}, {7, 1}, {7, 33}, {33, 7}, {1, 784}, {129, 33}, {33, 129}, {784, 7},
	{128, 784}, {128, 256}, {128, 128}, {128, 10},
	{112, 784}, {112, 256}, {112, 128}, {112, 10},
}

// vecLens are lengths of element-wise operations: odd sizes, the biases and the
// weight matrices of the study (784·256, 256·128, 128·10).
var vecLens = []int{1, 7, 10, 33, 129, 784, 1280, 32768, 200704}

var seedCount atomic.Uint64

func newSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv(SeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", SeedEnv, s, err)
		}
		return v
	}
	return uint64(time.Now().UnixNano()) ^ seedCount.Add(1)*0x9E3779B97F4A7C15
}

// LaneCounts are the lane counts the suite runs every operation at: one lane
// (a single run), two and three (neighbouring lanes, an odd count), and 18
// (a study's group). A case runs at 2 lanes; at 1 and 3 when its work per
// lane is at most work3, and at 18 when at most work18, which keeps the
// suite's running time near twice a single-lane suite's while every
// operation still meets every lane count on its smaller shapes. (The
// largest shapes skip 1 lane: their lane 0 of 2 is the same launch
// arithmetic, and one lane is met on every smaller shape of the case.)
var LaneCounts = []int{1, 2, 3, 18}

const (
	work3  = 1 << 21 // 128·128·128 multiply-adds, 2M elements
	work18 = 1 << 15 // 32768: a 128×256 activation, 7·33·129 multiply-adds
)

// LanesEnv names the environment variable that narrows LaneCounts to a
// comma-separated subset of them, e.g. "1,3" (CI runs the suite on a
// second, slow OpenCL implementation so; every lane count runs on PoCL and
// gonum). A value that is not such a subset fails the test.
const LanesEnv = "DEVICETEST_LANES"

// laneCounts is LaneCounts, narrowed by LanesEnv.
func laneCounts(t testing.TB) []int {
	s := os.Getenv(LanesEnv)
	if s == "" {
		return LaneCounts
	}
	var ls []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || !slices.Contains(LaneCounts, n) {
			t.Fatalf("%s=%q: want a comma-separated subset of %v", LanesEnv, s, LaneCounts)
		}
		ls = append(ls, n)
	}
	return ls
}

// lanesFor is the lane counts a case of work per lane runs at: those of
// LaneCounts its work allows, less those LanesEnv leaves out (the smallest
// count left, when it leaves out all of them).
func lanesFor(t testing.TB, work int) []int {
	asked := laneCounts(t)
	var ls []int
	for _, l := range LaneCounts {
		if (l == 2 || l <= 3 && work <= work3 || work <= work18) && slices.Contains(asked, l) {
			ls = append(ls, l)
		}
	}
	if len(ls) == 0 {
		ls = append(ls, slices.Min(asked))
	}
	return ls
}

// harness is one test of the suite: its backends, one per lane count, made
// when first needed, and the seed its subtests derive their random inputs
// from.
type harness struct {
	t          *testing.T
	newBackend Factory
	backends   map[int]device.Backend
	seed       uint64
}

func start(t *testing.T, newBackend Factory) *harness {
	t.Helper()
	h := &harness{t: t, newBackend: newBackend, backends: map[int]device.Backend{}, seed: newSeed(t)}
	t.Cleanup(func() {
		for l, be := range h.backends {
			if err := be.Close(); err != nil {
				t.Errorf("Close of the backend of %d lanes: %v", l, err)
			}
		}
	})
	t.Logf("seed %d (rerun with %s=%d)", h.seed, SeedEnv, h.seed)
	return h
}

// backend returns the test's backend of lanes lanes, made on first use.
func (h *harness) backend(t *testing.T, lanes int) device.Backend {
	t.Helper()
	if be := h.backends[lanes]; be != nil {
		return be
	}
	be, err := h.newBackend(lanes)
	if err != nil {
		t.Fatalf("creating a backend of %d lanes: %v", lanes, err)
	}
	if be == nil {
		t.Fatalf("creating a backend of %d lanes: nil Backend", lanes)
	}
	if be.Lanes() != lanes {
		be.Close()
		t.Fatalf("a backend made for %d lanes has Lanes() = %d", lanes, be.Lanes())
	}
	if b := be.FloatBits(); b != 32 && b != 64 {
		be.Close()
		t.Fatalf("backend %q: FloatBits() = %d, want 32 or 64", be.Name(), b)
	}
	h.backends[lanes] = be
	t.Logf("backend %q, %d lanes", be.Name(), lanes)
	return be
}

// run runs f as subtests name/L1, name/L2, ... for the lane counts that
// lanesFor(work) gives, work being the case's work per lane (elements, or
// multiply-adds of a product).
func (h *harness) run(name string, work int, f func(c *tcase)) {
	for _, l := range lanesFor(h.t, work) {
		h.runLanes(name, l, f)
	}
}

// runLanes runs f as subtest name/L<lanes> on the backend of lanes lanes.
func (h *harness) runLanes(name string, lanes int, f func(c *tcase)) {
	h.t.Run(fmt.Sprintf("%s/L%d", name, lanes), func(t *testing.T) {
		runCase(t, h.backend(t, lanes), h.seed, f)
	})
}

// run runs f as a subtest of c, with the same backend and seed.
func (c *tcase) run(name string, f func(c *tcase)) {
	c.t.Run(name, func(t *testing.T) { runCase(t, c.be, c.seed, f) })
}

// runCase runs f with its own random source, derived from the seed and the
// subtest's full name so a single subtest can be rerun alone, and with lane
// parameters that differ between lanes (c.setParams(c.params(0))) unless f
// sets its own. It frees the case's buffers afterwards and checks that
// Finish and Err report no error.
func runCase(t *testing.T, be device.Backend, seed uint64, f func(c *tcase)) {
	hs := fnv.New64a()
	hs.Write([]byte(t.Name()))
	c := &tcase{t: t, be: be, lanes: be.Lanes(), seed: seed, rng: rand.New(rand.NewPCG(seed, hs.Sum64()))}
	defer c.free()
	c.setParams(c.params(0))
	f(c)
	c.finish()
}

// tcase is one subtest.
type tcase struct {
	t     *testing.T
	be    device.Backend
	lanes int
	seed  uint64
	rng   *rand.Rand
	bufs  []device.Buffer
	lp    []device.LaneParams // as last set with setParams
}

// Lane parameters that the lanes of a case cycle through: dropout rates
// (0 among them: no dropout), penalties (none, L1, L2, both) and learning
// rates.
var (
	dropRates = []float64{0, 0.2, 0.5, 0.9, 0.1}
	penalties = [][2]float64{{0, 0}, {0.01, 0}, {0, 0.05}, {0.01, 0.05}}
	rates     = []float64{1e-3, 3e-3, 5e-4}
)

// params returns lane parameters for c's lanes: random seeds, and lane l's
// dropout rate, penalties and learning rate the (first+l)-th of dropRates,
// penalties and rates (cyclically), so that lane 0 of case variant first
// takes the first-th of each and neighbouring lanes differ.
func (c *tcase) params(first int) []device.LaneParams {
	p := make([]device.LaneParams, c.lanes)
	for l := range p {
		i := first + l
		pen := penalties[i%len(penalties)]
		p[l] = device.LaneParams{
			Seed:        c.rng.Uint64(),
			DropoutRate: dropRates[i%len(dropRates)],
			L1:          pen[0], L2: pen[1],
			LR: rates[i%len(rates)],
		}
	}
	return p
}

// setParams sets the backend's lane parameters to p.
func (c *tcase) setParams(p []device.LaneParams) {
	c.t.Helper()
	if err := c.be.SetLanes(p); err != nil {
		c.t.Fatalf("SetLanes(%+v): %v", p, err)
	}
	c.lp = p
}

// at prefixes a check's description with the lane it is about.
func (c *tcase) at(l int, format string, args ...any) string {
	return fmt.Sprintf("lane %d of %d: ", l, c.lanes) + fmt.Sprintf(format, args...)
}

func (c *tcase) free() {
	for _, b := range c.bufs {
		c.be.Free(b)
	}
	c.bufs = nil
}

// finish checks that the work so far completed without error.
func (c *tcase) finish() {
	c.t.Helper()
	if err := c.be.Finish(); err != nil {
		c.t.Fatalf("Finish: %v", err)
	}
	if err := c.be.Err(); err != nil {
		c.t.Fatalf("Err after Finish: %v", err)
	}
}

func (c *tcase) alloc(kind device.Kind, n int) device.Buffer {
	c.t.Helper()
	return c.allocOn(kind, n, false)
}

func (c *tcase) allocOn(kind device.Kind, n int, shared bool) device.Buffer {
	c.t.Helper()
	var b device.Buffer
	var err error
	if shared {
		b, err = c.be.AllocShared(kind, n)
	} else {
		b, err = c.be.Alloc(kind, n)
	}
	if err != nil {
		c.t.Fatalf("Alloc(%v, %d, shared %v): %v", kind, n, shared, err)
	}
	if b == nil {
		c.t.Fatalf("Alloc(%v, %d, shared %v) returned a nil Buffer", kind, n, shared)
	}
	c.bufs = append(c.bufs, b)
	if b.Len() != n || b.Kind() != kind || b.Shared() != shared {
		c.t.Fatalf("Alloc(%v, %d, shared %v) returned a buffer with Len %d, Kind %v, Shared %v", kind, n, shared, b.Len(), b.Kind(), b.Shared())
	}
	return b
}

func (c *tcase) write(dst device.Buffer, lane, off int, src any) {
	c.t.Helper()
	if err := c.be.Write(dst, lane, off, src); err != nil {
		c.t.Fatalf("Write(lane=%d, off=%d, %T): %v", lane, off, src, err)
	}
}

func (c *tcase) read(src device.Buffer, lane, off int, dst any) {
	c.t.Helper()
	if err := c.be.Read(src, lane, off, dst); err != nil {
		c.t.Fatalf("Read(lane=%d, off=%d, %T): %v", lane, off, dst, err)
	}
}

// fbuf is a per-lane Float buffer of logical length n a lane, each lane's
// part followed by a guard tail of as many elements again plus a few. Input
// buffers have a NaN tail, so that reading past the logical end poisons the
// result; output buffers have a sentinel tail that must survive the
// operation (a write past one lane's part, into the next lane's, lands in a
// tail).
type fbuf struct {
	buf  device.Buffer
	name string
	n    int
	vals [][]float32 // per lane, the contents written for an input, nil for an output
	out  bool        // the operation writes the logical part
	tail float32
}

func tailLen(n int) int { return n + 61 }

func (c *tcase) newF(name string, n int, heads [][]float32, out bool, tail float32) *fbuf {
	c.t.Helper()
	b := c.alloc(device.Float, n+tailLen(n))
	for l := 0; l < c.lanes; l++ {
		c.write(b, l, 0, heads[l])
		c.write(b, l, n, fill(tailLen(n), tail))
	}
	return &fbuf{buf: b, name: name, n: n, vals: heads, out: out, tail: tail}
}

// in is an input holding vals[l] in lane l, read but not written by the operation.
func (c *tcase) in(name string, vals [][]float32) *fbuf {
	c.t.Helper()
	return c.newF(name, len(vals[0]), vals, false, nan32)
}

// out is an output of n elements a lane, poisoned with NaN so that an
// element the operation does not write is caught.
func (c *tcase) out(name string, n int) *fbuf {
	c.t.Helper()
	return c.newF(name, n, c.lanesOf(func() []float32 { return fill(n, nan32) }), true, sentinel)
}

// inOut holds vals[l] in lane l and is updated in place.
func (c *tcase) inOut(name string, vals [][]float32) *fbuf {
	c.t.Helper()
	return c.newF(name, len(vals[0]), vals, true, sentinel)
}

// lanesOf calls gen once for each lane: different random values in every lane.
func lanesOf[E any](c *tcase, gen func() []E) [][]E {
	v := make([][]E, c.lanes)
	for l := range v {
		v[l] = gen()
	}
	return v
}

func (c *tcase) lanesOf(gen func() []float32) [][]float32 { return lanesOf(c, gen) }

// get reads the logical part of lane l of b.
func (c *tcase) get(b *fbuf, l int) []float32 {
	c.t.Helper()
	v := make([]float32, b.n)
	c.read(b.buf, l, 0, v)
	return v
}

// guards checks in every lane that inputs are unchanged and that no buffer
// was written past its logical end.
func (c *tcase) guards(bs ...*fbuf) {
	c.t.Helper()
	for _, b := range bs {
		for l := 0; l < c.lanes; l++ {
			if !b.out {
				got := c.get(b, l)
				for i, v := range got {
					if !sameFloat(v, b.vals[l][i]) {
						c.t.Errorf("%sinput %s was modified: element %d = %v, was %v", c.at(l, ""), b.name, i, v, b.vals[l][i])
						break
					}
				}
			}
			tl := make([]float32, tailLen(b.n))
			c.read(b.buf, l, b.n, tl)
			for i, v := range tl {
				if !sameFloat(v, b.tail) {
					c.t.Errorf("%s%s (%d elements a lane) was written past its end: element %d = %v, want untouched %v",
						c.at(l, ""), b.name, b.n, b.n+i, v, b.tail)
					break
				}
			}
		}
	}
}

// bytesIn uploads vals[l] into lane l of a per-lane Uint8 buffer, or vals[0]
// into a shared one.
func (c *tcase) bytesIn(vals [][]uint8, shared bool) device.Buffer {
	c.t.Helper()
	b := c.allocOn(device.Uint8, len(vals[0]), shared)
	for l := range vals {
		c.write(b, l, 0, vals[l])
	}
	return b
}

// int32sIn is bytesIn for Int32 buffers.
func (c *tcase) int32sIn(vals [][]int32, shared bool) device.Buffer {
	c.t.Helper()
	b := c.allocOn(device.Int32, len(vals[0]), shared)
	for l := range vals {
		c.write(b, l, 0, vals[l])
	}
	return b
}

// unchangedInts checks that every lane's part of the integer buffer b (one
// part when shared) still holds vals.
func unchangedInts[E int32 | uint8](c *tcase, what string, b device.Buffer, vals [][]E) {
	c.t.Helper()
	for l := range vals {
		got := make([]E, len(vals[l]))
		c.read(b, l, 0, got)
		sameInts(c, c.at(l, "%s", what), got, vals[l])
	}
}

// shareMode names whether the integer inputs of a case are shared.
func shareMode(shared bool) string {
	if shared {
		return "shared"
	}
	return "perlane"
}

// sameFloat is equality with NaN equal to NaN (and −0 equal to 0).
func sameFloat(a, b float32) bool {
	return a == b || a != a && b != b
}

func fill(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// uniform returns n values uniform in [lo, hi), rounded to float32.
func (c *tcase) uniform(n int, lo, hi float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(lo + (hi-lo)*c.rng.Float64())
	}
	return s
}

// normal returns n values drawn from N(mean, sd²), rounded to float32.
func (c *tcase) normal(n int, mean, sd float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(mean + sd*c.rng.NormFloat64())
	}
	return s
}

func f64(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}

// near checks got against the float64 reference want with Tolerance on the
// relative 2-norm error. When want is all zeros it checks ‖got‖ ≤ Tolerance.
func (c *tcase) near(what string, got []float32, want []float64) {
	c.t.Helper()
	c.nearFloor(what, got, want, 0)
}

// nearFloor is near with the error taken relative to max(‖want‖, floor), for
// results whose norm can be far below their natural scale (the gradient of
// rows that are classified correctly with large margins is almost 0).
func (c *tcase) nearFloor(what string, got []float32, want []float64, floor float64) {
	c.t.Helper()
	if len(got) != len(want) {
		c.t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var dd, rr float64
	worst, bad := -1, -1
	var worstD float64
	for i, w := range want {
		g := float64(got[i])
		d := math.Abs(g - w)
		if math.IsNaN(d) || math.IsInf(d, 0) {
			if bad < 0 {
				bad = i
			}
			continue
		}
		dd += d * d
		rr += w * w
		if d > worstD {
			worst, worstD = i, d
		}
	}
	rel := math.Sqrt(dd)
	if den := max(math.Sqrt(rr), floor); den > 0 {
		rel /= den
	}
	if bad >= 0 {
		n := 0
		for i, w := range want {
			if d := math.Abs(float64(got[i]) - w); math.IsNaN(d) || math.IsInf(d, 0) {
				n++
			}
		}
		c.t.Errorf("%s: %d of %d values not finite where the reference is, first at %d: got %v, want %v",
			what, n, len(want), bad, got[bad], want[bad])
		return
	}
	if !(rel <= Tolerance) {
		c.t.Errorf("%s: relative error %.3g > %g over %d values; worst at %d: got %v, want %v",
			what, rel, Tolerance, len(want), worst, got[worst], want[worst])
	}
}

// norm returns the 2-norm of x.
func norm(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s)
}

// exact checks got == want element by element (NaN equal to NaN).
func (c *tcase) exact(what string, got, want []float32) {
	c.t.Helper()
	if len(got) != len(want) {
		c.t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	n, first := 0, -1
	for i := range got {
		if !sameFloat(got[i], want[i]) {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if n > 0 {
		c.t.Errorf("%s: %d of %d values differ, first at %d: got %v, want %v",
			what, n, len(got), first, got[first], want[first])
	}
}

// shape names a (rows, cols) subtest.
func shape(rows, cols int) string { return fmt.Sprintf("%dx%d", rows, cols) }

// Require returns what open opens — a device, say — or ends the test: a
// failure when the environment variable CI is set (CI installs PoCL, so a
// missing OpenCL device there is a defect), a skip with the reason elsewhere.
func Require[T any](t testing.TB, what string, open func() (T, error)) T {
	t.Helper()
	v, err := open()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but no %s is usable: %v", what, err)
		}
		t.Skipf("no %s: %v", what, err)
	}
	return v
}

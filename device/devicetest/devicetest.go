package devicetest

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regcl/regcl/device"
)

// Factory returns a fresh backend under test. Each test of the suite calls it
// once and closes the backend when the test ends.
type Factory func() (device.Backend, error)

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
	{"BiasAct", BiasActTest},
	{"DropoutApply", DropoutApplyTest},
	{"DropoutMask", DropoutMaskTest},
	{"ReLUBackward", ReLUBackwardTest},
	{"ColSum", ColSumTest},
	{"ReLUBackwardColSum", ReLUBackwardColSumTest},
	{"BatchNormTrain", BatchNormTrainTest},
	{"BatchNormInfer", BatchNormInferTest},
	{"BatchNormBackward", BatchNormBackwardTest},
	{"SoftmaxXent", SoftmaxXentTest},
	{"PenaltySum", PenaltySumTest},
	{"AdamStep", AdamStepTest},
	{"Flush", FlushTest},
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

// harness is one test of the suite: a backend and the seed its subtests
// derive their random inputs from.
type harness struct {
	t    *testing.T
	be   device.Backend
	seed uint64
}

func start(t *testing.T, newBackend Factory) *harness {
	t.Helper()
	be, err := newBackend()
	if err != nil {
		t.Fatalf("creating the backend: %v", err)
	}
	if be == nil {
		t.Fatal("creating the backend: nil Backend")
	}
	t.Cleanup(func() {
		if err := be.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	h := &harness{t: t, be: be, seed: newSeed(t)}
	t.Logf("backend %q, seed %d (rerun with %s=%d)", be.Name(), h.seed, SeedEnv, h.seed)
	return h
}

// run runs f as subtest name with its own random source, derived from the
// seed and the subtest's full name so a single subtest can be rerun alone.
// It frees the subtest's buffers afterwards and checks that Finish and Err
// report no error.
func (h *harness) run(name string, f func(c *tcase)) {
	runCase(h.t, h.be, h.seed, name, f)
}

// run runs f as a subtest of c, with the same backend and seed.
func (c *tcase) run(name string, f func(c *tcase)) {
	runCase(c.t, c.be, c.seed, name, f)
}

func runCase(t *testing.T, be device.Backend, seed uint64, name string, f func(c *tcase)) {
	t.Run(name, func(t *testing.T) {
		hs := fnv.New64a()
		hs.Write([]byte(t.Name()))
		c := &tcase{t: t, be: be, seed: seed, rng: rand.New(rand.NewPCG(seed, hs.Sum64()))}
		defer c.free()
		f(c)
		c.finish()
	})
}

// tcase is one subtest.
type tcase struct {
	t    *testing.T
	be   device.Backend
	seed uint64
	rng  *rand.Rand
	bufs []device.Buffer
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
	b, err := c.be.Alloc(kind, n)
	if err != nil {
		c.t.Fatalf("Alloc(%v, %d): %v", kind, n, err)
	}
	if b == nil {
		c.t.Fatalf("Alloc(%v, %d) returned a nil Buffer", kind, n)
	}
	c.bufs = append(c.bufs, b)
	return b
}

func (c *tcase) write(dst device.Buffer, off int, src any) {
	c.t.Helper()
	if err := c.be.Write(dst, off, src); err != nil {
		c.t.Fatalf("Write(off=%d, %T): %v", off, src, err)
	}
}

func (c *tcase) read(src device.Buffer, off int, dst any) {
	c.t.Helper()
	if err := c.be.Read(src, off, dst); err != nil {
		c.t.Fatalf("Read(off=%d, %T): %v", off, dst, err)
	}
}

// fbuf is a Float32 buffer of logical length n followed by a guard tail of
// as many elements again plus a few. Input buffers have a NaN tail, so that
// reading past the logical end poisons the result; output buffers have a
// sentinel tail that must survive the operation.
type fbuf struct {
	buf  device.Buffer
	name string
	n    int
	vals []float32 // contents written for an input, nil for an output
	out  bool      // the operation writes the logical part
	tail float32
}

func tailLen(n int) int { return n + 61 }

func (c *tcase) newF(name string, n int, head []float32, out bool, tail float32) *fbuf {
	c.t.Helper()
	b := c.alloc(device.Float32, n+tailLen(n))
	if b.Len() != n+tailLen(n) || b.Kind() != device.Float32 {
		c.t.Fatalf("Alloc(Float32, %d) returned a buffer with Len %d, Kind %v", n+tailLen(n), b.Len(), b.Kind())
	}
	c.write(b, 0, head)
	c.write(b, n, fill(tailLen(n), tail))
	return &fbuf{buf: b, name: name, n: n, vals: head, out: out, tail: tail}
}

// in is an input holding vals, read but not written by the operation.
func (c *tcase) in(name string, vals []float32) *fbuf {
	c.t.Helper()
	return c.newF(name, len(vals), vals, false, nan32)
}

// out is an output of n elements, poisoned with NaN so that an element the
// operation does not write is caught.
func (c *tcase) out(name string, n int) *fbuf {
	c.t.Helper()
	return c.newF(name, n, fill(n, nan32), true, sentinel)
}

// inOut holds vals and is updated in place.
func (c *tcase) inOut(name string, vals []float32) *fbuf {
	c.t.Helper()
	return c.newF(name, len(vals), vals, true, sentinel)
}

// get reads the logical part of b.
func (c *tcase) get(b *fbuf) []float32 {
	c.t.Helper()
	v := make([]float32, b.n)
	c.read(b.buf, 0, v)
	return v
}

// guards checks that inputs are unchanged and that no buffer was written past
// its logical end.
func (c *tcase) guards(bs ...*fbuf) {
	c.t.Helper()
	for _, b := range bs {
		if !b.out {
			got := c.get(b)
			for i, v := range got {
				if !sameFloat(v, b.vals[i]) {
					c.t.Errorf("input %s was modified: element %d = %v, was %v", b.name, i, v, b.vals[i])
					break
				}
			}
		}
		tl := make([]float32, tailLen(b.n))
		c.read(b.buf, b.n, tl)
		for i, v := range tl {
			if !sameFloat(v, b.tail) {
				c.t.Errorf("%s (%d elements) was written past its end: element %d = %v, want untouched %v",
					b.name, b.n, b.n+i, v, b.tail)
				break
			}
		}
	}
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

package devicetest

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/regcl/regcl/device"
)

// WriteReadTest checks Alloc, AllocShared, Len, Kind and Shared, and that
// Write and Read copy exactly, at offsets, into and out of every lane's part
// (each lane holding different values; a shared buffer one part), for all
// three kinds, including float32 specials (±0, ±Inf, NaN, subnormals,
// ±MaxFloat32), which are compared bit for bit; that []float64 data is
// rounded to nearest by a float32 backend and kept exactly by a float64 one;
// and that a wrong type, lane or range is refused with an error.
func WriteReadTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, n := range []int{1, 7, 33, 784, 1000} {
		for _, kind := range []device.Kind{device.Float, device.Int32, device.Uint8} {
			for _, shared := range []bool{false, true} {
				h.run(fmt.Sprintf("%v/n%d/%s", kind, n, shareMode(shared)), n, func(c *tcase) {
					b := c.allocOn(kind, n, shared)
					parts := c.lanes
					if shared {
						parts = 1
					}
					// Write all of every lane, overwrite a chunk at an offset,
					// then read all and a sub-range at another offset.
					off := c.rng.IntN(n)
					cnt := 1 + c.rng.IntN(n-off)
					roff := c.rng.IntN(n)
					rcnt := 1 + c.rng.IntN(n-roff)
					switch kind {
					case device.Float:
						roundTrip(c, b, parts, n, off, cnt, roff, rcnt, c.floatBits, sameBits)
					case device.Int32:
						roundTrip(c, b, parts, n, off, cnt, roff, rcnt, c.int32s, sameInts[int32])
					case device.Uint8:
						roundTrip(c, b, parts, n, off, cnt, roff, rcnt, c.bytes, sameInts[uint8])
					}
					c.refusals(b, kind, n)
				})
			}
		}
	}
	h.run("Float64Data", 1000, func(c *tcase) {
		const n = 1000
		b := c.alloc(device.Float, n)
		vals := make([][]float64, c.lanes)
		for l := range vals {
			vals[l] = make([]float64, n)
			for i := range vals[l] {
				vals[l][i] = c.rng.NormFloat64() * math.Pow(2, float64(c.rng.IntN(40)-20))
			}
			vals[l][0] = 1 + 0x1p-30 // not a float32: rounds to 1
			vals[l][1] = 1 + 0x1p-24 // a tie: rounds to even, 1
			c.write(b, l, 0, vals[l])
		}
		for l := range vals {
			got64, got32 := make([]float64, n), make([]float32, n)
			c.read(b, l, 0, got64)
			c.read(b, l, 0, got32)
			for i, v := range vals[l] {
				want := v
				if c.be.FloatBits() == 32 {
					want = float64(float32(v))
				}
				if got64[i] != want || got32[i] != float32(v) {
					c.t.Errorf("%s: wrote %v as float64, read %v as float64 and %v as float32; want %v and %v (FloatBits %d)",
						c.at(l, "element %d", i), v, got64[i], got32[i], want, float32(v), c.be.FloatBits())
					break
				}
			}
		}
	})
	h.run("FreeNil", 1, func(c *tcase) { c.be.Free(nil) })
}

// roundTrip writes every part of b (of n elements) with values from gen,
// overwrites cnt of them at off, and checks full reads and reads of rcnt at
// roff in every part against what was written.
func roundTrip[E any](c *tcase, b device.Buffer, parts, n, off, cnt, roff, rcnt int, gen func(int) []E, same func(*tcase, string, []E, []E)) {
	c.t.Helper()
	want := make([][]E, parts)
	for l := range want {
		all, chunk := gen(n), gen(cnt)
		c.write(b, l, 0, all)
		c.write(b, l, off, chunk)
		want[l] = append([]E(nil), all...)
		copy(want[l][off:], chunk)
	}
	for l := range want {
		got := make([]E, n)
		c.read(b, l, 0, got)
		same(c, c.at(l, "%v full read", b.Kind()), got, want[l])
		got = make([]E, rcnt)
		c.read(b, l, roff, got)
		same(c, c.at(l, "%v read of %d at %d", b.Kind(), rcnt, roff), got, want[l][roff:roff+rcnt])
	}
}

// refusals checks that Write and Read refuse data of a wrong type (with an
// error naming the type), a lane out of range or ≠ 0 of a shared buffer
// (naming the lane), and elements out of range.
func (c *tcase) refusals(b device.Buffer, kind device.Kind, n int) {
	c.t.Helper()
	good := map[device.Kind]func(int) any{
		device.Float: func(k int) any { return make([]float32, k) },
		device.Int32: func(k int) any { return make([]int32, k) },
		device.Uint8: func(k int) any { return make([]uint8, k) },
	}[kind]
	wrong := map[device.Kind][]any{
		device.Float: {make([]int32, 1), make([]uint8, 1), make([]int64, 1)},
		device.Int32: {make([]float32, 1), make([]float64, 1), make([]uint8, 1), make([]int64, 1)},
		device.Uint8: {make([]float32, 1), make([]int32, 1), make([]int64, 1)},
	}[kind]
	for _, w := range wrong {
		typ := fmt.Sprintf("%T", w)
		if err := c.be.Write(b, 0, 0, w); err == nil || !strings.Contains(err.Error(), typ) {
			c.t.Errorf("Write of %s into a %v buffer: error %v, want one naming %s", typ, kind, err, typ)
		}
		if err := c.be.Read(b, 0, 0, w); err == nil || !strings.Contains(err.Error(), typ) {
			c.t.Errorf("Read of a %v buffer into %s: error %v, want one naming %s", kind, typ, err, typ)
		}
	}
	lanes := []int{-1, c.lanes}
	if b.Shared() {
		lanes = append(lanes, 1)
	}
	for _, l := range lanes {
		if err := c.be.Write(b, l, 0, good(1)); err == nil || !strings.Contains(err.Error(), "lane") {
			c.t.Errorf("Write to lane %d of a %v buffer (shared %v, %d lanes): error %v, want one naming the lane", l, kind, b.Shared(), c.lanes, err)
		}
		if err := c.be.Read(b, l, 0, good(1)); err == nil || !strings.Contains(err.Error(), "lane") {
			c.t.Errorf("Read of lane %d of a %v buffer (shared %v, %d lanes): error %v, want one naming the lane", l, kind, b.Shared(), c.lanes, err)
		}
	}
	for _, r := range [][2]int{{-1, 1}, {0, n + 1}, {n, 1}, {n - 1, 2}} {
		if err := c.be.Write(b, 0, r[0], good(r[1])); err == nil {
			c.t.Errorf("Write of %d elements at %d into a %v buffer of %d: no error", r[1], r[0], kind, n)
		}
		if err := c.be.Read(b, 0, r[0], good(r[1])); err == nil {
			c.t.Errorf("Read of %d elements at %d of a %v buffer of %d: no error", r[1], r[0], kind, n)
		}
	}
}

var float32Specials = []float32{
	0, float32(math.Copysign(0, -1)), 1, -1,
	float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
	math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
	0x1p-126, 0x1.fffffcp-127, // smallest normal, largest subnormal
}

// floatBits returns n random float32 values with the specials mixed in.
func (c *tcase) floatBits(n int) []float32 {
	s := c.normal(n, 0, 10)
	for i := range s {
		if c.rng.IntN(4) == 0 {
			s[i] = float32Specials[c.rng.IntN(len(float32Specials))]
		}
	}
	return s
}

func (c *tcase) int32s(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(c.rng.Uint32())
	}
	s[0] = math.MinInt32
	if n > 1 {
		s[n-1] = math.MaxInt32
	}
	return s
}

func (c *tcase) bytes(n int) []uint8 {
	s := make([]uint8, n)
	for i := range s {
		s[i] = uint8(c.rng.Uint32())
	}
	s[0] = 255
	return s
}

func sameBits(c *tcase, what string, got, want []float32) {
	c.t.Helper()
	for i := range want {
		g, w := got[i], want[i]
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			c.t.Errorf("%s: element %d = %v (%#08x), want %v (%#08x)", what, i, g, math.Float32bits(g), w, math.Float32bits(w))
			return
		}
	}
}

func sameInts[E int32 | uint8](c *tcase, what string, got, want []E) {
	c.t.Helper()
	for i := range want {
		if got[i] != want[i] {
			c.t.Errorf("%s: element %d = %d, want %d", what, i, got[i], want[i])
			return
		}
	}
}

// FinishErrTest checks that Err and Finish report nil on a fresh backend and
// after valid work (Err without waiting, while the work may still be queued),
// and that the work's results are then visible to Read in every lane.
func FinishErrTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	h.run("fresh", 1, func(c *tcase) {
		if err := c.be.Err(); err != nil {
			c.t.Errorf("Err on a fresh backend: %v", err)
		}
		if err := c.be.Finish(); err != nil {
			c.t.Errorf("Finish on a fresh backend: %v", err)
		}
	})
	h.run("afterWork", 33*7*129, func(c *tcase) {
		const m, n, k = 33, 7, 129
		a := c.in("A", c.lanesOf(func() []float32 { return c.uniform(m*k, -1, 1) }))
		b := c.in("B", c.lanesOf(func() []float32 { return c.uniform(k*n, -1, 1) }))
		x := c.out("C", m*n)
		s := c.out("colsum", n)
		for i := 0; i < 5; i++ {
			c.be.Fill(x.buf, m*n, float64(i))
			c.be.Gemm(false, false, m, n, k, 1, a.buf, b.buf, 0.5, x.buf)
			c.be.ColSum(s.buf, x.buf, m, n)
		}
		if err := c.be.Err(); err != nil {
			c.t.Errorf("Err after valid work: %v", err)
		}
		if err := c.be.Finish(); err != nil {
			c.t.Errorf("Finish after valid work: %v", err)
		}
		if err := c.be.Err(); err != nil {
			c.t.Errorf("Err after Finish: %v", err)
		}
		for l := 0; l < c.lanes; l++ {
			cr := gemmRef(false, false, m, n, k, 1, a.vals[l], b.vals[l], 0.5, fill(m*n, 4))
			c.near(c.at(l, "C"), c.get(x, l), cr)
			sr := make([]float64, n)
			for r := 0; r < m; r++ {
				for j := 0; j < n; j++ {
					sr[j] += cr[r*n+j]
				}
			}
			c.near(c.at(l, "colsum"), c.get(s, l), sr)
		}
		c.guards(a, b, x, s)
		if err := c.be.Finish(); err != nil {
			c.t.Errorf("second Finish: %v", err)
		}
	})
}

// FillTest checks Fill(x, n, v) sets exactly x[0:n] in every lane.
func FillTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, n := range vecLens {
		for _, v := range []string{"random", "zero", "minus1"} {
			h.run(fmt.Sprintf("n%d/%s", n, v), n, func(c *tcase) {
				val := float32(c.rng.NormFloat64() * 100)
				switch v {
				case "zero":
					val = 0
				case "minus1":
					val = -1
				}
				x := c.out("x", n)
				c.be.Fill(x.buf, n, float64(val))
				for l := 0; l < c.lanes; l++ {
					c.exact(c.at(l, "Fill(%v)", val), c.get(x, l), fill(n, val))
				}
				c.guards(x)
			})
		}
	}
}

// MarkWaitTest checks that Wait on a marker returns once the work queued
// before Mark is done, in order, for several markers outstanding at once
// (as the trainer keeps them), and that Wait on a spent marker's successor
// and after Finish still returns nil.
func MarkWaitTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	h.run("steps", 1000, func(c *tcase) {
		const n = 1000
		x := c.inOut("x", c.lanesOf(func() []float32 { return fill(n, 1) }))
		var marks []device.Marker
		for i := 0; i < 5; i++ {
			c.be.Fill(x.buf, n, float64(i+2))
			marks = append(marks, c.be.Mark())
		}
		for i, m := range marks {
			if err := c.be.Wait(m); err != nil {
				c.t.Fatalf("Wait on marker %d: %v", i, err)
			}
		}
		for l := 0; l < c.lanes; l++ {
			c.exact(c.at(l, "x after the last marker"), c.get(x, l), fill(n, 6))
		}
		if err := c.be.Finish(); err != nil {
			c.t.Fatal(err)
		}
		if err := c.be.Wait(c.be.Mark()); err != nil {
			c.t.Fatalf("Wait on a marker with nothing queued: %v", err)
		}
		c.guards(x)
	})
}

package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/regcl/regcl/device"
)

// WriteReadTest checks Alloc, Len and Kind, and that Write and Read copy
// exactly, at offsets, for all three kinds, including float32 specials
// (±0, ±Inf, NaN, subnormals, ±MaxFloat32), which are compared bit for bit.
func WriteReadTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, n := range []int{1, 7, 33, 784, 1000} {
		for _, kind := range []device.Kind{device.Float32, device.Int32, device.Uint8} {
			h.run(fmt.Sprintf("%v/n%d", kind, n), func(c *tcase) {
				b := c.alloc(kind, n)
				if b.Len() != n || b.Kind() != kind {
					c.t.Fatalf("Alloc(%v, %d): Len %d, Kind %v", kind, n, b.Len(), b.Kind())
				}
				// Write all, overwrite a chunk at an offset, read all and
				// read a sub-range at another offset.
				off := c.rng.IntN(n)
				cnt := 1 + c.rng.IntN(n-off)
				roff := c.rng.IntN(n)
				rcnt := 1 + c.rng.IntN(n-roff)
				switch kind {
				case device.Float32:
					all, chunk := c.floatBits(n), c.floatBits(cnt)
					want := append([]float32(nil), all...)
					copy(want[off:], chunk)
					c.write(b, 0, all)
					c.write(b, off, chunk)
					got := make([]float32, n)
					c.read(b, 0, got)
					sameBits(c, "Float32 full read", got, want)
					got = make([]float32, rcnt)
					c.read(b, roff, got)
					sameBits(c, fmt.Sprintf("Float32 read of %d at %d", rcnt, roff), got, want[roff:roff+rcnt])
				case device.Int32:
					all, chunk := c.int32s(n), c.int32s(cnt)
					want := append([]int32(nil), all...)
					copy(want[off:], chunk)
					c.write(b, 0, all)
					c.write(b, off, chunk)
					got := make([]int32, n)
					c.read(b, 0, got)
					sameInts(c, "Int32 full read", got, want)
					got = make([]int32, rcnt)
					c.read(b, roff, got)
					sameInts(c, fmt.Sprintf("Int32 read of %d at %d", rcnt, roff), got, want[roff:roff+rcnt])
				case device.Uint8:
					all, chunk := c.bytes(n), c.bytes(cnt)
					want := append([]uint8(nil), all...)
					copy(want[off:], chunk)
					c.write(b, 0, all)
					c.write(b, off, chunk)
					got := make([]uint8, n)
					c.read(b, 0, got)
					sameInts(c, "Uint8 full read", got, want)
					got = make([]uint8, rcnt)
					c.read(b, roff, got)
					sameInts(c, fmt.Sprintf("Uint8 read of %d at %d", rcnt, roff), got, want[roff:roff+rcnt])
				}
			})
		}
	}
	h.run("FreeNil", func(c *tcase) { c.be.Free(nil) })
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
// and that the work's results are then visible to Read.
func FinishErrTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	h.run("fresh", func(c *tcase) {
		if err := c.be.Err(); err != nil {
			c.t.Errorf("Err on a fresh backend: %v", err)
		}
		if err := c.be.Finish(); err != nil {
			c.t.Errorf("Finish on a fresh backend: %v", err)
		}
	})
	h.run("afterWork", func(c *tcase) {
		const m, n, k = 33, 7, 129
		a := c.in("A", c.uniform(m*k, -1, 1))
		b := c.in("B", c.uniform(k*n, -1, 1))
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
		cr := gemmRef(false, false, m, n, k, 1, a.vals, b.vals, 0.5, fill(m*n, 4))
		c.near("C", c.get(x), cr)
		sr := make([]float64, n)
		for r := 0; r < m; r++ {
			for j := 0; j < n; j++ {
				sr[j] += cr[r*n+j]
			}
		}
		c.near("colsum", c.get(s), sr)
		c.guards(a, b, x, s)
		if err := c.be.Finish(); err != nil {
			c.t.Errorf("second Finish: %v", err)
		}
	})
}

// FillTest checks Fill(x, n, v) sets exactly x[0:n].
func FillTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, n := range vecLens {
		for _, v := range []string{"random", "zero", "minus1"} {
			h.run(fmt.Sprintf("n%d/%s", n, v), func(c *tcase) {
				val := float32(c.rng.NormFloat64() * 100)
				switch v {
				case "zero":
					val = 0
				case "minus1":
					val = -1
				}
				x := c.out("x", n)
				c.be.Fill(x.buf, n, float64(val))
				c.exact(fmt.Sprintf("Fill(%v)", val), c.get(x), fill(n, val))
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
	h.run("steps", func(c *tcase) {
		const n = 1000
		x := c.inOut("x", fill(n, 1))
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
		c.exact("x after the last marker", c.get(x), fill(n, 6))
		if err := c.be.Finish(); err != nil {
			c.t.Fatal(err)
		}
		if err := c.be.Wait(c.be.Mark()); err != nil {
			c.t.Fatalf("Wait on a marker with nothing queued: %v", err)
		}
		c.guards(x)
	})
}

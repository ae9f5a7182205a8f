package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/regcl/regcl/device"
)

// GatherRowsTest checks GatherRows exactly: dst[r,c] must be the correctly
// rounded float32 quotient src/255 (a backend that multiplies by 1/255 is off
// by one ulp for about half the byte values). idx is a random permutation of
// the source rows, read from offset 0 and from offsets ≠ 0; src and idx are
// shared by the lanes or differ between them.
func GatherRowsTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, rows := range []int{1, 7, 33, 112, 128, 129} {
		for _, cols := range []int{1, 7, 784} {
			for _, off := range []string{"idxOff0", "idxOffRandom"} {
				for _, shared := range []bool{false, true} {
					h.run(fmt.Sprintf("%s/%s/%s", shape(rows, cols), off, shareMode(shared)), rows*cols, func(c *tcase) {
						nsrc := rows + 1 + c.rng.IntN(200)
						idxOff := 0
						if off != "idxOff0" {
							idxOff = 1 + c.rng.IntN(nsrc-rows)
						}
						parts := c.lanes
						if shared {
							parts = 1
						}
						src, perm := make([][]uint8, parts), make([][]int32, parts)
						for l := range parts {
							src[l], perm[l] = c.bytes(nsrc*cols), c.perm(nsrc)
							// Make sure the gathered rows include the source's last row.
							last := idxOff + c.rng.IntN(rows)
							for i, v := range perm[l] {
								if int(v) == nsrc-1 {
									perm[l][i], perm[l][last] = perm[l][last], perm[l][i]
								}
							}
						}
						sb, ib := c.bytesIn(src, shared), c.int32sIn(perm, shared)
						dst := c.out("dst", rows*cols)
						c.be.GatherRows(dst.buf, sb, ib, idxOff, rows, cols)
						for l := 0; l < c.lanes; l++ {
							p := l % parts
							want := make([]float32, rows*cols)
							for r := 0; r < rows; r++ {
								i := int(perm[p][idxOff+r])
								for j := 0; j < cols; j++ {
									want[r*cols+j] = float32(float64(src[p][i*cols+j]) / 255)
								}
							}
							c.exact(c.at(l, "GatherRows(idxOff=%d, rows=%d, cols=%d, %s)", idxOff, rows, cols, shareMode(shared)), c.get(dst, l), want)
						}
						c.guards(dst)
						unchangedInts(c, "src after GatherRows", sb, src)
						unchangedInts(c, "idx after GatherRows", ib, perm)
					})
				}
			}
		}
	}
}

func (c *tcase) perm(n int) []int32 {
	p := make([]int32, n)
	for i, v := range c.rng.Perm(n) {
		p[i] = int32(v)
	}
	return p
}

// dropout returns a dropout that is on, with a random step (half the time
// beyond 2³², to exercise the counter's high word) and layer.
func (c *tcase) dropout() device.Dropout {
	d := device.Dropout{On: true, Step: uint64(c.rng.IntN(100000)), Layer: uint32(c.rng.IntN(4))}
	if c.rng.IntN(2) == 0 {
		d.Step += uint64(1+c.rng.IntN(5)) << 32
	}
	return d
}

// dropName names a case variant by the dropout rate of its lane 0, or "off".
func dropName(i int) string {
	if i < 0 {
		return "off"
	}
	if p := dropRates[i]; p != 0 {
		return fmt.Sprintf("drop%v", p)
	}
	return "nodrop"
}

// dropVariant returns case variant i's lane parameters (lane 0's dropout
// rate dropRates[i], the other lanes' different) and its dropout: on, or
// off for the variant i = −1, whose lanes nevertheless have rates.
func (c *tcase) dropVariant(i int) ([]device.LaneParams, device.Dropout) {
	d := c.dropout()
	if i < 0 {
		d.On = false
		return c.params(1), d
	}
	return c.params(i), d
}

// round is x rounded to the backend's precision.
func (c *tcase) round(x float64) float64 {
	if c.be.FloatBits() == 32 {
		return float64(float32(x))
	}
	return x
}

// zeros checks that got is zero exactly where want is.
func (c *tcase) zeros(what string, got []float32, want []float64) {
	c.t.Helper()
	n, first := 0, -1
	for i, w := range want {
		if (w == 0) != (got[i] == 0) {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if n > 0 {
		c.t.Errorf("%s: zero pattern differs at %d of %d elements, first at %d: got %v, want %v",
			what, n, len(want), first, got[first], want[first])
	}
}

// DropoutApplyTest checks DropoutApply bit-exactly in every lane, each with
// its own seed and rate: dropped elements are 0, kept ones exactly x·scale
// rounded once (scale = DropoutScale of the lane's rate in the backend's
// precision), the dropped set is that of the lane's device.Mask, and a lane
// of rate 0, like every lane of a dropout that is off, is unchanged.
func DropoutApplyTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, s := range matShapes {
		rows, cols := s[0], s[1]
		for _, i := range []int{-1, 0, 1, 2, 3} { // off; lane 0's rate 0, 0.2, 0.5, 0.9 (the other lanes' differ)
			h.run(fmt.Sprintf("%s/%s", shape(rows, cols), dropName(i)), rows*cols, func(c *tcase) {
				p, d := c.dropVariant(i)
				c.setParams(p)
				x := c.inOut("x", c.lanesOf(func() []float32 { return c.normal(rows*cols, 0, 1) }))
				c.be.DropoutApply(x.buf, rows, cols, d)
				for l := 0; l < c.lanes; l++ {
					m := p[l].Mask(d)
					sc := c.round(m.Scale())
					want := make([]float32, rows*cols)
					for e, v := range x.vals[l] {
						if m.Keep(e) {
							want[e] = float32(float64(v) * sc) // exact product of two floats, rounded once
						}
					}
					c.exact(c.at(l, "DropoutApply(rows=%d, cols=%d, %+v, %+v)", rows, cols, d, m), c.get(x, l), want)
				}
				c.guards(x)
			})
		}
	}
}

// Masks returns the dropout mask m over a (rows, cols) matrix as be computes
// it: it sets every lane's parameters to m's seed and rate (be's lane
// parameters are changed), applies DropoutApply with m's step and layer to
// a matrix of ones, and returns lane 0's mask, kept where the result is not
// zero. It fails t if a kept element is not exactly DropoutScale(m.Rate) in
// be's precision, or if another lane's mask differs. Comparing the masks of
// two backends bit for bit shows whether they draw the same dropout.
func Masks(t testing.TB, be device.Backend, m device.Mask, rows, cols int) []bool {
	t.Helper()
	n, L := rows*cols, be.Lanes()
	p := make([]device.LaneParams, L)
	for l := range p {
		p[l] = device.LaneParams{Seed: m.Seed, DropoutRate: m.Rate}
	}
	if err := be.SetLanes(p); err != nil {
		t.Fatalf("Masks: SetLanes: %v", err)
	}
	b, err := be.Alloc(device.Float, n)
	if err != nil {
		t.Fatalf("Masks: Alloc(Float, %d): %v", n, err)
	}
	defer be.Free(b)
	for l := 0; l < L; l++ {
		if err := be.Write(b, l, 0, fill(n, 1)); err != nil {
			t.Fatalf("Masks: Write: %v", err)
		}
	}
	be.DropoutApply(b, rows, cols, device.Dropout{On: true, Step: m.Step, Layer: m.Layer})
	sc := float32(m.Scale()) // 1·scale, rounded to float32 by Read in a float64 backend
	var mask []bool
	for l := 0; l < L; l++ {
		got := make([]float32, n)
		if err := be.Read(b, l, 0, got); err != nil {
			t.Fatalf("Masks: Read: %v", err)
		}
		lm := make([]bool, n)
		for e, v := range got {
			lm[e] = v != 0
			if v != 0 && v != sc {
				t.Errorf("Masks: lane %d: DropoutApply(%+v) of 1 at element %d = %v, want 0 or the scale %v", l, m, e, v, sc)
				break
			}
		}
		if l == 0 {
			mask = lm
		} else {
			for e := range lm {
				if lm[e] != mask[e] {
					t.Errorf("Masks: lane %d's mask differs from lane 0's at element %d, with the same parameters %+v", l, e, m)
					break
				}
			}
		}
	}
	if err := be.Finish(); err != nil {
		t.Fatalf("Masks: Finish: %v", err)
	}
	return mask
}

// DropoutMaskTest checks that GemmBiasAct with dropout draws the same mask
// as DropoutApply with the same lane parameters and dropout, and that both
// equal the lane's device.Mask, so that dropout's backward pass
// (DropoutApply, or ReLUBackwardColSum on the forward output) drops exactly
// the units the forward pass dropped.
func DropoutMaskTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	shapes := [][2]int{{1, 1}, {1, 7}, {7, 33}, {129, 33}, {128, 256}, {112, 784}, {128, 10}}
	for _, s := range shapes {
		rows, cols := s[0], s[1]
		for _, i := range []int{4, 2, 3} { // lane 0's rate 0.1, 0.5, 0.9
			h.run(fmt.Sprintf("%s/%s", shape(rows, cols), dropName(i)), rows*cols, func(c *tcase) {
				p, d := c.dropVariant(i)
				c.setParams(p)
				n := rows * cols
				// DropoutApply on ones.
				x := c.inOut("x", c.lanesOf(func() []float32 { return fill(n, 1) }))
				c.be.DropoutApply(x.buf, rows, cols, d)
				// GemmBiasAct of a (rows,1) by (1,cols) product of ones, bias 0.
				a := c.in("a", c.lanesOf(func() []float32 { return fill(rows, 1) }))
				b := c.in("b", c.lanesOf(func() []float32 { return fill(cols, 1) }))
				bias := c.in("bias", c.lanesOf(func() []float32 { return fill(cols, 0) }))
				y := c.out("y", n)
				c.be.GemmBiasAct(rows, cols, 1, a.buf, b.buf, bias.buf, true, d, y.buf)
				for l := 0; l < c.lanes; l++ {
					m := p[l].Mask(d)
					sc := float32(c.round(m.Scale()))
					applied, fused, spec := make([]bool, n), make([]bool, n), make([]bool, n)
					ga, gf := c.get(x, l), c.get(y, l)
					for e := range spec {
						spec[e] = m.Keep(e)
						applied[e], fused[e] = ga[e] != 0, gf[e] != 0
						if (ga[e] != 0 && ga[e] != sc) || (gf[e] != 0 && gf[e] != sc) {
							c.t.Errorf("%s: element %d: DropoutApply gives %v, GemmBiasAct %v, want 0 or the scale %v",
								c.at(l, "%+v", m), e, ga[e], gf[e], sc)
							break
						}
					}
					sameMask(c, c.at(l, "GemmBiasAct vs DropoutApply mask, %+v", m), fused, applied)
					sameMask(c, c.at(l, "DropoutApply mask vs Mask.Keep, %+v", m), applied, spec)
				}
				c.guards(x, a, b, bias, y)
			})
		}
	}
}

func sameMask(c *tcase, what string, got, want []bool) {
	c.t.Helper()
	n, first := 0, -1
	for e := range want {
		if got[e] != want[e] {
			if first < 0 {
				first = e
			}
			n++
		}
	}
	if n > 0 {
		c.t.Errorf("%s: %d of %d elements differ, first at %d (got keep=%v)", what, n, len(want), first, got[first])
	}
}

// ColSumTest checks ColSum on a NaN-filled dst (which it must overwrite, not
// add into).
func ColSumTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	shapes := append([][2]int{{784, 256}, {256, 128}}, matShapes...)
	for _, s := range shapes {
		rows, cols := s[0], s[1]
		h.run(shape(rows, cols), rows*cols, func(c *tcase) {
			x := c.in("x", c.lanesOf(func() []float32 { return c.normal(rows*cols, 0.1, 1) }))
			dst := c.out("dst", cols)
			c.be.ColSum(dst.buf, x.buf, rows, cols)
			for l := 0; l < c.lanes; l++ {
				want, mag := make([]float64, cols), make([]float64, cols)
				for r := 0; r < rows; r++ {
					for j := 0; j < cols; j++ {
						want[j] += float64(x.vals[l][r*cols+j])
						mag[j] += math.Abs(float64(x.vals[l][r*cols+j]))
					}
				}
				// Relative to ‖Σ_r |x[r,:]|‖, since a single column can cancel.
				c.nearFloor(c.at(l, "ColSum(rows=%d, cols=%d)", rows, cols), c.get(dst, l), want, norm(mag))
			}
			c.guards(x, dst)
		})
	}
}

// ReLUBackwardColSumTest checks ReLUBackwardColSum: dx exactly (one
// multiplication per element: dx·s where y > 0, and 0 where y is 0, −0 or
// negative, s the lane's dropout scale with dropout and 1 without), and
// dst the column sums of that result (relative to the sums of absolute
// values, as ColSumTest), over NaN-filled dst.
func ReLUBackwardColSumTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, s := range matShapes {
		rows, cols := s[0], s[1]
		for _, v := range []struct {
			name    string
			dropout bool
			first   int
		}{{"nodropout", false, 2}, {"dropout", true, 2}, {"dropout_lane0rate0", true, 0}} {
			h.run(fmt.Sprintf("%s/%s", shape(rows, cols), v.name), rows*cols, func(c *tcase) {
				p := c.params(v.first)
				c.setParams(p)
				n := rows * cols
				yv := c.lanesOf(func() []float32 {
					y := c.normal(n, 0, 1)
					for i := range y {
						switch c.rng.IntN(8) {
						case 0:
							y[i] = 0
						case 1:
							y[i] = float32(math.Copysign(0, -1))
						}
					}
					return y
				})
				y := c.in("y", yv)
				dx := c.inOut("dx", c.lanesOf(func() []float32 { return c.normal(n, 0.1, 1) }))
				dst := c.out("dst", cols)
				c.be.ReLUBackwardColSum(dx.buf, y.buf, dst.buf, rows, cols, v.dropout)
				for l := 0; l < c.lanes; l++ {
					s := 1.0
					if v.dropout {
						s = c.round(device.DropoutScale(p[l].DropoutRate))
					}
					want := make([]float32, n)
					sum, mag := make([]float64, cols), make([]float64, cols)
					for i, yi := range yv[l] {
						if yi > 0 {
							want[i] = float32(float64(dx.vals[l][i]) * s)
						}
						sum[i%cols] += float64(want[i])
						mag[i%cols] += math.Abs(float64(want[i]))
					}
					what := c.at(l, "ReLUBackwardColSum(rows=%d, cols=%d, dropout=%v, rate %v)", rows, cols, v.dropout, p[l].DropoutRate)
					c.exact(what+" dx", c.get(dx, l), want)
					c.nearFloor(what+" dst", c.get(dst, l), sum, norm(mag))
				}
				c.guards(y, dx, dst)
			})
		}
	}
}

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
// the source rows, read from offset 0 and from offsets ≠ 0.
func GatherRowsTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, rows := range []int{1, 7, 33, 112, 128, 129} {
		for _, cols := range []int{1, 7, 784} {
			for _, off := range []string{"idxOff0", "idxOffRandom"} {
				h.run(fmt.Sprintf("%s/%s", shape(rows, cols), off), func(c *tcase) {
					nsrc := rows + 1 + c.rng.IntN(200)
					idxOff := 0
					if off != "idxOff0" {
						idxOff = 1 + c.rng.IntN(nsrc-rows)
					}
					src := c.bytes(nsrc * cols)
					perm := c.perm(nsrc)
					// Make sure the gathered rows include the source's last row.
					last := idxOff + c.rng.IntN(rows)
					for i, v := range perm {
						if int(v) == nsrc-1 {
							perm[i], perm[last] = perm[last], perm[i]
						}
					}
					sb := c.alloc(device.Uint8, len(src))
					c.write(sb, 0, src)
					ib := c.alloc(device.Int32, len(perm))
					c.write(ib, 0, perm)
					dst := c.out("dst", rows*cols)
					c.be.GatherRows(dst.buf, sb, ib, idxOff, rows, cols)
					want := make([]float32, rows*cols)
					for r := 0; r < rows; r++ {
						i := int(perm[idxOff+r])
						for j := 0; j < cols; j++ {
							want[r*cols+j] = float32(float64(src[i*cols+j]) / 255)
						}
					}
					c.exact(fmt.Sprintf("GatherRows(idxOff=%d, rows=%d, cols=%d)", idxOff, rows, cols), c.get(dst), want)
					c.guards(dst)
					gotSrc := make([]uint8, len(src))
					c.read(sb, 0, gotSrc)
					sameInts(c, "src after GatherRows", gotSrc, src)
					gotIdx := make([]int32, len(perm))
					c.read(ib, 0, gotIdx)
					sameInts(c, "idx after GatherRows", gotIdx, perm)
				})
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

// dropoutKey returns a dropout key with rate p and random seed, step (half the
// time beyond 2³², to exercise the counter's high word) and layer.
func (c *tcase) dropoutKey(p float64) device.Dropout {
	d := device.Dropout{Rate: p, Seed: c.rng.Uint64(), Step: uint64(c.rng.IntN(100000)), Layer: uint32(c.rng.IntN(4))}
	if c.rng.IntN(2) == 0 {
		d.Step += uint64(1+c.rng.IntN(5)) << 32
	}
	return d
}

func dropName(p float64) string {
	if p == 0 {
		return "nodrop"
	}
	return fmt.Sprintf("drop%v", p)
}

// BiasActTest checks BiasAct with ReLU on and off and dropout off and on. The
// reference mask is device.Dropout.Keep, the specification of the mask; the
// set of zero outputs must equal the reference's exactly.
func BiasActTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, s := range matShapes {
		rows, cols := s[0], s[1]
		for _, relu := range []bool{false, true} {
			for _, p := range []float64{0, 0.2, 0.5} {
				act := "linear"
				if relu {
					act = "relu"
				}
				h.run(fmt.Sprintf("%s/%s/%s", shape(rows, cols), act, dropName(p)), func(c *tcase) {
					d := device.Dropout{}
					if p != 0 {
						d = c.dropoutKey(p)
					} else {
						d.Seed = c.rng.Uint64() // a zero Rate disables dropout whatever the key
					}
					x := c.inOut("x", c.normal(rows*cols, 0, 1))
					bias := c.in("bias", c.normal(cols, 0, 0.5))
					c.be.BiasAct(x.buf, bias.buf, rows, cols, relu, d)
					want := make([]float64, rows*cols)
					sc := float64(float32(d.Scale())) // a float32 backend rounds the scale first
					for r := 0; r < rows; r++ {
						for j := 0; j < cols; j++ {
							e := r*cols + j
							v := float64(x.vals[e]) + float64(bias.vals[j])
							if relu && v < 0 {
								v = 0
							}
							if p != 0 {
								if d.Keep(e) {
									v *= sc
								} else {
									v = 0
								}
							}
							want[e] = v
						}
					}
					got := c.get(x)
					what := fmt.Sprintf("BiasAct(rows=%d, cols=%d, relu=%v, %+v)", rows, cols, relu, d)
					c.zeros(what, got, want)
					c.near(what, got, want)
					c.guards(x, bias)
				})
			}
		}
	}
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

// DropoutApplyTest checks DropoutApply bit-exactly: dropped elements are 0,
// kept ones exactly x·Scale rounded once, the dropped set is that of
// device.Dropout.Keep, and a zero Rate leaves x unchanged.
func DropoutApplyTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, s := range matShapes {
		rows, cols := s[0], s[1]
		for _, p := range []float64{0, 0.2, 0.5, 0.9} {
			h.run(fmt.Sprintf("%s/%s", shape(rows, cols), dropName(p)), func(c *tcase) {
				d := c.dropoutKey(p)
				x := c.inOut("x", c.normal(rows*cols, 0, 1))
				c.be.DropoutApply(x.buf, rows, cols, d)
				// One multiplication by the scale, rounded once: by the scale
				// rounded to float32 in float32 (a float32 backend), or by the
				// scale in float64 (the float64 oracle); either is exact.
				want32, want64 := make([]float32, rows*cols), make([]float32, rows*cols)
				sc := float32(d.Scale())
				for e, v := range x.vals {
					if d.Keep(e) {
						want32[e], want64[e] = v*sc, float32(float64(v)*d.Scale())
					}
				}
				got := c.get(x)
				for e := range got {
					if sameFloat(got[e], want64[e]) {
						want32[e] = want64[e]
					}
				}
				c.exact(fmt.Sprintf("DropoutApply(rows=%d, cols=%d, %+v)", rows, cols, d), got, want32)
				c.guards(x)
			})
		}
	}
}

// Masks returns the dropout mask of d over a (rows, cols) matrix as be
// computes it: DropoutApply on a matrix of ones, kept where the result is not
// zero. It fails t if a kept element is not exactly d.Scale(). Comparing the
// masks of two backends bit for bit shows whether they draw the same dropout.
func Masks(t testing.TB, be device.Backend, d device.Dropout, rows, cols int) []bool {
	t.Helper()
	n := rows * cols
	b, err := be.Alloc(device.Float32, n)
	if err != nil {
		t.Fatalf("Masks: Alloc(Float32, %d): %v", n, err)
	}
	defer be.Free(b)
	if err := be.Write(b, 0, fill(n, 1)); err != nil {
		t.Fatalf("Masks: Write: %v", err)
	}
	be.DropoutApply(b, rows, cols, d)
	got := make([]float32, n)
	if err := be.Read(b, 0, got); err != nil {
		t.Fatalf("Masks: Read: %v", err)
	}
	if err := be.Finish(); err != nil {
		t.Fatalf("Masks: Finish: %v", err)
	}
	mask := make([]bool, n)
	sc := float32(d.Scale())
	for e, v := range got {
		mask[e] = v != 0
		if v != 0 && v != sc {
			t.Errorf("Masks: DropoutApply(%+v) of 1 at element %d = %v, want 0 or Scale %v", d, e, v, sc)
			break
		}
	}
	return mask
}

// DropoutMaskTest checks that BiasAct with dropout draws the same mask as
// DropoutApply with the same key, and that both equal device.Dropout.Keep,
// so that dropout's backward pass (DropoutApply or ReLUBackward on the
// forward output) drops exactly the units the forward pass dropped.
func DropoutMaskTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	shapes := [][2]int{{1, 1}, {1, 7}, {7, 33}, {129, 33}, {128, 256}, {112, 784}, {128, 10}}
	for _, s := range shapes {
		rows, cols := s[0], s[1]
		for _, p := range []float64{0.1, 0.5, 0.9} {
			h.run(fmt.Sprintf("%s/%s", shape(rows, cols), dropName(p)), func(c *tcase) {
				d := c.dropoutKey(p)
				n := rows * cols
				applied := Masks(c.t, c.be, d, rows, cols)
				x := c.inOut("x", fill(n, 1))
				bias := c.in("bias", fill(cols, 0))
				c.be.BiasAct(x.buf, bias.buf, rows, cols, true, d)
				got := c.get(x)
				biased := make([]bool, n)
				for e, v := range got {
					biased[e] = v != 0
					if v != 0 && v != float32(d.Scale()) {
						c.t.Errorf("BiasAct(%+v) of 1 at element %d = %v, want 0 or Scale %v", d, e, v, float32(d.Scale()))
						break
					}
				}
				spec := make([]bool, n)
				for e := range spec {
					spec[e] = d.Keep(e)
				}
				sameMask(c, fmt.Sprintf("BiasAct vs DropoutApply mask, %+v", d), biased, applied)
				sameMask(c, fmt.Sprintf("DropoutApply mask vs Dropout.Keep, %+v", d), applied, spec)
				c.guards(x, bias)
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

// ReLUBackwardTest checks ReLUBackward exactly (one multiplication per
// element): dx·scale where y > 0, and 0 where y is 0, −0, or negative.
func ReLUBackwardTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, n := range vecLens {
		for _, scale := range []float32{1, 1.25, 2} {
			h.run(fmt.Sprintf("n%d/scale%v", n, scale), func(c *tcase) {
				yv := c.normal(n, 0, 1)
				for i := range yv {
					switch c.rng.IntN(6) {
					case 0:
						yv[i] = 0
					case 1:
						yv[i] = float32(math.Copysign(0, -1))
					}
				}
				y := c.in("y", yv)
				dx := c.inOut("dx", c.normal(n, 0, 1))
				c.be.ReLUBackward(dx.buf, y.buf, n, float64(scale))
				want := make([]float32, n)
				for i, v := range yv {
					if v > 0 {
						want[i] = dx.vals[i] * scale
					}
				}
				c.exact(fmt.Sprintf("ReLUBackward(n=%d, scale=%v)", n, scale), c.get(dx), want)
				c.guards(y, dx)
			})
		}
	}
}

// ColSumTest checks ColSum on a NaN-filled dst (which it must overwrite, not
// add into).
func ColSumTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	shapes := append([][2]int{{784, 256}, {256, 128}}, matShapes...)
	for _, s := range shapes {
		rows, cols := s[0], s[1]
		h.run(shape(rows, cols), func(c *tcase) {
			x := c.in("x", c.normal(rows*cols, 0.1, 1))
			dst := c.out("dst", cols)
			c.be.ColSum(dst.buf, x.buf, rows, cols)
			want, mag := make([]float64, cols), make([]float64, cols)
			for r := 0; r < rows; r++ {
				for j := 0; j < cols; j++ {
					want[j] += float64(x.vals[r*cols+j])
					mag[j] += math.Abs(float64(x.vals[r*cols+j]))
				}
			}
			// Relative to ‖Σ_r |x[r,:]|‖, since a single column can cancel.
			c.nearFloor(fmt.Sprintf("ColSum(rows=%d, cols=%d)", rows, cols), c.get(dst), want, norm(mag))
			c.guards(x, dst)
		})
	}
}

// ReLUBackwardColSumTest checks ReLUBackwardColSum: dx exactly as
// ReLUBackward makes it, and dst the column sums of that result (relative
// to the sums of absolute values, as ColSumTest), over NaN-filled dst.
func ReLUBackwardColSumTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, s := range matShapes {
		rows, cols := s[0], s[1]
		for _, scale := range []float32{1, 1.25} {
			h.run(fmt.Sprintf("%s/scale%v", shape(rows, cols), scale), func(c *tcase) {
				n := rows * cols
				yv := c.normal(n, 0, 1)
				for i := range yv {
					if c.rng.IntN(6) == 0 {
						yv[i] = 0
					}
				}
				y := c.in("y", yv)
				dx := c.inOut("dx", c.normal(n, 0.1, 1))
				dst := c.out("dst", cols)
				c.be.ReLUBackwardColSum(dx.buf, y.buf, dst.buf, rows, cols, float64(scale))
				want := make([]float32, n)
				sum, mag := make([]float64, cols), make([]float64, cols)
				for i, v := range yv {
					if v > 0 {
						want[i] = dx.vals[i] * scale
					}
					sum[i%cols] += float64(want[i])
					mag[i%cols] += math.Abs(float64(want[i]))
				}
				what := fmt.Sprintf("ReLUBackwardColSum(rows=%d, cols=%d, scale=%v)", rows, cols, scale)
				c.exact(what+" dx", c.get(dx), want)
				c.nearFloor(what+" dst", c.get(dst), sum, norm(mag))
				c.guards(y, dx, dst)
			})
		}
	}
}

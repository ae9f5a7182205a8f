package devicetest

import (
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// gemmShapes are the (m, n, k) triples GemmTest runs in all four transpose
// combinations.
var gemmShapes = [][3]int{
	// Odd sizes, no multiple of any tile.
	{1, 1, 1}, {1, 7, 33}, {7, 1, 33}, {33, 7, 1}, {7, 33, 129}, {33, 7, 784}, {129, 129, 33},
	// Small in N or K (the direct products), with M and the other side odd.
	{45, 24, 70}, {45, 70, 24},
	// Forward passes Y = X·W, (batch, out, in), for batches of 128 and 112.
	{128, 256, 784}, {128, 128, 256}, {128, 10, 128},
	{112, 256, 784}, {112, 128, 256}, {112, 10, 128},
	// Weight gradients dW = Xᵀ·dY (TN), (in, out, batch).
	{784, 256, 128}, {256, 128, 128}, {784, 256, 112}, {256, 128, 112}, {128, 10, 112},
	// Input gradients dX = dY·Wᵀ (NT), (batch, in, out).
	{128, 256, 128}, {128, 128, 10}, {112, 256, 128}, {112, 128, 10},
}

// GemmTest checks Gemm for every transpose combination over gemmShapes, each
// with beta = 0 on a NaN-filled C (so reading C would show; alpha = 1 or ≠ 1),
// and with alpha ≠ 1 and beta ≠ 0 on a random C, every lane on its own
// operands. The reference is gonum's Dgemm in float64 of the logical
// op(A)·op(B), computed once per shape and lane and stored transposed by
// explicit index arithmetic for each combination.
func GemmTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	alphas := []float32{1, -0.75, 2.5, 0.125}
	betas := []float32{1, 0.5, -1.25}
	for i, s := range gemmShapes {
		m, n, k := s[0], s[1], s[2]
		h.run(fmt.Sprintf("m%d_n%d_k%d", m, n, k), m*n*k, func(c *tcase) {
			opA := c.lanesOf(func() []float32 { return c.uniform(m*k, -1, 1) })
			opB := c.lanesOf(func() []float32 { return c.uniform(k*n, -1, 1) })
			c0 := c.lanesOf(func() []float32 { return c.uniform(m*n, -1, 1) })
			prod := make([][]float64, c.lanes)
			for l := range prod {
				prod[l] = make([]float64, m*n)
				gonum.Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, f64(opA[l]), k, f64(opB[l]), n, 0, prod[l], n)
			}
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				tA, tB := tr[0], tr[1]
				// A is (m,k), or (k,m) when tA; B is (k,n), or (n,k) when tB.
				av, bv := make([][]float32, c.lanes), make([][]float32, c.lanes)
				for l := range av {
					av[l], bv[l] = opA[l], opB[l]
					if tA {
						av[l] = transpose(opA[l], m, k)
					}
					if tB {
						bv[l] = transpose(opB[l], k, n)
					}
				}
				cases := []struct{ alpha, beta float32 }{
					{alphas[i%len(alphas)], 0},
					{alphas[1+i%(len(alphas)-1)], betas[i%len(betas)]},
				}
				for _, cs := range cases {
					name := fmt.Sprintf("%s/alpha%v_beta%v", transName(tA, tB), cs.alpha, cs.beta)
					if cs.beta == 0 {
						name += "_NaNC"
					}
					c.run(name, func(c *tcase) {
						a, b := c.in("A", av), c.in("B", bv)
						var cb *fbuf
						if cs.beta == 0 {
							cb = c.out("C", m*n) // NaN: must not be read
						} else {
							cb = c.inOut("C", c0)
						}
						c.be.Gemm(tA, tB, m, n, k, float64(cs.alpha), a.buf, b.buf, float64(cs.beta), cb.buf)
						for l := 0; l < c.lanes; l++ {
							want, mag := make([]float64, m*n), make([]float64, m*n)
							for e, p := range prod[l] {
								want[e] = float64(cs.alpha) * p
								mag[e] = math.Abs(want[e])
								if cs.beta != 0 {
									want[e] += float64(cs.beta) * float64(c0[l][e])
									mag[e] += math.Abs(float64(cs.beta) * float64(c0[l][e]))
								}
							}
							// Relative to ‖|alpha·AB| + |beta·C|‖: the two terms can cancel
							// (m = n = 1).
							c.nearFloor(c.at(l, "Gemm(%s, m=%d, n=%d, k=%d, alpha=%v, beta=%v)", transName(tA, tB), m, n, k, cs.alpha, cs.beta), c.get(cb, l), want, norm(mag))
						}
						c.guards(a, b, cb)
					})
				}
			}
		})
	}
}

func transName(tA, tB bool) string {
	s := []byte("NN")
	if tA {
		s[0] = 'T'
	}
	if tB {
		s[1] = 'T'
	}
	return string(s)
}

// transpose returns the (cols, rows) transpose of the (rows, cols) matrix x.
func transpose(x []float32, rows, cols int) []float32 {
	y := make([]float32, len(x))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			y[c*rows+r] = x[r*cols+c]
		}
	}
	return y
}

// gemmRef returns alpha·op(A)·op(B) + beta·C in float64 (see Backend.Gemm for
// the shapes), with gonum's Dgemm.
func gemmRef(tA, tB bool, m, n, k int, alpha float32, a, b []float32, beta float32, c []float32) []float64 {
	if tA {
		a = transpose(a, k, m)
	}
	if tB {
		b = transpose(b, n, k)
	}
	out := f64(c)
	gonum.Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, float64(alpha), f64(a), k, f64(b), n, float64(beta), out, n)
	return out
}

// GemmBiasActTest checks GemmBiasAct, c = drop(act(a·b + bias)), on the
// forward shapes of gemmShapes (a NaN-filled c, which it must not read),
// with ReLU on and off and dropout off, on with lane 0's rate 0 and on with
// lane 0's rate 0.5 (every lane with its own seed and rate); the shapes of
// more than work3 multiply-adds only as ReLU with dropout (lane 0's rate
// 0.5) and linear without. An element its
// lane's mask drops must be exactly 0; under ReLU, the zero pattern of a
// kept element must be the reference's exactly where the reference is
// clear of 0 by more than its rounding.
func GemmBiasActTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, s := range gemmShapes {
		m, n, k := s[0], s[1], s[2]
		for _, relu := range []bool{false, true} {
			for _, di := range []int{-1, 0, 2} {
				act := "linear"
				if relu {
					act = "relu"
				}
				if m*n*k > work3 && (di == 0 || relu != (di == 2)) {
					continue // the largest shapes as ReLU with dropout and linear without, to stay fast
				}
				h.run(fmt.Sprintf("m%d_n%d_k%d/%s/%s", m, n, k, act, dropName(di)), m*n*k, func(c *tcase) {
					p, d := c.dropVariant(di)
					c.setParams(p)
					av := c.lanesOf(func() []float32 { return c.uniform(m*k, -1, 1) })
					bv := c.lanesOf(func() []float32 { return c.uniform(k*n, -1, 1) })
					biasv := c.lanesOf(func() []float32 { return c.uniform(n, -1, 1) })
					a, b, bias := c.in("A", av), c.in("B", bv), c.in("bias", biasv)
					cb := c.out("C", m*n)
					c.be.GemmBiasAct(m, n, k, a.buf, b.buf, bias.buf, relu, d, cb.buf)
					for l := 0; l < c.lanes; l++ {
						mask := p[l].Mask(d)
						sc := c.round(mask.Scale())
						want, pre, mag, floor := make([]float64, m*n), make([]float64, m*n), make([]float64, m*n), make([]float64, m*n)
						keep := make([]bool, m*n)
						// a·b and |a|·|b| with gonum's Dgemm, then the bias.
						prod, abs := make([]float64, m*n), make([]float64, m*n)
						gonum.Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, f64(av[l]), k, f64(bv[l]), n, 0, prod, n)
						gonum.Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, absf64(av[l]), k, absf64(bv[l]), n, 0, abs, n)
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								e := i*n + j
								v, g := prod[e]+float64(biasv[l][j]), abs[e]+math.Abs(float64(biasv[l][j]))
								pre[e], mag[e] = v, g
								if relu && v < 0 {
									v = 0
								}
								if keep[e] = mask.Keep(e); keep[e] {
									want[e], floor[e] = v*sc, g*sc
								}
							}
						}
						got := c.get(cb, l)
						what := c.at(l, "GemmBiasAct(m=%d, n=%d, k=%d, relu=%v, %+v)", m, n, k, relu, mask)
						for e := range got {
							if !keep[e] && got[e] != 0 {
								c.t.Errorf("%s: element %d is %v, dropped by the mask", what, e, got[e])
								break
							}
						}
						if relu {
							// ReLU's decision must be the reference's wherever the
							// pre-activation is clear of 0 by more than its rounding:
							// exactly 0 below, not 0 above (where the mask keeps it).
							for e, p := range pre {
								if edge := Tolerance * mag[e]; keep[e] && ((p < -edge && got[e] != 0) || (p > edge && got[e] == 0)) {
									c.t.Errorf("%s: element %d is %v, its pre-activation %v", what, e, got[e], p)
									break
								}
							}
						}
						// Relative to the scaled sums of absolute values: the terms can cancel.
						c.nearFloor(what, got, want, norm(floor))
					}
					c.guards(a, b, bias, cb)
				})
			}
		}
	}
}

// absf64 returns |x| in float64.
func absf64(x []float32) []float64 {
	d := make([]float64, len(x))
	for i, v := range x {
		d[i] = math.Abs(float64(v))
	}
	return d
}

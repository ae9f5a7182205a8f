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
// and with alpha ≠ 1 and beta ≠ 0 on a random C. The reference is gonum's
// Dgemm in float64 of the logical op(A)·op(B), computed once per shape and
// stored transposed by explicit index arithmetic for each combination.
func GemmTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	alphas := []float32{1, -0.75, 2.5, 0.125}
	betas := []float32{1, 0.5, -1.25}
	for i, s := range gemmShapes {
		m, n, k := s[0], s[1], s[2]
		h.run(fmt.Sprintf("m%d_n%d_k%d", m, n, k), func(c *tcase) {
			opA, opB := c.uniform(m*k, -1, 1), c.uniform(k*n, -1, 1)
			c0 := c.uniform(m*n, -1, 1)
			prod := make([]float64, m*n)
			gonum.Implementation{}.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, f64(opA), k, f64(opB), n, 0, prod, n)
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				tA, tB := tr[0], tr[1]
				// A is (m,k), or (k,m) when tA; B is (k,n), or (n,k) when tB.
				av, bv := opA, opB
				if tA {
					av = transpose(opA, m, k)
				}
				if tB {
					bv = transpose(opB, k, n)
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
						want, mag := make([]float64, m*n), make([]float64, m*n)
						for e, p := range prod {
							want[e] = float64(cs.alpha) * p
							mag[e] = math.Abs(want[e])
							if cs.beta != 0 {
								want[e] += float64(cs.beta) * float64(c0[e])
								mag[e] += math.Abs(float64(cs.beta) * float64(c0[e]))
							}
						}
						// Relative to ‖|alpha·AB| + |beta·C|‖: the two terms can cancel
						// (m = n = 1).
						c.nearFloor(fmt.Sprintf("Gemm(%s, m=%d, n=%d, k=%d, alpha=%v, beta=%v)", transName(tA, tB), m, n, k, cs.alpha, cs.beta), c.get(cb), want, norm(mag))
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

// GemmBiasActTest checks GemmBiasAct, c = act(a·b + bias), on the forward
// shapes of gemmShapes (a NaN-filled c, which it must not read), with ReLU
// on and off. The zero pattern under ReLU must be the reference's exactly
// where the reference is clear of 0 by more than its rounding.
func GemmBiasActTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, s := range gemmShapes {
		m, n, k := s[0], s[1], s[2]
		for _, relu := range []bool{false, true} {
			act := "linear"
			if relu {
				act = "relu"
			}
			h.run(fmt.Sprintf("m%d_n%d_k%d/%s", m, n, k, act), func(c *tcase) {
				av, bv, biasv := c.uniform(m*k, -1, 1), c.uniform(k*n, -1, 1), c.uniform(n, -1, 1)
				a, b, bias := c.in("A", av), c.in("B", bv), c.in("bias", biasv)
				cb := c.out("C", m*n)
				c.be.GemmBiasAct(m, n, k, a.buf, b.buf, bias.buf, relu, cb.buf)
				want, pre, mag := make([]float64, m*n), make([]float64, m*n), make([]float64, m*n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						v, g := float64(biasv[j]), math.Abs(float64(biasv[j]))
						for p := 0; p < k; p++ {
							x := float64(av[i*k+p]) * float64(bv[p*n+j])
							v += x
							g += math.Abs(x)
						}
						pre[i*n+j], mag[i*n+j] = v, g
						if relu && v < 0 {
							v = 0
						}
						want[i*n+j] = v
					}
				}
				got := c.get(cb)
				what := fmt.Sprintf("GemmBiasAct(m=%d, n=%d, k=%d, relu=%v)", m, n, k, relu)
				if relu {
					// ReLU's decision must be the reference's wherever the
					// pre-activation is clear of 0 by more than its rounding:
					// exactly 0 below, not 0 above.
					for e, p := range pre {
						if edge := Tolerance * mag[e]; (p < -edge && got[e] != 0) || (p > edge && got[e] == 0) {
							c.t.Errorf("%s: element %d is %v, its pre-activation %v", what, e, got[e], p)
							break
						}
					}
				}
				c.nearFloor(what, got, want, norm(mag))
				c.guards(a, b, bias, cb)
			})
		}
	}
}

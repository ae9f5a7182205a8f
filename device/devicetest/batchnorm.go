package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/regcl/regcl/device"
)

// bnShapes are (rows, cols) of batch normalization: a batch of 1 (variance
// 0), odd sizes, and the study's hidden layers for batches of 128 and 112.
var bnShapes = [][2]int{
	{1, 7}, {1, 256}, {7, 1}, {7, 33}, {33, 129}, {129, 7},
	{128, 256}, {128, 128}, {112, 256}, {112, 128}, {128, 10},
}

const (
	bnEps      = 1e-3 // Keras's default
	bnMomentum = 0.99 // Keras's default
)

// bnInput returns a (rows, cols) matrix whose columns have random means and
// spreads. With offset, every column's mean is ±30 times its spread, where a
// one-pass variance E[x²] − E[x]² in float32 loses about 3 digits.
func (c *tcase) bnInput(rows, cols int, offset bool) []float32 {
	x := make([]float32, rows*cols)
	for j := 0; j < cols; j++ {
		mu, sd := 3*c.rng.NormFloat64(), 0.2+2*c.rng.Float64()
		if offset {
			mu = 30 * sd * float64(2*c.rng.IntN(2)-1)
		}
		for r := 0; r < rows; r++ {
			x[r*cols+j] = float32(mu + sd*c.rng.NormFloat64())
		}
	}
	return x
}

// batchStats returns the biased batch mean and variance of each column.
func batchStats(x []float32, rows, cols int) (mean, variance []float64) {
	mean, variance = make([]float64, cols), make([]float64, cols)
	for j := 0; j < cols; j++ {
		var s float64
		for r := 0; r < rows; r++ {
			s += float64(x[r*cols+j])
		}
		m := s / float64(rows)
		var ss float64
		for r := 0; r < rows; r++ {
			d := float64(x[r*cols+j]) - m
			ss += d * d
		}
		mean[j], variance[j] = m, ss/float64(rows)
	}
	return mean, variance
}

// colAbsMean returns Σ_r |x[r,c]|/rows for each column c, the scale against
// which the rounding error of a column mean is measured (a mean near 0 is the
// difference of much larger sums).
func colAbsMean(x []float32, rows, cols int) []float64 {
	s := make([]float64, cols)
	for r := 0; r < rows; r++ {
		for j := 0; j < cols; j++ {
			s[j] += math.Abs(float64(x[r*cols+j])) / float64(rows)
		}
	}
	return s
}

// BatchNormTrainTest checks y, the saved mean and inverse standard deviation,
// and the moving statistics updated in place, with the outputs NaN-filled,
// for two momenta and for inputs whose column means are 30 times their spread
// (a two-pass or Welford variance passes; a one-pass float32 one does not).
func BatchNormTrainTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, s := range bnShapes {
		rows, cols := s[0], s[1]
		for _, v := range []struct {
			name   string
			mom    float32
			offset bool
		}{{"momentum0.99", bnMomentum, false}, {"momentum0.9", 0.9, false}, {"offset", bnMomentum, true}} {
			mom := v.mom
			h.run(fmt.Sprintf("%s/%s", shape(rows, cols), v.name), rows*cols, func(c *tcase) {
				x := c.in("x", c.lanesOf(func() []float32 { return c.bnInput(rows, cols, v.offset) }))
				gamma := c.in("gamma", c.lanesOf(func() []float32 { return c.uniform(cols, 0.5, 1.5) }))
				beta := c.in("beta", c.lanesOf(func() []float32 { return c.normal(cols, 0, 0.5) }))
				movMean := c.inOut("movMean", c.lanesOf(func() []float32 { return c.normal(cols, 0, 1) }))
				movVar := c.inOut("movVar", c.lanesOf(func() []float32 { return c.uniform(cols, 0.5, 4) }))
				y := c.out("y", rows*cols)
				mean := c.out("mean", cols)
				invstd := c.out("invstd", cols)
				c.be.BatchNormTrain(y.buf, x.buf, gamma.buf, beta.buf, mean.buf, invstd.buf, movMean.buf, movVar.buf, rows, cols, float64(bnEps), float64(mom))

				for l := 0; l < c.lanes; l++ {
					xv := x.vals[l]
					mu, va := batchStats(xv, rows, cols)
					is := make([]float64, cols)
					wy := make([]float64, rows*cols)
					wmm, wmv := make([]float64, cols), make([]float64, cols)
					decay := 1 - float64(mom)
					for j := 0; j < cols; j++ {
						is[j] = 1 / math.Sqrt(va[j]+float64(float32(bnEps)))
						g, b := float64(gamma.vals[l][j]), float64(beta.vals[l][j])
						for r := 0; r < rows; r++ {
							wy[r*cols+j] = g*(float64(xv[r*cols+j])-mu[j])*is[j] + b
						}
						mm, mv := float64(movMean.vals[l][j]), float64(movVar.vals[l][j])
						wmm[j] = mm - (mm-mu[j])*decay
						wmv[j] = mv - (mv-va[j])*decay
					}
					what := c.at(l, "BatchNormTrain(rows=%d, cols=%d, momentum=%v)", rows, cols, mom)
					c.near(what+" y", c.get(y, l), wy)
					c.nearFloor(what+" mean", c.get(mean, l), mu, norm(colAbsMean(xv, rows, cols)))
					c.near(what+" invstd", c.get(invstd, l), is)
					c.nearFloor(what+" movMean", c.get(movMean, l), wmm, math.Hypot(norm(f64(movMean.vals[l])), norm(mu)))
					c.near(what+" movVar", c.get(movVar, l), wmv)
				}
				c.guards(x, gamma, beta, movMean, movVar, y, mean, invstd)
			})
		}
	}
}

// BatchNormInferTest checks normalization with the moving statistics.
func BatchNormInferTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, s := range bnShapes {
		rows, cols := s[0], s[1]
		h.run(shape(rows, cols), rows*cols, func(c *tcase) {
			x := c.in("x", c.lanesOf(func() []float32 { return c.bnInput(rows, cols, false) }))
			gamma := c.in("gamma", c.lanesOf(func() []float32 { return c.uniform(cols, 0.5, 1.5) }))
			beta := c.in("beta", c.lanesOf(func() []float32 { return c.normal(cols, 0, 0.5) }))
			movMean := c.in("movMean", c.lanesOf(func() []float32 { return c.normal(cols, 0, 3) }))
			movVar := c.in("movVar", c.lanesOf(func() []float32 { return c.uniform(cols, 0.05, 4) }))
			y := c.out("y", rows*cols)
			c.be.BatchNormInfer(y.buf, x.buf, gamma.buf, beta.buf, movMean.buf, movVar.buf, rows, cols, float64(bnEps))
			for l := 0; l < c.lanes; l++ {
				want := make([]float64, rows*cols)
				for j := 0; j < cols; j++ {
					is := 1 / math.Sqrt(float64(movVar.vals[l][j])+float64(float32(bnEps)))
					g, b, mm := float64(gamma.vals[l][j]), float64(beta.vals[l][j]), float64(movMean.vals[l][j])
					for r := 0; r < rows; r++ {
						want[r*cols+j] = g*(float64(x.vals[l][r*cols+j])-mm)*is + b
					}
				}
				c.near(c.at(l, "BatchNormInfer(rows=%d, cols=%d)", rows, cols), c.get(y, l), want)
			}
			c.guards(x, gamma, beta, movMean, movVar, y)
		})
	}
}

// BatchNormBackwardTest checks dx, dgamma and dbeta, with mean and invstd the
// batch statistics of x as BatchNormTrain saves them; and, as subtests
// named relu, the same with dbias: x is then a ReLU's output (max(0, ·) of
// the same data, +0 and −0 among its zeros), dx is masked where x ≤ 0 and
// dbias holds the masked dx's column sums.
func BatchNormBackwardTest(t *testing.T, newBackend Factory) {
	h := start(t, newBackend)
	for _, s := range bnShapes {
		rows, cols := s[0], s[1]
		for _, relu := range []bool{false, true} {
			name := shape(rows, cols)
			if relu {
				name += "/relu"
			}
			h.run(name, rows*cols, func(c *tcase) { bnBackwardCase(c, rows, cols, relu) })
		}
	}
}

func bnBackwardCase(c *tcase, rows, cols int, relu bool) {
	xs := c.lanesOf(func() []float32 {
		x := c.bnInput(rows, cols, false)
		if relu {
			for i, v := range x {
				if v <= 0 {
					x[i] = float32(math.Copysign(0, float64(c.rng.IntN(2)*2-1)))
				}
			}
		}
		return x
	})
	ms, is := make([][]float32, c.lanes), make([][]float32, c.lanes)
	for l, xv := range xs {
		mu, va := batchStats(xv, rows, cols)
		ms[l], is[l] = make([]float32, cols), make([]float32, cols)
		for j := range mu {
			ms[l][j] = float32(mu[j])
			is[l][j] = float32(1 / math.Sqrt(va[j]+float64(float32(bnEps))))
		}
	}
	x := c.in("x", xs)
	dy := c.in("dy", c.lanesOf(func() []float32 { return c.normal(rows*cols, 0, 1) }))
	gamma := c.in("gamma", c.lanesOf(func() []float32 { return c.uniform(cols, 0.5, 1.5) }))
	mean := c.in("mean", ms)
	invstd := c.in("invstd", is)
	dx := c.out("dx", rows*cols)
	dgamma := c.out("dgamma", cols)
	dbeta := c.out("dbeta", cols)
	var dbias *fbuf
	var dbiasBuf device.Buffer
	if relu {
		dbias = c.out("dbias", cols)
		dbiasBuf = dbias.buf
	}
	c.be.BatchNormBackward(dx.buf, dy.buf, x.buf, gamma.buf, mean.buf, invstd.buf, dgamma.buf, dbeta.buf, dbiasBuf, rows, cols)
	var dx2, dbias2, dgamma2, dbeta2 *fbuf
	if relu { // the two passes apart, as the fused one claims to give their bits
		dx2, dbias2, dgamma2, dbeta2 = c.out("dx2", rows*cols), c.out("dbias2", cols), c.out("dgamma2", cols), c.out("dbeta2", cols)
		c.be.BatchNormBackward(dx2.buf, dy.buf, x.buf, gamma.buf, mean.buf, invstd.buf, dgamma2.buf, dbeta2.buf, nil, rows, cols)
		c.be.ReLUBackwardColSum(dx2.buf, x.buf, dbias2.buf, rows, cols, false)
	}

	B := float64(rows)
	for l := 0; l < c.lanes; l++ {
		xv, mv, iv, dyv := xs[l], ms[l], is[l], dy.vals[l]
		wdx := make([]float64, rows*cols)
		wdg, wdb := make([]float64, cols), make([]float64, cols)
		xh := make([]float64, rows*cols)
		// The sums can cancel (for one row, dx and dgamma are 0), so the
		// errors are measured against the same sums of absolute values.
		mdx, mdg, mdb := make([]float64, rows*cols), make([]float64, cols), make([]float64, cols)
		wbias, mbias := make([]float64, cols), make([]float64, cols)
		for j := 0; j < cols; j++ {
			m, is := float64(mv[j]), float64(iv[j])
			for r := 0; r < rows; r++ {
				e := r*cols + j
				d := float64(dyv[e])
				xh[e] = (float64(xv[e]) - m) * is
				wdb[j] += d
				wdg[j] += d * xh[e]
				mdb[j] += math.Abs(d)
				mdg[j] += math.Abs(d * xh[e])
			}
			k := float64(gamma.vals[l][j]) * is / B
			for r := 0; r < rows; r++ {
				e := r*cols + j
				d := float64(dyv[e])
				wdx[e] = k * (B*d - wdb[j] - xh[e]*wdg[j])
				mdx[e] = math.Abs(k) * (B*math.Abs(d) + math.Abs(wdb[j]) + math.Abs(xh[e]*wdg[j]))
				if relu && !(xv[e] > 0) { // the ReLU passes no gradient where its output is 0
					wdx[e], mdx[e] = 0, 0
				}
				// dbias adds the masked dx: its error is at most each dx's,
				// scaled by the same magnitudes, plus the sum's own rounding.
				wbias[j] += wdx[e]
				mbias[j] += mdx[e]
			}
		}
		what := c.at(l, "BatchNormBackward(rows=%d, cols=%d, relu=%v)", rows, cols, relu)
		got := c.get(dx, l)
		c.nearFloor(what+" dx", got, wdx, norm(mdx))
		c.nearFloor(what+" dgamma", c.get(dgamma, l), wdg, norm(mdg))
		c.nearFloor(what+" dbeta", c.get(dbeta, l), wdb, norm(mdb))
		if relu {
			for e, v := range xv {
				if !(v > 0) && math.Float32bits(got[e]) != 0 {
					c.t.Errorf("%s: dx[%d] = %v where x = %v, want +0 (masked by the ReLU)", what, e, got[e], v)
					break
				}
			}
			c.nearFloor(what+" dbias", c.get(dbias, l), wbias, norm(mbias))
			c.exact(what+" dx against BatchNormBackward then ReLUBackwardColSum", got, c.get(dx2, l))
			c.exact(what+" dbias against BatchNormBackward then ReLUBackwardColSum", c.get(dbias, l), c.get(dbias2, l))
		}
	}
	if relu {
		c.guards(x, dy, gamma, mean, invstd, dx, dgamma, dbeta, dbias, dx2, dbias2, dgamma2, dbeta2)
	} else {
		c.guards(x, dy, gamma, mean, invstd, dx, dgamma, dbeta)
	}
}

package report

import (
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// MeanSD returns the mean of xs and its sample standard deviation (divisor
// n−1). The mean is NaN when xs is empty, the standard deviation NaN when xs
// has fewer than two values.
func MeanSD(xs []float64) (mean, sd float64) {
	switch len(xs) {
	case 0:
		return math.NaN(), math.NaN()
	case 1:
		return xs[0], math.NaN()
	}
	return stat.Mean(xs, nil), math.Sqrt(stat.Variance(xs, nil))
}

// CI95 returns the two-sided 95 % confidence interval for the mean of xs,
// mean ± t(0.975, n−1)·sd/√n with Student's t distribution. Both ends are NaN
// when xs has fewer than two values.
func CI95(xs []float64) (lo, hi float64) {
	n := len(xs)
	if n < 2 {
		return math.NaN(), math.NaN()
	}
	mean, sd := MeanSD(xs)
	q := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
	h := q * sd / math.Sqrt(float64(n))
	return mean - h, mean + h
}

// Welch compares the means of a and b with Welch's unequal-variance t-test:
//
//	t  = (mean(a) − mean(b)) / √(va/na + vb/nb)
//	df = (va/na + vb/nb)² / ((va/na)²/(na−1) + (vb/nb)²/(nb−1))   (Welch–Satterthwaite)
//	p  = 2·(1 − F(|t|; df))                                      (two-sided)
//
// with va, vb the sample variances and F Student's t CDF. It needs at least
// two values on each side; otherwise all three results are NaN. When both
// samples have no spread at all, df is NaN and t is 0 with p = 1 for equal
// means, ±Inf with p = 0 for different ones.
func Welch(a, b []float64) (t, df, p float64) {
	na, nb := float64(len(a)), float64(len(b))
	if na < 2 || nb < 2 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	ma, va := stat.Mean(a, nil), stat.Variance(a, nil)
	mb, vb := stat.Mean(b, nil), stat.Variance(b, nil)
	sa, sb := va/na, vb/nb
	se2 := sa + sb
	diff := ma - mb
	if se2 == 0 {
		if diff == 0 {
			return 0, math.NaN(), 1
		}
		return math.Copysign(math.Inf(1), diff), math.NaN(), 0
	}
	t = diff / math.Sqrt(se2)
	df = se2 * se2 / (sa*sa/(na-1) + sb*sb/(nb-1))
	p = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.CDF(-math.Abs(t))
	return t, df, p
}

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

// WilsonCI95 returns the 95 % confidence interval of the mean of xs, the
// test accuracies of runs (proportions in [0, 1]): Wilson's score interval
// for a proportion (Wilson, 1927),
//
//	(p + q²/2n* ± q·√(p(1−p)/n* + q²/4n*²)) / (1 + q²/n*)
//
// with p the mean; q = t(0.975, n−1), Student's quantile in place of the
// normal's 1.96; and n* = p(1−p)/(s²/n) the effective number of trials that
// the runs' spread implies (s the sample standard deviation: the variance of
// the mean stands in for the binomial one, as for proportions estimated from
// clustered samples). It lies inside [0, 1] whatever the spread, and nears
// the Student t interval p ± q·s/√n as the spread shrinks against p(1−p).
// Both ends are NaN for fewer than two values; with no spread the interval
// is the mean alone.
func WilsonCI95(xs []float64) (lo, hi float64) {
	n := len(xs)
	if n < 2 {
		return math.NaN(), math.NaN()
	}
	mean, sd := MeanSD(xs)
	return wilson(mean, sd*sd/float64(n), tQuantile975(n-1))
}

// WilsonPI95 returns the 95 % prediction interval of one more run: where a
// single run's accuracy falls, the Wilson interval of WilsonCI95 with the
// variance of a single run about the mean, s²·(1+1/n), in place of the
// mean's s²/n. NaN for fewer than two values.
func WilsonPI95(xs []float64) (lo, hi float64) {
	n := len(xs)
	if n < 2 {
		return math.NaN(), math.NaN()
	}
	mean, sd := MeanSD(xs)
	return wilson(mean, sd*sd*(1+1/float64(n)), tQuantile975(n-1))
}

// wilson is Wilson's score interval for a proportion p whose estimate has
// variance v, with the quantile q: n* = p(1−p)/v trials.
func wilson(p, v, q float64) (lo, hi float64) {
	if v == 0 || p <= 0 || p >= 1 {
		return p, p // no spread (values in [0, 1] with a mean of 0 or 1 have none)
	}
	n := p * (1 - p) / v
	z2 := q * q
	den := 1 + z2/n
	c := (p + z2/(2*n)) / den
	h := q / den * math.Sqrt(v+z2/(4*n*n))
	return max(0, c-h), min(1, c+h) // rounding alone could step past 0 or 1
}

// tQuantile975 is the 0.975 quantile of Student's t with df degrees of
// freedom.
func tQuantile975(df int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(0.975)
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

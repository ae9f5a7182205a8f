package report

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The reference numbers below were worked out independently of gonum: by
// hand where a closed form exists, and otherwise with mpmath at 40 digits
// (Student t quantiles by root-finding on the CDF, p-values as the regularized
// incomplete beta function p = I_{df/(df+t²)}(df/2, 1/2)).

// relClose reports whether got agrees with want to 1e-9, relative.
func relClose(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Abs(want)
}

func checkClose(t *testing.T, name string, got, want float64) {
	t.Helper()
	if !relClose(got, want) {
		t.Errorf("%s = %.17g, want %.17g", name, got, want)
	}
}

// a = {0.981, 0.983, 0.979}:
//
//	mean = 2.943/3 = 0.981; deviations 0, +0.002, −0.002; SS = 8e-6
//	variance = SS/(n−1) = 4e-6, sd = 0.002
//	t(0.975, 2): for ν = 2 the quantile is closed-form, t_p = (2p−1)/√(2p(1−p)),
//	  = 0.95/√0.04875 = 4.302652729749464 (scipy prints 4.302652729911275,
//	  3.8e-11 away relative; both are within the tolerance)
//	half-width = 4.302652729749464 · 0.002/√3 = 0.004968275423500662
//	CI = [0.976031724576499338, 0.985968275423500662]
//
// b = {0.975, 0.978, 0.976}:
//
//	mean = 2.929/3 = 0.97633…; deviations −4/3, +5/3, −1/3 (×1e-3);
//	SS = 42/9·1e-6; variance = 7/3·1e-6; sd = √(7/3)·1e-3 = 0.0015275252316519467
//	CI = mean ± 4.302652729749464·sd/√3 = [0.972538750299736572, 0.980127916366930095]
//
// Welch(a, b):
//
//	va/na = 4/3·1e-6, vb/nb = 7/9·1e-6, se² = 19/9·1e-6
//	t  = (14/3·1e-3)/(√19/3·1e-3) = 14/√19 = 3.2118202741878647
//	df = (19/9)²/((4/3)²/2 + (7/9)²/2) = (361/81)/(193/162) = 722/193 = 3.7409326424870466
//	p  = 0.035787488506731639 (mpmath)
var (
	statsA = []float64{0.981, 0.983, 0.979}
	statsB = []float64{0.975, 0.978, 0.976}
)

// c = {0.9801, 0.9789, 0.9823, 0.9775, 0.9812}, n = 5, and
// d = {0.9702, 0.9755}, n = 2: unequal sizes and variances.
//
//	mean c = 4.9/5 = 0.98; deviations +1, −11, +23, −25, +12 (×1e-4);
//	  SS = 1420e-8; variance = 355e-8; sd = √3.55e-6 = 0.0018841443681416772
//	t(0.975, 4) = 2.7764451051977943578 (mpmath)
//	  CI = 0.98 ± 2.7764451051977944·sd/√5 = [0.97766052577066009939, 0.98233947422933990061]
//	mean d = 0.97285; deviations ±0.00265; SS = variance = 1.4045e-5; sd = 0.0037476659402887019
//	t(0.975, 1) = tan(0.475π) = 12.706204736174704646 (closed form for ν = 1)
//	  CI = 0.97285 ± 12.706204736174705·sd/√2 = [0.93917855744913703269, 1.0065214425508629673]
//	Welch(c, d): vc/nc = 7.1e-7, vd/nd = 7.0225e-6, se² = 7.7325e-6
//	  t  = 0.00715/√7.7325e-6 = 2.571260495689957243
//	  df = (7.7325e-6)²/((7.1e-7)²/4 + (7.0225e-6)²/1) = 1.2093386822439889541
//	  p  = 0.19988849331609482546 (mpmath)
var (
	statsC = []float64{0.9801, 0.9789, 0.9823, 0.9775, 0.9812}
	statsD = []float64{0.9702, 0.9755}
)

func TestMeanSD(t *testing.T) {
	for _, c := range []struct {
		name     string
		xs       []float64
		mean, sd float64
	}{
		{"a", statsA, 0.981, 0.002},
		{"b", statsB, 0.97633333333333333333, 0.0015275252316519466689},
		{"c", statsC, 0.98, 0.0018841443681416771944},
		{"d", statsD, 0.97285, 0.0037476659402887018793},
	} {
		m, sd := MeanSD(c.xs)
		checkClose(t, c.name+" mean", m, c.mean)
		checkClose(t, c.name+" sd", sd, c.sd)
	}
	if m, sd := MeanSD([]float64{0.97}); m != 0.97 || !math.IsNaN(sd) {
		t.Errorf("MeanSD of one value = %v, %v; want 0.97, NaN", m, sd)
	}
	if m, sd := MeanSD(nil); !math.IsNaN(m) || !math.IsNaN(sd) {
		t.Errorf("MeanSD of nothing = %v, %v; want NaN, NaN", m, sd)
	}
}

// The Wilson intervals below were computed with mpmath at 40 digits, from
// the formula of WilsonCI95 (the mean p, v = s²/n for the interval of the
// mean and s²(1+1/n) for the prediction interval, n* = p(1−p)/v, q from
// Student's t CDF by root-finding), independently of gonum.
func TestWilsonCI95(t *testing.T) {
	for _, c := range []struct {
		name           string
		xs             []float64
		lo, hi         float64 // confidence interval of the mean
		predLo, predHi float64 // prediction interval of one more run
	}{
		{"a", statsA, 0.97535827374190167208, 0.98536942770855901229, 0.96823615444109036781, 0.98869476378918215981},
		{"b", statsB, 0.97223170858528536181, 0.97984167312898693156, 0.96747727894365527061, 0.98282067335196997425},
		{"c", statsC, 0.9775230187567126409, 0.98220898393225461345, 0.97341538915956098811, 0.98497886830071592714},
		// The Student t interval of d passes 1: [0.9392, 1.0065].
		{"d", statsD, 0.91510192338665978261, 0.991674911778213013, 0.84194307544235656948, 0.99586839254628334351},
		// Three short runs far apart, as after one epoch on 2,000 images.
		{"wide", []float64{0.6, 0.85, 0.92}, 0.31387135589224823322, 0.96868774497641339341, 0.12093778684539759232, 0.99037223968200430812},
	} {
		lo, hi := WilsonCI95(c.xs)
		checkClose(t, c.name+" CI low", lo, c.lo)
		checkClose(t, c.name+" CI high", hi, c.hi)
		lo, hi = WilsonPI95(c.xs)
		checkClose(t, c.name+" PI low", lo, c.predLo)
		checkClose(t, c.name+" PI high", hi, c.predHi)
	}
	for _, f := range []func([]float64) (float64, float64){WilsonCI95, WilsonPI95} {
		if lo, hi := f([]float64{0.97}); !math.IsNaN(lo) || !math.IsNaN(hi) {
			t.Errorf("an interval of one value = %v, %v; want NaN, NaN", lo, hi)
		}
		if lo, hi := f([]float64{0.98, 0.98, 0.98}); lo != 0.98 || hi != 0.98 {
			t.Errorf("no spread: [%v, %v], want the mean alone", lo, hi)
		}
		if lo, hi := f([]float64{1, 1}); lo != 1 || hi != 1 {
			t.Errorf("every run perfect: [%v, %v], want [1, 1]", lo, hi)
		}
	}
}

// TestWilsonStaysInside: whatever the runs, both intervals lie inside
// [0, 1] and hold the mean; for the same runs the Student t interval of the
// mean (computed here) would often pass 0 or 1.
func TestWilsonStaysInside(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	passed := 0
	for i := 0; i < 2000; i++ {
		n := 2 + rng.IntN(5)
		xs := make([]float64, n)
		for j := range xs {
			switch rng.IntN(4) {
			case 0:
				xs[j] = 1
			case 1:
				xs[j] = 0.999 + 0.001*rng.Float64()
			default:
				xs[j] = rng.Float64()
			}
		}
		mean, sd := MeanSD(xs)
		h := tQuantile975(n-1) * sd / math.Sqrt(float64(n))
		if mean-h < 0 || mean+h > 1 {
			passed++
		}
		for name, f := range map[string]func([]float64) (float64, float64){"CI": WilsonCI95, "PI": WilsonPI95} {
			lo, hi := f(xs)
			if !(0 <= lo && lo <= mean && mean <= hi && hi <= 1) {
				t.Fatalf("%s of %v = [%v, %v]: not inside [0, 1] around the mean %v", name, xs, lo, hi, mean)
			}
		}
	}
	if passed < 100 {
		t.Errorf("the Student t interval passed 0 or 1 for only %d of 2000 samples: the test draws too gently", passed)
	}
}

func TestWelch(t *testing.T) {
	for _, c := range []struct {
		name     string
		a, b     []float64
		t, df, p float64
	}{
		{"a-b", statsA, statsB, 3.2118202741878647227, 3.7409326424870466321, 0.035787488506731639197},
		{"b-a", statsB, statsA, -3.2118202741878647227, 3.7409326424870466321, 0.035787488506731639197},
		{"c-d", statsC, statsD, 2.571260495689957243, 1.2093386822439889541, 0.19988849331609482546},
	} {
		tt, df, p := Welch(c.a, c.b)
		checkClose(t, c.name+" t", tt, c.t)
		checkClose(t, c.name+" df", df, c.df)
		checkClose(t, c.name+" p", p, c.p)
	}
	if tt, df, p := Welch(statsA, []float64{0.97}); !math.IsNaN(tt) || !math.IsNaN(df) || !math.IsNaN(p) {
		t.Errorf("Welch with one run on a side = %v, %v, %v; want NaNs", tt, df, p)
	}
	// No spread on either side: equal means are no difference, different
	// means a certain one.
	same := []float64{0.98, 0.98}
	if tt, df, p := Welch(same, same); tt != 0 || !math.IsNaN(df) || p != 1 {
		t.Errorf("Welch of identical constant samples = %v, %v, %v; want 0, NaN, 1", tt, df, p)
	}
	if tt, _, p := Welch(same, []float64{0.97, 0.97}); !math.IsInf(tt, 1) || p != 0 {
		t.Errorf("Welch of different constant samples = t %v, p %v; want +Inf, 0", tt, p)
	}
}

// TestVerdict: a difference is real when p < 0.05, from both sides of the
// level: p = 0.05 is within noise, the float just below it a real
// difference.
func TestVerdict(t *testing.T) {
	below := math.Nextafter(Significance, 0)
	if got := verdict(Significance); got != "within noise (p = 0.05 ≥ 0.05)" {
		t.Errorf("verdict(0.05) = %q", got)
	}
	if got := verdict(below); got != "a real difference at the 5 % level (p = 0.049999999999999996)" {
		t.Errorf("verdict(%v) = %q", below, got)
	}
}

func TestFmtP(t *testing.T) {
	for p, want := range map[float64]string{
		0.41: "0.41", 0.003: "0.003", 0.035787: "0.036", 0.04996: "0.04996", 0.0500001: "0.05",
		0.25853213: "0.26", 1: "1", 0.00001: "< 0.0001",
	} {
		if got := fmtP(p); got != want {
			t.Errorf("fmtP(%v) = %q, want %q", p, got, want)
		}
	}
}

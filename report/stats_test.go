package report

import (
	"math"
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

func TestCI95(t *testing.T) {
	for _, c := range []struct {
		name   string
		xs     []float64
		lo, hi float64
	}{
		{"a", statsA, 0.97603172457649933786, 0.98596827542350066214},
		{"b", statsB, 0.97253875029973657214, 0.98012791636693009452},
		{"c", statsC, 0.97766052577066009939, 0.98233947422933990061},
		{"d", statsD, 0.93917855744913703269, 1.0065214425508629673},
	} {
		lo, hi := CI95(c.xs)
		checkClose(t, c.name+" CI low", lo, c.lo)
		checkClose(t, c.name+" CI high", hi, c.hi)
	}
	if lo, hi := CI95([]float64{0.97}); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("CI95 of one value = %v, %v; want NaN, NaN", lo, hi)
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

package report

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/regcl/regcl/model"
	"github.com/regcl/regcl/train"
)

// Reported holds the reference study's test accuracy for each of its
// methods: one run each (DESIGN.md). The baseline is regcl's addition and has
// no reported figure.
var Reported = map[string]float64{
	"l1":          0.9789,
	"l2":          0.9790,
	"dropout":     0.9817,
	"batch_norm":  0.9827,
	"elastic_net": 0.9822,
}

// Summary is what Generate found: one row per method, and the files it wrote.
type Summary struct {
	Dir     string          // the study's output folder
	Methods []MethodSummary // in report order: model.Methods first, other names after, sorted
	Files   []string        // every file written, under Dir
}

// MethodSummary holds the statistics of one method over its runs; they are
// the numbers of comparison.csv. Undefined statistics (a standard deviation or
// confidence interval from a single run, a mean over no weight statistics)
// are NaN.
type MethodSummary struct {
	Method           string
	Runs             int
	Seeds            []uint64  // one per run, ascending
	TestAccuracies   []float64 // one per run, in the order of Seeds
	MeanTestAccuracy float64
	SDTestAccuracy   float64 // sample standard deviation (n−1)
	CI95Low          float64 // Student t interval for the mean, df = n−1
	CI95High         float64
	MeanTestLoss     float64
	// MeanGeneralizationGap is the final epoch's training accuracy minus its
	// validation accuracy, averaged over runs.
	MeanGeneralizationGap float64
	// NearZeroShare is the mean over runs of the share of hidden-kernel
	// weights with |w| < train.NearZeroThreshold.
	NearZeroShare   float64
	SecondsPerEpoch float64
	Reported        float64 // the study's single-run figure; NaN when it has none
}

// group is one method's runs, as the plots and the report need them.
type group struct {
	MethodSummary
	runs []*train.Result // sorted by seed, then ID
	file string          // the method as a safe file-name stem
}

// groupRuns groups records by method, in report order, and computes each
// group's statistics.
func groupRuns(rs []*train.Result) []*group {
	byMethod := map[string][]*train.Result{}
	var names []string
	for _, r := range rs {
		m := r.Config.Method
		if _, ok := byMethod[m]; !ok {
			names = append(names, m)
		}
		byMethod[m] = append(byMethod[m], r)
	}
	sort.Slice(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
	names = model.SortedMethods(names) // stable: unknown names stay sorted, after the presets
	used := map[string]bool{}
	var gs []*group
	for _, m := range names {
		runs := byMethod[m]
		sort.SliceStable(runs, func(i, j int) bool {
			if runs[i].Config.Seed != runs[j].Config.Seed {
				return runs[i].Config.Seed < runs[j].Config.Seed
			}
			return runs[i].ID < runs[j].ID
		})
		g := &group{MethodSummary: summarize(m, runs), runs: runs, file: uniqueName(SafeName(m), used)}
		gs = append(gs, g)
	}
	return gs
}

// summarize computes one method's statistics.
func summarize(method string, runs []*train.Result) MethodSummary {
	s := MethodSummary{Method: method, Runs: len(runs), Reported: math.NaN()}
	if v, ok := Reported[method]; ok {
		s.Reported = v
	}
	var loss, gap, secs, near []float64
	for _, r := range runs {
		s.Seeds = append(s.Seeds, r.Config.Seed)
		s.TestAccuracies = append(s.TestAccuracies, r.TestAccuracy)
		loss = append(loss, r.TestLoss)
		last := r.History[len(r.History)-1]
		gap = append(gap, last.Accuracy-last.ValAccuracy)
		secs = append(secs, r.SecondsPerEpoch)
		if r.Weights.Count > 0 {
			near = append(near, r.Weights.NearZero)
		}
	}
	s.MeanTestAccuracy, s.SDTestAccuracy = MeanSD(s.TestAccuracies)
	s.CI95Low, s.CI95High = CI95(s.TestAccuracies)
	s.MeanTestLoss, _ = MeanSD(loss)
	s.MeanGeneralizationGap, _ = MeanSD(gap)
	s.NearZeroShare, _ = MeanSD(near)
	s.SecondsPerEpoch, _ = MeanSD(secs)
	return s
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// SafeName is name with every character outside [A-Za-z0-9._-] replaced by
// '_', fit for a file name: "baseline+l1=1e-05" becomes "baseline_l1_1e-05".
func SafeName(name string) string {
	s := unsafeChars.ReplaceAllString(name, "_")
	if s == "" || s == "." || s == ".." {
		s = "_" + s
	}
	return s
}

// uniqueName returns s, or s-2, s-3, … when two methods map to the same
// safe name.
func uniqueName(s string, used map[string]bool) string {
	name := s
	for i := 2; used[name]; i++ {
		name = fmt.Sprintf("%s-%d", s, i)
	}
	used[name] = true
	return name
}

// Table is the summary as an aligned plain-text table, one line per method.
func (s *Summary) Table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "method\truns\ttest acc\tsd\t95% CI\ttest loss\tgap\tnear zero\ts/epoch\tstudy")
	for _, m := range s.Methods {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Method, m.Runs,
			fmtFixed(m.MeanTestAccuracy, 4, "-"), fmtFixed(m.SDTestAccuracy, 4, "-"),
			fmtCI(m.CI95Low, m.CI95High, "-"), fmtFixed(m.MeanTestLoss, 4, "-"),
			fmtFixed(m.MeanGeneralizationGap, 4, "-"), fmtFixed(m.NearZeroShare, 4, "-"),
			fmtFixed(m.SecondsPerEpoch, 2, "-"), fmtFixed(m.Reported, 4, "-"))
	}
	w.Flush()
	return b.String()
}

// fmtFixed formats v with prec decimals, or returns none for NaN and ±Inf.
func fmtFixed(v float64, prec int, none string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return none
	}
	s := fmt.Sprintf("%.*f", prec, v)
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-") // no "-0.0000"
	}
	return s
}

func fmtCI(lo, hi float64, none string) string {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return none
	}
	return fmt.Sprintf("[%.4f, %.4f]", lo, hi)
}

// naturalLess orders method names part by part ("+"-separated, then "k=v"),
// comparing values numerically where both are numbers, so that a sweep's
// "l1=1e-05" comes before "l1=0.0001".
func naturalLess(a, b string) bool {
	pa, pb := strings.Split(a, "+"), strings.Split(b, "+")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] == pb[i] {
			continue
		}
		ka, va, _ := strings.Cut(pa[i], "=")
		kb, vb, _ := strings.Cut(pb[i], "=")
		if ka == kb {
			fa, ea := strconv.ParseFloat(va, 64)
			fb, eb := strconv.ParseFloat(vb, 64)
			if ea == nil && eb == nil && fa != fb {
				return fa < fb
			}
		}
		return pa[i] < pb[i]
	}
	return len(pa) < len(pb)
}

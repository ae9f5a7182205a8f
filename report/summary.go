package report

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/regcl/regcl/train"
)

// Reported holds the reference study's test accuracy for each of its
// methods: one run each, of the study's setup (DESIGN.md, "The study"). The
// baseline is regcl's addition and has no reported figure.
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
	Methods []MethodSummary // in report order (see groupRuns)
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
	CI95Low          float64 // Wilson score interval of the mean accuracy (WilsonCI95)
	CI95High         float64
	MeanTestLoss     float64
	// MeanGeneralizationGap is the final epoch's training accuracy minus its
	// validation accuracy, averaged over runs.
	MeanGeneralizationGap float64
	// NearZeroShare is the mean over runs of the share of hidden-kernel
	// weights with |w| < train.NearZeroThreshold.
	NearZeroShare   float64
	SecondsPerEpoch float64
	// Reported is the study's single-run figure for the method, where the
	// runs' setup is the study's own (studySetup); NaN otherwise.
	Reported float64
	// SetupDiffers says, for a method of the study trained in another
	// setup, how the setup differs ("epochs=1, train_size=2000"); the study's
	// figure is then not compared. Empty otherwise.
	SetupDiffers string
}

// group is one method's runs, as the plots and the report need them.
type group struct {
	MethodSummary
	preset string          // the runs' preset ("" for a custom name of an older regcl)
	over   train.Overrides // what the method changes of the preset, as the study shows it
	cfg    train.Config    // the first run's configuration, normalized
	runs   []*train.Result // sorted by seed, then ID
	file   string          // the method as a safe file-name stem
}

// groupRuns groups records by method, in report order, and computes each
// group's statistics. A method is a run's label without the training
// settings that every record shares (train.StudyLabels): the runs of a compare
// on 1,000 images are "l1" and "dropout", a sweep over learning rates keeps
// "lr=…". The order: presets unchanged first, as model.Methods lists them,
// then the other methods by preset and by the value of each setting
// (train.CompareSettings), so that a sweep's strengths come in numeric order.
func groupRuns(rs []*train.Result) []*group {
	cfgs := make([]train.Config, len(rs))
	for i, r := range rs {
		cfgs[i] = r.Config.Normalize()
	}
	over, labels := train.StudyOverrides(cfgs), train.StudyLabels(cfgs)
	byLabel := map[string]*group{}
	var gs []*group
	for i, r := range rs {
		g := byLabel[labels[i]]
		if g == nil {
			c := cfgs[i]
			c.Seed = 0
			g = &group{MethodSummary: MethodSummary{Method: labels[i]}, preset: c.Preset, over: over[i], cfg: c}
			byLabel[labels[i]] = g
			gs = append(gs, g)
		}
		g.runs = append(g.runs, r)
	}
	plain := func(g *group) bool { return g.preset != "" && g.over.IsZero() }
	sort.SliceStable(gs, func(i, j int) bool {
		a, b := gs[i], gs[j]
		if plain(a) != plain(b) {
			return plain(a)
		}
		if c := train.CompareSettings(a.cfg, b.cfg); c != 0 {
			return c < 0
		}
		return a.Method < b.Method
	})
	used := map[string]bool{}
	for _, g := range gs {
		runs := g.runs
		sort.SliceStable(runs, func(i, j int) bool {
			if runs[i].Config.Seed != runs[j].Config.Seed {
				return runs[i].Config.Seed < runs[j].Config.Seed
			}
			return runs[i].ID < runs[j].ID
		})
		g.MethodSummary = summarize(g.Method, runs)
		if _, ok := Reported[g.Method]; ok {
			if d := setupDiffers(g); d != "" {
				g.Reported, g.SetupDiffers = math.NaN(), d
			}
		}
		g.file = uniqueName(SafeName(g.Method), used)
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
	s.CI95Low, s.CI95High = WilsonCI95(s.TestAccuracies)
	s.MeanTestLoss, _ = MeanSD(loss)
	s.MeanGeneralizationGap, _ = MeanSD(gap)
	s.NearZeroShare, _ = MeanSD(near)
	s.SecondsPerEpoch, _ = MeanSD(secs)
	return s
}

// setupDiffers says how the setup of a group's runs differs from the
// study's, or "" when it is the study's own: the preset's network, 20
// epochs, batch 128, learning rate 1e-3, validation split 0.1, all 60,000
// training images (the normalized configuration has no override at all),
// and MNIST with its hashes checked.
func setupDiffers(g *group) string {
	var d []string
	if g.preset != "" {
		d = append(d, strings.Split(g.cfg.Overrides.Label(""), "+")[1:]...)
	}
	for _, r := range g.runs {
		if r.UnverifiedData {
			d = append(d, "data not checked against MNIST's hashes (--no-verify)")
			break
		}
	}
	return strings.Join(d, ", ")
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

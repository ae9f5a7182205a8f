package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/regcl/regcl/internal/plural"
	"github.com/regcl/regcl/train"
)

// Significance is the level of the Welch tests in report.md.
const Significance = 0.05

// markdown is report.md: a pure function of the records.
func markdown(rs []*train.Result, gs []*group, figs []figure, source string) []byte {
	var b strings.Builder
	b.WriteString("# Regularization methods on MNIST: regcl report\n\n")
	counts := plural.Count(len(rs), "run", "runs") + " of " + plural.Count(len(gs), "method", "methods")
	if source == "" {
		fmt.Fprintf(&b, "%s.\n\n", counts)
	} else {
		fmt.Fprintf(&b, "%s, from the records in `%s`.\n\n", counts, source)
	}
	writeSetup(&b, rs, gs)
	writeResults(&b, gs)
	writeFigures(&b, figs)
	writeTests(&b, gs)
	writeStudy(&b, gs)
	return []byte(b.String())
}

// ---- setup ----

func writeSetup(b *strings.Builder, rs []*train.Result, gs []*group) {
	b.WriteString("## Setup\n\n")
	var epochs, batch, lr, split, size, devices []string
	var seconds []float64
	var first, last time.Time
	for _, r := range rs {
		c := r.Config
		epochs = append(epochs, strconv.Itoa(c.Epochs))
		batch = append(batch, strconv.Itoa(c.BatchSize))
		lr = append(lr, strconv.FormatFloat(c.LR, 'g', -1, 64))
		split = append(split, strconv.FormatFloat(c.ValidationSplit, 'g', -1, 64))
		if c.TrainSize == 0 {
			size = append(size, "all")
		} else {
			size = append(size, "the first "+strconv.Itoa(c.TrainSize))
		}
		devices = append(devices, r.Device)
		seconds = append(seconds, runSeconds(r))
		if !r.Started.IsZero() && (first.IsZero() || r.Started.Before(first)) {
			first = r.Started
		}
		if r.Finished.After(last) {
			last = r.Finished
		}
	}
	epochsText := "epochs " + distinct(epochs)
	if u := uniq(epochs); len(u) == 1 {
		n, _ := strconv.Atoi(u[0])
		epochsText = plural.Count(n, "epoch", "epochs")
	}
	fmt.Fprintf(b, "- Training: %s, batch size %s, Adam with learning rate %s.\n",
		epochsText, distinct(batch), distinct(lr))
	fmt.Fprintf(b, "- Data: MNIST; training images: %s; validation split %s (the last part of the training images validates, the rest trains); test: the 10,000 test images.\n",
		distinct(size), distinct(split))
	fmt.Fprintf(b, "- %s: %s.\n", plural.Word(len(uniq(devices)), "Device", "Devices"), distinct(devices))
	total := 0.0
	for _, s := range seconds {
		total += s
	}
	mean, _ := MeanSD(seconds)
	lo, hi := minMax(seconds)
	fmt.Fprintf(b, "- Training time: %s in all over %s; %s per run on average (%s to %s).\n",
		fmtDuration(total), plural.Count(len(rs), "run", "runs"), fmtDuration(mean), fmtDuration(lo), fmtDuration(hi))
	if !first.IsZero() && !last.IsZero() {
		fmt.Fprintf(b, "- Runs: the first started %s, the last finished %s (UTC).\n",
			first.UTC().Format("2006-01-02 15:04:05"), last.UTC().Format("2006-01-02 15:04:05"))
	}
	b.WriteString("\n| method | network | runs | seeds |\n|---|---|---:|---|\n")
	for _, g := range gs {
		var nets, seeds []string
		for _, r := range g.runs {
			nets = append(nets, r.Config.Model.Describe())
		}
		for _, s := range g.Seeds {
			seeds = append(seeds, strconv.FormatUint(s, 10))
		}
		fmt.Fprintf(b, "| %s | %s | %d | %s |\n", mdEscape(g.Method), mdEscape(distinct(nets)), g.Runs, strings.Join(seeds, ", "))
	}
	b.WriteString("\n")
}

// runSeconds is a run's training time: the sum of its epochs' times.
func runSeconds(r *train.Result) float64 {
	s := 0.0
	for _, m := range r.History {
		s += m.Seconds
	}
	if s == 0 {
		s = r.SecondsPerEpoch * float64(len(r.History))
	}
	return s
}

// uniq returns the distinct values of xs in sorted order.
func uniq(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// distinct is the one value of xs, or its distinct values with a note that
// they differ between runs.
func distinct(xs []string) string {
	u := uniq(xs)
	if len(u) == 1 {
		return u[0]
	}
	return strings.Join(u, ", ") + " (differs between runs)"
}

func minMax(xs []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// fmtDuration writes seconds as "12.3 s" under a minute, "1h2m3s" above.
func fmtDuration(s float64) string {
	if s < 60 {
		return fmt.Sprintf("%.1f s", s)
	}
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}

// mdEscape keeps a name from breaking a markdown table or emphasis.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "*", `\*`, "`", "\\`")
	return r.Replace(s)
}

// ---- results ----

func writeResults(b *strings.Builder, gs []*group) {
	b.WriteString("## Results\n\n")
	b.WriteString("Test accuracy is the mean over seeds, with the sample standard deviation and the 95 % confidence interval of the mean: " +
		"the Wilson score interval for a proportion, with Student's t quantile (n−1 degrees of freedom) for z and the effective number of trials p(1−p)/(s²/n) that the seeds' spread implies, " +
		"so that it stays inside [0, 1]; for a small spread it is close to the Student t interval of the mean. " +
		"The gap is the final epoch's training accuracy minus its validation accuracy; near-zero is the share of hidden-kernel weights with |w| < 1e-3.\n\n")
	b.WriteString("| method | runs | test accuracy | sd | 95 % CI | test loss | gap | near-zero | s/epoch | study |\n")
	b.WriteString("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|\n")
	for _, g := range gs {
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", mdEscape(g.Method), g.Runs,
			fmtFixed(g.MeanTestAccuracy, 4, "–"), fmtFixed(g.SDTestAccuracy, 4, "–"),
			fmtCI(g.CI95Low, g.CI95High, "–"), fmtFixed(g.MeanTestLoss, 4, "–"),
			fmtFixed(g.MeanGeneralizationGap, 4, "–"), fmtFixed(g.NearZeroShare, 4, "–"),
			fmtFixed(g.SecondsPerEpoch, 2, "–"), fmtFixed(g.Reported, 4, "–"))
	}
	b.WriteString("\n")
	if n := maxLanes(gs); n > 1 {
		fmt.Fprintf(b, "s/epoch is the wall time of an epoch of the computation a run trained in. "+
			"Runs trained as lanes of one computation (up to %d here) share each epoch's time, "+
			"so a method's s/epoch is its group's, not one run's cost, and methods trained in one group show the same figure.\n\n", n)
	}
}

// maxLanes is the most runs any of gs's records trained with as lanes of
// one computation (train.Result.Lanes).
func maxLanes(gs []*group) int {
	n := 0
	for _, g := range gs {
		for _, r := range g.runs {
			n = max(n, r.Lanes)
		}
	}
	return n
}

func writeFigures(b *strings.Builder, figs []figure) {
	b.WriteString("## Plots\n\n")
	for _, f := range figs {
		fmt.Fprintf(b, "![%s](%s)\n\n*%s*\n\n", strings.TrimSuffix(f.path[strings.LastIndex(f.path, "/")+1:], ".png"), f.path, f.caption)
	}
}

// ---- significance ----

// best is the group with the highest mean test accuracy (the first on ties).
func best(gs []*group) *group {
	var b *group
	for _, g := range gs {
		if b == nil || g.MeanTestAccuracy > b.MeanTestAccuracy {
			b = g
		}
	}
	return b
}

func findGroup(gs []*group, method string) *group {
	for _, g := range gs {
		if g.Method == method {
			return g
		}
	}
	return nil
}

func writeTests(b *strings.Builder, gs []*group) {
	top, base := best(gs), findGroup(gs, "baseline")
	b.WriteString("## Are the differences real?\n\n")
	fmt.Fprintf(b, "Each method's test accuracies against those of the best method (**%s**, highest mean)", mdEscape(top.Method))
	if base != nil && base != top {
		b.WriteString(" and of the unregularized **baseline**")
	}
	fmt.Fprintf(b, ", with Welch's t-test (unequal variances): t statistic, Welch–Satterthwaite degrees of freedom and two-sided p-value; "+
		"a difference counts as real at the %g %% level when p < %g.\n\n", Significance*100, Significance)
	for _, g := range gs {
		fmt.Fprintf(b, "- **%s**", mdEscape(g.Method))
		var parts []string
		if g == top {
			parts = append(parts, "the best mean test accuracy")
		} else {
			parts = append(parts, fmt.Sprintf("vs %s (best): %s", mdEscape(top.Method), welchText(g, top)))
		}
		if base != nil && g != base && base != top {
			parts = append(parts, "vs baseline: "+welchText(g, base))
		}
		b.WriteString(": " + strings.Join(parts, "; ") + ".\n")
	}
	b.WriteString("\n" + powerNote(gs) + "\n\n")
}

// welchText is the Welch test of a's test accuracies against b's, in words.
func welchText(a, b *group) string {
	if a.Runs < 2 || b.Runs < 2 {
		return fmt.Sprintf("not enough runs (%s has %d, %s has %d; Welch's test needs at least 2 on each side)",
			mdEscape(a.Method), a.Runs, mdEscape(b.Method), b.Runs)
	}
	t, df, p := Welch(a.TestAccuracies, b.TestAccuracies)
	diff := fmt.Sprintf("%+.2f pp", 100*(a.MeanTestAccuracy-b.MeanTestAccuracy))
	if math.IsNaN(df) { // neither side varies
		if p == 1 {
			return diff + ", no spread in either method's runs: no difference"
		}
		return diff + ", no spread in either method's runs: a real difference (p = 0)"
	}
	return fmt.Sprintf("%s, t = %.2f, df = %.2f, p = %s: %s", diff, t, df, fmtP(p), verdict(p))
}

// verdict says whether p shows a real difference.
func verdict(p float64) string {
	if p < Significance {
		return fmt.Sprintf("a real difference at the %g %% level (p = %s)", Significance*100, fmtP(p))
	}
	return fmt.Sprintf("within noise (p = %s ≥ %g)", fmtP(p), Significance)
}

// fmtP writes a p-value with two significant digits, more when rounding
// would carry it across the significance level, and "< 0.0001" below that.
func fmtP(p float64) string {
	if p < 1e-4 {
		return "< 0.0001"
	}
	for prec := 2; ; prec++ {
		s := strconv.FormatFloat(p, 'g', prec, 64)
		v, _ := strconv.ParseFloat(s, 64)
		if (v < Significance) == (p < Significance) || prec >= 17 {
			return s
		}
	}
}

// powerNote warns that a few seeds make weak tests, with the width of a
// confidence interval for the usual number of seeds.
func powerNote(gs []*group) string {
	counts := map[int]int{}
	n := 0
	for _, g := range gs {
		counts[g.Runs]++
		if counts[g.Runs] > counts[n] || (counts[g.Runs] == counts[n] && g.Runs > n) {
			n = g.Runs
		}
	}
	seeds := seedsText(n)
	if len(counts) > 1 {
		seeds = fmt.Sprintf("mostly %s", seedsText(n))
	}
	s := fmt.Sprintf("With %s per method these tests have low power: ", seeds)
	if n >= 2 {
		q := tQuantile975(n - 1)
		s += fmt.Sprintf("the 95 %% confidence interval of a mean of %d runs reaches %.2f seed-to-seed standard deviations either side, "+
			"so differences of a few tenths of a percentage point, the size of those between the study's methods, "+
			"are rarely shown even when they are real. ", n, q/math.Sqrt(float64(n)))
	} else {
		s += "a single run per method gives no estimate of the seed-to-seed spread at all. "
	}
	return s + "\"Within noise\" means that these runs cannot tell the methods apart, not that the methods are equal; more seeds narrow the intervals roughly as 1/√n."
}

// ---- the study ----

// studySetupText is the study's setup in words, which every figure of the
// study is for.
const studySetupText = "one run per method of 20 epochs in batches of 128, on MNIST's 60,000 training images (the last 6,000 validating), " +
	"with the 784-256-128-10 network and Adam at learning rate 0.001"

func writeStudy(b *strings.Builder, gs []*group) {
	b.WriteString("## Against the study's figures\n\n")
	b.WriteString("The reference study reports " + studySetupText + ". A method is compared with its figure only where this report's runs have that same setup. " +
		"Its single run is one draw from the seed-to-seed spread, to be judged against where a single run of the same setup falls here " +
		"(the 95 % prediction interval: the Wilson interval with the variance of one run, s²(1+1/n)), not against the confidence interval of the mean. " +
		"Differences are this report's mean minus the study's figure, in percentage points (pp).\n\n")
	var ours []*group
	seen := false
	for _, g := range gs {
		reported, ok := Reported[g.Method]
		if !ok {
			continue
		}
		seen = true
		if g.SetupDiffers != "" {
			fmt.Fprintf(b, "- **%s**: %.4f here (%s); not compared with the study's %.4f, which is for another setup: these runs differ in %s.\n",
				mdEscape(g.Method), g.MeanTestAccuracy, meanOf(g.Runs), reported, mdEscape(g.SetupDiffers))
			continue
		}
		ours = append(ours, g)
		fmt.Fprintf(b, "- **%s**: %.4f here (%s) vs %.4f reported: %+.2f pp", mdEscape(g.Method), g.MeanTestAccuracy,
			meanOf(g.Runs), g.Reported, 100*(g.MeanTestAccuracy-g.Reported))
		lo, hi := WilsonPI95(g.TestAccuracies)
		switch {
		case math.IsNaN(lo):
			b.WriteString("; one run gives no spread to judge it by.\n")
		case g.Reported >= lo && g.Reported <= hi:
			fmt.Fprintf(b, "; inside the 95 %% prediction interval for a single run, %s: consistent with these seeds.\n", fmtCI(lo, hi, ""))
		default:
			fmt.Fprintf(b, "; outside the 95 %% prediction interval for a single run, %s: unusual for these seeds.\n", fmtCI(lo, hi, ""))
		}
	}
	switch {
	case !seen:
		b.WriteString("None of these methods is in the study.\n")
		return
	case len(ours) == 0:
		b.WriteString("\nNo method here was trained in the study's setup, so none is compared with its figures.\n")
		return
	}
	study := append([]*group(nil), ours...)
	sort.SliceStable(study, func(i, j int) bool { return study[i].Reported > study[j].Reported })
	sort.SliceStable(ours, func(i, j int) bool { return ours[i].MeanTestAccuracy > ours[j].MeanTestAccuracy })
	if len(ours) > 1 {
		fmt.Fprintf(b, "\nRanking by test accuracy, here: %s; in the study: %s.\n", ranking(ours), ranking(study))
	}
}

func meanOf(runs int) string {
	if runs == 1 {
		return "one run"
	}
	return fmt.Sprintf("mean of %d seeds", runs)
}

func ranking(gs []*group) string {
	var names []string
	for _, g := range gs {
		names = append(names, mdEscape(g.Method))
	}
	return strings.Join(names, " > ")
}

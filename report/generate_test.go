package report

import (
	"bytes"
	"encoding/csv"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/train"
)

// run is a synthetic finished run: its final epoch has the given training
// and validation accuracy, and earlier epochs lead up to it.
type run struct {
	method              string
	seed                uint64
	acc, loss           float64 // test
	finalAcc, finalVal  float64 // last epoch's training and validation accuracy
	nearZero, secsEpoch float64
}

// config is the configuration of a method given as its label ("l1",
// "baseline+l1=1e-05"), as train.NewConfig makes it.
func config(t *testing.T, label string, seed uint64, epochs int) train.Config {
	t.Helper()
	preset, rest, _ := strings.Cut(label, "+")
	o := train.Overrides{Epochs: &epochs}
	for _, kv := range strings.Split(rest, "+") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		switch k {
		case "l1":
			o.L1 = &f
		case "l2":
			o.L2 = &f
		case "dropout":
			o.Dropout = &f
		default:
			t.Fatalf("%s: no override %s in these tests", label, k)
		}
	}
	c, err := train.NewConfig(preset, o, seed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (r run) result(t *testing.T, epochs int) *train.Result {
	t.Helper()
	cfg := config(t, r.method, r.seed, epochs)
	var h []train.EpochMetrics
	for e := 1; e <= epochs; e++ {
		f := float64(epochs-e) * 0.01 // distance from the end
		h = append(h, train.EpochMetrics{Epoch: e, Accuracy: r.finalAcc - f, ValAccuracy: r.finalVal - f/2,
			Loss: 0.05 + f, ValLoss: 0.08 + f/2, Seconds: r.secsEpoch})
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(r.seed) * time.Hour)
	return &train.Result{ID: cfg.ID(), Config: cfg, Device: "cpu (gonum)", History: h,
		TestLoss: r.loss, TestAccuracy: r.acc, SecondsPerEpoch: r.secsEpoch,
		Weights: train.WeightStats{Count: 1000, NearZero: r.nearZero, HistMin: -8,
			Hist: []int{int(1000 * r.nearZero), 0, 0, 0, 0, 50, 200, 700 - int(1000*r.nearZero), 50}},
		Started: start, Finished: start.Add(time.Duration(float64(epochs)*r.secsEpoch) * time.Second)}
}

// writeRecords writes the records into the study folder dir where, and as,
// a finished run writes its own (train.Run with study.Dir's RecordPath).
func writeRecords(t *testing.T, dir string, rs []*train.Result) {
	t.Helper()
	d := study.Open(dir)
	for _, r := range rs {
		if err := train.WriteJSON(d.RecordPath(r.Config), r); err != nil {
			t.Fatal(err)
		}
	}
}

// generate draws the report of the study folder dir.
func generate(dir string) (*Summary, error) { return FromStudy(study.Open(dir)) }

const custom = "baseline+l1=1e-05"

// The small study: two methods with two seeds each, and a custom mix with a
// single run, all of 3 epochs (so not the study's setup). Hand-computed
// statistics (t(0.975, 1) = tan(0.475π) = 12.706204736174705), the Wilson
// intervals with mpmath (see TestWilsonCI95):
//
//	baseline: acc 0.975, 0.979 → mean 0.977, sd = 0.004/√2 = 0.0028284271,
//	  CI = Wilson with v = 4e-6, n* = 0.977·0.023/4e-6 = 5617.75: [0.9352964066, 0.9920526538]
//	  (the Student t interval 0.977 ± 12.7062047·0.002 would be [0.9516, 1.0024]);
//	  loss (0.10+0.12)/2 = 0.11; gaps 0.995−0.975 = 0.020, 0.997−0.973 = 0.024 → 0.022;
//	  near zero (0.01+0.03)/2 = 0.02; s/epoch (1.5+2.5)/2 = 2
//	l1: acc 0.980, 0.982 → mean 0.981, sd = 0.002/√2 = 0.0014142136,
//	  CI = Wilson with v = 1e-6: [0.9635606975, 0.9901781892];
//	  loss 0.08; gaps 0.012, 0.012 → 0.012; near zero 0.35; s/epoch 3
//	custom: one run, acc 0.9806, loss 0.08, gap 0.99−0.98 = 0.01, near zero 0.1, s/epoch 3
//	Welch(baseline, l1): t = −0.004/√(8e-6/2 + 2e-6/2) = −1.7888543820,
//	  df = (5e-6)²/((4e-6)² + (1e-6)²) = 25/17 = 1.4705882353, p = 0.2585321337 (mpmath)
func smallStudy(t *testing.T) []*train.Result {
	runs := []run{
		{"baseline", 1, 0.975, 0.10, 0.995, 0.975, 0.01, 1.5},
		{"baseline", 2, 0.979, 0.12, 0.997, 0.973, 0.03, 2.5},
		{"l1", 1, 0.980, 0.07, 0.990, 0.978, 0.30, 2},
		{"l1", 2, 0.982, 0.09, 0.992, 0.980, 0.40, 4},
		{custom, 1, 0.9806, 0.08, 0.990, 0.980, 0.10, 3},
	}
	var rs []*train.Result
	for _, r := range runs {
		rs = append(rs, r.result(t, 3))
	}
	return rs
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	writeRecords(t, dir, smallStudy(t))
	s, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}

	// Every file is there, and the summary lists it.
	want := []string{study.SummaryCSV, study.ComparisonCSV, study.ReportMD}
	// baseline and baseline+l1=1e-05 differ only in λ1: a sweep over it.
	pngs := []string{"test_accuracy.png", "validation_accuracy.png", "weights.png", "accuracy_vs_l1.png"}
	for _, m := range []string{"baseline", "l1", "baseline_l1_1e-05"} {
		pngs = append(pngs, m+"_accuracy.png", m+"_loss.png")
	}
	for _, p := range pngs {
		want = append(want, filepath.Join(study.AssetsDir, p))
	}
	listed := map[string]bool{}
	for _, f := range s.Files {
		listed[f] = true
	}
	for _, w := range want {
		path := filepath.Join(dir, w)
		if _, err := os.Stat(path); err != nil {
			t.Errorf("missing %s: %v", w, err)
		}
		if !listed[path] {
			t.Errorf("Summary.Files does not list %s", path)
		}
	}
	if len(s.Files) != len(want) {
		t.Errorf("Summary.Files has %d files, want %d: %v", len(s.Files), len(want), s.Files)
	}

	// Every plot is a PNG of the stated size.
	for _, p := range pngs {
		checkPNG(t, filepath.Join(dir, study.AssetsDir, p))
	}

	// results_summary.csv, byte for byte.
	got, _ := os.ReadFile(filepath.Join(dir, study.SummaryCSV))
	wantSummary := "method,test_accuracy,note\n" +
		"baseline,0.9770,\"mean of 2 seeds, sd 0.0028; added by regcl\"\n" +
		"l1,0.9810,\"mean of 2 seeds, sd 0.0014; the study's 0.9789 is for another setup (here epochs=3)\"\n" +
		"baseline+l1=1e-05,0.9806,single run; not in the study\n"
	if string(got) != wantSummary {
		t.Errorf("results_summary.csv:\n%s\nwant:\n%s", got, wantSummary)
	}

	// comparison.csv, against the hand-computed numbers (written with six
	// decimals, so compared to 5e-7).
	rows := readCSV(t, filepath.Join(dir, study.ComparisonCSV))
	if strings.Join(rows[0], ",") != strings.Join(ComparisonHeader, ",") {
		t.Errorf("comparison.csv header %v, want %v", rows[0], ComparisonHeader)
	}
	nan := math.NaN()
	wantRows := [][]float64{
		// runs, mean, sd, ci low, ci high, loss, gap, near zero, s/epoch
		{2, 0.977, 0.0028284271, 0.9352964066, 0.9920526538, 0.11, 0.022, 0.02, 2},
		{2, 0.981, 0.0014142136, 0.9635606975, 0.9901781892, 0.08, 0.012, 0.35, 3},
		{1, 0.9806, nan, nan, nan, 0.08, 0.01, 0.1, 3},
	}
	methods := []string{"baseline", "l1", custom}
	if len(rows) != len(wantRows)+1 {
		t.Fatalf("comparison.csv has %d rows, want %d", len(rows), len(wantRows)+1)
	}
	for i, w := range wantRows {
		row := rows[i+1]
		if row[0] != methods[i] {
			t.Errorf("row %d is %s, want %s", i+1, row[0], methods[i])
		}
		for j, v := range w {
			field := row[j+1]
			if math.IsNaN(v) {
				if field != "" {
					t.Errorf("%s %s = %q, want an empty field", row[0], ComparisonHeader[j+1], field)
				}
				continue
			}
			x, err := strconv.ParseFloat(field, 64)
			if err != nil || math.Abs(x-v) > 5e-7 {
				t.Errorf("%s %s = %q, want %v", row[0], ComparisonHeader[j+1], field, v)
			}
		}
	}
	if m := s.Methods[1]; m.Method != "l1" || m.Runs != 2 || math.Abs(m.MeanTestAccuracy-0.981) > 1e-12 {
		t.Errorf("Summary.Methods[1] = %+v", m)
	}

	// report.md names every method, and says what the tests say.
	md, _ := os.ReadFile(filepath.Join(dir, study.ReportMD))
	for _, want := range []string{
		"**baseline**", "**l1**", "**" + custom + "**",
		"784-256-128-10 l1=0.0001",
		"vs l1 (best): -0.40 pp, t = -1.79, df = 1.47, p = 0.26: within noise (p = 0.26 ≥ 0.05)",
		"vs baseline: +0.40 pp, t = 1.79, df = 1.47, p = 0.26: within noise (p = 0.26 ≥ 0.05)",
		"not enough runs (" + custom + " has 1, l1 has 2; Welch's test needs at least 2 on each side)",
		"not enough runs (" + custom + " has 1, baseline has 2;",
		"low power",
		"**l1**: 0.9810 here (mean of 2 seeds); not compared with the study's 0.9789, which is for another setup: these runs differ in epochs=3.",
		"No method here was trained in the study's setup, so none is compared with its figures.",

		"](assets/test_accuracy.png)", "](assets/weights.png)", "](assets/baseline_l1_1e-05_loss.png)",
		"| baseline | 2 | 0.9770 | 0.0028 | [0.9353, 0.9921] |",
		"| l1 | 2 | 0.9810 | 0.0014 | [0.9636, 0.9902] | 0.0800 | 0.0120 | 0.3500 | 3.00 | – |",
		"5 runs of 3 methods, from the records in `runs/`.",
		"- Training: 3 epochs, batch size 128",
		"- Device: cpu (gonum).",
	} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if bytes.Contains(md, []byte("NaN")) {
		t.Errorf("report.md shows a NaN:\n%s", md)
	}
	for _, f := range []string{study.SummaryCSV, study.ComparisonCSV} {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); bytes.Contains(b, []byte("NaN")) {
			t.Errorf("%s shows a NaN:\n%s", f, b)
		}
	}

	// The table the CLI prints.
	tab := s.Table()
	if !strings.Contains(tab, "method") || !strings.Contains(tab, custom) || strings.Count(tab, "\n") != 4 {
		t.Errorf("Table():\n%s", tab)
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if b := img.Bounds(); b.Dx() != PlotPixelsWide || b.Dy() != PlotPixelsHigh {
		t.Errorf("%s is %dx%d pixels, want %dx%d", path, b.Dx(), b.Dy(), PlotPixelsWide, PlotPixelsHigh)
	}
}

func TestPlotPixelsMatchSize(t *testing.T) {
	if w := int(math.Round(float64(PlotWidth) / 72 * PlotDPI)); w != PlotPixelsWide {
		t.Errorf("PlotWidth at PlotDPI is %d pixels, PlotPixelsWide says %d", w, PlotPixelsWide)
	}
	if h := int(math.Round(float64(PlotHeight) / 72 * PlotDPI)); h != PlotPixelsHigh {
		t.Errorf("PlotHeight at PlotDPI is %d pixels, PlotPixelsHigh says %d", h, PlotPixelsHigh)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	writeRecords(t, dir, smallStudy(t))
	read := func() map[string][]byte {
		if _, err := generate(dir); err != nil {
			t.Fatal(err)
		}
		out := map[string][]byte{}
		for _, f := range []string{study.SummaryCSV, study.ComparisonCSV, study.ReportMD} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			out[f] = b
		}
		return out
	}
	first, second := read(), read()
	for f, b := range first {
		if !bytes.Equal(b, second[f]) {
			t.Errorf("%s differs between two runs of Generate", f)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	empty := t.TempDir()
	if _, err := generate(empty); err == nil || !strings.Contains(err.Error(), "no run records") {
		t.Errorf("Generate of an empty folder: %v, want a 'no run records' error", err)
	}
	if _, err := generate(filepath.Join(empty, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Generate of a missing folder: %v, want an error naming it", err)
	}

	dir := t.TempDir()
	writeRecords(t, dir, smallStudy(t))
	bad := filepath.Join(dir, study.RecordsDir, "zz-corrupt.json")
	if err := os.WriteFile(bad, []byte(`{"id": "x", "history": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := generate(dir)
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("Generate with a corrupt record: %v, want an error naming %s", err, bad)
	}
	if _, statErr := os.Stat(filepath.Join(dir, study.ReportMD)); statErr == nil {
		t.Errorf("Generate wrote report.md despite a corrupt record")
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"l1": "l1", "batch_norm": "batch_norm", custom: "baseline_l1_1e-05",
		"a/b c": "a_b_c", "..": "_..", "": "_",
	} {
		if got := SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
	used := map[string]bool{}
	if a, b := uniqueName(SafeName("x+y"), used), uniqueName(SafeName("x=y"), used); a != "x_y" || b != "x_y-2" {
		t.Errorf("colliding safe names: %q, %q", a, b)
	}
}

// TestGenerateFullStudy runs Generate on a study shaped like the real one:
// six methods, three seeds, twenty epochs, weight histograms from
// train.ComputeWeightStats. Set REGCL_REPORT_OUT to a folder to keep the
// output for a look at the plots.
func TestGenerateFullStudy(t *testing.T) {
	dir := os.Getenv("REGCL_REPORT_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	final := map[string]float64{"baseline": 0.979, "l1": 0.9795, "l2": 0.980, "dropout": 0.9818,
		"batch_norm": 0.9822, "elastic_net": 0.9815}
	var rs []*train.Result
	for _, m := range []string{"baseline", "l1", "l2", "dropout", "batch_norm", "elastic_net"} {
		for seed := uint64(1); seed <= 3; seed++ {
			rs = append(rs, fullRun(t, rng, m, seed, final[m]))
		}
	}
	writeRecords(t, dir, rs)
	s, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range s.Files {
		if strings.HasSuffix(f, ".png") {
			checkPNG(t, f)
		}
	}
	if l1 := s.Methods[1]; l1.Method != "l1" || l1.NearZeroShare < 0.2 {
		t.Errorf("l1's near-zero share %v: the synthetic L1 weights should be sparse", l1.NearZeroShare)
	}
	t.Logf("\n%s", s.Table())
}

// fullRun is a plausible run: learning curves that flatten out, validation
// below training for the unregularized nets, and L1 pushing weights to zero.
func fullRun(t *testing.T, rng *rand.Rand, method string, seed uint64, final float64) *train.Result {
	t.Helper()
	cfg, err := train.Defaults(method)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = seed
	over := map[string]float64{"baseline": 1, "l1": 0.6, "l2": 0.6, "dropout": 0.2, "batch_norm": 0.8, "elastic_net": 0.5}[method]
	var h []train.EpochMetrics
	for e := 1; e <= cfg.Epochs; e++ {
		x := float64(e)
		acc := 0.995 - 0.07*math.Exp(-x/2.5) + (over-0.5)*0.006*(1-math.Exp(-x/6)) + rng.NormFloat64()*0.0005
		val := final - 0.02*math.Exp(-x/2) + rng.NormFloat64()*0.0012
		loss := 0.02 + 0.25*math.Exp(-x/2.5) + rng.NormFloat64()*0.002
		vloss := 0.075 + 0.08*math.Exp(-x/2) + over*0.004*x + rng.NormFloat64()*0.003
		h = append(h, train.EpochMetrics{Epoch: e, Accuracy: acc, ValAccuracy: val, Loss: loss, ValLoss: vloss,
			Seconds: 2 + rng.Float64()})
	}
	w := make([]float32, 784*256+256*128)
	for i := range w {
		v := (rng.Float64()*2 - 1) * 0.08
		switch {
		case method == "l1" && rng.Float64() < 0.45:
			v = math.Pow(10, -7+4*rng.Float64()) // pruned: 1e-7 … 1e-3
		case method == "elastic_net" && rng.Float64() < 0.15:
			v = math.Pow(10, -6+3*rng.Float64())
		}
		w[i] = float32(v)
	}
	secs := 0.0
	for _, m := range h {
		secs += m.Seconds
	}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(seed) * time.Hour)
	return &train.Result{ID: cfg.ID(), Config: cfg, Device: "NVIDIA H200 (OpenCL)", History: h,
		TestAccuracy: final + rng.NormFloat64()*0.0012, TestLoss: h[len(h)-1].ValLoss + 0.005,
		SecondsPerEpoch: secs / float64(len(h)), Weights: train.ComputeWeightStats([][]float32{w}),
		Started: start, Finished: start.Add(time.Duration(secs * float64(time.Second)))}
}

// TestStudyComparisonNeedsTheStudysSetup: a method of the study is compared
// with the study's figure only when its runs have the study's setup (20
// epochs, batch 128, all 60,000 images, learning rate 1e-3, split 0.1, the
// preset's network, MNIST with its hashes checked); one setting off, and the
// report says how the setup differs instead, in report.md, in
// results_summary.csv and in the table's study column.
func TestStudyComparisonNeedsTheStudysSetup(t *testing.T) {
	ptr := func(v int) *int { return &v }
	for _, c := range []struct {
		name       string
		over       train.Overrides // on top of the l1 preset
		unverified bool
		differs    string // "" when the setup is the study's
	}{
		{"the study's setup", train.Overrides{}, false, ""},
		{"20 epochs given explicitly", train.Overrides{Epochs: ptr(20)}, false, ""},
		{"19 epochs", train.Overrides{Epochs: ptr(19)}, false, "epochs=19"},
		{"one image fewer", train.Overrides{TrainSize: ptr(59999)}, false, "train_size=59999"},
		{"batch 127 on 2,000 images", train.Overrides{BatchSize: ptr(127), TrainSize: ptr(2000)}, false, "batch_size=127, train_size=2000"},
		{"unverified data", train.Overrides{}, true, "data not checked against MNIST's hashes (--no-verify)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var rs []*train.Result
			for i, acc := range []float64{0.980, 0.982} {
				cfg, err := train.NewConfig("l1", c.over, uint64(i+1))
				if err != nil {
					t.Fatal(err)
				}
				rs = append(rs, &train.Result{ID: cfg.ID(), Config: cfg, Device: "cpu (gonum)", TestAccuracy: acc, TestLoss: 0.08,
					History: []train.EpochMetrics{{Epoch: 1, Accuracy: 0.99, ValAccuracy: 0.98, Seconds: 1}}, UnverifiedData: c.unverified})
			}
			dir := t.TempDir()
			writeRecords(t, dir, rs)
			s, err := generate(dir)
			if err != nil {
				t.Fatal(err)
			}
			md, _ := os.ReadFile(filepath.Join(dir, study.ReportMD))
			sum, _ := os.ReadFile(filepath.Join(dir, study.SummaryCSV))
			m := s.Methods[0]
			if c.differs == "" {
				// PI: Wilson with v = s²(1+1/n) = 1.5e-6: [0.9439079731, 0.9937271506] (mpmath).
				for _, want := range []string{"**l1**: 0.9810 here (mean of 2 seeds) vs 0.9789 reported: +0.21 pp; " +
					"inside the 95 % prediction interval for a single run, [0.9439, 0.9937]: consistent with these seeds."} {
					if !bytes.Contains(md, []byte(want)) {
						t.Errorf("report.md lacks %q:\n%s", want, md)
					}
				}
				if m.Reported != 0.9789 || m.SetupDiffers != "" || !bytes.Contains(sum, []byte("study reported 0.9789")) {
					t.Errorf("Reported %v, SetupDiffers %q; results_summary.csv:\n%s", m.Reported, m.SetupDiffers, sum)
				}
				return
			}
			want := "**l1**: 0.9810 here (mean of 2 seeds); not compared with the study's 0.9789, which is for another setup: these runs differ in " + c.differs + "."
			if !bytes.Contains(md, []byte(want)) || bytes.Contains(md, []byte("reported: ")) || bytes.Contains(md, []byte("prediction interval for a single run, [")) {
				t.Errorf("report.md lacks %q, or compares anyway:\n%s", want, md)
			}
			if !math.IsNaN(m.Reported) || m.SetupDiffers != c.differs {
				t.Errorf("Reported %v, SetupDiffers %q; want NaN, %q", m.Reported, m.SetupDiffers, c.differs)
			}
			if !bytes.Contains(sum, []byte("the study's 0.9789 is for another setup (here "+c.differs+")")) {
				t.Errorf("results_summary.csv:\n%s", sum)
			}
			if tab := s.Table(); !strings.HasSuffix(strings.TrimSpace(tab), "-") {
				t.Errorf("the table's study column shows a figure:\n%s", tab)
			}
		})
	}
}

// TestLanesSecondsSaid: where runs trained as lanes of one computation, the
// report says that s/epoch is their group's; where none did, it says nothing.
func TestLanesSecondsSaid(t *testing.T) {
	for _, lanes := range []int{0, 1, 15} {
		dir := t.TempDir()
		rs := smallStudy(t)
		for _, r := range rs {
			r.Lanes = lanes
		}
		writeRecords(t, dir, rs)
		if _, err := generate(dir); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, study.ReportMD))
		if err != nil {
			t.Fatal(err)
		}
		said := strings.Contains(string(b), "Runs trained as lanes of one computation (up to 15 here) share each epoch's time")
		if said != (lanes > 1) {
			t.Errorf("records of %d lanes: the report says s/epoch is a group's: %v, want %v", lanes, said, lanes > 1)
		}
	}
}

package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"github.com/regcl/regcl/internal/atomicfile"
	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/train"
)

// Output names the files Generate writes.
type Output struct {
	SummaryCSV    string // results_summary.csv
	ComparisonCSV string // comparison.csv
	Markdown      string // report.md
	Assets        string // the folder of the plots (report.md links them relative to itself)
	Records       string // where the records came from, as report.md names it ("" says nothing)
}

// StudyOutput is the output of a study folder's report, under the names the
// folder gives its files.
func StudyOutput(d *study.Dir) Output {
	return Output{SummaryCSV: d.SummaryCSV(), ComparisonCSV: d.ComparisonCSV(), Markdown: d.ReportMD(),
		Assets: d.AssetsDir(), Records: study.RecordsDir + "/"}
}

// ComparisonHeader is the header of comparison.csv.
var ComparisonHeader = []string{"method", "runs", "mean_test_accuracy", "sd_test_accuracy",
	"ci95_low", "ci95_high", "mean_test_loss", "mean_generalization_gap", "near_zero_share",
	"seconds_per_epoch"}

// FromStudy draws the report of a study folder from its records, into the
// folder (see the package documentation). Its errors name the folder or the
// record at fault; a folder without records is an error.
func FromStudy(d *study.Dir) (*Summary, error) {
	rs, err := d.Records()
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("no run records in %s (looked for %s)", d.Path(),
			filepath.Join(d.RecordsDir(), "*.json"))
	}
	s, err := Generate(rs, StudyOutput(d))
	if s != nil {
		s.Dir = d.Path()
	}
	return s, err
}

// Generate groups the records by method (each run's label without the
// training settings they all share) and writes the summary CSVs, the plots
// and report.md where out says. It reads nothing: every file but the PNGs is
// a pure function of the records.
func Generate(rs []*train.Result, out Output) (*Summary, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("no run records to report on")
	}
	gs := groupRuns(rs)
	s := &Summary{}
	for _, g := range gs {
		s.Methods = append(s.Methods, g.MethodSummary)
	}
	write := func(path string, data []byte) error {
		if err := atomicfile.Write(path, data); err != nil {
			return err
		}
		s.Files = append(s.Files, path)
		return nil
	}
	if err := write(out.SummaryCSV, summaryCSV(gs)); err != nil {
		return nil, err
	}
	if err := write(out.ComparisonCSV, comparisonCSV(gs)); err != nil {
		return nil, err
	}
	assets, err := filepath.Rel(filepath.Dir(out.Markdown), out.Assets)
	if err != nil {
		assets = out.Assets
	}
	figs, err := writePlots(gs, filepath.ToSlash(assets), func(name string, data []byte) error {
		return write(filepath.Join(out.Assets, name), data)
	})
	if err != nil {
		return nil, err
	}
	if err := write(out.Markdown, markdown(rs, gs, figs, out.Records)); err != nil {
		return nil, err
	}
	return s, nil
}

// summaryCSV is results_summary.csv, in the reference study's shape.
func summaryCSV(gs []*group) []byte {
	rows := [][]string{{"method", "test_accuracy", "note"}}
	for _, g := range gs {
		note := "single run"
		if g.Runs > 1 {
			note = fmt.Sprintf("mean of %d seeds, sd %.4f", g.Runs, g.SDTestAccuracy)
		}
		switch {
		case !math.IsNaN(g.Reported):
			note += fmt.Sprintf("; study reported %.4f", g.Reported)
		case g.SetupDiffers != "":
			note += fmt.Sprintf("; the study's %.4f is for another setup (here %s)", Reported[g.Method], g.SetupDiffers)
		case g.Method == "baseline":
			note += "; added by regcl"
		default:
			note += "; not in the study"
		}
		rows = append(rows, []string{g.Method, fmtFixed(g.MeanTestAccuracy, 4, ""), note})
	}
	return csvBytes(rows)
}

// comparisonCSV is comparison.csv: the MethodSummary numbers, with empty
// fields where a statistic is undefined.
func comparisonCSV(gs []*group) []byte {
	rows := [][]string{ComparisonHeader}
	for _, g := range gs {
		rows = append(rows, []string{g.Method, strconv.Itoa(g.Runs),
			csvFloat(g.MeanTestAccuracy), csvFloat(g.SDTestAccuracy),
			csvFloat(g.CI95Low), csvFloat(g.CI95High), csvFloat(g.MeanTestLoss),
			csvFloat(g.MeanGeneralizationGap), csvFloat(g.NearZeroShare),
			fmtFixed(g.SecondsPerEpoch, 3, "")})
	}
	return csvBytes(rows)
}

func csvFloat(v float64) string { return fmtFixed(v, 6, "") }

func csvBytes(rows [][]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.WriteAll(rows) // a bytes.Buffer does not fail
	return b.Bytes()
}

var errNoData = errors.New("no data")

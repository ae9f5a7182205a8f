package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/regcl/regcl/internal/atomicfile"
	"github.com/regcl/regcl/train"
)

// Names of the files Generate writes under the study's folder.
const (
	SummaryCSV    = "results_summary.csv"
	ComparisonCSV = "comparison.csv"
	ReportMD      = "report.md"
	AssetsDir     = "assets"
)

// ComparisonHeader is the header of comparison.csv.
var ComparisonHeader = []string{"method", "runs", "mean_test_accuracy", "sd_test_accuracy",
	"ci95_low", "ci95_high", "mean_test_loss", "mean_generalization_gap", "near_zero_share",
	"seconds_per_epoch"}

// Generate reads every run record under dir (dir/runs/*.json), groups the
// runs by method and writes the summary CSVs, the plots and report.md into
// dir (see the package documentation). Its errors name the folder or file at
// fault; a folder without records is an error.
func Generate(dir string) (*Summary, error) {
	if st, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("study folder %s does not exist", dir)
	} else if err != nil {
		return nil, fmt.Errorf("reading run records: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("reading run records: %s is not a folder", dir)
	}
	rs, err := train.ReadRecords(dir)
	if err != nil {
		return nil, fmt.Errorf("reading run records: %w", err)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("no run records in %s (looked for %s)", dir,
			filepath.Join(dir, train.RecordDir, "*.json"))
	}
	gs := groupRuns(rs)
	s := &Summary{Dir: dir}
	for _, g := range gs {
		s.Methods = append(s.Methods, g.MethodSummary)
	}
	write := func(name string, data []byte) error {
		path := filepath.Join(dir, name)
		if err := atomicfile.Write(path, data); err != nil {
			return err
		}
		s.Files = append(s.Files, path)
		return nil
	}
	if err := write(SummaryCSV, summaryCSV(gs)); err != nil {
		return nil, err
	}
	if err := write(ComparisonCSV, comparisonCSV(gs)); err != nil {
		return nil, err
	}
	figs, err := writePlots(gs, func(name string, data []byte) error {
		return write(filepath.Join(AssetsDir, name), data)
	})
	if err != nil {
		return nil, err
	}
	if err := write(ReportMD, markdown(rs, gs, figs)); err != nil {
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

package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/train"
)

// TestPenaltySweep: a sweep over L1 strengths (configurations as package
// sweep makes them) gets the accuracy-against-strength plot, one line per
// method, and methods in numeric order of strength. λ = 0 is no override of
// baseline or dropout, so those runs are the plain presets.
func TestPenaltySweep(t *testing.T) {
	dir := t.TempDir()
	var runs []run
	for _, base := range []string{"baseline", "dropout"} {
		for _, l := range []string{"0", "1e-05", "0.0001"} {
			for s := uint64(1); s <= 2; s++ {
				runs = append(runs, run{base + "+l1=" + l, s, 0.97 + float64(s)/1000, 0.1, 0.99, 0.97, 0.1, 1})
			}
		}
	}
	for _, r := range runs {
		writeRecords(t, dir, []*train.Result{r.result(t, 2)})
	}
	s, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range s.Methods {
		order = append(order, m.Method)
	}
	want := "baseline dropout baseline+l1=1e-05 baseline+l1=0.0001 dropout+l1=1e-05 dropout+l1=0.0001"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("method order %s, want %s", got, want)
	}
	checkPNG(t, filepath.Join(dir, study.AssetsDir, "accuracy_vs_l1.png"))
	if _, err := os.Stat(filepath.Join(dir, study.AssetsDir, "accuracy_vs_l2.png")); err == nil {
		t.Error("accuracy_vs_l2.png drawn, but no L2 strength varies")
	}
	md, _ := os.ReadFile(filepath.Join(dir, study.ReportMD))
	if !strings.Contains(string(md), "assets/accuracy_vs_l1.png") {
		t.Error("report.md does not show the accuracy-against-strength plot")
	}
	gs := groupRuns(mustRecords(t, dir))
	fs := penaltyFamilies(gs, "l1")
	if len(fs) != 2 || fs[0].name != "baseline" || fs[1].name != "dropout" || len(fs[0].points) != 3 {
		t.Fatalf("families %+v, want baseline and dropout with 3 strengths each", fs)
	}
	if fs[0].points[0].lambda != 0 || fs[0].points[2].lambda != 1e-4 {
		t.Errorf("strengths not in order: %v, %v", fs[0].points[0].lambda, fs[0].points[2].lambda)
	}
}

func mustRecords(t *testing.T, dir string) []*train.Result {
	t.Helper()
	rs, err := study.Open(dir).Records()
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/regcl/regcl/report"
)

// compareArgs is a small study: two methods × two seeds on 1,000 training
// images for one epoch, on the CPU backend.
func compareArgs(t *testing.T, out string) []string {
	return []string{"compare", "--models", "l1,dropout", "--seeds", "2", "--train-size", "1000", "--epochs", "1",
		"--device", "cpu", "--data", realMNISTDir(t), "--out", out}
}

// TestCompareWritesEverything: every file the study promises is there, the
// plots decode at their size, report.md names every method, and running the
// same compare again trains nothing. The first compare says --lanes auto and
// --parallel 1, as its help shows the defaults: its four runs train as one
// group.
func TestCompareWritesEverything(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, exit := runRegcl(t, nil, append(compareArgs(t, out), "--lanes", "auto", "--parallel", "1")...)
	if exit != 0 {
		t.Fatalf("compare exit %d\n%s\n%s", exit, stdout, stderr)
	}
	if n := strings.Count(stdout, "[group "); n != 1 || !strings.Contains(stdout, "[group 1/1] 4 runs: l1, dropout; seeds 1–2") {
		t.Errorf("%d group lines, want one for the four runs:\n%s", n, stdout)
	}
	runs, _ := filepath.Glob(filepath.Join(out, "runs", "*.json"))
	if len(runs) != 4 {
		t.Errorf("%d run records, want 4", len(runs))
	}
	files := []string{"results_summary.csv", "comparison.csv", "report.md"}
	pngs := []string{"test_accuracy.png", "validation_accuracy.png", "weights.png",
		"l1_accuracy.png", "l1_loss.png", "dropout_accuracy.png", "dropout_loss.png"}
	for _, f := range files {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range pngs {
		b, err := os.ReadFile(filepath.Join(out, "assets", f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s does not decode: %v", f, err)
			continue
		}
		if s := img.Bounds().Size(); s.X != report.PlotPixelsWide || s.Y != report.PlotPixelsHigh {
			t.Errorf("%s is %v, want %dx%d", f, s, report.PlotPixelsWide, report.PlotPixelsHigh)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, m := range []string{"l1", "dropout"} {
		if !strings.Contains(string(md), "| "+m+" |") {
			t.Errorf("report.md does not name %s in its table", m)
		}
	}
	stdout, stderr, exit = runRegcl(t, nil, compareArgs(t, out)...)
	if exit != 0 {
		t.Fatalf("second compare exit %d\n%s", exit, stderr)
	}
	if anyEpochLine.MatchString(stdout) || !strings.Contains(stdout, "4 of 4 runs already finished") {
		t.Errorf("the second compare trained again:\n%s", stdout)
	}
}

// TestCompareKilledBetweenRuns: a compare killed with SIGKILL after its first
// run, then started again, ends with the same summary as an uninterrupted one.
// The uninterrupted and the restarted compare train their runs as the lanes
// of one group (the default), the killed one one at a time (--lanes 1), so
// that the kill falls between runs: the summary does not depend on how many
// runs trained together.
func TestCompareKilledBetweenRuns(t *testing.T) {
	whole := t.TempDir()
	if _, stderr, exit := runRegcl(t, nil, compareArgs(t, whole)...); exit != 0 {
		t.Fatalf("uninterrupted compare exit %d: %s", exit, stderr)
	}
	out := t.TempDir()
	p := startRegcl(t, "", nil, append(compareArgs(t, out), "--lanes", "1")...)
	if _, ok := p.waitLine("[group 2/4]"); !ok {
		t.Fatalf("the compare ended before its second run:\n%s", strings.Join(p.output(), "\n"))
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait()
	done, _ := filepath.Glob(filepath.Join(out, "runs", "*.json"))
	t.Logf("killed at the start of run 2 with %d record(s) written", len(done))
	if len(done) < 1 || len(done) > 2 {
		t.Fatalf("%d records after the kill, want 1 (or 2 had run 2 just finished)", len(done))
	}
	stdout, stderr, exit := runRegcl(t, nil, compareArgs(t, out)...)
	if exit != 0 {
		t.Fatalf("restarted compare exit %d: %s", exit, stderr)
	}
	if !strings.Contains(stdout, "runs already finished") {
		t.Errorf("the restarted compare did not skip the finished run:\n%s", stdout)
	}
	a, _ := os.ReadFile(filepath.Join(whole, "results_summary.csv"))
	b, _ := os.ReadFile(filepath.Join(out, "results_summary.csv"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("results_summary.csv differs:\nuninterrupted:\n%s\nkilled and restarted:\n%s", a, b)
	}
	// comparison.csv: the same but for the timing column (the last).
	ca, cb := dropLastColumn(t, filepath.Join(whole, "comparison.csv")), dropLastColumn(t, filepath.Join(out, "comparison.csv"))
	if ca != cb {
		t.Errorf("comparison.csv differs beyond seconds per epoch:\n%s\nvs\n%s", ca, cb)
	}
}

// anyEpochLine matches the epoch line of a run ("Epoch 1/2  5/5 …") or of a
// group ("epoch 1/2  4 runs …"), prefixed or not: a sign of training.
var anyEpochLine = regexp.MustCompile(`(?im)^(\[group \d+\] )?epoch \d+/\d+ `)

func dropLastColumn(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		lines = append(lines, l[:strings.LastIndex(l, ",")])
	}
	return strings.Join(lines, "\n")
}

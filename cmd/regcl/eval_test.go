package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/train"
)

var testLine = regexp.MustCompile(`(?m)^test_loss ([0-9.]+)  test_accuracy ([0-9.]+)`)

// TestTrainThenEval: `regcl train --save M` and then `regcl eval M` on the
// same device print the same test loss and accuracy, digit for digit, and
// so say the run's record and its row of the results CSV: both come from the
// one evaluator on the device.
func TestTrainThenEval(t *testing.T) {
	for _, dev := range []string{"cpu", "opencl"} {
		t.Run(dev, func(t *testing.T) {
			if dev == "opencl" {
				needOpenCL(t)
			}
			data := realMNISTDir(t)
			dir := t.TempDir()
			m, csvPath := filepath.Join(dir, "M"), filepath.Join(dir, "out", "r.csv")
			stdout, stderr, exit := runRegcl(t, nil, "train", "--model", "elastic_net", "--batch-norm", "--train-size", "2000", "--epochs", "1",
				"--device", dev, "--data", data, "--save", m, "--output", csvPath)
			if exit != 0 {
				t.Fatalf("train exit %d\n%s\n%s", exit, stdout, stderr)
			}
			trained := testLine.FindStringSubmatch(stdout)
			if trained == nil {
				t.Fatalf("train printed no test line:\n%s", stdout)
			}
			stdout, stderr, exit = runRegcl(t, nil, "eval", "--device", dev, "--data", data, m)
			checkNoCrash(t, "eval", stdout, stderr)
			if exit != 0 {
				t.Fatalf("eval exit %d\n%s\n%s", exit, stdout, stderr)
			}
			evaluated := testLine.FindStringSubmatch(stdout)
			if evaluated == nil {
				t.Fatalf("eval printed no test line:\n%s", stdout)
			}
			t.Logf("train: %s; eval: %s", trained[0], evaluated[0])
			if trained[1] != evaluated[1] || trained[2] != evaluated[2] {
				t.Errorf("train printed %q, eval %q", trained[0], evaluated[0])
			}
			if !strings.Contains(stdout, "confusion matrix") {
				t.Errorf("eval printed no confusion matrix:\n%s", stdout)
			}
			// The record (full precision) prints as the same digits; the CSV
			// holds the same numbers to its six decimals.
			recs, _ := filepath.Glob(filepath.Join(dir, "out", study.RecordsDir, "*.json"))
			if len(recs) != 1 {
				t.Fatalf("%d records in the CSV's folder's %s/, want 1", len(recs), study.RecordsDir)
			}
			b, err := os.ReadFile(recs[0])
			if err != nil {
				t.Fatal(err)
			}
			var r train.Result
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%.4f %.4f", r.TestLoss, r.TestAccuracy); got != trained[1]+" "+trained[2] {
				t.Errorf("the record's test_loss, test_accuracy %s; printed %s %s", got, trained[1], trained[2])
			}
			rows, err := csvRows(csvPath)
			if err != nil || len(rows) != 1 {
				t.Fatalf("results CSV: %q, %v", rows, err)
			}
			for i, want := range []float64{r.TestLoss, r.TestAccuracy} {
				v, err := strconv.ParseFloat(rows[0][2+i], 64)
				if err != nil || math.Abs(v-want) > 5e-7 {
					t.Errorf("CSV %s = %q, the record %v", train.ResultHeader[2+i], rows[0][2+i], want)
				}
			}
		})
	}
}

package train

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The child mode of TestAppendCSVConcurrent: the test binary, run again with
// these variables set, appends rows as one more writer process.
const (
	appendChildPath   = "REGCL_TEST_APPEND_CSV"        // the CSV to append to
	appendChildWriter = "REGCL_TEST_APPEND_CSV_WRITER" // the writer's name
	appendChildRows   = "REGCL_TEST_APPEND_CSV_ROWS"   // how many rows
	appendChildStart  = "REGCL_TEST_APPEND_CSV_START"  // when to start (Unix nanoseconds)
)

var appendHeader = []string{"writer", "seq", "payload"}

// appendPayload is the third field of a row: long enough that a torn write
// would show, and full of what CSV must quote.
func appendPayload(writer string, seq int) string {
	return fmt.Sprintf("%s/%d, \"quoted\"\nsecond line;%s", writer, seq, strings.Repeat(string(rune('a'+seq%26)), 200+seq%97))
}

func appendRows(path, writer string, n int) error {
	for i := 0; i < n; i++ {
		if err := AppendCSV(path, appendHeader, []string{writer, strconv.Itoa(i), appendPayload(writer, i)}); err != nil {
			return err
		}
	}
	return nil
}

// TestAppendCSVConcurrent appends to one CSV from 32 goroutines and 4 other
// processes at once; the file must come out as one header and every row
// exactly once, whole.
func TestAppendCSVConcurrent(t *testing.T) {
	if path := os.Getenv(appendChildPath); path != "" {
		n, err := strconv.Atoi(os.Getenv(appendChildRows))
		if err != nil {
			t.Fatal(err)
		}
		start, err := strconv.ParseInt(os.Getenv(appendChildStart), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(time.Unix(0, start)))
		if err := appendRows(path, os.Getenv(appendChildWriter), n); err != nil {
			t.Fatal(err)
		}
		return
	}
	const (
		goroutines, goroutineRows = 32, 50
		procs, procRows           = 4, 100
	)
	path := filepath.Join(t.TempDir(), "sub", "results.csv") // AppendCSV makes the folder
	want := map[string]int{}                                 // writer → rows
	// Every writer starts at the same moment, once the processes are up.
	start := time.Now().Add(500 * time.Millisecond)
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for p := 0; p < procs; p++ {
		w := fmt.Sprintf("proc%d", p)
		want[w] = procRows
		cmd := exec.Command(os.Args[0], "-test.run=^TestAppendCSVConcurrent$", "-test.count=1")
		cmd.Env = append(os.Environ(), appendChildPath+"="+path, appendChildWriter+"="+w, appendChildRows+"="+strconv.Itoa(procRows),
			appendChildStart+"="+strconv.FormatInt(start.UnixNano(), 10))
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		w := fmt.Sprintf("goroutine%02d", g)
		want[w] = goroutineRows
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(start))
			if err := appendRows(path, w, goroutineRows); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("writer process %d: %v\n%s", i, err, outs[i])
		}
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = len(appendHeader)
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v", err)
	}
	if len(recs) == 0 || !reflect.DeepEqual(recs[0], appendHeader) {
		t.Fatalf("first record %q, want the header %q", recs[:min(1, len(recs))], appendHeader)
	}
	seen := map[string]map[int]int{}
	switches, last := 0, ""
	for i, rec := range recs[1:] {
		if kind := strings.TrimRight(rec[0], "0123456789"); kind != last {
			switches, last = switches+1, kind
		}
		w, s, payload := rec[0], rec[1], rec[2]
		if reflect.DeepEqual(rec, appendHeader) {
			t.Errorf("record %d is a second header", i+2)
			continue
		}
		seq, err := strconv.Atoi(s)
		if _, ok := want[w]; !ok || err != nil || seq < 0 || seq >= want[w] {
			t.Errorf("record %d: unexpected writer/sequence %q/%q", i+2, w, s)
			continue
		}
		if payload != appendPayload(w, seq) {
			t.Errorf("record %d (%s #%d): payload damaged: %.60q…", i+2, w, seq, payload)
		}
		if seen[w] == nil {
			seen[w] = map[int]int{}
		}
		seen[w][seq]++
	}
	total := 0
	for w, n := range want {
		total += n
		for seq := 0; seq < n; seq++ {
			if c := seen[w][seq]; c != 1 {
				t.Errorf("%s row %d appears %d times", w, seq, c)
			}
		}
	}
	if got := len(recs) - 1; got != total {
		t.Errorf("%d rows, want %d", got, total)
	}
	t.Logf("%d goroutines × %d rows and %d processes × %d rows: %d rows, one header; the file alternates %d times between process and goroutine rows",
		goroutines, goroutineRows, procs, procRows, len(recs)-1, switches-1)
}

func TestComputeWeightStats(t *testing.T) {
	s := ComputeWeightStats(nil)
	if s.Count != 0 || s.NearZero != 0 || s.HistMin != -8 || !reflect.DeepEqual(s.Hist, make([]int, 9)) {
		t.Errorf("no weights: %+v", s)
	}
	ws := [][]float32{
		{0, float32(math.Copysign(0, -1)), 1e-12, -3e-9}, // bin 0 (1e-8 and below, zeros included)
		{2e-8, -5e-8},                     // bin 0: 1e-8 ≤ |w| < 1e-7
		{3e-7},                            // bin 1
		{1.5e-4, -9e-4, 9.99e-4},          // bins 4, 4, 4: all near zero
		{1.5e-3, -0.002, 0.05, 0.5, -0.7}, // bins 5, 5, 6, 7, 7
		{1, -1.5, 9.5, 123, -4e6, 3e38},   // bin 8: 1 and above
		{},
		{float32(math.Inf(1)), float32(math.Inf(-1))}, // bin 8: "the last everything larger"
	}
	s = ComputeWeightStats(ws)
	wantHist := []int{6, 1, 0, 0, 3, 2, 1, 2, 8}
	if s.Count != 23 {
		t.Errorf("count %d, want 23", s.Count)
	}
	if !reflect.DeepEqual(s.Hist, wantHist) {
		t.Errorf("histogram %v, want %v", s.Hist, wantHist)
	}
	// |w| < 1e-3: the 4 zeros and tinies, 2 + 1, and 3 below 1e-3.
	if want := 10.0 / 23; math.Abs(s.NearZero-want) > 1e-12 {
		t.Errorf("near-zero share %v, want %v", s.NearZero, want)
	}
	sum := 0
	for _, n := range s.Hist {
		sum += n
	}
	if sum != s.Count {
		t.Errorf("the histogram holds %d weights, the count is %d", sum, s.Count)
	}
	// The near-zero bound, |w| < 1e-3, from both sides: 1e-3 itself is no
	// float32; the float32 just below it counts, the one just above (what
	// float32(1e-3) rounds to, 0.0010000000475) does not.
	above := float32(1e-3)
	below := math.Nextafter32(above, 0)
	if float64(below) >= 1e-3 || float64(above) <= 1e-3 {
		t.Fatalf("float32 neighbours of 1e-3: %v, %v", below, above)
	}
	if s := ComputeWeightStats([][]float32{{below, -below, above, -above}}); s.NearZero != 0.5 {
		t.Errorf("near-zero share of ±%v and ±%v: %v, want 0.5", below, above, s.NearZero)
	}
	// L1 in its pure form: all weights pruned.
	s = ComputeWeightStats([][]float32{{0, 0, 1e-5, -1e-6}})
	if s.NearZero != 1 || s.Count != 4 {
		t.Errorf("all near zero: %+v", s)
	}
}

func TestWriteHistoryCSV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "h", "run_history.csv")
	h := []EpochMetrics{
		{Epoch: 1, Loss: 0.123456789012, Accuracy: 0.9, ValLoss: 1e-9, ValAccuracy: 1, Seconds: 12.5},
		{Epoch: 2, Loss: 2.5, Accuracy: 0.912345678, ValLoss: 123456.789, ValAccuracy: 0, Seconds: 0.001},
	}
	if err := WriteHistoryCSV(path, h); err != nil {
		t.Fatal(err)
	}
	read := func() [][]string {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	recs := read()
	if want := []string{"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}; len(recs) == 0 || !reflect.DeepEqual(recs[0], want) {
		t.Fatalf("header %q, want %q", recs[:min(1, len(recs))], want)
	}
	if len(recs) != len(h)+1 {
		t.Fatalf("%d rows, want %d", len(recs)-1, len(h))
	}
	for i, m := range h {
		rec := recs[i+1]
		if rec[0] != strconv.Itoa(m.Epoch) {
			t.Errorf("row %d: epoch %q, want %d", i+1, rec[0], m.Epoch)
		}
		for j, want := range []float64{m.Loss, m.Accuracy, m.ValLoss, m.ValAccuracy, m.Seconds} {
			got, err := strconv.ParseFloat(rec[j+1], 64)
			if err != nil {
				t.Errorf("row %d column %d: %q: %v", i+1, j+1, rec[j+1], err)
				continue
			}
			if math.Abs(got-want) > 1e-8*math.Abs(want) { // 8 significant digits
				t.Errorf("row %d column %d: %v read back as %v", i+1, j+1, want, got)
			}
		}
	}
	// Writing again replaces the file (atomically: no temporary file left).
	if err := WriteHistoryCSV(path, h[:1]); err != nil {
		t.Fatal(err)
	}
	if recs := read(); len(recs) != 2 {
		t.Errorf("after rewriting with one epoch: %d records, want 2", len(recs))
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("the folder holds %d entries, want only the history", len(ents))
	}
	// An empty history is a header alone.
	if err := WriteHistoryCSV(path, nil); err != nil {
		t.Fatal(err)
	}
	if recs := read(); len(recs) != 1 {
		t.Errorf("empty history: %d records, want the header alone", len(recs))
	}
}

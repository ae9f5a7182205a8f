package train

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/regcl/regcl/internal/atomicfile"
)

// Result is the record of one finished run: everything a report needs.
type Result struct {
	ID           string         `json:"id"`
	Config       Config         `json:"config"`
	Device       string         `json:"device"`
	History      []EpochMetrics `json:"history"`
	TestLoss     float64        `json:"test_loss"`
	TestAccuracy float64        `json:"test_accuracy"`
	// SecondsPerEpoch is the mean wall time of the run's epochs. A run
	// trained as one of Lanes lanes shares each epoch with the other lanes
	// of its group: the time is the group's, not one run's cost.
	SecondsPerEpoch float64 `json:"seconds_per_epoch"`
	// Lanes is the number of runs trained together as lanes of one
	// computation, this one included (train.RunGroup); records of older
	// regcl versions do not say, and read as 0: one run alone.
	Lanes    int         `json:"lanes,omitempty"`
	Weights  WeightStats `json:"weights"`
	Started  time.Time   `json:"started"`
	Finished time.Time   `json:"finished"`
	// UnverifiedData is set when the run's data files were not checked
	// against MNIST's SHA-256 (--no-verify): they may be another data set
	// of MNIST's shape. Records of older regcl versions do not say, and
	// read as checked, as those versions checked by default.
	UnverifiedData bool `json:"unverified_data,omitempty"`
}

// WeightStats summarizes the hidden kernels' weights at the end of a run.
type WeightStats struct {
	Count    int     `json:"count"`
	NearZero float64 `json:"near_zero"` // share with |w| < 1e-3
	// Hist counts |w| in decades: bin i holds 10^(HistMin+i) ≤ |w| < 10^(HistMin+i+1);
	// the first bin also holds everything smaller (zeros included), the last everything larger.
	HistMin int   `json:"hist_min"`
	Hist    []int `json:"hist"`
}

// NearZeroThreshold is the |w| below which a weight counts as pruned (L1's sparsity).
const NearZeroThreshold = 1e-3

// ComputeWeightStats summarizes ws (the hidden kernels' weights).
func ComputeWeightStats(ws [][]float32) WeightStats {
	s := WeightStats{HistMin: -8, Hist: make([]int, 9)} // decades 1e-8 … 1e0 and above
	near := 0
	for _, w := range ws {
		for _, v := range w {
			a := math.Abs(float64(v))
			s.Count++
			if a < NearZeroThreshold {
				near++
			}
			bin := 0
			switch {
			case math.IsInf(a, 1): // "the last [bin holds] everything larger"; int(+Inf) is undefined
				bin = len(s.Hist) - 1
			case a > 0:
				bin = int(math.Floor(math.Log10(a))) - s.HistMin
			}
			s.Hist[max(0, min(bin, len(s.Hist)-1))]++
		}
	}
	if s.Count > 0 {
		s.NearZero = float64(near) / float64(s.Count)
	}
	return s
}

// WriteJSON writes v as indented JSON, atomically.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'))
}

// AppendCSV appends one row to a CSV file, writing header first when the file
// is new or empty. The row is one write(2) on an O_APPEND descriptor under an
// exclusive flock, so concurrent writers, processes included, never
// interleave or lose rows.
func AppendCSV(path string, header, row []string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if st.Size() == 0 {
		w.Write(header)
	}
	w.Write(row)
	w.Flush()
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("appending to %s: %w", path, err)
	}
	return nil
}

// ResultHeader is the study's per-run CSV header.
var ResultHeader = []string{"model", "epochs", "test_loss", "test_accuracy"}

// ResultRow is r as a row of the study's per-run CSV. Its model column is
// the run's label without the training settings (they have columns, or are
// the CSV's business): "l1", "dropout+l1=1e-05".
func (r *Result) ResultRow() []string {
	return []string{StudyLabels([]Config{r.Config})[0], strconv.Itoa(len(r.History)),
		strconv.FormatFloat(r.TestLoss, 'f', 6, 64), strconv.FormatFloat(r.TestAccuracy, 'f', 6, 64)}
}

// WriteHistoryCSV writes the per-epoch history, atomically.
func WriteHistoryCSV(path string, h []EpochMetrics) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"})
	for _, m := range h {
		w.Write([]string{strconv.Itoa(m.Epoch), ff(m.Loss), ff(m.Accuracy), ff(m.ValLoss), ff(m.ValAccuracy), ff(m.Seconds)})
	}
	w.Flush()
	return atomicfile.Write(path, buf.Bytes())
}

func ff(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }

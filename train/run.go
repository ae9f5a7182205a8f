package train

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/mnist"
)

// Options is everything `regcl train` needs besides the run's Config.
type Options struct {
	Data   *mnist.Data
	Device device.Device
	Log    io.Writer // epoch lines; nil for silence
	Live   bool      // draw a progress bar within epochs (Log is a terminal)
	Prefix string    // before each epoch line
	// Output is the study's per-run CSV, appended to (empty: none). The
	// history (CSV) and the run record (JSON) are written next to it, named
	// by the run's ID.
	Output string
}

// Run trains one configuration to the end and tests it.
func Run(ctx context.Context, cfg Config, opt Options) (*Result, error) {
	be, err := opt.Device.NewBackend()
	if err != nil {
		return nil, err
	}
	defer be.Close()
	started := time.Now()
	t, err := NewTrainer(be, cfg, opt.Data)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	if opt.Log != nil {
		t.Observer = &Printer{W: opt.Log, Live: opt.Live, Prefix: opt.Prefix}
		if opt.Live {
			t.ProgressEvery = 10
		}
	}
	if err := t.Fit(ctx); err != nil {
		return nil, err
	}
	r, err := t.Result(started)
	if err != nil {
		return nil, err
	}
	r.Device = be.Name()
	if opt.Log != nil {
		fmt.Fprintf(opt.Log, "%stest_loss %.4f  test_accuracy %.4f\n", opt.Prefix, r.TestLoss, r.TestAccuracy)
	}
	if opt.Output != "" {
		dir := filepath.Dir(opt.Output)
		if err := WriteHistoryCSV(filepath.Join(dir, r.ID+"_history.csv"), r.History); err != nil {
			return r, err
		}
		if err := WriteJSON(filepath.Join(dir, r.ID+".json"), r); err != nil {
			return r, err
		}
		if err := AppendCSV(opt.Output, ResultHeader, r.ResultRow()); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Result tests the trained network and assembles the run's record.
func (t *Trainer) Result(started time.Time) (*Result, error) {
	loss, acc, err := t.Test()
	if err != nil {
		return nil, err
	}
	var kernels [][]float32
	for _, p := range t.Net.Tensors() {
		if p.Penalized {
			w := make([]float32, p.Len())
			if err := t.be.Read(p.W, 0, w); err != nil {
				return nil, err
			}
			kernels = append(kernels, w)
		}
	}
	r := &Result{ID: t.Cfg.ID(), Config: t.Cfg, History: t.History, TestLoss: loss, TestAccuracy: acc,
		Weights: ComputeWeightStats(kernels), Started: started, Finished: time.Now(), Device: t.be.Name()}
	var s float64
	for _, m := range t.History {
		s += m.Seconds
	}
	if len(t.History) > 0 {
		r.SecondsPerEpoch = s / float64(len(t.History))
	}
	return r, nil
}

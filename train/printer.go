package train

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/regcl/regcl/internal/plural"

	"github.com/schollz/progressbar/v3"
)

// Printer prints one line per epoch in the spirit of Keras:
//
//	Epoch 3/20  422/422  3.1s  loss 0.1234  accuracy 0.9650  val_loss 0.1011  val_accuracy 0.9712
//
// With Live set (stdout is a terminal) it also draws a progress bar within
// the epoch; the Trainer's ProgressEvery then says how often it moves.
type Printer struct {
	W      io.Writer
	Live   bool
	Prefix string // printed before each line, e.g. "[3/18 l1 s2] "
	epoch  int
	epochs int
	bar    *progressbar.ProgressBar
}

func (p *Printer) EpochStart(epoch, epochs, steps int) {
	p.epoch, p.epochs = epoch, epochs
	if p.Live {
		p.bar = progressbar.NewOptions(steps,
			progressbar.OptionSetWriter(p.W),
			progressbar.OptionSetDescription(fmt.Sprintf("%sEpoch %d/%d", p.Prefix, epoch, epochs)),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(0))
	}
}

func (p *Printer) Step(step, steps int) {
	if p.bar != nil {
		_ = p.bar.Set(step)
	}
}

// LaneStopped prints nothing: the run's error says why it stopped.
func (p *Printer) LaneStopped(int, error) {}

func (p *Printer) EpochEnd(ms []EpochMetrics, steps int) {
	m := ms[0]
	if p.bar != nil {
		_ = p.bar.Finish()
		_ = p.bar.Clear()
		p.bar = nil
	}
	fmt.Fprintf(p.W, "%sEpoch %d/%d  %d/%d  %.1fs  loss %.4f  accuracy %.4f  val_loss %.4f  val_accuracy %.4f\n",
		p.Prefix, m.Epoch, p.epochs, steps, steps, m.Seconds, m.Loss, m.Accuracy, m.ValLoss, m.ValAccuracy)
}

// GroupPrinter prints one line per epoch for a group of runs, the range of
// each figure over the runs still going, e.g.
//
//	epoch 3/20  18 runs  loss 0.0712–0.0931  accuracy 0.9771–0.9812  val_loss 0.0811–0.1020  val_accuracy 0.9702–0.9790  2.1s
//
// and a line when a run stops (it diverged), naming it by its label.
type GroupPrinter struct {
	W      io.Writer
	Prefix string   // printed before each line
	Labels []string // each lane's run, for the line saying it stopped
	epochs int
}

func (p *GroupPrinter) EpochStart(epoch, epochs, steps int) { p.epochs = epochs }
func (p *GroupPrinter) Step(step, steps int)                {}

func (p *GroupPrinter) LaneStopped(lane int, err error) {
	name := fmt.Sprintf("run %d", lane+1)
	if lane < len(p.Labels) {
		name = p.Labels[lane]
	}
	fmt.Fprintf(p.W, "%s%s stopped: %v\n", p.Prefix, name, err)
}

func (p *GroupPrinter) EpochEnd(ms []EpochMetrics, steps int) {
	var live []EpochMetrics
	for _, m := range ms {
		if m.Epoch != 0 {
			live = append(live, m)
		}
	}
	if len(live) == 0 {
		return
	}
	f := func(get func(EpochMetrics) float64) []float64 {
		v := make([]float64, len(live))
		for i, m := range live {
			v[i] = get(m)
		}
		return v
	}
	fmt.Fprintf(p.W, "%sepoch %d/%d  %s  loss %s  accuracy %s  val_loss %s  val_accuracy %s  %.1fs\n",
		p.Prefix, live[0].Epoch, p.epochs, plural.Count(len(live), "run", "runs"),
		span(f(func(m EpochMetrics) float64 { return m.Loss })), span(f(func(m EpochMetrics) float64 { return m.Accuracy })),
		span(f(func(m EpochMetrics) float64 { return m.ValLoss })), span(f(func(m EpochMetrics) float64 { return m.ValAccuracy })),
		live[0].Seconds)
}

// Test prints the group's test figures: the range over the runs that
// finished (rs holds nil for the others).
func (p *GroupPrinter) Test(rs []*Result) {
	var loss, acc []float64
	for _, r := range rs {
		if r != nil {
			loss, acc = append(loss, r.TestLoss), append(acc, r.TestAccuracy)
		}
	}
	if len(loss) == 0 {
		return
	}
	fmt.Fprintf(p.W, "%stest  %s  test_loss %s  test_accuracy %s\n", p.Prefix, plural.Count(len(loss), "run", "runs"), span(loss), span(acc))
}

// span writes the range of v, "0.0712–0.0931" (one number when they agree).
func span(v []float64) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	nan := false
	for _, x := range v {
		if math.IsNaN(x) {
			nan = true
			continue
		}
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	var b strings.Builder
	switch {
	case lo > hi:
		b.WriteString("NaN")
	case fmt.Sprintf("%.4f", lo) == fmt.Sprintf("%.4f", hi):
		fmt.Fprintf(&b, "%.4f", lo)
	default:
		fmt.Fprintf(&b, "%.4f–%.4f", lo, hi)
	}
	if nan && lo <= hi {
		b.WriteString(" (and NaN)")
	}
	return b.String()
}

package train

import (
	"fmt"
	"io"

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

func (p *Printer) EpochEnd(m EpochMetrics, steps int) {
	if p.bar != nil {
		_ = p.bar.Finish()
		_ = p.bar.Clear()
		p.bar = nil
	}
	fmt.Fprintf(p.W, "%sEpoch %d/%d  %d/%d  %.1fs  loss %.4f  accuracy %.4f  val_loss %.4f  val_accuracy %.4f\n",
		p.Prefix, m.Epoch, p.epochs, steps, steps, m.Seconds, m.Loss, m.Accuracy, m.ValLoss, m.ValAccuracy)
}

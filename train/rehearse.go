package train

import (
	"context"
	"fmt"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/mnist"
)

// MNIST's sizes, which a rehearsal's placeholder data takes.
const (
	mnistTrain = 60000
	mnistTest  = 10000
)

// Rehearsal is a group of runs set up on a backend over placeholder data
// of MNIST's sizes (placeholder): the trainer's own step and evaluator,
// driven once each, so that `regcl plan` reads the launches of a step off
// the code that trains, on a described device (opencl.Describe), or times
// them on a real one (plan --measure).
type Rehearsal struct {
	t *Trainer
}

// Rehearse sets up the runs cfgs as the lanes of be (as NewGroup does).
func Rehearse(be device.Backend, cfgs []Config) (*Rehearsal, error) {
	if len(cfgs) == 0 {
		return nil, fmt.Errorf("no runs to rehearse")
	}
	d, err := allocData(be, mnistTrain, mnistTest, cfgs[0].Model.Inputs, placeholder(cfgs[0].Model.Inputs))
	if err != nil {
		return nil, fmt.Errorf("placeholder data on %s: %w", be.Name(), err)
	}
	t, err := NewGroup(be, cfgs, d)
	if err != nil {
		d.Close()
		return nil, err
	}
	t.owned = d
	return &Rehearsal{t}, nil
}

// placeholder is data of MNIST's sizes with feat bytes an image that any
// backend can compute on, as it would on MNIST: every byte of the images
// set (a fixed pattern, not MNIST), labels 0..9 in turn.
func placeholder(feat int) *mnist.Data {
	set := func(n int) *mnist.Set {
		s := &mnist.Set{Images: make([]uint8, n*feat), Labels: make([]uint8, n), N: n}
		for i := range s.Images {
			s.Images[i] = uint8(i * 37)
		}
		for i := range s.Labels {
			s.Labels[i] = uint8(i % 10)
		}
		return s
	}
	return &mnist.Data{Train: set(mnistTrain), Test: set(mnistTest), Source: "placeholder"}
}

// Step enqueues the epoch's first training step (a full batch), as
// TrainSteps(1) does, and waits for it.
func (r *Rehearsal) Step() error { return r.Steps(1) }

// Steps runs n training steps as training does: an epoch's steps in
// order from its first (TrainSteps), and the next epoch's after its last;
// it waits for them.
func (r *Rehearsal) Steps(n int) error {
	for n > 0 {
		k := min(n, r.t.Steps())
		if err := r.t.TrainSteps(k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// Rows is the rows of a training step and of an evaluation chunk.
func (r *Rehearsal) Rows() (step, eval int) {
	return min(r.t.Cfg.BatchSize, r.t.ntrain), min(r.t.evaluator().chunk(), r.t.nval)
}

// Evaluate runs the evaluator over one chunk of the validation images (the
// inference pass of validation and of regcl eval, with its loss and
// penalty).
func (r *Rehearsal) Evaluate() error {
	_, eval := r.Rows()
	_, err := r.t.evaluate(context.Background(), r.t.data.trainX, r.t.data.trainY, r.t.ntrain, eval)
	return err
}

// Close frees the group and its placeholder data.
func (r *Rehearsal) Close() { r.t.Close() }

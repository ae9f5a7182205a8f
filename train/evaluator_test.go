package train

import (
	"context"
	"math"
	"testing"

	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/mnist/mnisttest"
)

// TestOneEvaluator: the test figures of training (Trainer.Test), the full
// evaluation of the trainer, and the evaluation of its saved model file
// (regcl eval) come from one path: the same bits. Per-class accuracy and the
// confusion matrix agree with the device's accuracy, and Infer's
// probabilities with the predicted classes.
func TestOneEvaluator(t *testing.T) {
	data := mnisttest.Real(t)
	cfg, err := NewConfig("elastic_net", Overrides{TrainSize: num(2000), Epochs: num(1), BatchNorm: flag(true)}, 5)
	if err != nil {
		t.Fatal(err)
	}
	be := cpu.New[float32](1)
	tr, err := NewTrainer(be, cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Fit(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	losses, accs, err := tr.Test()
	if err != nil {
		t.Fatal(err)
	}
	loss, acc := losses[0], accs[0]
	full, err := tr.Evaluate(0, data.Test.Labels)
	if err != nil {
		t.Fatal(err)
	}
	f, err := tr.ModelFile(0)
	if err != nil {
		t.Fatal(err)
	}
	dev := cpu.Device{}
	file, err := Evaluate(dev, f, data.Test.Images, data.Test.Labels, data.Test.N)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("test_loss %.6f test_accuracy %.4f", loss, acc)
	for _, e := range []*Evaluation{full, file} {
		if math.Float64bits(e.Loss) != math.Float64bits(loss) || e.Accuracy != acc {
			t.Errorf("evaluation %v / %v, Trainer.Test %v / %v: want the same bits", e.Loss, e.Accuracy, loss, acc)
		}
		diag := 0
		for c, row := range e.Confusion {
			diag += row[c]
		}
		if float64(diag)/float64(e.N) != acc {
			t.Errorf("the confusion matrix's diagonal gives accuracy %v, the device %v", float64(diag)/float64(e.N), acc)
		}
	}
	probs, err := Infer(dev, f, data.Test.Images[:100*784], 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range probs {
		if k := Argmax(p); k != file.Predicted[i] {
			t.Errorf("image %d: Infer's most probable class %d, Evaluate's %d", i, k, file.Predicted[i])
		}
		s := 0.0
		for _, v := range p {
			s += v
		}
		if math.Abs(s-1) > 1e-12 {
			t.Errorf("image %d: probabilities sum to %v", i, s)
		}
	}
	// Bad input is an error, not a panic.
	bad := append([]uint8(nil), data.Test.Labels[:10]...)
	bad[3] = 12
	if _, err := Evaluate(dev, f, data.Test.Images[:10*784], bad, 10); err == nil {
		t.Error("a label of 12 for 10 classes was accepted")
	}
	if _, err := Evaluate(dev, f, data.Test.Images[:10*784], bad[:9], 10); err == nil {
		t.Error("9 labels for 10 images were accepted")
	}
	if _, err := Infer(dev, f, data.Test.Images[:10], 1); err == nil {
		t.Error("10 bytes for an image of 784 pixels were accepted")
	}
}

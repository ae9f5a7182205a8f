package tuner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/model"
)

// oddNet is a network of sizes that are no multiple of any tile or vector
// width: 784-37-19-10 at batch 45, with BatchNorm and dropout.
func oddNet(t testing.TB) Net {
	t.Helper()
	cfg, err := model.Preset("batch_norm")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Hidden = []int{37, 19}
	net, err := NetOf(cfg, 45)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// sizes records the sizes each operation of a step is called with.
type sizes struct {
	device.Backend
	calls []string
}

func (s *sizes) add(format string, args ...any) {
	s.calls = append(s.calls, fmt.Sprintf(format, args...))
}

func (s *sizes) GatherRows(dst, src, idx device.Buffer, off, rows, cols int) {
	s.add("GatherRows %d×%d", rows, cols)
	s.Backend.GatherRows(dst, src, idx, off, rows, cols)
}
func (s *sizes) SoftmaxXent(dl, db, logits, labels, idx device.Buffer, off, rows, classes int, scale float64, acc, pending device.Buffer, step int) {
	s.add("SoftmaxXent %d×%d", rows, classes)
	s.Backend.SoftmaxXent(dl, db, logits, labels, idx, off, rows, classes, scale, acc, pending, step)
}
func (s *sizes) ColSum(dst, x device.Buffer, rows, cols int) {
	s.add("ColSum %d×%d", rows, cols)
	s.Backend.ColSum(dst, x, rows, cols)
}
func (s *sizes) BatchNormTrain(y, x, gamma, beta, mean, invstd, mm, mv device.Buffer, rows, cols int, eps, momentum float64) {
	s.add("BatchNormTrain %d×%d", rows, cols)
	s.Backend.BatchNormTrain(y, x, gamma, beta, mean, invstd, mm, mv, rows, cols, eps, momentum)
}
func (s *sizes) DropoutApply(x device.Buffer, rows, cols int, d device.Dropout) {
	s.add("DropoutApply %d×%d layer %d", rows, cols, d.Layer)
	s.Backend.DropoutApply(x, rows, cols, d)
}
func (s *sizes) BatchNormBackward(dx, dy, x, gamma, mean, invstd, dgamma, dbeta, dbias device.Buffer, rows, cols int) {
	s.add("BatchNormBackward %d×%d", rows, cols)
	s.Backend.BatchNormBackward(dx, dy, x, gamma, mean, invstd, dgamma, dbeta, dbias, rows, cols)
}
func (s *sizes) ReLUBackwardColSum(dx, y, dst device.Buffer, rows, cols int, dropout bool) {
	s.add("ReLUBackwardColSum %d×%d", rows, cols)
	s.Backend.ReLUBackwardColSum(dx, y, dst, rows, cols, dropout)
}
func (s *sizes) PenaltySum(acc, w device.Buffer, n int, scale float64) {
	s.add("PenaltySum %d", n)
	s.Backend.PenaltySum(acc, w, n, scale)
}
func (s *sizes) AdamStep(w, g, m, v device.Buffer, n, pen int, h device.Adam) {
	s.add("AdamStep %d, %d penalized", n, pen)
	s.Backend.AdamStep(w, g, m, v, n, pen, h)
}

// TestOpsStepOfTheNetwork: the ops step the tuner checks and times is the
// network's (NetOf): each operation at the sizes of 784-37-19-10 at batch
// 45, listed by hand (parameters 784·37+37 + 37·19+19 + 19·10+10, and γ, β
// of 37 and 19 units; the penalty over the hidden kernels 784·37 + 37·19),
// the hidden layers from the top; and on the float32 CPU backend it agrees
// with the float64 oracle.
func TestOpsStepOfTheNetwork(t *testing.T) {
	net := oddNet(t)
	if want := []int{784, 37, 19, 10}; !slices.Equal(net.Widths, want) || net.Rows != 45 {
		t.Fatalf("NetOf: widths %v at %d rows, want %v at 45", net.Widths, net.Rows, want)
	}
	const params, pen = 784*37 + 37 + 37*19 + 19 + 19*10 + 10 + 2*(37+19), 784*37 + 37*19
	if net.Params != params || net.Penalized != pen {
		t.Fatalf("NetOf: %d parameters, %d penalized; want %d, %d", net.Params, net.Penalized, params, pen)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	in, img, idx := newOpsInputs(rng, net)
	rec := &sizes{Backend: cpu.New[float32](1)}
	if _, err := runOps(rec, net, in, img, idx); err != nil {
		t.Fatal(err)
	}
	want := []string{"GatherRows 45×784", "SoftmaxXent 45×10",
		"BatchNormTrain 45×19", "DropoutApply 45×19 layer 1", "BatchNormBackward 45×19", "ReLUBackwardColSum 45×19",
		"BatchNormTrain 45×37", "DropoutApply 45×37 layer 0", "BatchNormBackward 45×37", "ReLUBackwardColSum 45×37",
		fmt.Sprintf("PenaltySum %d", pen), fmt.Sprintf("AdamStep %d, %d penalized", params, pen)}
	if !slices.Equal(rec.calls, want) {
		t.Errorf("the step's operations:\n got %q\nwant %q", rec.calls, want)
	}
	if err := checkOps(cpu.New[float32](1), net, rng); err != nil {
		t.Errorf("the float32 CPU backend against the oracle: %v", err)
	}
}

// TestTuneNeedsTheNetwork: without a network the search refuses to start,
// naming what is missing, rather than tuning the ops at made-up sizes.
func TestTuneNeedsTheNetwork(t *testing.T) {
	_, err := Tune(context.Background(), nil, Options{Budget: 5 * time.Second})
	if err == nil {
		t.Fatal("Tune without Options.Net: no error")
	}
	t.Log(err)
}

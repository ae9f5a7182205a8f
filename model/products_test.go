package model

import (
	"slices"
	"testing"

	"github.com/regcl/regcl/device"
)

// TestProducts: the products Forward and Backward issue for the study's
// network, 784-256-128-10 at batch 128, written out by hand from the layer
// arithmetic (forward (batch,in)·(in,out); kernel gradient inputᵀ·dZ, TN;
// input gradient dZ·Wᵀ, NT, for every layer but the first), and the
// evaluation chunk's forward products after them.
func TestProducts(t *testing.T) {
	cfg, err := Preset("dropout")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Products(cfg, 128, 1000)
	if err != nil {
		t.Fatal(err)
	}
	want := []device.GemmShape{
		{Name: "fwd1", TransA: false, TransB: false, M: 128, N: 256, K: 784},
		{Name: "fwd2", TransA: false, TransB: false, M: 128, N: 128, K: 256},
		{Name: "fwd3", TransA: false, TransB: false, M: 128, N: 10, K: 128},
		{Name: "dW3", TransA: true, TransB: false, M: 128, N: 10, K: 128},
		{Name: "dX3", TransA: false, TransB: true, M: 128, N: 128, K: 10},
		{Name: "dW2", TransA: true, TransB: false, M: 256, N: 128, K: 128},
		{Name: "dX2", TransA: false, TransB: true, M: 128, N: 256, K: 128},
		{Name: "dW1", TransA: true, TransB: false, M: 784, N: 256, K: 128},
		{Name: "eval1", TransA: false, TransB: false, M: 1000, N: 256, K: 784},
		{Name: "eval2", TransA: false, TransB: false, M: 1000, N: 128, K: 256},
		{Name: "eval3", TransA: false, TransB: false, M: 1000, N: 10, K: 128},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Products = %v\nwant       %v", got, want)
	}
	// At evalRows 0 or the batch, only the step's; BatchNorm adds no product.
	cfg.BatchNorm = true
	for _, e := range []int{0, 128} {
		got, err := Products(cfg, 128, e)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want[:8]) {
			t.Errorf("Products(batch_norm, 128, %d) = %v, want the step's 8", e, got)
		}
	}
	if _, err := Products(cfg, 0, 0); err == nil {
		t.Error("Products at batch 0 gave no error")
	}
}

// TestFlopCounts: device.TrainStepFlops is the sum of the step's products,
// and both are 2·128·(784·256+256·128+128·10)·3 less the first layer's
// input gradient; InferFlops is the forward products' work.
func TestFlopCounts(t *testing.T) {
	cfg, err := Preset("baseline")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := Products(cfg, 128, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for _, s := range ps {
		want += device.GemmFlops(s.M, s.N, s.K)
	}
	w := []int{784, 256, 128, 10}
	if got := device.TrainStepFlops(w, 128); got != want || got != 2*128*(784*256+256*128+128*10)*3-2*128*784*256 {
		t.Errorf("TrainStepFlops = %v, the study's products sum to %v", got, want)
	}
	if got := device.InferFlops(w, 10); got != 2*10*(784*256+256*128+128*10) {
		t.Errorf("InferFlops = %v", got)
	}
}

// TestSizes: the parameter buffer's lengths, worked by hand from the
// layers: a dense layer in→out holds in·out kernel weights and out biases,
// a BatchNorm layer γ and β per unit; the penalty covers the hidden
// layers' kernels, which lead the buffer.
func TestSizes(t *testing.T) {
	for _, c := range []struct {
		preset, hidden    string
		params, penalized int
	}{
		// 784·256+256 + 256·128+128 + 128·10+10; 784·256 + 256·128.
		{"baseline", "", 235146, 233472},
		// the same, and γ, β of 256 and of 128 units: + 2·384.
		{"batch_norm", "", 235914, 233472},
		// 784·512+512 + 512·256+256 + 256·10+10; 784·512 + 512·256.
		{"l2", "512,256", 535818, 532480},
		// 784·7+7 + 7·10+10; 784·7.
		{"baseline", "7", 5575, 5488},
	} {
		cfg, err := Preset(c.preset)
		if err != nil {
			t.Fatal(err)
		}
		if c.hidden != "" {
			if cfg.Hidden, err = ParseHidden(c.hidden); err != nil {
				t.Fatal(err)
			}
		}
		params, pen, err := Sizes(cfg)
		if err != nil || params != c.params || pen != c.penalized {
			t.Errorf("Sizes(%s, hidden %v) = %d, %d, %v; want %d, %d", c.preset, cfg.Hidden, params, pen, err, c.params, c.penalized)
		}
	}
	if _, _, err := Sizes(Config{Inputs: 784, Classes: 10, Hidden: []int{0}}); err == nil {
		t.Error("Sizes of a layer of 0 units: no error")
	}
}

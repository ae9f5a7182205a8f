package model

import (
	"math"
	"testing"

	"github.com/regcl/regcl/device/cpu"
)

// TestInitIsKerasDefault pins the initial state to Keras's defaults: Glorot
// uniform kernels, U(−l, l) with l = √(6/(fan_in+fan_out)), zero biases,
// BatchNorm γ = 1, β = 0, moving mean 0 and moving variance 1. For the
// study's 784×256 kernel (200,704 draws) the largest |w| is within 1e-4·l
// of l (the chance of a gap of 1e-4·l is (1−1e-4)^200704 ≈ 2e-9), and the
// variance is l²/3 to within 1 % (its standard error is 0.2 %).
func TestInitIsKerasDefault(t *testing.T) {
	cfg, _ := Preset("batch_norm")
	be := cpu.New[float64](1)
	n, err := New(be, []Config{cfg}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Free()
	if err := n.Init([]uint64{42}); err != nil {
		t.Fatal(err)
	}
	fans := map[string][2]int{"dense1/kernel": {784, 256}, "dense2/kernel": {256, 128}, "output/kernel": {128, 10}}
	want := map[string]float64{"dense1/bias": 0, "dense2/bias": 0, "output/bias": 0,
		"batchnorm1/gamma": 1, "batchnorm2/gamma": 1, "batchnorm1/beta": 0, "batchnorm2/beta": 0,
		"batchnorm1/moving_mean": 0, "batchnorm2/moving_mean": 0, "batchnorm1/moving_variance": 1, "batchnorm2/moving_variance": 1}
	for _, tn := range n.Tensors() {
		v := make([]float64, tn.Len())
		if err := be.Read(tn.W, 0, 0, v); err != nil {
			t.Fatal(err)
		}
		if f, ok := fans[tn.Name]; ok {
			l := math.Sqrt(6 / float64(f[0]+f[1]))
			var mx, ss, s float64
			for _, w := range v {
				mx = max(mx, math.Abs(w))
				s += w
				ss += w * w
			}
			mean, variance := s/float64(len(v)), ss/float64(len(v))
			if mx > l || (len(v) > 100000 && mx < l*(1-1e-4)) {
				t.Errorf("%s: max |w| = %.6g, the Glorot limit is %.6g", tn.Name, mx, l)
			}
			if math.Abs(variance/(l*l/3)-1) > 0.01+3/math.Sqrt(float64(len(v))) {
				t.Errorf("%s: variance %.6g, U(−l, l) has l²/3 = %.6g", tn.Name, variance, l*l/3)
			}
			if math.Abs(mean) > 4*l/math.Sqrt(3*float64(len(v))) {
				t.Errorf("%s: mean %.3g, want about 0", tn.Name, mean)
			}
			continue
		}
		w, ok := want[tn.Name]
		if !ok {
			t.Errorf("unexpected tensor %s", tn.Name)
			continue
		}
		for i, x := range v {
			if x != w {
				t.Errorf("%s[%d] = %v, want %v", tn.Name, i, x, w)
				break
			}
		}
	}
}

// TestPenalizedTensors: L1/L2 apply to the hidden kernels and nothing else
// (not biases, not BatchNorm, not the output layer), and they lead the
// parameter buffer, so that one prefix of it is penalized.
func TestPenalizedTensors(t *testing.T) {
	cfg, _ := Preset("batch_norm")
	cfg.Hidden = []int{33, 7, 5}
	be := cpu.New[float32](1)
	n, err := New(be, []Config{cfg}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Free()
	_, _, size, pen := n.ParamBuffers()
	for _, tn := range n.Params() {
		want := tn.Name == "dense1/kernel" || tn.Name == "dense2/kernel" || tn.Name == "dense3/kernel"
		if tn.Penalized != want {
			t.Errorf("%s: penalized %v, want %v", tn.Name, tn.Penalized, want)
		}
		if inside := tn.Off >= 0 && tn.Off+tn.Len() <= pen; inside != want {
			t.Errorf("%s at [%d, %d) of the parameter buffer: inside the penalized prefix [0, %d) is %v, want %v", tn.Name, tn.Off, tn.Off+tn.Len(), pen, inside, want)
		}
		if tn.Off < 0 || tn.Off+tn.Len() > size {
			t.Errorf("%s at %d does not fit in the parameter buffer of %d", tn.Name, tn.Off, size)
		}
	}
	total := 0
	for _, tn := range n.Params() {
		total += tn.Len()
	}
	if size != total { // the CPU backend aligns views to 1: no gaps
		t.Errorf("parameter buffer of %d for %d parameters", size, total)
	}
}

package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}, {nil, 0}} {
		if got := Median(c.xs); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

func TestGemmGFLOPSRuns(t *testing.T) {
	g, err := gemmGFLOPS(cpu.New[float32](1), device.GemmShape{Name: "t", M: 33, N: 17, K: 9})
	if err != nil || !(g > 0) {
		t.Fatalf("gemmGFLOPS = %v, %v", g, err)
	}
}

func sampleReport(scale float64) *Report {
	return &Report{Host: "h", CPUs: 2, Go: "go", Backends: []Backend{{Name: "cpu (gonum, float32)", Kind: "cpu",
		Train:            []TrainFigure{{Preset: "batch_norm", SamplesPerS: 1000 * scale, SPerEpoch: 54 / scale}},
		InferSamplesPerS: 5000 * scale,
		Gemm:             []GemmFigure{{Shape: "fwd1", Trans: "NN", M: 128, N: 256, K: 784, GFLOPS: 10 * scale}},
		Kernels:          []KernelFigure{{Name: "gemm_nn", MsPerStep: 1, LaunchPerStep: 3, Share: 1}},
		StepWallMs:       1.03}}}
}

func TestTableAndRatios(t *testing.T) {
	var b bytes.Buffer
	sampleReport(1).WriteTable(&b)
	// 1.03 ms a step against 1 ms of kernels in 3 launches: 0.030 ms, 10 µs a launch.
	for _, want := range []string{"batch_norm", "1000", "fwd1 NN 128x256x784", "gemm_nn", "inference", "0.030 ms a step, 10.0 µs a launch"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	path := filepath.Join(t.TempDir(), "old.json")
	j, _ := json.Marshal(sampleReport(1))
	os.WriteFile(path, j, 0o644)
	old, err := ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	WriteRatios(&b, sampleReport(2), old)
	if n := strings.Count(b.String(), "2.00"); n != 3 {
		t.Errorf("want 3 ratios of 2.00 (train, inference, gemm), got %d:\n%s", n, b.String())
	}
	os.WriteFile(path, []byte("not json"), 0o644)
	if _, err := ReadReport(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a broken report: %v", err)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTuneCommand: regcl tune writes a tuning file and prints its table;
// devices and train then say the device is tuned with it; a broken file is
// ignored with one line and the run goes on untuned.
func TestTuneCommand(t *testing.T) {
	needOpenCL(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "tuning.json")
	out, errOut, exit := runRegcl(t, nil, "tune", "--device", "opencl", "--budget", "8s", "--hidden", "32,16", "--batch-size", "16", "--out", file)
	if exit != 0 {
		t.Fatalf("regcl tune: exit %d\n%s", exit, errOut)
	}
	for _, want := range []string{"default GFLOP/s", "tuned GFLOP/s", "fwd1 NN 16x32x784", "1024cube", "elementwise kernels of a step (15 lanes)", "candidates in", "disagreed with the float64 oracle", "wrote " + file} {
		if !strings.Contains(out, want) {
			t.Errorf("regcl tune's output lacks %q:\n%s", want, out)
		}
	}
	out, _, exit = runRegcl(t, nil, "devices", "--tuning", file)
	if exit != 0 || !strings.Contains(out, "tuned ("+file+")") {
		t.Errorf("regcl devices --tuning %s (exit %d) does not say the device is tuned:\n%s", file, exit, out)
	}
	broken := filepath.Join(dir, "broken.json")
	os.WriteFile(broken, []byte(`{"format": "regcl-tuning", "version": 1, "key": {`), 0o644)
	out, _, _ = runRegcl(t, nil, "devices", "--tuning", broken)
	if !strings.Contains(out, "tuning ignored") || !strings.Contains(out, "not a regcl tuning file") {
		t.Errorf("regcl devices with a broken tuning file:\n%s", out)
	}
	data := realMNISTDir(t)
	for _, c := range []struct{ tuning, want string }{{file, "tuned (" + file + ")"}, {broken, "tuning file ignored, running untuned"}} {
		_, errOut, exit = runRegcl(t, nil, "train", "--device", "opencl", "--tuning", c.tuning, "--data", data, "--train-size", "500", "--epochs", "1", "--output", filepath.Join(dir, "r.csv"))
		if exit != 0 || !strings.Contains(errOut, c.want) || strings.Count(errOut, "tuning file ignored") > 1 {
			t.Errorf("regcl train --tuning %s (exit %d): stderr lacks %q once:\n%s", c.tuning, exit, c.want, errOut)
		}
	}
}

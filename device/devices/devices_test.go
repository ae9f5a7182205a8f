package devices

import (
	"bytes"
	"strings"
	"testing"
)

func TestOpenCPU(t *testing.T) {
	var log bytes.Buffer
	d, err := Open("cpu", &log)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !strings.Contains(log.String(), "cpu") || !strings.Contains(d.Name(), "gonum") {
		t.Errorf("picked %q, said %q", d.Name(), log.String())
	}
}

func TestOpenAutoSaysWhat(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // no tuning file: this test is about the device line
	t.Setenv("REGCL_TUNING", "")
	var log bytes.Buffer
	d, err := Open("auto", &log)
	if err != nil {
		t.Fatalf("auto must always find a device (the CPU at worst): %v", err)
	}
	defer d.Close()
	if !strings.HasPrefix(log.String(), "device: ") || strings.Count(log.String(), "\n") != 1 {
		t.Errorf("auto should say in one line which device it picked, said %q", log.String())
	}
}

func TestOpenBadSpecs(t *testing.T) {
	for spec, want := range map[string]string{
		"gpu":          `unknown device "gpu"`,
		"opencl:1":     "want opencl:P:D",
		"opencl:a:b":   "non-negative integers",
		"opencl:-1:0":  "non-negative integers",
		"opencl:99:99": "opencl:99:99",
		"opencl:0:1:2": "want opencl:P:D",
	} {
		_, err := Open(spec, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v, want an error containing %q", spec, err, want)
		}
	}
}

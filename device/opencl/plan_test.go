package opencl_test

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/opencl"
	"github.com/regcl/regcl/model"
)

// TestDescribedLaunchesAsReal: a described device with a real device's Info
// and tuning records the launches the real device enqueues (kernel,
// settings, global and local sizes, sizes, tiles), for both kernel
// variants, over a network's training forward and backward pass at two
// lanes with dropout and BatchNorm, the penalty and Adam: the plan is the
// backend's own geometry, not a copy of it.
func TestDescribedLaunchesAsReal(t *testing.T) {
	first := openDevice(t)
	for _, cpu := range []bool{true, false} {
		tuning := opencl.VariantTuning(first.Info, cpu)
		real, err := opencl.OpenTuned(first.Info, tuning)
		if err != nil {
			t.Fatal(err)
		}
		defer real.Close()
		dry, err := opencl.Describe(first.Info, tuning)
		if err != nil {
			t.Fatal(err)
		}
		if !dry.Described() || real.Described() {
			t.Fatalf("Described: %v for the described device, %v for the real one", dry.Described(), real.Described())
		}
		var got [2][]opencl.Launch
		for j, d := range []*opencl.Device{real, dry} {
			got[j], _ = launches(t, d, false)
		}
		t.Logf("cpu=%v: %d launches alike", cpu, len(got[0]))
		if len(got[0]) < 20 {
			t.Fatalf("cpu=%v: %d launches recorded on the real device, want the whole pass", cpu, len(got[0]))
		}
		if !reflect.DeepEqual(got[0], got[1]) {
			for i := range min(len(got[0]), len(got[1])) {
				if !reflect.DeepEqual(got[0][i], got[1][i]) {
					t.Errorf("cpu=%v: launch %d: real %+v, described %+v", cpu, i, got[0][i], got[1][i])
					break
				}
			}
			t.Fatalf("cpu=%v: the described device records %d launches, the real one %d", cpu, len(got[1]), len(got[0]))
		}
		for _, l := range got[1] {
			if l.Global[2] != 2 || l.Settings == nil || l.Program == "" {
				t.Errorf("cpu=%v: %+v: want 2 lanes in grid dimension 2, and the program's settings", cpu, l)
			}
		}
	}
}

// TestProfiledLaunchesTimed: on a profiling backend each recorded launch
// carries its device time, more than zero, and together they take no more
// than the wall time from the first enqueue to the end of the queue (an
// in-order queue runs them one after another within it); apart from the
// time, the launches are those a plain backend records.
func TestProfiledLaunchesTimed(t *testing.T) {
	d := openDevice(t)
	plain, _ := launches(t, d, false)
	timed, wall := launches(t, d, true)
	if len(timed) != len(plain) || len(timed) < 20 {
		t.Fatalf("%d launches on the profiling backend, %d on the plain one; want the same whole pass", len(timed), len(plain))
	}
	var sum time.Duration
	for i, l := range timed {
		if l.Time <= 0 {
			t.Errorf("launch %d %s: time %v, want it measured", i+1, l.Kernel, l.Time)
		}
		sum += l.Time
		l.Time = 0
		if plain[i].Time != 0 || !reflect.DeepEqual(l, plain[i]) {
			t.Errorf("launch %d: profiled %+v, plain %+v", i+1, l, plain[i])
		}
	}
	if sum > wall {
		t.Errorf("the launches' device times add to %v, more than the %v of wall time they ran in", sum, wall)
	}
	t.Logf("%d launches: %v of device time in %v of wall time", len(timed), sum, wall)
}

// launches records a training pass of a small network at two lanes on d,
// on a profiling backend where profiling is set, and the wall time from
// its first enqueue to the end of the queue.
func launches(t *testing.T, d *opencl.Device, profiling bool) ([]opencl.Launch, time.Duration) {
	t.Helper()
	var be *opencl.Backend
	if profiling {
		var err error
		if be, err = d.NewProfilingBackend(2); err != nil {
			t.Fatal(err)
		}
	} else {
		b, err := d.NewBackend(2)
		if err != nil {
			t.Fatal(err)
		}
		be = b.(*opencl.Backend)
	}
	defer be.Close()
	cfg := model.Config{Inputs: 50, Hidden: []int{40, 24}, Classes: 10, BatchNorm: true, L2: 1e-4}
	if err := be.SetLanes([]device.LaneParams{{Seed: 1, DropoutRate: 0.3, L2: 1e-4, LR: 1e-3}, {Seed: 2, L1: 1e-4, LR: 1e-3}}); err != nil {
		t.Fatal(err)
	}
	const rows = 37
	net, err := model.New(be, []model.Config{cfg, cfg}, rows)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Free()
	if err := net.Init([]uint64{1, 2}); err != nil {
		t.Fatal(err)
	}
	x, _ := be.Alloc(device.Float, rows*cfg.Inputs)
	acc, _ := be.Alloc(device.Float, device.AccLen)
	m, _ := be.Alloc(device.Float, 1)
	defer be.Free(x)
	defer be.Free(acc)
	be.Fill(x, rows*cfg.Inputs, 0.5)
	be.Fill(net.DLogits(), rows*cfg.Classes, 0.01)
	if err := be.Finish(); err != nil {
		t.Fatal(err)
	}
	be.Record(true)
	t0 := time.Now()
	net.Forward(x, rows, true, 3)
	net.PenaltySum(acc, 1)
	net.Backward(x, rows, 3)
	net.Forward(x, rows, false, 0)
	w, g, n, pen := net.ParamBuffers()
	be.AdamStep(w, g, w, g, n, pen, device.Adam{Correction: 1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}) // the moments' buffers stand in
	be.Free(m)
	if err := be.Finish(); err != nil {
		t.Fatal(err)
	}
	wall := time.Since(t0)
	return be.Launches(), wall
}

// TestReadDescription reads the example H200 and refuses bad files with
// the file and the field named.
func TestReadDescription(t *testing.T) {
	h200 := filepath.Join("..", "..", "testdata", "devices", "h200.yaml")
	i, err := opencl.ReadDescription(h200)
	if err != nil {
		t.Fatal(err)
	}
	gib := float64(1 << 30)
	if i.Name != "NVIDIA H200" || !i.IsGPU() || i.ComputeUnits != 132 || i.LocalMem != 48<<10 || i.MaxWorkGroupSize != 1024 ||
		i.PrefVecFloat != 1 || i.NativeVecFloat != 1 || i.GlobalMem != uint64(math.Round(139.8*gib)) || i.Driver != "580.159.04" {
		t.Errorf("h200.yaml read as %+v", i)
	}
	if _, err := opencl.Describe(i, opencl.DefaultTuning(i)); err != nil {
		t.Errorf("the H200's default tuning: %v", err)
	}
	good, err := os.ReadFile(h200)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, text, want string }{
		{"missing", strings.Replace(string(good), "compute_units: 132\n", "", 1), "compute_units is missing"},
		{"zero units", strings.Replace(string(good), "compute_units: 132", "compute_units: 0", 1), "compute_units 0 is outside 1..65536"},
		{"huge local", strings.Replace(string(good), "local_mem: 48 KiB", "local_mem: 2 TiB", 1), "local_mem of 2199023255552 bytes is outside 1 B..1 GiB"},
		{"huge wg", strings.Replace(string(good), "max_work_group_size: 1024", "max_work_group_size: 1000000", 1), "max_work_group_size 1000000 is outside"},
		{"bad size", strings.Replace(string(good), "local_mem: 48 KiB", "local_mem: lots", 1), `local_mem: line 11: "lots" is not a size`},
		{"bad number", strings.Replace(string(good), "compute_units: 132", "compute_units: many", 1), "compute_units: line 9: cannot unmarshal"},
		{"bad vector", strings.Replace(string(good), "native_vector_width: 1", "native_vector_width: 3", 1), "native_vector_width 3: want 1, 2, 4, 8 or 16"},
		{"bad type", strings.Replace(string(good), "type: GPU", "type: FPGA", 1), `type "FPGA": want GPU, CPU or Accelerator`},
		{"unknown", string(good) + "cores: 5\n", `unknown field "cores"`},
		{"twice", string(good) + "compute_units: 5\n", "compute_units given twice"},
		{"not yaml", "name: [unclosed\n", "not YAML"},
		{"a list", "- 1\n- 2\n", "want a mapping of fields"},
		{"empty", "", "empty"},
	} {
		p := filepath.Join(t.TempDir(), "dev.yaml")
		os.WriteFile(p, []byte(c.text), 0o644)
		_, err := opencl.ReadDescription(p)
		if err == nil || !strings.Contains(err.Error(), p+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s and saying %q", c.name, err, p, c.want)
		}
	}
}

// TestDescriptionBounds: each bound on a description's fields from both
// sides (DESIGN.md, "Bounds on inputs"): the value at the bound is read,
// the value just past it refused, naming the field.
func TestDescriptionBounds(t *testing.T) {
	base := map[string]string{"name": "X", "type": "GPU", "compute_units": "132", "global_mem": "140 GiB", "local_mem": "48 KiB",
		"max_work_group_size": "1024", "preferred_vector_width": "1", "native_vector_width": "1"}
	for _, c := range []struct {
		field, ok, refused string
	}{
		{"compute_units", "1", "0"},
		{"compute_units", "65536", "65537"},
		{"global_mem", "1 MiB", "1048575"},
		{"global_mem", "1125899906842624", "1125899906842625"},
		{"local_mem", "1", "0"},
		{"local_mem", "1 GiB", "1073741825"},
		{"max_work_group_size", "1", "0"},
		{"max_work_group_size", "65536", "65537"},
		{"max_alloc", "1 MiB", "1048575"},
		{"max_alloc", "140 GiB", "150323855361"},
		{"base_addr_align", "32", "16"},
		{"base_addr_align", "1048576", "2097152"},
		{"max_clock_mhz", "1048576", "1048577"},
		{"preferred_vector_width", "16", "32"},
	} {
		for _, v := range []string{c.ok, c.refused} {
			var b strings.Builder
			for k, x := range base {
				if k != c.field {
					b.WriteString(k + ": " + x + "\n")
				}
			}
			b.WriteString(c.field + ": " + v + "\n")
			p := filepath.Join(t.TempDir(), "d.yaml")
			os.WriteFile(p, []byte(b.String()), 0o644)
			_, err := opencl.ReadDescription(p)
			switch {
			case v == c.ok && err != nil:
				t.Errorf("%s: %s refused: %v", c.field, v, err)
			case v == c.refused && (err == nil || !strings.Contains(err.Error(), c.field)):
				t.Errorf("%s: %s: %v, want it refused, naming the field", c.field, v, err)
			}
		}
	}
}

package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// planRow is one launch of regcl plan's table.
type planRow struct {
	n              int
	kernel, sizes  string
	lanes, groups  int
	m, nn, k       int // a product's sizes
	product, named bool
	us             float64 // plan --measure: the launch's median µs (else -1)
}

// parsePlan reads the table and the named launches of the part whose
// heading starts with part ("training step", "inference pass").
func parsePlan(t *testing.T, out, part string) (launches int, rows []planRow) {
	t.Helper()
	i := strings.Index(out, "\n"+part)
	if i < 0 {
		t.Fatalf("no %s in regcl plan's output:\n%s", part, out)
	}
	lines := strings.Split(out[i+1:], "\n")
	head := lines[0]
	if _, err := fmt.Sscanf(head[strings.LastIndex(head, ": ")+2:], "%d launches", &launches); err != nil {
		t.Fatalf("heading %q: %v", head, err)
	}
	var notes []string
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		switch {
		case l == "":
		case strings.HasPrefix(l, "  #"):
			notes = append(notes, l)
			continue
		case len(f) == 9 || len(f) == 10:
			r := planRow{kernel: f[1], sizes: f[3], us: -1}
			if len(f) == 10 {
				var err error
				if r.us, err = strconv.ParseFloat(f[9], 64); err != nil {
					t.Fatalf("row %q: its µs: %v", l, err)
				}
			}
			r.n, _ = strconv.Atoi(f[0])
			r.lanes, _ = strconv.Atoi(f[6])
			r.groups, _ = strconv.Atoi(f[7])
			if _, err := fmt.Sscanf(r.sizes, "M=%d,N=%d,K=%d", &r.m, &r.nn, &r.k); err == nil {
				r.product = true
			}
			rows = append(rows, r)
			continue
		default:
			continue
		}
		break // the blank line after the part
	}
	for j := range rows {
		prefix := fmt.Sprintf("  #%d %s %s: ", rows[j].n, rows[j].kernel, rows[j].sizes)
		for _, n := range notes {
			if strings.HasPrefix(n, prefix) && strings.HasSuffix(n, "of the 132 units") {
				rows[j].named = true
			}
		}
	}
	return launches, rows
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// splitSlices are the K-slices of the study's products on the example
// H200's default GPU tuning (64×64 tiles, TSK 16, SPLITK 0: the least power
// of two p ≤ 32 whose slices, ceil(K/depth) of depth 16·ceil(ceil(K/p)/16),
// give the tiles 132 work-groups), worked by hand: 128×256×784 has 8 tiles,
// p = 32 gives 25 slices of 32 (p = 16: 13 of 64, 104 work-groups); a K of
// 128 or 256 runs out of slices at 8 or 16 of depth 16; 784×256×128's 52
// tiles take p = 4 (208); the inference chunk's 1024×256×784 64 tiles take
// p = 4 (4 of 208; p = 2: 128) and 1024×128×256's 32 take p = 8.
var splitSlices = map[[3]int]int{
	{128, 256, 784}: 25, {128, 128, 256}: 16, {256, 128, 128}: 8, {128, 256, 128}: 8, {784, 256, 128}: 4,
	{1024, 256, 784}: 4, {1024, 128, 256}: 8,
}

// TestPlanDescribe: regcl plan --describe for the example H200 lists one
// run's step with as many launches as it takes on PoCL (train's
// TestStudyLaunches: 13 for baseline, 13 with a penalty, which Adam sums
// and the next loss adds, 13 with dropout, which every product carries, 15
// with BatchNorm, whose backward pass carries its input ReLU's;
// softmax_xent carries the output layer's bias gradient), but one more for each
// of the 5 products whose K is split (splitSlices: the slices, then
// gemm_split_finish), each product with the work-groups its default GPU
// tiles give (ceil(M/TSM)·ceil(N/TSN), 64×64, times its slices; the direct
// kernel's 8×8 where N or K is at most 32), counted over every lane, and
// every launch below the 132 compute units named with its reason; bad
// device files are refused with the file and the field named.
func TestPlanDescribe(t *testing.T) {
	h200, err := filepath.Abs(filepath.Join("..", "..", "testdata", "devices", "h200.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const units = 132
	for _, c := range []struct {
		model    string
		lanes    int
		launches int
	}{{"baseline", 1, 18}, {"l1", 1, 18}, {"l2", 1, 18}, {"elastic_net", 1, 18}, {"dropout", 1, 18}, {"batch_norm", 1, 20}, {"baseline", 3, 18}} {
		out, errOut, exit := runRegcl(t, nil, "plan", "--describe", h200, "--model", c.model, "--lanes", fmt.Sprint(c.lanes))
		if exit != 0 {
			t.Fatalf("regcl plan --describe %s --model %s: exit %d\n%s", h200, c.model, exit, errOut)
		}
		for _, want := range []string{"device: NVIDIA H200 (NVIDIA CUDA), described by " + h200, "132 compute units, 48 KiB local memory, work-groups of up to 1024",
			"gemm_gpu   TSM=64 TSN=64", "training step (128 rows)", "inference pass (an evaluation chunk of 1024 rows)"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: the plan lacks %q:\n%s", c.model, want, out)
			}
		}
		for _, part := range []string{"training step", "inference pass"} {
			n, rows := parsePlan(t, out, part)
			if len(rows) != n {
				t.Errorf("%s %s: %d rows for %d launches", c.model, part, len(rows), n)
			}
			if part == "training step" && n != c.launches {
				t.Errorf("%s at %d lanes: %d launches a step, want %d", c.model, c.lanes, n, c.launches)
			}
			products, splits, finishes := 0, 0, 0
			for _, r := range rows {
				if r.kernel == "gemm_split_finish" {
					finishes++
				}
				if r.lanes != c.lanes {
					t.Errorf("%s %s #%d %s: %d lanes, want %d", c.model, part, r.n, r.kernel, r.lanes, c.lanes)
				}
				if r.product {
					products++
					want := ceilDiv(r.m, 64) * ceilDiv(r.nn, 64) // TSM×TSN of the default GPU tuning
					if min(r.nn, r.k) <= 32 {                    // DIRECT: WGD×WGD work-groups
						want = ceilDiv(r.m, 8) * ceilDiv(r.nn, 8)
					}
					if sl, ok := splitSlices[[3]int{r.m, r.nn, r.k}]; ok {
						want *= sl
						if !strings.HasPrefix(r.kernel, "gemm_split_") {
							t.Errorf("%s %s #%d %s %s: not split", c.model, part, r.n, r.kernel, r.sizes)
						}
						splits++
					}
					if r.groups != want*c.lanes {
						t.Errorf("%s %s #%d %s %s: %d work-groups, want %d", c.model, part, r.n, r.kernel, r.sizes, r.groups, want*c.lanes)
					}
				}
				if r.groups < units && !r.named {
					t.Errorf("%s %s #%d %s: %d work-groups, below the %d units, and not named with a reason:\n%s", c.model, part, r.n, r.kernel, r.groups, units, out)
				}
			}
			if want := map[string]int{"training step": 8, "inference pass": 3}[part]; products != want {
				t.Errorf("%s %s: %d products, want %d", c.model, part, products, want)
			}
			if want := map[string]int{"training step": 5, "inference pass": 2}[part]; splits != want || finishes != want {
				t.Errorf("%s %s: %d split products and %d finishes, want %d", c.model, part, splits, finishes, want)
			}
			if strings.Contains(out, "col_sum") {
				t.Errorf("%s: col_sum launched, though softmax_xent carries the output layer's bias gradient", c.model)
			}
			if _, step, _ := strings.Cut(out, "training step"); strings.Contains(strings.Split(step, "inference pass")[0], "penalty_") {
				t.Errorf("%s: a training step launches a penalty kernel, though Adam sums the penalty:\n%s", c.model, out)
			}
			if strings.Contains(out, "dropout_apply") {
				t.Errorf("%s: dropout_apply launched, though every product carries the dropout", c.model)
			}
		}
		if c.model == "baseline" && c.lanes == 1 && !strings.Contains(out, "  #4 gemm_split_nn M=128,N=128,K=256,depth=16: 64 work-groups of a 128×128 product with 64×64 tiles, "+
			"its K of 256 in 16 slices of at most 16 (SPLITK; a slice is at least TSK deep): 0.48 of the 132 units") {
			t.Errorf("the second product's reason is not as expected:\n%s", out)
		}
		// The output layer's forward product, 128×10: 1280 elements of C
		// in 8×8 work-groups (WGD 8), ceil(10/8)·ceil(128/8) = 2·16 = 32.
		if c.model == "baseline" && c.lanes == 1 && !strings.Contains(out, "  #6 gemm_direct_nn M=128,N=10,K=128: 32 work-groups of a 128×10 product (K 128) "+
			"with 8×8 tiles, a work-item an element of C (more work-groups would need smaller ones than WGD×WGD, or K cut into slices") {
			t.Errorf("the direct product's reason is not as expected:\n%s", out)
		}
		// The second layer's bias gradient: 128 columns, a work-group each
		// (ROW_SLICES 64 on a GPU), so 128 work-groups.
		if c.model == "baseline" && c.lanes == 1 && !strings.Contains(out, "  #10 relu_backward_colsum rows=128,cols=128: 128 work-groups of 64 work-items "+
			"for 128 columns of 128 rows, a column's rows shared by 64 items of one work-group") {
			t.Errorf("the 128-column reduction's reason is not as expected:\n%s", out)
		}
	}

	good, err := os.ReadFile(h200)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct{ name, text, want string }{
		{"missing.yaml", strings.Replace(string(good), "local_mem: 48 KiB\n", "", 1), "local_mem is missing"},
		{"zero.yaml", strings.Replace(string(good), "compute_units: 132", "compute_units: 0", 1), "compute_units 0 is outside 1..65536"},
		{"huge.yaml", strings.Replace(string(good), "local_mem: 48 KiB", "local_mem: 64 GiB", 1), "local_mem of 68719476736 bytes is outside 1 B..1 GiB"},
		{"notyaml.yaml", "name: NVIDIA H200\ntype: [GPU\n", "not YAML"},
	} {
		p := filepath.Join(dir, c.name)
		os.WriteFile(p, []byte(c.text), 0o644)
		out, errOut, exit := runRegcl(t, nil, "plan", "--describe", p)
		if exit == 0 || !strings.Contains(errOut, "regcl: plan: "+p+": ") || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "panic") || out != "" {
			t.Errorf("regcl plan --describe %s: exit %d, stderr %q, stdout %q; want an error naming the file and saying %q", c.name, exit, errOut, out, c.want)
		}
	}
	if _, errOut, exit := runRegcl(t, nil, "plan", "--device", "cpu"); exit == 0 || !strings.Contains(errOut, "launches no kernels") {
		t.Errorf("regcl plan --device cpu: exit %d, %s", exit, errOut)
	}
}

// TestPlanMeasure: regcl plan --measure on the OpenCL device lists the
// launches the plan alone lists, each with its median time (more than
// zero), the kernel time they add to and a wall time; --measure on a described device, on the gonum backend
// or out of bounds is refused.
func TestPlanMeasure(t *testing.T) {
	needOpenCL(t)
	planned, errOut, exit := runRegcl(t, nil, "plan", "--device", "opencl", "--model", "dropout")
	if exit != 0 {
		t.Fatalf("regcl plan: exit %d\n%s", exit, errOut)
	}
	out, errOut, exit := runRegcl(t, nil, "plan", "--device", "opencl", "--model", "dropout", "--measure", "3")
	if exit != 0 {
		t.Fatalf("regcl plan --measure 3: exit %d\n%s\n%s", exit, errOut, out)
	}
	for _, part := range []string{"training step", "inference pass"} {
		_, want := parsePlan(t, planned, part)
		n, rows := parsePlan(t, out, part)
		if n != len(want) || len(rows) != n {
			t.Fatalf("%s: %d launches (%d rows) measured, %d planned:\n%s", part, n, len(rows), len(want), out)
		}
		var sum float64
		for j, r := range rows {
			w := want[j]
			w.us = r.us
			if r != w {
				t.Errorf("%s #%d: measured %+v, planned %+v", part, j+1, r, want[j])
			}
			if r.us <= 0 {
				t.Errorf("%s #%d %s: %v µs, want a measured time", part, j+1, r.kernel, r.us)
			}
			sum += r.us
		}
		how := map[string]string{"training step": "the steps in a row", "inference pass": "each pass waited for"}[part]
		re := regexp.MustCompile(`\nmeasured over (\d+) runs on a profiling queue: ([0-9.]+) µs of kernel time \(the launches' medians added\), ` +
			`([0-9.]+) µs of wall time a run \(` + how + `\), ([0-9.]+) clSetKernelArg calls a run\n`)
		m := re.FindStringSubmatch(out[strings.Index(out, "\n"+part):])
		if m == nil {
			t.Fatalf("%s: no line of what was measured:\n%s", part, out)
		}
		runs, _ := strconv.Atoi(m[1])
		kernel, _ := strconv.ParseFloat(m[2], 64)
		wall, _ := strconv.ParseFloat(m[3], 64)
		calls, _ := strconv.ParseFloat(m[4], 64)
		// A training step sets at least one argument (its position in the
		// epoch, its step number), an inference pass of the same chunk
		// maybe none; each call site of a kernel has a kernel object of
		// its own, which keeps its arguments from launch to launch
		// (cl.Kernel.SetArg), so in a steady run a launch sets at most
		// about one (on PoCL, 6 a dropout step where all its launches'
		// arguments are 251).
		if (part == "training step" && calls < 1) || calls > float64(n) {
			t.Errorf("%s: %.1f clSetKernelArg calls a run of %d launches", part, calls, n)
		}
		// The table's µs are rounded to 0.1: the sum may differ by 0.05 a row.
		if runs != 3 || math.Abs(kernel-sum) > 0.05*float64(n)+0.05 {
			t.Errorf("%s: %d runs, %.1f µs of kernel time; want 3 runs, and the rows' %.1f µs", part, runs, kernel, sum)
		}
		// (Within one run the kernels take no more than its wall time:
		// TestProfiledLaunchesTimed. Medians of separate launches and of
		// whole runs have no such bound between them.)
		if wall <= 0 {
			t.Errorf("%s: %.1f µs of wall time", part, wall)
		}
	}
	h200 := filepath.Join("..", "..", "testdata", "devices", "h200.yaml")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--describe", h200, "--measure", "5"}, "a described one runs nothing"},
		{[]string{"--device", "cpu", "--measure", "5"}, "launches none"},
		{[]string{"--device", "opencl", "--measure", "-1"}, "--measure must be in 1..10000 runs (0, the default, plans only), got -1"},
		{[]string{"--device", "opencl", "--measure", "10001"}, "--measure must be in 1..10000 runs (0, the default, plans only), got 10001"},
	} {
		out, errOut, exit := runRegcl(t, nil, append([]string{"plan"}, c.args...)...)
		if exit == 0 || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "panic") || out != "" {
			t.Errorf("regcl plan %v: exit %d, stderr %q, stdout %q; want an error saying %q", c.args, exit, errOut, out, c.want)
		}
	}
}

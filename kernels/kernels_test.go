package kernels

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestProgramsListTheirKernels: every kernel a program's sources define is
// in its Kernels list and no other (so the host creates exactly what exists),
// and every embedded file belongs to a program.
func TestProgramsListTheirKernels(t *testing.T) {
	// A kernel is `__kernel ... void NAME(` or a NAME passed to one of
	// gemm.cl's kernel-writing macros.
	direct := regexp.MustCompile(`__kernel\s[^;{]*?void\s+([a-z_0-9]+)\s*\(`)
	macro := regexp.MustCompile(`(?m)^(?:GEMM_CPU_KERNEL|GEMM_PACKED_KERNEL|PACK_KERNEL|GEMM_KERNEL)\(([a-z_0-9]+),`)
	used := map[string]bool{}
	for _, p := range Programs {
		src := p.Source()
		for _, f := range p.Files {
			used[f] = true
			if !strings.Contains(src, `#line 1 "`+f+`"`) {
				t.Errorf("%s: Source lacks %s", p.Name, f)
			}
		}
		found := map[string]bool{}
		for _, m := range direct.FindAllStringSubmatch(activePart(src, p), -1) {
			if !strings.HasPrefix(m[1], "NAME") {
				found[m[1]] = true
			}
		}
		for _, m := range macro.FindAllStringSubmatch(activePart(src, p), -1) {
			found[m[1]] = true
		}
		var got []string
		for k := range found {
			got = append(got, k)
		}
		sort.Strings(got)
		want := slices.Clone(p.Kernels)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s defines kernels %v, its contract lists %v", p.Name, got, want)
		}
	}
	entries, _ := files.ReadDir(".")
	for _, e := range entries {
		if !used[e.Name()] {
			t.Errorf("%s belongs to no program", e.Name())
		}
	}
}

// activePart is the part of gemm.cl that the program's variant compiles (the
// two variants sit in one #if GEMM_CPU … #else … #endif).
func activePart(src string, p *Program) string {
	v, ok := p.Fixed["GEMM_CPU"]
	if !ok {
		return src
	}
	i, e, j := strings.Index(src, "#if GEMM_CPU\n"), strings.Index(src, "#else // GEMM_CPU"), strings.Index(src, "#endif // GEMM_CPU")
	if i < 0 || e < 0 || j < 0 {
		return src
	}
	if v == 1 {
		return src[i:e]
	}
	return src[e:j]
}

// TestDefaultsAreValid: every program's defaults for typical devices pass
// its own Validate, and the CPU defaults follow the vector width.
func TestDefaultsAreValid(t *testing.T) {
	for _, l := range []Limits{
		{CPU: true, MaxWorkGroupSize: 4096, PrefVecFloat: 16, NativeVecFloat: 16},
		{CPU: true, MaxWorkGroupSize: 4096, PrefVecFloat: 8, NativeVecFloat: 8},
		{CPU: true, MaxWorkGroupSize: 1024, PrefVecFloat: 4},
		{CPU: false, MaxWorkGroupSize: 1024, LocalMemBytes: 48 << 10, PrefVecFloat: 1},
		{CPU: false, MaxWorkGroupSize: 256, LocalMemBytes: 32 << 10, PrefVecFloat: 1},
		{CPU: false, MaxWorkGroupSize: 128, LocalMemBytes: 16 << 10},
	} {
		for _, p := range []*Program{Ops, GemmProgram(l)} {
			s := p.Defaults(l)
			if err := p.Validate(s, l); err != nil {
				t.Errorf("%+v: %s defaults %v: %v", l, p.Name, s, err)
			}
		}
		if l.CPU {
			want := map[int]int{16: 16, 8: 8, 4: 4}[l.PrefVecFloat]
			if got := GemmCPU.Defaults(l)["VW"]; got != want {
				t.Errorf("a CPU whose preferred float width is %d gets VW %d, want %d", l.PrefVecFloat, got, want)
			}
			if got := Ops.Defaults(l)["VEC"]; got != want {
				t.Errorf("a CPU whose preferred float width is %d gets VEC %d, want %d", l.PrefVecFloat, got, want)
			}
		}
	}
}

func TestValidateRejects(t *testing.T) {
	l := Limits{CPU: true, MaxWorkGroupSize: 4096, PrefVecFloat: 16}
	good := GemmCPU.Defaults(l)
	for name, mut := range map[string]func(Settings){
		"a value outside the list": func(s Settings) { s["VW"] = 32 },
		"a missing parameter":      func(s Settings) { delete(s, "KU") },
		"an unknown parameter":     func(s Settings) { s["XYZ"] = 1 },
		"too many registers":       func(s Settings) { s["MR"], s["NV"] = 12, 4 },
	} {
		s := Settings{}
		for k, v := range good {
			s[k] = v
		}
		mut(s)
		if err := GemmCPU.Validate(s, l); err == nil {
			t.Errorf("%s: %v accepted", name, s)
		}
	}
	g := Limits{MaxWorkGroupSize: 64, LocalMemBytes: 16 << 10}
	s := GemmGPU.Defaults(g)
	s["TSM"], s["TSN"], s["WPTM"], s["WPTN"] = 128, 128, 1, 1
	if err := GemmGPU.Validate(s, g); err == nil {
		t.Errorf("a 128×128 work-group on a device of 64 accepted")
	}
}

func TestOptionsRenderEveryParameter(t *testing.T) {
	l := Limits{CPU: true, MaxWorkGroupSize: 4096, PrefVecFloat: 8}
	s := GemmCPU.Defaults(l)
	o := GemmCPU.Options(s)
	for _, q := range GemmCPU.Params {
		if !strings.Contains(o, "-D"+q.Name+"=") {
			t.Errorf("options %q lack %s", o, q.Name)
		}
	}
	for _, c := range Constants {
		if !strings.Contains(o, "-D"+c.Name+"=") {
			t.Errorf("options %q lack the constant %s", o, c.Name)
		}
	}
	if !strings.Contains(o, "-DGEMM_CPU=1") {
		t.Errorf("options %q lack the variant switch", o)
	}
	if n := len(GemmCPU.Space(l)); n < 1000 {
		t.Errorf("the CPU product's space has only %d combinations", n)
	}
}

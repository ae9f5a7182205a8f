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
	macro := regexp.MustCompile(`(?m)^(?:GEMM_CPU_KERNEL|GEMM_PACKED_KERNEL|PACK_KERNEL|GEMM_KERNEL|GEMM_DIRECT_KERNEL|GEMM_SPLIT_KERNEL)\(([a-z_0-9]+),`)
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

// TestSignaturesMatchSources: every kernel of every program has a declared
// argument list (Signatures), and its parameters in the OpenCL C source —
// read from the source, BUF(T, name) expanded to name, name_off, name_ls and
// gemm.cl's macros expanded — have the declared names, in order, kinds and
// element types; a buffer the kernel writes is declared Out, and one it
// only reads is not. A swapped or renamed argument on either side fails here.
func TestSignaturesMatchSources(t *testing.T) {
	declared := map[string]bool{}
	for _, p := range Programs {
		src := activePart(p.Source(), p)
		params := kernelParams(t, p.Source(), src)
		for _, name := range p.Kernels {
			declared[name] = true
			sig, ok := Signatures[name]
			if !ok {
				t.Errorf("%s: kernel %s has no declared arguments", p.Name, name)
				continue
			}
			got, ok := params[name]
			if !ok {
				t.Errorf("%s: kernel %s: no parameter list found in the source", p.Name, name)
				continue
			}
			want := expand(sig)
			if len(got) != len(want) {
				t.Errorf("%s: %s has %d parameters %v, its declaration %d %v", p.Name, name, len(got), got, len(want), want)
				continue
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s: %s parameter %d is %q in the source, %q declared", p.Name, name, i, got[i], want[i])
				}
			}
			if n := CLArgs(sig); n != len(want) {
				t.Errorf("%s: CLArgs = %d, want %d", name, n, len(want))
			}
		}
	}
	for name := range Signatures {
		if !declared[name] {
			t.Errorf("Signatures declares %s, which no program defines", name)
		}
	}
}

// expand renders a declared list as the source's parameters, each as
// "name type" with type one of buf:ELEM, bufout:ELEM, mem:ELEM, int, uint,
// float, long.
func expand(sig []Arg) []string {
	var out []string
	for _, a := range sig {
		switch a.Kind {
		case ArgBuf:
			k := "buf:"
			if a.Out {
				k = "bufout:"
			}
			out = append(out, a.Name+" "+k+a.Elem, a.Name+"_off long", a.Name+"_ls long")
		case ArgMem:
			out = append(out, a.Name+" mem:"+a.Elem)
		case ArgInt:
			out = append(out, a.Name+" int")
		case ArgUint:
			out = append(out, a.Name+" uint")
		case ArgFloat:
			out = append(out, a.Name+" float")
		}
	}
	return out
}

// kernelParams reads every kernel's parameters from src (the active part
// of a program's source; full holds the macros' definitions), rendered as
// expand renders declarations.
func kernelParams(t *testing.T, full, src string) map[string][]string {
	defs := macroDefs(full)
	out := map[string][]string{}
	direct := regexp.MustCompile(`__kernel\s[^;{]*?void\s+([a-zA-Z_0-9]+)\s*\(`)
	parse := func(body string, loc []int, name string) {
		open := loc[1] - 1
		list := balanced(body, open)
		var params []string
		var expand func(ps []string, depth int)
		expand = func(ps []string, depth int) {
			for _, p := range ps {
				if d, ok := defs[strings.TrimSpace(p)]; ok && depth < 4 { // GEMM_ARGS, and DROP_ARGS within it
					expand(splitTop(d), depth+1)
					continue
				}
				params = append(params, p)
			}
		}
		expand(splitTop(list), 0)
		var got []string
		for _, p := range params {
			got = append(got, renderParam(t, name, p)...)
		}
		out[name] = got
	}
	for _, loc := range direct.FindAllStringSubmatchIndex(src, -1) {
		name := src[loc[2]:loc[3]]
		if name != "NAME" {
			parse(src, loc, name)
		}
	}
	// Kernels written by macros: MACRO(name, ...) at the start of a line,
	// the parameters those of `void NAME(` in the macro's definition.
	inv := regexp.MustCompile(`(?m)^([A-Z_]+_KERNEL)\(([a-z_0-9]+),`)
	for _, m := range inv.FindAllStringSubmatch(src, -1) {
		body, ok := defs[m[1]]
		if !ok {
			t.Errorf("no definition of the macro %s", m[1])
			continue
		}
		loc := regexp.MustCompile(`void\s+(NAME)\s*\(`).FindStringSubmatchIndex(body)
		if loc == nil {
			t.Errorf("macro %s defines no kernel", m[1])
			continue
		}
		parse(body, []int{loc[0], loc[1], loc[2], loc[3]}, m[2])
	}
	return out
}

// macroDefs maps each #define's name to its body (continuation lines
// joined; for a function-like macro, the body after its parameter list).
func macroDefs(src string) map[string]string {
	defs := map[string]string{}
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
			i++
			l = l[:len(l)-1] + " " + lines[i]
		}
		m := regexp.MustCompile(`^#define\s+([A-Za-z_0-9]+)(\([^)]*\))?\s*(.*)$`).FindStringSubmatch(l)
		if m != nil {
			defs[m[1]] = m[3]
		}
	}
	return defs
}

// balanced returns the text inside the parentheses opening at s[open].
func balanced(s string, open int) string {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[open+1 : i]
			}
		}
	}
	return s[open+1:]
}

// splitTop splits a parameter list at its top-level commas.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if t := strings.TrimSpace(s[start:]); t != "" {
		out = append(out, t)
	}
	return out
}

// renderParam renders one source parameter: BUF(T, name) as its three
// parameters, a pointer as mem:ELEM, a scalar as its type.
func renderParam(t *testing.T, kernel, p string) []string {
	p = strings.Join(strings.Fields(p), " ")
	if strings.HasPrefix(p, "BUF(") {
		parts := splitTop(balanced(p, 3))
		if len(parts) != 2 {
			t.Errorf("%s: cannot read %q", kernel, p)
			return nil
		}
		ty, name := parts[0], parts[1]
		elem := strings.Fields(strings.NewReplacer("const", "", "restrict", "", "*", "").Replace(ty))
		kind := "bufout:"
		if strings.HasPrefix(ty, "const ") {
			kind = "buf:"
		}
		return []string{name + " " + kind + strings.Join(elem, ""), name + "_off long", name + "_ls long"}
	}
	f := strings.Fields(strings.NewReplacer("*", " * ").Replace(p))
	name := f[len(f)-1]
	var ty []string
	ptr := false
	for _, w := range f[:len(f)-1] {
		switch w {
		case "const", "__global", "__constant", "restrict":
		case "*":
			ptr = true
		default:
			ty = append(ty, w)
		}
	}
	if ptr {
		return []string{name + " mem:" + strings.Join(ty, "")}
	}
	return []string{name + " " + strings.Join(ty, "")}
}

// TestDirect: the direct products take exactly the products whose N or K
// is at most DIRECT, and none when DIRECT is 0 (the study's output layer in,
// its other layers out).
func TestDirect(t *testing.T) {
	on, off := Settings{"DIRECT": 32}, Settings{"DIRECT": 0}
	for _, c := range []struct {
		m, n, k int
		want    bool
	}{
		{128, 10, 128, true}, {128, 128, 10, true}, {128, 32, 1000, true}, {1000, 1000, 32, true}, {1, 1, 1, true},
		{128, 33, 33, false}, {128, 256, 784, false}, {784, 256, 128, false}, {128, 128, 256, false}, {10, 33, 128, false},
	} {
		if got := Direct(on, c.m, c.n, c.k); got != c.want {
			t.Errorf("DIRECT 32, %dx%dx%d: Direct = %v, want %v", c.m, c.n, c.k, got, c.want)
		}
		if Direct(off, c.m, c.n, c.k) {
			t.Errorf("DIRECT 0, %dx%dx%d: Direct = true", c.m, c.n, c.k)
		}
	}
}

// TestDirectEveryStudyShape: the GPU program's largest DIRECT takes every
// product of the study's shapes (N or K at most 784), so that a tuning can
// serve any shape class with the direct kernel alone.
func TestDirectEveryStudyShape(t *testing.T) {
	q, _ := GemmGPU.Param("DIRECT")
	all := Settings{"DIRECT": slices.Max(q.Values)}
	for _, c := range [][3]int{{128, 256, 784}, {784, 256, 128}, {128, 128, 256}, {256, 128, 128}, {128, 256, 128}, {128, 10, 128}, {128, 128, 10}} {
		if !Direct(all, c[0], c[1], c[2]) {
			t.Errorf("DIRECT %d, %dx%dx%d: not direct", all["DIRECT"], c[0], c[1], c[2])
		}
	}
}

// TestChoiceVariants: every program's Choices are parameters of it, and
// ChoiceVariants moves one of them at a time from the given settings to
// each of its other values, each result valid.
func TestChoiceVariants(t *testing.T) {
	for _, p := range Programs {
		l := Limits{CPU: p == GemmCPU, MaxWorkGroupSize: 1024, LocalMemBytes: 48 << 10, PrefVecFloat: 8, NativeVecFloat: 8}
		def := p.Defaults(l)
		if len(p.Choices) == 0 {
			t.Errorf("%s: no parameter chooses a kernel", p.Name)
		}
		want := 0
		for _, name := range p.Choices {
			q, ok := p.Param(name)
			if !ok {
				t.Fatalf("%s: choice %s is not a parameter", p.Name, name)
			}
			want += len(q.Values) - 1
		}
		vs := p.ChoiceVariants(def, l)
		if len(vs) != want {
			t.Errorf("%s: %d variants of the defaults, want %d (each other value of %v)", p.Name, len(vs), want, p.Choices)
		}
		seen := map[string]bool{}
		for _, v := range vs {
			if err := p.Validate(v, l); err != nil {
				t.Errorf("%s: variant %s: %v", p.Name, p.Key(v), err)
			}
			var moved []string
			for _, q := range p.Params {
				if v[q.Name] != def[q.Name] {
					moved = append(moved, q.Name)
				}
			}
			if len(moved) != 1 || !slices.Contains(p.Choices, moved[0]) {
				t.Errorf("%s: variant %s moves %v from the defaults, want one of %v", p.Name, p.Key(v), moved, p.Choices)
			}
			if seen[p.Key(v)] {
				t.Errorf("%s: variant %s twice", p.Name, p.Key(v))
			}
			seen[p.Key(v)] = true
		}
	}
}

// TestSplitK: how a tiled product's K is cut, worked by hand from SplitK's
// rule (depth = TSK·ceil(ceil(k/p)/TSK), slices = ceil(k/depth); SPLITK 0
// takes the least power of two p whose slices give the tiles enough
// work-groups for the units).
func TestSplitK(t *testing.T) {
	s := func(split int) Settings { return Settings{"TSM": 64, "TSN": 64, "TSK": 16, "SPLITK": split} }
	for _, c := range []struct {
		split, m, n, k, units int
		slices, depth         int
	}{
		// 128×256×784 (fwd1 at batch 128): 8 tiles. p = 16: depth 64, 13
		// slices, 104 work-groups < 132; p = 32: depth 32 (25 rounded up to
		// TSK), 25 slices, 200 work-groups.
		{0, 128, 256, 784, 132, 25, 32},
		// 4 tiles, 8 units: p = 2 gives exactly 8 work-groups (2 slices of 128).
		{0, 128, 128, 256, 8, 2, 128},
		// 4 tiles, 9 units: p = 4, 4 slices of 64.
		{0, 128, 128, 256, 9, 4, 64},
		// 4 tiles of K 256 can take 16 slices of TSK at most: p runs to 32,
		// depth stays 16.
		{0, 128, 128, 256, 132, 16, 16},
		// 52 tiles (784×256): p = 4 gives 208 ≥ 132 from K 128, 4 slices of 32.
		{0, 784, 256, 128, 132, 4, 32},
		// Enough tiles already: no split.
		{0, 784, 256, 128, 52, 1, 128},
		// K of one TSK slice cannot be cut: 1 slice, depth 16.
		{0, 64, 64, 10, 132, 1, 16},
		// A fixed SPLITK: 784 in 4 → 196 → 208, 4 slices (the last 160).
		{4, 128, 256, 784, 1, 4, 208},
		{1, 128, 256, 784, 132, 1, 784},
		// 7 in 2 rounds to one slice of 16.
		{2, 33, 7, 7, 132, 1, 16},
	} {
		sl, d := SplitK(s(c.split), c.m, c.n, c.k, c.units)
		if sl != c.slices || d != c.depth {
			t.Errorf("SPLITK %d, %dx%dx%d on %d units: %d slices of %d, want %d of %d", c.split, c.m, c.n, c.k, c.units, sl, d, c.slices, c.depth)
		}
	}
}

package opencl

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/regcl/regcl/kernels"
)

// Tuning is what a device's programs are built with: the ops program's
// settings, the matrix-product program's default settings, and settings of
// its own for shape classes that were tuned. Every value comes from the
// kernel contract (package kernels); Validate checks them against it.
type Tuning struct {
	Gemm   string                      `json:"gemm"` // the matrix-product program: kernels.GemmCPU.Name or kernels.GemmGPU.Name
	Ops    kernels.Settings            `json:"ops"`
	Matmul kernels.Settings            `json:"matmul"`           // for every shape without a class of its own
	Shapes map[string]kernels.Settings `json:"shapes,omitempty"` // by ShapeClass
	// Source says where the tuning came from: "untuned (device defaults)",
	// or a tuning file's path.
	Source string `json:"-"`
}

// Describe says where the tuning came from, for a log line.
func (t Tuning) Describe() string {
	if t.Source == "" || t.Source == Untuned {
		return Untuned
	}
	return "tuned (" + t.Source + ")"
}

// Untuned is the Source of a device's default tuning.
const Untuned = "untuned (device defaults)"

// Limits is what the device reports that bounds the kernels' parameters.
func (i Info) Limits(cpu bool) kernels.Limits {
	return kernels.Limits{CPU: cpu, MaxWorkGroupSize: i.MaxWorkGroupSize, LocalMemBytes: int(i.LocalMem),
		PrefVecFloat: i.PrefVecFloat, NativeVecFloat: i.NativeVecFloat}
}

// IsCPU reports whether the device is a CPU (PoCL): it gets the kernels'
// CPU variants.
func (i Info) IsCPU() bool { return !i.IsGPU() && strings.Contains(i.Type, "CPU") }

// DefaultTuning is a device's untuned settings: the CPU variants for CPU
// devices, the GPU variants for everything else, sized from what the device
// reports.
func DefaultTuning(info Info) Tuning { return VariantTuning(info, info.IsCPU()) }

// VariantTuning is the untuned settings of the CPU variants (cpu set) or the
// GPU variants, within the device's limits. Tests build the GPU variant on
// PoCL with it, so that its code is checked where no GPU is.
func VariantTuning(info Info, cpu bool) Tuning {
	l := info.Limits(cpu)
	g := kernels.GemmProgram(l)
	return Tuning{Gemm: g.Name, Ops: kernels.Ops.Defaults(l), Matmul: g.Defaults(l), Source: Untuned}
}

// gemmProgram is the tuning's matrix-product program.
func (t Tuning) gemmProgram() (*kernels.Program, error) {
	for _, p := range []*kernels.Program{kernels.GemmCPU, kernels.GemmGPU} {
		if p.Name == t.Gemm {
			return p, nil
		}
	}
	return nil, fmt.Errorf("unknown matrix-product program %q", t.Gemm)
}

// Validate checks every setting against the kernel contract and the
// device's limits.
func (t Tuning) Validate(info Info) error {
	g, err := t.gemmProgram()
	if err != nil {
		return err
	}
	l := info.Limits(g == kernels.GemmCPU)
	if err := kernels.Ops.Validate(t.Ops, l); err != nil {
		return err
	}
	if err := g.Validate(t.Matmul, l); err != nil {
		return err
	}
	for c, s := range t.Shapes {
		if _, err := ParseShapeClass(c); err != nil {
			return err
		}
		if err := g.Validate(s, l); err != nil {
			return fmt.Errorf("shape class %s: %w", c, err)
		}
	}
	return nil
}

// gemmFor returns the matrix-product settings for a product's shape.
func (t Tuning) gemmFor(transA, transB bool, m, n, k int) kernels.Settings {
	if s, ok := t.Shapes[ShapeClass(transA, transB, m, n, k)]; ok {
		return s
	}
	return t.Matmul
}

// ShapeClass names the class of a product's shape: its transposes and each
// size rounded up to a power of two, e.g. "NN/128x256x1024" for
// 128×256×784. Products of one class share tuned settings: the last batch's
// 112 rows are tuned with the full batch's 128.
func ShapeClass(transA, transB bool, m, n, k int) string {
	t := map[bool]string{false: "N", true: "T"}
	return fmt.Sprintf("%s%s/%dx%dx%d", t[transA], t[transB], ceilPow2(m), ceilPow2(n), ceilPow2(k))
}

// ParseShapeClass checks a class name and returns it.
func ParseShapeClass(c string) (string, error) {
	var ta, tb byte
	var m, n, k int
	tr, dims, ok := strings.Cut(c, "/")
	if ok && len(tr) == 2 {
		ta, tb = tr[0], tr[1]
		_, err := fmt.Sscanf(dims, "%dx%dx%d", &m, &n, &k)
		ok = err == nil && (ta == 'N' || ta == 'T') && (tb == 'N' || tb == 'T') &&
			m > 0 && n > 0 && k > 0 && m == ceilPow2(m) && n == ceilPow2(n) && k == ceilPow2(k)
	}
	if !ok || c != ShapeClass(ta == 'T', tb == 'T', m, n, k) {
		return "", fmt.Errorf("%q is not a shape class (like NN/128x256x1024)", c)
	}
	return c, nil
}

func ceilPow2(x int) int {
	if x <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(x-1))
}

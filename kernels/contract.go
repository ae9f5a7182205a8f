package kernels

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/regcl/regcl/device"
)

// The kernel contract: the programs regcl builds on a device, the kernels
// each defines, and every tuning parameter with its allowed values and
// constraints. The OpenCL backend renders a program's -D options from these
// tables (Options) and computes every launch size from the same Settings,
// and the tuner searches the same values; no kernel constant is written a
// second time in Go.

// Param is one tuning parameter: a -D macro of the program's sources.
type Param struct {
	Name   string // the macro, e.g. "MR"
	Doc    string
	Values []int // allowed values, in the order the tuner tries them
}

// Limits are what a device reports that bounds its parameters.
type Limits struct {
	CPU              bool // a CPU device: the programs' CPU variants
	MaxWorkGroupSize int
	LocalMemBytes    int
	PrefVecFloat     int // CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT (0 when unknown)
	NativeVecFloat   int // CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT
}

// Settings holds a value for each parameter of a program.
type Settings map[string]int

// Program is one OpenCL program: sources, kernels and parameters.
type Program struct {
	Name    string
	Files   []string // concatenated in order (later files use what earlier ones define)
	Kernels []string // every kernel the program defines
	Params  []Param
	// Choices name the parameters that choose which kernel serves a product
	// or a reduction (the direct, split-K or tiled product; a reduction in
	// one work-group or spread): a kernel that would win on a shape class
	// is found only if it is timed there, so the tuner tries each of their
	// values on the defaults before it searches at random.
	Choices []string
	// Fixed are macros with one value for this program (a variant switch).
	Fixed Settings
	// check reports a combination the sources or the device cannot take.
	check func(s Settings, l Limits) error
	// defaults derives the untuned settings from what the device reports.
	defaults func(l Limits) Settings
}

// Constants are macros every program gets, declared once here: the
// accumulator slots that device.Backend defines and the softmax's capacity.
// Hosts check their limits against these same values.
var Constants = []struct {
	Name  string
	Value int
	Doc   string
}{
	{"ACC_LOSS", device.AccLoss, "slot of the summed loss in the accumulator buffer (device.AccLoss)"},
	{"ACC_CORRECT", device.AccCorrect, "slot of the count of right answers (device.AccCorrect)"},
	{"ACC_BAD_STEP", device.AccBadStep, "slot of the first step with a non-finite loss (device.AccBadStep)"},
	{"MAX_CLASSES", MaxClasses, "softmax_xent's largest number of classes (a row's logits sit in registers)"},
	{"LANE_U", LaneU, "uints a lane in the lane_u buffer of lane parameters (lanes.cl)"},
	{"LANE_SEED_LO", LaneSeedLo, "lane_u slot: low word of the lane's dropout seed"},
	{"LANE_SEED_HI", LaneSeedHi, "lane_u slot: high word of the lane's dropout seed"},
	{"LANE_THRESH", LaneThresh, "lane_u slot: the lane's dropout keep threshold (device.Threshold)"},
	{"LANE_DROP", LaneDrop, "lane_u slot: 1 when the lane's dropout rate is above 0, else 0 (dropout is the identity)"},
	{"LANE_F", LaneF, "floats a lane in the lane_f buffer of lane parameters (lanes.cl)"},
	{"LANE_SCALE", LaneScale, "lane_f slot: the lane's dropout scale 1/(1−p) (1 at rate 0)"},
	{"LANE_L1", LaneL1, "lane_f slot: the lane's L1 penalty weight"},
	{"LANE_L2", LaneL2, "lane_f slot: the lane's L2 penalty weight"},
	{"LANE_LR", LaneLR, "lane_f slot: the lane's learning rate"},
	{"PEND_SCALE", PendScale, "slot of a pending penalty's scale (adam.cl; 0: nothing pending)"},
	{"PEND_GROUPS", PendGroups, "slot of a pending penalty's count of partial sums (adam.cl: its work-groups over the penalized weights)"},
	{"PEND_PARTS", PendParts, "slot of a pending penalty's first partial sum (adam.cl: Σ|w| and Σw² per work-group, from here)"},
}

// The layout of a pending penalty (adam.cl, softmax.cl's pend_add), per
// lane: the scale at PendScale, the count of pairs at PendGroups, then a
// pair of partial sums (Σ|w|, Σw²) for each of adam's work-groups over the
// penalized weights, from PendParts.
const PendScale, PendGroups, PendParts = 0, 1, 2

// The layout of the lane-parameter buffers (lanes.cl): lane l's values sit at
// lane_u[l·LaneU + slot] and lane_f[l·LaneF + slot].
const (
	LaneSeedLo, LaneSeedHi, LaneThresh, LaneDrop, LaneU = 0, 1, 2, 3, 4
	LaneScale, LaneL1, LaneL2, LaneLR, LaneF            = 0, 1, 2, 3, 4
)

// MaxClasses is softmax_xent's capacity (MAX_CLASSES in the kernels).
const MaxClasses = 64

func pow2Values(lo, hi int) []int {
	var v []int
	for x := lo; x <= hi; x *= 2 {
		v = append(v, x)
	}
	return v
}

func seq(lo, hi int) []int {
	var v []int
	for x := lo; x <= hi; x++ {
		v = append(v, x)
	}
	return v
}

// Ops is the program of every kernel but the matrix products.
var Ops = &Program{
	Name:  "ops",
	Files: []string{"lanes.cl", "common.cl", "philox.cl", "elementwise.cl", "batchnorm.cl", "softmax.cl", "adam.cl"},
	Kernels: []string{"fill", "gather_rows", "dropout_apply", "col_sum", "relu_backward_colsum",
		"bn_train", "bn_infer", "bn_backward", "softmax_xent", "softmax_xent_part", "softmax_xent_finish", "penalty_sum", "penalty_part", "penalty_finish", "penalty_fold", "adam"},
	Params: []Param{
		{"VEC", "elements (or columns) per work-item of fill, col_sum, relu_backward_colsum, the BatchNorm kernels and adam", []int{1, 4, 8, 16}},
		{"WG_ELEM", "work-group size of the elementwise and column kernels", pow2Values(16, 256)},
		{"WG_REDUCE", "work-group size of the reductions of softmax.cl (softmax_xent: rows a work-group; penalty_sum); a power of two", pow2Values(32, 512)},
		{"ROW_SLICES", "the column reductions (col_sum, relu_backward_colsum, bn_train, bn_backward): 1, a work-item sums whole columns; " +
			"above 1, the items of a column's work-group share its rows (common.cl's slice_sum)", []int{1, 4, 16, 64}},
		{"PEN_GROUPS", "work-groups of the penalty's sum: 1, penalty_sum in one work-group; above 1, at most this many " +
			"(penalty_part, one chunk of the weights each), then penalty_finish adds their sums", []int{1, 32, 128, 512}},
		{"COL_TILE", "columns per work-group of the column reductions when ROW_SLICES is above 1 (work-groups of COL_TILE×ROW_SLICES)", []int{1, 4, 16}},
		{"ADAM_RUN", "vectors of VEC elements a work-item of adam updates, one after the other", []int{1, 4, 16}},
		{"PEN_TREE", "adam's partial sums of the penalty it leaves pending: 1, one a work-group, its items added in a tree (barriers); " +
			"0, one a work-item (no barrier)", []int{0, 1}},
	},
	Choices: []string{"ROW_SLICES", "PEN_GROUPS", "PEN_TREE"},
	check: func(s Settings, l Limits) error {
		if s["WG_ELEM"] > l.MaxWorkGroupSize || s["WG_REDUCE"] > l.MaxWorkGroupSize {
			return fmt.Errorf("work-group size above the device's %d", l.MaxWorkGroupSize)
		}
		rs, ct := s["ROW_SLICES"], s["COL_TILE"]
		if rs == 1 && ct != 1 {
			return fmt.Errorf("COL_TILE %d without ROW_SLICES: whole columns per work-item take VEC and WG_ELEM", ct)
		}
		if rs*ct > l.MaxWorkGroupSize {
			return fmt.Errorf("a column work-group of %d×%d items is above the device's %d", ct, rs, l.MaxWorkGroupSize)
		}
		if b := 4 * rs * ct; rs > 1 && l.LocalMemBytes > 0 && b > l.LocalMemBytes {
			return fmt.Errorf("slice sums of %d bytes exceed the device's %d bytes of local memory", b, l.LocalMemBytes)
		}
		return nil
	},
	defaults: func(l Limits) Settings {
		// A GPU: a column of a reduction over the batch is shared by a
		// work-group of 64 items (ROW_SLICES), one column a work-group, so
		// that a layer of 128 or 256 units is that many work-groups rather
		// than one or two of whole-column work-items (H200 2026-12-04:
		// relu_backward_colsum and bn_backward took 25 µs a launch that
		// way). The penalty's sum likewise in PEN_GROUPS work-groups and
		// a second launch adding their sums (one work-group summed the
		// 233,472 weights: the penalized presets' step took 35 µs more);
		// 512, so that a GPU of 132 units or more has several a unit.
		// Not yet measured on a GPU: the tuner searches both.
		// PEN_TREE 1: adam adds its work-group's partial penalty sums in
		// a tree, so the next loss adds one pair a work-group (912 at the
		// study's size), not one a work-item (233,472).
		s := Settings{"VEC": 1, "WG_ELEM": 256, "WG_REDUCE": 256, "ROW_SLICES": 64, "COL_TILE": 1, "PEN_GROUPS": 512, "PEN_TREE": 1, "ADAM_RUN": 1}
		if l.CPU {
			// One vector register per operation; PoCL vectorizes the scalar
			// form worse (VEC=8 ran adam 3.6× faster than VEC=1 on AVX2).
			// A core sums whole columns: sharing them costs barriers and
			// buys no parallelism a CPU's few cores lack. Likewise adam's
			// partial penalty sums, one a work-item: with the tree's
			// barriers PoCL ran adam in 207–242 µs instead of 71. A
			// work-item takes a run of 16 vectors, so the sums across a
			// vector's lanes are one in 16 (912 pairs at the study's size,
			// VEC = 16); one a vector cost 70 µs a step.
			s["VEC"], s["WG_ELEM"], s["ROW_SLICES"], s["PEN_GROUPS"], s["PEN_TREE"], s["ADAM_RUN"] = vecWidth(l), 64, 1, 1, 0, 16
		}
		for s["ROW_SLICES"] > l.MaxWorkGroupSize && s["ROW_SLICES"] > 1 {
			s["ROW_SLICES"] /= 4
		}
		for s["WG_REDUCE"] > l.MaxWorkGroupSize && s["WG_REDUCE"] > 32 {
			s["WG_REDUCE"] /= 2
		}
		s["WG_ELEM"] = min(s["WG_ELEM"], largestPow2(l.MaxWorkGroupSize))
		return s
	},
}

// GemmCPU is the matrix-product program for CPU devices (gemm.cl with
// GEMM_CPU=1): register blocks, no local memory.
var GemmCPU = &Program{
	Name:  "gemm_cpu",
	Files: []string{"lanes.cl", "philox.cl", "gemm.cl"}, // philox.cl: the products' dropout
	Kernels: []string{"gemm_nn", "gemm_nt", "gemm_ntg", "gemm_tn", "gemm_tt", "gemm_np", "gemm_tp", "pack_bn", "pack_bt",
		"gemm_direct_nn", "gemm_direct_nt", "gemm_direct_tn", "gemm_direct_tt"},
	Fixed: Settings{"GEMM_CPU": 1},
	Params: []Param{
		{"VW", "floats per vector of the register block (4: SSE/NEON, 8: AVX2, 16: AVX-512)", []int{4, 8, 16}},
		{"MR", "rows of the register block", seq(1, 12)},
		{"NV", "vectors per row of the register block: NR = NV·VW columns", seq(1, 4)},
		{"KU", "values of k per iteration of the inner loop (unrolling)", []int{1, 2, 4}},
		{"PACK", "1: copy op(B) into contiguous K×NR panels first (pack_b*) and run over them (gemm_*p); 0: read B in place", []int{0, 1}},
		{"NT_MR", "gemm_nt: rows of its block of dot products", seq(1, 4)},
		{"NT_NR", "gemm_nt: columns of its block of dot products", seq(1, 8)},
		{"NT_VW", "gemm_nt: floats per vector along k", []int{4, 8, 16}},
		{"NT_SHORT_K", "gemm_nt takes its short-K form when K is below this: dot products of short vectors are mostly scalar tail", []int{0, 8, 16, 32, 64}},
		{"NT_SHORT", "gemm_nt's short-K form: 1 packs B into panels (as PACK = 1), 2 gathers B's columns (gemm_ntg)", []int{1, 2}},
		directParam(32),
	},
	Choices: []string{"DIRECT", "PACK", "NT_SHORT"},
	check: func(s Settings, l Limits) error {
		// Registers: MR·NV accumulators, NV B vectors and a broadcast; the
		// compiler spills beyond the register file, and no CPU has more than
		// 32 vector registers, so larger blocks are not worth building.
		if s["MR"]*s["NV"]+s["NV"]+1 > 32 {
			return fmt.Errorf("an MR×NV block of %d×%d vectors needs more than 32 registers", s["MR"], s["NV"])
		}
		if s["NT_MR"]*s["NT_NR"]+s["NT_MR"]+1 > 32 {
			return fmt.Errorf("an NT_MR×NT_NR block of %d×%d needs more than 32 registers", s["NT_MR"], s["NT_NR"])
		}
		return nil
	},
	defaults: func(l Limits) Settings {
		vw := vecWidth(l)
		// The block's MR·NV accumulators, NV B vectors and a broadcast fit the
		// vector register file the width implies: 16 registers up to 8-wide
		// (SSE, AVX2: 6×2 + 2 + 1 = 15), 32 at 16-wide (AVX-512: 8×2 + 2 + 1,
		// with room to unroll k by 4). The tuner searches the rest.
		// DIRECT: a product with N or K up to 32 takes the direct kernel
		// (one vector of columns, MR rows at a time): the register block of
		// NV vectors would be mostly padding, and for NT the gather of
		// op(B) is done once per work-item instead of once per block (on
		// AVX-512 PoCL: 2× the GFLOP/s of the output layer's products).
		s := Settings{"VW": vw, "MR": 6, "NV": 2, "KU": 1, "PACK": 0, "NT_MR": 3, "NT_NR": 4, "NT_VW": vw, "NT_SHORT_K": 2 * vw, "NT_SHORT": 2,
			"DIRECT": 32}
		if vw == 16 {
			s["MR"], s["KU"] = 8, 4
		}
		return s
	},
}

// GemmGPU is the matrix-product program for other devices (gemm.cl with
// GEMM_CPU=0): local-memory tiles.
var GemmGPU = &Program{
	Name:  "gemm_gpu",
	Files: []string{"lanes.cl", "philox.cl", "gemm.cl"}, // philox.cl: the products' dropout
	Kernels: []string{"gemm_nn", "gemm_nt", "gemm_tn", "gemm_tt", "gemm_direct_nn", "gemm_direct_nt", "gemm_direct_tn", "gemm_direct_tt",
		"gemm_split_nn", "gemm_split_nt", "gemm_split_tn", "gemm_split_tt", "gemm_split_finish"},
	Fixed: Settings{"GEMM_CPU": 0},
	Params: []Param{
		{"TSM", "rows of a work-group's tile of C", pow2Values(16, 128)},
		{"TSN", "columns of a work-group's tile of C", pow2Values(16, 128)},
		{"TSK", "depth of the slices of op(A) and op(B) staged in local memory", pow2Values(4, 32)},
		{"WPTM", "rows of a work-item's register block", pow2Values(1, 8)},
		{"WPTN", "columns of a work-item's register block", pow2Values(1, 8)},
		{"PAD", "floats of padding per local-memory row (bank conflicts)", []int{0, 1, 2}},
		{"VWN", "floats per global load of B along N (when N allows)", []int{1, 2, 4}},
		// 1024: every product of the study's shapes (their N or K is at
		// most 784), so that a shape class whose tiles would leave a GPU
		// idle can be served by the direct kernel alone, without split-K's
		// second launch, where that is faster (not measured on a GPU yet:
		// the tuner decides per shape class).
		directParam(32, 1024),
		{"WGD", "side of the work-groups of the direct kernels and of gemm_split_finish (WGD×WGD work-items, one element of C each)", []int{8, 16}},
		{"SPLITK", "a tiled product's K cut into at most this many slices, each a work-group's partial tile, added by gemm_split_finish " +
			"with the epilogue (see SplitK); 1: never; 0: as few as give one lane's launch a work-group per compute unit", []int{0, 1, 2, 4, 8, 16, MaxSplitK}},
	},
	Choices: []string{"DIRECT", "SPLITK"},
	check: func(s Settings, l Limits) error {
		tsm, tsn, tsk, wm, wn := s["TSM"], s["TSN"], s["TSK"], s["WPTM"], s["WPTN"]
		if tsm%wm != 0 || tsn%wn != 0 || tsn%s["VWN"] != 0 {
			return fmt.Errorf("TSM %d, TSN %d must be multiples of WPTM %d, WPTN %d and VWN %d", tsm, tsn, wm, wn, s["VWN"])
		}
		wg := (tsm / wm) * (tsn / wn)
		if wg > l.MaxWorkGroupSize {
			return fmt.Errorf("a work-group of %d items is above the device's %d", wg, l.MaxWorkGroupSize)
		}
		if wg < 16 {
			return fmt.Errorf("a work-group of %d items leaves a GPU idle", wg)
		}
		if wgd := s["WGD"] * s["WGD"]; wgd > l.MaxWorkGroupSize {
			return fmt.Errorf("a direct work-group of %d items is above the device's %d", wgd, l.MaxWorkGroupSize)
		}
		if lm := 4 * tsk * (tsm + tsn + 2*s["PAD"]); l.LocalMemBytes > 0 && lm > l.LocalMemBytes {
			return fmt.Errorf("tiles of %d bytes exceed the device's %d bytes of local memory", lm, l.LocalMemBytes)
		}
		return nil
	},
	defaults: func(l Limits) Settings {
		// DIRECT 32: a 64-wide tile holding an N of at most 32 is half
		// padding or more (a K of at most 32 is two TSK slices), and such
		// products are too small to fill a GPU with 64×64 tiles anyway.
		// (Not measured on a GPU: the tuner decides per shape class.)
		// SPLITK 0: a product of fewer tiles than the device has compute
		// units has its K split until it has as many work-groups (H200
		// 2026-12-04: fwd1, 128×256×784, ran in 8 work-groups of 64×64 for
		// 132 units, at 0.11× cuBLAS).
		s := Settings{"TSM": 64, "TSN": 64, "TSK": 16, "WPTM": 4, "WPTN": 4, "PAD": 1, "VWN": 1, "DIRECT": 32, "WGD": 8, "SPLITK": 0}
		for (s["TSM"]/s["WPTM"])*(s["TSN"]/s["WPTN"]) > l.MaxWorkGroupSize && s["TSM"] > 16 {
			s["TSM"] /= 2
			s["TSN"] /= 2
		}
		return s
	},
}

// directParam is the direct products' threshold, a parameter of both
// matrix-product programs, with the values above 0 that the program takes
// (0: never); Direct is the rule it sets. Few values, so the tuner
// chooses per shape class whether the direct kernels serve it: each value
// multiplies the CPU program's space, which Space holds in memory (1.26
// million settings and 0.73 GB with two values, against 0.63 million and
// 0.36 GB without the parameter; three values took 1.1 GB). The GPU
// program takes three (0.33 million settings, 176 MB; 0.22 million and
// 116 MB with two).
func directParam(on ...int) Param {
	return Param{"DIRECT", "a product whose N or K is at most DIRECT runs as one direct kernel (gemm_direct_*, see Direct); 0: never. " +
		"CPU variant: also the largest K whose op(B) tile the kernel stages in private memory", append([]int{0}, on...)}
}

// Direct reports whether the product C (m×n) = op(A)·op(B) with inner size
// k takes the direct kernels (gemm_direct_*) under settings s: when n or
// k is at most s's DIRECT (a product small in N or K: a network's output
// layer, whose blocked kernels' tiles would be mostly padding).
func Direct(s Settings, m, n, k int) bool {
	d := s["DIRECT"]
	return d > 0 && min(n, k) <= d
}

// MaxSplitK is the most slices SplitK cuts a product's K into.
const MaxSplitK = 32

// SplitK returns how the GPU program's tiled product C (m×n) = op(A)·op(B),
// inner size k, is cut along k under settings s on a device of units
// compute units: slices partial products over depth values of k each (the
// last slice takes what is left), depth a multiple of TSK, so that
//
//	slices = ceil(k / depth),  depth = TSK·ceil(ceil(k/p) / TSK)
//
// for p = SPLITK, or, when SPLITK is 0, for the least power of two p up to
// MaxSplitK that gives the ceil(m/TSM)·ceil(n/TSN) tiles times slices
// work-groups at least units. slices == 1: no split. The answer depends on
// the shape, settings and device only, never on the lanes, so a lane sums
// in the same order in any group.
func SplitK(s Settings, m, n, k, units int) (slices, depth int) {
	tsk := s["TSK"]
	cut := func(p int) (int, int) {
		d := ((k+p-1)/p + tsk - 1) / tsk * tsk
		return (k + d - 1) / d, d
	}
	p := s["SPLITK"]
	if p == 0 {
		tiles := ((m + s["TSM"] - 1) / s["TSM"]) * ((n + s["TSN"] - 1) / s["TSN"])
		p = 1
		for p < MaxSplitK {
			if sl, _ := cut(p); tiles*sl >= units {
				break
			}
			p *= 2
		}
	}
	return cut(p)
}

// Programs lists every program, for tests and the tuner.
var Programs = []*Program{Ops, GemmCPU, GemmGPU}

// GemmProgram is the matrix-product program for a device.
func GemmProgram(l Limits) *Program {
	if l.CPU {
		return GemmCPU
	}
	return GemmGPU
}

// vecWidth is the device's preferred float vector width (native when the
// preferred is not reported) as one of the widths the kernels take.
func vecWidth(l Limits) int {
	w := l.PrefVecFloat
	if w <= 1 {
		w = l.NativeVecFloat
	}
	switch {
	case w >= 16:
		return 16
	case w >= 8:
		return 8
	}
	return 4
}

func largestPow2(n int) int {
	p := 1
	for p*2 <= n {
		p *= 2
	}
	return p
}

// Defaults returns the program's untuned settings for a device: what the
// device reports (vector width, work-group and local-memory limits) decides.
func (p *Program) Defaults(l Limits) Settings { return p.defaults(l) }

// Param returns the parameter named name.
func (p *Program) Param(name string) (Param, bool) {
	for _, q := range p.Params {
		if q.Name == name {
			return q, true
		}
	}
	return Param{}, false
}

// Validate reports whether s sets every parameter of p to an allowed value,
// and nothing else, within the device's limits.
func (p *Program) Validate(s Settings, l Limits) error {
	for _, q := range p.Params {
		v, ok := s[q.Name]
		if !ok {
			return fmt.Errorf("%s: %s is not set", p.Name, q.Name)
		}
		if !slices.Contains(q.Values, v) {
			return fmt.Errorf("%s: %s = %d is not one of %v", p.Name, q.Name, v, q.Values)
		}
	}
	for k := range s {
		if _, ok := p.Param(k); !ok {
			return fmt.Errorf("%s: unknown parameter %s", p.Name, k)
		}
	}
	if err := p.check(s, l); err != nil {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	return nil
}

// ChoiceVariants returns s with each value of each of p's Choices in
// turn, one parameter moved at a time, in table order, each valid for the
// device (the tuner times them first: every kernel on every shape class).
func (p *Program) ChoiceVariants(s Settings, l Limits) []Settings {
	var out []Settings
	for _, name := range p.Choices {
		q, _ := p.Param(name)
		for _, v := range q.Values {
			if v == s[name] {
				continue
			}
			c := make(Settings, len(s))
			for k, x := range s {
				c[k] = x
			}
			c[name] = v
			if p.Validate(c, l) == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// Options renders the -D build options of the program with settings s:
// its fixed macros, the constants and every parameter, in table order.
func (p *Program) Options(s Settings) string {
	var parts []string
	keys := make([]string, 0, len(p.Fixed))
	for k := range p.Fixed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("-D%s=%d", k, p.Fixed[k]))
	}
	for _, c := range Constants {
		parts = append(parts, fmt.Sprintf("-D%s=%d", c.Name, c.Value))
	}
	for _, q := range p.Params {
		parts = append(parts, fmt.Sprintf("-D%s=%d", q.Name, s[q.Name]))
	}
	return strings.Join(parts, " ")
}

// Source is the program's sources, concatenated, each preceded by a #line
// directive so the compiler's messages name the right file and line.
func (p *Program) Source() string {
	var b strings.Builder
	for _, name := range p.Files {
		src, err := files.ReadFile(name)
		if err != nil {
			panic("kernels: missing embedded source " + name) // a build defect, caught by the package's tests
		}
		b.WriteString("#line 1 \"" + name + "\"\n")
		b.Write(src)
		b.WriteString("\n")
	}
	return b.String()
}

// Key is a short description of s ("VW=16 MR=8 …") in table order.
func (p *Program) Key(s Settings) string {
	var parts []string
	for _, q := range p.Params {
		parts = append(parts, fmt.Sprintf("%s=%d", q.Name, s[q.Name]))
	}
	return strings.Join(parts, " ")
}

// Space enumerates every valid combination of p's parameters for a device,
// in a fixed order: what the tuner searches and the exhaustive test builds.
func (p *Program) Space(l Limits) []Settings {
	var out []Settings
	cur := Settings{}
	var walk func(i int)
	walk = func(i int) {
		if i == len(p.Params) {
			if p.check(cur, l) == nil {
				c := make(Settings, len(cur))
				for k, v := range cur {
					c[k] = v
				}
				out = append(out, c)
			}
			return
		}
		for _, v := range p.Params[i].Values {
			cur[p.Params[i].Name] = v
			walk(i + 1)
		}
	}
	walk(0)
	return out
}

// SourceHash is a hash of every embedded source: a tuning measured on other
// sources is stale.
func SourceHash() string {
	h := sha256.New()
	entries, _ := files.ReadDir(".")
	for _, e := range entries {
		b, _ := files.ReadFile(e.Name())
		fmt.Fprintf(h, "%s\x00%d\x00", e.Name(), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

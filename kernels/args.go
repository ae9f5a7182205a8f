package kernels

// The kernels' argument lists, declared once for the host: device/opencl
// passes a launch's arguments in this order and checks each against its
// declaration (a buffer of the wrong kind, a shared buffer where the
// kernel writes, a missing or extra argument fail with the kernel's and
// the argument's name), and TestSignaturesMatchSources compares every list
// with the OpenCL C source, so that an argument swapped on either side
// fails a test.

// ArgKind is how the host passes one argument.
type ArgKind uint8

const (
	// ArgBuf is a device.Buffer (nil where the kernel takes NULL): three
	// kernel arguments, the pointer, NAME_off (the buffer's element offset
	// within each lane's part) and NAME_ls (its lane stride in elements, 0
	// for a shared buffer), both long (lanes.cl, BUF).
	ArgBuf ArgKind = iota
	// ArgMem is a buffer of the backend's own, the same for every lane
	// (lut, lane_u, lane_f): one pointer argument.
	ArgMem
	ArgInt   // int: a Go int or bool (1 for true)
	ArgUint  // uint: a Go uint32
	ArgFloat // float: a Go float64, rounded to float
)

// Arg is one argument of a kernel as the host passes it.
type Arg struct {
	Name string
	Kind ArgKind
	// Elem is the element type of an ArgBuf or ArgMem in OpenCL C:
	// "float", "int", "uchar" or "uint".
	Elem string
	// Out marks a buffer the kernel writes: a per-lane buffer, never shared.
	Out bool
}

// CLArgs is the number of OpenCL kernel arguments a declared list takes
// (an ArgBuf is three).
func CLArgs(args []Arg) int {
	n := 0
	for _, a := range args {
		n++
		if a.Kind == ArgBuf {
			n += 2
		}
	}
	return n
}

func in(name, elem string) Arg  { return Arg{Name: name, Kind: ArgBuf, Elem: elem} }
func out(name, elem string) Arg { return Arg{Name: name, Kind: ArgBuf, Elem: elem, Out: true} }
func mem(name, elem string) Arg { return Arg{Name: name, Kind: ArgMem, Elem: elem} }
func i32(name string) Arg       { return Arg{Name: name, Kind: ArgInt} }
func u32(name string) Arg       { return Arg{Name: name, Kind: ArgUint} }
func f32(name string) Arg       { return Arg{Name: name, Kind: ArgFloat} }

func concat(lists ...[]Arg) []Arg {
	var out []Arg
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// gemmArgs are every product's arguments (GEMM_ARGS in gemm.cl); b names
// the B operand ("B", or "Bp" for packed panels).
func gemmArgs(b string) []Arg {
	return concat([]Arg{i32("M"), i32("N"), i32("K"), f32("alpha"), in("A", "float"), in(b, "float"), f32("beta"),
		out("C", "float"), in("bias", "float"), i32("act")}, dropArgs)
}

// dropArgs are the dropout a product carries (DROP_ARGS in gemm.cl): the
// lanes' parameters, the per-launch part of the key, and the switch.
var dropArgs = concat([]Arg{mem("lane_u", "uint"), mem("lane_f", "float")}, dropoutKey, []Arg{i32("drop")})

// dropoutKey is the per-launch part of a dropout key; the lane's seed,
// threshold and scale come from lane_u and lane_f.
var dropoutKey = []Arg{u32("step_lo"), u32("step_hi"), u32("layer")}

// Signatures holds every kernel's arguments, by kernel name (the products
// of both gemm variants take the same).
var Signatures = map[string][]Arg{
	"fill":          {out("x", "float"), i32("n"), f32("v")},
	"gather_rows":   {out("dst", "float"), in("src", "uchar"), in("idx", "int"), i32("off"), i32("rows"), i32("cols"), mem("lut", "float")},
	"dropout_apply": concat([]Arg{out("x", "float"), i32("n"), mem("lane_u", "uint"), mem("lane_f", "float")}, dropoutKey),
	"col_sum":       {out("dst", "float"), in("x", "float"), i32("rows"), i32("cols")},
	"relu_backward_colsum": {out("dx", "float"), in("y", "float"), out("dst", "float"), i32("rows"), i32("cols"),
		mem("lane_f", "float"), i32("dropout")},
	"bn_train": {out("y", "float"), in("x", "float"), in("gamma", "float"), in("beta", "float"), out("mean", "float"),
		out("invstd", "float"), out("mov_mean", "float"), out("mov_var", "float"), i32("rows"), i32("cols"), f32("eps"), f32("decay")},
	"bn_infer": {out("y", "float"), in("x", "float"), in("gamma", "float"), in("beta", "float"), in("mov_mean", "float"),
		in("mov_var", "float"), i32("rows"), i32("cols"), f32("eps")},
	"bn_backward": {out("dx", "float"), in("dy", "float"), in("x", "float"), in("gamma", "float"), in("mean", "float"),
		in("invstd", "float"), out("dgamma", "float"), out("dbeta", "float"), out("dbias", "float"), i32("rows"), i32("cols")},
	"softmax_xent": {out("dlogits", "float"), out("dbias", "float"), in("logits", "float"), in("labels", "uchar"), in("idx", "int"), i32("off"),
		i32("rows"), i32("classes"), f32("grad_scale"), i32("has_grad"), out("acc", "float"), i32("step"),
		out("pend", "float"), mem("lane_f", "float")},
	"softmax_xent_part": {out("dlogits", "float"), in("logits", "float"), in("labels", "uchar"), in("idx", "int"), i32("off"),
		i32("rows"), i32("classes"), f32("grad_scale"), i32("has_grad"), out("part", "float")},
	"softmax_xent_finish": {out("acc", "float"), in("part", "float"), i32("groups"), i32("step"),
		out("pend", "float"), mem("lane_f", "float")},
	"penalty_fold":   {out("acc", "float"), out("pend", "float"), mem("lane_f", "float")},
	"penalty_sum":    {out("acc", "float"), in("w", "float"), i32("n"), mem("lane_f", "float"), f32("scale")},
	"penalty_part":   {out("part", "float"), in("w", "float"), i32("n"), i32("chunk"), mem("lane_f", "float")},
	"penalty_finish": {out("acc", "float"), in("part", "float"), i32("groups"), mem("lane_f", "float"), f32("scale")},
	"adam": {out("w", "float"), in("g", "float"), out("m", "float"), out("v", "float"), i32("n"), i32("pen"),
		mem("lane_f", "float"), f32("corr"), f32("beta1"), f32("c1"), f32("beta2"), f32("c2"), f32("eps"),
		out("pend", "float"), f32("scale")},

	"gemm_nn":  gemmArgs("B"),
	"gemm_nt":  gemmArgs("B"),
	"gemm_tn":  gemmArgs("B"),
	"gemm_tt":  gemmArgs("B"),
	"gemm_ntg": gemmArgs("B"),
	"gemm_np":  gemmArgs("Bp"),
	"gemm_tp":  gemmArgs("Bp"),
	"pack_bn":  {i32("N"), i32("K"), in("B", "float"), out("Bp", "float")},
	"pack_bt":  {i32("N"), i32("K"), in("B", "float"), out("Bp", "float")},

	"gemm_direct_nn": gemmArgs("B"),
	"gemm_direct_nt": gemmArgs("B"),
	"gemm_direct_tn": gemmArgs("B"),
	"gemm_direct_tt": gemmArgs("B"),

	"gemm_split_nn": splitArgs,
	"gemm_split_nt": splitArgs,
	"gemm_split_tn": splitArgs,
	"gemm_split_tt": splitArgs,
	"gemm_split_finish": concat([]Arg{i32("M"), i32("N"), i32("slices"), f32("alpha"), in("P", "float"), f32("beta"), out("C", "float"),
		in("bias", "float"), i32("act")}, dropArgs),
}

// splitArgs are a split-K slice product's arguments (gemm.cl): P takes
// each slice's partial product.
var splitArgs = []Arg{i32("M"), i32("N"), i32("K"), i32("depth"), in("A", "float"), in("B", "float"), out("P", "float")}

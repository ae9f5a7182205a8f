package device

import "fmt"

// Operation counts, declared next to the operations they count, so that
// benchmarks report GFLOP/s and GB/s from the same numbers everywhere.

// GemmFlops is the floating-point work of Gemm: m·n·k multiply-adds, 2·m·n·k flops.
func GemmFlops(m, n, k int) float64 { return 2 * float64(m) * float64(n) * float64(k) }

// Memory traffic in bytes of the elementwise and reduction operations: every
// element read or written once, float32 and int32 as 4 bytes, uint8 as 1.

// BiasActBytes: read x and bias, write x.
func BiasActBytes(rows, cols int) float64 { return 4 * float64(2*rows*cols+cols) }

// DropoutBytes: read and write x.
func DropoutBytes(rows, cols int) float64 { return 4 * float64(2*rows*cols) }

// ReLUBackwardBytes: read dx and y, write dx.
func ReLUBackwardBytes(n int) float64 { return 4 * float64(3*n) }

// ColSumBytes: read x, write dst.
func ColSumBytes(rows, cols int) float64 { return 4 * float64(rows*cols+cols) }

// GatherBytes: read idx and the source bytes, write the floats.
func GatherBytes(rows, cols int) float64 { return float64(rows*cols) + 4*float64(rows+rows*cols) }

// BatchNormTrainBytes: read x three times (mean, variance, output), write y,
// plus the per-column vectors.
func BatchNormTrainBytes(rows, cols int) float64 { return 4 * float64(4*rows*cols+8*cols) }

// BatchNormBackwardBytes: read dy and x twice, write dx, plus the vectors.
func BatchNormBackwardBytes(rows, cols int) float64 { return 4 * float64(5*rows*cols+5*cols) }

// SoftmaxXentBytes: read logits, write dlogits, read labels and indices.
func SoftmaxXentBytes(rows, classes int) float64 {
	return 4*float64(2*rows*classes+rows) + float64(rows)
}

// PenaltySumBytes: read w.
func PenaltySumBytes(n int) float64 { return 4 * float64(n) }

// AdamBytes: read w, g, m, v; write w, m, v.
func AdamBytes(n int) float64 { return 4 * float64(7*n) }

// TrainStepFlops is the floating-point work of one training step of a dense
// network (widths[0] inputs, then each layer's width; the last is the
// classes) on a batch of rows, counting its matrix products only (every
// other operation is O(rows·width), under 2 % of the total here): per layer
// of in→out, the forward product and the kernel's gradient, 2·rows·in·out
// each, and the input gradient of every layer but the first, another
// 2·rows·in·out.
func TrainStepFlops(widths []int, rows int) float64 {
	var f float64
	for l := 0; l+1 < len(widths); l++ {
		p := GemmFlops(rows, widths[l+1], widths[l])
		f += 2 * p
		if l > 0 {
			f += p
		}
	}
	return f
}

// InferFlops is the floating-point work of the forward products for rows
// samples: 2·rows·Σ in·out.
func InferFlops(widths []int, rows int) float64 {
	var f float64
	for l := 0; l+1 < len(widths); l++ {
		f += GemmFlops(rows, widths[l+1], widths[l])
	}
	return f
}

// Tolerance is the largest relative error ‖out − ref‖₂/‖ref‖₂ accepted for an
// operation that rounds, where ref is a float64 reference computed from the
// same (float32) inputs.
//
// A float32 sum of k terms of random sign is off by about ε·√k relative to its
// result (ε = 2⁻²⁴ ≈ 6e-8), so the longest sums of the suite (k = 784) give
// about 1e-6; 1e-5 leaves headroom for a different summation order or fused
// multiply-adds. An indexing error, a skipped column or an element left
// unwritten gives an O(1) error in at least one element, which is at least
// 1/√N relative — above 2e-3 for every output of the suite (N ≤ 200704).
// Where the terms of a sum can cancel, the error is taken relative to the
// same sum of absolute values instead (see device/devicetest's
// documentation). The conformance suite and the tuner (device/opencl/tuner),
// which checks every candidate before timing it, hold results to it.
const Tolerance = 1e-5

// Yardstick is the product every GEMM figure is compared with: 1024³, where
// a device's product kernels reach their best (model.Products gives the
// network's own).
var Yardstick = GemmShape{"1024cube", false, false, 1024, 1024, 1024}

// GemmShape is one Gemm call: C (M×N) = op(A)·op(B) with inner size K.
type GemmShape struct {
	Name           string
	TransA, TransB bool
	M, N, K        int
}

// Trans is "NN", "NT", "TN" or "TT".
func (s GemmShape) Trans() string {
	t := map[bool]string{false: "N", true: "T"}
	return t[s.TransA] + t[s.TransB]
}

func (s GemmShape) String() string {
	return fmt.Sprintf("%s_%s_%dx%dx%d", s.Name, s.Trans(), s.M, s.N, s.K)
}

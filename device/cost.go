package device

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

package devicetest

import (
	"fmt"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/model"
)

func benchBackend(b *testing.B, newBackend Factory) device.Backend {
	b.Helper()
	be, err := newBackend(1)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	if err := be.SetLanes([]device.LaneParams{{Seed: 1, DropoutRate: 0.3, L1: 1e-5, L2: 1e-4, LR: 1e-3}}); err != nil {
		b.Fatal(err)
	}
	return be
}

func filled(b *testing.B, be device.Backend, n int, v float32) device.Buffer {
	b.Helper()
	buf, err := be.Alloc(device.Float, n)
	if err != nil {
		b.Fatal(err)
	}
	be.Fill(buf, n, float64(v))
	return buf
}

// timeOp runs op b.N times after one warm-up call and waits for the device,
// reporting rate = work/second in unit.
func timeOp(b *testing.B, be device.Backend, work float64, unit string, op func()) {
	op()
	if err := be.Finish(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op()
	}
	if err := be.Finish(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(work*float64(b.N)/b.Elapsed().Seconds()/1e9, unit)
}

// Bench benchmarks every operation at the sizes a training step uses,
// reporting GFLOP/s (Gemm) or GB/s (the rest) from the counts in device/cost.go.
func Bench(b *testing.B, newBackend Factory) {
	be := benchBackend(b, newBackend)
	cfg, err := model.Preset("baseline")
	if err != nil {
		b.Fatal(err)
	}
	shapes, err := model.Products(cfg, 128, 0) // the study's step
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range append(shapes, device.Yardstick) {
		b.Run("Gemm/"+s.String(), func(b *testing.B) {
			A := filled(b, be, s.M*s.K, 0.5)
			B := filled(b, be, s.K*s.N, 0.25)
			C := filled(b, be, s.M*s.N, 0)
			defer func() { be.Free(A); be.Free(B); be.Free(C) }()
			timeOp(b, be, device.GemmFlops(s.M, s.N, s.K), "GFLOP/s", func() {
				be.Gemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, A, B, 0, C)
			})
		})
	}
	const rows = 128
	for _, cols := range []int{256, 128} {
		x := filled(b, be, rows*cols, 0.5)
		y := filled(b, be, rows*cols, 0.5)
		v := filled(b, be, cols, 1)
		mean, istd, mm, mv, g, bb := filled(b, be, cols, 0), filled(b, be, cols, 1), filled(b, be, cols, 0), filled(b, be, cols, 1), filled(b, be, cols, 1), filled(b, be, cols, 0)
		d := device.Dropout{On: true, Step: 2} // the lane's rate is 0.3 (benchBackend)
		sz := fmt.Sprintf("%dx%d", rows, cols)
		b.Run("DropoutApply/"+sz, func(b *testing.B) {
			timeOp(b, be, device.DropoutBytes(rows, cols), "GB/s", func() { be.DropoutApply(x, rows, cols, d) })
		})
		b.Run("ReLUBackwardColSum/"+sz, func(b *testing.B) {
			timeOp(b, be, device.ReLUBackwardBytes(rows*cols)+device.ColSumBytes(rows, cols), "GB/s", func() {
				be.ReLUBackwardColSum(x, y, v, rows, cols, true)
			})
		})
		b.Run("ColSum/"+sz, func(b *testing.B) {
			timeOp(b, be, device.ColSumBytes(rows, cols), "GB/s", func() { be.ColSum(v, x, rows, cols) })
		})
		b.Run("BatchNormTrain/"+sz, func(b *testing.B) {
			timeOp(b, be, device.BatchNormTrainBytes(rows, cols), "GB/s", func() {
				be.BatchNormTrain(y, x, g, bb, mean, istd, mm, mv, rows, cols, 1e-3, 0.99)
			})
		})
		b.Run("BatchNormBackward/"+sz, func(b *testing.B) {
			timeOp(b, be, device.BatchNormBackwardBytes(rows, cols), "GB/s", func() {
				be.BatchNormBackward(y, x, x, g, mean, istd, mm, mv, nil, rows, cols)
			})
		})
	}
	// Gather of a batch from the training images, softmax on the logits.
	src, _ := be.Alloc(device.Uint8, 1000*784)
	be.Write(src, 0, 0, make([]uint8, 1000*784))
	idx, _ := be.Alloc(device.Int32, rows)
	ix := make([]int32, rows)
	for i := range ix {
		ix[i] = int32(i * 7)
	}
	be.Write(idx, 0, 0, ix)
	dst := filled(b, be, rows*784, 0)
	b.Run("GatherRows/128x784", func(b *testing.B) {
		timeOp(b, be, device.GatherBytes(rows, 784), "GB/s", func() { be.GatherRows(dst, src, idx, 0, rows, 784) })
	})
	labels, _ := be.Alloc(device.Uint8, 1000)
	be.Write(labels, 0, 0, make([]uint8, 1000))
	logits, dl := filled(b, be, rows*10, 0.1), filled(b, be, rows*10, 0)
	acc := filled(b, be, device.AccLen, 0)
	b.Run("SoftmaxXent/128x10", func(b *testing.B) {
		timeOp(b, be, device.SoftmaxXentBytes(rows, 10), "GB/s", func() {
			be.SoftmaxXent(dl, nil, logits, labels, idx, 0, rows, 10, 1.0/rows, acc, nil, 0)
		})
	})
	for _, n := range []int{784 * 256, 256 * 128} {
		w, gr, m, v := filled(b, be, n, 0.01), filled(b, be, n, 0.001), filled(b, be, n, 0), filled(b, be, n, 0)
		b.Run(fmt.Sprintf("PenaltySum/%d", n), func(b *testing.B) {
			timeOp(b, be, device.PenaltySumBytes(n), "GB/s", func() { be.PenaltySum(acc, w, n, 128) })
		})
		b.Run(fmt.Sprintf("Adam/%d", n), func(b *testing.B) {
			h := device.Adam{Correction: 1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}
			timeOp(b, be, device.AdamBytes(n), "GB/s", func() { be.AdamStep(w, gr, m, v, n, n/2, h) })
		})
	}
}

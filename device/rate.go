package device

import (
	"context"
	"sort"
	"time"
)

// Rate measures how fast be runs call: work per second, where work is what
// one call does (FLOPs, samples, 1 for calls). A warm-up call, then one
// timed call that sizes the batches, then up to batches batches of calls
// lasting at least batch each, with a Finish after every batch; the median
// batch gives the rate, so that one disturbed batch does not move it. It
// stops between batches when ctx is done, and fails with ctx's error when
// no batch was timed.
func Rate(ctx context.Context, be Backend, work float64, call func(), batch time.Duration, batches int) (float64, error) {
	call()
	if err := be.Finish(); err != nil {
		return 0, err
	}
	st := time.Now()
	call()
	if err := be.Finish(); err != nil {
		return 0, err
	}
	reps := max(1, int(batch/max(time.Since(st), time.Microsecond)))
	var rates []float64
	for b := 0; b < batches && ctx.Err() == nil; b++ {
		st := time.Now()
		for i := 0; i < reps; i++ {
			call()
		}
		if err := be.Finish(); err != nil {
			return 0, err
		}
		rates = append(rates, work*float64(reps)/time.Since(st).Seconds())
	}
	if len(rates) == 0 {
		return 0, ctx.Err()
	}
	sort.Float64s(rates)
	return rates[len(rates)/2], nil
}

// GemmRate is Rate for the product of shape s, in GFLOP/s (GemmFlops/1e9
// a call and a lane: a call on an L-lane backend does L products), on A, B
// and C filled with 0.5: values that stay normal however often C is
// overwritten (β = 0).
func GemmRate(ctx context.Context, be Backend, s GemmShape, batch time.Duration, batches int) (float64, error) {
	bufs := NewBuffers(be)
	defer bufs.Free()
	var x [3]Buffer
	for i, n := range []int{s.M * s.K, s.K * s.N, s.M * s.N} {
		if x[i] = bufs.New(Float, n, nil); x[i] != nil {
			be.Fill(x[i], n, 0.5)
		}
	}
	if err := bufs.Err(); err != nil {
		return 0, err
	}
	call := func() { be.Gemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, x[0], x[1], 0, x[2]) }
	return Rate(ctx, be, GemmFlops(s.M, s.N, s.K)*float64(be.Lanes())/1e9, call, batch, batches)
}

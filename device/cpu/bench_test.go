package cpu

import (
	"math/rand"
	"testing"

	"github.com/regcl/regcl/device"
)

// BenchmarkAdamStep times one optimizer pass over the study's 235,146
// parameters (784·256+256 + 256·128+128 + 128·10+10), without and with the
// L2 term: the loop the gonum backend runs once a step.
func BenchmarkAdamStep(b *testing.B) {
	for _, bc := range []struct {
		name string
		l2   float64
	}{{"baseline", 0}, {"l2", 1e-4}} {
		b.Run(bc.name, func(b *testing.B) {
			const n = 784*256 + 256 + 256*128 + 128 + 128*10 + 10
			be := New[float32](1)
			if err := be.SetLanes([]device.LaneParams{{LR: 1e-3, L2: bc.l2}}); err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewSource(1))
			mk := func(scale float64) device.Buffer {
				buf, err := be.Alloc(device.Float, n)
				if err != nil {
					b.Fatal(err)
				}
				s := Floats[float32](buf)
				for i := range s {
					s[i] = float32(scale * rng.NormFloat64())
				}
				return buf
			}
			w, g, m, v := mk(0.05), mk(1e-3), mk(1e-4), mk(1e-4)
			vs := Floats[float32](v)
			for i, x := range vs {
				vs[i] = x * x
			}
			h := device.Adam{Correction: 1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				be.AdamStep(w, g, m, v, n, n, h)
			}
		})
	}
}

package cpu_test

import (
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/device/devicetest"
)

func TestConformance32(t *testing.T) {
	devicetest.Run(t, func() (device.Backend, error) { return cpu.New[float32](), nil })
}

func TestConformance64(t *testing.T) {
	devicetest.Run(t, func() (device.Backend, error) { return cpu.New[float64](), nil })
}

// BenchmarkOps: every operation at the sizes of a training step
// (go test -bench Ops ./device/cpu).
func BenchmarkOps(b *testing.B) {
	devicetest.Bench(b, func() (device.Backend, error) { return cpu.New[float32](), nil })
}

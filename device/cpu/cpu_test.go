package cpu_test

import (
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
	"github.com/regcl/regcl/device/devicetest"
)

func new32(lanes int) (device.Backend, error) { return cpu.New[float32](lanes), nil }
func new64(lanes int) (device.Backend, error) { return cpu.New[float64](lanes), nil }

func TestConformance32(t *testing.T) { devicetest.Run(t, new32) }

func TestConformance64(t *testing.T) { devicetest.Run(t, new64) }

// TestNewBackendLanes: cpu.Device refuses lane counts outside [1, MaxLanes]
// with an error naming the count.
func TestNewBackendLanes(t *testing.T) {
	for _, l := range []int{0, -1, device.MaxLanes + 1} {
		if be, err := (cpu.Device{}).NewBackend(l); err == nil {
			t.Errorf("NewBackend(%d) = %v, want an error", l, be.Name())
		}
	}
	be, err := cpu.Device{}.NewBackend(device.MaxLanes)
	if err != nil || be.Lanes() != device.MaxLanes || be.FloatBits() != 32 {
		t.Fatalf("NewBackend(%d): %v, %v", device.MaxLanes, be, err)
	}
	if cpu.New[float64](3).FloatBits() != 64 {
		t.Error("New[float64]: FloatBits is not 64")
	}
}

// BenchmarkOps: every operation at the sizes of a training step
// (go test -bench Ops ./device/cpu).
func BenchmarkOps(b *testing.B) { devicetest.Bench(b, new32) }

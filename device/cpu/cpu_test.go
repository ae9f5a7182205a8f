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

package device_test

import (
	"runtime"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
)

type plainDevice struct{ device.Device }

type suggesting struct {
	device.Device
	n int
}

func (s suggesting) SideBySide() int { return s.n }

// A device without a suggestion trains one run at a time; a suggestion
// below 1 is raised to 1; the gonum backend suggests one run per core.
func TestSideBySide(t *testing.T) {
	for _, c := range []struct {
		name string
		d    device.Device
		want int
	}{
		{"no suggestion", plainDevice{}, 1},
		{"suggests 4", suggesting{n: 4}, 4},
		{"suggests 0", suggesting{n: 0}, 1},
		{"gonum", cpu.Device{}, runtime.GOMAXPROCS(0)},
	} {
		if got := device.SideBySide(c.d); got != c.want {
			t.Errorf("%s: SideBySide = %d, want %d", c.name, got, c.want)
		}
	}
}

package device_test

import (
	"strings"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
)

// TestBuffers: New allocates a per-lane buffer and writes src into every
// lane, NewShared one copy; both skip the write for nil or empty sources and
// give an empty buffer one element; the first failure (a negative length)
// sticks, later calls return nil, and Free releases what was allocated,
// twice without harm.
func TestBuffers(t *testing.T) {
	const lanes = 3
	be := cpu.New[float32](lanes)
	s := device.NewBuffers(be)
	a := s.New(device.Float, 3, []float32{1, 2, 3})
	sh := s.NewShared(device.Uint8, 2, []uint8{7, 9})
	e := s.New(device.Uint8, 0, []uint8{})
	z := s.New(device.Int32, 2, nil)
	if s.Err() != nil || a == nil || sh == nil || e == nil || z == nil {
		t.Fatalf("err %v; buffers %v %v %v %v", s.Err(), a, sh, e, z)
	}
	if e.Len() != 1 {
		t.Errorf("an empty buffer has %d elements, want 1", e.Len())
	}
	if a.Shared() || !sh.Shared() {
		t.Errorf("Shared: New gave %v, NewShared %v", a.Shared(), sh.Shared())
	}
	for l := 0; l < lanes; l++ {
		got := make([]float32, 3)
		if err := be.Read(a, l, 0, got); err != nil || got[0] != 1 || got[2] != 3 {
			t.Errorf("lane %d: read back %v, %v; want [1 2 3]", l, got, err)
		}
	}
	gs := make([]uint8, 2)
	if err := be.Read(sh, 0, 0, gs); err != nil || gs[0] != 7 || gs[1] != 9 {
		t.Errorf("shared: read back %v, %v; want [7 9]", gs, err)
	}
	if b := s.New(device.Float, -1, nil); b != nil || s.Err() == nil || !strings.Contains(s.Err().Error(), "negative") {
		t.Errorf("a negative length: buffer %v, err %v", b, s.Err())
	}
	if b := s.New(device.Float, 4, nil); b != nil {
		t.Errorf("New after a failure returned %v, want nil", b)
	}
	s.Free()
	s.Free()
}

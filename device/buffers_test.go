package device_test

import (
	"strings"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/cpu"
)

// TestBuffers: New allocates and writes, skips the write for nil or empty
// sources and gives an empty buffer one element; the first failure (a negative length) sticks, later calls
// return nil, and Free releases what was allocated, twice without harm.
func TestBuffers(t *testing.T) {
	be := cpu.New[float32]()
	s := device.NewBuffers(be)
	a := s.New(device.Float32, 3, []float32{1, 2, 3})
	e := s.New(device.Uint8, 0, []uint8{})
	z := s.New(device.Int32, 2, nil)
	if s.Err() != nil || a == nil || e == nil || z == nil {
		t.Fatalf("err %v; buffers %v %v %v", s.Err(), a, e, z)
	}
	if e.Len() != 1 {
		t.Errorf("an empty buffer has %d elements, want 1", e.Len())
	}
	got := make([]float32, 3)
	if err := be.Read(a, 0, got); err != nil || got[0] != 1 || got[2] != 3 {
		t.Errorf("read back %v, %v; want [1 2 3]", got, err)
	}
	if b := s.New(device.Float32, -1, nil); b != nil || s.Err() == nil || !strings.Contains(s.Err().Error(), "negative") {
		t.Errorf("a negative length: buffer %v, err %v", b, s.Err())
	}
	if b := s.New(device.Float32, 4, nil); b != nil {
		t.Errorf("New after a failure returned %v, want nil", b)
	}
	s.Free()
	s.Free()
}

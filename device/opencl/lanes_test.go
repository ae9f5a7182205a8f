package opencl_test

import (
	"math"
	"strings"
	"testing"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/device/opencl"
)

// wantErr fails t unless err is an error whose message holds every part.
func wantErr(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not say %q", what, err, p)
		}
	}
}

// TestAllocBounds: sizes that overflow or exceed the device's largest
// allocation are refused with a message that says so, before any OpenCL
// call; the bound counts every lane.
func TestAllocBounds(t *testing.T) {
	d := openDevice(t)
	be, err := d.NewBackend(18)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	_, err = be.Alloc(device.Float, math.MaxInt/2)
	wantErr(t, "Alloc(MaxInt/2)", err, "largest allocation", "use a smaller batch or network")
	_, err = be.AllocShared(device.Uint8, math.MaxInt)
	wantErr(t, "AllocShared(MaxInt)", err, "largest allocation")
	// One lane's part fits, 18 do not.
	perLane := int(d.Info.MaxAlloc / 4 / 8)
	if d.Info.MaxAlloc == 0 {
		t.Fatal("the device reports no largest allocation")
	}
	_, err = be.Alloc(device.Float, perLane)
	wantErr(t, "Alloc of 18 lanes of an eighth of the largest allocation", err, "18 lanes", "largest allocation", "use a smaller batch or network")
	_, err = be.Alloc(device.Float, -1)
	wantErr(t, "Alloc(-1)", err, "negative")
	if _, err := d.NewBackend(device.MaxLanes + 1); err == nil {
		t.Errorf("NewBackend(%d) accepted", device.MaxLanes+1)
	}
	if _, err := d.NewBackend(0); err == nil {
		t.Errorf("NewBackend(0) accepted")
	}
	if err := be.Err(); err != nil {
		t.Errorf("a refused Alloc left a sticky error: %v", err)
	}
}

// TestLaunchChecksArguments: an operation given a buffer its kernel's
// declaration does not take fails the backend with the kernel's and the
// argument's name (kernels.Signatures), instead of computing garbage.
func TestLaunchChecksArguments(t *testing.T) {
	d := openDevice(t)
	cases := []struct {
		name  string
		op    func(be device.Backend, other device.Backend) error
		parts []string
	}{
		{"an int32 buffer where a float is read", func(be, _ device.Backend) error {
			dst, _ := be.Alloc(device.Float, 7)
			x, _ := be.Alloc(device.Int32, 7*3)
			be.ColSum(dst, x, 3, 7)
			return be.Finish()
		}, []string{"col_sum", "argument x", "int32", "float"}},
		{"a shared buffer as an output", func(be, _ device.Backend) error {
			dst, _ := be.AllocShared(device.Float, 7)
			x, _ := be.Alloc(device.Float, 7*3)
			be.ColSum(dst, x, 3, 7)
			return be.Finish()
		}, []string{"col_sum", "argument dst", "shared"}},
		{"a per-lane buffer of another backend", func(be, other device.Backend) error {
			dst, _ := be.Alloc(device.Float, 7)
			x, _ := other.Alloc(device.Float, 7*3)
			be.ColSum(dst, x, 3, 7)
			return be.Finish()
		}, []string{"col_sum", "argument x", "another backend"}},
		{"a freed buffer", func(be, _ device.Backend) error {
			dst, _ := be.Alloc(device.Float, 7)
			x, _ := be.Alloc(device.Float, 7*3)
			be.Free(x)
			be.ColSum(dst, x, 3, 7)
			return be.Finish()
		}, []string{"col_sum", "argument x", "freed"}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			be, err := d.NewBackend(2)
			if err != nil {
				t.Fatal(err)
			}
			defer be.Close()
			other, err := d.NewBackend(2)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			wantErr(t, c.name, c.op(be, other), c.parts...)
		})
	}
}

// TestSharedBuffersStayOnTheirContext: a shared buffer is read by the
// other backends of its Device, written by none of them, and refused by a
// backend of another Device (another OpenCL context).
func TestSharedBuffersStayOnTheirContext(t *testing.T) {
	d := openDevice(t)
	owner, err := d.NewBackend(1)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	sh, err := owner.AllocShared(device.Float, 6)
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Write(sh, 0, 0, []float64{1, 2, 3, 4, 5, 6}); err != nil {
		t.Fatal(err)
	}
	be, err := d.NewBackend(3)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	dst, err := be.Alloc(device.Float, 3)
	if err != nil {
		t.Fatal(err)
	}
	be.ColSum(dst, sh, 2, 3)
	for l := 0; l < 3; l++ {
		got := make([]float32, 3)
		if err := be.Read(dst, l, 0, got); err != nil {
			t.Fatal(err)
		}
		if got[0] != 5 || got[1] != 7 || got[2] != 9 {
			t.Errorf("lane %d: column sums of the shared [[1 2 3] [4 5 6]] are %v, want [5 7 9]", l, got)
		}
	}
	wantErr(t, "Read lane 1 of a shared buffer", be.Read(sh, 1, 0, make([]float32, 1)), "lane 1", "shared")
	d2, err := opencl.Open(d.Info)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	be2, err := d2.NewBackend(1)
	if err != nil {
		t.Fatal(err)
	}
	defer be2.Close()
	wantErr(t, "Read of a shared buffer of another device", be2.Read(sh, 0, 0, make([]float32, 1)), "another device")
}

// TestTransferErrors: a Write or Read that does not fit its buffer or its
// lanes says what is wrong.
func TestTransferErrors(t *testing.T) {
	d := openDevice(t)
	be, err := d.NewBackend(2)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	f, _ := be.Alloc(device.Float, 4)
	i, _ := be.Alloc(device.Int32, 4)
	wantErr(t, "lane 2 of 2", be.Write(f, 2, 0, []float32{1}), "lane 2", "2 lanes")
	wantErr(t, "lane -1", be.Read(f, -1, 0, make([]float32, 1)), "lane -1")
	wantErr(t, "past the end", be.Write(f, 1, 3, []float64{1, 2}), "[3, 5)", "4")
	wantErr(t, "negative offset", be.Read(f, 0, -1, make([]float64, 1)), "[-1, 0)")
	wantErr(t, "int32 into float", be.Write(f, 0, 0, []int32{1}), "int32", "float")
	wantErr(t, "float into int32", be.Write(i, 0, 0, []float32{1}), "float", "int32")
	wantErr(t, "an unknown type", be.Write(f, 0, 0, []int{1}), "[]int")
	// Lanes are separate: writing lane 1 leaves lane 0, and float64 is
	// rounded to nearest float32.
	if err := be.Write(f, 0, 0, []float32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	if err := be.Write(f, 1, 0, []float64{0.1, 5, 6, 7}); err != nil {
		t.Fatal(err)
	}
	g0, g1 := make([]float32, 4), make([]float64, 4)
	if err := be.Read(f, 0, 0, g0); err != nil {
		t.Fatal(err)
	}
	if err := be.Read(f, 1, 0, g1); err != nil {
		t.Fatal(err)
	}
	if g0[0] != 1 || g0[3] != 4 || g1[0] != float64(float32(0.1)) || g1[3] != 7 {
		t.Errorf("lane 0 %v, lane 1 %v: want [1 2 3 4] and [float32(0.1) 5 6 7]", g0, g1)
	}
}

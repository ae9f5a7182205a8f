package device

import "testing"

// Known-answer vectors of Philox4x32-10 from Random123's kat_vectors file.
func TestPhiloxKnownAnswers(t *testing.T) {
	cases := []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{0, 0, 0, 0}, [2]uint32{0, 0}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff}, [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0}, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for _, c := range cases {
		if got := Philox4x32(c.ctr, c.key); got != c.want {
			t.Errorf("Philox4x32(%x, %x) = %x, want %x", c.ctr, c.key, got, c.want)
		}
	}
}

func TestDropoutKeepRate(t *testing.T) {
	for _, p := range []float64{0.1, 0.3, 0.5} {
		d := Mask{Rate: p, Seed: 42, Step: 7, Layer: 1}
		const n = 200000
		kept := 0
		for e := 0; e < n; e++ {
			if d.Keep(e) {
				kept++
			}
		}
		// Binomial(n, 1−p): 5 standard deviations is ≤ 5·√(n/4) ≈ 1118 elements.
		want := float64(n) * (1 - float64(p))
		if d := float64(kept) - want; d > 1118 || d < -1118 {
			t.Errorf("p=%v: kept %d of %d, want about %.0f", p, kept, n, want)
		}
	}
	if Threshold(0) != 0 {
		t.Errorf("Threshold(0) = %d, want 0 (keep everything)", Threshold(0))
	}
}

func TestDropoutMasksDiffer(t *testing.T) {
	base := Mask{Rate: 0.5, Seed: 1, Step: 3, Layer: 0}
	variants := []Mask{
		{Rate: 0.5, Seed: 2, Step: 3, Layer: 0},
		{Rate: 0.5, Seed: 1, Step: 4, Layer: 0},
		{Rate: 0.5, Seed: 1, Step: 3, Layer: 1},
		{Rate: 0.5, Seed: 1, Step: 3 + 1<<32, Layer: 0},
	}
	for _, v := range variants {
		same := 0
		for e := 0; e < 1000; e++ {
			if base.Keep(e) == v.Keep(e) {
				same++
			}
		}
		if same > 600 { // independent masks agree on about half the elements
			t.Errorf("mask for %+v agrees with %+v on %d of 1000 elements", v, base, same)
		}
	}
}

package device

import "math/bits"

// Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy
// as 1, 2, 3", SC 2011). The multipliers and Weyl increments are the paper's
// (and Random123's) constants; kernels/dropout.cl implements the same function.
const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9 // golden ratio
	philoxW1 = 0xBB67AE85 // √3 − 1
)

// Philox4x32 returns the 4 words of Philox4x32-10 for counter ctr and key.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	c0, c1, c2, c3 := ctr[0], ctr[1], ctr[2], ctr[3]
	k0, k1 := key[0], key[1]
	for i := 0; i < 10; i++ {
		hi0, lo0 := bits.Mul32(philoxM0, c0)
		hi1, lo1 := bits.Mul32(philoxM1, c2)
		c0, c1, c2, c3 = hi1^c1^k0, lo1, hi0^c3^k1, lo0
		k0 += philoxW0
		k1 += philoxW1
	}
	return [4]uint32{c0, c1, c2, c3}
}

// Bits returns the random word that decides element e's dropout mask
// (see Mask).
func (d Mask) Bits(e int) uint32 {
	r := Philox4x32([4]uint32{uint32(e >> 2), d.Layer, uint32(d.Step), uint32(d.Step >> 32)},
		[2]uint32{uint32(d.Seed), uint32(d.Seed >> 32)})
	return r[e&3]
}

// Keep reports whether element e survives dropout d.
func (d Mask) Keep(e int) bool {
	return d.Rate == 0 || d.Bits(e) >= Threshold(d.Rate)
}

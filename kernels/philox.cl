// philox.cl: Philox4x32-10 (Salmon et al., SC 2011), the counter-based generator
// behind dropout masks. No kernels. Twin: device/philox.go (Philox4x32,
// Dropout.Bits), which carries Random123's known-answer tests.

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

inline uint4 philox4x32_10(uint4 c, uint2 k) {
    for (int i = 0; i < 10; i++) {
        uint hi0 = mul_hi(PHILOX_M0, c.x), lo0 = PHILOX_M0 * c.x;
        uint hi1 = mul_hi(PHILOX_M1, c.z), lo1 = PHILOX_M1 * c.z;
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k += (uint2)(PHILOX_W0, PHILOX_W1);
    }
    return c;
}

// The 4 mask words of elements 4q..4q+3 of a dropout key (see device.Dropout):
// counter (q, layer, step lo, step hi), key (seed lo, seed hi).
inline uint4 dropout_bits4(uint q, uint layer, uint step_lo, uint step_hi, uint seed_lo, uint seed_hi) {
    return philox4x32_10((uint4)(q, layer, step_lo, step_hi), (uint2)(seed_lo, seed_hi));
}

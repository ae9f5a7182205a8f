// philox.cl: Philox4x32-10 (Salmon et al., SC 2011), the counter-based generator
// behind dropout masks. No kernels. Twin: device/philox.go (Philox4x32,
// Mask.Bits), which carries Random123's known-answer tests.

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

// The 4 mask words of elements 4q..4q+3 of a dropout key (see device.Mask):
// counter (q, layer, step lo, step hi), key (seed lo, seed hi).
inline uint4 dropout_bits4(uint q, uint layer, uint step_lo, uint step_hi, uint seed_lo, uint seed_hi) {
    return philox4x32_10((uint4)(q, layer, step_lo, step_hi), (uint2)(seed_lo, seed_hi));
}

// PLANES Philox blocks at once, as a structure of arrays (lane b of c_i is
// word i of block b): PHILOX_VEC/4 blocks for vector widths of 8 and 16, so
// that a work-item draws PHILOX_VEC mask words with vector arithmetic (one
// block at a time ran the dropout kernels 10× slower on PoCL). PHILOX_VEC is
// the program's vector width: VEC (the ops program), else VW (gemm_cpu's
// register vectors), else 1.
#if defined(VEC)
#define PHILOX_VEC VEC
#elif defined(VW)
#define PHILOX_VEC VW
#else
#define PHILOX_VEC 1
#endif
// ULOAD(w) loads VEC mask words as the unsigned vector that floatv compares
// with (the select of the dropout kernels).
#if VEC == 16
#define ULOAD(p) vload16(0, (p))
#elif VEC == 8
#define ULOAD(p) vload8(0, (p))
#elif VEC == 4
#define ULOAD(p) vload4(0, (p))
#endif
#if PHILOX_VEC >= 16
#define PLANES 4
typedef uint4 uintp;
#define PLANE_IDS ((uint4)(0, 1, 2, 3))
#define PSTORE(v, p) vstore4((v), 0, (p))
#elif PHILOX_VEC == 8
#define PLANES 2
typedef uint2 uintp;
#define PLANE_IDS ((uint2)(0, 1))
#define PSTORE(v, p) vstore2((v), 0, (p))
#else
#define PLANES 1
typedef uint uintp;
#define PLANE_IDS 0u
#define PSTORE(v, p) (*(p) = (v))
#endif

// dropout_words writes the mask words of elements 4·q0 … 4·(q0+PLANES)−1
// of a dropout key into w (word of element 4·q0 + i at w[i]).
inline void dropout_words(uint q0, uint layer, uint step_lo, uint step_hi, uint seed_lo, uint seed_hi,
                          uint w[4 * PLANES]) {
    uintp c0 = (uintp)(q0) + PLANE_IDS, c1 = (uintp)(layer), c2 = (uintp)(step_lo), c3 = (uintp)(step_hi);
    uint k0 = seed_lo, k1 = seed_hi;
    for (int i = 0; i < 10; i++) {
        const uintp hi0 = mul_hi((uintp)(PHILOX_M0), c0), lo0 = (uintp)(PHILOX_M0) * c0;
        const uintp hi1 = mul_hi((uintp)(PHILOX_M1), c2), lo1 = (uintp)(PHILOX_M1) * c2;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    uint t0[PLANES], t1[PLANES], t2[PLANES], t3[PLANES];
    PSTORE(c0, t0);
    PSTORE(c1, t1);
    PSTORE(c2, t2);
    PSTORE(c3, t3);
    for (int b = 0; b < PLANES; b++) {
        w[4 * b] = t0[b];
        w[4 * b + 1] = t1[b];
        w[4 * b + 2] = t2[b];
        w[4 * b + 3] = t3[b];
    }
}

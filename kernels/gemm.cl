// gemm.cl: C = alpha·op(A)·op(B) + beta·C, row-major, any M, N, K ≥ 1.
//
//   gemm_nn  op(A) = A (M×K),  op(B) = B (K×N)
//   gemm_nt  op(A) = A (M×K),  op(B) = Bᵀ, B is N×K
//   gemm_tn  op(A) = Aᵀ, A is K×M,  op(B) = B (K×N)
//   gemm_tt  op(A) = Aᵀ, A is K×M,  op(B) = Bᵀ, B is N×K
//
// Every kernel runs over the lanes in grid dimension 2 (lanes.cl: each
// buffer argument with its offset and lane stride; the packed panels of B
// are per lane too). With beta == 0, C is never read (it may hold NaN). Every kernel ends with
// an epilogue: C[i,j] += bias[j] when bias is not NULL, then ReLU when act is
// set, then the dense layer's dropout when drop is set (GemmBiasAct: a dense
// layer's forward pass in one launch; the CPU variant drops each block
// after storing it, the GPU's each element as it stores it). No size needs to be a
// multiple of a block: edges load zeros (or clamp to the last row) and store
// only inside C. Two variants, chosen with -DGEMM_CPU=0|1; every tuning
// parameter below is declared once, with its allowed values and
// constraints, in kernels/contract.go, which renders the -D options and from
// which the host computes every launch size. The #ifndef defaults only let
// the file build on its own. Twin: device/cpu (gonum's Sgemm).
//
// Both variants also define the direct products gemm_direct_nn, _nt, _tn,
// _tt (CLBlast's XgemmDirect is the model): one launch, no packing, each
// work-item computing its part of C straight from A and B, for the
// products small in N or K (kernels.Direct: N or K at most DIRECT, e.g. a
// network's output layer), where the blocked kernels' tiles would be mostly
// padding. Described where each variant defines them.
//
// GEMM_CPU=1 (CPU devices such as PoCL): no local memory, no barriers; the
// register blocking of BLIS/OpenBLAS micro-kernels. A work-item (work-group
// 1×1) owns an MR×NR block of C, NR = NV·VW, held in MR·NV vectors of VW
// floats; for each k it loads NV vectors of row k of op(B) and broadcasts
// op(A)[i,k] into each of its MR rows (KU values of k per loop iteration).
// Global (ceil(N/NR), ceil(M/MR)). Rows past M read row M−1 and are not
// stored; in the last block of columns the part past N reads zeros.
//   gemm_nn, gemm_tn  B's rows are contiguous: vector loads.
//   gemm_tt, gemm_ntg B is transposed: each vector is gathered (gemm_ntg is
//                     gemm_nt's form for short K, below NT_SHORT_K, with
//                     NT_SHORT = 2; NT_SHORT = 1 packs instead).
//   gemm_nt           both operands are contiguous along k: an NT_MR×NT_NR
//                     block of dot products of NT_VW-wide vectors along k,
//                     summed across lanes at the end (scalar tail for K mod
//                     NT_VW). Global (ceil(N/NT_NR), ceil(M/NT_MR)).
//   pack_bn, pack_bt  copy op(B) into panels of NR columns, each K×NR and
//                     contiguous, zero-padded past N: Bp[(p·K + k)·NR + jj] =
//                     op(B)[k, p·NR + jj]. Global (ceil(N/NR), K) for pack_bn,
//                     a work-item per row of a panel; (ceil(N/NR), ceil(K/VW))
//                     for pack_bt, a work-item per VW×NR tile it transposes.
//   gemm_np, gemm_tp  the register-blocked product over packed panels
//                     (PACK = 1): one contiguous stream per work-item, no
//                     edge case in k or j loads, any transpose of B.
//
// GEMM_CPU=0 (GPUs): a work-group computes a TSM×TSN tile of C, staging
// TSK-deep slices of op(A) and op(B) through local memory (padded by PAD
// floats per row against bank conflicts); each work-item accumulates a
// WPTM×WPTN register block, its rows and columns strided by the
// work-group's extent so that neighbouring items touch neighbouring
// local-memory words. Work-group (TSN/WPTN, TSM/WPTM); global
// (ceil(N/TSN)·TSN/WPTN, ceil(M/TSM)·TSM/WPTM). Global loads of B (NN, TN)
// take VWN floats at a time when N is a multiple of VWN.

#ifndef GEMM_CPU
#define GEMM_CPU 0
#endif

// op(A)[i,k] and op(B)[k,j] for each transpose form.
#define A_N(i, k) A[(long)(i) * K + (k)]
#define A_T(i, k) A[(long)(k) * M + (i)]
#define B_N(k, j) B[(long)(k) * N + (j)]
#define B_T(k, j) B[(long)(j) * K + (k)]

// Every product's arguments (lanes.cl: each buffer with its offset and
// lane stride; bias may be NULL), and the move to the lane's parts. The
// last ones, DROP_ARGS, carry a dense layer's dropout (GemmBiasAct: drop
// set, the lanes' parameters lane_u and lane_f, the key's step and layer).
#define DROP_ARGS __global const uint *lane_u, __global const float *lane_f, const uint step_lo, const uint step_hi, \
                  const uint layer, const int drop
#define GEMM_ARGS const int M, const int N, const int K, const float alpha, BUF(const float* restrict, A), \
                  BUF(const float* restrict, B), const float beta, BUF(float* restrict, C),               \
                  BUF(const float* restrict, bias), const int act, DROP_ARGS
#define GEMM_LANE LANE_PTR(A); LANE_PTR(B); LANE_PTR(C); LANE_PTR_OPT(bias);

// The dropout every product carries (the value dropout_apply would store
// in a second launch, elementwise.cl): element o = i·N + j of C, in a lane
// whose dropout is on (DROPPING), is kept when word o mod 4 of the Philox
// block o/4 of the key (lane seed, layer, step) is at least the lane's
// threshold, and then scaled: keep ? v·scale : 0 (philox.cl, device.Mask).
#define DROPPING (drop && LU(lane_u, LANE_DROP))
#define DROP_PASS lane_u, lane_f, step_lo, step_hi, layer
inline uint drop_word(const long o, DROP_ARGS) {
    const uint4 w = dropout_bits4((uint)(o / 4), layer, step_lo, step_hi, LU(lane_u, LANE_SEED_LO), LU(lane_u, LANE_SEED_HI));
    return o % 4 == 0 ? w.x : o % 4 == 1 ? w.y : o % 4 == 2 ? w.z : w.w;
}
inline float drop_value(const float v, const long o, DROP_ARGS) {
    return drop_word(o, DROP_PASS, drop) >= LU(lane_u, LANE_THRESH) ? v * LF(lane_f, LANE_SCALE) : 0.0f;
}
// drop_block applies it to the nc columns from j0 of the nr rows from i0
// of C, stored already by the work-item (the CPU variant's blocks): each
// row's words drawn PLANES Philox blocks at a time with vector arithmetic
// (philox.cl), each block once (a word a element, drop_value's way, ran
// the products with dropout 8× slower on PoCL).
inline void drop_block(__global float* C, const int N, const int i0, const int nr, const int j0, const int nc, DROP_ARGS) {
    const uint th = LU(lane_u, LANE_THRESH), slo = LU(lane_u, LANE_SEED_LO), shi = LU(lane_u, LANE_SEED_HI);
    const float sc = LF(lane_f, LANE_SCALE);
    uint w[4 * PLANES];
    for (int a = 0; a < nr; a++) {
        const long o0 = (long)(i0 + a) * N + j0, o1 = o0 + nc;
        for (long q = o0 / 4; 4 * q < o1; q += PLANES) {
            dropout_words((uint)q, layer, step_lo, step_hi, slo, shi, w);
            const long e1 = min(o1, 4 * (q + PLANES));
            for (long o = max(o0, 4 * q); o < e1; o++) C[o] = w[o - 4 * q] >= th ? C[o] * sc : 0.0f;
        }
    }
}

#if GEMM_CPU

#ifndef VW
#define VW 8
#endif
#ifndef MR
#define MR 6
#endif
#ifndef NV
#define NV 2
#endif
#ifndef KU
#define KU 1
#endif
#ifndef NT_MR
#define NT_MR 3
#endif
#ifndef NT_NR
#define NT_NR 4
#endif
#ifndef NT_VW
#define NT_VW 8
#endif
#if MR < 1 || MR > 12 || NV < 1 || NV > 4 || (KU != 1 && KU != 2 && KU != 4)
#error "MR must be 1..12, NV 1..4, KU 1, 2 or 4"
#endif
#if NT_MR < 1 || NT_MR > 4 || NT_NR < 1 || NT_NR > 8
#error "NT_MR must be 1..4, NT_NR 1..8"
#endif
#define NR (NV * VW)

// gvec is VW floats; ntvec NT_VW floats.
#if VW == 4
typedef float4 gvec;
#define GLOAD(p) vload4(0, (p))
#define GSTORE(v, p) vstore4((v), 0, (p))
#elif VW == 8
typedef float8 gvec;
#define GLOAD(p) vload8(0, (p))
#define GSTORE(v, p) vstore8((v), 0, (p))
#elif VW == 16
typedef float16 gvec;
#define GLOAD(p) vload16(0, (p))
#define GSTORE(v, p) vstore16((v), 0, (p))
#else
#error "VW must be 4, 8 or 16"
#endif
#if NT_VW == 4
typedef float4 ntvec;
#define NTLOAD(p) vload4(0, (p))
#define NTSUM(v) ((v).s0 + (v).s1 + (v).s2 + (v).s3)
#elif NT_VW == 8
typedef float8 ntvec;
#define NTLOAD(p) vload8(0, (p))
#define NTSUM(v) (((v).s0 + (v).s1) + ((v).s2 + (v).s3) + ((v).s4 + (v).s5) + ((v).s6 + (v).s7))
#elif NT_VW == 16
typedef float16 ntvec;
#define NTLOAD(p) vload16(0, (p))
#define NTSUM(v) (NTSUM8((v).lo) + NTSUM8((v).hi))
#define NTSUM8(v) (((v).s0 + (v).s1) + ((v).s2 + (v).s3) + ((v).s4 + (v).s5) + ((v).s6 + (v).s7))
#else
#error "NT_VW must be 4, 8 or 16"
#endif

// IFn(x) is x when the block has more than n rows (IFRn) or vectors (IFVn):
// the blocks are written out row by row so that the compiler keeps every
// accumulator in a register (an array indexed in a loop was spilled, at a
// third of the speed).
#define IFR(n, x) IFR_##n(x)
#if MR > 1
#define IFR_1(x) x
#else
#define IFR_1(x)
#endif
#if MR > 2
#define IFR_2(x) x
#else
#define IFR_2(x)
#endif
#if MR > 3
#define IFR_3(x) x
#else
#define IFR_3(x)
#endif
#if MR > 4
#define IFR_4(x) x
#else
#define IFR_4(x)
#endif
#if MR > 5
#define IFR_5(x) x
#else
#define IFR_5(x)
#endif
#if MR > 6
#define IFR_6(x) x
#else
#define IFR_6(x)
#endif
#if MR > 7
#define IFR_7(x) x
#else
#define IFR_7(x)
#endif
#if MR > 8
#define IFR_8(x) x
#else
#define IFR_8(x)
#endif
#if MR > 9
#define IFR_9(x) x
#else
#define IFR_9(x)
#endif
#if MR > 10
#define IFR_10(x) x
#else
#define IFR_10(x)
#endif
#if MR > 11
#define IFR_11(x) x
#else
#define IFR_11(x)
#endif
#if NV > 1
#define IFV1(x) x
#else
#define IFV1(x)
#endif
#if NV > 2
#define IFV2(x) x
#else
#define IFV2(x)
#endif
#if NV > 3
#define IFV3(x) x
#else
#define IFV3(x)
#endif
#define ALL_ROWS(M1, ...) M1(0 __VA_ARGS__) IFR(1, M1(1 __VA_ARGS__)) IFR(2, M1(2 __VA_ARGS__))     \
    IFR(3, M1(3 __VA_ARGS__)) IFR(4, M1(4 __VA_ARGS__)) IFR(5, M1(5 __VA_ARGS__))                 \
    IFR(6, M1(6 __VA_ARGS__)) IFR(7, M1(7 __VA_ARGS__)) IFR(8, M1(8 __VA_ARGS__))                 \
    IFR(9, M1(9 __VA_ARGS__)) IFR(10, M1(10 __VA_ARGS__)) IFR(11, M1(11 __VA_ARGS__))
#define ALL_VECS(M1, ...) M1(0 __VA_ARGS__) IFV1(M1(1 __VA_ARGS__)) IFV2(M1(2 __VA_ARGS__)) IFV3(M1(3 __VA_ARGS__))

// Row a of the block: its accumulators, the update with op(A)[ia,k]
// broadcast, and the store of a valid row.
#define ACC_DECL(v, a) gvec c##a##_##v = (gvec)(0.0f);
#define ROW_DECL(a) ALL_VECS(ACC_DECL, , a) const int ia##a = min(i0 + a, M - 1);
#define ACC_FMA(v, a) c##a##_##v = fma(av, b##v, c##a##_##v);
#define ROW_FMA(a, AT, kk) { const gvec av = (gvec)(AT(ia##a, kk)); ALL_VECS(ACC_FMA, , a) }
#define ACC_STORE(v, a) { __global float* cp = c + v * VW; gvec r = alpha * c##a##_##v;            \
    if (beta != 0.0f) r += beta * GLOAD(cp);                                                        \
    if (bias) r += GLOAD(bias + j0 + v * VW);                                                       \
    if (act) r = select(r, (gvec)(0.0f), r < 0.0f);                                                 \
    GSTORE(r, cp); }
#define ROW_STORE(a) if (i0 + a < M) { __global float* c = C + (long)(i0 + a) * N + j0;            \
    ALL_VECS(ACC_STORE, , a) }
#define ACC_SPILL(v, a) GSTORE(alpha * c##a##_##v, r + v * VW);
#define ROW_STORE_EDGE(a) if (i0 + a < M) { __global float* c = C + (long)(i0 + a) * N;            \
    float r[NR]; ALL_VECS(ACC_SPILL, , a)                                                           \
    for (int jj = 0; jj < NR && j0 + jj < N; jj++)                                                  \
        c[j0 + jj] = epilogue(beta == 0.0f ? r[jj] : r[jj] + beta * c[j0 + jj], bias, act, j0 + jj); }

// The epilogue every product applies to a result: + bias[j] when a bias is
// given, then ReLU when act is set (NaN passes, so divergence is seen).
inline float epilogue(float r, __global const float* restrict bias, const int act, const int j) {
    if (bias) r += bias[j];
    return act && r < 0.0f ? 0.0f : r;
}

// Vector v of row kk of op(B) from column j0: a vector load (BN), a gather
// (BT), and the edge forms that read only columns below N (zeros beyond).
#define BN_VEC(kk, v) GLOAD(B + (long)(kk) * N + j0 + (v) * VW)
#define BT_VEC(kk, v) bt_gather(B, K, (kk), j0 + (v) * VW, N, 0)
#define BN_EDGE(kk, v) bn_edge(B, N, K, (kk), j0 + (v) * VW)
#define BT_EDGE(kk, v) bt_gather(B, K, (kk), j0 + (v) * VW, N, 1)
#define BP_VEC(kk, v) GLOAD(Bp + ((long)p * K + (kk)) * NR + (v) * VW)

inline gvec bt_gather(__global const float* restrict B, const int K, const int k, const int j, const int N, const int edge) {
    float t[VW];
    for (int l = 0; l < VW; l++) t[l] = (!edge || j + l < N) ? B_T(k, j + l) : 0.0f;
    return GLOAD(t);
}

// An edge vector may read on into the next rows of B: those lanes land in
// columns past N, which are never stored. Only where that would pass the
// end of B (the last rows) are the lanes read one by one.
inline gvec bn_edge(__global const float* restrict B, const int N, const int K, const int k, const int j) {
    if ((long)k * N + j + VW <= (long)K * N) return GLOAD(B + (long)k * N + j);
    float t[VW];
    for (int l = 0; l < VW; l++) t[l] = j + l < N ? B_N(k, j + l) : 0.0f;
    return GLOAD(t);
}

// One k of the block: load the B vectors, update every row.
#define B_DECL(v, BV, kk) const gvec b##v = BV(kk, v);
#define K_STEP(AT, BV, kk) { ALL_VECS(B_DECL, , BV, kk) ALL_ROWS(ROW_FMA, , AT, kk) }
#if KU == 1
#define K_UNROLLED(AT, BV) K_STEP(AT, BV, k)
#elif KU == 2
#define K_UNROLLED(AT, BV) { K_STEP(AT, BV, k) K_STEP(AT, BV, k + 1) }
#else
#define K_UNROLLED(AT, BV) { K_STEP(AT, BV, k) K_STEP(AT, BV, k + 1) K_STEP(AT, BV, k + 2) K_STEP(AT, BV, k + 3) }
#endif

// The register-blocked product of one MR×NR block.
#define GEMM_BLOCK(AT, BV, STORE)                                                                  \
    {                                                                                              \
        ALL_ROWS(ROW_DECL)                                                                         \
        int k = 0;                                                                                 \
        for (; k + KU <= K; k += KU) K_UNROLLED(AT, BV)                                            \
        for (; k < K; k++) K_STEP(AT, BV, k)                                                       \
        ALL_ROWS(STORE)                                                                            \
    }


#define GEMM_CPU_KERNEL(NAME, AT, BV, BEDGE)                                                       \
__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void NAME(GEMM_ARGS) {                     \
    GEMM_LANE                                                                                      \
    const int j0 = get_global_id(0) * NR, i0 = get_global_id(1) * MR;                              \
    if (i0 >= M || j0 >= N) return;                                                                \
    if (j0 + NR <= N)                                                                              \
        GEMM_BLOCK(AT, BV, ROW_STORE)                                                              \
    else                                                                                           \
        GEMM_BLOCK(AT, BEDGE, ROW_STORE_EDGE)                                                      \
    if (DROPPING) drop_block(C, N, i0, min(MR, M - i0), j0, min(NR, N - j0), DROP_PASS, drop);     \
}

GEMM_CPU_KERNEL(gemm_nn, A_N, BN_VEC, BN_EDGE)
GEMM_CPU_KERNEL(gemm_tn, A_T, BN_VEC, BN_EDGE)
GEMM_CPU_KERNEL(gemm_tt, A_T, BT_VEC, BT_EDGE)
// gemm_nt for short K (NT_SHORT = 2): A's rows broadcast, B's columns gathered.
GEMM_CPU_KERNEL(gemm_ntg, A_N, BT_VEC, BT_EDGE)

// The same over packed panels of B (pack_bn, pack_bt): the panel p of the
// block's columns, zero-padded, so full and edge blocks load alike.
#define GEMM_PACKED_KERNEL(NAME, AT)                                                               \
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))                                            \
void NAME(const int M, const int N, const int K, const float alpha, BUF(const float* restrict, A),  \
          BUF(const float* restrict, Bp), const float beta, BUF(float* restrict, C),                \
          BUF(const float* restrict, bias), const int act, DROP_ARGS) {                            \
    LANE_PTR(A); LANE_PTR(Bp); LANE_PTR(C); LANE_PTR_OPT(bias);                                    \
    const int p = get_global_id(0), j0 = p * NR, i0 = get_global_id(1) * MR;                       \
    if (i0 >= M || j0 >= N) return;                                                                \
    if (j0 + NR <= N)                                                                              \
        GEMM_BLOCK(AT, BP_VEC, ROW_STORE)                                                          \
    else                                                                                           \
        GEMM_BLOCK(AT, BP_VEC, ROW_STORE_EDGE)                                                     \
    if (DROPPING) drop_block(C, N, i0, min(MR, M - i0), j0, min(NR, N - j0), DROP_PASS, drop);     \
}

GEMM_PACKED_KERNEL(gemm_np, A_N)
GEMM_PACKED_KERNEL(gemm_tp, A_T)

// pack_bn: one work-item per row k of a panel, NR values of B's row k
// copied as NV vectors (one by one, zero-padded, in the last panel).
__kernel void pack_bn(const int N, const int K, BUF(const float* restrict, B), BUF(float* restrict, Bp)) {
    LANE_PTR(B);
    LANE_PTR(Bp);
    const int p = get_global_id(0), k = get_global_id(1);
    const int j0 = p * NR;
    if (j0 >= N || k >= K) return;
    __global float* dst = Bp + ((long)p * K + k) * NR;
    __global const float* src = B + (long)k * N + j0;
    if (j0 + NR <= N) {
        for (int v = 0; v < NV; v++) GSTORE(GLOAD(src + v * VW), dst + v * VW);
    } else {
        for (int jj = 0; jj < NR; jj++) dst[jj] = j0 + jj < N ? src[jj] : 0.0f;
    }
}

// pack_bt: a transpose, one work-item per VW-deep slice of a panel: the
// panel's NR rows of B (N×K), VW consecutive k each, read as vectors into a
// tile, then written out k by k as the panel's contiguous rows. Global
// (ceil(N/NR), ceil(K/VW)). (A gather of NR strided values per k ran 7×
// slower on PoCL.)
__kernel void pack_bt(const int N, const int K, BUF(const float* restrict, B), BUF(float* restrict, Bp)) {
    LANE_PTR(B);
    LANE_PTR(Bp);
    const int p = get_global_id(0), kb = get_global_id(1);
    const int j0 = p * NR, k0 = kb * VW;
    if (j0 >= N || k0 >= K) return;
    const int kn = min(VW, K - k0);
    float tile[NR][VW];
    for (int jj = 0; jj < NR; jj++) {
        const int j = j0 + jj;
        __global const float* src = B + (long)j * K + k0;
        if (j < N && kn == VW) {
            GSTORE(GLOAD(src), tile[jj]);
        } else {
            for (int kk = 0; kk < VW; kk++) tile[jj][kk] = (j < N && kk < kn) ? src[kk] : 0.0f;
        }
    }
    for (int kk = 0; kk < kn; kk++) {
        __global float* dst = Bp + ((long)p * K + k0 + kk) * NR;
        for (int jj = 0; jj < NR; jj++) dst[jj] = tile[jj][kk];
    }
}

// gemm_nt: C[i,j] = Σ_k A[i,k]·B[j,k], both contiguous along k. Rows and
// columns past the edge read the last valid one and are not stored.
#define NT_ACC(b, a) ntvec s##a##_##b = (ntvec)(0.0f); float t##a##_##b = 0.0f;
#define NT_DOT(b, a) s##a##_##b = fma(av##a, bv##b, s##a##_##b);
#define NT_TAIL(b, a) t##a##_##b = fma(A[ra##a + k], B[rb##b + k], t##a##_##b);
#define NT_STORE(b, a) if (i0 + a < M && j0 + b < N) {                                            \
        const float r = alpha * (NTSUM(s##a##_##b) + t##a##_##b);                                 \
        const long o = (long)(i0 + a) * N + j0 + b;                                               \
        C[o] = epilogue(beta == 0.0f ? r : r + beta * C[o], bias, act, j0 + b); }
#define NT_RA(a) const long ra##a = (long)min(i0 + a, M - 1) * K;
#define NT_RB(b) const long rb##b = (long)min(j0 + b, N - 1) * K;
#define NT_LA(a) const ntvec av##a = NTLOAD(A + ra##a + k);
#define NT_LB(b) const ntvec bv##b = NTLOAD(B + rb##b + k);
#define NT_IFA(n, x) NT_IFA_##n(x)
#define NT_IFB(n, x) NT_IFB_##n(x)
#if NT_MR > 1
#define NT_IFA_1(x) x
#else
#define NT_IFA_1(x)
#endif
#if NT_MR > 2
#define NT_IFA_2(x) x
#else
#define NT_IFA_2(x)
#endif
#if NT_MR > 3
#define NT_IFA_3(x) x
#else
#define NT_IFA_3(x)
#endif
#if NT_NR > 1
#define NT_IFB_1(x) x
#else
#define NT_IFB_1(x)
#endif
#if NT_NR > 2
#define NT_IFB_2(x) x
#else
#define NT_IFB_2(x)
#endif
#if NT_NR > 3
#define NT_IFB_3(x) x
#else
#define NT_IFB_3(x)
#endif
#if NT_NR > 4
#define NT_IFB_4(x) x
#else
#define NT_IFB_4(x)
#endif
#if NT_NR > 5
#define NT_IFB_5(x) x
#else
#define NT_IFB_5(x)
#endif
#if NT_NR > 6
#define NT_IFB_6(x) x
#else
#define NT_IFB_6(x)
#endif
#if NT_NR > 7
#define NT_IFB_7(x) x
#else
#define NT_IFB_7(x)
#endif
#define NT_ROWS(M1, ...) M1(0 __VA_ARGS__) NT_IFA(1, M1(1 __VA_ARGS__)) NT_IFA(2, M1(2 __VA_ARGS__)) NT_IFA(3, M1(3 __VA_ARGS__))
#define NT_COLS(M1, ...) M1(0 __VA_ARGS__) NT_IFB(1, M1(1 __VA_ARGS__)) NT_IFB(2, M1(2 __VA_ARGS__))     \
    NT_IFB(3, M1(3 __VA_ARGS__)) NT_IFB(4, M1(4 __VA_ARGS__)) NT_IFB(5, M1(5 __VA_ARGS__))              \
    NT_IFB(6, M1(6 __VA_ARGS__)) NT_IFB(7, M1(7 __VA_ARGS__))
#define NT_ROW_COLS(a, M1) NT_COLS(M1, , a)

__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void gemm_nt(GEMM_ARGS) {
    GEMM_LANE
    const int j0 = get_global_id(0) * NT_NR, i0 = get_global_id(1) * NT_MR;
    if (i0 >= M || j0 >= N) return;
    NT_ROWS(NT_RA)
    NT_COLS(NT_RB)
    NT_ROWS(NT_ROW_COLS, , NT_ACC)
    const int kv = K - K % NT_VW;
    for (int k = 0; k < kv; k += NT_VW) {
        NT_ROWS(NT_LA)
        NT_COLS(NT_LB)
        NT_ROWS(NT_ROW_COLS, , NT_DOT)
    }
    for (int k = kv; k < K; k++) {
        NT_ROWS(NT_ROW_COLS, , NT_TAIL)
    }
    NT_ROWS(NT_ROW_COLS, , NT_STORE)
    if (DROPPING) drop_block(C, N, i0, min(NT_MR, M - i0), j0, min(NT_NR, N - j0), DROP_PASS, drop);
}

// The direct products (gemm_direct_nn, _nt, _tn, _tt; CLBlast's
// XgemmDirect is the model): one launch, no packing, op(A) and op(B) read
// in place through the same index macros, for the products small in N or
// K (kernels.Direct, DIRECT). A work-item owns the columns j0..j0+VW−1 of
// C (one vector) and walks blocks of MR rows, i = (gid1 + t·gsize1)·MR for
// t = 0, 1, …: a grid-stride loop, so the host may launch any number of
// row workers (it sizes the grid to the device, device/opencl). Global
// (ceil(N/VW), rows workers). When K ≤ DIRECT, the K×VW tile of op(B) is
// first copied, zero-padded past N, into private memory, once for all the
// work-item's rows (for NT this turns a gather per k and row block into one
// per work-item); otherwise (N small) op(B)'s rows are read in place:
// vector loads for B (a load that would pass the end of B reads lane by
// lane), gathers for Bᵀ. Each element's sum runs over k = 0, 1, …, K−1 in
// order, in one fused multiply-add chain: the same bits on every run.
#ifndef DIRECT
#define DIRECT 32
#endif
#define D_TILE (DIRECT > 0 ? DIRECT : 1)
#define D_DECL(a) gvec d##a = (gvec)(0.0f); const int da##a = min(i + a, M - 1);
#define D_FMA(a, AT, kk) d##a = fma((gvec)(AT(da##a, kk)), bv, d##a);
#define D_STORE(a) if (i + a < M) direct_store(C + (long)(i + a) * N, d##a, j0, N, alpha, beta, bias, act);
// The k loop of one block of rows with op(B)'s row kk from BV(kk).
#define D_KLOOP(AT, BV, k0, k1) for (int k = (k0); k < (k1); k++) { const gvec bv = BV(k); ALL_ROWS(D_FMA, , AT, k) }
#define D_ROWS(BODY)                                                                               \
    for (int i = get_global_id(1) * MR; i < M; i += get_global_size(1) * MR) {                     \
        ALL_ROWS(D_DECL)                                                                           \
        BODY                                                                                       \
        ALL_ROWS(D_STORE)                                                                          \
    }
#define D_TILE_VEC(kk) GLOAD(bt + (kk) * VW)

// D_LANES(X) is X(l, sL) for each lane l of a gvec.
#define D_LANES4(X) X(0, s0) X(1, s1) X(2, s2) X(3, s3)
#define D_LANES8(X) D_LANES4(X) X(4, s4) X(5, s5) X(6, s6) X(7, s7)
#define D_LANES16(X) D_LANES8(X) X(8, s8) X(9, s9) X(10, sa) X(11, sb) X(12, sc) X(13, sd) X(14, se) X(15, sf)
#if VW == 4
#define D_LANES(X) D_LANES4(X)
#elif VW == 8
#define D_LANES(X) D_LANES8(X)
#else
#define D_LANES(X) D_LANES16(X)
#endif

// One row of the direct block into C's row c: alpha·v (+ beta·C), the
// epilogue, the lanes past N not stored.
inline void direct_store(__global float* restrict c, const gvec v, const int j0, const int N, const float alpha,
                         const float beta, __global const float* restrict bias, const int act) {
    gvec r = alpha * v;
    if (j0 + VW <= N) {
        if (beta != 0.0f) r += beta * GLOAD(c + j0);
        if (bias) r += GLOAD(bias + j0);
        if (act) r = select(r, (gvec)(0.0f), r < 0.0f);
        GSTORE(r, c + j0);
        return;
    }
    // The edge: lane by lane, straight from the vector (a private array to
    // index instead cost PoCL ~20 ns an element, 4× the whole product).
    const int n = N - j0;
#define D_LANE(l, s) if (l < n) c[j0 + l] = epilogue(beta == 0.0f ? r.s : r.s + beta * c[j0 + l], bias, act, j0 + l);
    D_LANES(D_LANE)
#undef D_LANE
}

// The vector of op(B)'s row k from column j0, lane by lane, zeros past N
// (B: a row's edge; Bᵀ: a gather along B's rows).
#define D_GET_BN(l, s) if (l < n) v.s = B_N(k, j0 + l);
#define D_GET_BT(l, s) if (l < n) v.s = B_T(k, j0 + l);
inline gvec direct_bn_lanes(__global const float* restrict B, const int N, const int K, const int k, const int j0) {
    gvec v = (gvec)(0.0f);
    const int n = N - j0;
    D_LANES(D_GET_BN)
    return v;
}
inline gvec direct_bt_lanes(__global const float* restrict B, const int N, const int K, const int k, const int j0) {
    gvec v = (gvec)(0.0f);
    const int n = N - j0;
    D_LANES(D_GET_BT)
    return v;
}

// op(B)'s K×VW tile at column j0 into bt (row k at bt + k·VW), zeros past N.
inline void direct_tile_bn(__global const float* restrict B, const int N, const int K, const int j0, float* bt) {
    for (int k = 0; k < K; k++)
        GSTORE(j0 + VW <= N ? GLOAD(B + (long)k * N + j0) : direct_bn_lanes(B, N, K, k, j0), bt + k * VW);
}
inline void direct_tile_bt(__global const float* restrict B, const int N, const int K, const int j0, float* bt) {
    for (int k = 0; k < K; k++) GSTORE(direct_bt_lanes(B, N, K, k, j0), bt + k * VW);
}

// The rows k of B (K×N) whose vector load at column j0 stays inside B.
inline int direct_whole_rows(const int N, const int K, const int j0) {
    const long room = (long)K * N - j0 - VW;
    return room < 0 ? 0 : (int)min((long)K, room / N + 1);
}

// B (not transposed) in place: in the edge block, rows k < kv load a whole
// vector (the lanes past N read B's next row, never stored); the last rows,
// where that would pass the end of B, read lane by lane.
#define D_BODY_BN(AT)                                                                              \
    if (K <= DIRECT) {                                                                             \
        D_KLOOP(AT, D_TILE_VEC, 0, K)                                                              \
    } else if (j0 + VW <= N) {                                                                     \
        D_KLOOP(AT, BN_VEC_D, 0, K)                                                                \
    } else {                                                                                       \
        D_KLOOP(AT, BN_VEC_D, 0, kv)                                                               \
        D_KLOOP(AT, BN_EDGE_D, kv, K)                                                              \
    }
#define BN_VEC_D(kk) GLOAD(B + (long)(kk) * N + j0)
#define BN_EDGE_D(kk) direct_bn_lanes(B, N, K, (kk), j0)
#define D_BODY_BT(AT)                                                                              \
    if (K <= DIRECT) {                                                                             \
        D_KLOOP(AT, D_TILE_VEC, 0, K)                                                              \
    } else {                                                                                       \
        D_KLOOP(AT, BT_GATHER_D, 0, K)                                                             \
    }
#define BT_GATHER_D(kk) direct_bt_lanes(B, N, K, (kk), j0)

#define GEMM_DIRECT_KERNEL(NAME, AT, BODY, TILE)                                                   \
__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void NAME(GEMM_ARGS) {                     \
    GEMM_LANE                                                                                      \
    const int j0 = get_global_id(0) * VW;                                                          \
    if (j0 >= N) return;                                                                           \
    float bt[D_TILE * VW];                                                                         \
    if (K <= DIRECT) TILE(B, N, K, j0, bt);                                                        \
    const int kv = direct_whole_rows(N, K, j0);                                                    \
    D_ROWS(BODY(AT))                                                                               \
    if (DROPPING) /* after the products' loop, which it leaves as it was */                        \
        for (int i = get_global_id(1) * MR; i < M; i += get_global_size(1) * MR)                   \
            drop_block(C, N, i, min(MR, M - i), j0, min(VW, N - j0), DROP_PASS, drop);             \
}

GEMM_DIRECT_KERNEL(gemm_direct_nn, A_N, D_BODY_BN, direct_tile_bn)
GEMM_DIRECT_KERNEL(gemm_direct_tn, A_T, D_BODY_BN, direct_tile_bn)
GEMM_DIRECT_KERNEL(gemm_direct_nt, A_N, D_BODY_BT, direct_tile_bt)
GEMM_DIRECT_KERNEL(gemm_direct_tt, A_T, D_BODY_BT, direct_tile_bt)

#else // GEMM_CPU

#ifndef TSM
#define TSM 64
#endif
#ifndef TSN
#define TSN 64
#endif
#ifndef TSK
#define TSK 16
#endif
#ifndef WPTM
#define WPTM 4
#endif
#ifndef WPTN
#define WPTN 4
#endif
#ifndef PAD
#define PAD 1
#endif
#ifndef VWN
#define VWN 1
#endif
#define RTSM (TSM / WPTM)
#define RTSN (TSN / WPTN)
#define WGSIZE (RTSM * RTSN)
#if TSM % WPTM != 0 || TSN % WPTN != 0 || TSN % VWN != 0
#error "TSM must be a multiple of WPTM, TSN of WPTN and of VWN"
#endif

// Load order: walk the dimension that is contiguous in memory fastest, so
// neighbouring work-items read neighbouring addresses.
#define LOAD_A_ALONG_K(AT)                                                   \
    for (int e = tid; e < TSM * TSK; e += WGSIZE) {                          \
        const int kk = e % TSK, ii = e / TSK;                                \
        const int gi = m0 + ii, gk = k0 + kk;                                \
        As[kk][ii] = (gi < M && gk < kend) ? AT(gi, gk) : 0.0f;              \
    }
#define LOAD_A_ALONG_M(AT)                                                   \
    for (int e = tid; e < TSM * TSK; e += WGSIZE) {                          \
        const int ii = e % TSM, kk = e / TSM;                                \
        const int gi = m0 + ii, gk = k0 + kk;                                \
        As[kk][ii] = (gi < M && gk < kend) ? AT(gi, gk) : 0.0f;              \
    }
// B along N, VWN floats at a time where N allows it (vload needs VWN-aligned
// element offsets: true for every row when N % VWN == 0).
#if VWN > 1
#define LOAD_B_ALONG_N(BT)                                                   \
    if (N % VWN == 0) {                                                      \
        for (int e = tid; e < TSN / VWN * TSK; e += WGSIZE) {                \
            const int jv = e % (TSN / VWN), kk = e / (TSN / VWN);            \
            const int gj = n0 + jv * VWN, gk = k0 + kk;                      \
            float t[VWN];                                                    \
            if (gj + VWN <= N && gk < kend) {                                \
                VSTORE_T(VLOAD_G(B + (long)gk * N + gj), t);                 \
            } else {                                                         \
                for (int l = 0; l < VWN; l++)                                \
                    t[l] = (gj + l < N && gk < kend) ? BT(gk, gj + l) : 0.0f;   \
            }                                                                \
            for (int l = 0; l < VWN; l++) Bs[kk][jv * VWN + l] = t[l];       \
        }                                                                    \
    } else {                                                                 \
        LOAD_B_SCALAR_N(BT)                                                  \
    }
#if VWN == 2
#define VLOAD_G(p) vload2(0, (p))
#define VSTORE_T(v, p) vstore2((v), 0, (p))
#elif VWN == 4
#define VLOAD_G(p) vload4(0, (p))
#define VSTORE_T(v, p) vstore4((v), 0, (p))
#else
#error "VWN must be 1, 2 or 4"
#endif
#else
#define LOAD_B_ALONG_N(BT) LOAD_B_SCALAR_N(BT)
#endif
#define LOAD_B_SCALAR_N(BT)                                                  \
    for (int e = tid; e < TSN * TSK; e += WGSIZE) {                          \
        const int jj = e % TSN, kk = e / TSN;                                \
        const int gj = n0 + jj, gk = k0 + kk;                                \
        Bs[kk][jj] = (gj < N && gk < kend) ? BT(gk, gj) : 0.0f;              \
    }
#define LOAD_B_ALONG_K(BT)                                                   \
    for (int e = tid; e < TSN * TSK; e += WGSIZE) {                          \
        const int kk = e % TSK, jj = e / TSK;                                \
        const int gj = n0 + jj, gk = k0 + kk;                                \
        Bs[kk][jj] = (gj < N && gk < kend) ? BT(gk, gj) : 0.0f;              \
    }

// TILE_SUM: the work-group's TSM×TSN tile of op(A)·op(B) at (m0, n0) over
// k in [kbeg, kend), TSK values at a time, into each work-item's acc.
#define TILE_SUM(LA, AT, LB, BT)                                                                  \
    __local float As[TSK][TSM + PAD];                                                             \
    __local float Bs[TSK][TSN + PAD];                                                             \
    const int tn = get_local_id(0), tm = get_local_id(1);                                         \
    const int tid = tm * RTSN + tn;                                                               \
    float acc[WPTM][WPTN];                                                                        \
    for (int a = 0; a < WPTM; a++)                                                                \
        for (int b = 0; b < WPTN; b++) acc[a][b] = 0.0f;                                          \
    for (int k0 = kbeg; k0 < kend; k0 += TSK) {                                                   \
        LA(AT)                                                                                    \
        LB(BT)                                                                                    \
        barrier(CLK_LOCAL_MEM_FENCE);                                                             \
        for (int kk = 0; kk < TSK; kk++) {                                                        \
            float bv[WPTN];                                                                       \
            for (int b = 0; b < WPTN; b++) bv[b] = Bs[kk][tn + b * RTSN];                         \
            for (int a = 0; a < WPTM; a++) {                                                      \
                const float av = As[kk][tm + a * RTSM];                                           \
                for (int b = 0; b < WPTN; b++) acc[a][b] = fma(av, bv[b], acc[a][b]);             \
            }                                                                                     \
        }                                                                                         \
        barrier(CLK_LOCAL_MEM_FENCE);                                                             \
    }

// EPILOGUE(r, o, j): store r, a sum of op(A)·op(B) at C's element o in
// column j, as alpha·r + beta·C[o] (C unread when beta == 0), plus bias[j]
// when bias is not NULL, then ReLU when act is set, then the dropout
// (DROPPING). EPILOGUE_VALUE declares e_ holding the value before the
// dropout.
#define EPILOGUE_VALUE(e_, r, o, j)                                                               \
    float e_ = beta == 0.0f ? alpha * (r) : alpha * (r) + beta * C[o];                            \
    if (bias) e_ += bias[j];                                                                      \
    if (act && e_ < 0.0f) e_ = 0.0f;
#define EPILOGUE(r, o, j)                                                                         \
    {                                                                                             \
        EPILOGUE_VALUE(e_, r, o, j)                                                               \
        C[o] = DROPPING ? drop_value(e_, o, DROP_PASS, drop) : e_;                                \
    }

#define GEMM_KERNEL(NAME, LA, AT, LB, BT)                                                         \
__kernel __attribute__((reqd_work_group_size(RTSN, RTSM, 1)))                                     \
void NAME(GEMM_ARGS) {                                                                            \
    GEMM_LANE                                                                                     \
    const int n0 = get_group_id(0) * TSN, m0 = get_group_id(1) * TSM;                             \
    const int kbeg = 0, kend = K;                                                                 \
    TILE_SUM(LA, AT, LB, BT)                                                                      \
    for (int a = 0; a < WPTM; a++) {                                                              \
        const int i = m0 + tm + a * RTSM;                                                         \
        if (i >= M) continue;                                                                     \
        for (int b = 0; b < WPTN; b++) {                                                          \
            const int j = n0 + tn + b * RTSN;                                                     \
            if (j >= N) continue;                                                                 \
            const long o = (long)i * N + j;                                                       \
            EPILOGUE(acc[a][b], o, j)                                                             \
        }                                                                                         \
    }                                                                                             \
}

// Split-K (gemm_split_nn, _nt, _tn, _tt, then gemm_split_finish): for a
// product of few tiles and a long K (kernels.SplitK, SPLITK), K is cut
// into slices of depth values each (a multiple of TSK; the last may be
// shorter), and each work-group computes its tile's partial product over
// one slice into P, slice s at P[s·M·N + i·N + j] (P per lane: a scratch
// buffer of the backend). Grid dimension 1 holds the slices: work-group
// row g is slice g / ceil(M/TSM), tile row g mod ceil(M/TSM). Global
// (ceil(N/TSN)·TSN/WPTN, slices·ceil(M/TSM)·TSM/WPTM). Then
// gemm_split_finish, one work-item per element of C in WGD×WGD work-groups,
// adds the slices' partials in slice order (a fixed order: the same bits
// on every run) and applies the epilogue: alpha, beta·C, bias, ReLU.
#define GEMM_SPLIT_KERNEL(NAME, LA, AT, LB, BT)                                                   \
__kernel __attribute__((reqd_work_group_size(RTSN, RTSM, 1)))                                     \
void NAME(const int M, const int N, const int K, const int depth, BUF(const float* restrict, A),   \
          BUF(const float* restrict, B), BUF(float* restrict, P)) {                                \
    LANE_PTR(A); LANE_PTR(B); LANE_PTR(P);                                                        \
    const int mg = (M + TSM - 1) / TSM, s = get_group_id(1) / mg;                                 \
    const int n0 = get_group_id(0) * TSN, m0 = (get_group_id(1) % mg) * TSM;                      \
    const int kbeg = s * depth, kend = min(K, kbeg + depth);                                      \
    P += (long)s * M * N;                                                                         \
    TILE_SUM(LA, AT, LB, BT)                                                                      \
    for (int a = 0; a < WPTM; a++) {                                                              \
        const int i = m0 + tm + a * RTSM;                                                         \
        if (i >= M) continue;                                                                     \
        for (int b = 0; b < WPTN; b++) {                                                          \
            const int j = n0 + tn + b * RTSN;                                                     \
            if (j < N) P[(long)i * N + j] = acc[a][b];                                            \
        }                                                                                         \
    }                                                                                             \
}

GEMM_KERNEL(gemm_nn, LOAD_A_ALONG_K, A_N, LOAD_B_ALONG_N, B_N)
GEMM_KERNEL(gemm_nt, LOAD_A_ALONG_K, A_N, LOAD_B_ALONG_K, B_T)
GEMM_KERNEL(gemm_tn, LOAD_A_ALONG_M, A_T, LOAD_B_ALONG_N, B_N)
GEMM_KERNEL(gemm_tt, LOAD_A_ALONG_M, A_T, LOAD_B_ALONG_K, B_T)
GEMM_SPLIT_KERNEL(gemm_split_nn, LOAD_A_ALONG_K, A_N, LOAD_B_ALONG_N, B_N)
GEMM_SPLIT_KERNEL(gemm_split_nt, LOAD_A_ALONG_K, A_N, LOAD_B_ALONG_K, B_T)
GEMM_SPLIT_KERNEL(gemm_split_tn, LOAD_A_ALONG_M, A_T, LOAD_B_ALONG_N, B_N)
GEMM_SPLIT_KERNEL(gemm_split_tt, LOAD_A_ALONG_M, A_T, LOAD_B_ALONG_K, B_T)

// The direct products (gemm_direct_nn, _nt, _tn, _tt; CLBlast's
// XgemmDirect is the model): for the products small in N or K
// (kernels.Direct, DIRECT), where a TSM×TSN tile would be mostly padding
// and leave most of the device idle. One work-item per element of C,
// op(A) and op(B) read in place through the index macros (the caches serve
// the reuse; no local memory, no barrier), in work-groups of WGD×WGD.
// Global (ceil(N/WGD)·WGD, ceil(M/WGD)·WGD). Each sum runs over k in order
// in one fused multiply-add chain: the same bits on every run.
#ifndef WGD
#define WGD 8
#endif
#define GEMM_DIRECT_KERNEL(NAME, AT, BT)                                                          \
__kernel __attribute__((reqd_work_group_size(WGD, WGD, 1))) void NAME(GEMM_ARGS) {               \
    GEMM_LANE                                                                                     \
    const int j = get_global_id(0), i = get_global_id(1);                                         \
    if (i >= M || j >= N) return;                                                                 \
    float acc = 0.0f;                                                                             \
    for (int k = 0; k < K; k++) acc = fma(AT(i, k), BT(k, j), acc);                               \
    const long o = (long)i * N + j;                                                               \
    EPILOGUE(acc, o, j)                                                                           \
}

GEMM_DIRECT_KERNEL(gemm_direct_nn, A_N, B_N)
GEMM_DIRECT_KERNEL(gemm_direct_nt, A_N, B_T)
GEMM_DIRECT_KERNEL(gemm_direct_tn, A_T, B_N)
GEMM_DIRECT_KERNEL(gemm_direct_tt, A_T, B_T)

// gemm_split_finish carries the epilogue, the dropout included.
__kernel __attribute__((reqd_work_group_size(WGD, WGD, 1)))
void gemm_split_finish(const int M, const int N, const int slices, const float alpha, BUF(const float* restrict, P),
                       const float beta, BUF(float* restrict, C), BUF(const float* restrict, bias), const int act,
                       DROP_ARGS) {
    LANE_PTR(P); LANE_PTR(C); LANE_PTR_OPT(bias);
    const int j = get_global_id(0), i = get_global_id(1);
    if (i >= M || j >= N) return;
    const long o = (long)i * N + j, mn = (long)M * N;
    float r = P[o];
    for (int s = 1; s < slices; s++) r += P[s * mn + o];
    EPILOGUE(r, o, j)
}

#endif // GEMM_CPU

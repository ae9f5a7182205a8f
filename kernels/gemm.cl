// gemm.cl: C = alpha·op(A)·op(B) + beta·C, row-major, any M, N, K ≥ 1.
//
//   gemm_nn  op(A) = A (M×K),  op(B) = B (K×N)
//   gemm_nt  op(A) = A (M×K),  op(B) = Bᵀ, B is N×K
//   gemm_tn  op(A) = Aᵀ, A is K×M,  op(B) = B (K×N)
//   gemm_tt  op(A) = Aᵀ, A is K×M,  op(B) = Bᵀ, B is N×K
//
// Tiling: a work-group computes a TSM×TSN tile of C, staging TSK-deep slices
// of op(A) and op(B) through local memory; each work-item accumulates a
// WPTM×WPTN register block, its rows and columns strided by the work-group's
// extent so that neighbouring items touch neighbouring local-memory words.
// Work-group: (TSN/WPTN, TSM/WPTM); global: (ceil(N/TSN)·TSN/WPTN,
// ceil(M/TSM)·TSM/WPTM). Edge tiles load zeros outside the matrices and store
// only inside, so no size needs to be a multiple of a tile. With beta == 0, C
// is never read (it may hold NaN).
//
// Two variants, chosen with -DGEMM_CPU=0|1:
//
// GEMM_CPU=0 (GPUs) — Tiling: a work-group computes a TSM×TSN tile of C, staging TSK-deep slices
// of op(A) and op(B) through local memory; each work-item accumulates a
// WPTM×WPTN register block, its rows and columns strided by the work-group's
// extent so that neighbouring items touch neighbouring local-memory words.
// Work-group: (TSN/WPTN, TSM/WPTM); global: (ceil(N/TSN)·TSN/WPTN,
// ceil(M/TSM)·TSM/WPTM). Edge tiles load zeros outside the matrices and store
// only inside, so no size needs to be a multiple of a tile. With beta == 0, C
// is never read (it may hold NaN). Tuning (-D): TSM, TSN, TSK, WPTM, WPTN;
// TSK·TSM and TSK·TSN should be multiples of the work-group size.
//
// GEMM_CPU=1 (CPU devices such as PoCL) — no local memory and no barriers:
// each work-item (work-group size 1×1) owns an MR×NR block of C held in
// MR·NR/8 float8 registers, broadcasting op(A)[i,k] and loading op(B)[k,j:j+8]
// with vload8 (contiguous unless B is transposed), the register-blocking of
// BLIS/OpenBLAS micro-kernels without their packing. Global: (ceil(N/NR),
// ceil(M/MR)). Blocks that stick out of C take a guarded scalar path. Tuning
// (-D): MR (1..8), NR (8 or 16).
//
// Twin: device/cpu (gonum's Sgemm).


#ifndef GEMM_CPU
#define GEMM_CPU 0
#endif

// op(A)[i,k] and op(B)[k,j] for each transpose form.
#define A_N(i, k) A[(long)(i) * K + (k)]
#define A_T(i, k) A[(long)(k) * M + (i)]
#define B_N(k, j) B[(long)(k) * N + (j)]
#define B_T(k, j) B[(long)(j) * K + (k)]

#if GEMM_CPU

#ifndef MR
#define MR 6
#endif
#ifndef NR
#define NR 16
#endif
#define NV (NR / 8)

// 8 consecutive elements of row k of op(B), from column j.
#define BROW_N(k, j) vload8(0, B + (long)(k) * N + (j))
#define BROW_T(k, j) (float8)(B_T(k, j), B_T(k, j + 1), B_T(k, j + 2), B_T(k, j + 3), \
                              B_T(k, j + 4), B_T(k, j + 5), B_T(k, j + 6), B_T(k, j + 7))

#define GEMM_CPU_KERNEL(NAME, AT, BT, BROW)                                                       \
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))                                           \
void NAME(const int M, const int N, const int K, const float alpha, __global const float* A,     \
          __global const float* B, const float beta, __global float* C) {                         \
    const int j0 = get_global_id(0) * NR, i0 = get_global_id(1) * MR;                             \
    if (i0 + MR <= M && j0 + NR <= N) {                                                           \
        float8 acc[MR][NV];                                                                       \
        for (int a = 0; a < MR; a++)                                                              \
            for (int v = 0; v < NV; v++) acc[a][v] = (float8)(0.0f);                              \
        for (int k = 0; k < K; k++) {                                                             \
            float8 b[NV];                                                                         \
            for (int v = 0; v < NV; v++) b[v] = BROW(k, j0 + 8 * v);                              \
            for (int a = 0; a < MR; a++) {                                                        \
                const float8 av = (float8)(AT(i0 + a, k));                                        \
                for (int v = 0; v < NV; v++) acc[a][v] = fma(av, b[v], acc[a][v]);                \
            }                                                                                     \
        }                                                                                         \
        for (int a = 0; a < MR; a++) {                                                            \
            __global float* c = C + (long)(i0 + a) * N + j0;                                      \
            for (int v = 0; v < NV; v++) {                                                        \
                float8 r = alpha * acc[a][v];                                                     \
                if (beta != 0.0f) r += beta * vload8(v, c);                                       \
                vstore8(r, v, c);                                                                 \
            }                                                                                     \
        }                                                                                         \
        return;                                                                                   \
    }                                                                                             \
    /* An edge block: scalar, every index checked. */                                             \
    for (int a = 0; a < MR; a++) {                                                                \
        const int i = i0 + a;                                                                     \
        if (i >= M) break;                                                                        \
        for (int jj = 0; jj < NR; jj++) {                                                         \
            const int j = j0 + jj;                                                                \
            if (j >= N) break;                                                                    \
            float s = 0.0f;                                                                       \
            for (int k = 0; k < K; k++) s = fma(AT(i, k), BT(k, j), s);                           \
            const long o = (long)i * N + j;                                                       \
            C[o] = beta == 0.0f ? alpha * s : alpha * s + beta * C[o];                            \
        }                                                                                         \
    }                                                                                             \
}

GEMM_CPU_KERNEL(gemm_nn, A_N, B_N, BROW_N)
GEMM_CPU_KERNEL(gemm_nt, A_N, B_T, BROW_T)
GEMM_CPU_KERNEL(gemm_tn, A_T, B_N, BROW_N)
GEMM_CPU_KERNEL(gemm_tt, A_T, B_T, BROW_T)

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
#define RTSM (TSM / WPTM)
#define RTSN (TSN / WPTN)
#define WGSIZE (RTSM * RTSN)


// Load order: walk the dimension that is contiguous in memory fastest, so
// neighbouring work-items read neighbouring addresses.
#define LOAD_A_ALONG_K(AT)                                                   \
    for (int e = tid; e < TSM * TSK; e += WGSIZE) {                          \
        const int kk = e % TSK, ii = e / TSK;                                \
        const int gi = m0 + ii, gk = k0 + kk;                                \
        As[kk][ii] = (gi < M && gk < K) ? AT(gi, gk) : 0.0f;                 \
    }
#define LOAD_A_ALONG_M(AT)                                                   \
    for (int e = tid; e < TSM * TSK; e += WGSIZE) {                          \
        const int ii = e % TSM, kk = e / TSM;                                \
        const int gi = m0 + ii, gk = k0 + kk;                                \
        As[kk][ii] = (gi < M && gk < K) ? AT(gi, gk) : 0.0f;                 \
    }
#define LOAD_B_ALONG_N(BT)                                                   \
    for (int e = tid; e < TSN * TSK; e += WGSIZE) {                          \
        const int jj = e % TSN, kk = e / TSN;                                \
        const int gj = n0 + jj, gk = k0 + kk;                                \
        Bs[kk][jj] = (gj < N && gk < K) ? BT(gk, gj) : 0.0f;                 \
    }
#define LOAD_B_ALONG_K(BT)                                                   \
    for (int e = tid; e < TSN * TSK; e += WGSIZE) {                          \
        const int kk = e % TSK, jj = e / TSK;                                \
        const int gj = n0 + jj, gk = k0 + kk;                                \
        Bs[kk][jj] = (gj < N && gk < K) ? BT(gk, gj) : 0.0f;                 \
    }

#define GEMM_KERNEL(NAME, LOAD_A, LOAD_B)                                                         \
__kernel __attribute__((reqd_work_group_size(RTSN, RTSM, 1)))                                     \
void NAME(const int M, const int N, const int K, const float alpha, __global const float* A,     \
          __global const float* B, const float beta, __global float* C) {                         \
    __local float As[TSK][TSM];                                                                   \
    __local float Bs[TSK][TSN + 1];                                                               \
    const int tn = get_local_id(0), tm = get_local_id(1);                                         \
    const int tid = tm * RTSN + tn;                                                               \
    const int n0 = get_group_id(0) * TSN, m0 = get_group_id(1) * TSM;                             \
    float acc[WPTM][WPTN];                                                                        \
    for (int a = 0; a < WPTM; a++)                                                                \
        for (int b = 0; b < WPTN; b++) acc[a][b] = 0.0f;                                          \
    for (int k0 = 0; k0 < K; k0 += TSK) {                                                         \
        LOAD_A                                                                                    \
        LOAD_B                                                                                    \
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
    }                                                                                             \
    for (int a = 0; a < WPTM; a++) {                                                              \
        const int i = m0 + tm + a * RTSM;                                                         \
        if (i >= M) continue;                                                                     \
        for (int b = 0; b < WPTN; b++) {                                                          \
            const int j = n0 + tn + b * RTSN;                                                     \
            if (j >= N) continue;                                                                 \
            const long o = (long)i * N + j;                                                       \
            C[o] = beta == 0.0f ? alpha * acc[a][b] : alpha * acc[a][b] + beta * C[o];            \
        }                                                                                         \
    }                                                                                             \
}

GEMM_KERNEL(gemm_nn, LOAD_A_ALONG_K(A_N), LOAD_B_ALONG_N(B_N))
GEMM_KERNEL(gemm_nt, LOAD_A_ALONG_K(A_N), LOAD_B_ALONG_K(B_T))
GEMM_KERNEL(gemm_tn, LOAD_A_ALONG_M(A_T), LOAD_B_ALONG_N(B_N))
GEMM_KERNEL(gemm_tt, LOAD_A_ALONG_M(A_T), LOAD_B_ALONG_K(B_T))

#endif // GEMM_CPU

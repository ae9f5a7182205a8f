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
// BLIS/OpenBLAS micro-kernels without their packing. NR is 16 (two float8);
// global: (ceil(N/NR), ceil(M/MR)). A block of rows past M reuses row M−1 and
// skips its stores; the last block of columns, past N, reads zeros there and
// stores only inside.
// Tuning (-D): MR (1..8; 6 keeps 12 accumulators and 2 B vectors within
// AVX2's 16 registers). gemm_nt has a kernel of its own (below).
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
#if MR < 1 || MR > 8
#error "MR must be 1..8"
#endif
#define NR 16

// 8 consecutive elements of row k of op(B), from column j: a vector load when
// B is not transposed, a gather when it is; EDGE variants read only columns
// below N (zeros beyond), for the last, partial block of columns.
#define BROW_N(k, j) vload8(0, B + (long)(k) * N + (j))
#define BROW_T(k, j) (float8)(B_T(k, j), B_T(k, j + 1), B_T(k, j + 2), B_T(k, j + 3), \
                              B_T(k, j + 4), B_T(k, j + 5), B_T(k, j + 6), B_T(k, j + 7))
#define BE(BT, k, j) ((j) < N ? BT(k, j) : 0.0f)
#define BROW_EDGE(BT, k, j) (float8)(BE(BT, k, j), BE(BT, k, j + 1), BE(BT, k, j + 2), BE(BT, k, j + 3), \
                                     BE(BT, k, j + 4), BE(BT, k, j + 5), BE(BT, k, j + 6), BE(BT, k, j + 7))
#define BROW_EDGE_N(k, j) ((j) + 8 <= N ? BROW_N(k, j) : BROW_EDGE(B_N, k, j))
#define BROW_EDGE_T(k, j) BROW_EDGE(B_T, k, j)

// Row a of the register block: its two float8 accumulators, the update with
// op(A)[ia,k] broadcast, and the store of valid rows. Rows past M read row
// M−1 (valid memory) and are not stored, so short blocks of rows keep the
// vector path. Written out per row so the compiler keeps every accumulator
// in a register (an array indexed in a loop was spilled, at a third of the speed).
#define ROW_DECL(a) float8 c##a##0 = (float8)(0.0f), c##a##1 = (float8)(0.0f); \
    const int ia##a = min(i0 + a, M - 1);
#define ROW_FMA(a, AT) { const float8 av = (float8)(AT(ia##a, k)); \
    c##a##0 = fma(av, b0, c##a##0); c##a##1 = fma(av, b1, c##a##1); }
#define ROW_STORE(a) if (i0 + a < M) { __global float* c = C + (long)(i0 + a) * N + j0;          \
    float8 r0 = alpha * c##a##0, r1 = alpha * c##a##1;                                          \
    if (beta != 0.0f) { r0 += beta * vload8(0, c); r1 += beta * vload8(1, c); }                 \
    vstore8(r0, 0, c); vstore8(r1, 1, c); }
#define ROW_STORE_EDGE(a) if (i0 + a < M) { __global float* c = C + (long)(i0 + a) * N;          \
    float r[NR]; vstore8(alpha * c##a##0, 0, r); vstore8(alpha * c##a##1, 1, r);                \
    for (int jj = 0; jj < NR && j0 + jj < N; jj++)                                              \
        c[j0 + jj] = beta == 0.0f ? r[jj] : r[jj] + beta * c[j0 + jj]; }

#if MR > 1
#define IF1(x) x
#else
#define IF1(x)
#endif
#if MR > 2
#define IF2(x) x
#else
#define IF2(x)
#endif
#if MR > 3
#define IF3(x) x
#else
#define IF3(x)
#endif
#if MR > 4
#define IF4(x) x
#else
#define IF4(x)
#endif
#if MR > 5
#define IF5(x) x
#else
#define IF5(x)
#endif
#if MR > 6
#define IF6(x) x
#else
#define IF6(x)
#endif
#if MR > 7
#define IF7(x) x
#else
#define IF7(x)
#endif
#define ALL_ROWS(M1, ...) M1(0 __VA_ARGS__) IF1(M1(1 __VA_ARGS__)) IF2(M1(2 __VA_ARGS__)) IF3(M1(3 __VA_ARGS__)) \
    IF4(M1(4 __VA_ARGS__)) IF5(M1(5 __VA_ARGS__)) IF6(M1(6 __VA_ARGS__)) IF7(M1(7 __VA_ARGS__))

// The register-blocked product of one MR×NR block, its B rows read by BROW
// and its rows stored by STORE.
#define GEMM_BLOCK(AT, BROW, STORE)                                                               \
    {                                                                                             \
        ALL_ROWS(ROW_DECL)                                                                        \
        for (int k = 0; k < K; k++) {                                                             \
            const float8 b0 = BROW(k, j0), b1 = BROW(k, j0 + 8);                                  \
            ALL_ROWS(ROW_FMA, , AT)                                                               \
        }                                                                                         \
        ALL_ROWS(STORE)                                                                           \
    }

#define GEMM_CPU_KERNEL(NAME, AT, BROW, BROW_EDGE)                                                \
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))                                           \
void NAME(const int M, const int N, const int K, const float alpha, __global const float* restrict A, \
          __global const float* restrict B, const float beta, __global float* restrict C) {       \
    const int j0 = get_global_id(0) * NR, i0 = get_global_id(1) * MR;                             \
    if (i0 >= M || j0 >= N) return;                                                               \
    if (j0 + NR <= N)                                                                             \
        GEMM_BLOCK(AT, BROW, ROW_STORE)                                                           \
    else                                                                                          \
        GEMM_BLOCK(AT, BROW_EDGE, ROW_STORE_EDGE)                                                 \
}

GEMM_CPU_KERNEL(gemm_nn, A_N, BROW_N, BROW_EDGE_N)
GEMM_CPU_KERNEL(gemm_tn, A_T, BROW_N, BROW_EDGE_N)
GEMM_CPU_KERNEL(gemm_tt, A_T, BROW_T, BROW_EDGE_T)
// For short K (the output layer's 10 classes) the dot products below would
// spend most of their time in the scalar tail; broadcasting A and gathering
// B's columns is faster there.
GEMM_CPU_KERNEL(gemm_nt_bcast, A_N, BROW_T, BROW_EDGE_T)

// gemm_nt on CPUs: both operands are contiguous along k (C[i,j] = Σ_k A[i,k]·B[j,k]),
// so the vectors run along k instead: a 3×4 block of float8 partial dot
// products (12 accumulators, 3 A vectors and 1 B vector: AVX2's 16 registers),
// summed across lanes at the end, with a scalar loop for the last K mod 8.
// Global: (ceil(N/4), ceil(M/3)); rows and columns past the edge read the
// last valid one and are not stored.
#define NT_MR 3
#define NT_NR 4
#define NT_ACC(a, b) float8 s##a##b = (float8)(0.0f);
#define NT_DOT(a, b) s##a##b = fma(a##a, bv, s##a##b);
#define NT_TAIL(a, b) t##a##b = fma(A[ra##a + k], B[rb##b + k], t##a##b);
#define HSUM(v) ((v).s0 + (v).s1 + (v).s2 + (v).s3 + (v).s4 + (v).s5 + (v).s6 + (v).s7)
#define NT_STORE(a, b) if (i0 + a < M && j0 + b < N) {                                   \
        const float r = alpha * (HSUM(s##a##b) + t##a##b);                              \
        const long o = (long)(i0 + a) * N + j0 + b;                                     \
        C[o] = beta == 0.0f ? r : r + beta * C[o]; }
#define NT_COLS(M1, a) M1(a, 0) M1(a, 1) M1(a, 2) M1(a, 3)
#define NT_ALL(M1) NT_COLS(M1, 0) NT_COLS(M1, 1) NT_COLS(M1, 2)

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void gemm_nt(const int M, const int N, const int K, const float alpha, __global const float* restrict A,
             __global const float* restrict B, const float beta, __global float* restrict C) {
    const int j0 = get_global_id(0) * NT_NR, i0 = get_global_id(1) * NT_MR;
    if (i0 >= M || j0 >= N) return;
    const long ra0 = (long)min(i0, M - 1) * K, ra1 = (long)min(i0 + 1, M - 1) * K, ra2 = (long)min(i0 + 2, M - 1) * K;
    const long rb0 = (long)min(j0, N - 1) * K, rb1 = (long)min(j0 + 1, N - 1) * K;
    const long rb2 = (long)min(j0 + 2, N - 1) * K, rb3 = (long)min(j0 + 3, N - 1) * K;
    NT_ALL(NT_ACC)
    const int k8 = K & ~7;
    for (int k = 0; k < k8; k += 8) {
        const float8 a0 = vload8(0, A + ra0 + k), a1 = vload8(0, A + ra1 + k), a2 = vload8(0, A + ra2 + k);
        float8 bv;
        bv = vload8(0, B + rb0 + k); s00 = fma(a0, bv, s00); s10 = fma(a1, bv, s10); s20 = fma(a2, bv, s20);
        bv = vload8(0, B + rb1 + k); s01 = fma(a0, bv, s01); s11 = fma(a1, bv, s11); s21 = fma(a2, bv, s21);
        bv = vload8(0, B + rb2 + k); s02 = fma(a0, bv, s02); s12 = fma(a1, bv, s12); s22 = fma(a2, bv, s22);
        bv = vload8(0, B + rb3 + k); s03 = fma(a0, bv, s03); s13 = fma(a1, bv, s13); s23 = fma(a2, bv, s23);
    }
    float t00 = 0.0f, t01 = 0.0f, t02 = 0.0f, t03 = 0.0f, t10 = 0.0f, t11 = 0.0f, t12 = 0.0f, t13 = 0.0f,
          t20 = 0.0f, t21 = 0.0f, t22 = 0.0f, t23 = 0.0f;
    for (int k = k8; k < K; k++) {
        NT_ALL(NT_TAIL)
    }
    NT_ALL(NT_STORE)
}


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
GEMM_KERNEL(gemm_nt_bcast, LOAD_A_ALONG_K(A_N), LOAD_B_ALONG_K(B_T)) // the same: the host picks it for short K on CPUs only
GEMM_KERNEL(gemm_tn, LOAD_A_ALONG_M(A_T), LOAD_B_ALONG_N(B_N))
GEMM_KERNEL(gemm_tt, LOAD_A_ALONG_M(A_T), LOAD_B_ALONG_K(B_T))

#endif // GEMM_CPU

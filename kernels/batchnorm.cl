// batchnorm.cl: batch normalization over the rows of a (rows, cols) matrix.
//
//   bn_train     batch mean and biased variance per column (sums of the data
//                shifted by the column's first value), y = γ·x̂ + β,
//                saves mean and 1/√(var+ε), updates the moving statistics:
//                mov −= (mov − batch)·decay, decay = 1 − momentum from the host,
//                flushed to 0 below the smallest normal float (a dead unit's
//                statistics decay geometrically towards 0)
//   bn_infer     y = γ·(x − moving_mean)/√(moving_var + ε) + β
//   bn_backward  dβ = Σ_r dy, dγ = Σ_r dy·x̂, dx = γ·invstd/B·(B·dy − dβ − x̂·dγ);
//                with dbias (not NULL), x is a ReLU's output and its backward
//                pass follows: dx = 0 where x ≤ 0, dbias = Σ_r dx in the
//                order relu_backward_colsum sums (elementwise.cl), so the
//                one launch gives the bits of the two
//
// bn_train and bn_backward, ROW_SLICES 1: VEC columns per work-item (global ≥
// ceil(cols/VEC)), looping over the rows in order: adjacent work-items read
// adjacent columns (coalesced), and every sum runs in a fixed order
// (deterministic). The last, partial group of columns takes the same code
// with VEC = 1 (scalar). ROW_SLICES above 1: a column's rows shared by a
// work-group's slices (common.cl), launched as the column reductions of
// elementwise.cl. bn_infer:
// one work-item per element, global (cols, rows). Any rows ≥ 1, any cols.
// Every kernel runs over the lanes in grid dimension 2 (lanes.cl).
// Twin: device/cpu.

// One group of columns of bn_train: T is float or floatv, LD/ST load and store it.
// The sums run over x − k, k the column's first value (shifted data): a
// column whose mean is far from 0 relative to its spread sums values of the
// size of the spread, so the float sums lose no digits to the mean (a plain
// Σx of a column whose mean is 30 spreads gave y relative errors of 1.7e-5,
// above device.Tolerance). The mean is
// k + mk, rounded once; y uses the centred d = (x − k) − mk directly.
#define BN_TRAIN(T, LD, ST, c)                                                    \
    {                                                                             \
        const T k = LD(x + (c));                                                  \
        T s = 0.0f;                                                               \
        for (int r = 0; r < rows; r++) s += LD(x + (long)r * cols + (c)) - k;     \
        const T mk = s / (float)rows;                                             \
        T ss = 0.0f;                                                              \
        for (int r = 0; r < rows; r++) {                                          \
            const T d = (LD(x + (long)r * cols + (c)) - k) - mk;                  \
            ss += d * d;                                                          \
        }                                                                         \
        const T m = k + mk;                                                       \
        const T v = ss / (float)rows;                                             \
        const T is = 1.0f / sqrt(v + eps);                                        \
        ST(m, mean + (c));                                                        \
        ST(is, invstd + (c));                                                     \
        const T g = LD(gamma + (c)), b = LD(beta + (c));                          \
        for (int r = 0; r < rows; r++) {                                          \
            const long i = (long)r * cols + (c);                                  \
            ST(g * ((LD(x + i) - k) - mk) * is + b, y + i);                       \
        }                                                                         \
        ST(FLUSH(LD(mov_mean + (c)) - (LD(mov_mean + (c)) - m) * decay), mov_mean + (c)); \
        ST(FLUSH(LD(mov_var + (c)) - (LD(mov_var + (c)) - v) * decay), mov_var + (c));   \
    }

#define SLOAD(p) (*(p))
#define SSTORE(v, p) (*(p) = (v))

// bn_train and bn_backward with ROW_SLICES above 1 share a column's rows
// among ROW_SLICES items (common.cl; the launch of the column reductions in
// elementwise.cl): the arithmetic of BN_TRAIN and BN_BACKWARD, each sum
// split into the slices' partial sums (rows s, s+ROW_SLICES, … in order)
// added by slice_sum.
__kernel SLICED void bn_train(BUF(float*, y), BUF(const float*, x), BUF(const float*, gamma),
                              BUF(const float*, beta), BUF(float*, mean), BUF(float*, invstd),
                              BUF(float*, mov_mean), BUF(float*, mov_var), const int rows, const int cols,
                              const float eps, const float decay) {
    LANE_PTR(y);
    LANE_PTR(x);
    LANE_PTR(gamma);
    LANE_PTR(beta);
    LANE_PTR(mean);
    LANE_PTR(invstd);
    LANE_PTR(mov_mean);
    LANE_PTR(mov_var);
#if ROW_SLICES > 1
    __local float part[COL_TILE * ROW_SLICES];
    const int c = get_global_id(0), s0 = get_local_id(1);
    const bool in = c < cols;
    const float k = in ? x[c] : 0.0f;
    float s = 0.0f;
    if (in)
        for (int r = s0; r < rows; r += ROW_SLICES) s += x[(long)r * cols + c] - k;
    const float mk = slice_sum(part, s) / (float)rows;
    float ss = 0.0f;
    if (in)
        for (int r = s0; r < rows; r += ROW_SLICES) {
            const float d = (x[(long)r * cols + c] - k) - mk;
            ss += d * d;
        }
    const float v = slice_sum(part, ss) / (float)rows;
    if (!in) return; // past the barriers
    const float m = k + mk;
    const float is = 1.0f / sqrt(v + eps);
    const float g = gamma[c], b = beta[c];
    for (int r = s0; r < rows; r += ROW_SLICES) {
        const long i = (long)r * cols + c;
        y[i] = g * ((x[i] - k) - mk) * is + b;
    }
    if (s0 != 0) return;
    mean[c] = m;
    invstd[c] = is;
    mov_mean[c] = FLUSH(mov_mean[c] - (mov_mean[c] - m) * decay);
    mov_var[c] = FLUSH(mov_var[c] - (mov_var[c] - v) * decay);
#else
    const int c0 = get_global_id(0) * VEC;
    if (c0 + VEC <= cols) {
        BN_TRAIN(floatv, VLOAD, VSTORE, c0)
        return;
    }
    for (int c = c0; c < cols; c++) BN_TRAIN(float, SLOAD, SSTORE, c)
#endif
}

__kernel void bn_infer(BUF(float*, y), BUF(const float*, x), BUF(const float*, gamma),
                       BUF(const float*, beta), BUF(const float*, mov_mean), BUF(const float*, mov_var),
                       const int rows, const int cols, const float eps) {
    LANE_PTR(y);
    LANE_PTR(x);
    LANE_PTR(gamma);
    LANE_PTR(beta);
    LANE_PTR(mov_mean);
    LANE_PTR(mov_var);
    const int c = get_global_id(0), r = get_global_id(1);
    if (c >= cols || r >= rows) return;
    const long i = (long)r * cols + c;
    y[i] = gamma[c] * (x[i] - mov_mean[c]) / sqrt(mov_var[c] + eps) + beta[c];
}

// RELU_KEPT(T, v, xv): v where the ReLU's output xv is above 0, else +0
// (relu_backward_colsum's mask, for float and floatv alike).
#define RELU_KEPT(T, v, xv) select((T)(0.0f), (v), (xv) > 0.0f)

#define BN_BACKWARD(T, LD, ST, c)                                                  \
    {                                                                             \
        const T m = LD(mean + (c)), is = LD(invstd + (c));                        \
        T sb = 0.0f, sg = 0.0f;                                                   \
        for (int r = 0; r < rows; r++) {                                          \
            const long i = (long)r * cols + (c);                                  \
            sb += LD(dy + i);                                                     \
            sg += LD(dy + i) * (LD(x + i) - m) * is;                              \
        }                                                                         \
        ST(sb, dbeta + (c));                                                      \
        ST(sg, dgamma + (c));                                                     \
        const float n = (float)rows;                                              \
        const T k = LD(gamma + (c)) * is / n;                                     \
        T sz = 0.0f;                                                              \
        for (int r = 0; r < rows; r++) {                                          \
            const long i = (long)r * cols + (c);                                  \
            const T xh = (LD(x + i) - m) * is;                                    \
            T v = k * (n * LD(dy + i) - sb - xh * sg);                            \
            if (dbias) {                                                          \
                v = RELU_KEPT(T, v, LD(x + i));                                   \
                sz += v;                                                          \
            }                                                                     \
            ST(v, dx + i);                                                        \
        }                                                                         \
        if (dbias) ST(sz, dbias + (c));                                           \
    }

__kernel SLICED void bn_backward(BUF(float*, dx), BUF(const float*, dy), BUF(const float*, x),
                                 BUF(const float*, gamma), BUF(const float*, mean), BUF(const float*, invstd),
                                 BUF(float*, dgamma), BUF(float*, dbeta), BUF(float*, dbias), const int rows,
                                 const int cols) {
    LANE_PTR(dx);
    LANE_PTR(dy);
    LANE_PTR(x);
    LANE_PTR(gamma);
    LANE_PTR(mean);
    LANE_PTR(invstd);
    LANE_PTR(dgamma);
    LANE_PTR(dbeta);
    LANE_PTR_OPT(dbias);
#if ROW_SLICES > 1
    __local float part[COL_TILE * ROW_SLICES];
    const int c = get_global_id(0), s0 = get_local_id(1);
    const bool in = c < cols;
    const float m = in ? mean[c] : 0.0f, is = in ? invstd[c] : 0.0f;
    float sb = 0.0f, sg = 0.0f;
    if (in)
        for (int r = s0; r < rows; r += ROW_SLICES) {
            const long i = (long)r * cols + c;
            sb += dy[i];
            sg += dy[i] * (x[i] - m) * is;
        }
    sb = slice_sum(part, sb);
    sg = slice_sum(part, sg);
    if (in && s0 == 0) {
        dbeta[c] = sb;
        dgamma[c] = sg;
    }
    const float n = (float)rows;
    const float k = in ? gamma[c] * is / n : 0.0f;
    float sz = 0.0f;
    if (in)
        for (int r = s0; r < rows; r += ROW_SLICES) {
            const long i = (long)r * cols + c;
            const float xh = (x[i] - m) * is;
            float v = k * (n * dy[i] - sb - xh * sg);
            if (dbias) {
                v = RELU_KEPT(float, v, x[i]);
                sz += v;
            }
            dx[i] = v;
        }
    sz = slice_sum(part, sz); // every item reaches the barriers, dbias or not
    if (dbias && in && s0 == 0) dbias[c] = sz;
#else
    const int c0 = get_global_id(0) * VEC;
    if (c0 + VEC <= cols) {
        BN_BACKWARD(floatv, VLOAD, VSTORE, c0)
        return;
    }
    for (int c = c0; c < cols; c++) BN_BACKWARD(float, SLOAD, SSTORE, c)
#endif
}

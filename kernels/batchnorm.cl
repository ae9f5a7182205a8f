// batchnorm.cl: batch normalization over the rows of a (rows, cols) matrix.
//
//   bn_train     batch mean and biased variance per column (sums of the data
//                shifted by the column's first value), y = γ·x̂ + β,
//                saves mean and 1/√(var+ε), updates the moving statistics:
//                mov −= (mov − batch)·decay, decay = 1 − momentum from the host,
//                flushed to 0 below the smallest normal float (a dead unit's
//                statistics decay geometrically towards 0)
//   bn_infer     y = γ·(x − moving_mean)/√(moving_var + ε) + β
//   bn_backward  dβ = Σ_r dy, dγ = Σ_r dy·x̂, dx = γ·invstd/B·(B·dy − dβ − x̂·dγ)
//
// bn_train and bn_backward: VEC columns per work-item (global ≥ ceil(cols/VEC)),
// looping over the rows in order: adjacent work-items read adjacent columns
// (coalesced), and every sum runs in a fixed order (deterministic). The last,
// partial group of columns takes the same code with VEC = 1 (scalar). bn_infer:
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

__kernel void bn_train(BUF(float*, y), BUF(const float*, x), BUF(const float*, gamma),
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
    const int c0 = get_global_id(0) * VEC;
    if (c0 + VEC <= cols) {
        BN_TRAIN(floatv, VLOAD, VSTORE, c0)
        return;
    }
    for (int c = c0; c < cols; c++) BN_TRAIN(float, SLOAD, SSTORE, c)
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
        for (int r = 0; r < rows; r++) {                                          \
            const long i = (long)r * cols + (c);                                  \
            const T xh = (LD(x + i) - m) * is;                                    \
            ST(k * (n * LD(dy + i) - sb - xh * sg), dx + i);                      \
        }                                                                         \
    }

__kernel void bn_backward(BUF(float*, dx), BUF(const float*, dy), BUF(const float*, x),
                          BUF(const float*, gamma), BUF(const float*, mean), BUF(const float*, invstd),
                          BUF(float*, dgamma), BUF(float*, dbeta), const int rows, const int cols) {
    LANE_PTR(dx);
    LANE_PTR(dy);
    LANE_PTR(x);
    LANE_PTR(gamma);
    LANE_PTR(mean);
    LANE_PTR(invstd);
    LANE_PTR(dgamma);
    LANE_PTR(dbeta);
    const int c0 = get_global_id(0) * VEC;
    if (c0 + VEC <= cols) {
        BN_BACKWARD(floatv, VLOAD, VSTORE, c0)
        return;
    }
    for (int c = c0; c < cols; c++) BN_BACKWARD(float, SLOAD, SSTORE, c)
}

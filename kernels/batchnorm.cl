// batchnorm.cl: batch normalization over the rows of a (rows, cols) matrix.
//
//   bn_train     batch mean and biased variance per column, y = γ·x̂ + β,
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
// Twin: device/cpu.

// One group of columns of bn_train: T is float or floatv, LD/ST load and store it.
#define BN_TRAIN(T, LD, ST, c)                                                    \
    {                                                                             \
        T s = 0.0f;                                                               \
        for (int r = 0; r < rows; r++) s += LD(x + (long)r * cols + (c));         \
        const T m = s / (float)rows;                                              \
        T ss = 0.0f;                                                              \
        for (int r = 0; r < rows; r++) {                                          \
            const T d = LD(x + (long)r * cols + (c)) - m;                         \
            ss += d * d;                                                          \
        }                                                                         \
        const T v = ss / (float)rows;                                             \
        const T is = 1.0f / sqrt(v + eps);                                        \
        ST(m, mean + (c));                                                        \
        ST(is, invstd + (c));                                                     \
        const T g = LD(gamma + (c)), b = LD(beta + (c));                          \
        for (int r = 0; r < rows; r++) {                                          \
            const long i = (long)r * cols + (c);                                  \
            ST(g * (LD(x + i) - m) * is + b, y + i);                              \
        }                                                                         \
        ST(FLUSH(LD(mov_mean + (c)) - (LD(mov_mean + (c)) - m) * decay), mov_mean + (c)); \
        ST(FLUSH(LD(mov_var + (c)) - (LD(mov_var + (c)) - v) * decay), mov_var + (c));   \
    }

#define SLOAD(p) (*(p))
#define SSTORE(v, p) (*(p) = (v))

__kernel void bn_train(__global float* y, __global const float* x, __global const float* gamma,
                       __global const float* beta, __global float* mean, __global float* invstd,
                       __global float* mov_mean, __global float* mov_var, const int rows, const int cols,
                       const float eps, const float decay) {
    const int c0 = get_global_id(0) * VEC;
    if (c0 + VEC <= cols) {
        BN_TRAIN(floatv, VLOAD, VSTORE, c0)
        return;
    }
    for (int c = c0; c < cols; c++) BN_TRAIN(float, SLOAD, SSTORE, c)
}

__kernel void bn_infer(__global float* y, __global const float* x, __global const float* gamma,
                       __global const float* beta, __global const float* mov_mean, __global const float* mov_var,
                       const int rows, const int cols, const float eps) {
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

__kernel void bn_backward(__global float* dx, __global const float* dy, __global const float* x,
                          __global const float* gamma, __global const float* mean, __global const float* invstd,
                          __global float* dgamma, __global float* dbeta, const int rows, const int cols) {
    const int c0 = get_global_id(0) * VEC;
    if (c0 + VEC <= cols) {
        BN_BACKWARD(floatv, VLOAD, VSTORE, c0)
        return;
    }
    for (int c = c0; c < cols; c++) BN_BACKWARD(float, SLOAD, SSTORE, c)
}

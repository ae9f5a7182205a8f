// batchnorm.cl: batch normalization over the rows of a (rows, cols) matrix.
//
//   bn_train     batch mean and biased variance per column, y = γ·x̂ + β,
//                saves mean and 1/√(var+ε), updates the moving statistics
//   bn_infer     y = γ·(x − moving_mean)/√(moving_var + ε) + β
//   bn_backward  dβ = Σ_r dy, dγ = Σ_r dy·x̂, dx = γ·invstd/B·(B·dy − dβ − x̂·dγ)
//
// One work-item per column (global ≥ cols), looping over the rows in order:
// adjacent work-items read adjacent columns (coalesced), and every sum runs in
// a fixed order (deterministic). Any rows ≥ 1, any cols. Twin: device/cpu.

__kernel void bn_train(__global float* y, __global const float* x, __global const float* gamma,
                       __global const float* beta, __global float* mean, __global float* invstd,
                       __global float* mov_mean, __global float* mov_var, const int rows, const int cols,
                       const float eps, const float momentum) {
    const int c = get_global_id(0);
    if (c >= cols) return;
    float s = 0.0f;
    for (int r = 0; r < rows; r++) s += x[(long)r * cols + c];
    const float m = s / (float)rows;
    float ss = 0.0f;
    for (int r = 0; r < rows; r++) {
        const float d = x[(long)r * cols + c] - m;
        ss += d * d;
    }
    const float v = ss / (float)rows;
    const float is = 1.0f / sqrt(v + eps);
    mean[c] = m;
    invstd[c] = is;
    const float g = gamma[c], b = beta[c];
    for (int r = 0; r < rows; r++) {
        const long i = (long)r * cols + c;
        y[i] = g * (x[i] - m) * is + b;
    }
    const float decay = 1.0f - momentum;
    mov_mean[c] -= (mov_mean[c] - m) * decay;
    mov_var[c] -= (mov_var[c] - v) * decay;
}

__kernel void bn_infer(__global float* y, __global const float* x, __global const float* gamma,
                       __global const float* beta, __global const float* mov_mean, __global const float* mov_var,
                       const int rows, const int cols, const float eps) {
    const int c = get_global_id(0), r = get_global_id(1);
    if (c >= cols || r >= rows) return;
    const long i = (long)r * cols + c;
    y[i] = gamma[c] * (x[i] - mov_mean[c]) / sqrt(mov_var[c] + eps) + beta[c];
}

__kernel void bn_backward(__global float* dx, __global const float* dy, __global const float* x,
                          __global const float* gamma, __global const float* mean, __global const float* invstd,
                          __global float* dgamma, __global float* dbeta, const int rows, const int cols) {
    const int c = get_global_id(0);
    if (c >= cols) return;
    const float m = mean[c], is = invstd[c];
    float sb = 0.0f, sg = 0.0f;
    for (int r = 0; r < rows; r++) {
        const long i = (long)r * cols + c;
        sb += dy[i];
        sg += dy[i] * (x[i] - m) * is;
    }
    dbeta[c] = sb;
    dgamma[c] = sg;
    const float n = (float)rows;
    const float k = gamma[c] * is / n;
    for (int r = 0; r < rows; r++) {
        const long i = (long)r * cols + c;
        const float xh = (x[i] - m) * is;
        dx[i] = k * (n * dy[i] - sb - xh * sg);
    }
}

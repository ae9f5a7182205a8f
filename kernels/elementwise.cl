// elementwise.cl: kernels that touch each element once.
//
//   gather_rows   dst[r,c] = lut[src[idx[off+r]*cols + c]]     global ≥ rows·ceil(cols/VEC)
//   bias_act      x[r,c] = drop(act(x[r,c] + bias[c]))         global ≥ ceil(rows·cols/(4·PLANES))
//   dropout_apply x[e] = mask(e)·x[e]·scale                    global ≥ ceil(n/(4·PLANES))
//   relu_backward dx[e] = y[e] > 0 ? dx[e]·scale : 0           global ≥ ceil(n/VEC)
//   col_sum       dst[c] = Σ_r x[r,c] in row order             global ≥ ceil(cols/VEC)
//   relu_backward_colsum  relu_backward, then col_sum of the result   global ≥ ceil(cols/VEC)
//
// Any sizes; every kernel guards its range, so global sizes may be rounded up
// to the work-group size. relu_backward and col_sum take VEC elements
// (columns) per work-item, with a scalar path for the last, partial group.
// Dropout kernels handle 4·PLANES consecutive elements per work-item, PLANES
// Philox blocks drawn at once (device.Dropout: element e uses word e%4 of
// counter e/4; PLANES is VEC/4, at least 1, philox.cl).
// Twin: device/cpu. (Filling a buffer is clEnqueueFillBuffer, no kernel.)

// lut[b] = b/255 in float32, computed on the host, so the division is exact
// and the same on every device.
__kernel void gather_rows(__global float* dst, __global const uchar* src, __global const int* idx,
                          const int off, const int rows, const int cols, __constant float* lut) {
    // VEC columns of one row per work-item: global ≥ rows·ceil(cols/VEC).
    const int per = (cols + VEC - 1) / VEC;
    const int q = get_global_id(0);
    if (q >= rows * per) return;
    const int r = q / per, c0 = (q % per) * VEC;
    __global const uchar* s = src + (long)idx[off + r] * cols;
    __global float* d = dst + (long)r * cols;
    for (int c = c0; c < min(c0 + VEC, cols); c++) d[c] = lut[s[c]];
}

// Dropout is on when thresh > 0 (rate 0 gives threshold 0: keep everything).
// A work-item takes 4·PLANES consecutive elements (PLANES Philox blocks): as
// one vector of VEC = 4·PLANES floats when they lie in one row, else one by one.
__kernel void bias_act(__global float* x, __global const float* bias, const int rows, const int cols,
                       const int relu, const uint thresh, const float scale,
                       const uint seed_lo, const uint seed_hi, const uint step_lo, const uint step_hi,
                       const uint layer) {
    const int q = get_global_id(0);
    const int n = rows * cols;
    const int e0 = q * 4 * PLANES;
    if (e0 >= n) return;
    uint w[4 * PLANES];
    if (thresh != 0) dropout_words(q * PLANES, layer, step_lo, step_hi, seed_lo, seed_hi, w);
    int c = e0 % cols;
#if VEC == 4 * PLANES
    if (e0 + VEC <= n && c + VEC <= cols) {
        floatv v = VLOAD(x + e0) + VLOAD(bias + c);
        if (relu) v = select(v, (floatv)(0.0f), v < 0.0f); // NaN passes through
        if (thresh != 0) v = select((floatv)(0.0f), v * scale, ULOAD(w) >= thresh);
        VSTORE(v, x + e0);
        return;
    }
#endif
    for (int j = 0; j < 4 * PLANES; j++) {
        const int e = e0 + j;
        if (e >= n) break;
        float v = x[e] + bias[c];
        if (relu && v < 0.0f) v = 0.0f; // NaN passes through, so divergence is seen
        if (thresh != 0) v = w[j] >= thresh ? v * scale : 0.0f;
        x[e] = v;
        if (++c == cols) c = 0;
    }
}

__kernel void dropout_apply(__global float* x, const int n, const uint thresh, const float scale,
                            const uint seed_lo, const uint seed_hi, const uint step_lo, const uint step_hi,
                            const uint layer) {
    const int q = get_global_id(0);
    const int e0 = q * 4 * PLANES;
    if (e0 >= n) return;
    uint w[4 * PLANES];
    dropout_words(q * PLANES, layer, step_lo, step_hi, seed_lo, seed_hi, w);
#if VEC == 4 * PLANES
    if (e0 + VEC <= n) {
        VSTORE(select((floatv)(0.0f), VLOAD(x + e0) * scale, ULOAD(w) >= thresh), x + e0);
        return;
    }
#endif
    for (int j = 0; j < 4 * PLANES; j++) {
        const int e = e0 + j;
        if (e >= n) break;
        x[e] = w[j] >= thresh ? x[e] * scale : 0.0f;
    }
}

__kernel void relu_backward(__global float* dx, __global const float* y, const int n, const float scale) {
    const int e = get_global_id(0) * VEC;
    if (e + VEC <= n) {
        const floatv yv = VLOAD(y + e);
        VSTORE(select((floatv)(0.0f), VLOAD(dx + e) * scale, yv > 0.0f), dx + e);
        return;
    }
    for (int i = e; i < n; i++) dx[i] = y[i] > 0.0f ? dx[i] * scale : 0.0f;
}

// relu_backward then col_sum in one pass (a layer's bias gradient), VEC
// columns per work-item like col_sum, the rows summed in order.
__kernel void relu_backward_colsum(__global float* dx, __global const float* y, __global float* dst,
                                   const int rows, const int cols, const float scale) {
    const int c = get_global_id(0) * VEC;
    if (c + VEC <= cols) {
        floatv s = 0.0f;
        for (int r = 0; r < rows; r++) {
            const long i = (long)r * cols + c;
            const floatv v = select((floatv)(0.0f), VLOAD(dx + i) * scale, VLOAD(y + i) > 0.0f);
            VSTORE(v, dx + i);
            s += v;
        }
        VSTORE(s, dst + c);
        return;
    }
    for (int j = c; j < cols; j++) {
        float s = 0.0f;
        for (int r = 0; r < rows; r++) {
            const long i = (long)r * cols + j;
            const float v = y[i] > 0.0f ? dx[i] * scale : 0.0f;
            dx[i] = v;
            s += v;
        }
        dst[j] = s;
    }
}

__kernel void col_sum(__global float* dst, __global const float* x, const int rows, const int cols) {
    const int c = get_global_id(0) * VEC;
    if (c + VEC <= cols) {
        floatv s = 0.0f;
        for (int r = 0; r < rows; r++) s += VLOAD(x + (long)r * cols + c);
        VSTORE(s, dst + c);
        return;
    }
    for (int j = c; j < cols; j++) {
        float s = 0.0f;
        for (int r = 0; r < rows; r++) s += x[(long)r * cols + j];
        dst[j] = s;
    }
}

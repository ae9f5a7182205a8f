// elementwise.cl: kernels that touch each element once.
//
//   gather_rows   dst[r,c] = lut[src[idx[off+r]*cols + c]]     global (cols, rows)
//   bias_act      x[r,c] = drop(act(x[r,c] + bias[c]))         global ≥ ceil(rows·cols/4)
//   dropout_apply x[e] = mask(e)·x[e]·scale                    global ≥ ceil(n/4)
//   relu_backward dx[e] = y[e] > 0 ? dx[e]·scale : 0           global ≥ ceil(n/VEC)
//   col_sum       dst[c] = Σ_r x[r,c] in row order             global ≥ ceil(cols/VEC)
//
// Any sizes; every kernel guards its range, so global sizes may be rounded up
// to the work-group size. relu_backward and col_sum take VEC elements
// (columns) per work-item, with a scalar path for the last, partial group.
// Dropout kernels handle 4 consecutive elements per work-item, one Philox
// call each (device.Dropout: element e uses word e%4 of counter e/4).
// Twin: device/cpu. (Filling a buffer is clEnqueueFillBuffer, no kernel.)

// lut[b] = b/255 in float32, computed on the host, so the division is exact
// and the same on every device.
__kernel void gather_rows(__global float* dst, __global const uchar* src, __global const int* idx,
                          const int off, const int rows, const int cols, __constant float* lut) {
    const int c = get_global_id(0), r = get_global_id(1);
    if (c >= cols || r >= rows) return;
    const long s = (long)idx[off + r] * cols + c;
    dst[(long)r * cols + c] = lut[src[s]];
}

// Dropout is on when thresh > 0 (rate 0 gives threshold 0: keep everything).
__kernel void bias_act(__global float* x, __global const float* bias, const int rows, const int cols,
                       const int relu, const uint thresh, const float scale,
                       const uint seed_lo, const uint seed_hi, const uint step_lo, const uint step_hi,
                       const uint layer) {
    const int q = get_global_id(0);
    const int n = rows * cols;
    const int e0 = q * 4;
    if (e0 >= n) return;
    uint4 bits = (uint4)(0xffffffffu);
    if (thresh != 0) bits = dropout_bits4(q, layer, step_lo, step_hi, seed_lo, seed_hi);
    const uint w[4] = {bits.x, bits.y, bits.z, bits.w};
    for (int j = 0; j < 4; j++) {
        const int e = e0 + j;
        if (e >= n) break;
        float v = x[e] + bias[e % cols];
        if (relu && v < 0.0f) v = 0.0f; // NaN passes through, so divergence is seen
        if (thresh != 0) v = w[j] >= thresh ? v * scale : 0.0f;
        x[e] = v;
    }
}

__kernel void dropout_apply(__global float* x, const int n, const uint thresh, const float scale,
                            const uint seed_lo, const uint seed_hi, const uint step_lo, const uint step_hi,
                            const uint layer) {
    const int q = get_global_id(0);
    const int e0 = q * 4;
    if (e0 >= n) return;
    const uint4 bits = dropout_bits4(q, layer, step_lo, step_hi, seed_lo, seed_hi);
    const uint w[4] = {bits.x, bits.y, bits.z, bits.w};
    for (int j = 0; j < 4; j++) {
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

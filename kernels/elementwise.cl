// elementwise.cl: kernels that touch each element once. Every kernel runs
// over the lanes in grid dimension 2 (lanes.cl); the sizes below are one
// lane's, the global sizes those of dimensions 0 (and 1).
//
//   fill          x[e] = v                                     global ≥ ceil(n/VEC)
//   gather_rows   dst[r,c] = lut[src[idx[off+r]*cols + c]]     global ≥ rows·ceil(cols/VEC)
//   dropout_apply x[e] = keep(e)·x[e]·scale                    global ≥ ceil(n/(4·PLANES))
//   col_sum       dst[c] = Σ_r x[r,c] in row order             global ≥ ceil(cols/VEC)
//   relu_backward_colsum  dx[r,c] = y[r,c] > 0 ? dx[r,c]·s : 0, then col_sum of dx
//                                                              global ≥ ceil(cols/VEC)
//
// Any sizes; every kernel guards its range, so global sizes may be rounded up
// to the work-group size. fill, col_sum and relu_backward_colsum take VEC
// elements (columns) per work-item, with a scalar path for the last, partial
// group; with ROW_SLICES above 1, col_sum and relu_backward_colsum share a
// column's rows among a work-group's items instead (global
// (ceil(cols/COL_TILE)·COL_TILE, ROW_SLICES), common.cl). dropout_apply handles 4·PLANES consecutive elements per work-item,
// PLANES Philox blocks drawn at once (device.Mask: element e uses word e%4
// of counter e/4; PLANES is VEC/4, at least 1, philox.cl), with the lane's
// key, threshold and scale (lane_u, lane_f); a lane whose dropout is off
// (rate 0) is left as it is. The dropout of GemmBiasAct is not launched
// apart: every product's epilogue draws the same words (gemm.cl): keep ?
// v·scale : 0 on the product's result is drop(act(sum + bias)) exactly;
// dropout_apply serves the dropout after a BatchNorm.
// Twin: device/cpu.

__kernel void fill(BUF(float*, x), const int n, const float v) {
    LANE_PTR(x);
    const int e = get_global_id(0) * VEC;
    if (e + VEC <= n) {
        VSTORE((floatv)(v), x + e);
        return;
    }
    for (int i = e; i < n; i++) x[i] = v;
}

// lut[b] = b/255 in float32, computed on the host, so the division is exact
// and the same on every device.
__kernel void gather_rows(BUF(float*, dst), BUF(const uchar*, src), BUF(const int*, idx),
                          const int off, const int rows, const int cols, __constant float* lut) {
    LANE_PTR(dst);
    LANE_PTR(src);
    LANE_PTR(idx);
    // VEC columns of one row per work-item: global ≥ rows·ceil(cols/VEC).
    const int per = (cols + VEC - 1) / VEC;
    const int q = get_global_id(0);
    if (q >= rows * per) return;
    const int r = q / per, c0 = (q % per) * VEC;
    __global const uchar* s = src + (long)idx[off + r] * cols;
    __global float* d = dst + (long)r * cols;
    for (int c = c0; c < min(c0 + VEC, cols); c++) d[c] = lut[s[c]];
}

// A work-item takes 4·PLANES consecutive elements (PLANES Philox blocks): as
// one vector of VEC = 4·PLANES floats when they lie in the range, else one by one.
__kernel void dropout_apply(BUF(float*, x), const int n, __global const uint* lane_u, __global const float* lane_f,
                            const uint step_lo, const uint step_hi, const uint layer) {
    if (!LU(lane_u, LANE_DROP)) return; // the lane's rate is 0: the identity
    LANE_PTR(x);
    const int q = get_global_id(0);
    const int e0 = q * 4 * PLANES;
    if (e0 >= n) return;
    const uint thresh = LU(lane_u, LANE_THRESH);
    const float scale = LF(lane_f, LANE_SCALE);
    uint w[4 * PLANES];
    dropout_words(q * PLANES, layer, step_lo, step_hi, LU(lane_u, LANE_SEED_LO), LU(lane_u, LANE_SEED_HI), w);
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

// The column reductions. ROW_SLICES 1: VEC columns per work-item, the rows
// summed in order. ROW_SLICES above 1: a column's rows shared by ROW_SLICES
// items (common.cl): global (ceil(cols/COL_TILE)·COL_TILE, ROW_SLICES),
// local (COL_TILE, ROW_SLICES); item (t, s) of column c sums the rows s,
// s+ROW_SLICES, … in order, and slice_sum adds the slices.
//
// relu_backward_colsum: ReLU's backward pass (and dropout's, when dropout is
// set: scale is the lane's dropout scale, else 1), then col_sum, in one pass
// (a layer's bias gradient).
__kernel SLICED void relu_backward_colsum(BUF(float*, dx), BUF(const float*, y), BUF(float*, dst),
                                          const int rows, const int cols, __global const float* lane_f,
                                          const int dropout) {
    LANE_PTR(dx);
    LANE_PTR(y);
    LANE_PTR(dst);
    const float scale = dropout ? LF(lane_f, LANE_SCALE) : 1.0f;
#if ROW_SLICES > 1
    __local float part[COL_TILE * ROW_SLICES];
    const int c = get_global_id(0), s0 = get_local_id(1);
    float s = 0.0f;
    if (c < cols) {
        for (int r = s0; r < rows; r += ROW_SLICES) {
            const long i = (long)r * cols + c;
            const float v = y[i] > 0.0f ? dx[i] * scale : 0.0f;
            dx[i] = v;
            s += v;
        }
    }
    s = slice_sum(part, s);
    if (c < cols && s0 == 0) dst[c] = s;
#else
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
#endif
}

__kernel SLICED void col_sum(BUF(float*, dst), BUF(const float*, x), const int rows, const int cols) {
    LANE_PTR(dst);
    LANE_PTR(x);
#if ROW_SLICES > 1
    __local float part[COL_TILE * ROW_SLICES];
    const int c = get_global_id(0), s0 = get_local_id(1);
    float s = 0.0f;
    if (c < cols)
        for (int r = s0; r < rows; r += ROW_SLICES) s += x[(long)r * cols + c];
    s = slice_sum(part, s);
    if (c < cols && s0 == 0) dst[c] = s;
#else
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
#endif
}

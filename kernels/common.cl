// common.cl: definitions shared by every kernel of the ops program. No kernels.
//
// Tuning parameters (declared, with their allowed values, in
// kernels/contract.go, which renders them as -D options; the host computes
// the launch sizes from the same values):
//   WG_REDUCE  work-group size of the single-work-group reductions, a power
//              of two not above the device's maximum work-group size.
//   WG_ELEM    work-group size of the elementwise and column kernels (adam's
//              tree of partial penalty sums is this wide).
//   ROW_SLICES, COL_TILE
//              the column reductions (col_sum, relu_backward_colsum,
//              bn_train, bn_backward): ROW_SLICES 1 gives a work-item whole
//              columns (VEC of them), looping over every row; above 1 (a
//              power of two), a work-group of COL_TILE×ROW_SLICES items
//              takes COL_TILE columns, item (t, s) the rows s, s+ROW_SLICES,
//              …, of column t, and the slices' partial sums are added in a
//              fixed tree (slice_sum): a GPU's many cores share a column.
//   VEC        elements (or columns) per work-item of the elementwise and
//              column kernels: 1 on GPUs (neighbouring work-items touch
//              neighbouring words), the device's vector width on CPUs (one
//              vector register per operation). 1, 4, 8 or 16.

#ifndef WG_REDUCE
#define WG_REDUCE 256
#endif

#ifndef VEC
#define VEC 1
#endif

#ifndef WG_ELEM
#define WG_ELEM 256
#endif

#ifndef ROW_SLICES
#define ROW_SLICES 1
#endif
#ifndef COL_TILE
#define COL_TILE 1
#endif

// floatv is VEC floats; VLOAD/VSTORE move VEC consecutive floats at p.
#if VEC == 16
typedef float16 floatv;
#define VLOAD(p) vload16(0, (p))
#define VSTORE(v, p) vstore16((v), 0, (p))
#elif VEC == 8
typedef float8 floatv;
#define VLOAD(p) vload8(0, (p))
#define VSTORE(v, p) vstore8((v), 0, (p))
#elif VEC == 4
typedef float4 floatv;
#define VLOAD(p) vload4(0, (p))
#define VSTORE(v, p) vstore4((v), 0, (p))
#elif VEC == 1
typedef float floatv;
#define VLOAD(p) (*(p))
#define VSTORE(v, p) (*(p) = (v))
#else
#error "VEC must be 1, 4, 8 or 16"
#endif

// FSUM(v) is the sum of floatv v's lanes, in a fixed order.
#if VEC == 16
#define FSUM(v) (FSUM8((v).lo) + FSUM8((v).hi))
#define FSUM8(v) ((((v).s0 + (v).s1) + ((v).s2 + (v).s3)) + (((v).s4 + (v).s5) + ((v).s6 + (v).s7)))
#elif VEC == 8
#define FSUM(v) ((((v).s0 + (v).s1) + ((v).s2 + (v).s3)) + (((v).s4 + (v).s5) + ((v).s6 + (v).s7)))
#elif VEC == 4
#define FSUM(v) (((v).s0 + (v).s1) + ((v).s2 + (v).s3))
#else
#define FSUM(v) (v)
#endif

// FLUSH(x) is x (float or floatv), or ±0 where |x| is below the smallest
// normal float. A run breeds subnormals in a few places — Adam's weights and
// moments where a gradient stays 0 or an L2 penalty decays a weight, BatchNorm's
// moving statistics of a dead unit, a softmax probability below e⁻⁸⁷ — and
// every later operation on one costs a CPU up to 100 cycles. The kernels
// flush those results; the program is also built with -cl-denorms-are-zero
// where the device accepts it, and this keeps the state clean on a device
// that ignores the option. NaN is kept, so divergence is still seen.
#define FLUSH(x) select((x), 0.0f * (x), fabs(x) < FLT_MIN)

// ACC_LOSS, ACC_CORRECT, ACC_BAD_STEP (the accumulator buffer's slots) and
// MAX_CLASSES come from kernels.Constants, rendered as -D options.
#if !defined(ACC_LOSS) || !defined(ACC_CORRECT) || !defined(ACC_BAD_STEP) || !defined(MAX_CLASSES)
#error "build with the options of kernels/contract.go (ACC_*, MAX_CLASSES)"
#endif

// tree_sum4: the tree reduction of four floats per work-item over a
// work-group of size items (a power of two), lane by lane, in a fixed order
// (deterministic); every item gets the four sums. A reduction of one or two
// floats leaves the other lanes 0: one set of barriers serves up to four
// sums (PoCL pays for every barrier). wg_sum4 is the one over WG_REDUCE
// items, the work-group of the single-work-group reductions.
inline float4 tree_sum4(__local float4* scratch, float4 v, const int size) {
    const int l = get_local_id(0);
    scratch[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = size / 2; s > 0; s >>= 1) {
        if (l < s) scratch[l] += scratch[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float4 r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
#define wg_sum4(scratch, v) tree_sum4((scratch), (v), WG_REDUCE)

#if ROW_SLICES > 1
// slice_sum: the sum of v over the ROW_SLICES items of a work-group's
// column (local id (t, s): column t, slice s), added in a fixed tree
// (slice s takes s + h, h = ROW_SLICES/2, …, 1): deterministic, and every
// item of the column gets it. part holds COL_TILE·ROW_SLICES floats. Every
// item of the work-group must call it (barriers), in range or not.
inline float slice_sum(__local float* part, const float v) {
    const int t = get_local_id(0), s = get_local_id(1);
    part[s * COL_TILE + t] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = ROW_SLICES / 2; h > 0; h >>= 1) {
        if (s < h) part[s * COL_TILE + t] += part[(s + h) * COL_TILE + t];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = part[t];
    barrier(CLK_LOCAL_MEM_FENCE); // part is written again by the next call
    return r;
}
// SLICED: a column reduction's work-group shape (none without slices).
#define SLICED __attribute__((reqd_work_group_size(COL_TILE, ROW_SLICES, 1)))
#else
#define SLICED
#endif

// softmax.cl: softmax cross-entropy fused with its gradient, and the loss
// accumulators.
//
//   softmax_xent   one work-group of WG_REDUCE items (global = local = WG_REDUCE),
//                  for at most WG_REDUCE rows: item l handles row l; the row
//                  losses and hits are summed by a fixed tree (deterministic)
//                  and added to acc. classes ≤ MAX_CLASSES. dlogits may be
//                  skipped (has_grad = 0); with dbias (not NULL), item l
//                  then sums columns l, l+WG_REDUCE, … of dlogits, the rows in order
//                  (the output layer's bias gradient: col_sum's order where
//                  a work-item sums whole columns, ROW_SLICES 1).
//   softmax_xent_part, softmax_xent_finish
//                  softmax_xent in two launches, for more rows than WG_REDUCE
//                  (a row a work-item, rather than rows one after another):
//                  softmax_xent_part's ceil(rows/WG_REDUCE) work-groups each
//                  sum their WG_REDUCE rows' losses and hits (as softmax_xent
//                  does) into part[2g], part[2g+1]; softmax_xent_finish (one
//                  work-group) adds the groups' sums in a fixed order (as
//                  penalty_finish) and adds them to acc.
//                  Both take a penalty pending from adam (pend, adam.cl;
//                  NULL: none) and add it to acc[ACC_LOSS] before the
//                  step's loss (pend_add): the step before's penalty, in
//                  the order a penalty_sum after each step would add it.
//   penalty_fold   one work-group: the pending penalty alone
//   penalty_sum    one work-group of WG_REDUCE items: acc[ACC_LOSS] += scale·(l1·Σ|w| + l2·Σw²),
//                  with the lane's l1 and l2 (lane_f); a lane whose l1 and l2
//                  are both 0 leaves acc untouched
//   penalty_part, penalty_finish
//                  penalty_sum in two launches, for a device with many
//                  compute units (PEN_GROUPS above 1): penalty_part's groups
//                  work-groups each sum a contiguous chunk of w (as
//                  penalty_sum does the whole) into part[2g], part[2g+1];
//                  penalty_finish (one work-group) adds the groups' sums in a
//                  fixed order (item l: partials l, l+WG_REDUCE, …, in order;
//                  then the tree) and adds scale·(l1·Σ|w| + l2·Σw²) to acc.
//
// One work-group per lane: global (WG_REDUCE, 1, L), local (WG_REDUCE, 1, 1),
// but penalty_part and softmax_xent_part: global (groups·WG_REDUCE, 1, L).
// Any rows, any n. Twin: device/cpu (which accumulates in float64).

// xent_row: row r's cross-entropy lse − z[y] and hit (1 where the first
// largest logit is the label's), and, with has_grad, its gradient
// grad_scale·(softmax(z) − onehot(y)) into dlogits.
inline float2 xent_row(__global float* dlogits, __global const float* logits, __global const uchar* labels,
                       __global const int* idx, const int off, const int r, const int classes, const float grad_scale,
                       const int has_grad) {
    __global const float* z = logits + (long)r * classes;
    const int y = labels[idx[off + r]];
    int best = 0;
    float mx = z[0];
    for (int c = 1; c < classes; c++) {
        if (z[c] > mx) { mx = z[c]; best = c; }
    }
    float se = 0.0f;
    for (int c = 0; c < classes; c++) se += exp(z[c] - mx);
    const float lse = mx + log(se);
    if (has_grad) {
        __global float* d = dlogits + (long)r * classes;
        for (int c = 0; c < classes; c++) {
            const float p = exp(z[c] - lse);
            d[c] = FLUSH(grad_scale * (c == y ? p - 1.0f : p)); // p < e⁻⁸⁷ is subnormal
        }
    }
    return (float2)(lse - z[y], best == y ? 1.0f : 0.0f);
}

// xent_acc adds a step's loss and hits to a lane's accumulators, and
// records the step as the first bad one where the loss is not finite.
inline void xent_acc(__global float* acc, const float loss, const float hits, const int step) {
    acc[ACC_LOSS] += loss;
    acc[ACC_CORRECT] += hits;
    if (!isfinite(loss) && acc[ACC_BAD_STEP] < 0.0f) acc[ACC_BAD_STEP] = (float)step;
}

// The pending penalty (adam.cl): pend_scale is its scale (0: nothing
// pending, or pend NULL), pend_groups the pairs of partial sums it holds
// (0 when nothing is pending), pend_item the item's share of their sums
// (pairs_item: item l takes pairs l, l+WG_REDUCE, … in order), and
// pend_add, once the work-group's tree has added the shares, adds
//   pend[PEND_SCALE]·(l1·Σ_g pend[PEND_PARTS+2g] + l2·Σ_g pend[PEND_PARTS+2g+1])
// to acc[ACC_LOSS] and clears the scale (the penalty is added once); every
// place that folds a penalty goes through these, so the bits are the same
// wherever it is folded (the next step's loss, or penalty_fold before the
// host reads acc: a mid-epoch checkpoint). The products are written as an
// fma, so that no compiler contracts them differently in two kernels.
inline float pend_scale(__global const float* pend) { return pend ? pend[PEND_SCALE] : 0.0f; }
inline int pend_groups(__global const float* pend, const float sc) { return sc != 0.0f ? (int)pend[PEND_GROUPS] : 0; }
inline float2 pairs_item(__global const float* part, const int groups) {
    float2 p = 0.0f;
    for (int g = get_local_id(0); g < groups; g += WG_REDUCE) {
        p.x += part[2 * g];
        p.y += part[2 * g + 1];
    }
    return p;
}
inline float2 pend_item(__global const float* pend, const int groups) {
    return pairs_item(pend ? pend + PEND_PARTS : pend, groups);
}
inline void pend_add(__global float* acc, __global float* pend, const float sc, const float2 s, __global const float* lane_f) {
    if (sc == 0.0f) return;
    acc[ACC_LOSS] += sc * fma(LF(lane_f, LANE_L1), s.x, LF(lane_f, LANE_L2) * s.y);
    pend[PEND_SCALE] = 0.0f;
}

// xent_group: the losses and hits of rows first + l, l < WG_REDUCE, below
// rows, one a work-item, and the pending penalty's groups pairs (pend_item),
// summed by one tree (wg_sum4; every item gets them): (loss, hits, Σ|w|,
// Σw²).
inline float4 xent_group(__local float4* scratch, __global float* dlogits, __global const float* logits,
                         __global const uchar* labels, __global const int* idx, const int off, const int first,
                         const int rows, const int classes, const float grad_scale, const int has_grad,
                         __global const float* pend, const int groups) {
    const int r = first + get_local_id(0);
    float2 lh = 0.0f;
    if (r < rows) lh = xent_row(dlogits, logits, labels, idx, off, r, classes, grad_scale, has_grad);
    return wg_sum4(scratch, (float4)(lh, pend_item(pend, groups)));
}

// pair_sums: Σ_g part[2g] and Σ_g part[2g+1] over groups partial sums, in a
// fixed order (pairs_item's share of each item, then wg_sum4's tree). One
// work-group; every item gets both sums.
inline float2 pair_sums(__local float4* scratch, __global const float* part, const int groups) {
    return wg_sum4(scratch, (float4)(pairs_item(part, groups), 0.0f, 0.0f)).xy;
}

__kernel void softmax_xent(BUF(float*, dlogits), BUF(float*, dbias), BUF(const float*, logits),
                           BUF(const uchar*, labels), BUF(const int*, idx), const int off, const int rows,
                           const int classes, const float grad_scale, const int has_grad, BUF(float*, acc),
                           const int step, BUF(float*, pend), __global const float* lane_f) {
    LANE_PTR_OPT(dlogits); // NULL when has_grad is 0
    LANE_PTR_OPT(dbias);   // NULL: no bias gradient
    LANE_PTR(logits);
    LANE_PTR(labels);
    LANE_PTR(idx);
    LANE_PTR(acc);
    LANE_PTR_OPT(pend);    // NULL: no penalty pending
    __local float4 scratch[WG_REDUCE];
    const float sc = pend_scale(pend); // read by every item before item 0 clears it (the tree's barriers)
    const float4 s = xent_group(scratch, dlogits, logits, labels, idx, off, 0, rows, classes, grad_scale, has_grad,
                                pend, pend_groups(pend, sc));
    if (get_local_id(0) == 0) {
        pend_add(acc, pend, sc, s.zw, lane_f); // the step before's penalty, then this step's loss
        xent_acc(acc, s.x, s.y, step);
    }
    barrier(CLK_GLOBAL_MEM_FENCE); // the work-group's rows of dlogits written
    if (has_grad && dbias)
        for (int c = get_local_id(0); c < classes; c += WG_REDUCE) { // classes may pass WG_REDUCE
            float b = 0.0f;
            for (int r = 0; r < rows; r++) b += dlogits[(long)r * classes + c];
            dbias[c] = b;
        }
}

// softmax_xent_part: work-group g (global ceil(rows/WG_REDUCE)·WG_REDUCE)
// handles rows g·WG_REDUCE + l as softmax_xent does, and writes their sums
// to part[2g] (loss) and part[2g+1] (hits).
__kernel void softmax_xent_part(BUF(float*, dlogits), BUF(const float*, logits), BUF(const uchar*, labels),
                                BUF(const int*, idx), const int off, const int rows, const int classes,
                                const float grad_scale, const int has_grad, BUF(float*, part)) {
    LANE_PTR_OPT(dlogits);
    LANE_PTR(logits);
    LANE_PTR(labels);
    LANE_PTR(idx);
    LANE_PTR(part);
    __local float4 scratch[WG_REDUCE];
    const int g = get_group_id(0);
    const float4 s = xent_group(scratch, dlogits, logits, labels, idx, off, g * WG_REDUCE, rows, classes, grad_scale, has_grad, 0, 0);
    if (get_local_id(0) == 0) {
        part[2 * g] = s.x;
        part[2 * g + 1] = s.y;
    }
}

// softmax_xent_finish: acc[ACC_LOSS] += Σ_g part[2g], acc[ACC_CORRECT] +=
// Σ_g part[2g+1] (pair_sums' order), and the bad step as softmax_xent,
// after the pending penalty, in one tree.
__kernel void softmax_xent_finish(BUF(float*, acc), BUF(const float*, part), const int groups, const int step,
                                  BUF(float*, pend), __global const float* lane_f) {
    LANE_PTR(acc);
    LANE_PTR(part);
    LANE_PTR_OPT(pend);
    __local float4 scratch[WG_REDUCE];
    const float sc = pend_scale(pend);
    const float4 s = wg_sum4(scratch, (float4)(pairs_item(part, groups), pend_item(pend, pend_groups(pend, sc))));
    if (get_local_id(0) == 0) {
        pend_add(acc, pend, sc, s.zw, lane_f);
        xent_acc(acc, s.x, s.y, step);
    }
}

// penalty_fold: the pending penalty alone (before the host reads acc).
__kernel void penalty_fold(BUF(float*, acc), BUF(float*, pend), __global const float* lane_f) {
    LANE_PTR(acc);
    LANE_PTR(pend);
    __local float4 scratch[WG_REDUCE];
    const float sc = pend_scale(pend);
    const float4 s = wg_sum4(scratch, (float4)(0.0f, 0.0f, pend_item(pend, pend_groups(pend, sc))));
    if (get_local_id(0) == 0) pend_add(acc, pend, sc, s.zw, lane_f);
}

// penalty_sums: Σ|w| and Σw² over w[0:n] by one work-group: item l sums
// a contiguous run of w, VEC at a time (a stride of WG_REDUCE between items
// ran 20× slower on PoCL, whose work-group is one loop over its items), then
// the runs' sums go through the tree. Every item gets both sums.
inline float2 penalty_sums(__local float4* scratch, __global const float* w, const int n) {
    const int l = get_local_id(0);
    const int per = ((n + WG_REDUCE - 1) / WG_REDUCE + VEC - 1) / VEC * VEC;
    const int lo = min(n, l * per), hi = min(n, lo + per);
    floatv a1 = 0.0f, a2 = 0.0f;
    int i = lo;
    for (; i + VEC <= hi; i += VEC) {
        const floatv v = VLOAD(w + i);
        a1 += fabs(v);
        a2 += v * v;
    }
    float s1 = FSUM(a1), s2 = FSUM(a2);
    for (; i < hi; i++) {
        const float v = w[i];
        s1 += fabs(v);
        s2 += v * v;
    }
    return wg_sum4(scratch, (float4)(s1, s2, 0.0f, 0.0f)).xy;
}

__kernel void penalty_sum(BUF(float*, acc), BUF(const float*, w), const int n, __global const float* lane_f,
                          const float scale) {
    const float l1 = LF(lane_f, LANE_L1), l2 = LF(lane_f, LANE_L2);
    if (l1 == 0.0f && l2 == 0.0f) return; // the whole work-group: no barrier is left waiting
    LANE_PTR(acc);
    LANE_PTR(w);
    __local float4 scratch[WG_REDUCE];
    const float2 s = penalty_sums(scratch, w, n);
    if (get_local_id(0) == 0) acc[ACC_LOSS] += scale * (l1 * s.x + l2 * s.y);
}

// penalty_part: work-group g of the groups (global size groups·WG_REDUCE)
// sums w[g·chunk : min(n, (g+1)·chunk)] into part[2g] (Σ|w|) and
// part[2g+1] (Σw²); chunk is a multiple of VEC, from the host.
__kernel void penalty_part(BUF(float*, part), BUF(const float*, w), const int n, const int chunk,
                           __global const float* lane_f) {
    const float l1 = LF(lane_f, LANE_L1), l2 = LF(lane_f, LANE_L2);
    if (l1 == 0.0f && l2 == 0.0f) return; // as penalty_sum
    LANE_PTR(part);
    LANE_PTR(w);
    __local float4 scratch[WG_REDUCE];
    const int g = get_group_id(0);
    const long lo = min((long)n, (long)g * chunk);
    const float2 s = penalty_sums(scratch, w + lo, (int)min((long)chunk, n - lo));
    if (get_local_id(0) == 0) {
        part[2 * g] = s.x;
        part[2 * g + 1] = s.y;
    }
}

// penalty_finish: acc[ACC_LOSS] += scale·(l1·Σ_g part[2g] + l2·Σ_g part[2g+1])
// over the groups partial sums, in a fixed order. One work-group.
__kernel void penalty_finish(BUF(float*, acc), BUF(const float*, part), const int groups,
                             __global const float* lane_f, const float scale) {
    const float l1 = LF(lane_f, LANE_L1), l2 = LF(lane_f, LANE_L2);
    if (l1 == 0.0f && l2 == 0.0f) return;
    LANE_PTR(acc);
    LANE_PTR(part);
    __local float4 scratch[WG_REDUCE];
    const float2 s = pair_sums(scratch, part, groups);
    if (get_local_id(0) == 0) acc[ACC_LOSS] += scale * (l1 * s.x + l2 * s.y);
}

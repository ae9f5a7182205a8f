// softmax.cl: softmax cross-entropy fused with its gradient, and the loss
// accumulators.
//
//   softmax_xent   one work-group of WG_REDUCE items (global = local = WG_REDUCE):
//                  item l handles rows l, l+WG_REDUCE, …; the row losses and hits
//                  are summed by a fixed tree (deterministic) and added to acc.
//                  classes ≤ MAX_CLASSES. dlogits may be skipped (has_grad = 0).
//   penalty_sum    one work-group of WG_REDUCE items: acc[ACC_LOSS] += scale·(l1·Σ|w| + l2·Σw²),
//                  with the lane's l1 and l2 (lane_f); a lane whose l1 and l2
//                  are both 0 leaves acc untouched
//
// One work-group per lane: global (WG_REDUCE, 1, L), local (WG_REDUCE, 1, 1).
// Any rows, any n. Twin: device/cpu (which accumulates in float64).

__kernel void softmax_xent(BUF(float*, dlogits), BUF(const float*, logits), BUF(const uchar*, labels),
                           BUF(const int*, idx), const int off, const int rows, const int classes,
                           const float grad_scale, const int has_grad, BUF(float*, acc), const int step) {
    LANE_PTR_OPT(dlogits); // NULL when has_grad is 0
    LANE_PTR(logits);
    LANE_PTR(labels);
    LANE_PTR(idx);
    LANE_PTR(acc);
    __local float scratch[WG_REDUCE];
    const int l = get_local_id(0);
    float loss = 0.0f, hits = 0.0f;
    for (int r = l; r < rows; r += WG_REDUCE) {
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
        loss += lse - z[y];
        hits += best == y ? 1.0f : 0.0f;
        if (has_grad) {
            __global float* d = dlogits + (long)r * classes;
            for (int c = 0; c < classes; c++) {
                const float p = exp(z[c] - lse);
                d[c] = FLUSH(grad_scale * (c == y ? p - 1.0f : p)); // p < e⁻⁸⁷ is subnormal
            }
        }
    }
    loss = wg_sum(scratch, loss);
    hits = wg_sum(scratch, hits);
    if (l == 0) {
        acc[ACC_LOSS] += loss;
        acc[ACC_CORRECT] += hits;
        if (!isfinite(loss) && acc[ACC_BAD_STEP] < 0.0f) acc[ACC_BAD_STEP] = (float)step;
    }
}

__kernel void penalty_sum(BUF(float*, acc), BUF(const float*, w), const int n, __global const float* lane_f,
                          const float scale) {
    const float l1 = LF(lane_f, LANE_L1), l2 = LF(lane_f, LANE_L2);
    if (l1 == 0.0f && l2 == 0.0f) return; // the whole work-group: no barrier is left waiting
    LANE_PTR(acc);
    LANE_PTR(w);
    __local float scratch[WG_REDUCE];
    const int l = get_local_id(0);
    // Item l sums a contiguous run of w, VEC at a time (a stride of
    // WG_REDUCE between items ran 20× slower on PoCL, whose work-group is
    // one loop over its items), then the runs' sums go through the tree.
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
    s1 = wg_sum(scratch, s1);
    s2 = wg_sum(scratch, s2);
    if (l == 0) acc[ACC_LOSS] += scale * (l1 * s1 + l2 * s2);
}

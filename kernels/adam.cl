// adam.cl: the Adam update with the L1/L2 penalty gradients fused in.
//
//   adam   g' = g + l1·sign(w) + 2·l2·w for elements below pen (g' = g above);
//          m = β1·m + (1−β1)·g'; v = β2·v + (1−β2)·g'²;
//          w −= α·m/(√v + ε)                                   global ≥ ceil(n/VEC)
//
// l1, l2 and the learning rate are the lane's (lane_f, lanes.cl), and
// α = (float)lr · (float)corr in float, corr the step's bias correction
// √(1−β2^t)/(1−β1^t) (device.Adam.Correction) rounded once by the host: the
// rate differs between lanes and lives on the device, so α cannot be
// rounded from a float64 product without a transfer per step; the CPU twin
// computes the same float product.
//
// One launch updates every parameter of a network: its parameters, gradients
// and moments each live in one contiguous buffer, the penalized hidden
// kernels first.
//
// c1 = 1−β1 and c2 = 1−β2 are computed by the host in double precision and
// rounded once: 1.0f − β2 in float would
// be off by 1.3e-5 relative (β2 = 0.999 is not a float). Any n: VEC
// elements per work-item, a scalar path for the last partial group; both paths
// compute the same expression, so a result does not depend on an element's
// position. sign(0) = 0, as tf.sign. Subnormal results are flushed to zero
// (FLUSH, common.cl): weights decaying under L2 on inputs that are always 0,
// and moments of gradients that stay 0, breed them otherwise. Twin:
// device/cpu (AdamStep).

#define ADAM_UPDATE(T, wi, gi, mi, vi, L1, L2)                          \
    {                                                                   \
        T gg = gi;                                                      \
        if (L1 != 0.0f) gg += L1 * sign(wi);                            \
        if (L2 != 0.0f) gg += 2.0f * L2 * wi;                           \
        mi = beta1 * mi + c1 * gg;                                      \
        vi = beta2 * vi + c2 * gg * gg;                                 \
        wi = wi - alpha * mi / (sqrt(vi) + eps);                        \
        mi = FLUSH(mi);                                                 \
        vi = FLUSH(vi);                                                 \
        wi = FLUSH(wi);                                                 \
    }

// Elements below pen get the penalty gradients; a group of VEC elements that
// straddles pen takes the scalar path, element by element.
__kernel void adam(BUF(float*, w), BUF(const float*, g), BUF(float*, m), BUF(float*, v),
                   const int n, const int pen, __global const float* lane_f, const float corr,
                   const float beta1, const float c1, const float beta2, const float c2, const float eps) {
    LANE_PTR(w);
    LANE_PTR(g);
    LANE_PTR(m);
    LANE_PTR(v);
    const float alpha = LF(lane_f, LANE_LR) * corr;
    const float l1 = LF(lane_f, LANE_L1), l2 = LF(lane_f, LANE_L2);
    const int e = get_global_id(0) * VEC;
    if (e + VEC <= n && (e + VEC <= pen || e >= pen)) {
        const float p1 = e < pen ? l1 : 0.0f, p2 = e < pen ? l2 : 0.0f;
        floatv wi = VLOAD(w + e), mi = VLOAD(m + e), vi = VLOAD(v + e);
        ADAM_UPDATE(floatv, wi, VLOAD(g + e), mi, vi, p1, p2)
        VSTORE(mi, m + e);
        VSTORE(vi, v + e);
        VSTORE(wi, w + e);
        return;
    }
    for (int i = e; i < min(e + VEC, n); i++) {
        const float p1 = i < pen ? l1 : 0.0f, p2 = i < pen ? l2 : 0.0f;
        float wi = w[i], mi = m[i], vi = v[i];
        ADAM_UPDATE(float, wi, g[i], mi, vi, p1, p2)
        m[i] = mi;
        v[i] = vi;
        w[i] = wi;
    }
}

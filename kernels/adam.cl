// adam.cl: the Adam update with the L1/L2 penalty gradients fused in.
//
//   adam   g' = g + l1·sign(w) + 2·l2·w; m = β1·m + (1−β1)·g'; v = β2·v + (1−β2)·g'²;
//          w −= α·m/(√v + ε)                                   global ≥ ceil(n/VEC)
//
// α is the step's bias-corrected rate, computed by the host. Any n: VEC
// elements per work-item, a scalar path for the last partial group; both paths
// compute the same expression, so a result does not depend on an element's
// position. sign(0) = 0, as tf.sign. Twin: device/cpu (AdamStep).

#define ADAM_UPDATE(T, wi, gi, mi, vi)                                  \
    {                                                                   \
        T gg = gi;                                                      \
        if (l1 != 0.0f) gg += l1 * sign(wi);                            \
        if (l2 != 0.0f) gg += 2.0f * l2 * wi;                           \
        mi = beta1 * mi + (1.0f - beta1) * gg;                          \
        vi = beta2 * vi + (1.0f - beta2) * gg * gg;                     \
        wi = wi - alpha * mi / (sqrt(vi) + eps);                        \
    }

__kernel void adam(__global float* w, __global const float* g, __global float* m, __global float* v,
                   const int n, const float alpha, const float beta1, const float beta2, const float eps,
                   const float l1, const float l2) {
    const int e = get_global_id(0) * VEC;
    if (e + VEC <= n) {
        floatv wi = VLOAD(w + e), mi = VLOAD(m + e), vi = VLOAD(v + e);
        ADAM_UPDATE(floatv, wi, VLOAD(g + e), mi, vi)
        VSTORE(mi, m + e);
        VSTORE(vi, v + e);
        VSTORE(wi, w + e);
        return;
    }
    for (int i = e; i < n; i++) {
        float wi = w[i], mi = m[i], vi = v[i];
        ADAM_UPDATE(float, wi, g[i], mi, vi)
        m[i] = mi;
        v[i] = vi;
        w[i] = wi;
    }
}

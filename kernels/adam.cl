// adam.cl: the Adam update with the L1/L2 penalty gradients fused in.
//
//   adam   g' = g + l1·sign(w) + 2·l2·w; m = β1·m + (1−β1)·g'; v = β2·v + (1−β2)·g'²;
//          w −= α·m/(√v + ε)                                   global ≥ n
//
// α is the step's bias-corrected rate, computed by the host. Any n. Twin:
// device/cpu (AdamStep).

__kernel void adam(__global float* w, __global const float* g, __global float* m, __global float* v,
                   const int n, const float alpha, const float beta1, const float beta2, const float eps,
                   const float l1, const float l2) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float wi = w[i];
    float gi = g[i];
    if (l1 != 0.0f) gi += l1 * sign(wi);
    if (l2 != 0.0f) gi += 2.0f * l2 * wi;
    const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - alpha * mi / (sqrt(vi) + eps);
}

// adam.cl: the Adam update with the L1/L2 penalty gradients fused in, and
// the penalty's value left pending for the loss.
//
//   adam   g' = g + l1·sign(w) + 2·l2·w for elements below pen (g' = g above);
//          m = β1·m + (1−β1)·g'; v = β2·v + (1−β2)·g'²;
//          w −= α·m/(√v + ε)                           global ≥ ceil(n/(VEC·ADAM_RUN))
//          with pend: the partial sums of Σ|w| and Σw² below pen, before the
//          update, and the scale, in pend (below)
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
//
// With pend (not NULL), adam also leaves the penalty of the weights before
// the update pending (device.Adam.Pending), so that no launch of its own
// sums it: work-item i sums |w| and w² over its elements below pen
// (its ADAM_RUN vectors added lane by lane, then FSUM's order across the
// lanes, then its elements taken one by one, in order), and
// pend[PEND_PARTS + 2p], pend[PEND_PARTS + 2p + 1] hold Σ|w| and Σw² of
// part p of the G parts that cover the penalized prefix: with PEN_TREE 1,
// a part is a work-group's items added in a fixed tree (tree_sum4;
// G = ceil(pen/(VEC·ADAM_RUN·WG_ELEM))); with PEN_TREE 0, a part is one
// work-item (G = ceil(pen/(VEC·ADAM_RUN))): no barrier, which PoCL pays
// for dearly (adam took 3× as long with the tree's barriers), and a run of
// vectors long enough that the sums across lanes stay few (one a vector
// cost PoCL 70 µs a step, twice the separate penalty_sum). pend[PEND_GROUPS] = G (a float,
// exact below 2^24), and pend[PEND_SCALE] = scale, or 0 in a lane whose l1
// and l2 are both 0 (nothing is pending there). softmax.cl's pend_add adds
// scale·(l1·Σ|w| + l2·Σw²) to the loss and clears the scale. Work-groups
// of WG_ELEM items (the host's launch).
#ifndef PEN_TREE
#define PEN_TREE 1
#endif
#ifndef ADAM_RUN
#define ADAM_RUN 1
#endif
#if PEN_TREE
#define PEN_PER (VEC * ADAM_RUN * WG_ELEM)
#else
#define PEN_PER (VEC * ADAM_RUN)
#endif

__kernel __attribute__((reqd_work_group_size(WG_ELEM, 1, 1)))
void adam(BUF(float*, w), BUF(const float*, g), BUF(float*, m), BUF(float*, v), const int n, const int pen,
          __global const float* lane_f, const float corr, const float beta1, const float c1, const float beta2,
          const float c2, const float eps, BUF(float*, pend), const float scale) {
    LANE_PTR(w);
    LANE_PTR(g);
    LANE_PTR(m);
    LANE_PTR(v);
    LANE_PTR_OPT(pend); // NULL: no penalty pending
    const float alpha = LF(lane_f, LANE_LR) * corr;
    const float l1 = LF(lane_f, LANE_L1), l2 = LF(lane_f, LANE_L2);
    // ADAM_RUN consecutive vectors of VEC elements a work-item; the
    // penalty's vector sums run along them, added across lanes once.
    const int e0 = get_global_id(0) * (VEC * ADAM_RUN);
    floatv a1 = 0.0f, a2 = 0.0f; // Σ|w| and Σw² of the item's penalized vectors, before the update
    float s1 = 0.0f, s2 = 0.0f;  // and of its elements taken one by one
    for (int r = 0; r < ADAM_RUN; r++) {
        const int e = e0 + r * VEC;
        if (e >= n) break;
        if (e + VEC <= n && (e + VEC <= pen || e >= pen)) {
            const float p1 = e < pen ? l1 : 0.0f, p2 = e < pen ? l2 : 0.0f;
            floatv wi = VLOAD(w + e), mi = VLOAD(m + e), vi = VLOAD(v + e);
            if (e < pen) {
                a1 += fabs(wi);
                a2 += wi * wi;
            }
            ADAM_UPDATE(floatv, wi, VLOAD(g + e), mi, vi, p1, p2)
            VSTORE(mi, m + e);
            VSTORE(vi, v + e);
            VSTORE(wi, w + e);
        } else {
            for (int i = e; i < min(e + VEC, n); i++) {
                const float p1 = i < pen ? l1 : 0.0f, p2 = i < pen ? l2 : 0.0f;
                float wi = w[i], mi = m[i], vi = v[i];
                if (i < pen) {
                    s1 += fabs(wi);
                    s2 += wi * wi;
                }
                ADAM_UPDATE(float, wi, g[i], mi, vi, p1, p2)
                m[i] = mi;
                v[i] = vi;
                w[i] = wi;
            }
        }
    }
    if (pend) {
        s1 = FSUM(a1) + s1;
        s2 = FSUM(a2) + s2;
    }
    if (!pend) return; // the whole launch: no barrier is left waiting
#if PEN_TREE
    __local float4 t[WG_ELEM];
    const float2 s = tree_sum4(t, (float4)(s1, s2, 0.0f, 0.0f), WG_ELEM).xy;
    const int part = get_group_id(0);
    const int writes = get_local_id(0) == 0;
#else
    const float2 s = (float2)(s1, s2);
    const int part = get_global_id(0);
    const int writes = 1;
#endif
    if (writes && (long)part * PEN_PER < pen) {
        pend[PEND_PARTS + 2 * part] = s.x;
        pend[PEND_PARTS + 2 * part + 1] = s.y;
    }
    if (get_global_id(0) == 0) {
        pend[PEND_SCALE] = (l1 != 0.0f || l2 != 0.0f) ? scale : 0.0f;
        pend[PEND_GROUPS] = (float)((pen + PEN_PER - 1) / PEN_PER);
    }
}

#!/usr/bin/python3
"""Independent float64 reference for regcl's training arithmetic.

Writes testdata/golden/golden.json next to this file.  Run from the repository root:

    /usr/bin/python3 testdata/golden/gen.py

Everything here comes from the written formulas (DESIGN.md, Keras's defaults,
Random123's Philox4x32-10, Go's documented math/rand/v2 PCG-DXSM and Shuffle), with
gradients from torch autograd in float64.  Nothing is taken from regcl's Go code.
The output is deterministic: same bytes on every run with the same torch/numpy.
"""

import json
import math
import os
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
DT = torch.float64

# ---------------------------------------------------------------------------
# Constants (Keras defaults, DESIGN.md)
LR = 0.001
BETA1 = 0.9
BETA2 = 0.999
ADAM_EPS = 1e-07
BN_MOMENTUM = 0.99
BN_EPS = 0.001
BATCH_SIZE = 4
VALIDATION_SPLIT = 0.4

N_INPUTS = 7
HIDDEN = [5, 4]
N_CLASSES = 3
N_IMAGES = 12
DEAD_PIXELS = (0, 6)  # zero in every image, like MNIST's borders
DATA_SEED = 20240611

# Knife-edge margins (the Go side also runs this in float32 and compares at ~1e-5).
Z_MARGIN = 1e-3       # |ReLU pre-activation|
LOGIT_MARGIN = 1e-3   # distance between any two logits of a row
GRAD_MARGIN = 1e-6    # |gradient component| unless exactly 0
WEIGHT_MARGIN = 1e-6  # |hidden kernel weight| after step 1 unless exactly 0 (when l1 > 0)
F32_TOL = 2e-6        # float32 re-run vs float64: |diff| / max|tensor| (scalars: / |value|)

CASES = [
    # name,          l1,    l2,    dropout, batch_norm, seed
    ("baseline",     0.0,   0.0,   0.0,     False,      1),
    ("l1",           1e-4,  0.0,   0.0,     False,      2),
    ("l2",           0.0,   1e-4,  0.0,     False,      3),
    ("dropout",      0.0,   0.0,   0.3,     False,      4),
    ("batch_norm",   0.0,   0.0,   0.0,     True,       5),
    ("elastic_net",  1e-5,  1e-4,  0.0,     False,      6),
    ("combined",     1e-4,  1e-4,  0.3,     True,       7),
]

# Exact zeros placed in the hidden kernels (row = input unit, col = output unit).
# dense1 row 0 is a dead pixel: its data gradient is exactly 0 there.
KERNEL_ZEROS = {
    "dense1/kernel": [(0, 1), (2, 3), (4, 0)],
    "dense2/kernel": [(1, 2), (3, 0)],
}

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


# ---------------------------------------------------------------------------
# Philox4x32-10 (Salmon, Moraes, Dror, Shaw, SC 2011; Random123)
PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85


def philox4x32_10(ctr, key):
    c0, c1, c2, c3 = (x & M32 for x in ctr)
    k0, k1 = (x & M32 for x in key)
    for _ in range(10):
        p0 = PHILOX_M0 * c0
        p1 = PHILOX_M1 * c2
        hi0, lo0 = p0 >> 32, p0 & M32
        hi1, lo1 = p1 >> 32, p1 & M32
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = (k0 + PHILOX_W0) & M32
        k1 = (k1 + PHILOX_W1) & M32
    return (c0, c1, c2, c3)


def philox_selfcheck():
    kat = [
        ((0, 0, 0, 0), (0, 0),
         (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((M32, M32, M32, M32), (M32, M32),
         (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ]
    for ctr, key, want in kat:
        got = philox4x32_10(ctr, key)
        if got != want:
            sys.exit("Philox4x32-10 known-answer test failed: ctr=%s key=%s got=%s want=%s"
                     % ([hex(x) for x in ctr], [hex(x) for x in key],
                        [hex(x) for x in got], [hex(x) for x in want]))


def round_half_away(x):
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def dropout_keep(rows, cols, layer, step, seed, p):
    """0/1 keep mask (row-major list) of a (rows, cols) activation, regcl's documented rule."""
    t = round_half_away(p * 4294967296.0)
    t = min(max(t, 0), M32)
    key = (seed & M32, (seed >> 32) & M32)
    keep = []
    cache = {}
    for e in range(rows * cols):
        blk = e >> 2
        if blk not in cache:
            cache[blk] = philox4x32_10((blk, layer, step & M32, (step >> 32) & M32), key)
        word = cache[blk][e & 3]
        keep.append(1 if word >= t else 0)
    return keep


# ---------------------------------------------------------------------------
# Go math/rand/v2: PCG (128-bit LCG, DXSM output), Rand.uint64n (Lemire), Shuffle
PCG_MUL = (2549297995355413924 << 64) | 4865540595714422341
PCG_INC = (6364136223846793005 << 64) | 1442695040888963407
DXSM_MUL = 0xDA942042E4DD58B5
M128 = (1 << 128) - 1


class GoPCG:
    def __init__(self, seed1, seed2):
        self.state = ((seed1 & M64) << 64) | (seed2 & M64)

    def uint64(self):
        self.state = (self.state * PCG_MUL + PCG_INC) & M128
        hi, lo = self.state >> 64, self.state & M64
        hi ^= hi >> 32
        hi = (hi * DXSM_MUL) & M64
        hi ^= hi >> 48
        hi = (hi * (lo | 1)) & M64
        return hi


def go_uint64n(src, n):
    if n & (n - 1) == 0:
        return src.uint64() & (n - 1)
    prod = src.uint64() * n
    hi, lo = prod >> 64, prod & M64
    if lo < n:
        thresh = ((1 << 64) - n) % n
        while lo < thresh:
            prod = src.uint64() * n
            hi, lo = prod >> 64, prod & M64
    return hi


def go_shuffled_identity(n, seed, epoch):
    src = GoPCG(seed, 0x73687566666C65 ^ epoch)
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = go_uint64n(src, i + 1)
        p[i], p[j] = p[j], p[i]
    return p


# ---------------------------------------------------------------------------
# Data and initial weights
def make_data():
    rng = np.random.default_rng(DATA_SEED)
    n_train = int(math.floor(N_IMAGES * (1 - VALIDATION_SPLIT)))
    while True:
        images = rng.integers(0, 256, size=(N_IMAGES, N_INPUTS), dtype=np.int64)
        images[:, list(DEAD_PIXELS)] = 0
        labels = rng.integers(0, N_CLASSES, size=N_IMAGES, dtype=np.int64)
        if (len(set(labels[:n_train].tolist())) == N_CLASSES
                and len(set(labels[n_train:].tolist())) == N_CLASSES):
            return images, labels, n_train


def f32(a):
    return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


def tensor_names(bn):
    names = []
    for i in range(len(HIDDEN)):
        names += ["dense%d/kernel" % (i + 1), "dense%d/bias" % (i + 1)]
        if bn:
            names += ["batchnorm%d/gamma" % (i + 1), "batchnorm%d/beta" % (i + 1),
                      "batchnorm%d/moving_mean" % (i + 1),
                      "batchnorm%d/moving_variance" % (i + 1)]
    names += ["output/kernel", "output/bias"]
    return names


def is_trainable(name):
    return not name.endswith("/moving_mean") and not name.endswith("/moving_variance")


def draw_init(rng, bn, x_train):
    """One draw of every tensor; all values exactly representable in float32.

    Kernels are Glorot-uniform (limit capped at 0.8).  The hidden biases are centred on the
    training data (b = -mean over the 7 training images of h_prev.W, plus uniform noise of
    +-0.1), so that each hidden unit is active for some rows and inactive for others
    (pixels are all >= 0, so with plain random biases most units would be on for every row
    or off for every row, and most gradients would be exactly 0).  h_prev for layer 2 is
    layer 1's training-mode output over those 7 images (BN with their batch statistics,
    no dropout).
    """
    sizes = [N_INPUTS] + HIDDEN + [N_CLASSES]
    init = {}
    h = np.asarray(x_train, dtype=np.float64)
    for i in range(len(sizes) - 1):
        fin, fout = sizes[i], sizes[i + 1]
        lname = "dense%d" % (i + 1) if i < len(HIDDEN) else "output"
        limit = min(math.sqrt(6.0 / (fin + fout)), 0.8)
        k = rng.uniform(-limit, limit, size=(fin, fout))
        if lname + "/kernel" in KERNEL_ZEROS:
            for (r, c) in KERNEL_ZEROS[lname + "/kernel"]:
                k[r, c] = 0.0
        k = f32(k)
        noise = rng.uniform(-0.1, 0.1, size=(fout,)) if i < len(HIDDEN) else rng.uniform(-0.2, 0.2, size=(fout,))
        if i < len(HIDDEN):
            b = f32(-(h @ k).mean(axis=0) + noise)
        else:
            b = f32(noise)
        init[lname + "/kernel"] = k
        init[lname + "/bias"] = b
        if i < len(HIDDEN):
            a = np.maximum(h @ k + b, 0.0)
            if bn:
                bname = "batchnorm%d" % (i + 1)
                g = f32(rng.uniform(0.6, 1.4, size=(fout,)))
                be = f32(rng.uniform(-0.3, 0.3, size=(fout,)))
                init[bname + "/gamma"] = g
                init[bname + "/beta"] = be
                init[bname + "/moving_mean"] = f32(rng.uniform(0.05, 0.5, size=(fout,)))
                init[bname + "/moving_variance"] = f32(rng.uniform(0.2, 1.5, size=(fout,)))
                mu = a.mean(axis=0)
                var = ((a - mu) ** 2).mean(axis=0)
                a = g * (a - mu) / np.sqrt(var + BN_EPS) + be
            h = a
    return {n: init[n] for n in tensor_names(bn)}


# ---------------------------------------------------------------------------
# The network
def forward(P, x, bn, train, drop_scales=None):
    """P: name -> tensor.  Returns logits, the ReLU pre-activations, BN batch stats."""
    h = x
    zs, stats = [], []
    for i in range(len(HIDDEN)):
        z = h @ P["dense%d/kernel" % (i + 1)] + P["dense%d/bias" % (i + 1)]
        zs.append(z)
        a = torch.relu(z)
        if bn:
            g = P["batchnorm%d/gamma" % (i + 1)]
            be = P["batchnorm%d/beta" % (i + 1)]
            if train:
                mu = a.mean(dim=0)
                var = ((a - mu) ** 2).mean(dim=0)  # biased
                a = g * (a - mu) / torch.sqrt(var + BN_EPS) + be
                stats.append((mu.detach().clone(), var.detach().clone()))
            else:
                mm = P["batchnorm%d/moving_mean" % (i + 1)]
                mv = P["batchnorm%d/moving_variance" % (i + 1)]
                a = g * (a - mm) / torch.sqrt(mv + BN_EPS) + be
        if train and drop_scales is not None:
            a = a * drop_scales[i]
        h = a
    logits = h @ P["output/kernel"] + P["output/bias"]
    return logits, zs, stats


def cross_entropy_rows(logits, y):
    logp = torch.log_softmax(logits, dim=1)
    return -logp.gather(1, y.view(-1, 1)).view(-1)


def penalty_of(P, l1, l2):
    pen = torch.zeros((), dtype=P["output/kernel"].dtype)
    for i in range(len(HIDDEN)):
        W = P["dense%d/kernel" % (i + 1)]
        if l1 != 0.0:
            pen = pen + l1 * W.abs().sum()
        if l2 != 0.0:
            pen = pen + l2 * (W * W).sum()
    return pen


def argmax_first(row):
    best = 0
    for j in range(1, len(row)):
        if row[j] > row[best]:
            best = j
    return best


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


# ---------------------------------------------------------------------------
# Checks
def check_z(zs, where, fails):
    for li, z in enumerate(zs):
        m = float(z.detach().abs().min())
        if m < Z_MARGIN:
            fails.append("%s: layer %d min|z| = %.3g" % (where, li, m))


def check_units(zs, bn, where, fails):
    """Every hidden unit must be active (z > 0) for at least one row of the batch; with
    BatchNorm also inactive for at least one row (a column active for every row makes the
    dense bias's gradient exactly 0 in exact arithmetic, i.e. rounding noise in practice)."""
    for li, z in enumerate(zs):
        pos = (z.detach() > 0)
        for c in range(z.shape[1]):
            if not bool(pos[:, c].any()):
                fails.append("%s: layer %d unit %d dead for the whole batch" % (where, li, c))
            if bn and bool(pos[:, c].all()):
                fails.append("%s: layer %d unit %d active for every row under BN" % (where, li, c))


def check_logits(logits, where, fails):
    L = logits.detach()
    for r in range(L.shape[0]):
        for a in range(L.shape[1]):
            for b in range(a + 1, L.shape[1]):
                if abs(float(L[r, a] - L[r, b])) < LOGIT_MARGIN:
                    fails.append("%s: row %d logits %d,%d within %.0e" % (where, r, a, b, LOGIT_MARGIN))


def check_grads(G, where, fails):
    for name, g in G.items():
        for v in g.reshape(-1).tolist():
            if v != 0.0 and abs(v) < GRAD_MARGIN:
                fails.append("%s: %s has component %.3g" % (where, name, v))


def finite_difference_check(P0, trainable, x, y, bn, drop_scales, l1, l2, g_auto, where):
    """Central differences of the full batch loss vs autograd, float64."""
    h = 1e-6
    base = {n: t.detach().clone() for n, t in P0.items()}

    def loss_at(P):
        logits, _, _ = forward(P, x, bn, True, drop_scales)
        return float(cross_entropy_rows(logits, y).mean() + penalty_of(P, l1, l2))

    gmax = max(float(g.abs().max()) for g in g_auto.values())
    worst = 0.0
    for n in trainable:
        fd = torch.zeros_like(base[n]).reshape(-1)
        for k in range(fd.numel()):
            Pp = dict(base)
            Pm = dict(base)
            tp = base[n].clone().reshape(-1)
            tm = base[n].clone().reshape(-1)
            tp[k] += h
            tm[k] -= h
            Pp[n] = tp.reshape(base[n].shape)
            Pm[n] = tm.reshape(base[n].shape)
            fd[k] = (loss_at(Pp) - loss_at(Pm)) / (2 * h)
        err = float((fd - g_auto[n].reshape(-1)).abs().max())
        worst = max(worst, err)
    rel = worst / gmax
    if not rel < 1e-7:
        sys.exit("finite-difference check failed at %s: max err %.3g, relative %.3g" % (where, worst, rel))
    return rel


def float32_probe(s64, e64, s32, e32):
    """Worst disagreement of a single-precision re-run, each tensor scaled by its max |value|.
    Returns (worst, where); integer results (correct, accuracies) must match exactly."""
    worst, where = 0.0, ""

    def cmp(a, b, path):
        nonlocal worst, where
        if isinstance(a, dict):
            for k in a:
                cmp(a[k], b[k], path + "/" + k)
            return
        if isinstance(a, list):
            A = np.array(a, dtype=np.float64).reshape(-1)
            B = np.array(b, dtype=np.float64).reshape(-1)
            scale = float(np.abs(A).max()) if A.size else 0.0
            err = float(np.abs(A - B).max()) / scale if scale > 0 else float(np.abs(B).max())
        else:
            err = abs(a - b) / abs(a) if a != 0 else abs(b)
        if err > worst:
            worst, where = err, path

    for a, b in zip(s64, s32):
        if a["correct"] != b["correct"]:
            return math.inf, "step %d correct" % a["step"]
        for k in ("loss", "cross_entropy_sum", "penalty", "grads", "penalized_grads",
                  "params", "m", "v", "eval_logits"):
            cmp(a[k], b[k], "step %d %s" % (a["step"], k))
    for k in ("accuracy", "val_accuracy"):
        if e64[k] != e32[k]:
            return math.inf, "epoch " + k
    for k in ("loss", "val_loss"):
        cmp(e64[k], e32[k], "epoch " + k)
    return worst, where


# ---------------------------------------------------------------------------
# One case: 2 optimizer steps of one epoch
def run_case(case, init, X, Y, n_train, perm, fd_check, dt=DT):
    """dt = torch.float32 runs the same arithmetic in single precision (conditioning probe only)."""
    exact = dt == torch.float64
    name, l1, l2, p_drop, bn, seed = case
    names = tensor_names(bn)
    trainable = [n for n in names if is_trainable(n)]
    params = {n: torch.tensor(init[n], dtype=dt) for n in names}
    shapes = {n: params[n].shape for n in names}
    m = {n: torch.zeros(shapes[n], dtype=dt) for n in trainable}
    v = {n: torch.zeros(shapes[n], dtype=dt) for n in trainable}
    fails = []
    steps = []
    fd_worst = 0.0
    t = 0
    global_step = 0  # dropout's step counter, from 0
    off = 0
    while off < n_train:
        rows = min(BATCH_SIZE, n_train - off)
        idx = perm[off:off + rows]
        x = X[idx]
        y = Y[idx]
        t += 1
        where = "%s step %d" % (name, t)

        masks = None
        drop_scales = None
        if p_drop > 0:
            scale = 1.0 / (1.0 - p_drop)
            masks, drop_scales = {}, []
            for li, cols in enumerate(HIDDEN):
                keep = dropout_keep(rows, cols, li, global_step, seed, p_drop)
                masks[str(li)] = keep
                drop_scales.append(torch.tensor(
                    [scale if k else 0.0 for k in keep], dtype=dt).view(rows, cols))

        P = {}
        for n in names:
            P[n] = params[n].clone().requires_grad_(is_trainable(n))
        logits, zs, stats = forward(P, x, bn, True, drop_scales)
        ce = cross_entropy_rows(logits, y)
        ce_sum = ce.sum()
        ce_mean = ce.mean()
        pen = penalty_of(P, l1, l2)
        loss = ce_mean + pen
        leaves = [P[n] for n in trainable]
        g_ce = torch.autograd.grad(ce_mean, leaves, retain_graph=True)
        g_full = torch.autograd.grad(loss, leaves)
        G = {n: g.detach().clone() for n, g in zip(trainable, g_ce)}
        GP = {n: g.detach().clone() for n, g in zip(trainable, g_full)}

        # Independent check of the penalty gradient: l1*sign(W) + 2*l2*W, sign(0) = 0.
        for n in (trainable if exact else []):
            W = params[n]
            if n.endswith("/kernel") and not n.startswith("output"):
                want = G[n] + l1 * torch.sign(W) + 2 * l2 * W
                zero = W == 0
                if not torch.equal(GP[n][zero], G[n][zero]):
                    sys.exit("%s: penalty gradient at W == 0 is not 0 for %s" % (where, n))
            else:
                want = G[n]
                if not torch.equal(GP[n], G[n]):
                    sys.exit("%s: unpenalized tensor %s got a penalty gradient" % (where, n))
            if not torch.allclose(GP[n], want, rtol=1e-13, atol=1e-18):
                sys.exit("%s: penalized gradient of %s disagrees with g + l1 sign + 2 l2 W" % (where, n))

        if fd_check:
            fd_worst = max(fd_worst, finite_difference_check(
                {n: params[n] for n in names}, trainable, x, y, bn, drop_scales, l1, l2, GP, where))

        check_z(zs, where + " train", fails)
        check_units(zs, bn, where + " train", fails)
        check_logits(logits, where + " train", fails)
        check_grads(G, where + " grads", fails)
        check_grads(GP, where + " penalized_grads", fails)

        correct = sum(1 for r in range(rows)
                      if argmax_first(logits[r].tolist()) == int(y[r]))

        # Adam (Keras form), t from 1
        alpha = LR * math.sqrt(1.0 - BETA2 ** t) / (1.0 - BETA1 ** t)
        new = {}
        for n in trainable:
            g = GP[n]
            m[n] = BETA1 * m[n] + (1.0 - BETA1) * g
            v[n] = BETA2 * v[n] + (1.0 - BETA2) * g * g
            new[n] = params[n] - alpha * m[n] / (torch.sqrt(v[n]) + ADAM_EPS)
        if bn:
            for i, (mu, var) in enumerate(stats):
                b = "batchnorm%d" % (i + 1)
                new[b + "/moving_mean"] = BN_MOMENTUM * params[b + "/moving_mean"] + (1.0 - BN_MOMENTUM) * mu
                new[b + "/moving_variance"] = BN_MOMENTUM * params[b + "/moving_variance"] + (1.0 - BN_MOMENTUM) * var
        params = {n: new[n].detach().clone() for n in names}

        if l1 > 0 and t == 1:
            for i in range(len(HIDDEN)):
                for w in params["dense%d/kernel" % (i + 1)].reshape(-1).tolist():
                    if w != 0.0 and abs(w) < WEIGHT_MARGIN:
                        fails.append("%s: hidden weight %.3g near 0 after step" % (where, w))

        with torch.no_grad():
            ev_logits, ev_zs, _ = forward(params, X, bn, False)
        check_z(ev_zs, where + " eval", fails)
        check_logits(ev_logits, where + " eval", fails)

        step = {
            "step": t,
            "rows": rows,
            "images": [int(i) for i in idx],
        }
        if masks is not None:
            step["masks"] = masks
        step.update({
            "loss": float(loss),
            "cross_entropy_sum": float(ce_sum),
            "penalty": float(pen),
            "correct": correct,
            "grads": {n: flat(G[n]) for n in trainable},
            "penalized_grads": {n: flat(GP[n]) for n in trainable},
            "params": {n: flat(params[n]) for n in names},
            "m": {n: flat(m[n]) for n in trainable},
            "v": {n: flat(v[n]) for n in trainable},
            "alpha": alpha,
            "eval_logits": [[float(a) for a in row] for row in ev_logits.tolist()],
        })
        steps.append(step)
        off += rows
        global_step += 1

    # Epoch metrics (Keras: average over the epoch's samples, per-batch penalty)
    ep_loss = sum(s["cross_entropy_sum"] + s["rows"] * s["penalty"] for s in steps) / n_train
    ep_acc = sum(s["correct"] for s in steps) / n_train
    with torch.no_grad():
        val_logits, _, _ = forward(params, X[n_train:], bn, False)
        val_ce = cross_entropy_rows(val_logits, Y[n_train:]).mean()
        val_pen = penalty_of(params, l1, l2)
    n_val = len(Y) - n_train
    val_correct = sum(1 for r in range(n_val)
                      if argmax_first(val_logits[r].tolist()) == int(Y[n_train + r]))
    epoch = {
        "loss": ep_loss,
        "accuracy": ep_acc,
        "val_loss": float(val_ce + val_pen),
        "val_accuracy": val_correct / n_val,
    }
    return steps, epoch, fails, fd_worst


def main():
    philox_selfcheck()
    # torch.abs's gradient at 0 must be 0 (tf.sign semantics).
    z = torch.zeros(3, dtype=DT, requires_grad=True)
    (gz,) = torch.autograd.grad(z.abs().sum(), [z])
    if not torch.equal(gz, torch.zeros(3, dtype=DT)):
        sys.exit("torch.abs gradient at 0 is not 0")

    images, labels, n_train = make_data()
    assert n_train == 7
    X = torch.tensor(images, dtype=DT) / 255.0
    X32 = torch.tensor(images, dtype=torch.float32) / 255.0
    Y = torch.tensor(labels, dtype=torch.int64)

    out_cases = []
    fd_report = []
    for case in CASES:
        name, l1, l2, p_drop, bn, seed = case
        perm = go_shuffled_identity(n_train, seed, 0)
        rng = np.random.default_rng(seed)
        attempt = 0
        while True:
            attempt += 1
            if attempt > 10000:
                sys.exit("%s: no knife-edge-free initialisation in 10000 draws" % name)
            init = draw_init(rng, bn, images[:n_train] / 255.0)
            steps, epoch, fails, _ = run_case(case, init, X, Y, n_train, perm, fd_check=False)
            if fails:
                continue
            # Conditioning: the same arithmetic in float32 must agree to F32_TOL.
            s32, e32, _, _ = run_case(case, init, X32, Y, n_train, perm, fd_check=False,
                                      dt=torch.float32)
            f32_err, f32_where = float32_probe(steps, epoch, s32, e32)
            if f32_err <= F32_TOL:
                break
        for n, t in init.items():
            if not np.array_equal(t.astype(np.float32).astype(np.float64), t):
                sys.exit("%s: initial %s is not float32-exact" % (name, n))
        # Re-run the accepted draw with the finite-difference check on.
        steps2, epoch2, fails2, fd_rel = run_case(case, init, X, Y, n_train, perm, fd_check=True)
        assert not fails2 and steps2 == steps and epoch2 == epoch
        fd_report.append("%s: draw %d, fd rel err %.2e, float32 re-run err %.2e (%s)"
                         % (name, attempt, fd_rel, f32_err, f32_where))
        out_cases.append({
            "name": name,
            "l1": l1,
            "l2": l2,
            "dropout": p_drop,
            "batch_norm": bn,
            "seed": seed,
            "perm": perm,
            "init": {n: [float(v) for v in init[n].reshape(-1)] for n in init},
            "steps": steps,
            "epoch": epoch,
        })

    doc = {
        "generator": "testdata/golden/gen.py",
        "torch_version": torch.__version__,
        "about": ("Independent float64 reference for regcl's training arithmetic, computed "
                  "with PyTorch autograd from the written formulas (DESIGN.md, Keras defaults, "
                  "Random123 Philox4x32-10 dropout masks, Go math/rand/v2 PCG-DXSM Shuffle for "
                  "the epoch order), never from regcl's code. A 7-5-4-3 ReLU network is trained "
                  "for the 2 Adam steps (batches of 4 then 3 rows) of one epoch on 12 synthetic "
                  "7-pixel images (validation split 0.4 = the last 5), for 7 regularizer cases. "
                  "Every initial value is exactly representable in float32; weights were redrawn "
                  "until no ReLU pre-activation, logit gap, gradient component or (with l1) "
                  "hidden weight sits near a knife edge, every hidden unit is active for some "
                  "rows of each batch (and, under BatchNorm, inactive for others), and a float32 "
                  "re-run of the same arithmetic agrees with this float64 one to 2e-6 of each "
                  "tensor's largest magnitude, so a float32 run can be compared at ~1e-5 relative "
                  "to a tensor's max (small components of a tensor carry more relative rounding)."),
        "network": {"inputs": N_INPUTS, "hidden": HIDDEN, "classes": N_CLASSES},
        "constants": {"lr": LR, "beta1": BETA1, "beta2": BETA2, "eps": ADAM_EPS,
                      "bn_momentum": BN_MOMENTUM, "bn_eps": BN_EPS,
                      "batch_size": BATCH_SIZE, "validation_split": VALIDATION_SPLIT},
        "images": [[int(b) for b in row] for row in images.tolist()],
        "labels": [int(l) for l in labels.tolist()],
        "n_train": n_train,
        "n_val": N_IMAGES - n_train,
        "cases": out_cases,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.json")
    text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
    with open(path, "w") as f:
        f.write(text)
    for line in fd_report:
        print(line, file=sys.stderr)
    print("wrote %s (%d bytes)" % (path, len(text)), file=sys.stderr)


if __name__ == "__main__":
    main()

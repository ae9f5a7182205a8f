#!/usr/bin/env python3
"""The GPU run's headline: regcl against the fastest PyTorch mode and against cuBLAS.

    python3 bench/peers/gpu_headline.py --regcl bench-tuned.json [--untuned bench-untuned.json]
        [--lanes bench-lanes.json] PEERFILE...

Standard library only; bench/gpu/run.sh runs it at the end of a GPU run and puts what it
prints into summary.txt (it runs it again as the run ends, with whatever was measured).
Inputs: the JSON of `regcl bench --json` (its OpenCL backends),
and JSON lines from bench/peers/torch_mlp.py (peer "pytorch", one line per mode and
method) and bench/peers/cublas_shapes.py (peer "cublas", or "torch-cpu" in a rehearsal
without CUDA). Missing inputs print "-".

It prints, per OpenCL backend:
* training, per preset: regcl's samples/s and s/epoch, PyTorch's in each mode measured,
  and regcl / the FASTEST PyTorch mode (on a GPU, the step captured as a CUDA graph);
* inference: regcl against PyTorch eager's (torch_mlp.py times inference eagerly);
* products: regcl's GFLOP/s and µs (from 2mnk / GFLOP/s) against cuBLAS's inside a CUDA
  graph (the eager figure where there is no graph), shape by shape;
* issue 21's targets, PASS / MISS / n/a: a batch_norm epoch in at most 0.05 s; training
  at least 2x the CUDA-graph peer (per preset measured by both); every product at least
  0.5x cuBLAS; inference at least PyTorch eager's.
"""
import argparse
import json
import sys

EPOCH_TARGET_S = 0.05     # batch_norm, one run
TRAIN_TARGET = 2.0        # x the CUDA-graph PyTorch peer
GEMM_TARGET = 0.5         # x cuBLAS, each product
INFER_TARGET = 1.0        # x PyTorch eager


def lines(paths):
    for p in paths:
        try:
            with open(p) as f:
                for ln in f:
                    ln = ln.strip()
                    if ln.startswith("{"):
                        try:
                            yield json.loads(ln)
                        except ValueError:
                            pass
        except OSError as e:
            print(f"gpu_headline: {p}: {e}", file=sys.stderr)


def load(path):
    if not path:
        return {}
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"gpu_headline: {path}: {e}", file=sys.stderr)
        return {}


def f(x, nd=0):
    if x is None:
        return "-"
    return f"{x:,.{nd}f}"


def x(r):
    return "-" if r is None else f"{r:.2f}x"


def ratio(a, b):
    return a / b if a and b else None


def verdict(r, target):
    if r is None:
        return "n/a"
    return "PASS" if r >= target else "MISS"


def table(rows):
    w = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--regcl", help="regcl bench --json file (tuned)")
    ap.add_argument("--untuned", help="regcl bench --json file of the untuned run")
    ap.add_argument("--lanes", help="regcl bench --json file of a run at --lanes N")
    ap.add_argument("peers", nargs="*")
    a = ap.parse_args()

    torch, gemm = {}, {}
    for d in lines(a.peers):
        if d.get("peer") == "pytorch" and "method" in d:
            torch.setdefault(d["method"], {})[d.get("mode", "eager")] = d
        elif d.get("peer") in ("cublas", "torch-cpu") and "shape" in d:
            gemm[(d["trans"], d["m"], d["n"], d["k"])] = d
    untuned = {}
    for b in load(a.untuned).get("backends") or []:
        for t in b.get("train") or []:
            untuned[(b.get("name"), t.get("preset"))] = t.get("samples_per_s")

    targets = []
    backends = [b for b in load(a.regcl).get("backends") or [] if b.get("kind") == "opencl"]
    if not backends and not torch and not gemm:
        print("nothing measured yet: no regcl bench, PyTorch or cuBLAS figures")
        return
    if not backends:
        print("no OpenCL backend in the regcl bench file: regcl figures are missing")
        backends = [{}]
    modes = sorted({m for v in torch.values() for m in v})
    for b in backends:
        name = b.get("name", "(no regcl figures)")
        print(f"== {name} (tuning: {b.get('tuning', '-')})")
        who = "regcl"
        rows = [["preset", "regcl untuned", "regcl", "s/epoch"] + [f"torch {m}" for m in modes] +
                ["best torch", "regcl/best"]]
        presets = [t.get("preset") for t in b.get("train") or []]
        presets += [m for m in torch if m not in presets]
        for p in presets:
            t = next((t for t in b.get("train") or [] if t.get("preset") == p), {})
            mine = t.get("samples_per_s")
            pt = torch.get(p, {})
            best = max(pt.values(), key=lambda d: d.get("samples_per_s") or 0, default=None)
            best_sps = best.get("samples_per_s") if best else None
            rows.append([p, f(untuned.get((name, p))), f(mine), f(t.get("s_per_epoch"), 4)] +
                        [f(pt[m].get("samples_per_s")) if m in pt else "-" for m in modes] +
                        [f"{f(best_sps)} ({best.get('mode', 'eager')})" if best else "-",
                         f(ratio(mine, best_sps), 2)])
            if p == "batch_norm":
                s = t.get("s_per_epoch")
                targets.append((f"{who}: batch_norm epoch <= {EPOCH_TARGET_S} s",
                                "n/a" if s is None else ("PASS" if s <= EPOCH_TARGET_S else "MISS"), f(s, 4) + " s"))
            g = pt.get("graph")
            if mine and g:
                r = ratio(mine, g.get("samples_per_s"))
                targets.append((f"{who}: {p} training >= {TRAIN_TARGET}x PyTorch CUDA graph",
                                verdict(r, TRAIN_TARGET), x(r)))
        print("training, samples/s (batch 128):")
        print(table(rows))
        for lb in load(a.lanes).get("backends") or []:
            if lb.get("name") == name:
                for t in lb.get("train") or []:
                    sps, lanes = t.get("samples_per_s"), t.get("lanes") or 1
                    print(f"at {lanes} lanes, {t.get('preset')}: {f(sps)} samples/s over all lanes "
                          f"({f(sps / lanes if sps else None)} a lane), {f(t.get('s_per_epoch'), 4)} s an epoch")

        inf = b.get("infer_samples_per_s")
        ip = b.get("infer_preset", "batch_norm")
        # PyTorch eager's inference on the same network, else on another method's (noted).
        eager, tm = torch.get(ip, {}).get("eager"), ip
        if eager is None:
            tm, eager = next(((m, v["eager"]) for m, v in torch.items() if "eager" in v), (None, None))
        pti = eager.get("infer_samples_per_s") if eager else None
        r = ratio(inf, pti)
        other = f" (on {tm})" if eager and tm != ip else ""
        print(f"inference over the test set ({ip}): regcl {f(inf)} images/s, PyTorch eager{other} {f(pti)}, "
              f"ratio {f(r, 2)}")
        targets.append((f"{who}: inference >= {INFER_TARGET}x PyTorch eager", verdict(r, INFER_TARGET), x(r)))

        rows = [["product", "trans", "m", "n", "k", "regcl GFLOP/s", "regcl us", "peer us", "peer GFLOP/s",
                 "regcl/peer"]]
        shown = set()
        for g in b.get("gemm") or []:
            key = (g.get("trans"), g.get("m"), g.get("n"), g.get("k"))
            shown.add(key)
            flop = 2.0 * g["m"] * g["n"] * g["k"]
            gf = g.get("gflops")
            us = flop / gf / 1e3 if gf else None
            c = gemm.get(key, {})
            cgf = c.get("gflops_graph") or c.get("gflops_eager")
            cus = c.get("us_graph") or c.get("us_eager")
            r = ratio(gf, cgf)
            rows.append([g.get("shape"), key[0], key[1], key[2], key[3], f(gf, 1), f(us, 2), f(cus, 2),
                         f(cgf, 1), f(r, 2)])
            if c.get("peer") == "cublas":
                targets.append((f"{who}: {g.get('shape')} >= {GEMM_TARGET}x cuBLAS", verdict(r, GEMM_TARGET),
                                x(r)))
        for key, c in gemm.items():
            if key not in shown:
                rows.append([c.get("shape"), *key, "-", "-", f(c.get("us_graph") or c.get("us_eager"), 2),
                             f(c.get("gflops_graph") or c.get("gflops_eager"), 1), "-"])
        peer = next((c.get("peer") for c in gemm.values()), "cublas")
        print(f"products (peer: {peer}, in a CUDA graph where there is one):")
        print(table(rows))
        print()
    print("issue 21's targets:")
    print(table([["target", "verdict", "measured"]] + [list(t) for t in targets]) if targets else "(none could be checked)")


if __name__ == "__main__":
    main()

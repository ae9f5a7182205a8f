#!/usr/bin/env python3
"""Side-by-side table of regcl against its peers, with the speed targets flagged.

    python3 bench/peers/ratios.py --regcl OUT/regcl.json [--json OUT/ratios.json] PEERFILE...

Standard library only. Inputs:
* --regcl: the JSON written by `regcl bench --json`:
    {"backends": [{"name": "opencl:0:0 ...", "kind": "opencl" | "cpu",
                   "train": [{"preset": "batch_norm", "samples_per_s": ..., "s_per_epoch": ...}],
                   "infer_samples_per_s": ...,
                   "gemm": [{"shape": "fwd1", "trans": "NN", "m": 128, "n": 256, "k": 784,
                             "gflops": ...}]}]}
  It may be missing (the peers' numbers are still printed).
* PEERFILEs: JSON lines from the peers, told apart by their "peer" key:
  "pytorch" (bench/peers/torch_mlp.py: one line per method), "clblast" and "openblas"
  (bench/peers/sgemm_*.c: one line per GEMM shape). Other lines are skipped with a note.

Targets flagged (PASS / MISS; "n/a" when a number is missing):
* every OpenCL backend (PoCL on the development machine): training samples/s
  >= 2.0x PyTorch for the presets baseline and batch_norm;
* the gonum CPU backend: training samples/s >= 0.5x PyTorch for every preset both measured;
* every OpenCL backend's GEMM: >= 3x CLBlast at every shape, and >= 0.35x OpenBLAS at the
  shapes with K >= 256 or N >= 256.
Exit status 0, or with --strict 1 when a target is missed or could not be checked.
"""
import argparse
import json
import sys

OPENCL_TRAIN_TARGET = 2.0
OPENCL_TRAIN_PRESETS = ("baseline", "batch_norm")
CPU_TRAIN_TARGET = 0.5
GEMM_CLBLAST_TARGET = 3.0
GEMM_OPENBLAS_TARGET = 0.35
SHAPE_ORDER = ("fwd1", "fwd2", "fwd3", "dW1", "dW2", "dW3", "dX2", "dX3", "1024cube")
PRESET_ORDER = ("baseline", "l1", "l2", "dropout", "batch_norm", "elastic_net")


def read_peers(paths):
    """Returns ({method: pytorch line}, {peer: {shape: line}}) from JSON-lines files."""
    torch, gemm = {}, {}
    for path in paths:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError as e:
            print(f"ratios: {path}: {e}", file=sys.stderr)
            continue
        for n, line in enumerate(lines, 1):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                d = json.loads(line)
            except ValueError as e:
                print(f"ratios: {path}:{n}: not JSON ({e}); skipped", file=sys.stderr)
                continue
            peer = d.get("peer", "")
            if peer.startswith("pytorch") and "method" in d:
                torch[d["method"]] = d
            elif peer in ("clblast", "openblas") and "shape" in d:
                gemm.setdefault(peer, {})[d["shape"]] = d
            else:
                print(f"ratios: {path}:{n}: no known peer/method/shape; skipped", file=sys.stderr)
    return torch, gemm


def read_regcl(path):
    if not path:
        return []
    try:
        with open(path) as f:
            doc = json.load(f)
    except FileNotFoundError:
        print(f"ratios: {path} does not exist: no regcl numbers (did `regcl bench` run?)")
        return []
    except (OSError, ValueError) as e:
        print(f"ratios: {path}: {e}: no regcl numbers")
        return []
    backends = doc.get("backends") or []
    if not backends:
        print(f"ratios: {path} lists no backends")
    return backends


def ordered(keys, order):
    known = [k for k in order if k in keys]
    return known + sorted(k for k in keys if k not in order)


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def fmt_num(x, digits=0):
    return "-" if x is None else f"{x:,.{digits}f}"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


def short(name, width):
    return name if len(name) <= width else name[:width - 1] + "~"


class Targets:
    def __init__(self):
        self.rows = []

    def check(self, what, value, target):
        state = "n/a" if value is None else ("PASS" if value >= target else "MISS")
        self.rows.append({"target": what, "ratio": value, "needed": target, "state": state})
        return f">={target:g}x {state}"


def table(header, rows, left=(0, 1)):
    """Aligned text table: the columns in `left` left-justified (-1: the last), the rest right."""
    left = {i % len(header) for i in left}
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    out = []
    for n, r in enumerate([header] + rows):
        cells = [str(c).ljust(w) if i in left else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--regcl", help="regcl.json written by `regcl bench --json`")
    ap.add_argument("--json", help="also write the rows and target checks here")
    ap.add_argument("--infer-preset", default="batch_norm",
                    help="the preset of regcl's inference figure (default batch_norm, as regcl bench times it)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed or unchecked")
    ap.add_argument("peers", nargs="*", help="JSON-lines files of the peers")
    a = ap.parse_args()

    backends = read_regcl(a.regcl)
    torch, gemm = read_peers(a.peers)
    targets = Targets()
    report = {"train": [], "infer": [], "gemm": []}

    # Training throughput.
    presets = set(torch)
    for b in backends:
        presets.update(t.get("preset") for t in b.get("train") or [] if t.get("preset"))
    rows = []
    for preset in ordered(presets, PRESET_ORDER):
        pt = torch.get(preset, {}).get("samples_per_s")
        lines = [(b, next((t for t in b.get("train") or [] if t.get("preset") == preset), None))
                 for b in backends] or [(None, None)]
        for b, t in lines:
            mine = t.get("samples_per_s") if t else None
            r = ratio(mine, pt)
            kind = b.get("kind") if b else None
            flag = ""
            name = b.get("name", "?") if b else "(no regcl numbers)"
            if kind == "opencl" and preset in OPENCL_TRAIN_PRESETS:
                flag = targets.check(f"train {preset}: {name} vs PyTorch", r, OPENCL_TRAIN_TARGET)
            elif kind == "cpu" and (mine is not None and pt is not None):
                flag = targets.check(f"train {preset}: {name} vs PyTorch", r, CPU_TRAIN_TARGET)
            rows.append([preset, short(name, 70), fmt_num(mine), fmt_num(pt), fmt_ratio(r), flag])
            report["train"].append({"preset": preset, "backend": name if b else None, "kind": kind,
                                    "regcl_samples_per_s": mine, "pytorch_samples_per_s": pt, "ratio": r})
    threads = sorted({str(d.get("threads")) for d in torch.values()})
    print(f"Training throughput, samples/s (PyTorch {next(iter(torch.values()))['torch_version'] if torch else '-'}"
          f", threads {','.join(threads) or '-'}; ratio = regcl / PyTorch)")
    print(table(["preset", "regcl backend", "regcl", "PyTorch", "ratio", "target"], rows, left=(0, 1, -1)))
    print()

    # Inference throughput. `regcl bench` times it on the network of its last preset
    # (batch_norm by default; a backend's "infer_preset" says so if present): compare with
    # PyTorch's run of that preset when there is one, else with any PyTorch run.
    want = next((b["infer_preset"] for b in backends if b.get("infer_preset")), a.infer_preset)
    ref = torch.get(want) or next(iter(torch.values()), None)
    if ref or backends:
        pt = ref.get("infer_samples_per_s") if ref else None
        rows = []
        for b in backends or [None]:
            mine = b.get("infer_samples_per_s") if b else None
            rows.append([short(b.get("name", "?"), 70) if b else "(no regcl numbers)", fmt_num(mine),
                         fmt_num(pt), fmt_ratio(ratio(mine, pt))])
            report["infer"].append({"backend": b.get("name") if b else None, "regcl_samples_per_s": mine,
                                    "pytorch_samples_per_s": pt, "ratio": ratio(mine, pt)})
        how = (f"regcl {want}, PyTorch {ref['method']} with batch {ref.get('infer_batch', '?')}"
               if ref else "no PyTorch run")
        print(f"Inference on the 10,000 test images, samples/s ({how}; no target)")
        print(table(["regcl backend", "regcl", "PyTorch", "ratio"], rows, left=(0,)))
        print()

    # GEMM.
    cl, ob = gemm.get("clblast", {}), gemm.get("openblas", {})
    gemm_backends = [b for b in backends if b.get("gemm")] or [None]
    for b in gemm_backends:
        mine_by_shape = {g.get("shape"): g for g in (b.get("gemm") or [])} if b else {}
        name = b.get("name", "?") if b else "(no regcl numbers)"
        is_cl = b is not None and b.get("kind") == "opencl"
        rows = []
        for shape in ordered(set(mine_by_shape) | set(cl) | set(ob), SHAPE_ORDER):
            ref = mine_by_shape.get(shape) or cl.get(shape) or ob.get(shape)
            m, n, k, tr = ref.get("m"), ref.get("n"), ref.get("k"), ref.get("trans", "?")
            mine = mine_by_shape.get(shape, {}).get("gflops")
            gc, go = cl.get(shape, {}).get("gflops"), ob.get(shape, {}).get("gflops")
            rc, ro = ratio(mine, gc), ratio(mine, go)
            flags = []
            if is_cl:
                flags.append("CLBlast " + targets.check(f"gemm {shape}: {name} vs CLBlast", rc, GEMM_CLBLAST_TARGET))
                if (k or 0) >= 256 or (n or 0) >= 256:
                    flags.append("OpenBLAS " + targets.check(f"gemm {shape}: {name} vs OpenBLAS", ro,
                                                             GEMM_OPENBLAS_TARGET))
            rows.append([shape, f"{tr} {m}x{n}x{k}", fmt_num(mine, 1), fmt_num(gc, 1), fmt_num(go, 1),
                         fmt_ratio(rc), fmt_ratio(ro), "; ".join(flags)])
            report["gemm"].append({"shape": shape, "trans": tr, "m": m, "n": n, "k": k, "backend": name if b else None,
                                   "regcl_gflops": mine, "clblast_gflops": gc, "openblas_gflops": go,
                                   "ratio_clblast": rc, "ratio_openblas": ro})
        ob_threads = next((str(d.get("threads")) for d in ob.values() if d.get("threads")), "?")
        print(f"SGEMM GFLOP/s, regcl backend {name} (OpenBLAS threads {ob_threads})")
        header = ["shape", "trans MxNxK", "regcl", "CLBlast", "OpenBLAS", "/CLBlast", "/OpenBLAS", "targets"]
        print(table(header, rows, left=(0, 1, -1)))
        print()

    # Summary of the targets.
    if targets.rows:
        counts = {s: sum(1 for r in targets.rows if r["state"] == s) for s in ("PASS", "MISS", "n/a")}
        print(f"Targets: {counts['PASS']} PASS, {counts['MISS']} MISS, {counts['n/a']} not measured")
        for r in targets.rows:
            if r["state"] != "PASS":
                got = "-" if r["ratio"] is None else f"{r['ratio']:.3f}x"
                print(f"  {r['state']:4}  {r['target']}: {got}, needs >= {r['needed']:g}x")
    else:
        print("Targets: none checked (no regcl numbers)")
    report["targets"] = targets.rows

    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
    if a.strict and any(r["state"] != "PASS" for r in targets.rows):
        return 1
    if a.strict and not targets.rows:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

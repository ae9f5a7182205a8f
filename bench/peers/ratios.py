#!/usr/bin/env python3
"""Side-by-side table of regcl against its peers, with the speed targets flagged.

    python3 bench/peers/ratios.py --regcl OUT/regcl.json [--json OUT/ratios.json] [--strict] PEERFILE...

Standard library only. Inputs:
* --regcl: the JSON written by `regcl bench --json`:
    {"backends": [{"name": "opencl:0:0 ...", "kind": "opencl" | "cpu", "tuning": "...",
                   "train": [{"preset": "batch_norm", "samples_per_s": ..., "s_per_epoch": ...,
                              "epoch_seconds": [...], "late_samples_per_s": ...,
                              "late_s_per_epoch": ..., "late_epoch_seconds": [...],
                              "late_from_epoch": 8, "late_slowdown": ..., "slows": false,
                              "step_gflop": ..., "gflops": ..., "late_gflops": ...}],
                   "infer_samples_per_s": ..., "infer_gflops": ..., "infer_preset": "batch_norm",
                   "gemm": [{"shape": "fwd1", "trans": "NN", "m": 128, "n": 256, "k": 784,
                             "gflops": ...}]}]}
  samples_per_s is the FRESH figure (median of the epochs right after one warm-up epoch),
  late_* the steady state late in the run. Every field but the names is optional: a missing
  one prints "-" (older regcl.json files have no late, GFLOP/s or tuning fields). The file
  itself may be missing (the peers' numbers are still printed).
* PEERFILEs: JSON lines from the peers, told apart by their "peer" key:
  "pytorch" (bench/peers/torch_mlp.py with denormals flushed, its default: one line per
  method), "pytorch-unflushed" (torch_mlp.py --no-flush-denormal), "clblast" and "openblas"
  (bench/peers/sgemm_*.c: one line per GEMM shape). Other lines are skipped with a note.
  Where one method has several "pytorch" lines (torch_mlp.py --mode eager and --mode graph),
  the fastest (fresh samples/s) is the one compared with (--json's train rows name its
  "pytorch_mode").
  A "pytorch" line without a "flush_denormal" key was written before torch_mlp.py flushed
  denormals, so it is taken as unflushed.

Only the flushed "pytorch" lines are compared with: PyTorch on a CPU slows down several
times on denormal floats as training goes on, and a performance-minded user flushes them
(torch.set_flush_denormal(True)), as regcl does. The unflushed runs are printed in a table
of their own, with the speed-up that flushing brings, and never enter a ratio or a target.

Fresh and late: "fresh" figures are the medians of the first epochs after the warm-up,
"late" ones the medians of the last epochs of a longer run (the steady state). PyTorch's
fresh figure is its fresh_samples_per_s (samples_per_s in a line that has none).

The machine's ceiling is OpenBLAS's SGEMM GFLOP/s at shape 1024cube (1024^3), run with
the same OPENBLAS_NUM_THREADS as PyTorch's threads. Every regcl GEMM figure, regcl's
training and inference, and PyTorch's training and inference are also shown as a share of
it ("ceil%"), so that all of them are on one scale. A training figure's effective GFLOP/s
is step_gflop x steps per epoch / seconds per epoch, step_gflop being the floating-point
work of one training step (see step_gflop_formula; regcl's own figure when it gives one,
and PyTorch's is computed with the same step_gflop as the regcl figure beside it).

Targets flagged (PASS / MISS; "n/a" when a number is missing):
* every OpenCL backend: training samples/s >= 3.0x PyTorch (fresh vs fresh) for baseline,
  dropout and batch_norm; inference samples/s >= 1.0x PyTorch;
* every OpenCL backend's GEMM: >= 0.6x OpenBLAS at fwd1, fwd2, dW1, dW2 and dX2, >= 0.35x at
  fwd3, dW3 and dX3, >= 0.5x at 1024cube, and >= 3x CLBlast at every shape;
* every backend and preset with both a fresh and a late figure: late >= 0.85x fresh
  (steady state: the run does not slow down as it trains);
* the gonum CPU backend: training samples/s >= 0.5x PyTorch (fresh vs fresh) for every
  preset both measured.
Exit status 0, or with --strict 1 when a target is missed or could not be checked.
"""
import argparse
import json
import math
import sys

OPENCL_TRAIN_TARGET = 3.0
OPENCL_TRAIN_PRESETS = ("baseline", "dropout", "batch_norm")
OPENCL_INFER_TARGET = 1.0
CPU_TRAIN_TARGET = 0.5
STEADY_TARGET = 0.85  # late >= 0.85 x fresh; regcl's "slows" flag uses the same bound
GEMM_CLBLAST_TARGET = 3.0
GEMM_OPENBLAS_TARGETS = {"fwd1": 0.6, "fwd2": 0.6, "dW1": 0.6, "dW2": 0.6, "dX2": 0.6,
                         "fwd3": 0.35, "dW3": 0.35, "dX3": 0.35, "1024cube": 0.5}
CEILING_SHAPE = "1024cube"
SHAPE_ORDER = ("fwd1", "fwd2", "fwd3", "dW1", "dW2", "dW3", "dX2", "dX3", "1024cube")
PRESET_ORDER = ("baseline", "l1", "l2", "dropout", "batch_norm", "elastic_net")

# The study network and batch (DESIGN.md): Dense 784->256->128->10, batch 128, 54,000
# training images an epoch (422 steps, the last of 112 images).
LAYERS = ((784, 256), (256, 128), (128, 10))
BATCH = 128
TRAIN_SAMPLES = 54000


def step_gflop_formula(batch=BATCH):
    """GFLOP of one training step, counting the GEMMs only (2 flops a multiply-add):
    forward 2*B*(784*256 + 256*128 + 128*10); the backward pass does twice that (the weight
    gradient and the input gradient of every layer) less the first layer's input gradient,
    which nothing needs (2*B*784*256). So, with B = 128:
        3 * 2*B*(784*256 + 256*128 + 128*10) - 2*B*784*256 = 128,909,312 flops = 0.1289 GFLOP.
    Bias adds, activations, batchnorm, softmax and Adam are left out (they are O(B*width))."""
    fwd = 2 * batch * sum(i * o for i, o in LAYERS)
    return (3 * fwd - 2 * batch * LAYERS[0][0] * LAYERS[0][1]) / 1e9


def infer_gflop_per_sample():
    """GFLOP of one image through the network in inference: 2*(784*256 + 256*128 + 128*10)."""
    return 2 * sum(i * o for i, o in LAYERS) / 1e9


def speed(d):
    """A pytorch line's fresh training samples/s (0 when it has none)."""
    return d.get("fresh_samples_per_s") or d.get("samples_per_s") or 0


def read_peers(paths):
    """Returns ({method: flushed pytorch line}, {method: unflushed pytorch line},
    {peer: {shape: line}}) from JSON-lines files."""
    torch, unflushed, gemm = {}, {}, {}
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
            if peer == "pytorch" and "method" in d:
                if d.get("flush_denormal") is True:
                    # Several modes of one method (torch_mlp.py --mode eager, graph): the
                    # fastest is the peer.
                    old = torch.get(d["method"])
                    if old is None or speed(d) > speed(old):
                        torch[d["method"]] = d
                else:
                    if "flush_denormal" not in d:
                        print(f"ratios: {path}:{n}: a pytorch line without flush_denormal (from a "
                              "torch_mlp.py that did not flush denormals): taken as unflushed",
                              file=sys.stderr)
                    d = dict(d, legacy=True)
                    unflushed[d["method"]] = d
            elif peer == "pytorch-unflushed" and "method" in d:
                unflushed[d["method"]] = d
            elif peer in ("clblast", "openblas") and "shape" in d:
                gemm.setdefault(peer, {})[d["shape"]] = d
            else:
                print(f"ratios: {path}:{n}: no known peer/method/shape; skipped", file=sys.stderr)
    return torch, unflushed, gemm


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


def num(x):
    """x when it is a usable number, else None (absent fields, nulls, zeros, strings)."""
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 else None


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def fmt_num(x, digits=0):
    return "-" if x is None else f"{x:,.{digits}f}"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


def fmt_share(r):
    return "-" if r is None else f"{100 * r:.1f}%"


def short(name, width):
    return name if len(name) <= width else name[:width - 1] + "~"


def span(first, count):
    """'8-10' for epochs first..first+count-1 (1-based), or None."""
    if not first or not count:
        return None
    return str(first) if count == 1 else f"{first}-{first + count - 1}"


class Targets:
    def __init__(self):
        self.rows = []

    def check(self, what, value, target, label=""):
        state = "n/a" if value is None else ("PASS" if value >= target else "MISS")
        self.rows.append({"target": what, "ratio": value, "needed": target, "state": state})
        return f"{label}>={target:g}x {state}"


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


class TorchRun:
    """The figures of one torch_mlp.py line, old or new."""

    def __init__(self, d):
        self.d = d
        self.ntrain = num(d.get("train_samples")) or TRAIN_SAMPLES
        batch = num(d.get("batch_size")) or BATCH
        self.steps = math.ceil(self.ntrain / batch)
        self.all = num(d.get("samples_per_s"))
        self.fresh = num(d.get("fresh_samples_per_s")) if "fresh_samples_per_s" in d else self.all
        self.late = num(d.get("late_samples_per_s"))
        self.infer = num(d.get("infer_samples_per_s"))
        warm = d.get("warmup_epochs", 1)
        k = d.get("late_epochs")
        epochs = d.get("epochs")
        measured = (epochs - warm) if isinstance(epochs, int) and isinstance(warm, int) else None
        self.all_epochs = span(warm + 1, measured) if measured and measured > 0 else None
        if "fresh_from_epoch" in d and k and measured:
            self.fresh_epochs = span(d["fresh_from_epoch"], min(k, measured))
        else:
            self.fresh_epochs = self.all_epochs
        self.late_epochs = span(d.get("late_from_epoch"), k)

    def gflops(self, samples_per_s, step_gflop):
        """Effective training GFLOP/s: step_gflop x steps / seconds per epoch."""
        if samples_per_s is None or step_gflop is None:
            return None
        return step_gflop * self.steps * samples_per_s / self.ntrain


def regcl_epochs(t):
    """(fresh, late) epoch spans of a regcl train figure, 1-based (fresh after one warm-up)."""
    fresh = span(2, len(t.get("epoch_seconds") or []))
    first = t.get("late_from_epoch")
    late = span(first, len(t.get("late_epoch_seconds") or [])) or (f"{first}-" if first else None)
    return fresh, late


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--regcl", help="regcl.json written by `regcl bench --json`")
    ap.add_argument("--json", help="also write the rows and target checks here")
    ap.add_argument("--infer-preset",
                    help="the preset of regcl's inference figure when regcl.json has no infer_preset "
                    "(default: the backend's last trained preset, the network regcl bench times it on)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed or unchecked")
    ap.add_argument("peers", nargs="*", help="JSON-lines files of the peers")
    a = ap.parse_args()

    backends = read_regcl(a.regcl)
    torch_lines, unflushed, gemm = read_peers(a.peers)
    torch = {m: TorchRun(d) for m, d in torch_lines.items()}
    targets = Targets()
    cl, ob = gemm.get("clblast", {}), gemm.get("openblas", {})
    report = {"backends": [], "ceiling": None, "train": [], "infer": [], "gemm": [], "pytorch_unflushed": []}

    # The regcl backends, named in full once (the tables shorten the names).
    if backends:
        print("regcl backends:")
        for b in backends:
            tuning = b.get("tuning")
            print(f"  {b.get('name', '?')} [{b.get('kind', '?')}]; tuning: {tuning or '-'}")
            report["backends"].append({"name": b.get("name"), "kind": b.get("kind"), "tuning": tuning})
        print()

    # The machine's ceiling.
    threads = sorted({str(t.d.get("threads")) for t in torch.values()})
    top = ob.get(CEILING_SHAPE, {})
    ceiling = num(top.get("gflops"))
    ob_threads = top.get("threads") or next((d.get("threads") for d in ob.values() if d.get("threads")), None)
    if ceiling is not None:
        print(f"ceiling: OpenBLAS SGEMM 1024³, {ob_threads or '?'} threads: {ceiling:,.1f} GFLOP/s")
        report["ceiling"] = {"peer": "openblas", "shape": CEILING_SHAPE, "threads": ob_threads, "gflops": ceiling}
        pt_blas = sorted({str(t.d["openblas_threads"]) for t in torch.values() if t.d.get("openblas_threads")})
        if ob_threads is not None and any(x and x != [str(ob_threads)] for x in (threads, pt_blas)):
            print(f"  warning: OpenBLAS ran with {ob_threads} threads, PyTorch with {','.join(threads)}"
                  + (f" (its OpenBLAS with {','.join(pt_blas)})" if pt_blas else "")
                  + ": the ceiling is not that of PyTorch's configuration")
    else:
        print(f"ceiling: - (no OpenBLAS SGEMM figure at shape {CEILING_SHAPE}): every share of it is '-'")
    print()

    def share(gf):
        return ratio(gf, ceiling)

    # step_gflop of every preset as regcl gives it (the same network and batch on every backend).
    regcl_step = {}
    for b in backends:
        for t in b.get("train") or []:
            if t.get("preset") and num(t.get("step_gflop")):
                regcl_step.setdefault(t["preset"], t["step_gflop"])

    # Training throughput.
    presets = set(torch)
    for b in backends:
        presets.update(t.get("preset") for t in b.get("train") or [] if t.get("preset"))
    rows, spans, step_sources = [], {"regcl fresh": set(), "regcl late": set(),
                                     "PyTorch fresh": set(), "PyTorch late": set()}, set()
    for preset in ordered(presets, PRESET_ORDER):
        pt = torch.get(preset)
        if pt:
            spans["PyTorch fresh"].add(pt.fresh_epochs)
            spans["PyTorch late"].add(pt.late_epochs)
        lines = [(b, next((t for t in b.get("train") or [] if t.get("preset") == preset), None))
                 for b in backends]
        if not any(t for _, t in lines):  # a preset only PyTorch ran: one row, not one a backend
            lines = [(None, None)]
        for b, t in lines:
            t = t or {}
            kind = b.get("kind") if b else None
            name = b.get("name", "?") if b else ("(not run by regcl)" if backends else "(no regcl numbers)")
            fresh, late = num(t.get("samples_per_s")), num(t.get("late_samples_per_s"))
            if t:
                f_ep, l_ep = regcl_epochs(t)
                spans["regcl fresh"].add(f_ep)
                spans["regcl late"].add(l_ep)
            slowdown = num(t.get("late_slowdown")) or ratio(late, fresh)
            slows = t.get("slows")
            if not isinstance(slows, bool):
                slows = slowdown < STEADY_TARGET if slowdown is not None else None
            pt_fresh, pt_late = (pt.fresh, pt.late) if pt else (None, None)
            r_fresh, r_late = ratio(fresh, pt_fresh), ratio(late, pt_late)
            # PyTorch's work a step: the regcl figure's step_gflop for this preset, else the formula.
            if num(t.get("step_gflop")):
                step, source = t["step_gflop"], "regcl"
            elif preset in regcl_step:
                step, source = regcl_step[preset], "regcl"
            else:
                step, source = step_gflop_formula(), "formula"
            gf, late_gf = num(t.get("gflops")), num(t.get("late_gflops"))
            pt_gf = pt.gflops(pt_fresh, step) if pt else None
            pt_late_gf = pt.gflops(pt_late, step) if pt else None
            if pt and source == "formula":
                step_sources.add(preset)
            flags = []
            what = f"train {preset}: {name}"
            if kind == "opencl" and preset in OPENCL_TRAIN_PRESETS:
                flags.append(targets.check(f"{what} vs PyTorch (fresh)", r_fresh, OPENCL_TRAIN_TARGET))
            elif kind == "cpu" and fresh is not None and pt_fresh is not None:
                flags.append(targets.check(f"{what} vs PyTorch (fresh)", r_fresh, CPU_TRAIN_TARGET))
            if b is not None and fresh is not None and late is not None:
                flags.append(targets.check(f"{what} late vs fresh (steady state)", slowdown, STEADY_TARGET,
                                           "late "))
            lf = "-" if slowdown is None else f"{slowdown:.2f}" + (" SLOWS" if slows else "")
            rows.append([preset, short(name, 44), fmt_num(fresh), fmt_num(late), lf, fmt_num(pt_fresh),
                         fmt_num(pt_late), fmt_ratio(r_fresh), fmt_ratio(r_late), fmt_num(gf, 1),
                         fmt_share(share(gf)), fmt_num(pt_gf, 1), fmt_share(share(pt_gf)), "; ".join(flags)])
            report["train"].append({
                "preset": preset, "backend": name if b else None, "kind": kind,
                "regcl_samples_per_s": fresh, "regcl_late_samples_per_s": late,
                "regcl_late_from_epoch": t.get("late_from_epoch"), "regcl_late_slowdown": slowdown,
                "regcl_slows": slows,
                "pytorch_samples_per_s": pt_fresh, "pytorch_late_samples_per_s": pt_late,
                "pytorch_mode": pt.d.get("mode", "eager") if pt else None,
                "pytorch_late_from_epoch": pt.d.get("late_from_epoch") if pt else None,
                "ratio": r_fresh, "ratio_late": r_late,
                "step_gflop": step, "step_gflop_source": source,
                "regcl_gflops": gf, "regcl_late_gflops": late_gf,
                "regcl_share_of_ceiling": share(gf), "regcl_late_share_of_ceiling": share(late_gf),
                "pytorch_gflops": pt_gf, "pytorch_late_gflops": pt_late_gf,
                "pytorch_share_of_ceiling": share(pt_gf), "pytorch_late_share_of_ceiling": share(pt_late_gf)})
    version = next(iter(torch.values())).d.get("torch_version", "?") if torch else "-"
    unsupported = sorted(m for m, t in torch.items() if t.d.get("flush_denormal_supported") is False)
    leaky = sorted(m for m, t in torch.items() if t.d.get("flush_denormal_gemm_check") is False)
    if rows:
        print(f"Training throughput, samples/s (PyTorch {version}, threads {','.join(threads) or '-'}, "
              "denormals flushed; x = regcl / PyTorch, fresh vs fresh and late vs late)")
        if unsupported:
            print(f"  warning: this CPU could not flush denormals for PyTorch ({', '.join(unsupported)}): "
                  "those runs keep them")
        if leaky:
            print(f"  warning: PyTorch's GEMMs kept denormals on some threads ({', '.join(leaky)}; "
                  "flush_denormal_gemm_check false): those runs were not wholly flushed")
        print(table(["preset", "regcl backend", "fresh", "late", "late/fresh", "PT fresh", "PT late",
                     "fresh x", "late x", "GFLOP/s", "ceil%", "PT GFLOP/s", "PT ceil%", "targets"],
                    rows, left=(0, 1, -1)))
        desc = "; ".join(f"{k} {','.join(sorted(v - {None}))}" for k, v in spans.items() if v - {None})
        print(f"epochs timed (1-based): {desc or '-'}")
        formula = (f", or {step_gflop_formula():.4f} from the GEMM count (step_gflop_formula) for "
                   f"{', '.join(ordered(step_sources, PRESET_ORDER))}" if step_sources else "")
        print("GFLOP/s = step_gflop x steps / s per epoch, fresh; PyTorch's with the step_gflop of the "
              f"regcl figure beside it{formula}")
        print(f"ceil% = share of the ceiling; SLOWS: late/fresh below {STEADY_TARGET:g}")
    else:
        print("Training throughput: no figures (neither regcl's nor PyTorch's)")
    print()

    # Inference throughput. `regcl bench` times it on the network of one preset (its
    # "infer_preset"; in older files the last preset it trained, batch_norm by default):
    # compare with PyTorch's run of that preset when there is one, else with any PyTorch run
    # (the table says which).
    def infer_preset(b):
        if b and b.get("infer_preset"):
            return b["infer_preset"]
        if a.infer_preset:
            return a.infer_preset
        trained = [t.get("preset") for t in (b.get("train") or []) if t.get("preset")] if b else []
        return trained[-1] if trained else "batch_norm"

    if torch or backends:
        # GFLOP an image in inference: as regcl counts it (infer_gflops / infer_samples_per_s,
        # the first backend that gives both for the preset), else the formula.
        per_sample = {}
        for b in backends:
            p = infer_preset(b)
            r = ratio(num(b.get("infer_gflops")), num(b.get("infer_samples_per_s")))
            if r is not None:
                per_sample.setdefault(p, r)
        rows = []
        for b in backends or [None]:
            want = infer_preset(b)
            ref = torch.get(want) or next(iter(torch.values()), None)
            pt = ref.infer if ref else None
            mine = num(b.get("infer_samples_per_s")) if b else None
            mine_gf = num(b.get("infer_gflops")) if b else None
            pt_gf = pt * per_sample.get(want, infer_gflop_per_sample()) if pt is not None else None
            r = ratio(mine, pt)
            name = b.get("name", "?") if b else "(no regcl numbers)"
            flag = ""
            if b is not None and b.get("kind") == "opencl":  # only against PyTorch's run of the same preset
                same = ref is not None and ref.d.get("method") == want
                flag = targets.check(f"infer {want}: {name} vs PyTorch", r if same else None, OPENCL_INFER_TARGET)
            ptrun = f"{ref.d.get('method')}, batch {ref.d.get('infer_batch', '?')}" if ref else "-"
            rows.append([short(name, 44), want, fmt_num(mine), ptrun, fmt_num(pt), fmt_ratio(r),
                         fmt_num(mine_gf, 1), fmt_share(share(mine_gf)), fmt_num(pt_gf, 1),
                         fmt_share(share(pt_gf)), flag])
            report["infer"].append({"backend": b.get("name") if b else None, "preset": want,
                                    "pytorch_method": ref.d.get("method") if ref else None,
                                    "regcl_samples_per_s": mine, "pytorch_samples_per_s": pt, "ratio": r,
                                    "regcl_gflops": mine_gf, "regcl_share_of_ceiling": share(mine_gf),
                                    "pytorch_gflops": pt_gf, "pytorch_share_of_ceiling": share(pt_gf)})
        print("Inference on the 10,000 test images, samples/s (PyTorch denormals flushed; "
              "GFLOP/s from regcl's infer_gflops, PyTorch's with the same flops a sample)")
        print(table(["regcl backend", "preset", "regcl", "PyTorch run", "PyTorch", "ratio", "GFLOP/s",
                     "ceil%", "PT GFLOP/s", "PT ceil%", "target"], rows, left=(0, 1, 3, -1)))
        print()

    # GEMM.
    gemm_backends = [b for b in backends if b.get("gemm")] or [None]
    for b in gemm_backends:
        mine_by_shape = {g.get("shape"): g for g in (b.get("gemm") or [])} if b else {}
        name = b.get("name", "?") if b else "(no regcl numbers)"
        is_cl = b is not None and b.get("kind") == "opencl"
        rows = []
        for shape in ordered(set(mine_by_shape) | set(cl) | set(ob), SHAPE_ORDER):
            ref = mine_by_shape.get(shape) or cl.get(shape) or ob.get(shape)
            m, n, k, tr = ref.get("m"), ref.get("n"), ref.get("k"), ref.get("trans", "?")
            mine = num(mine_by_shape.get(shape, {}).get("gflops"))
            gc, go = num(cl.get(shape, {}).get("gflops")), num(ob.get(shape, {}).get("gflops"))
            rc, ro = ratio(mine, gc), ratio(mine, go)
            flags = []
            if is_cl:
                flags.append("CLBlast " + targets.check(f"gemm {shape}: {name} vs CLBlast", rc, GEMM_CLBLAST_TARGET))
                if shape in GEMM_OPENBLAS_TARGETS:
                    flags.append("OpenBLAS " + targets.check(f"gemm {shape}: {name} vs OpenBLAS", ro,
                                                             GEMM_OPENBLAS_TARGETS[shape]))
            rows.append([shape, f"{tr} {m}x{n}x{k}", fmt_num(mine, 1), fmt_num(gc, 1), fmt_num(go, 1),
                         fmt_ratio(rc), fmt_ratio(ro), fmt_share(share(mine)), "; ".join(flags)])
            report["gemm"].append({"shape": shape, "trans": tr, "m": m, "n": n, "k": k, "backend": name if b else None,
                                   "regcl_gflops": mine, "clblast_gflops": gc, "openblas_gflops": go,
                                   "ratio_clblast": rc, "ratio_openblas": ro,
                                   "regcl_share_of_ceiling": share(mine),
                                   "openblas_target": GEMM_OPENBLAS_TARGETS.get(shape)})
        if not rows:
            continue
        print(f"SGEMM GFLOP/s, regcl backend {name} (OpenBLAS threads {ob_threads or '?'}; "
              "ceil% = regcl / the ceiling)")
        header = ["shape", "trans MxNxK", "regcl", "CLBlast", "OpenBLAS", "/CLBlast", "/OpenBLAS", "ceil%",
                  "targets"]
        print(table(header, rows, left=(0, 1, -1)))
        print()

    # PyTorch without flushing denormals: shown for what flushing is worth, compared with nothing.
    if unflushed:
        rows = []
        for m in ordered(set(unflushed), PRESET_ORDER):
            u, f = TorchRun(unflushed[m]), torch.get(m)
            fl_fresh, fl_late = (f.fresh, f.late) if f else (None, None)
            # The unflushed run is short (its measured epochs are those of the flushed fresh
            # figure): its median over every measured epoch against the flushed fresh one.
            sp, sp_late = ratio(fl_fresh, u.all), ratio(fl_late, u.late)
            note = "written before torch_mlp.py flushed" if u.d.get("legacy") else ""
            rows.append([m, fmt_num(u.all), u.all_epochs or "-", fmt_num(fl_fresh), f.fresh_epochs if f else "-",
                         fmt_ratio(sp), fmt_num(u.late), fmt_num(fl_late), fmt_ratio(sp_late), note])
            report["pytorch_unflushed"].append({
                "method": m, "unflushed_samples_per_s": u.all, "unflushed_epochs": u.all_epochs,
                "unflushed_late_samples_per_s": u.late, "flushed_samples_per_s": fl_fresh,
                "flushed_late_samples_per_s": fl_late, "speedup": sp, "speedup_late": sp_late,
                "legacy": bool(u.d.get("legacy"))})
        print("PyTorch WITHOUT flushing denormals (--no-flush-denormal), samples/s: for reference only, "
              "not used for any ratio or target")
        print(table(["method", "unflushed", "epochs", "flushed fresh", "epochs", "speed-up", "unflushed late",
                     "flushed late", "late speed-up", "note"], rows, left=(0, -1)))
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

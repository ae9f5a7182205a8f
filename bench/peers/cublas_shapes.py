#!/usr/bin/env python3
"""cuBLAS, through PyTorch, at every product shape of the study: the yardstick for regcl's GEMMs.

    python3 bench/peers/cublas_shapes.py [--shapes shapes.json] [--device cuda] [--reps N] [--replays N]

prints ONE JSON line per shape (keys: peer "cublas", shape, trans, m, n, k, device, torch_version,
us_graph, gflops_graph, us_eager, gflops_eager, reps, replays) and nothing else on stdout.

Shapes: C (m x n) = op(A) . op(B) with inner size k, as regcl's device.GemmShape: trans "TN"
means A is stored k x m and used transposed, "NT" that B is stored n x k. --shapes names a JSON
file of [{"name", "trans", "m", "n", "k"}] (bench/gpu/prepare.sh writes one from
model.Products: the study's training step at batch 128 and its evaluation chunk, then the
yardstick 1024cube); without it the built-in list below, the same shapes, is used. A
transposed operand is a transposed view (.t()) of a contiguous tensor, so cuBLAS gets the
transpose flag rather than a copy.

Timing, float32, TF32 off (torch.backends.cuda.matmul.allow_tf32 = False):
* us_graph: --reps products (torch.mm into a preallocated output) captured as ONE CUDA graph,
  replayed --replays times between two CUDA events; the time per product, so device time
  without PyTorch's per-call dispatch. This is the figure to hold regcl's kernel times against.
* us_eager: the same products called one by one from Python, timed the same way: what a
  PyTorch step pays per product (about 20 us of it dispatch on an H200).
* gflops_*: 2*m*n*k / time.
On a device without CUDA (a rehearsal on a CPU) only the eager figures are measured, with
time.perf_counter (1 product a replay, 3 replays unless told), and us_graph / gflops_graph are
null with "graph": "unavailable (no CUDA)".
"""
import argparse
import json
import sys
import time

import torch

# The study's products (model.Products of the 784-256-128-10 network at batch 128, then its
# evaluation chunk of 1024 rows), and the yardstick: used when no --shapes file is given.
DEFAULT_SHAPES = [
    {"name": "fwd1", "trans": "NN", "m": 128, "n": 256, "k": 784},
    {"name": "fwd2", "trans": "NN", "m": 128, "n": 128, "k": 256},
    {"name": "fwd3", "trans": "NN", "m": 128, "n": 10, "k": 128},
    {"name": "dW3", "trans": "TN", "m": 128, "n": 10, "k": 128},
    {"name": "dX3", "trans": "NT", "m": 128, "n": 128, "k": 10},
    {"name": "dW2", "trans": "TN", "m": 256, "n": 128, "k": 128},
    {"name": "dX2", "trans": "NT", "m": 128, "n": 256, "k": 128},
    {"name": "dW1", "trans": "TN", "m": 784, "n": 256, "k": 128},
    {"name": "eval1", "trans": "NN", "m": 1024, "n": 256, "k": 784},
    {"name": "eval2", "trans": "NN", "m": 1024, "n": 128, "k": 256},
    {"name": "eval3", "trans": "NN", "m": 1024, "n": 10, "k": 128},
    {"name": "1024cube", "trans": "NN", "m": 1024, "n": 1024, "k": 1024},
]


def operands(s, device):
    """A, B and C for shape s, A and B as (possibly transposed) views."""
    m, n, k = s["m"], s["n"], s["k"]
    ta, tb = s["trans"][0] == "T", s["trans"][1] == "T"
    a = torch.randn(k, m, device=device).t() if ta else torch.randn(m, k, device=device)
    b = torch.randn(n, k, device=device).t() if tb else torch.randn(k, n, device=device)
    c = torch.empty(m, n, device=device)
    return a, b, c


def time_cuda(fn, replays, device):
    """Milliseconds for `replays` calls of fn, between two CUDA events."""
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize(device)
    start.record()
    for _ in range(replays):
        fn()
    end.record()
    torch.cuda.synchronize(device)
    return start.elapsed_time(end)


def measure_cuda(s, device, reps, replays):
    a, b, c = operands(s, device)

    def products():
        for _ in range(reps):
            torch.mm(a, b, out=c)

    # Warm up (cuBLAS handles, workspaces, heuristics) on a side stream, then capture.
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        products()
    torch.cuda.current_stream(device).wait_stream(side)
    torch.cuda.synchronize(device)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        products()
    g.replay()  # once untimed
    us_graph = time_cuda(g.replay, replays, device) * 1e3 / (replays * reps)
    products()
    us_eager = time_cuda(products, replays, device) * 1e3 / (replays * reps)
    return us_graph, us_eager


def measure_cpu(s, reps, replays):
    a, b, c = operands(s, "cpu")
    for _ in range(reps):
        torch.mm(a, b, out=c)
    t0 = time.perf_counter()
    for _ in range(replays):
        for _ in range(reps):
            torch.mm(a, b, out=c)
    return None, (time.perf_counter() - t0) * 1e6 / (replays * reps)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", help="JSON file of [{name, trans, m, n, k}] (default: the built-in list)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--reps", type=int, help="products captured in one graph (default 20; 1 on a CPU)")
    ap.add_argument("--replays", type=int, help="timed replays (default 50; 3 on a CPU)")
    a = ap.parse_args()
    shapes = DEFAULT_SHAPES
    if a.shapes:
        with open(a.shapes) as f:
            shapes = json.load(f)
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    if a.reps is None:
        a.reps = 20 if cuda else 1
    if a.replays is None:
        a.replays = 50 if cuda else 3
    if cuda and not torch.cuda.is_available():
        sys.exit("cublas_shapes: --device cuda but torch.cuda.is_available() is False")
    torch.backends.cuda.matmul.allow_tf32 = False  # FP32 products, as regcl's
    torch.backends.cudnn.allow_tf32 = False
    name = f"{device} ({torch.cuda.get_device_name(device)})" if cuda else str(device)
    for s in shapes:
        if cuda:
            us_graph, us_eager = measure_cuda(s, device, a.reps, a.replays)
        else:
            us_graph, us_eager = measure_cpu(s, a.reps, a.replays)
        flop = 2.0 * s["m"] * s["n"] * s["k"]
        line = {"peer": "cublas" if cuda else "torch-cpu", "shape": s["name"], "trans": s["trans"],
                "m": s["m"], "n": s["n"], "k": s["k"], "device": name, "torch_version": torch.__version__,
                "tf32": False, "reps": a.reps, "replays": a.replays,
                "us_graph": None if us_graph is None else round(us_graph, 3),
                "gflops_graph": None if us_graph is None else round(flop / us_graph / 1e3, 1),
                "us_eager": round(us_eager, 3), "gflops_eager": round(flop / us_eager / 1e3, 1)}
        if not cuda:
            line["graph"] = "unavailable (no CUDA)"
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()

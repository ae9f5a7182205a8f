#!/usr/bin/python3
"""PyTorch peer of `regcl bench`: the study network and its training, timed like regcl.

Run with Debian's interpreter (/usr/bin/python3, which has python3-torch):

    /usr/bin/python3 bench/peers/torch_mlp.py [--data DIR] --method batch_norm --epochs 10

and it prints ONE JSON line (keys: peer, method, device, threads, epochs,
warmup_epochs, s_per_epoch_median, samples_per_s, fresh_samples_per_s,
late_samples_per_s, late_slowdown, epoch_seconds, infer_samples_per_s, flush_denormal,
test_accuracy, val_accuracy, peak_rss_mib, mode, samples_per_epoch, steps_per_epoch,
us_per_step, setup_s, and a few more described below).

Modes: eager (the default) and graph (--mode graph, CUDA only)
--------------------------------------------------------------
--mode eager runs each training step from Python, as a PyTorch user writes it. --mode graph
is what a performance-minded PyTorch user on a GPU runs: the WHOLE step (gathering the
batch from the images already on the device, forward, loss, backward, Adam and the epoch
accumulators) is captured once as a CUDA graph (torch.cuda.CUDAGraph, torch.cuda.graph) and
replayed each step with one call, so Python and the launches cost almost nothing. As in
PyTorch's whole-network capture example: the batch's row numbers are a static input
buffer, copied into before each replay; Adam is torch.optim.Adam(capturable=True), whose
step count lives on the device; three warm-up steps run on a side stream before capture
(then the parameters, buffers and Adam's state are put back, in place, so the timed run
starts from the initial weights); gradients are set to None before capture so backward
allocates them from the graph's pool. Differences from eager, all recorded in the JSON:
a graph has one shape, so an epoch is the 421 full batches of 128 (53,888 images;
samples_per_epoch, steps_per_epoch) without the last one of 112; Adam uses plain eps
(adam_eps "torch"), since Keras's placement needs a new value each step; the capture's
time is setup_s, outside the timed epochs. Inference (infer_samples_per_s) is eager in
both modes. On a device without CUDA, --mode graph prints why to stderr and exits with
status 3 (EXIT_UNAVAILABLE) without running anything. Rates are always images trained per
second of training (samples_per_epoch / seconds), so the two modes compare directly.

Denormal floats are flushed to zero by default (--no-flush-denormal to keep them)
-----------------------------------------------------------------------------------
As training goes on, more and more of the CPU's float32 arithmetic meets denormal
(subnormal) numbers, which x86 CPUs handle in slow microcode: Debian's PyTorch 1.13 on
the CPU trains the baseline at about 3.0k samples/s with denormals and 19.0k with
torch.set_flush_denormal(True), which any performance-minded user sets (regcl flushes
them on every backend too, DESIGN.md). So by default the script calls
torch.set_flush_denormal(True) before any work, and the JSON line says
"flush_denormal": true with "flush_denormal_supported": what the call returned (False
where the CPU cannot flush, e.g. without SSE3, and then nothing is flushed). With
--no-flush-denormal it calls torch.set_flush_denormal(False) instead and writes
"peer": "pytorch-unflushed" rather than "pytorch", so that the figure is never taken for
the fair one (bench/peers/ratios.py only compares against "pytorch" lines). The setting
is a CPU-side one: with --device cuda it is still made and recorded, and it matters only
for what runs on the host.
torch.set_flush_denormal sets the calling thread's MXCSR, which threads started later
inherit, but Debian's torch does its GEMMs in OpenBLAS, whose worker threads started when
torch was imported: they kept denormals, so with 2 threads half of every GEMM did. When
flushing, the script therefore has OpenBLAS restart its threads (blas_thread_shutdown_;
"blas_threads_restarted" lists the libraries), and "flush_denormal_gemm_check" records
whether a GEMM whose products are all denormal then gives exact zeros (true: every GEMM
thread flushes; with --no-flush-denormal it is false).

What is re-created, and how faithfully (the Keras study as DESIGN.md describes it)
----------------------------------------------------------------------------------
* Network: Dense 784->256 ReLU, Dense 256->128 ReLU, Dense 128->10, softmax fused into
  the loss (nn.CrossEntropyLoss on logits, mean over the batch; Keras does the same once
  it sees that the model ends in a softmax). batch_norm puts BatchNorm1d(eps=1e-3,
  momentum=0.01) after each hidden ReLU: PyTorch's momentum is the weight of the new
  batch, so 0.01 here is Keras's momentum 0.99 (moving <- 0.99*moving + 0.01*batch).
  gamma=1, beta=0, moving mean 0 and moving variance 1 at the start, as in Keras.
  dropout puts Dropout(0.3) (inverted, like Keras) after each hidden ReLU.
* Penalties (l1, l2, elastic_net) are added to the loss of every batch and act on the two
  hidden kernels only, not on biases, BatchNorm parameters or the output layer:
  l1*sum|W| + l2*sum(W^2), so the gradient is l1*sign(W) + 2*l2*W exactly as in Keras.
  They are NOT done through Adam's weight_decay, which would add l2*W (not 2*l2*W) and
  would also touch biases.
* Init: Glorot (Xavier) uniform kernels, limit sqrt(6/(fan_in+fan_out)), zero biases.
* Adam lr 1e-3, betas (0.9, 0.999), epsilon 1e-7, with Keras's placement of epsilon.
  Keras updates W -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps), while torch.optim.Adam
  divides by (sqrt(v)/sqrt(1-b2^t) + eps). The two agree exactly when PyTorch is given
  eps_t = eps/sqrt(1-b2^t), so the script sets the param group's eps to that before each
  step (a dict write, no cost). Pass --torch-eps to use plain eps=1e-7 instead.
* Data: the gzipped IDX files from --data (else where regcl looks), pixels byte/255 as
  float32. Validation is the LAST 6,000 of the 60,000 training images (Keras's
  validation_split=0.1 slices before any shuffling); the first 54,000 are reshuffled
  every epoch and cut into batches of 128 (422 steps, the last one 112 images). With
  --limit N the first N images are used and the last 10% of them validate.
* Metrics: validation accuracy at the end of each epoch in eval mode (moving statistics,
  no dropout); test loss and accuracy on the 10,000 test images after training. Training
  loss and accuracy are accumulated on the device over the epoch's batches, as Keras (and
  regcl) compute them, without a host sync per step; they are reported as train_loss and
  train_accuracy.

The one known difference from Keras (apart from random streams: the shuffles, dropout
masks and initial weights come from PyTorch's generators, so runs match Keras in
distribution, not bit for bit):
* BatchNorm's running variance. Both frameworks NORMALIZE a training batch with the biased
  batch variance (divide by n). For the moving estimate used at inference, Keras's
  BatchNormalization on 2-D (Dense) input takes the non-fused path, whose moments are the
  biased variance (divide by n), so moving_var <- 0.99*moving_var + 0.01*var_n. PyTorch
  updates running_var with the UNBIASED variance (divide by n-1): 0.99*running_var +
  0.01*var_n*n/(n-1), i.e. every update is larger by 128/127 (+0.79 %) for the full
  batches and 112/111 (+0.90 %) for the last one. In steady state the running variance is
  about 0.8 % larger than Keras's, so inference activations after each BatchNorm are
  scaled by about 1/sqrt(1.008), 0.4 % smaller; the effect on accuracy is far below the
  seed-to-seed spread. (Keras's FUSED path for 4-D/5-D input does use n/(n-1), but the
  study's Dense network never takes it.) This script keeps nn.BatchNorm1d as it is,
  since it is what a PyTorch user would run and what is being timed.

How it measures (as `regcl bench` does)
---------------------------------------
* epoch_seconds: wall time of each epoch's training loop alone: the shuffle, the 422
  optimizer steps and nothing else (validation and metric read-back are outside it). With
  --device cuda the clock is read only after torch.cuda.synchronize().
* The first --warmup-epochs (default 1) epochs are not counted; s_per_epoch_median is the
  median over the rest and samples_per_s = training images / that median.
* Fresh and late figures, K = --late-epochs (default 3): fresh_samples_per_s = training
  images / fresh_s_per_epoch, the median of the first K epochs after the warm-up (of as
  many as there are, if fewer), from epoch fresh_from_epoch (1-based) on;
  late_samples_per_s = training images / late_s_per_epoch, the median of the LAST K
  epochs, which start at epoch late_from_epoch (1-based), and late_slowdown =
  late_samples_per_s / fresh_samples_per_s. The late figures need epochs >= warmup + 2K
  (the two sets of epochs do not overlap) and are null otherwise: with the defaults,
  --epochs 10 gives fresh = epochs 2-4 and late = epochs 8-10. A run that slows down as
  it trains (denormals, say) shows a late_slowdown well below 1.
* infer_samples_per_s: the 10,000 test images through the trained network in eval mode
  under torch.no_grad(), one warm-up pass, then the median of 5 timed passes. A pass is
  what regcl's test pass does: logits, cross-entropy loss and accuracy, two scalars read
  back. By default the whole 10,000 go as ONE batch (--infer-batch 0), or in chunks of
  --infer-batch images; the key infer_batch says which was used. `regcl bench` times
  inference on the network of its last preset (batch_norm by default), so compare with
  this script's batch_norm run.
* peak_rss_mib: resource.getrusage(RUSAGE_SELF).ru_maxrss (KiB on Linux) / 1024, the peak
  of the whole process including the data set and the torch runtime.
* threads: torch.set_num_threads and torch.set_num_interop_threads(--threads) before any
  work; the values torch reports back are in threads and interop_threads. Where torch's
  GEMMs run in OpenBLAS (Debian's build), OpenBLAS has threads of its own, as many as
  OPENBLAS_NUM_THREADS says, else one a CPU (bench/compare.sh sets it to --threads): the
  count is in openblas_threads (null without OpenBLAS).
"""
import argparse
import gzip
import json
import math
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn

METHODS = ("baseline", "l1", "l2", "dropout", "batch_norm", "elastic_net")
# (lambda1, lambda2) on the two hidden kernels.
PENALTIES = {"l1": (1e-4, 0.0), "l2": (0.0, 1e-4), "elastic_net": (1e-5, 1e-4)}
BATCH = 128
MODES = ("eager", "graph")
EXIT_UNAVAILABLE = 3  # --mode graph without a CUDA device: nothing was run
ADAM_LR, ADAM_B1, ADAM_B2, ADAM_EPS = 1e-3, 0.9, 0.999, 1e-7


MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
GOMNIST = os.path.join("github.com", "petar", "!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data")


def find_data():
    """The MNIST folder where regcl looks when --data is not given: $REGCL_DATA, the
    user cache (~/.cache/regcl/mnist), then the Go module cache's copy of GoMNIST."""
    home = os.path.expanduser("~")
    modcache = os.environ.get("GOMODCACHE") or os.path.join(
        (os.environ.get("GOPATH") or os.path.join(home, "go")).split(os.pathsep)[0], "pkg", "mod")
    places = [os.environ.get("REGCL_DATA", ""),
              os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "regcl", "mnist"),
              os.path.join(modcache, GOMNIST)]
    for d in places:
        if d and all(os.path.isfile(os.path.join(d, f)) for f in MNIST_FILES):
            return d
    sys.exit("torch_mlp: no MNIST folder found in $REGCL_DATA, the regcl cache or the Go module "
             "cache; pass --data DIR")


def read_idx(path):
    """Returns the array held by one gzipped IDX file (unsigned bytes)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != math.prod(dims):
        raise ValueError(f"{path}: {data.size} bytes of data, header says {dims}")
    return data.reshape(dims)


def load_mnist(folder):
    def images(name):
        a = read_idx(os.path.join(folder, name))
        return a.reshape(a.shape[0], -1).astype(np.float32) / np.float32(255)

    def labels(name):
        return read_idx(os.path.join(folder, name)).astype(np.int64)

    return (images(MNIST_FILES[0]), labels(MNIST_FILES[1]), images(MNIST_FILES[2]), labels(MNIST_FILES[3]))


class StudyMLP(nn.Module):
    """784-256-128-10; BatchNorm or Dropout after each hidden ReLU, per method."""

    def __init__(self, method):
        super().__init__()
        self.hidden = nn.ModuleList([nn.Linear(784, 256), nn.Linear(256, 128)])
        self.out = nn.Linear(128, 10)
        self.after = nn.ModuleList()
        for width in (256, 128):
            if method == "batch_norm":
                self.after.append(nn.BatchNorm1d(width, eps=1e-3, momentum=0.01))
            elif method == "dropout":
                self.after.append(nn.Dropout(0.3))
            else:
                self.after.append(nn.Identity())
        for lin in (*self.hidden, self.out):
            nn.init.xavier_uniform_(lin.weight)  # same limit for (out,in) as Keras's (in,out)
            nn.init.zeros_(lin.bias)

    def forward(self, x):
        for lin, after in zip(self.hidden, self.after):
            x = after(torch.relu(lin(x)))
        return self.out(x)  # logits; softmax lives in the loss

    def penalty(self, l1, l2):
        p = 0.0
        for lin in self.hidden:
            if l1:
                p = p + l1 * lin.weight.abs().sum()
            if l2:
                p = p + l2 * lin.weight.square().sum()
        return p


def openblas_libraries():
    """The OpenBLAS libraries loaded in this process, as (path, ctypes handle), one per
    library (several paths can lead to one: Debian's libblas.so.3 and liblapack.so.3
    resolve to libopenblasp-*.so); empty where torch uses no OpenBLAS (MKL, say)."""
    import ctypes
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        return []
    libs, seen = [], set()
    # Paths named after OpenBLAS first, so that a library is listed by its own name.
    for path in sorted(paths, key=lambda p: ("openblas" not in os.path.basename(p).lower(), p)):
        try:
            lib = ctypes.CDLL(path)
            addr = ctypes.cast(lib.blas_thread_shutdown_, ctypes.c_void_p).value
        except (OSError, AttributeError):
            continue
        if addr not in seen:
            seen.add(addr)
            libs.append((path, lib))
    return libs


def restart_openblas_threads():
    """Makes OpenBLAS start its worker threads again, so that they inherit the calling
    thread's floating-point state. An OpenBLAS built with its own pthreads pool (Debian's
    libopenblas0-pthread, behind torch's generic BLAS) starts that pool when the library
    is loaded, that is at `import torch`, so torch.set_flush_denormal(True) reaches the
    main thread and torch's OpenMP threads but not the BLAS threads: with 2 threads, half
    of every GEMM went on with denormals. blas_thread_shutdown_ (the function OpenBLAS runs
    before a fork) stops the pool; the next GEMM starts a new one from this thread, with
    the same number of threads. Returns the paths of the libraries it did this for."""
    done = []
    for path, lib in openblas_libraries():
        lib.blas_thread_shutdown_()
        done.append(path)
    return done


def openblas_threads():
    """OpenBLAS's thread count (OPENBLAS_NUM_THREADS, else the CPUs), or None without OpenBLAS."""
    for _, lib in openblas_libraries():
        try:
            return int(lib.openblas_get_num_threads())
        except AttributeError:
            pass
    return None


def gemm_flushes_denormals():
    """Whether a CPU GEMM flushes denormals on every thread it runs on: 512x512 values of
    1e-20, whose products (1e-40) are denormal, multiplied; flushed, each product is zero,
    kept, each entry sums to 5.1e-38, a normal float."""
    x = torch.full((512, 512), 1e-20)
    return bool((x @ x == 0).all())


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def evaluate(model, x, y, chunk=0):
    """Inference-mode loss and accuracy over (x, y), as Keras's evaluate and regcl's test
    pass compute them: logits, summed cross-entropy and correct count on the device, two
    scalars read back at the end. chunk > 0 feeds the images in chunks of that many."""
    model.eval()
    with torch.no_grad():
        loss = torch.zeros((), device=x.device)
        right = torch.zeros((), device=x.device, dtype=torch.int64)
        step = chunk if chunk > 0 else len(x)
        for i in range(0, len(x), step):
            logits = model(x[i:i + step])
            loss += nn.functional.cross_entropy(logits, y[i:i + step], reduction="sum")
            right += (logits.argmax(1) == y[i:i + step]).sum()
        return loss.item() / len(x), right.item() / len(x)


def infer_throughput(model, x, y, device, chunk, passes=5):
    """Median images/s of `passes` timed evaluate() passes over (x, y), after one warm-up."""
    evaluate(model, x, y, chunk)
    times = []
    for _ in range(passes):
        sync(device)
        t0 = time.perf_counter()
        evaluate(model, x, y, chunk)  # ends with .item(), which waits for the device
        sync(device)
        times.append(time.perf_counter() - t0)
    return len(x) / statistics.median(times)


class Replay:
    """A captured training step: calling it replays the graph; idx is its static input,
    the BATCH row numbers of the images (and labels) the next replay trains on."""

    def __init__(self, g, idx):
        self.g, self.idx = g, idx

    def __call__(self):
        self.g.replay()


def capture_step(model, opt, lossf, l1, l2, xt, yt, device, warmup=3):
    """Captures one whole training step (gather, forward, loss, backward, capturable Adam and
    the epoch accumulators) as a CUDA graph, as torch.cuda.graphs' whole-network example
    does: static input buffers, a few warm-up steps on a side stream (they initialise Adam's
    state and cuBLAS's workspaces, which must exist before capture), grads set to None so that
    backward allocates them from the graph's pool, then capture. The warm-up steps really
    train, so the model's parameters and buffers and Adam's state are put back afterwards, in
    place (the graph holds their addresses): the timed run starts from the same initial
    weights as an eager one. Returns (Replay, loss_sum, right, seconds spent)."""
    t0 = time.perf_counter()
    idx = torch.zeros(BATCH, dtype=torch.int64, device=device)  # static input: row numbers
    loss_sum = torch.zeros((), device=device)
    right = torch.zeros((), device=device, dtype=torch.int64)

    def step():
        xb = xt.index_select(0, idx)
        yb = yt.index_select(0, idx)
        logits = model(xb)
        loss = lossf(logits, yb)
        if l1 or l2:
            loss = loss + model.penalty(l1, l2)
        loss.backward()
        opt.step()
        with torch.no_grad():
            loss_sum.add_(loss.detach())
            right.add_((logits.argmax(1) == yb).sum())

    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.train()
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(warmup):
            opt.zero_grad(set_to_none=True)
            step()
    torch.cuda.current_stream(device).wait_stream(side)
    torch.cuda.synchronize(device)

    g = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(g):
        step()
    torch.cuda.synchronize(device)

    # Undo the warm-up, in place: capture ran nothing, so this is the only training done.
    with torch.no_grad():
        for k, v in model.state_dict().items():
            v.copy_(initial[k])
        for state in opt.state.values():
            for v in state.values():
                if torch.is_tensor(v):
                    v.zero_()  # step, exp_avg, exp_avg_sq
        loss_sum.zero_()
        right.zero_()
    torch.cuda.synchronize(device)
    return Replay(g, idx), loss_sum, right, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="folder with the four gzipped MNIST IDX files (default: where "
                    "regcl looks: $REGCL_DATA, ~/.cache/regcl/mnist, the Go module cache)")
    ap.add_argument("--method", default="batch_norm", choices=METHODS)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--warmup-epochs", type=int, default=1,
                    help="leading epochs left out of the median (default 1)")
    ap.add_argument("--threads", type=int, default=2, help="intra- and inter-op threads (default 2)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (or cuda:N)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    ap.add_argument("--infer-batch", type=int, default=0,
                    help="inference chunk size; 0 = all 10,000 test images as one batch")
    ap.add_argument("--torch-eps", action="store_true",
                    help="plain torch Adam eps=1e-7 instead of Keras's epsilon placement")
    # A pair of flags rather than argparse.BooleanOptionalAction, which needs Python 3.9.
    ap.add_argument("--flush-denormal", dest="flush_denormal", action="store_true", default=True,
                    help="torch.set_flush_denormal(True) before any work (the default)")
    ap.add_argument("--no-flush-denormal", dest="flush_denormal", action="store_false",
                    help="keep denormal floats (slow on CPUs); the JSON's peer is then pytorch-unflushed")
    ap.add_argument("--mode", default="eager", choices=MODES,
                    help="eager: one Python-driven step after another (the default); graph: the whole "
                    "training step captured once as a CUDA graph and replayed (needs --device cuda)")
    ap.add_argument("--late-epochs", type=int, default=3,
                    help="K: fresh = median of the first K epochs after the warm-up, late = median of "
                    "the last K (needs epochs >= warmup + 2K; default 3)")
    a = ap.parse_args()
    if a.epochs < 1:
        ap.error("--epochs must be at least 1")
    if a.late_epochs < 1:
        ap.error("--late-epochs must be at least 1")

    # Denormals first, before any work and before torch starts its worker threads: the call
    # sets the calling thread's MXCSR, and threads created later inherit it (pthreads copy
    # the floating-point environment). Set either way, so the state is known.
    flush_supported = bool(torch.set_flush_denormal(a.flush_denormal))
    if a.flush_denormal and not flush_supported:
        print("torch_mlp: torch.set_flush_denormal(True) returned False: this CPU cannot flush "
              "denormals, the run keeps them", file=sys.stderr)
    # OpenBLAS's worker threads were started when torch loaded it, before the call above.
    restarted = restart_openblas_threads() if a.flush_denormal else []

    # Threads first: set_num_interop_threads fails once inter-op work has started.
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(a.threads)
    except RuntimeError as e:
        print(f"torch_mlp: set_num_interop_threads: {e}", file=sys.stderr)
    gemm_flushes = gemm_flushes_denormals()  # also starts the restarted BLAS threads, flushed
    if a.flush_denormal and flush_supported and not gemm_flushes:
        print("torch_mlp: denormals are flushed on this thread but a CPU GEMM still produces them: "
              "some BLAS worker threads keep denormals", file=sys.stderr)
    device = torch.device(a.device)
    if a.mode == "graph" and (device.type != "cuda" or not torch.cuda.is_available()):
        print(f"torch_mlp: --mode graph is unavailable on --device {a.device} (CUDA graphs need a CUDA "
              "device); nothing was run", file=sys.stderr)
        sys.exit(EXIT_UNAVAILABLE)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            sys.exit("torch_mlp: --device cuda but torch.cuda.is_available() is False")
        torch.backends.cuda.matmul.allow_tf32 = False  # float32 GEMMs, as Keras and regcl do
        torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(a.seed)
    shuffler = torch.Generator().manual_seed(a.seed)  # CPU stream: same shuffles on any device

    xtr, ytr, xte, yte = load_mnist(a.data or find_data())
    if a.limit:
        xtr, ytr = xtr[:a.limit], ytr[:a.limit]
    nval = int(len(xtr) * 0.1)  # Keras: the last 10 % of the arrays, before any shuffle
    ntrain = len(xtr) - nval
    xt = torch.from_numpy(xtr[:ntrain].copy()).to(device)
    yt = torch.from_numpy(ytr[:ntrain].copy()).to(device)
    xv = torch.from_numpy(xtr[ntrain:].copy()).to(device)
    yv = torch.from_numpy(ytr[ntrain:].copy()).to(device)
    xs = torch.from_numpy(xte).to(device)
    ys = torch.from_numpy(yte).to(device)
    del xtr, ytr, xte, yte

    model = StudyMLP(a.method).to(device)
    l1, l2 = PENALTIES.get(a.method, (0.0, 0.0))
    graph = a.mode == "graph"
    torch_eps = a.torch_eps or graph  # a captured step cannot take a new eps each step
    opt = torch.optim.Adam(model.parameters(), lr=ADAM_LR, betas=(ADAM_B1, ADAM_B2), eps=ADAM_EPS,
                           **({"capturable": True} if graph else {}))
    group = opt.param_groups[0]
    lossf = nn.CrossEntropyLoss()

    setup_s = 0.0
    if graph:
        # Full batches only: a captured graph has one shape, so the last batch of 112 is left out.
        steps_per_epoch = ntrain // BATCH
        samples_per_epoch = steps_per_epoch * BATCH
        replay, loss_sum, right, setup_s = capture_step(model, opt, lossf, l1, l2, xt, yt, device)
        idx_static = replay.idx
    else:
        steps_per_epoch = (ntrain + BATCH - 1) // BATCH
        samples_per_epoch = ntrain

    epoch_seconds, val_acc, train_loss, train_acc = [], [], [], []
    step = 0
    for _ in range(a.epochs):
        model.train()
        if graph:
            loss_sum.zero_()  # the captured step adds into these tensors in place
            right.zero_()
        else:
            loss_sum = torch.zeros((), device=device)
            right = torch.zeros((), device=device, dtype=torch.int64)
        sync(device)
        t0 = time.perf_counter()
        perm = torch.randperm(ntrain, generator=shuffler).to(device)
        if graph:
            for i in range(steps_per_epoch):
                idx_static.copy_(perm[i * BATCH:(i + 1) * BATCH])
                replay()
        else:
            for i in range(0, ntrain, BATCH):
                idx = perm[i:i + BATCH]
                xb, yb = xt[idx], yt[idx]
                step += 1
                if not torch_eps:
                    group["eps"] = ADAM_EPS / math.sqrt(1.0 - ADAM_B2 ** step)
                opt.zero_grad(set_to_none=True)
                logits = model(xb)
                loss = lossf(logits, yb)
                if l1 or l2:
                    loss = loss + model.penalty(l1, l2)
                loss.backward()
                opt.step()
                with torch.no_grad():  # Keras-style epoch metrics, kept on the device
                    loss_sum += loss.detach()
                    right += (logits.argmax(1) == yb).sum()
        sync(device)
        epoch_seconds.append(time.perf_counter() - t0)
        train_loss.append(round(loss_sum.item() / steps_per_epoch, 5))
        train_acc.append(round(right.item() / samples_per_epoch, 5))
        val_acc.append(round(evaluate(model, xv, yv, a.infer_batch)[1], 5))

    measured = epoch_seconds[a.warmup_epochs:]
    if not measured:
        print(f"torch_mlp: --epochs {a.epochs} leaves no epoch after {a.warmup_epochs} warm-up "
              "epoch(s); the median is over all epochs", file=sys.stderr)
        measured = epoch_seconds
    median = statistics.median(measured)
    first_timed = len(epoch_seconds) - len(measured)  # 0-based index of measured[0]
    k = a.late_epochs
    fresh = statistics.median(measured[:k])
    late, late_from = None, None
    if a.epochs >= a.warmup_epochs + 2 * k:
        late = statistics.median(epoch_seconds[-k:])
        late_from = a.epochs - k + 1

    test_loss, test_acc = evaluate(model, xs, ys, a.infer_batch)
    infer = infer_throughput(model, xs, ys, device, a.infer_batch)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    print(json.dumps({
        "peer": "pytorch" if a.flush_denormal else "pytorch-unflushed",
        "torch_version": torch.__version__,
        "method": a.method,
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "seed": a.seed,
        "mode": a.mode,
        "train_samples": ntrain,
        "samples_per_epoch": samples_per_epoch,
        "steps_per_epoch": steps_per_epoch,
        "setup_s": round(setup_s, 3),
        "batch_size": BATCH,
        "epochs": a.epochs,
        "warmup_epochs": a.warmup_epochs,
        "s_per_epoch_median": round(median, 4),
        "samples_per_s": round(samples_per_epoch / median, 1),
        "us_per_step": round(median / steps_per_epoch * 1e6, 2),
        "late_epochs": k,
        "fresh_from_epoch": first_timed + 1,
        "fresh_s_per_epoch": round(fresh, 4),
        "fresh_samples_per_s": round(samples_per_epoch / fresh, 1),
        "late_from_epoch": late_from,
        "late_s_per_epoch": None if late is None else round(late, 4),
        "late_samples_per_s": None if late is None else round(samples_per_epoch / late, 1),
        "late_slowdown": None if late is None else round(fresh / late, 4),
        "epoch_seconds": [round(s, 4) for s in epoch_seconds],
        "infer_batch": a.infer_batch if a.infer_batch > 0 else len(xs),
        "infer_samples_per_s": round(infer, 1),
        "test_loss": round(test_loss, 5),
        "test_accuracy": round(test_acc, 5),
        "val_accuracy": val_acc,
        "train_loss": train_loss,
        "train_accuracy": train_acc,
        "adam_eps": "torch" if torch_eps else "keras",
        "adam_capturable": graph,
        "flush_denormal": a.flush_denormal,
        "flush_denormal_supported": flush_supported,
        "flush_denormal_gemm_check": gemm_flushes,
        "blas_threads_restarted": restarted,
        "openblas_threads": openblas_threads(),
        "peak_rss_mib": round(peak_rss_mib, 1),
    }))


if __name__ == "__main__":
    main()

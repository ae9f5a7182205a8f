#!/usr/bin/env bash
# bench/gpu/run.sh — the whole GPU measurement in one go, on a machine that
# has an NVIDIA GPU, its driver and PyTorch, but no Go and no network. Run
# from the repository root after bench/gpu/prepare.sh, with the bundle carried:
#
#   bash bench/gpu/bundle/run.sh [RESULTS_DIR]     (default $OUT, else bench/gpu/results)
#
# It unpacks the ICD loader, finds NVIDIA's OpenCL driver (libnvidia-opencl.so*,
# in the driver's folders or through ldconfig -p), writes an ICD file for it
# into a folder named by OCL_ICD_VENDORS, and runs: regcl devices, regcl tune
# (TUNE_BUDGET, 2 minutes by default) into RESULTS_DIR/tuning.json, regcl bench
# (untuned and tuned GEMM columns, launches and kernel time per step), the
# default regcl compare at --parallel 1 and at PARALLEL (6 by default), and the
# PyTorch re-creation of the study network on the same GPU. Everything it prints also goes to
# RESULTS_DIR/run.log.
#
# REHEARSE=1 runs the same steps on a machine without NVIDIA's driver, with
# PoCL's ICD and PyTorch on the CPU, and EPOCHS/SEEDS shrink the compare.
# PYTHON names the interpreter with torch (default: the first of python3,
# /usr/bin/python3 and python that imports torch and numpy).
set -uo pipefail
B=$(cd "$(dirname "$0")" && pwd)
R=${1:-${OUT:-bench/gpu/results}}
mkdir -p "$R"
R=$(cd "$R" && pwd)
exec > >(tee -a "$R/run.log") 2>&1
step() { echo; echo "=== $* ($(date -u +%H:%M:%S))"; }
T0=$(date +%s)

step "machine"
uname -a
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "no nvidia-smi"

step "OpenCL ICD loader from Debian's package"
icd=$(mktemp -d /tmp/regcl-icd.XXXXXX)
dpkg -x "$B"/deb/ocl-icd-libopencl1_*.deb "$icd/root"
export REGCL_OPENCL_LIB=$(ls "$icd"/root/usr/lib/x86_64-linux-gnu/libOpenCL.so.1* | head -n 1)
echo "REGCL_OPENCL_LIB=$REGCL_OPENCL_LIB"

step "NVIDIA's OpenCL driver"
nv=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so/ {print $NF; exit}')
if [ -z "$nv" ]; then
  for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/nvidia /usr/local/cuda/lib64; do
    nv=$(ls "$d"/libnvidia-opencl.so* 2>/dev/null | head -n 1)
    [ -n "$nv" ] && break
  done
fi
if [ -z "$nv" ]; then
  nv=$(find / -xdev -name 'libnvidia-opencl.so*' 2>/dev/null | head -n 1)
fi
mkdir -p "$icd/vendors"
export OCL_ICD_VENDORS="$icd/vendors"
torchdev=cuda
if [ -n "$nv" ]; then
  echo "$nv" > "$OCL_ICD_VENDORS/nvidia.icd"
  echo "ICD: $nv"
elif [ "${REHEARSE:-0}" = 1 ] && [ -e /etc/OpenCL/vendors/pocl.icd ]; then
  cp /etc/OpenCL/vendors/pocl.icd "$OCL_ICD_VENDORS/"
  echo "REHEARSAL: no NVIDIA driver, using PoCL ($(cat /etc/OpenCL/vendors/pocl.icd))"
  torchdev=cpu
else
  echo "no libnvidia-opencl.so found; set REHEARSE=1 to rehearse on PoCL"
  exit 1
fi

REGCL="$B/regcl"
DATA=(--data "$B/data")

step "regcl devices"
"$REGCL" devices

step "regcl tune (budget ${TUNE_BUDGET:-2m})"
"$REGCL" tune --device opencl --budget "${TUNE_BUDGET:-2m}" --out "$R/tuning.json" | tee "$R/tune.txt"
TUNING=(--tuning "$R/tuning.json")
[ -s "$R/tuning.json" ] || TUNING=()

step "regcl bench (OpenCL backends; untuned and tuned)"
"$REGCL" bench --backends opencl "${DATA[@]}" "${TUNING[@]}" --epochs "${BENCH_EPOCHS:-3}" \
  --late-epoch "${LATE_EPOCH:-0}" --json "$R/bench.json" | tee "$R/bench.txt"

for p in 1 "${PARALLEL:-6}"; do
  step "regcl compare (six methods × ${SEEDS:-3} seeds × ${EPOCHS:-20} epochs, --parallel $p)"
  c0=$(date +%s.%N)
  "$REGCL" compare --device opencl "${DATA[@]}" "${TUNING[@]}" --out "$R/compare-p$p" --parallel "$p" \
    --seeds "${SEEDS:-3}" --epochs "${EPOCHS:-20}" > "$R/compare-p$p.log" 2>&1
  rc=$?
  c1=$(date +%s.%N)
  tail -n 12 "$R/compare-p$p.log"
  echo "compare --parallel $p exit $rc, wall time $(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.1f", b - a}') s" | tee -a "$R/compare_wall.txt"
done

step "PyTorch on the same device ($torchdev), same network, batch 128"
# The first interpreter that imports torch and numpy: $PYTHON, then the PATH's
# python3 (a pyenv or conda one may lack torch), then Debian's.
PY=
for c in ${PYTHON:-} python3 /usr/bin/python3 python; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import torch, numpy' >/dev/null 2>&1; then PY=$c; break; fi
done
if [ -z "$PY" ]; then
  echo "no Python that imports torch and numpy (tried ${PYTHON:-} python3 /usr/bin/python3 python); set PYTHON"
else
  "$PY" -c 'import torch; print("python", __import__("sys").executable, "torch", torch.__version__, "cuda available", torch.cuda.is_available())'
fi
for m in batch_norm baseline; do
  [ -n "$PY" ] || break
  PYTHONUNBUFFERED=1 "$PY" "$B/torch_mlp.py" --data "$B/data" --method "$m" --device "$torchdev" \
    --epochs "${TORCH_EPOCHS:-4}" --warmup-epochs 1 --threads "$(nproc)" | tee -a "$R/torch.jsonl"
done

step "done in $(( $(date +%s) - T0 )) s; results in $R"
ls -la "$R"
rm -rf "$icd"

#!/usr/bin/env bash
# bench/gpu/run.sh — the whole GPU measurement in ONE run of about 8 minutes,
# on a machine that has an NVIDIA GPU, its driver and PyTorch, but no Go and
# no network. Build the bundle with bench/gpu/prepare.sh first, carry
# bench/gpu/bundle, and run from anywhere:
#
#   bash bench/gpu/bundle/run.sh [RESULTS_DIR]     (default $OUT, else bench/gpu/results)
#
# Every step runs, whatever became of the steps before it, each under its own
# time limit (timeout; the limit is cut to what is left of the run's DEADLINE,
# 460 s by default, and a step with under 5 s left is skipped), and each one's
# status (ok, FAIL, TIMEOUT, SKIP; INTERRUPTED when run.sh itself gets INT or
# TERM, which ends the step in flight and the run), exit code, seconds, limit
# and a note (tests: how many passed, which failed) go to summary.txt.
# Run it with the device tool's timeout_s a minute or more above DEADLINE.
# The steps, in order of importance:
#   machine       uname, nvidia-smi, CPUs, memory, Python and torch
#   icd           unpack Debian's ICD loader (REGCL_OPENCL_LIB) and write an
#                 ICD file for NVIDIA's libnvidia-opencl.so* (OCL_ICD_VENDORS)
#   devices       regcl devices
#   tests-opencl  the conformance suite, prebuilt (CI=1, -test.v):
#                 TestConformance*, TestSplitK*, TestDropoutMasksMatchCPU, TestDeviceInfo
#   tests-train   golden steps, agreement with the CPU oracle (REGCL_DATA =
#                 the bundle's MNIST) and lanes' identity: TestGoldenOpenCL*,
#                 TestOpenCL*AgreesWithCPU, TestLanesIdenticalOpenCL*
#                 (a test step that runs no test at all fails, rc 5)
#   tune          regcl tune --budget TUNE_BUDGET (45s) --lanes TUNE_LANES (auto)
#   bench-untuned regcl bench --untuned, BENCH_PRESETS (all 6, batch_norm
#                 last: bench times inference on its last preset), BENCH_EPOCHS (3)
#   bench-tuned   the same with the tuning file (its GEMM table has both columns)
#   plan          regcl plan --measure PLAN_RUNS (50), tuned, for each of
#                 PLAN_PRESETS (batch_norm,baseline,dropout,l2) and for
#                 baseline at BENCH_LANES lanes: every launch of a step and
#                 of an inference pass with its work-groups against the
#                 compute units and its median time, into plan-*.txt
#   compare       the default regcl compare (lanes, one group at a time),
#                 SEEDS (3) seeds × EPOCHS (20) epochs, wall time measured
#   torch-MODE-M  bench/peers/torch_mlp.py --mode graph (the whole step as a
#                 CUDA graph) and --mode eager for each of TORCH_METHODS
#                 (batch_norm,baseline,l2), TORCH_EPOCHS (4) epochs each
#   cublas        bench/peers/cublas_shapes.py: every study product through
#                 torch.mm, in a CUDA graph and eagerly, TF32 off
#   headline      regcl against the fastest PyTorch mode and against cuBLAS,
#                 with issue 21's targets (bench/peers/gpu_headline.py), into
#                 summary.txt; bench/peers/ratios.py's table into raw.tar.gz
#   bench-lanes   regcl bench tuned at --lanes BENCH_LANES (15), BENCH_LANES_PRESETS
# Results: at most 8 files in RESULTS_DIR, written as the run goes (after each
# step) and once more on exit, whatever the exit:
#   run.log      everything printed but the tests' -test.v output
#   summary.txt  steps, status, seconds; then the headline, made again at the end
#   tests.log    the test binaries' whole output
#   tuning.json  regcl tune's file
#   bench.json   {"untuned", "tuned", "lanes"}: regcl bench --json of each
#   compare.md   compare's wall time, report.md and the tail of its log
#   peers.jsonl  PyTorch (torch_mlp.py, one line per mode and method) and cuBLAS lines
#   raw.tar.gz   everything else the steps wrote (the compare folder, tables,
#                logs, headline.txt, ratios.txt), files over 2 MiB left out
#                (listed in big-files-left-out.txt)
#
# REHEARSE=1 runs the same steps without NVIDIA's driver, on PoCL's ICD, with
# PyTorch on the CPU: the graph mode is then recorded as SKIP (no CUDA) and
# cuBLAS's place is taken by torch.mm on the CPU. EPOCHS, SEEDS, TUNE_BUDGET,
# BENCH_EPOCHS, BENCH_PRESETS, PLAN_RUNS, TORCH_EPOCHS, TORCH_METHODS and TORCH_LIMIT
# (torch_mlp.py --limit: the first N training images) shrink the work;
# TESTS_OPENCL and TESTS_TRAIN replace the -test.run patterns;
# DEVICETEST_LANES narrows the suite's lane counts. PYTHON names the
# interpreter with torch (default: the first of python3, /usr/bin/python3 and
# python that imports torch and numpy).
set -uo pipefail
B=$(cd "$(dirname "$0")" && pwd)
R=${1:-${OUT:-bench/gpu/results}}
mkdir -p "$R"
R=$(cd "$R" && pwd)
W=$(mktemp -d /tmp/regcl-gpu.XXXXXX) # what the steps write; packed into $R
T0=$(date +%s)
DEADLINE=${DEADLINE:-460}
RESERVE=8 # seconds kept back for the last packing
SUMMARY=$R/summary.txt
rm -f "$R"/{run.log,summary.txt,tests.log,tuning.json,bench.json,compare.md,peers.jsonl,raw.tar.gz}
exec > >(tee -a "$R/run.log") 2>&1
TEE=$!

export B R W REGCL="$B/regcl" REGCL_DATA="$B/data" CI=1 PYTHONUNBUFFERED=1
export EPOCHS=${EPOCHS:-20} SEEDS=${SEEDS:-3} TUNE_BUDGET=${TUNE_BUDGET:-45s} TUNE_LANES=${TUNE_LANES:-auto}
export BENCH_EPOCHS=${BENCH_EPOCHS:-3} BENCH_PRESETS=${BENCH_PRESETS:-baseline,l1,l2,dropout,elastic_net,batch_norm}
export BENCH_LANES=${BENCH_LANES:-15} BENCH_LANES_PRESETS=${BENCH_LANES_PRESETS:-baseline}
export PLAN_RUNS=${PLAN_RUNS:-50} PLAN_PRESETS=${PLAN_PRESETS:-batch_norm,baseline,dropout,l2}
export TORCH_EPOCHS=${TORCH_EPOCHS:-4} TORCH_METHODS=${TORCH_METHODS:-batch_norm,baseline,l2}
export TESTS_OPENCL=${TESTS_OPENCL:-'^(TestConformance.*|TestSplitK.*|TestDropoutMasksMatchCPU|TestDeviceInfo)$'}
export TESTS_TRAIN=${TESTS_TRAIN:-'^(TestGoldenOpenCL.*|TestOpenCL.*AgreesWithCPU|TestLanesIdenticalOpenCL.*)$'}

printf '%-22s %-8s %4s %8s %6s  %s\n' step status rc seconds limit note > "$SUMMARY"

# pack copies what the steps have written so far into the (at most 8) result
# files; it runs after every step and on exit, so a run cut short, even by
# SIGKILL, leaves what it had.
pack() {
  {
    [ -f "$W/tests.log" ] && cp "$W/tests.log" "$R/tests.log"
    [ -s "$W/tuning.json" ] && cp "$W/tuning.json" "$R/tuning.json"
    {
      printf '{'
      sep=
      for k in untuned tuned lanes; do
        if [ -s "$W/bench-$k.json" ]; then printf '%s\n"%s": ' "$sep" "$k"; cat "$W/bench-$k.json"; sep=,; fi
      done
      printf '}\n'
    } > "$R/bench.json"
    cat "$W/torch.jsonl" "$W/cublas.jsonl" > "$R/peers.jsonl" 2>/dev/null
    if [ -f "$W/compare.log" ]; then
      {
        echo "# The default regcl compare"
        echo
        cat "$W/compare_wall.txt" 2>/dev/null
        echo
        cat "$W/compare/report.md" 2>/dev/null || echo "(no report.md)"
        echo
        echo "## The last 40 lines of compare's output"
        echo '```'
        tail -n 40 "$W/compare.log"
        echo '```'
      } > "$R/compare.md"
    fi
    # Files over 2 MiB (model files, checkpoints) stay out; their names are listed.
    # tests*.log are in tests.log.
    (cd "$W" && find . -type f -size +2048k ! -name 'tests*.log' > big-files-left-out.txt &&
      find . -type f -size -2049k ! -name 'tests*.log' | tar -czf "$R/raw.tar.gz.tmp" -T - &&
      mv "$R/raw.tar.gz.tmp" "$R/raw.tar.gz")
  } 2>/dev/null
  return 0
}

# record NAME STATUS RC SECONDS LIMIT [NOTE]
record() { printf '%-22s %-8s %4s %8s %6s  %s\n' "$1" "$2" "$3" "$4" "$5" "${6:-}" >> "$SUMMARY"; }

# step NAME LIMIT FUNCTION [ARGS]: runs FUNCTION in a child bash under
# timeout, its limit cut to what the deadline leaves (STEP_LIMIT), and
# records it, with what FUNCTION wrote into $W/.note as the note.
step() {
  local name=$1 lim=$2 fn=$3 left rc status t0 t1 secs note=
  shift 3
  left=$((T0 + DEADLINE - RESERVE - $(date +%s)))
  if [ "$left" -lt 5 ]; then
    echo; echo "=== $name: SKIPPED, the deadline (${DEADLINE}s) is near"
    record "$name" SKIP - 0 "$lim" "deadline"
    return 0
  fi
  [ "$lim" -gt "$left" ] && lim=$left && note="limit cut to the deadline"
  echo; echo "=== $name (limit ${lim}s, $(date -u +%H:%M:%S), $(( $(date +%s) - T0 ))s into the run)"
  t0=$(date +%s.%N)
  rm -f "$W/.note"
  # In the background, so that a signal to this script is handled at once (on_signal).
  STEP_LIMIT=$lim timeout -k 5 "$lim" bash -c "$fn"' "$@"' "$fn" "$@" &
  STEP_PID=$! STEP_NAME=$name
  wait "$STEP_PID"
  rc=$?
  STEP_PID=
  t1=$(date +%s.%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
  case $rc in
    0) status=ok ;;
    124 | 137) status=TIMEOUT ;;
    3) status=SKIP; note="unavailable here" ;;
    *) status=FAIL ;;
  esac
  [ -s "$W/.note" ] && note="${note:+$note; }$(head -c 300 "$W/.note" | tr '\n' ' ')"
  echo "=== $name: $status (exit $rc) in ${secs}s${note:+: $note}"
  record "$name" "$status" "$rc" "$secs" "$lim" "$note"
  pack
}

finish() {
  trap - EXIT
  echo
  echo "=== done in $(( $(date +%s) - T0 ))s; results in $R"
  {
    echo
    echo "run: $(( $(date +%s) - T0 ))s of a ${DEADLINE}s deadline; $(grep -c ' ok ' "$SUMMARY") steps ok, $(grep -cE ' (FAIL|TIMEOUT) ' "$SUMMARY") failed or timed out"
    # The headline once more, with all that was measured (bench-lanes ran after its step).
    timeout 10 bash -c s_headline > /dev/null 2>&1
    [ -s "$W/headline.txt" ] && { echo; cat "$W/headline.txt"; }
  } >> "$SUMMARY"
  pack
  ls -la "$R"
  rm -rf "${icd:-/nonexistent}" "$W"
  exec >&- 2>&-
  wait "$TEE" 2>/dev/null # run.log complete before the script ends
}
# A signal (the caller's own time limit, say) ends the step in flight, which
# is recorded as INTERRUPTED, and the run, which packs what it has.
STEP_PID= STEP_NAME=
on_signal() {
  echo "run.sh: interrupted${STEP_PID:+ during $STEP_NAME}"
  if [ -n "$STEP_PID" ]; then
    kill -TERM "$STEP_PID" 2>/dev/null
    record "$STEP_NAME" INTERRUPTED - - - "run.sh got a signal"
  fi
  exit 130
}
trap finish EXIT
trap on_signal INT TERM

# --- the steps' bodies (run in a child bash: exported functions and variables) ---

s_machine() {
  date -u
  uname -a
  nvidia-smi 2>&1 || echo "no nvidia-smi"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || true
  echo "CPUs: $(nproc)"; free -g 2>/dev/null | head -2
  if [ -n "$PY" ]; then
    "$PY" -c 'import sys, torch; print("python", sys.executable, sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
  else
    echo "no Python that imports torch and numpy (tried ${PYTHON:-} python3 /usr/bin/python3 python); set PYTHON"
  fi
  "$REGCL" --version
}

s_devices() { "$REGCL" devices; }

# s_test BINARY PATTERN: one prebuilt test binary, run in the bundle's tests/
# (train.test reads ../testdata/golden/golden.json); fails when no test ran.
s_test() {
  cd "$B/tests" || return 1
  local out=$W/tests-$(basename "$1" .test).log
  echo "### $1 -test.run '$2' ($(date -u +%H:%M:%S))" >> "$W/tests.log"
  # The whole -test.v output goes to tests.log (as it comes: a killed step keeps
  # it), the verdicts below to run.log.
  "./$1" -test.v -test.run "$2" -test.count 1 -test.timeout "$((STEP_LIMIT > 20 ? STEP_LIMIT - 10 : STEP_LIMIT))s" 2>&1 |
    tee "$out" >> "$W/tests.log"
  local rc=${PIPESTATUS[0]}
  echo "### exit $rc" >> "$W/tests.log"
  local pass fail
  pass=$(grep -c '^--- PASS' "$out")
  fail=$(grep '^--- FAIL' "$out" | awk '{print $3}' | tr '\n' ' ')
  echo "$pass passed; failed: ${fail:-none}" > "$W/.note"
  if ! grep -q '^=== RUN' "$out"; then
    echo "no test matched -test.run '$2'" | tee -a "$W/tests.log" > "$W/.note"
    [ "$rc" = 0 ] && rc=5
  fi
  if grep -q '^panic: test timed out' "$out"; then
    echo "$pass passed, then the test timeout: $(grep -m1 -A1 'running tests:' "$out" | sed -n 2p | xargs)" > "$W/.note"
    rc=124
  fi
  grep -E '^(--- (PASS|FAIL|SKIP)|FAIL|ok|PASS|panic)' "$out" | head -n 60
  return "$rc"
}

s_tune() {
  "$REGCL" tune --device opencl --budget "$TUNE_BUDGET" --lanes "$TUNE_LANES" --out "$W/tuning.json" 2>&1 | tee "$W/tune.txt"
  return "${PIPESTATUS[0]}"
}

# s_bench KIND [FLAGS]: regcl bench on the OpenCL backends into bench-KIND.json.
s_bench() {
  local kind=$1
  shift
  "$REGCL" bench --backends opencl --data "$REGCL_DATA" --epochs "$BENCH_EPOCHS" --late-epoch 0 \
    --json "$W/bench-$kind.json" "$@" 2>&1 | tee "$W/bench-$kind.txt"
  return "${PIPESTATUS[0]}"
}

# s_plan [FLAGS]: the measured plan of each of PLAN_PRESETS at one lane,
# and of baseline at BENCH_LANES lanes, into plan-PRESET-Nlanes.txt; the
# step's launches and measured times to run.log.
s_plan() {
  local m rc=0
  plan1() { # PRESET LANES [FLAGS]
    local f=$W/plan-$1-$2lanes.txt
    "$REGCL" plan --device opencl --measure "$PLAN_RUNS" --model "$1" --lanes "$2" "${@:3}" > "$f" 2>&1
    local prc=$?
    echo "$1 at $2 lanes (exit $prc): $(grep -E '^(training step|measured)' "$f" | head -n 2 | tr '\n' ' ')"
    return $prc
  }
  for m in ${PLAN_PRESETS//,/ }; do
    plan1 "$m" 1 "$@" || rc=1
  done
  plan1 baseline "$BENCH_LANES" "$@" || rc=1
  return $rc
}

s_compare() {
  local rc c0 c1
  c0=$(date +%s.%N)
  "$REGCL" compare --device opencl --data "$REGCL_DATA" "$@" --out "$W/compare" \
    --seeds "$SEEDS" --epochs "$EPOCHS" > "$W/compare.log" 2>&1
  rc=$?
  c1=$(date +%s.%N)
  tail -n 15 "$W/compare.log"
  echo "default regcl compare, $SEEDS seeds × $EPOCHS epochs: exit $rc, wall time $(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.1f", b - a}') s" |
    tee "$W/compare_wall.txt"
  return "$rc"
}

# s_torch MODE METHOD
s_torch() {
  [ -n "$PY" ] || { echo "no Python with torch"; return 1; }
  if [ "$1" = graph ] && [ "$TORCHDEV" != cuda ]; then
    echo "torch_mlp.py --mode graph: unavailable, PyTorch runs on the CPU here (CUDA graphs need CUDA)"
    return 3
  fi
  local line rc
  line=$("$PY" "$B/torch_mlp.py" --data "$REGCL_DATA" --mode "$1" --method "$2" --device "$TORCHDEV" \
    --epochs "$TORCH_EPOCHS" --warmup-epochs 1 --threads "$(nproc)" ${TORCH_LIMIT:+--limit "$TORCH_LIMIT"})
  rc=$?
  echo "$line"
  [ "$rc" = 0 ] && printf '%s\n' "$line" | grep '^{' >> "$W/torch.jsonl"
  return "$rc"
}

s_cublas() {
  [ -n "$PY" ] || { echo "no Python with torch"; return 1; }
  "$PY" "$B/cublas_shapes.py" --shapes "$B/shapes.json" --device "$TORCHDEV" | tee "$W/cublas.jsonl"
  return "${PIPESTATUS[0]}"
}

s_headline() {
  local py=${PY:-python3} tuned=$W/bench-tuned.json
  [ -s "$tuned" ] || tuned=$W/bench-untuned.json
  "$py" "$B/gpu_headline.py" --regcl "$tuned" --untuned "$W/bench-untuned.json" --lanes "$W/bench-lanes.json" \
    "$W/torch.jsonl" "$W/cublas.jsonl" > "$W/headline.txt" 2>/dev/null
  local rc=$?
  cat "$W/headline.txt"
  [ -n "$PY" ] || return "$rc"
  # bench/peers/ratios.py's table too (its targets are the CPU's; kept for the columns).
  "$PY" "$B/ratios.py" --regcl "$tuned" "$W/torch.jsonl" > "$W/ratios.txt" 2>&1
  return "$rc"
}
export -f s_machine s_devices s_test s_tune s_bench s_plan s_compare s_torch s_cublas s_headline

# --- the run ---

echo "=== regcl GPU kit: bundle $B, results $R, deadline ${DEADLINE}s, $(date -u)"
PY=
for c in ${PYTHON:-} python3 /usr/bin/python3 python; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import torch, numpy' >/dev/null 2>&1; then PY=$c; break; fi
done
TORCHDEV=cpu
[ -n "$PY" ] && [ "${REHEARSE:-0}" != 1 ] && "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null && TORCHDEV=cuda
export PY TORCHDEV

step machine 30 s_machine

# The ICD loader and NVIDIA's driver, in this shell (the steps inherit the variables).
echo; echo "=== icd ($(date -u +%H:%M:%S))"
t0=$(date +%s)
icd=$(mktemp -d /tmp/regcl-icd.XXXXXX)
icd_status=ok icd_note=
if dpkg -x "$B"/deb/ocl-icd-libopencl1_*.deb "$icd/root"; then
  export REGCL_OPENCL_LIB=$(ls "$icd"/root/usr/lib/x86_64-linux-gnu/libOpenCL.so.1* | head -n 1)
  echo "REGCL_OPENCL_LIB=$REGCL_OPENCL_LIB"
else
  icd_status=FAIL icd_note="dpkg -x failed; the system's libOpenCL, if any"
fi
nv=
if [ "${REHEARSE:-0}" != 1 ]; then
  nv=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so/ {print $NF; exit}')
  if [ -z "$nv" ]; then
    for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/nvidia /usr/local/cuda/lib64; do
      nv=$(ls "$d"/libnvidia-opencl.so* 2>/dev/null | head -n 1)
      [ -n "$nv" ] && break
    done
  fi
  [ -z "$nv" ] && nv=$(timeout 20 find / -xdev -name 'libnvidia-opencl.so*' 2>/dev/null | head -n 1)
fi
mkdir -p "$icd/vendors"
export OCL_ICD_VENDORS="$icd/vendors"
if [ -n "$nv" ]; then
  echo "$nv" > "$OCL_ICD_VENDORS/nvidia.icd"
  echo "ICD: $nv"
elif [ "${REHEARSE:-0}" = 1 ] && [ -e /etc/OpenCL/vendors/pocl.icd ]; then
  cp /etc/OpenCL/vendors/pocl.icd "$OCL_ICD_VENDORS/"
  echo "REHEARSAL: no NVIDIA driver, using PoCL ($(cat /etc/OpenCL/vendors/pocl.icd)); PyTorch on the CPU"
  icd_note="rehearsal: PoCL"
else
  echo "no libnvidia-opencl.so found (set REHEARSE=1 to rehearse on PoCL); the OpenCL steps will fail"
  icd_status=FAIL icd_note="no libnvidia-opencl.so"
fi
record icd "$icd_status" - "$(( $(date +%s) - t0 ))" - "$icd_note"

step devices 30 s_devices
step tests-opencl 120 s_test opencl.test "$TESTS_OPENCL"
step tests-train 150 s_test train.test "$TESTS_TRAIN"
tb=${TUNE_BUDGET%s}
case $tb in *m) tb=$(( ${tb%m} * 60 )) ;; esac
[[ $tb =~ ^[0-9]+$ ]] || tb=120
step tune $((tb + 75)) s_tune
TUNING=()
[ -s "$W/tuning.json" ] && TUNING=(--tuning "$W/tuning.json")
step bench-untuned 90 s_bench untuned --untuned --presets "$BENCH_PRESETS"
step bench-tuned 90 s_bench tuned "${TUNING[@]}" --presets "$BENCH_PRESETS"
step plan 40 s_plan "${TUNING[@]}"
step compare 150 s_compare "${TUNING[@]}"
IFS=, read -r -a methods <<< "$TORCH_METHODS"
for m in "${methods[@]}"; do
  for mode in graph eager; do # the graph, PyTorch's fastest on a GPU, first
    step "torch-$mode-$m" 60 s_torch "$mode" "$m"
  done
done
step cublas 60 s_cublas
step headline 20 s_headline
step bench-lanes 90 s_bench lanes "${TUNING[@]}" --lanes "$BENCH_LANES" --presets "$BENCH_LANES_PRESETS"

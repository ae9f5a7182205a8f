#!/usr/bin/env bash
# A real one-node Slurm cluster on localhost: install slurm-wlm and munge,
# start munged, slurmctld and slurmd, submit a sweep of small runs as a job
# array through `regcl sweep submit --slurm`, wait for it, check that
# `regcl report` shows every run, and stop the daemons — also on failure.
#
# Environment (for running another grid through the same cluster):
#   GRID=file      a grid of your own instead of the built-in 8 small runs
#   DEVICE=cpu     --device of the array tasks
#   KEEP_OUT=dir   copy the sweep's output folder there before cleaning up
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

work=$(mktemp -d /tmp/regcl-slurm.XXXXXX)
chmod 755 "$work"
conf="$work/etc"
mkdir -p "$conf" "$work/spool/ctld" "$work/spool/d" "$work/log" "$work/munge"
# The daemons' pid files, read at cleanup time so that a daemon started just
# before a failure is stopped too.
pidfiles=("$work/slurmd.pid" "$work/slurmctld.pid" "$work/munge/munged.pid")
cleanup() {
  rc=$?
  set +e
  if [ -n "${job:-}" ]; then scancel "$job" 2>/dev/null; fi
  for f in "${pidfiles[@]}"; do [ -s "$f" ] && $SUDO kill "$(cat "$f")" 2>/dev/null; done
  sleep 1
  for f in "${pidfiles[@]}"; do [ -s "$f" ] && $SUDO kill -9 "$(cat "$f")" 2>/dev/null; done
  if [ -n "${KEEP_OUT:-}" ] && [ -d "$work/out" ]; then rm -rf "$KEEP_OUT"; cp -r "$work/out" "$KEEP_OUT"; fi
  if [ $rc != 0 ]; then
    echo "--- slurm test failed (exit $rc); daemon logs:"
    tail -n 30 "$work"/log/*.log 2>/dev/null
    tail -n 30 "$work"/out/slurm/*.out 2>/dev/null
  fi
  $SUDO rm -rf "$work"
  exit $rc
}
trap cleanup EXIT INT TERM

host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
user=$(id -un)

# munge: a fresh key, a socket in our folder.
$SUDO dd if=/dev/urandom of="$work/munge/munge.key" bs=1 count=1024 status=none
$SUDO chmod 400 "$work/munge/munge.key"
$SUDO chown "$user" "$work/munge" "$work/munge/munge.key"
munged --key-file="$work/munge/munge.key" --socket="$work/munge/socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/log/munged.log" --seed-file="$work/munge/seed" -f 2>/dev/null \
  || munged --key-file="$work/munge/munge.key" --socket="$work/munge/socket" --pid-file="$work/munge/munged.pid" \
       --log-file="$work/log/munged.log" --seed-file="$work/munge/seed" --force
sleep 0.5

cat > "$conf/slurm.conf" <<CONF
ClusterName=regcl-ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=$user
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge/socket
CredType=cred/munge
StateSaveLocation=$work/spool/ctld
SlurmdSpoolDir=$work/spool/d
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
printf "CgroupPlugin=autodetect\nIgnoreSystemd=yes\n" > "$conf/cgroup.conf"
export SLURM_CONF="$conf/slurm.conf"

slurmctld -f "$SLURM_CONF"
$SUDO env SLURM_CONF="$SLURM_CONF" slurmd -f "$SLURM_CONF"
for i in $(seq 1 30); do
  [ -s "$work/slurmctld.pid" ] && [ -s "$work/slurmd.pid" ] && sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mix|alloc' && break
  sleep 1
done
sinfo

go build -o "$work/regcl" ./cmd/regcl
cat > "$work/grid.yaml" <<GRID
# 2 methods × 2 L1 strengths × 2 seeds = 8 small runs
model: [baseline, dropout]
l1: [0, 1.0e-4]
train_size: 1000
epochs: 1
seeds: 2
GRID
if [ -n "${GRID:-}" ]; then cp "$GRID" "$work/grid.yaml"; fi
want=$("$work/regcl" sweep --grid "$work/grid.yaml" | tail -n 1 | cut -d' ' -f1)
out="$work/out"
submit=$("$work/regcl" sweep submit --slurm --grid "$work/grid.yaml" --out "$out" --device "${DEVICE:-cpu}" --throttle 2 --time 00:30:00)
echo "$submit"
job=$(echo "$submit" | sed -n 's/^submitted job \([0-9]*\)$/\1/p')
[ -n "$job" ] || { echo "no job id in: $submit"; exit 1; }

# Wait for the array (at most 4 minutes for the built-in grid).
for i in $(seq 1 "${WAIT_S:-240}"); do
  left=$(squeue -h -j "$job" 2>/dev/null | wc -l)
  [ "$left" = 0 ] && break
  sleep 1
done
[ "$left" = 0 ] || { echo "job $job still has $left tasks after ${WAIT_S:-240} s"; squeue; exit 1; }
tasks=$(ls "$out"/slurm/*.out | wc -l)
echo "job $job: $tasks array tasks finished"

"$work/regcl" sweep status --grid "$work/grid.yaml" --out "$out"
"$work/regcl" report --in "$out" | tee "$work/report.txt"
runs=$(ls "$out"/runs/*.json | wc -l)
[ "$runs" = "$want" ] || { echo "want $want run records, found $runs"; exit 1; }
# `regcl sweep` lists each run as ID, method (as the report names it) and network.
for m in $("$work/regcl" sweep --grid "$work/grid.yaml" | head -n -1 | cut -f2 | sort -u); do
  grep -qF "$m " "$work/report.txt" || { echo "report lacks $m"; exit 1; }
  grep -qF "| $m |" "$out/report.md" || { echo "report.md lacks $m"; exit 1; }
done
echo "slurm test passed: job $job, $tasks array tasks, $runs runs in the report, $(( $(date +%s) - start )) s"

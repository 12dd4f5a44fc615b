#!/usr/bin/env bash
# rnnbench on a Slurm job array: one array task per shard of the run matrix.
#
#   sbatch --array=1-N bench/tools/cluster/slurm_bench.sh --profile original --seeds 8 --out results
#
# Every argument is a `deno task bench` flag. Task k of the array 1-N runs `--shard k/N`
# (SLURM_ARRAY_TASK_ID, and N from SLURM_ARRAY_TASK_MAX; the array must be exactly 1-N) under
# `--id auto`: a stable invocation id derived from the flags, so a task that is requeued (node
# failure, preemption, `scontrol requeue`) or submitted again resumes its shard from the last
# finished epoch, or does nothing when the shard's results are complete, and never writes a
# second results file that `deno task report` would refuse as duplicate runs. While one
# instance of a shard runs, a second one is refused (exit 1) instead of training beside it.
#
# To run some shards of an N-shard sweep again, say N:
#   sbatch --array=2 --export=ALL,RNNBENCH_SHARDS=N bench/tools/cluster/slurm_bench.sh <same flags>
# Passing --shard i/n (or --id NAME, or --resume ID) yourself turns that part off.
#
# The repository is RNNBENCH_ROOT, else the submit folder (SLURM_SUBMIT_DIR), else the
# checkout this script sits in; bench runs there, so a relative --out is inside it. Deno is
# `deno` on PATH, else `npx -y deno@2.9.6`.
#SBATCH --job-name=rnnbench
#SBATCH --requeue
#SBATCH --open-mode=append
set -euo pipefail

die() {
  echo "slurm_bench.sh: $*" >&2
  exit 2
}

# has_flag NAME ARGS…: whether ARGS hold NAME or NAME=…
has_flag() {
  local name=$1 a
  shift
  for a in "$@"; do
    if [[ $a == "$name" || $a == "$name="* ]]; then return 0; fi
  done
  return 1
}

root=""
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for candidate in "${RNNBENCH_ROOT:-}" "${SLURM_SUBMIT_DIR:-}" "$script_dir/../../.."; do
  if [[ -n $candidate && -f $candidate/deno.json && -f $candidate/bench/main.ts ]]; then
    root=$(cd "$candidate" && pwd)
    break
  fi
done
[[ -n $root ]] || die "cannot find the rnnbench repository: submit from its root, or set RNNBENCH_ROOT"

extra=()
if ! has_flag --shard "$@" && ! has_flag --resume "$@"; then
  [[ -n ${SLURM_ARRAY_TASK_ID:-} ]] ||
    die "not a Slurm array task: submit with sbatch --array=1-N, or pass --shard i/n"
  index=$SLURM_ARRAY_TASK_ID
  if [[ -n ${RNNBENCH_SHARDS:-} ]]; then
    count=$RNNBENCH_SHARDS
  else
    min=${SLURM_ARRAY_TASK_MIN:-} max=${SLURM_ARRAY_TASK_MAX:-}
    tasks=${SLURM_ARRAY_TASK_COUNT:-$((max - min + 1))}
    if [[ $min != 1 || $tasks != "$max" ]]; then
      die "the array must be 1-N (this one has $tasks task(s) from $min to $max): to run" \
        "some shards of an N-shard sweep again, set RNNBENCH_SHARDS=N, or pass --shard i/N"
    fi
    count=$max
  fi
  [[ $index =~ ^[0-9]+$ && $count =~ ^[0-9]+$ ]] && ((index >= 1 && index <= count)) ||
    die "shard $index/$count is not i/n with 1 <= i <= n (RNNBENCH_SHARDS=${RNNBENCH_SHARDS:-})"
  extra+=(--shard "$index/$count")
fi
if ! has_flag --id "$@" && ! has_flag --resume "$@"; then extra+=(--id auto); fi

if command -v deno >/dev/null 2>&1; then
  deno=(deno)
elif command -v npx >/dev/null 2>&1; then
  deno=(npx -y deno@2.9.6)
else
  die "neither deno nor npx is on PATH: install Node.js (for npx) or Deno 2.9.6"
fi

cd "$root"
echo "slurm_bench.sh: job ${SLURM_JOB_ID:-none}, task ${SLURM_ARRAY_TASK_ID:-none}," \
  "restart ${SLURM_RESTART_COUNT:-0}, on $(hostname): bench ${extra[*]} $*" >&2
exec "${deno[@]}" run --allow-all bench/main.ts "${extra[@]}" "$@"

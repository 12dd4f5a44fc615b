#!/usr/bin/env bash
# On a GPU machine with no Deno, no Node and no network: unpack what `deno task device-pack`
# put in .device/ (carried along with the working tree), run the GPU check and keep its log
# and JSON summary in $OUT (or results/ when OUT is unset). Extra arguments go to the check,
# e.g. `bash bench/device/run.sh --arch lstm`.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-results}
mkdir -p "$out"
for f in deno.xz cache.tar.xz node_modules.tar.xz; do
  if [ ! -s ".device/$f" ]; then
    echo "run.sh: .device/$f is missing: run \`deno task device-pack\` where Deno is, and carry .device" >&2
    exit 1
  fi
done
bin=$(mktemp -d)
xz -dc .device/deno.xz > "$bin/deno" && chmod +x "$bin/deno" || { echo "run.sh: cannot unpack deno" >&2; exit 1; }
tar -xJf .device/cache.tar.xz && tar -xJf .device/node_modules.tar.xz ||
  { echo "run.sh: cannot unpack the caches" >&2; exit 1; }
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
  nvcc --version 2>&1 | tail -n 1 || true
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1 || true
} | tee "$out/machine.txt"
export NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
"$bin/deno" run -A --cached-only bench/gpu_check.ts --out "$out" "$@" 2>&1 | tee "$out/gpu_check.log"
rc=${PIPESTATUS[0]}
echo "run.sh: gpu_check exited $rc; log in $out/gpu_check.log"
exit "$rc"

#!/usr/bin/env bash
# On a GPU machine with no Deno, no Node and no network: unpack what `deno task device-pack`
# put in .device/ (carried along with the working tree), run the GPU check and keep its log
# and JSON summary in $OUT (or results/ when OUT is unset). Extra arguments go to the check,
# e.g. `bash bench/tools/device/run.sh --arch lstm`.
set -uo pipefail
cd "$(dirname "$0")/../../.."
out=${OUT:-results}
mkdir -p "$out"
for f in deno.xz cache.tar.xz node_modules.tar.xz; do
  if [ ! -s ".device/$f" ]; then
    echo "run.sh: .device/$f is missing: run \`deno task device-pack\` where Deno is, and carry .device" >&2
    exit 1
  fi
done
# xz when the machine has it, else Python's lzma (the GPU machine has Python for PyTorch).
unxz_to() {
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" > "$2"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}
untar_xz() {
  if command -v xz >/dev/null 2>&1; then tar -xJf "$1"
  else python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(**({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))' "$1"
  fi
}
bin=$PWD/.device/bin # inside the tree, not /tmp: /tmp may be mounted noexec
mkdir -p "$bin"
unxz_to .device/deno.xz "$bin/deno" && chmod +x "$bin/deno" || { echo "run.sh: cannot unpack deno" >&2; exit 1; }
untar_xz .device/cache.tar.xz && untar_xz .device/node_modules.tar.xz ||
  { echo "run.sh: cannot unpack the caches" >&2; exit 1; }
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
  nvcc --version 2>&1 | tail -n 1 || true
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1 || true
} | tee "$out/machine.txt"
export NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
export DENO_DIR=${DENO_DIR:-$PWD/.device/deno_dir} # Deno's own cache, in the tree too
"$bin/deno" run -A --cached-only --node-modules-dir=manual bench/tools/gpu_check.ts --out "$out" "$@" 2>&1 | tee "$out/gpu_check.log"
rc=${PIPESTATUS[0]}
echo "run.sh: gpu_check exited $rc; log in $out/gpu_check.log"
exit "$rc"

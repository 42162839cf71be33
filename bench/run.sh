#!/usr/bin/env bash
# Benchmarks: BlobSync vs rclone vs the raw-SDK ceiling on a private Azurite.
#   bash bench/run.sh [--quick] [--only W1,W2] [--runs N] [--in-memory] [--workers N]
# Installs what is missing first (Debian rclone + time, the venv and Azurite through
# packaging/dev.sh setup), then runs `python -m bench` with the given arguments.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

need=()
command -v rclone >/dev/null 2>&1 || need+=(rclone)
[[ -x /usr/bin/time ]] || need+=(time)
if [[ ${#need[@]} -gt 0 ]]; then
    runner=()
    [[ "$(id -u)" -eq 0 ]] || runner=(sudo)
    echo "[bench] installing Debian packages: ${need[*]}" >&2
    "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [[ ! -x .venv/bin/python || ! -f packaging/azurite/node_modules/azurite/dist/src/blob/main.js ]]; then
    bash packaging/dev.sh setup
fi
exec .venv/bin/python -m bench "$@"

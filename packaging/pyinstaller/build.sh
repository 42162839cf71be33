#!/usr/bin/env bash
# Build BlobSync's desktop bundle with PyInstaller: dist/BlobSync/{blobsync-gui,blobsync}.
#
#   bash packaging/pyinstaller/build.sh           build (about 1.5 minutes on 2 cores)
#   bash packaging/pyinstaller/build.sh --test    build, then run tests/packaging/test_bundle.py
#                                                 against it (needs Azurite: dev.sh setup)
#   bash packaging/pyinstaller/build.sh --test-only   run that test on the existing bundle
#
# Uses the project's venv (.venv, made by `bash packaging/dev.sh setup`, or $VENV) and
# installs the pinned PyInstaller from pyproject's `packaging` extra into it when missing.
# Output: dist/BlobSync/ (macOS: dist/BlobSync.app as well); work files in build/pyinstaller/
# (elsewhere with BLOBSYNC_DIST_DIR / BLOBSYNC_BUILD_DIR, as the bundle test does).
# Prints the build time and the bundle size at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
[[ -x "$PY" ]] || PY="$VENV/Scripts/python.exe"  # Windows (Git Bash)
SPEC="$ROOT/packaging/pyinstaller/blobsync.spec"
DIST="${BLOBSYNC_DIST_DIR:-$ROOT/dist}"
WORK="${BLOBSYNC_BUILD_DIR:-$ROOT/build/pyinstaller}"

say() { printf '[build.sh] %s\n' "$*" >&2; }
die() { printf '[build.sh] ERROR: %s\n' "$*" >&2; exit 1; }

build=1
test=0
case "${1:-}" in
    "") ;;
    --test) test=1 ;;
    --test-only) build=0; test=1 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (try --help)" ;;
esac

[[ -x "$PY" ]] || die "no venv at $VENV; run 'bash packaging/dev.sh setup' first"

# The pins live in pyproject.toml's `packaging` extra; read them from there (one source).
mapfile -t PINS < <("$PY" - "$ROOT/pyproject.toml" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["optional-dependencies"]["packaging"]))
EOF
)
missing=()
for pin in "${PINS[@]}"; do
    name=${pin%%==*}
    want=${pin#*==}
    have=$("$PY" -c "import importlib.metadata as m; print(m.version('$name'))" 2>/dev/null || true)
    [[ "$have" == "$want" ]] || missing+=("$pin")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    say "installing ${missing[*]}"
    "$PY" -m pip install --quiet "${missing[@]}"
fi

if [[ $build -eq 1 ]]; then
    say "building with $("$PY" -m PyInstaller --version 2>/dev/null | tail -1) (PyInstaller)"
    start=$(date +%s)
    (cd "$ROOT" && "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
        --distpath "$DIST" --workpath "$WORK" "$SPEC")
    took=$(( $(date +%s) - start ))
    [[ -x "$DIST/BlobSync/blobsync-gui" || -f "$DIST/BlobSync/blobsync-gui.exe" ]] \
        || die "the bundle has no blobsync-gui"
    size=$(du -sh "$DIST/BlobSync" | cut -f1)
    say "built $DIST/BlobSync in ${took} s, size ${size}"
    printf 'build_seconds=%s\nbundle_size=%s\n' "$took" "$size" > "$WORK/figures.txt"
fi

if [[ $test -eq 1 ]]; then
    export BLOBSYNC_BUNDLE_DIR="$DIST/BlobSync"
    cd "$ROOT"
    "$PY" -m pytest tests/packaging/test_bundle.py -m bundle -q -p no:cacheprovider
fi

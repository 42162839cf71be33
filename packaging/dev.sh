#!/usr/bin/env bash
# BlobSync developer entry point: set everything up, then run the app or the tests.
#
#   bash packaging/dev.sh run  [args]    set up, then start the desktop app (Azurite demo)
#   bash packaging/dev.sh test [args]    set up, lint, type-check, run the whole test suite
#   bash packaging/dev.sh setup          only set up (idempotent; seconds when already done)
#   bash packaging/dev.sh check          only lint + type-check
#   bash packaging/dev.sh pytest [args]  set up, then pytest only (no lint), same services
#   bash packaging/dev.sh screenshots    set up, then refresh docs/screenshots/ (Xvfb)
#
# Setup installs what is missing and nothing else: Debian packages (apt-get as root or
# through sudo; otherwise it prints what to install), a virtualenv in .venv/ with the
# project installed editable with its dev extra (skipped while .venv/.install-stamp
# matches pyproject.toml), and Azurite from packaging/azurite/package-lock.json
# (skipped while the pinned version is present). Extra args of `test` go to pytest.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
AZURITE_DIR="$ROOT/packaging/azurite"
STAMP="$VENV/.install-stamp"
MIN_PY="3.11"

# What the tests need on a bare Debian/Ubuntu (CI has no display, D-Bus or keyring):
# Xvfb + xcb/EGL libraries for Qt, trayer for a tray under Xvfb, gnome-keyring + D-Bus
# for a real Secret Service, desktop-file-utils + appstream to validate packaging files.
DEB_PACKAGES=(
    xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0
    libxcb-render-util0 libxcb-xinerama0 libxcb-shape0 libxcb-randr0 libxcb-xkb1
    libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3
    gnome-keyring dbus dbus-x11 trayer desktop-file-utils appstream
)

say() { printf '[dev.sh] %s\n' "$*" >&2; }
die() { printf '[dev.sh] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- Debian packages

missing_debs() {
    # Prints the packages of "$@" that dpkg does not report as installed (one dpkg call).
    local -A ok=()
    local name status
    while read -r name status; do
        [[ "$status" == "install ok installed" ]] && ok["${name%%:*}"]=1
    done < <(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null || true)
    for name in "$@"; do
        [[ -n "${ok[$name]:-}" ]] || printf '%s\n' "$name"
    done
}

apt_install() {
    # apt_install PKG...: install as root, or through sudo, or say exactly what to run.
    [[ $# -gt 0 ]] || return 0
    local -a runner=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            runner=(sudo)
        else
            die "missing Debian packages and no root/sudo to install them; as root run:
    apt-get update && apt-get install -y --no-install-recommends $*"
        fi
    fi
    command -v apt-get >/dev/null 2>&1 \
        || die "apt-get not found (not Debian/Ubuntu?); install these packages: $*"
    say "installing Debian packages: $*"
    "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${runner[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

setup_debs() {
    command -v dpkg-query >/dev/null 2>&1 || {
        say "dpkg not found: not Debian/Ubuntu; make sure these are installed: ${DEB_PACKAGES[*]}"
        return 0
    }
    local -a missing=()
    mapfile -t missing < <(missing_debs "${DEB_PACKAGES[@]}")
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        mapfile -t -O "${#missing[@]}" missing < <(missing_debs nodejs npm)
    fi
    apt_install "${missing[@]}"
}

# ---------------------------------------------------------------- Python virtualenv

find_python() {
    local py="${BLOBSYNC_PYTHON:-python3}" ver
    command -v "$py" >/dev/null 2>&1 \
        || die "Python $MIN_PY or newer is required, and '$py' was not found on PATH."
    ver="$("$py" -c 'import platform; print(platform.python_version())' 2>/dev/null)" \
        || die "Python $MIN_PY or newer is required, and '$py' does not run."
    "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
        || die "Python $MIN_PY or newer is required, and '$py' is Python $ver" \
            "(set BLOBSYNC_PYTHON=/path/to/python3.11 or newer)."
    printf '%s\n' "$py"
}

setup_venv() {
    local py
    py="$(find_python)"
    if [[ -e "$VENV" ]] && ! "$VENV/bin/python" -c \
        'import importlib.util as u, sys; sys.exit(u.find_spec("pip") is None)' >/dev/null 2>&1; then
        # Its Python moved, or an earlier `venv` failed half-way (no ensurepip).
        say "$VENV is broken; recreating it"
        rm -rf "$VENV"
    fi
    if [[ ! -x "$VENV/bin/python" ]]; then
        if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
            # Debian splits venv/ensurepip out of python3 itself.
            local ver
            ver="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            local -a venv_pkgs=()
            mapfile -t venv_pkgs < <(missing_debs python3-venv "python${ver}-venv")
            apt_install "${venv_pkgs[@]}"
            "$py" -c 'import ensurepip, venv' 2>/dev/null \
                || die "'$py' cannot create virtualenvs (no ensurepip); install python${ver}-venv."
        fi
        say "creating $VENV with $("$py" -c 'import sys; print(sys.executable)')"
        "$py" -m venv "$VENV"
    fi
    local want
    want="$(cat "$ROOT/pyproject.toml" <("$VENV/bin/python" -VV) | sha256sum | cut -d' ' -f1)"
    if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
        return 0
    fi
    say "installing BlobSync (editable) with its dev tools into .venv"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[dev]"
    printf '%s\n' "$want" >"$STAMP"
}

setup_typecheck_path() {
    # mypy cannot follow the editable install's mapping (blobsync.core -> core/), so it
    # reads the sources through a small tree of symlinks under .venv (pyproject: mypy_path).
    local shim="$VENV/mypy-path/blobsync" part
    mkdir -p "$shim"
    for part in core gui resources; do
        ln -sfn "$ROOT/$part" "$shim/$part"
    done
}

# ---------------------------------------------------------------- Azurite (npm)

setup_azurite() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
        || die "Node.js 20+ with npm is required for Azurite (install it, e.g. apt-get install nodejs npm)."
    # An old checkout may have node_modules as a symlink to somewhere else: replace it.
    if [[ -L "$AZURITE_DIR/node_modules" ]]; then
        rm -f "$AZURITE_DIR/node_modules"
    fi
    # One node start for: its major version, the pinned Azurite, the installed one.
    local node_major want have
    read -r node_major want have < <(cd "$AZURITE_DIR" && node -e '
        const fs = require("fs");
        const read = (f) => { try { return JSON.parse(fs.readFileSync(f)); } catch { return {}; } };
        console.log(process.versions.node.split(".")[0],
            read("package.json").dependencies.azurite,
            read("node_modules/azurite/package.json").version || "none");')
    if ((node_major < 20)); then
        say "warning: Node.js $(node --version) is older than 20, the oldest tested with Azurite 3.37"
    fi
    [[ "$have" == "$want" ]] && return 0
    say "installing Azurite $want into packaging/azurite/node_modules (about 30 s)"
    (
        cd "$AZURITE_DIR"
        if [[ -f package-lock.json ]]; then
            npm ci --no-audit --no-fund --loglevel=error
        else
            npm install --no-audit --no-fund --loglevel=error
        fi
    ) >/dev/null
    have="$(node -p "require('$AZURITE_DIR/node_modules/azurite/package.json').version")"
    [[ "$have" == "$want" ]] || die "npm installed Azurite $have, expected $want."
}

setup() {
    local t0=$SECONDS
    setup_debs
    setup_venv
    setup_typecheck_path
    setup_azurite
    say "setup done in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- commands

check() {
    # Runs all three even if one fails, so one run shows every problem.
    cd "$ROOT"
    local failed=()
    say "ruff check"
    "$VENV/bin/ruff" check . || failed+=("ruff check")
    say "ruff format --check (fix with: .venv/bin/ruff format .)"
    "$VENV/bin/ruff" format --check . || failed+=("ruff format")
    say "mypy (strict on core/ and gui/)"
    "$VENV/bin/mypy" || failed+=(mypy)
    if ((${#failed[@]})); then
        say "FAILED: $(IFS=,; echo "${failed[*]}")"
        return 1
    fi
}

run_tests() {
    cd "$ROOT"
    command -v dbus-run-session >/dev/null 2>&1 || die "dbus-run-session missing (apt-get install dbus)."
    command -v gnome-keyring-daemon >/dev/null 2>&1 \
        || die "gnome-keyring-daemon missing (apt-get install gnome-keyring)."
    # A throwaway keyring home: an existing login keyring with another password would
    # stay locked, and the tests must never touch the user's real keyring.
    local kr_home
    kr_home="$(mktemp -d "${TMPDIR:-/tmp}/blobsync-keyring.XXXXXX")"
    # shellcheck disable=SC2064
    trap "rm -rf '$kr_home'" EXIT
    local password
    password="$(head -c 18 /dev/urandom | base64)"
    say "pytest inside dbus-run-session with an unlocked gnome-keyring (DISPLAY unset)"
    local rc=0
    # Interactive: keep Ctrl-C working (timeout in the foreground); CI: kill the whole group.
    local -a fg=()
    [[ -t 0 ]] && fg=(--foreground)
    # The password goes through stdin only. BLOBSYNC_SECRET_SERVICE=1 tells the keyring
    # tests a real Secret Service is up. Bounded so a hang can never eat CI's budget.
    printf '%s' "$password" | env -u DISPLAY -u WAYLAND_DISPLAY \
        BLOBSYNC_KEYRING_HOME="$kr_home" \
        timeout "${fg[@]}" --kill-after=30 "${BLOBSYNC_TEST_TIMEOUT:-3600}" \
        dbus-run-session -- sh -c '
            XDG_DATA_HOME="$BLOBSYNC_KEYRING_HOME" HOME="$BLOBSYNC_KEYRING_HOME" \
                gnome-keyring-daemon --unlock --components=secrets >/dev/null \
                || { echo "[dev.sh] ERROR: gnome-keyring-daemon did not start" >&2; exit 70; }
            unset BLOBSYNC_KEYRING_HOME
            export BLOBSYNC_SECRET_SERVICE=1
            exec "$0" -m pytest -p no:cacheprovider "$@" </dev/null
        ' "$VENV/bin/python" "$@" || rc=$?
    case $rc in
        0) say "tests passed" ;;
        5) die "pytest collected no tests (exit 5): a run that tests nothing is a failure." ;;
        124|137) die "the test run exceeded ${BLOBSYNC_TEST_TIMEOUT:-3600} s and was stopped." ;;
        *) die "tests failed (pytest exit $rc)." ;;
    esac
}

run_app() {
    cd "$ROOT"
    if "$VENV/bin/python" -c 'import blobsync.gui.app as m; assert callable(m.main)' 2>/dev/null; then
        if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" || -n "${QT_QPA_PLATFORM:-}" ]]; then
            say "starting the desktop app (blobsync-gui)"
            exec "$VENV/bin/blobsync-gui" "$@"
        fi
        say "no display (DISPLAY/WAYLAND_DISPLAY unset): running the command-line demo instead"
    else
        say "the desktop app is not available yet: running the command-line demo instead"
    fi
    exec "$VENV/bin/python" "$ROOT/packaging/dev/demo.py" "$@"
}

usage() {
    sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
    local cmd="${1:-}"
    [[ $# -gt 0 ]] && shift
    case "$cmd" in
        setup) setup ;;
        run) setup; run_app "$@" ;;
        test)
            # Lint/type failures fail the run, but the tests still run: one CI log, all problems.
            setup
            local check_rc=0
            check || check_rc=$?
            run_tests "$@"
            ((check_rc == 0)) || die "tests passed, but lint/type checks failed (see above)."
            ;;
        check) setup; check ;;
        screenshots)
            # The one command that rewrites the committed pictures (tests never do).
            setup
            BLOBSYNC_SCREENSHOTS_DIR="$ROOT/docs/screenshots" \
                run_tests tests/gui/test_screenshots.py -q "$@"
            say "screenshots refreshed in docs/screenshots/"
            ;;
        pytest) setup; run_tests "$@" ;;
        -h|--help|help|"") usage ;;
        *) usage; die "unknown command '$cmd'" ;;
    esac
}

main "$@"

#!/usr/bin/env bash
# Install (or remove) BlobSync's desktop entry, icons and AppStream metadata for the
# current user, so BlobSync shows up in the application menu with its icon.
#
#   install-desktop.sh [--exec PATH_TO_blobsync-gui] [--resources DIR]
#   install-desktop.sh --uninstall
#
# Files go under $XDG_DATA_HOME (default ~/.local/share):
#   applications/io.github.blobsync.BlobSync.desktop   (Exec= points at PATH_TO_blobsync-gui)
#   icons/hicolor/NxN/apps/io.github.blobsync.BlobSync.png, icons/hicolor/scalable/apps/...svg
#   metainfo/io.github.blobsync.BlobSync.metainfo.xml
#
# Without --exec the launcher is looked for, in order: blobsync-gui next to this script
# (inside the PyInstaller bundle), dist/BlobSync/blobsync-gui and .venv/bin/blobsync-gui
# in the source checkout, then blobsync-gui on PATH. Nothing is written outside
# $XDG_DATA_HOME and no root rights are needed.
set -euo pipefail

APP_ID=io.github.blobsync.BlobSync
SIZES=(16 22 24 32 48 64 128 256 512)

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checkout=$(cd "$script_dir/../.." 2>/dev/null && pwd || true)

usage() {
    sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
    echo "install-desktop: $*" >&2
    exit 1
}

exec_path=""
resources=""
action=install
while [ $# -gt 0 ]; do
    case "$1" in
        --exec) [ $# -ge 2 ] || die "--exec needs a path"; exec_path=$2; shift 2 ;;
        --exec=*) exec_path=${1#--exec=}; shift ;;
        --resources) [ $# -ge 2 ] || die "--resources needs a folder"; resources=$2; shift 2 ;;
        --resources=*) resources=${1#--resources=}; shift ;;
        --uninstall) action=uninstall; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done

# The XDG base directory spec says a relative XDG_DATA_HOME is invalid and must be ignored.
data_home=${XDG_DATA_HOME:-}
case "$data_home" in
    /*) ;;
    *) [ -n "${HOME:-}" ] || die "neither XDG_DATA_HOME nor HOME is set"; data_home=$HOME/.local/share ;;
esac

desktop_dst=$data_home/applications/$APP_ID.desktop
metainfo_dst=$data_home/metainfo/$APP_ID.metainfo.xml
svg_dst=$data_home/icons/hicolor/scalable/apps/$APP_ID.svg

refresh_caches() {
    # Best effort: menus and icon themes pick the files up without these too, only later.
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$data_home/applications" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 \
        && [ -f "$data_home/icons/hicolor/index.theme" ]; then
        gtk-update-icon-cache -q -t "$data_home/icons/hicolor" 2>/dev/null || true
    fi
}

if [ "$action" = uninstall ]; then
    removed=0
    for f in "$desktop_dst" "$metainfo_dst" "$svg_dst"; do
        if [ -e "$f" ]; then rm -f "$f"; removed=$((removed + 1)); fi
    done
    for n in "${SIZES[@]}"; do
        f=$data_home/icons/hicolor/${n}x${n}/apps/$APP_ID.png
        if [ -e "$f" ]; then rm -f "$f"; removed=$((removed + 1)); fi
    done
    refresh_caches
    echo "Removed $removed BlobSync desktop file(s) from $data_home"
    exit 0
fi

# --- find the resources (desktop entry, metainfo, icons) ---
if [ -z "$resources" ]; then
    for candidate in \
        "$script_dir/_internal/blobsync/resources" \
        "$script_dir/blobsync/resources" \
        "$checkout/resources"; do
        if [ -f "$candidate/$APP_ID.desktop" ]; then resources=$candidate; break; fi
    done
fi
[ -n "$resources" ] && [ -f "$resources/$APP_ID.desktop" ] \
    || die "cannot find $APP_ID.desktop (pass --resources DIR)"
resources=$(cd "$resources" && pwd)

# --- find the launcher ---
if [ -z "$exec_path" ]; then
    for candidate in \
        "$script_dir/blobsync-gui" \
        "$checkout/dist/BlobSync/blobsync-gui" \
        "$checkout/.venv/bin/blobsync-gui"; do
        if [ -x "$candidate" ] && [ -f "$candidate" ]; then exec_path=$candidate; break; fi
    done
fi
if [ -z "$exec_path" ]; then
    exec_path=$(command -v blobsync-gui || true)
fi
[ -n "$exec_path" ] || die "cannot find blobsync-gui (build the bundle or pass --exec PATH)"
case "$exec_path" in
    /*) ;;
    *) exec_path=$(cd "$(dirname "$exec_path")" && pwd)/$(basename "$exec_path") ;;
esac
[ -x "$exec_path" ] && [ -f "$exec_path" ] || die "$exec_path is not an executable file"

# Desktop Entry spec: an Exec argument with reserved characters is double-quoted, with
# " ` $ \ escaped by a backslash; then the whole value escapes \ once more as a string,
# and a literal % is written %% (field codes).
quote_exec() {
    local arg=$1
    if [[ "$arg" =~ ^[A-Za-z0-9_./+@-]+$ ]]; then
        printf '%s' "$arg"
        return
    fi
    arg=${arg//\\/\\\\}
    arg=${arg//\"/\\\"}
    arg=${arg//\`/\\\`}
    arg=${arg//\$/\\\$}
    arg=${arg//\\/\\\\}
    arg=${arg//%/%%}
    printf '"%s"' "$arg"
}
exec_value=$(quote_exec "$exec_path")
tryexec_value=${exec_path//\\/\\\\}

mkdir -p "$data_home/applications" "$data_home/metainfo" "$(dirname "$svg_dst")"

# Rewrite Exec/TryExec; everything else is copied as it is. awk -v would eat backslashes,
# so the values travel through the environment.
EXEC_VALUE=$exec_value TRYEXEC_VALUE=$tryexec_value awk '
    /^Exec=/    { print "Exec=" ENVIRON["EXEC_VALUE"]; next }
    /^TryExec=/ { print "TryExec=" ENVIRON["TRYEXEC_VALUE"]; next }
    { print }
' "$resources/$APP_ID.desktop" > "$desktop_dst.tmp"
chmod 0644 "$desktop_dst.tmp"
mv -f "$desktop_dst.tmp" "$desktop_dst"

install -m 0644 "$resources/$APP_ID.metainfo.xml" "$metainfo_dst"
install -m 0644 "$resources/icons/blobsync.svg" "$svg_dst"
for n in "${SIZES[@]}"; do
    src=$resources/icons/png/blobsync-$n.png
    [ -f "$src" ] || die "missing icon $src"
    mkdir -p "$data_home/icons/hicolor/${n}x${n}/apps"
    install -m 0644 "$src" "$data_home/icons/hicolor/${n}x${n}/apps/$APP_ID.png"
done

refresh_caches
echo "Installed BlobSync into $data_home (launcher: $exec_path)"
echo "Remove with: $0 --uninstall"

#!/usr/bin/env bash
# Runs the README's two commands as a new contributor would: in a clean Debian 12 root
# (debootstrap --variant=minbase bookworm, plus git, ca-certificates and sudo), on a fresh clone
# of this checkout's HEAD, as root. Each run gets a throw-away copy of the cached base root, so
# nothing installed by an earlier run (or on this machine) can hide a missing install step.
#
#   scripts/fresh-debian.sh [test|demo|both] [--keep]    (default: test)
#
# Needs root (debootstrap, chroot, mounts) and Debian's package mirror. The base root is cached in
# $RETORT_FRESH_DIR (default /var/tmp/retort-fresh); delete base/ there to rebuild it. Logs go to
# $RETORT_FRESH_DIR/<command>.log; the wall time of each command is printed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
what="${1:-test}"
keep=0
[ "${2:-}" = "--keep" ] && keep=1
case "$what" in test|demo|both) ;; *) echo "usage: $0 [test|demo|both] [--keep]" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "fresh-debian: run as root (debootstrap and chroot need it)" >&2; exit 2; }

dir="${RETORT_FRESH_DIR:-/var/tmp/retort-fresh}"
mirror="${RETORT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$dir"

if ! command -v debootstrap >/dev/null; then
    echo "fresh-debian: installing debootstrap" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
if [ ! -f "$dir/base/.complete" ]; then
    echo "fresh-debian: building the base root in $dir/base (a few minutes)" >&2
    rm -rf "$dir/base"
    debootstrap --variant=minbase --include=git,ca-certificates,sudo bookworm "$dir/base" "$mirror" \
        > "$dir/debootstrap.log" 2>&1 || { tail -20 "$dir/debootstrap.log" >&2; exit 1; }
    touch "$dir/base/.complete"
fi

rev=$(git -C "$here" rev-parse --short HEAD)
[ -z "$(git -C "$here" status --porcelain --untracked-files=no)" ] ||
    echo "fresh-debian: note: uncommitted changes are not part of the clone (HEAD $rev is)" >&2

run_one() {  # run_one test|demo: a fresh copy of the base, a fresh clone, one README command
    local cmd="$1" root="$dir/root-$1" log="$dir/$1.log" rc start end
    rm -rf "$root"
    cp -a "$dir/base" "$root"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"
    mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"
    mount -t tmpfs tmpfs "$root/tmp"
    mount -t tmpfs tmpfs "$root/run"
    cleanup_mounts() {
        for m in run tmp dev sys proc; do umount -R "$root/$m" 2>/dev/null || umount -lR "$root/$m" 2>/dev/null || true; done
    }
    trap cleanup_mounts EXIT
    git clone -q --no-local "$here" "$root/root/retort"
    git -C "$root/root/retort" checkout -q "$rev"
    # shared/ beside the clone, as CI lays it (read-only).
    if [ -d "$here/../shared" ]; then cp -a "$here/../shared" "$root/root/shared" && chmod -R a-w "$root/root/shared"; fi
    echo "fresh-debian: $cmd in a clean Debian 12 root at $rev (log: $log)" >&2
    start=$(date +%s)
    set +e
    chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=true \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "cd /root/retort && ./scripts/$cmd.sh" > "$log" 2>&1 < /dev/null
    rc=$?
    set -e
    end=$(date +%s)
    cleanup_mounts
    trap - EXIT
    [ "$keep" -eq 1 ] || rm -rf "$root"
    tail -15 "$log"
    echo "fresh-debian: ./scripts/$cmd.sh exited $rc after $(( (end - start) / 60 )) min $(( (end - start) % 60 )) s" >&2
    return $rc
}

status=0
if [ "$what" = demo ] || [ "$what" = both ]; then run_one demo || status=1; fi
if [ "$what" = test ] || [ "$what" = both ]; then run_one test || status=1; fi
exit $status

#!/usr/bin/env bash
# Installs pathprobe from source, without a package: the release binaries, man pages, bash/zsh/fish
# completions, systemd units, documentation (scripts/build-release.sh builds them first).
#
#   scripts/install.sh --prefix PREFIX [--destdir DIR] [--no-build] [--dist DIR] [--setcap]
#   scripts/install.sh --prefix PREFIX [--destdir DIR] --uninstall
#
#   --prefix PREFIX  /usr/local (a from-source install) or /usr (what the .deb holds)
#   --destdir DIR    stage under DIR instead of / (scripts/package.sh does so)
#   --no-build       install what DIR/ (dist/) holds, without building
#   --setcap         grant cap_net_raw to PREFIX/bin/pathprobe (root, no --destdir): raw ICMP probes
#                    for every user where ping sockets are closed; undo with setcap -r
#   --uninstall      remove what the last install put there (PREFIX/share/pathprobe/installed-files)
#
# Layout under PREFIX: bin/NAME; share/man/man1/*.1.gz; share/bash-completion/completions/NAME;
# share/zsh/vendor-completions/_NAME (PREFIX /usr) or share/zsh/site-functions/_NAME (elsewhere);
# share/fish/vendor_completions.d/NAME.fish; lib/systemd/system/*.service (contrib/systemd/, for the
# executables that are installed, their paths rewritten to PREFIX); share/doc/pathprobe/. The
# exporter's example config goes to SYSCONFDIR/pathprobe/exporter.yml (/etc for PREFIX /usr and
# /usr/local), never over an existing one.
# Idempotent: installing again replaces the files, and removes those the previous install had and
# this one has not (a subcommand's man page that is gone).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"

prefix=""
destdir=""
dist=dist
build=1
setcap=0
uninstall=0
manifest=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --prefix) prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#*=}; shift ;;
        --destdir) destdir=$2; shift 2 ;;
        --destdir=*) destdir=${1#*=}; shift ;;
        --dist) dist=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        --setcap) setcap=1; shift ;;
        --uninstall) uninstall=1; shift ;;
        --no-manifest) manifest=0; shift ;;  # scripts/package.sh: dpkg keeps the list
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown option $1 (--help)" >&2; exit 2 ;;
    esac
done
[[ -n "$prefix" && "$prefix" == /* ]] || { echo "install.sh: --prefix needs an absolute path, e.g. /usr/local" >&2; exit 2; }
prefix=${prefix%/}
[[ -z "$destdir" || "$destdir" == /* ]] || destdir="$root/$destdir"
destdir=${destdir%/}
case "$prefix" in
    /usr|/usr/local) sysconfdir=/etc ;;
    *) sysconfdir=$prefix/etc ;;
esac
if [[ "$prefix" == /usr ]]; then zshdir=share/zsh/vendor-completions; else zshdir=share/zsh/site-functions; fi
listfile="$destdir$prefix/share/pathprobe/installed-files"
umask 022

if [[ $uninstall -eq 1 ]]; then
    [[ -f "$listfile" ]] || { echo "install.sh: nothing to uninstall ($listfile is missing)" >&2; exit 1; }
    while IFS= read -r f; do rm -f "$destdir$f"; done < "$listfile"
    rm -f "$listfile"
    rmdir "$destdir$prefix/share/pathprobe" "$destdir$prefix/share/doc/pathprobe/schemas" \
        "$destdir$prefix/share/doc/pathprobe/commands" \
        "$destdir$prefix/share/doc/pathprobe" 2>/dev/null || true
    echo "install.sh: removed pathprobe from $destdir$prefix"
    [[ ! -e "$destdir$sysconfdir/pathprobe" ]] || echo "install.sh: $destdir$sysconfdir/pathprobe (configuration) stays"
    exit 0
fi

if [[ $build -eq 1 ]]; then
    scripts/build-release.sh --out "$dist"
fi
[[ -d "$dist/bin" ]] && compgen -G "$dist/bin/*" >/dev/null \
    || { echo "install.sh: $dist/bin is empty: run scripts/build-release.sh (or drop --no-build)" >&2; exit 1; }

installed=()
put() { # MODE SOURCE TARGET (TARGET without destdir)
    install -D -m "$1" "$2" "$destdir$3"
    installed+=("$3")
}

for b in "$dist"/bin/*; do
    put 0755 "$b" "$prefix/bin/$(basename "$b")"
done

mantmp=$(mktemp -d)
trap 'rm -rf "$mantmp"' EXIT
for page in "$dist"/man/*.1; do
    [[ -e "$page" ]] || continue
    # -n: no name or time stamp in the gzip header, so the same page gives the same bytes.
    gzip -9n -c "$page" > "$mantmp/$(basename "$page").gz"
    put 0644 "$mantmp/$(basename "$page").gz" "$prefix/share/man/man1/$(basename "$page").gz"
done

for f in "$dist"/completions/bash/*; do
    [[ -e "$f" ]] && put 0644 "$f" "$prefix/share/bash-completion/completions/$(basename "$f")"
done
for f in "$dist"/completions/zsh/*; do
    [[ -e "$f" ]] && put 0644 "$f" "$prefix/$zshdir/$(basename "$f")"
done
for f in "$dist"/completions/fish/*; do
    [[ -e "$f" ]] && put 0644 "$f" "$prefix/share/fish/vendor_completions.d/$(basename "$f")"
done

# Units: each contrib/systemd/*.service whose ExecStart binary is installed, with /usr/bin and
# /etc/pathprobe rewritten to this prefix.
units=()
for unit in contrib/systemd/*.service; do
    [[ -e "$unit" ]] || continue
    exe=$(grep -m1 '^ExecStart=' "$unit" | sed -n 's|^ExecStart=[-@+!:]*/usr/bin/\([^ ]*\).*|\1|p' || true)
    if [[ -z "$exe" || ! -e "$dist/bin/$exe" ]]; then
        echo "install.sh: skipping $(basename "$unit") ($exe is not built)" >&2
        continue
    fi
    sed -e "s|/usr/bin/|$prefix/bin/|g" -e "s|/etc/pathprobe/|$sysconfdir/pathprobe/|g" \
        -e "s|file:///usr/share/doc/pathprobe/|file://$prefix/share/doc/pathprobe/|g" \
        "$unit" > "$mantmp/$(basename "$unit")"
    put 0644 "$mantmp/$(basename "$unit")" "$prefix/lib/systemd/system/$(basename "$unit")"
    units+=("$(basename "$unit")")
done

# The exporter's example config, where its unit reads it; never over the administrator's own.
if [[ -e "$dist/bin/pathprobe-exporter" && -f contrib/pathprobe-exporter.yml ]]; then
    if [[ ! -e "$destdir$sysconfdir/pathprobe/exporter.yml" ]]; then
        install -D -m 0644 contrib/pathprobe-exporter.yml "$destdir$sysconfdir/pathprobe/exporter.yml"
    fi
fi

for doc in README.md docs/*.md; do
    [[ -e "$doc" ]] && put 0644 "$doc" "$prefix/share/doc/pathprobe/$(basename "$doc")"
done
for doc in docs/commands/*.md; do
    [[ -e "$doc" ]] && put 0644 "$doc" "$prefix/share/doc/pathprobe/commands/$(basename "$doc")"
done
for schema in docs/schemas/*.json; do
    [[ -e "$schema" ]] && put 0644 "$schema" "$prefix/share/doc/pathprobe/schemas/$(basename "$schema")"
done

if [[ $manifest -eq 1 ]]; then
    # Files the previous install had and this one has not.
    if [[ -f "$listfile" ]]; then
        while IFS= read -r old; do
            printf '%s\n' "${installed[@]}" | grep -qxF -- "$old" || rm -f "$destdir$old"
        done < "$listfile"
    fi
    mkdir -p "$(dirname "$listfile")"
    printf '%s\n' "${installed[@]}" > "$listfile"
fi

if [[ $setcap -eq 1 ]]; then
    if [[ -n "$destdir" ]]; then
        echo "install.sh: --setcap needs an install to / (no --destdir); file capabilities do not survive packing" >&2
        exit 2
    fi
    command -v setcap >/dev/null || { echo "install.sh: setcap is missing (apt-get install libcap2-bin)" >&2; exit 3; }
    setcap cap_net_raw+ep "$prefix/bin/pathprobe"
    echo "install.sh: granted cap_net_raw to $prefix/bin/pathprobe (undo: setcap -r $prefix/bin/pathprobe)"
fi

echo "install.sh: installed ${#installed[@]} files under $destdir$prefix${units:+ (units: ${units[*]}; systemctl daemon-reload)}"

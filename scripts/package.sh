#!/usr/bin/env bash
# Builds dist/pathprobe_VERSION_ARCH.deb with dpkg-deb alone (plus dpkg-shlibdeps from dpkg-dev):
#   scripts/package.sh [--no-build] [--out DIR]
#
# What goes in: scripts/install.sh --prefix /usr lays out the release binaries (build-release.sh),
# man pages, completions, systemd units and docs; this adds what Debian policy asks of a package:
#   VERSION      from the binary (`pathprobe --version`, i.e. git describe), in Debian form
#                (scripts/version.sh --debian: 1.2.3-12-gabc1234 -> 1.2.3+12.gabc1234)
#   Depends      from the binaries' real shared libraries (dpkg-shlibdeps), plus libcap2-bin for
#                the postinst's setcap (a Depends, so that it is configured before the postinst runs)
#   postinst     grants cap_net_raw+ep to /usr/bin/pathprobe (tolerates a missing setcap, a file
#                system without xattrs, a bounding set without CAP_NET_RAW); prints how to undo it
#   prerm/postrm stop the units; on purge remove the links `systemctl enable` made
#   copyright    (machine-readable) pathprobe and what is linked into the binaries statically: the
#                Swift runtime and Foundation, and every resolved Swift package with its license
#   changelog.gz this build's entry (Debian changelog format) with the commits since the last tag
#   conffiles    whatever the package ships under /etc
# DEBFULLNAME / DEBEMAIL name the maintainer (default: git's user.name / user.email). lintian runs when it is
# installed (informational). Idempotent: a new staging folder each run, the .deb replaced.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH

out=dist
build=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-build) build=0; shift ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "package.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
for tool in dpkg-deb dpkg-shlibdeps gzip; do
    command -v "$tool" >/dev/null || { echo "package.sh: $tool is missing (apt-get install dpkg-dev)" >&2; exit 3; }
done
log() { printf 'package: %s\n' "$*" >&2; }

if [[ $build -eq 1 ]]; then
    scripts/build-release.sh --out "$out"
fi
[[ -x "$out/bin/pathprobe" ]] || { log "$out/bin/pathprobe is missing: run scripts/build-release.sh"; exit 1; }

version=$("$out/bin/pathprobe" --version)
debversion=$(scripts/version.sh --debian "$version")
arch=$(dpkg --print-architecture)
# As dch does: DEBFULLNAME / DEBEMAIL, else the git identity of whoever builds.
maintainer="${DEBFULLNAME:-$(git config user.name 2>/dev/null || echo "pathprobe maintainers")} <${DEBEMAIL:-$(git config user.email 2>/dev/null || echo "root@$(hostname -f 2>/dev/null || hostname)")}>"
deb="$out/pathprobe_${debversion}_${arch}.deb"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# dpkg-shlibdeps expects a source package's layout: debian/control and debian/PACKAGE/.
mkdir -p "$work/debian"
stage="$work/debian/pathprobe"
printf 'Source: pathprobe\n\nPackage: pathprobe\nArchitecture: any\n' > "$work/debian/control"
umask 022

scripts/install.sh --prefix /usr --destdir "$stage" --no-build --dist "$out" --no-manifest >&2

doc="$stage/usr/share/doc/pathprobe"
mkdir -p "$doc" "$stage/DEBIAN"

# --- copyright -------------------------------------------------------------------------------
# One stanza for the binaries (in DEP-5 the last stanza whose Files match wins, so everything linked
# into them is named in that one stanza), one for the rest.
license_of() { # FILE -> a DEP-5 license short name
    if grep -q 'Apache License' "$1" && grep -qi 'Version 2.0' "$1"; then
        if grep -q 'Runtime Library Exception' "$1"; then echo "Apache-2.0 with Runtime Library Exception"; else echo "Apache-2.0"; fi
    elif grep -q 'Permission is hereby granted, free of charge' "$1"; then echo "Expat"
    else echo "other"; fi
}
# The years of pathprobe's commits, first to last.
first_year=$(git log --max-parents=0 --format=%ad --date=format:%Y 2>/dev/null | sort | sed -n 1p || true)
last_year=$(git log -1 --format=%ad --date=format:%Y 2>/dev/null || date -u +%Y)
years=${first_year:-$last_year}
[[ "$years" == "$last_year" ]] || years="$years-$last_year"
own="$years the pathprobe authors"
copyrights=("$own" "Apple Inc. and the Swift project authors (the Swift runtime and Foundation)")
licenses=("no-license-stated" "Apache-2.0 with Runtime Library Exception")
packages=()
expat=""
others=()
for checkout in "${SCRATCH_PATH:-.build}"/checkouts/*/; do
    [[ -d "$checkout" ]] || continue
    name=$(basename "$checkout")
    lic=""
    for f in "$checkout"LICENSE* "$checkout"LICENCE* "$checkout"COPYING*; do
        [[ -f "$f" ]] && { lic=$f; break; }
    done
    if [[ -z "$lic" ]]; then
        packages+=("$name (license unknown)")
        copyrights+=("the $name authors")
        continue
    fi
    short=$(license_of "$lic")
    holder=$(grep -m1 -E '^[[:space:]]*Copyright (\(c\) )?[0-9]' "$lic" | sed -e 's/^[[:space:]]*Copyright[[:space:]]*//' -e 's/^(c)[[:space:]]*//' -e 's/\.$//' || true)
    copyrights+=("${holder:-the $name authors} ($name)")
    if [[ "$short" == other ]]; then short="$name-license"; others+=("$name" "$lic"); fi
    [[ "$short" == Expat && -z "$expat" ]] && expat=$lic
    packages+=("$name ($short)")
    printf '%s\n' "${licenses[@]}" | grep -qxF -- "$short" || licenses+=("$short")
done
{
    echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    echo "Upstream-Name: pathprobe"
    echo "Comment: A binary package built from the pathprobe repository by scripts/package.sh."
    echo
    echo "Files: *"
    echo "Copyright: $own"
    echo "License: no-license-stated"
    echo
    echo "Files: usr/bin/*"
    printf 'Copyright: %s\n' "${copyrights[0]}"
    printf '           %s\n' "${copyrights[@]:1}"
    printf 'License: %s\n' "$(printf '%s\n' "${licenses[@]}" | paste -sd'|' | sed 's/|/ and /g')"
    echo "Comment: pathprobe's own code, and what is linked into the binaries statically: the Swift"
    echo " standard library, runtime, Concurrency, Dispatch and Foundation (--static-swift-stdlib; where the"
    echo " exporter is built, Foundation brings ICU's data: Unicode License v3, Copyright Unicode, Inc.), and"
    echo " the Swift packages as resolved for this build:"
    printf ' %s\n' "$(printf '%s, ' "${packages[@]}" | sed 's/, $/./')" | fold -s -w 98 | sed '2,$s/^/ /'
    cat <<'LICENSES'

License: no-license-stated
 The pathprobe repository does not state a license yet: until it does, its authors reserve all
 rights.

License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0, is in
 /usr/share/common-licenses/Apache-2.0.

License: Apache-2.0 with Runtime Library Exception
 Licensed under the Apache License, Version 2.0; on Debian systems its full text is in
 /usr/share/common-licenses/Apache-2.0.
 .
 Runtime Library Exception to the Apache 2.0 License:
 As an exception, if you use this Software to compile your source code and portions of this
 Software are embedded into the binary product as a result, you may redistribute such product
 without providing attribution as would otherwise be required by Sections 4(a), 4(b) and 4(d) of
 the License.
LICENSES
    if [[ -n "$expat" ]]; then
        echo
        echo "License: Expat"
        sed -n '/Permission is hereby granted/,$p' "$expat" | sed -e 's/^[[:space:]]*$/./' -e 's/^/ /'
    fi
    for ((i = 0; i < ${#others[@]}; i += 2)); do
        echo
        echo "License: ${others[i]}-license"
        sed -e 's/^[[:space:]]*$/./' -e 's/^/ /' "${others[i + 1]}"
    done
} > "$doc/copyright"

# --- changelog ---------------------------------------------------------------------------------
date_rfc=$(git log -1 --format=%aD 2>/dev/null || date -R)
{
    echo "pathprobe ($debversion) unstable; urgency=medium"
    echo
    echo "  * Build of $version (git describe)."
    last_tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' --match '[0-9]*' 2>/dev/null || true)
    if git rev-parse --git-dir >/dev/null 2>&1; then
        git log --no-merges -n 40 --format='%s' ${last_tag:+"$last_tag"..}HEAD 2>/dev/null \
            | cut -c1-72 | sed 's/^/  * /'
    fi
    echo
    echo " -- $maintainer  $date_rfc"
} | gzip -9n > "$doc/changelog.gz"

# --- control -----------------------------------------------------------------------------------
elves=()
while IFS= read -r f; do
    [[ "$(head -c4 "$f")" == $'\x7fELF' ]] && elves+=("$f")
done < <(find "$stage/usr/bin" "$stage/usr/libexec" -type f 2>/dev/null)
shlibs=$(cd "$work" && dpkg-shlibdeps -O "${elves[@]#"$work"/}" 2>"$work/shlibdeps.log") \
    || { cat "$work/shlibdeps.log" >&2; log "dpkg-shlibdeps failed"; exit 1; }
grep -v 'could avoid a useless dependency' "$work/shlibdeps.log" >&2 || true
depends=${shlibs#shlibs:Depends=}
depends="$depends, libcap2-bin"

units=$(cd "$stage" && find usr/lib/systemd/system -name '*.service' -printf '%f ' 2>/dev/null | sed 's/ $//')
for script in postinst prerm postrm; do
    sed "s|@UNITS@|$units|" "packaging/debian/$script" > "$stage/DEBIAN/$script"
    chmod 0755 "$stage/DEBIAN/$script"
done
if [[ -d "$stage/etc" ]]; then
    (cd "$stage" && find etc -type f -printf '/%p\n' | sort) > "$stage/DEBIAN/conffiles"
fi
# lintian overrides, each only where the file it names is shipped (else lintian reports it unused).
overrides=$(awk -v stage="$stage" '
    /^#/ { comment = comment $0 "\n"; next }
    /\[.*\]/ { path = $0; sub(/.*\[/, "", path); sub(/\].*/, "", path)
               if (system("test -e \"" stage "/" path "\"") != 0) { comment = ""; next } }
    NF { printf "%s%s\n", comment, $0; comment = "" }' packaging/debian/lintian-overrides)
if [[ -n "$overrides" ]]; then
    install -d "$stage/usr/share/lintian/overrides"
    printf '%s\n' "$overrides" > "$stage/usr/share/lintian/overrides/pathprobe"
fi
installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<EOF
Package: pathprobe
Version: $debversion
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Suggests: systemd
Section: net
Priority: optional
Description: MTU and transport path profiler
 pathprobe measures the exact path MTU to a host, also through PMTU black
 holes, and names the hop where large packets vanish; checks which TCP and
 UDP ports are reachable and whether fragments pass; lists the local side
 (interfaces, routes, offloads) and compares profiles taken before and after
 a change.
 .
 The binary is self-contained (the Swift runtime is linked statically). The
 package grants it cap_net_raw so that any user can probe where ping sockets
 are closed (see /usr/share/doc/pathprobe/install.md to undo that), and
 ships a systemd unit for the responder (pathprobe serve).
EOF
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"

mkdir -p "$out"
rm -f "$out"/pathprobe_*.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2
log "$deb: $(du -k "$deb" | cut -f1) KB, Installed-Size $installed_size KB"
log "Depends: $depends"
echo "$deb" > "$out/DEB"

if command -v lintian >/dev/null; then
    log "lintian:"
    lintian --tag-display-limit 0 "$deb" >&2 || true
fi
echo "$deb"

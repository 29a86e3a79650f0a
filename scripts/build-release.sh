#!/usr/bin/env bash
# Release build of every executable product the package declares (read from `swift package describe`):
# the Swift runtime linked statically, stripped. Generates what ships beside the binaries, from the
# binaries themselves: man pages (swift-argument-parser's GenerateManual plugin, one page per command
# and subcommand) and bash, zsh and fish completions (`--generate-completion-script`).
#
#   scripts/build-release.sh [--out DIR] [--scratch-path DIR]
#
# Writes into DIR (default dist/):
#   bin/NAME                      stripped executables
#   man/NAME[-SUB].1              man pages (not compressed)
#   completions/bash/NAME  completions/zsh/_NAME  completions/fish/NAME.fish
#   VERSION                       what `pathprobe --version` says
# Fails when a check fails: pathprobe larger than 20 MB (MAX_SIZE_MB_<product> overrides, e.g.
# MAX_SIZE_MB_pathprobe=20; products without a limit are only reported), a binary that needs a Swift,
# Foundation, ICU or Dispatch shared library or a library that is missing, or a man page that is missing.
# Idempotent: the build is incremental, DIR's generated folders are laid anew. The man pages come from
# the debug build (see below), which this builds too where it is missing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH

out=dist
scratch=.build
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) out=$2; shift 2 ;;
        --scratch-path) scratch=$2; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-release.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
for tool in python3 strip ldd gzip; do
    command -v "$tool" >/dev/null || { echo "build-release.sh: $tool is missing (scripts/install-deps.sh)" >&2; exit 3; }
done

# The size limits (MB) of issue 14; a product not named here is reported, not limited.
declare -A max_size_mb=([pathprobe]=20)
# The release flags. SwiftPM already links release executables with --gc-sections (dead stripping);
# -Osize was measured (scripts/build-release.sh's history, docs/install.md): see RELEASE_SWIFTC_FLAGS.
# --disable-local-rpath: no $ORIGIN run path (nothing is loaded from beside the binary).
flags=(-c release --static-swift-stdlib --disable-local-rpath --scratch-path "$scratch")
# shellcheck disable=SC2206  # word splitting wanted: extra flags from the environment
extra=(${RELEASE_SWIFTC_FLAGS:-})
for f in "${extra[@]}"; do flags+=(-Xswiftc "$f"); done

log() { printf 'build-release: %s\n' "$*" >&2; }

products=$(swift package --scratch-path "$scratch" describe --type json 2>/dev/null | python3 -c '
import json, sys
for p in json.load(sys.stdin)["products"]:
    if "executable" in p["type"]:
        print(p["name"])
')
[[ -n "$products" ]] || { log "no executable product in Package.swift"; exit 1; }
log "executable products: $(echo $products)"

start=$(date +%s)
swift build "${flags[@]}"
bindir=$(swift build "${flags[@]}" --show-bin-path)
log "release build: $(( $(date +%s) - start )) s"

rm -rf "$out/bin" "$out/man" "$out/completions"
mkdir -p "$out/bin" "$out/man" "$out/completions/bash" "$out/completions/zsh" "$out/completions/fish"

failed=0
fail() { log "FAIL: $*"; failed=1; }

for p in $products; do
    [[ -x "$bindir/$p" ]] || { fail "$bindir/$p was not built"; continue; }
    # As Debian's dh_strip does for a release: no symbol table, no compiler notes.
    strip --strip-unneeded --remove-section=.comment --remove-section=.note -o "$out/bin/$p" "$bindir/$p"
    size=$(stat -c %s "$out/bin/$p")
    log "$p: $(awk -v s="$size" 'BEGIN { printf "%.1f MB (%d bytes)", s / 1048576, s }') stripped," \
        "$(awk -v s="$(stat -c %s "$bindir/$p")" 'BEGIN { printf "%.1f MB", s / 1048576 }') unstripped"
    limit=${max_size_mb[$p]:-}
    override="MAX_SIZE_MB_${p//-/_}"
    limit=${!override:-$limit}
    if [[ -n "$limit" ]] && (( size > limit * 1048576 )); then
        fail "$p is larger than $limit MB"
    fi
    # Nothing of the Swift runtime, Foundation, ICU or Dispatch may be needed at run time, and every
    # library must be found.
    libs=$(ldd "$out/bin/$p")
    if bad=$(grep -E 'libswift|Foundation|libicu|libdispatch|libBlocksRuntime|libXCTest|libTesting|not found' <<<"$libs"); then
        fail "$p needs: $(echo $bad)"
    fi
    log "$p needs: $(awk '/=>/ { print $1 } !/=>/ && !/vdso/ { print $1 }' <<<"$libs" | xargs)"

    # Completions, from the binary (products that are no ArgumentParser command have none).
    if "$out/bin/$p" --generate-completion-script bash > "$out/completions/bash/$p" 2>/dev/null \
        && [[ -s "$out/completions/bash/$p" ]]; then
        # A completion file is sourced, not run: no #! line (lintian: bash-completion-with-hashbang).
        sed -i '1{/^#!/d}' "$out/completions/bash/$p"
        "$out/bin/$p" --generate-completion-script zsh > "$out/completions/zsh/_$p"
        "$out/bin/$p" --generate-completion-script fish > "$out/completions/fish/$p.fish"
    else
        rm -f "$out/completions/bash/$p"
        log "$p: no completion scripts (not an ArgumentParser command?)"
    fi
done

# Man pages: swift-argument-parser's GenerateManual plugin builds the products and runs generate-manual
# on each ArgumentParser executable. `swift package` takes no --static-swift-stdlib, so a release build
# from the plugin would relink the release binaries without it: the plugin uses the debug build instead
# (the help text, all a man page holds, is the same; `swift build` / scripts/test.sh have made it
# already). The page's date is the commit's, so that the same commit gives the same pages.
date=$(git log -1 --format=%cs 2>/dev/null || date -u +%F)
manroot="$scratch/plugins/GenerateManual"
rm -rf "$manroot/outputs"
manlog=$(mktemp)
trap 'rm -f "$manlog"' EXIT
if ! swift package --scratch-path "$scratch" plugin generate-manual --configuration debug --multi-page --date "$date" \
        --authors "pathprobe maintainers" >"$manlog" 2>&1; then
    cat "$manlog" >&2
    fail "generate-manual failed"
fi
# Pages as git and systemctl name theirs: pathprobe-mtu.1 (generate-manual writes pathprobe.mtu.1),
# NAME "pathprobe-mtu" for whatis/apropos, the synopsis as typed ("pathprobe mtu"); no page for the
# implicit `help` subcommand; a paragraph break (.Pp) where the help text has an empty line (mdoc
# warns about empty lines, lintian reports the warnings).
python3 - "$manroot" "$out/man" <<'PY'
import os, re, sys
manroot, out = sys.argv[1], sys.argv[2]
def dashed(dotted):
    return "-".join(dotted.split("."))
def is_help(dotted):
    words = dotted.split(".")
    return len(words) > 1 and words[-1] == "help"
for folder, _, files in os.walk(manroot):
    for f in sorted(files):
        if not f.endswith(".1") or is_help(f[:-2]):
            continue
        words = f[:-2].split(".")
        name = "-".join(words)
        lines = []
        for line in open(os.path.join(folder, f), encoding="utf-8").read().split("\n"):
            m = re.match(r"^\.Xr (\S+) (\d)( ,)?$", line)
            if m:
                if is_help(m.group(1)):
                    continue
                line = ".Xr %s %s%s" % (dashed(m.group(1)), m.group(2), m.group(3) or "")
            elif line.startswith(".Dt "):
                line = re.sub(r"^\.Dt \S+", ".Dt " + name.upper(), line)
            lines.append(line)
        # The last reference of the list ends without a comma (the help page may have been last).
        xrs = [i for i, l in enumerate(lines) if l.startswith(".Xr ")]
        if xrs:
            lines[xrs[-1]] = re.sub(r" ,$", "", lines[xrs[-1]])
        # Empty lines inside the page are paragraph breaks (the trailing one stays).
        body = "\n".join(lines).rstrip("\n").split("\n")
        body = [".Pp" if l.strip() == "" else l for l in body]
        text = "\n".join(body) + "\n"
        if len(words) > 1:
            typed = " ".join(words)
            text = text.replace('.Nm "%s"\n' % typed, ".Nm %s\n" % name, 1)
            text = text.replace(".Sh SYNOPSIS\n.Nm\n", '.Sh SYNOPSIS\n.Nm "%s"\n' % typed, 1)
        with open(os.path.join(out, name + ".1"), "w", encoding="utf-8") as page:
            page.write(text)
PY
for p in $products; do
    [[ -f "$out/completions/bash/$p" ]] || continue  # not an ArgumentParser command: no page either
    [[ -f "$out/man/$p.1" ]] || fail "no man page $p.1 was generated"
done
log "man pages: $(cd "$out/man" && ls | xargs)"

if grep -qx pathprobe <<<"$products"; then
    "$out/bin/pathprobe" --version > "$out/VERSION"
    log "version: $(cat "$out/VERSION")"
fi
[[ $failed -eq 0 ]] || { log "checks failed"; exit 1; }
log "done: $out/"

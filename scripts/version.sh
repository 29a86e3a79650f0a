#!/usr/bin/env bash
# pathprobe's version, from the repository: the latest release tag (v1.2.3 or 1.2.3), plus the number of
# commits since it and the commit when HEAD is not the tag itself (git describe: 1.2.3-12-gabc1234),
# "-dirty" with uncommitted changes; 0.0.0-N-gabc1234 before the first tag; "dev" without git (or in
# a tree that is not a clone of pathprobe). A tree exported with `git archive` carries the version in
# scripts/archive-version (export-subst, see .gitattributes).
#
#   scripts/version.sh                 print the version
#   scripts/version.sh --swift FILE    write the Swift source declaring PathProbeVersion, only when it
#                                      changes (the PathProbeVersion build tool plugin runs this before
#                                      every build, so every `swift build` carries the right version)
#   scripts/version.sh --debian [V]    the Debian form of V (default: this tree's version):
#                                      1.2.3-12-gabc1234 -> 1.2.3+12.gabc1234, 1.3.0-rc1 -> 1.3.0~rc1, dev -> 0~dev
# Never fails: a build must not break because git is missing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

describe() {
    local top v
    if command -v git >/dev/null 2>&1 \
        && top=$(git -C "$root" rev-parse --show-toplevel 2>/dev/null) \
        && [[ "$(cd "$top" && pwd -P)" == "$root" ]]; then
        if v=$(git -C "$root" describe --tags --match 'v[0-9]*' --match '[0-9]*' --dirty 2>/dev/null); then
            printf '%s\n' "${v#v}"
            return
        fi
        # No release tag yet: count from the first commit.
        local count hash dirty=""
        if count=$(git -C "$root" rev-list --count HEAD 2>/dev/null) \
            && hash=$(git -C "$root" rev-parse --short=7 HEAD 2>/dev/null); then
            git -C "$root" diff-index --quiet HEAD -- 2>/dev/null || dirty="-dirty"
            printf '0.0.0-%s-g%s%s\n' "$count" "$hash" "$dirty"
            return
        fi
    fi
    local archived
    archived=$(head -n1 "$root/scripts/archive-version" 2>/dev/null || true)
    if [[ -n "$archived" && "$archived" != *'$Format'* && "$archived" != *'%('* ]]; then
        printf '%s\n' "${archived#v}"
        return
    fi
    echo dev
}

# Only characters a version may hold (and a Swift string literal may hold as they are).
sanitize() { tr -cd 'A-Za-z0-9.+~_-' <<<"$1"; }

debian() {
    local v=$1
    [[ "$v" == dev || -z "$v" ]] && { echo "0~dev"; return; }
    local dirty=""
    [[ "$v" == *-dirty ]] && { dirty="+dirty"; v=${v%-dirty}; }
    local tag=$v since=""
    if [[ "$v" =~ ^(.*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
        tag=${BASH_REMATCH[1]}
        since="+${BASH_REMATCH[2]}.g${BASH_REMATCH[3]}"
    fi
    tag=${tag//-/\~}                   # 1.3.0-rc1 sorts before 1.3.0
    [[ "$tag" =~ ^[0-9] ]] || tag="0~$tag"
    if [[ -n "$dirty" && -z "$since" ]]; then since="+dirty"; elif [[ -n "$dirty" ]]; then since="$since.dirty"; fi
    printf '%s%s\n' "$tag" "$since"
}

case "${1:-}" in
    "")
        sanitize "$(describe)"; echo ;;
    --swift)
        [[ $# -eq 2 ]] || { echo "usage: $0 --swift FILE" >&2; exit 2; }
        version=$(sanitize "$(describe)")
        text="// Generated before every build by scripts/version.sh (the PathProbeVersion build tool plugin): do not edit.

/// pathprobe's version, from the repository (\`git describe\`): the latest release tag, plus the commits
/// since it and the commit when the build is not the tag itself (\`1.2.3-12-gabc1234\`), \"dev\" in a
/// build without git. \`pathprobe --version\` prints it and documents carry it.
public enum PathProbeVersion {
    public static let string = \"$version\"
}"
        mkdir -p "$(dirname "$2")"
        if [[ "$(cat "$2" 2>/dev/null || true)" != "$text" ]]; then
            printf '%s\n' "$text" > "$2.tmp.$$"
            mv -f "$2.tmp.$$" "$2"
        fi ;;
    --debian)
        debian "$(sanitize "${2:-$(describe)}")" ;;
    *)
        echo "usage: $0 [--swift FILE | --debian [VERSION]]" >&2; exit 2 ;;
esac

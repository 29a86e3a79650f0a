#!/usr/bin/env bash
# Tests scripts/version.sh (what the PathProbeVersion build tool plugin runs before every build) in a
# temporary clone, where it may tag and commit: no tag yet, on a tag, after a tag, uncommitted changes,
# a `git archive` export, a tree without git, a tree inside some other git repository, the Swift file
# it writes, the Debian form and its ordering. No root, no build, a few seconds.
# Prints "N passed, N failed"; removes the clone on exit.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
expect() { # NAME EXPECTED ACTUAL
    if [[ "$2" == "$3" ]]; then
        passed=$((passed + 1)); printf 'test-version: ok    %s (%s)\n' "$1" "$3" >&2
    else
        failed=$((failed + 1)); printf 'test-version: FAIL  %s: expected "%s", got "%s"\n' "$1" "$2" "$3" >&2
    fi
}
g() { git -C "$tmp/repo" -c user.name=test -c user.email=test@example.invalid "$@"; }

git clone -q "$root" "$tmp/repo"
# The version script under test is this tree's, committed in the clone.
cp "$root/scripts/version.sh" "$tmp/repo/scripts/version.sh"
cp "$root/scripts/archive-version" "$tmp/repo/scripts/archive-version"
cp "$root/.gitattributes" "$tmp/repo/.gitattributes"
g add -A && g commit -q --allow-empty -m "version.sh under test"
g tag -l | while read -r t; do g tag -d "$t" >/dev/null; done
v() { "$tmp/repo/scripts/version.sh" "$@"; }

count=$(g rev-list --count HEAD)
hash=$(g rev-parse --short=7 HEAD)
expect "no tag yet" "0.0.0-$count-g$hash" "$(v)"

g tag v0.3.0
expect "on the tag v0.3.0" "0.3.0" "$(v)"
expect "Debian form on the tag" "0.3.0" "$(v --debian)"

g commit -q --allow-empty -m "one more"
hash=$(g rev-parse --short=7 HEAD)
expect "one commit after the tag" "0.3.0-1-g$hash" "$(v)"
expect "Debian form after the tag" "0.3.0+1.g$hash" "$(v --debian)"

echo "# local change" >> "$tmp/repo/README.md"
expect "uncommitted changes" "0.3.0-1-g$hash-dirty" "$(v)"
expect "Debian form with changes" "0.3.0+1.g$hash.dirty" "$(v --debian)"
g checkout -q -- README.md

g tag 1.0.0-rc1
expect "a tag without v, a pre-release" "1.0.0-rc1" "$(v)"
expect "Debian form of a pre-release" "1.0.0~rc1" "$(v --debian)"
mkdir "$tmp/archive-rc"
g archive HEAD | tar -x -C "$tmp/archive-rc"
expect "a git archive export of a tag without v" "1.0.0-rc1" "$("$tmp/archive-rc/scripts/version.sh")"
g tag -d 1.0.0-rc1 >/dev/null

mkdir "$tmp/archive"
g archive HEAD | tar -x -C "$tmp/archive"
expect "a git archive export keeps the version" "0.3.0-1-g$hash" "$("$tmp/archive/scripts/version.sh")"

mkdir -p "$tmp/other/nested"
git -C "$tmp/other" init -q
g archive HEAD | tar -x -C "$tmp/other/nested"
expect "an export inside another repository ignores that repository" "0.3.0-1-g$hash" "$("$tmp/other/nested/scripts/version.sh")"

mkdir "$tmp/plain"
(cd "$tmp/repo" && git ls-files -z | xargs -0 cp --parents -t "$tmp/plain")
expect "a tree without git and without an export" "dev" "$("$tmp/plain/scripts/version.sh")"
expect "Debian form of dev" "0~dev" "$("$tmp/plain/scripts/version.sh" --debian)"

v --swift "$tmp/gen/PathProbeVersion.swift"
expect "the Swift file declares the version" '    public static let string = "0.3.0-1-g'"$hash"'"' \
    "$(grep 'static let string' "$tmp/gen/PathProbeVersion.swift")"
touch -d '2001-01-01' "$tmp/gen/PathProbeVersion.swift"
v --swift "$tmp/gen/PathProbeVersion.swift"
expect "an unchanged version leaves the file alone (no rebuild)" "2001-01-01" \
    "$(date -r "$tmp/gen/PathProbeVersion.swift" +%F)"

ordered=yes
for pair in "0~dev 0.0.0+5.gabc1234" "0.0.0+5.gabc1234 0.3.0" "0.3.0 0.3.0+1.gabc1234" \
    "0.3.0+1.gabc1234 0.3.0+1.gabc1234.dirty" "0.3.0+12.gabc1234 0.3.1~rc1" "0.3.1~rc1 0.3.1"; do
    # shellcheck disable=SC2086
    set -- $pair
    dpkg --compare-versions "$1" lt "$2" || { ordered="no: $1 >= $2"; break; }
done
expect "Debian versions sort as releases do" yes "$ordered"

echo "test-version: $passed passed, $failed failed"
[[ $failed -eq 0 ]]

#!/usr/bin/env bash
# The package test (root; CI can run it as it is): builds the .deb (scripts/package.sh), installs it
# with apt, and checks it as a user would meet it:
#   - `pathprobe --version` is the repository's version and the package's; ldd lists no Swift,
#     Foundation or ICU library; the binary is at most 20 MB; it carries cap_net_raw
#   - `pathprobe mtu` as a non-root user (nobody) in a network namespace whose ping sockets are closed
#     (net.ipv4.ping_group_range "1 0"), against a second namespace over a veth with MTU 1400: only
#     the file capability lets it open a raw ICMP socket (the same binary without it exits 3)
#   - `man pathprobe-mtu` renders; bash completes `pathprobe m<TAB>` to mtu (through
#     bash-completion's loader, so from the installed place); the systemd units pass
#     `systemd-analyze verify`
#   - reinstalling the same version (the upgrade path of the maintainer scripts) keeps it working
#   - `apt-get remove` leaves nothing but conffiles, `apt-get purge` nothing at all (every file that
#     `dpkg -L` listed is gone, so are /etc/pathprobe and the links `systemctl enable` made)
#
#   scripts/test-package.sh [--deb FILE]    (--deb: test this package instead of building one)
#
# The lab's namespaces get a random suffix; everything (namespaces, the package) is removed on exit,
# also on failure. Traffic stays between the two namespaces. Prints "N passed, N failed".
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
started=$SECONDS

deb=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --deb) deb=$2; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "test-package.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ $(id -u) -eq 0 ]] || { echo "test-package.sh: needs root (apt, network namespaces, setpriv)" >&2; exit 3; }

log() { printf 'test-package: %s\n' "$*" >&2; }

# The Debian packages this test uses (scripts/install-deps.sh installs them too).
need=(dpkg-dev man-db libcap2-bin bash-completion iproute2 util-linux python3)
missing=()
for p in "${need[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

suffix=$(printf '%04x%04x' $RANDOM $RANDOM)
nsA="pkgtest-$suffix-a"
nsB="pkgtest-$suffix-b"
tmp=$(mktemp -d)
chmod 0755 "$tmp"
installed_by_us=0

cleanup() {
    local status=$?
    ip netns del "$nsA" 2>/dev/null || true
    ip netns del "$nsB" 2>/dev/null || true
    if [[ $installed_by_us -eq 1 ]] && dpkg-query -W -f='${Status}' pathprobe 2>/dev/null | grep -qv not-installed; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq pathprobe >/dev/null 2>&1 || dpkg --purge pathprobe >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

passed=0
failed=0
check() { # NAME COMMAND...: runs the command, counts it
    local name=$1; shift
    if "$@" >"$tmp/out" 2>&1; then
        passed=$((passed + 1)); log "ok    $name"
    else
        failed=$((failed + 1)); log "FAIL  $name"; sed 's/^/        /' "$tmp/out" | tail -n 20 >&2
    fi
}

# --- build --------------------------------------------------------------------------------------
built_here=0
if [[ -z "$deb" ]]; then
    built_here=1
    t=$SECONDS
    deb=$(scripts/package.sh | tail -n1)
    log "package built in $((SECONDS - t)) s: $deb ($(du -k "$deb" | cut -f1) KB)"
fi
[[ -f "$deb" ]] || { log "no package at '$deb'"; exit 1; }
deb=$(cd "$(dirname "$deb")" && pwd -P)/$(basename "$deb")
debversion=$(dpkg-deb -f "$deb" Version)

# An earlier run that was killed may have left the package installed.
if dpkg-query -W -f='${Status}' pathprobe 2>/dev/null | grep -q "install ok installed"; then
    log "pathprobe is installed already ($(dpkg-query -W -f='${Version}' pathprobe)): purging it first"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq pathprobe >/dev/null
fi

apt_install() {
    # apt resolves Depends from the configured Debian mirror; update its lists once if it must.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$tmp/apt.log" 2>&1 && return 0
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; return 1; }
}
installed_by_us=1
check "apt-get install ./$(basename "$deb")" apt_install "$deb"
sed 's/^/        /' "$tmp/apt.log" | grep -i 'pathprobe:' >&2 || true  # what the postinst said
dpkg -L pathprobe > "$tmp/files" 2>/dev/null || true
cp "$tmp/files" "$tmp/files.installed"

# --- the installed binary -----------------------------------------------------------------------
bin=/usr/bin/pathprobe
version_ok() {
    local v; v=$("$bin" --version)
    echo "pathprobe --version: $v; package version: $debversion"
    [[ -n "$v" && "$v" != dev ]] && [[ "$(scripts/version.sh --debian "$v")" == "$debversion" ]] || return 1
    # Built here: the repository's own version (git describe), as scripts/version.sh tells it.
    if [[ $built_here -eq 1 ]]; then
        echo "scripts/version.sh: $(scripts/version.sh)"
        [[ "$v" == "$(scripts/version.sh)" ]]
    fi
}
check "pathprobe --version: the repository's version, the package's" version_ok
no_swift_libs() {
    ldd "$bin"
    ! ldd "$bin" | grep -E 'libswift|Foundation|libicu|libdispatch|libBlocksRuntime|not found'
}
check "ldd: no Swift, Foundation or ICU library" no_swift_libs
size_ok() { local s; s=$(stat -c %s "$bin"); echo "$s bytes"; (( s <= 20 * 1048576 )); }
check "the binary is at most 20 MB" size_ok
check "the binary carries cap_net_raw" bash -c "getcap $bin | grep -q 'cap_net_raw[=+]ep'"

# --- pathprobe mtu as nobody, ping sockets closed, the capability carries it ------------------
ip netns add "$nsA"
ip netns add "$nsB"
ip link add pkt0 netns "$nsA" type veth peer name pkt1 netns "$nsB"
ip -n "$nsA" link set lo up
ip -n "$nsB" link set lo up
ip -n "$nsA" link set pkt0 mtu 1400 up
ip -n "$nsB" link set pkt1 mtu 1400 up
ip -n "$nsA" addr add 198.18.71.1/24 dev pkt0
ip -n "$nsB" addr add 198.18.71.2/24 dev pkt1
ip netns exec "$nsA" sysctl -qw net.ipv4.ping_group_range="1 0"
as_nobody() { ip netns exec "$nsA" setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

check "ping sockets are closed in the lab" bash -c "[[ \"\$(ip netns exec $nsA cat /proc/sys/net/ipv4/ping_group_range | tr -s '[:space:]' ' ')\" == '1 0 ' ]]"
mtu_as_nobody() {
    as_nobody "$bin" mtu --json -n --timeout 0.5 198.18.71.2 > "$tmp/mtu.json"
    cat "$tmp/mtu.json"
    python3 - "$tmp/mtu.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d.get("status") == "measured", d.get("status")
assert d.get("socket") == "raw", d.get("socket")
assert d.get("path_mtu") == 1400, d.get("path_mtu")
EOF
}
check "pathprobe mtu as nobody through cap_net_raw: path MTU 1400 over a raw socket" mtu_as_nobody
without_capability() {
    # The same binary without the file capability (a copy has none): no socket, exit 3.
    cp "$bin" "$tmp/pathprobe-nocap"
    local status=0
    as_nobody "$tmp/pathprobe-nocap" mtu -n --timeout 0.5 198.18.71.2 || status=$?
    echo "exit status without the capability: $status"
    [[ $status -eq 3 ]]
}
check "without the capability the same probe exits 3" without_capability

# --- man page, completion, units ---------------------------------------------------------------
man_renders() {
    man -w pathprobe-mtu | grep -qx /usr/share/man/man1/pathprobe-mtu.1.gz
    MANWIDTH=80 man -P cat pathprobe-mtu > "$tmp/man.txt" 2>"$tmp/man.err"
    head -n 12 "$tmp/man.txt"
    grep -q '^NAME' "$tmp/man.txt" && grep -q 'pathprobe-mtu' "$tmp/man.txt" && grep -q -- '--timeout' "$tmp/man.txt"
}
check "man pathprobe-mtu renders" man_renders
man_clean() {
    # groff's warnings about the generated page (what lintian's manpage-has-errors-from-man reads)
    local w
    w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -P cat pathprobe-mtu 2>&1 >/dev/null)
    [[ -z "$w" ]] || { echo "$w"; return 1; }
}
check "man pathprobe-mtu: no groff warnings" man_clean
check "man pathprobe (the root page) renders" bash -c "man -P cat pathprobe 2>/dev/null | grep -q 'pathprobe-mtu'"

completion() { # WORDS... : what bash offers for the last word
    bash --norc --noprofile -c '
        shopt -s extglob progcomp
        source /usr/share/bash-completion/bash_completion
        __load_completion pathprobe || { echo "no completion for pathprobe found" >&2; exit 1; }
        func=$(complete -p pathprobe | sed -n "s/.*-F \([^ ]*\).*/\1/p")
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        "$func" pathprobe "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf "%s\n" "${COMPREPLY[@]}"
    ' completion "$@"
}
completes_mtu() { completion pathprobe m | tee "$tmp/c"; grep -qx mtu "$tmp/c" && ! grep -v '^m' "$tmp/c"; }
check "bash: pathprobe m<TAB> completes to mtu" completes_mtu
completes_option() { completion pathprobe mtu --proto | tee "$tmp/c"; grep -qx -- --protocol "$tmp/c"; }
check "bash: pathprobe mtu --proto<TAB> completes to --protocol" completes_option
check "zsh and fish completions are installed" bash -c \
    "[[ -s /usr/share/zsh/vendor-completions/_pathprobe && -s /usr/share/fish/vendor_completions.d/pathprobe.fish ]]"
units=$(grep -E '^/usr/lib/systemd/system/.*\.service$' "$tmp/files" || true)
check "the package ships pathprobe-serve.service" bash -c "grep -qx /usr/lib/systemd/system/pathprobe-serve.service $tmp/files"
if command -v systemd-analyze >/dev/null; then
    for u in $units; do
        check "systemd-analyze verify $(basename "$u")" systemd-analyze verify "$u"
    done
fi

# --- upgrade path, remove, purge ----------------------------------------------------------------
reinstall() { dpkg -i "$deb" && getcap "$bin" | grep -q cap_net_raw && "$bin" --version; }
check "reinstalling the same package keeps it working" reinstall
# An administrator enabled the responder (works offline: systemctl only makes the links).
enabled=0
if systemctl enable pathprobe-serve.service >/dev/null 2>&1 && compgen -G '/etc/systemd/system/*.wants/pathprobe-serve.service' >/dev/null; then
    enabled=1
fi

conffiles=$(dpkg-query -W -f='${Conffiles}\n' pathprobe | awk 'NF { print $1 }')
gone_except_conffiles() {
    local left=0
    while IFS= read -r f; do
        [[ -f "$f" || -L "$f" ]] || continue
        grep -qxF -- "$f" <<<"$conffiles" && continue
        echo "left behind: $f"; left=1
    done < "$tmp/files.installed"
    return $left
}
check "apt-get remove" env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq pathprobe
check "after remove: no file left but conffiles" gone_except_conffiles
check "after remove: /usr/bin/pathprobe and the man pages are gone" bash -c \
    "[[ ! -e /usr/bin/pathprobe ]] && ! compgen -G '/usr/share/man/man1/pathprobe*' && ! man -w pathprobe-mtu"
check "apt-get purge" env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq pathprobe
nothing_left() {
    local left=0
    if dpkg -L pathprobe >/dev/null 2>&1; then echo "dpkg -L still lists pathprobe"; left=1; fi
    while IFS= read -r f; do
        [[ -f "$f" || -L "$f" ]] && { echo "left behind: $f"; left=1; }
    done < "$tmp/files.installed"
    [[ -e /etc/pathprobe ]] && { echo "left behind: /etc/pathprobe"; left=1; }
    if compgen -G '/etc/systemd/system/*.wants/pathprobe-*' >/dev/null; then
        echo "left behind: $(echo /etc/systemd/system/*.wants/pathprobe-*)"; left=1
    fi
    return $left
}
check "after purge: dpkg -L gone, no file, no /etc/pathprobe, no enable links" nothing_left
[[ $enabled -eq 1 ]] || log "note: systemctl enable did not work here; the purge of its links was not exercised"

# Purge straight from installed (no remove first) is the other path.
check "install again, then purge at once" bash -c \
    "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq '$deb' >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq pathprobe >/dev/null && ! dpkg -L pathprobe >/dev/null 2>&1 && [[ ! -e /usr/bin/pathprobe ]]"
installed_by_us=0

log "wall time $((SECONDS - started)) s"
echo "test-package: $passed passed, $failed failed"
[[ $failed -eq 0 ]]

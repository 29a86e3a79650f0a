#!/usr/bin/env bash
# The bulk lab: the client - r1 - r2 - server lab of scripts/lab.sh, where the server answers for
# whole address ranges and the routers give three sub-ranges paths of different MTU.
#
#   scripts/bulk-lab.sh up PREFIX       build it (namespaces PREFIXc PREFIXr1 PREFIXr2 PREFIXs)
#   scripts/bulk-lab.sh down PREFIX     remove it
#   scripts/bulk-lab.sh list N [FILE]   N targets, a third of each range, interleaved (default: stdout)
#   scripts/bulk-lab.sh expect ADDRESS  the path_mtu and black_hole ADDRESS must give ("1400 true")
#   scripts/bulk-lab.sh check FILE.csv  checks `pathprobe bulk --csv` output against that; prints
#                                       "records N wrong W", exits 1 if any is wrong
#
# Ranges (the server has `ip route add local 10.72.0.0/14 dev lo`: it answers for all of them):
#   10.72.0.0/18    clean                         path MTU 1500
#   10.72.64.0/18   r1 routes it with mtu 1492    path MTU 1492, r1 sends frag-needed (a PPPoE hop)
#   10.72.128.0/18  r2 routes it with mtu 1400    path MTU 1400, r2 drops its own frag-needed: a black hole
#   10.72.192.0/18, 10.73.0.0/16 - 10.75.0.0/16   clean (room for 100,000+ targets)
#   fd00:72::/64 clean, fd00:72:0:1::/64 1492 with PTB, fd00:72:0:2::/64 1400 black hole (IPv6)
# Name resolution in the client namespace stays inside it: `ip netns exec` reads
# /etc/netns/PREFIXc/{hosts,resolv.conf}, which name gw-clean.lab, gw-pppoe.lab and gw-vpn.lab (one
# address of each range) and point DNS at the client's own loopback, where nothing answers (so any
# other name fails at once, and no query leaves the lab).
# A route's mtu is honoured when forwarding, so one 1500-byte chain carries all three paths; replies
# come back over plain 1500 links. The client is 10.0.1.1 / fd00:1::1, as in scripts/lab.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '2,21p' "$0" >&2; exit 2; }

cmd=${1:-}
[[ -n "$cmd" ]] || usage

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

up() {
    local prefix=$1
    local R1=${prefix}r1 R2=${prefix}r2 S=${prefix}s
    # r2 drops the frag-needed / packet-too-big it would send: only the 1400 range needs r2 to say it.
    "$here/lab.sh" up "$prefix" --blackhole r2
    nsx "$S" ip route add local 10.72.0.0/14 dev lo
    nsx "$S" ip -6 route add local fd00:72::/48 dev lo
    # The server plays thousands of hosts, each with its own ICMP error budget; Linux counts one
    # budget per destination (always the client here), which would make the targets share one
    # (port unreachable: a burst of 6, then 1 a second). So the server's limits are off; the
    # routers keep theirs, as real routers shared by every path do.
    nsx "$S" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 net.ipv4.icmp_msgs_per_sec=1000000 net.ipv4.icmp_msgs_burst=100000
    nsx "$R1" ip route add 10.72.0.0/14 via 10.0.2.2
    nsx "$R1" ip route add 10.72.64.0/18 via 10.0.2.2 mtu 1492
    nsx "$R1" ip -6 route add fd00:72::/48 via fd00:2::2
    nsx "$R1" ip -6 route add fd00:72:0:1::/64 via fd00:2::2 mtu 1492
    nsx "$R2" ip route add 10.72.0.0/14 via 10.0.3.2
    nsx "$R2" ip route add 10.72.128.0/18 via 10.0.3.2 mtu 1400
    nsx "$R2" ip -6 route add fd00:72::/48 via fd00:3::2
    nsx "$R2" ip -6 route add fd00:72:0:2::/64 via fd00:3::2 mtu 1400
    mkdir -p "/etc/netns/${prefix}c"
    printf '127.0.0.1 localhost\n10.72.0.250 gw-clean.lab\n10.72.64.250 gw-pppoe.lab\n10.72.128.250 gw-vpn.lab\n' \
        > "/etc/netns/${prefix}c/hosts"
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > "/etc/netns/${prefix}c/resolv.conf"
    nsx "${prefix}c" ping -q -c1 -W2 10.72.0.1 >/dev/null 2>&1 || true
}

down() {
    "$here/lab.sh" down "$1"
    rm -rf "/etc/netns/${1}c"
    rmdir /etc/netns 2>/dev/null || true
}

# Target i (0-based) of a list: range i % 3, host number i / 3 within it. Past the three /18s
# (16382 hosts each), the rest are clean addresses in 10.73.0.0/16 and up.
list() {
    local n=$1
    awk -v n="$n" 'BEGIN {
        per = 16382
        for (i = 0; i < n; i++) {
            k = int(i / 3)
            if (k < per) {
                r = i % 3; h = k + 1
                printf "10.72.%d.%d\n", r * 64 + int(h / 256), h % 256
            } else {
                h = i - 3 * per + 1
                printf "10.%d.%d.%d\n", 73 + int(h / 65536), int(h / 256) % 256, h % 256
            }
        }
    }'
}

# What an address must measure, "PATH_MTU BLACK_HOLE", as an awk function (one rule for both).
awk_expect='function expect(a,   o) {
    if (a ~ /^fd00:72:0:1:/) return "1492 false"
    if (a ~ /^fd00:72:0:2:/) return "1400 true"
    split(a, o, ".")
    if (o[1] == 10 && o[2] == 72 && int(o[3] / 64) == 1) return "1492 false"
    if (o[1] == 10 && o[2] == 72 && int(o[3] / 64) == 2) return "1400 true"
    return "1500 false"
}'

expect() { awk -v a="$1" "$awk_expect"' BEGIN { print expect(a) }'; }

# Columns are found by name in the header; error records (no address) count as wrong.
check() {
    awk -F, "$awk_expect"'
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        {
            n++
            got = $col["path_mtu"] " " $col["black_hole"]
            if (got != expect($col["address"])) { wrong++; if (wrong <= 5) print "wrong: " $col["target"] " " got " " $col["error"] > "/dev/stderr" }
        }
        END { printf "records %d wrong %d\n", n, wrong; exit wrong > 0 }' "$1"
}

case $cmd in
    up) [[ -n "${2:-}" ]] || usage; up "$2" ;;
    down) [[ -n "${2:-}" ]] || usage; down "$2" ;;
    list)
        [[ -n "${2:-}" ]] || usage
        if [[ -n "${3:-}" ]]; then list "$2" > "$3"; else list "$2"; fi
        ;;
    expect) [[ -n "${2:-}" ]] || usage; expect "$2" ;;
    check) [[ -n "${2:-}" ]] || usage; check "$2" ;;
    *) usage ;;
esac

#!/usr/bin/env bash
# The namespace lab: client - r1 - r2 - server, joined by veth, with per-link MTU, PMTU black holes,
# random loss and the kernel's own ICMP rate limits. Used by the lab tests, the demo and the benchmarks.
#
#   scripts/lab.sh up PREFIX [options]     build namespaces PREFIXc PREFIXr1 PREFIXr2 PREFIXs
#   scripts/lab.sh down PREFIX             remove them
#   scripts/lab.sh show PREFIX             addresses and rules, for debugging
#
# Options for `up`:
#   --mtu1 N / --mtu2 N / --mtu3 N   MTU of link 1 (client-r1), 2 (r1-r2), 3 (r2-server); default 1500
#   --blackhole r1|r2                that router drops its own frag-needed / packet-too-big (iptables OUTPUT)
#   --loss PCT                       r1 drops PCT% of forwarded packets at random, both directions
#   --ping-group open|closed         net.ipv4.ping_group_range in the client (default: kernel default, closed)
#   --up-mtu N                       one-way bottleneck client -> server: r1's route to the server gets
#                                    `mtu lock N` (IPv4 and IPv6); r1 drops its frag-needed / packet-too-big
#   --down-mtu N                     one-way bottleneck server -> client: r2's route to the client gets
#                                    `mtu lock N`; r2 drops its frag-needed / packet-too-big
#   --oneway-ptb                     with --up-mtu / --down-mtu: that router sends its PTBs after all
#   --windows-server                 the server behaves like Windows: its firewall drops echo requests and
#                                    sends no port unreachable; TLS on 443 (2-certificate RSA-4096 chain),
#                                    xrdp on 3389, HTTP on 80 (scripts/lab-windows-server.sh); `down` stops them
#
# Addresses (the same in every lab: namespaces keep them apart):
#   link1 10.0.1.0/24  fd00:1::/64   client .1 / ::1    r1 .2 / ::2
#   link2 10.0.2.0/24  fd00:2::/64   r1     .1 / ::1    r2 .2 / ::2
#   link3 10.0.3.0/24  fd00:3::/64   r2     .1 / ::1    server .2 / ::2
# The server is 10.0.3.2 and fd00:3::2. Interfaces are eth0 (towards the client) and eth1.
set -euo pipefail

usage() { sed -n '2,27p' "$0" >&2; exit 2; }

cmd=${1:-}; prefix=${2:-}
[[ -n "$cmd" && -n "$prefix" ]] || usage
shift 2
C=${prefix}c; R1=${prefix}r1; R2=${prefix}r2; S=${prefix}s

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
here=$(cd "$(dirname "$0")" && pwd)
# Services started by --windows-server keep their state here.
statedir=${TMPDIR:-/tmp}/pathprobe-lab-$prefix

down() {
    # Services started in the lab (--windows-server) would outlive their namespace: stop them first.
    if ip netns list | grep -qw "$S"; then "$here/lab-windows-server.sh" stop "$S" "$statedir" || true; fi
    for ns in "$C" "$R1" "$R2" "$S"; do ip netns del "$ns" 2>/dev/null || true; done
}


up() {
    local mtu1=1500 mtu2=1500 mtu3=1500 blackhole="" loss="" pinggroup=""
    local upmtu="" downmtu="" onewayptb=0 windows=0
    while [[ $# -gt 0 ]]; do
        case $1 in
            --mtu1) mtu1=$2; shift 2 ;;
            --mtu2) mtu2=$2; shift 2 ;;
            --mtu3) mtu3=$2; shift 2 ;;
            --blackhole) blackhole=$2; shift 2 ;;
            --loss) loss=$2; shift 2 ;;
            --ping-group) pinggroup=$2; shift 2 ;;
            --up-mtu) upmtu=$2; shift 2 ;;
            --down-mtu) downmtu=$2; shift 2 ;;
            --oneway-ptb) onewayptb=1; shift ;;
            --windows-server) windows=1; shift ;;
            *) echo "lab.sh: unknown option $1" >&2; exit 2 ;;
        esac
    done
    down
    for ns in "$C" "$R1" "$R2" "$S"; do
        ip netns add "$ns"
        nsx "$ns" ip link set lo up
        nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    done
    # veth pair for link N between namespace A (interface IA, address .1) and B (IB, .2).
    # IPv6 needs at least 1280 bytes: a smaller link carries IPv4 only.
    pair() {
        local a=$1 ia=$2 b=$3 ib=$4 mtu=$5 n=$6
        ip link add name "$ia" netns "$a" mtu "$mtu" type veth peer name "$ib" netns "$b" mtu "$mtu"
        nsx "$a" ip addr add "10.0.$n.1/24" dev "$ia"; nsx "$b" ip addr add "10.0.$n.2/24" dev "$ib"
        if (( mtu >= 1280 )); then
            nsx "$a" ip -6 addr add "fd00:$n::1/64" dev "$ia" nodad; nsx "$b" ip -6 addr add "fd00:$n::2/64" dev "$ib" nodad
        fi
        nsx "$a" ip link set "$ia" up; nsx "$b" ip link set "$ib" up
    }
    # The client is .1 on link 1; r1 .2 on link 1 and .1 on link 2; r2 .2 / .1; the server .2 on link 3.
    pair "$C" eth0 "$R1" eth0 "$mtu1" 1
    pair "$R1" eth1 "$R2" eth0 "$mtu2" 2
    pair "$R2" eth1 "$S" eth0 "$mtu3" 3
    local v6=1
    (( mtu1 >= 1280 && mtu2 >= 1280 && mtu3 >= 1280 )) || v6=0

    for r in "$R1" "$R2"; do
        nsx "$r" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    done
    nsx "$C" ip route add default via 10.0.1.2
    nsx "$R1" ip route add 10.0.3.0/24 via 10.0.2.2
    nsx "$R2" ip route add 10.0.1.0/24 via 10.0.2.1
    nsx "$S" ip route add default via 10.0.3.1
    if (( v6 )); then
        nsx "$C" ip -6 route add default via fd00:1::2
        nsx "$R1" ip -6 route add fd00:3::/64 via fd00:2::2
        nsx "$R2" ip -6 route add fd00:1::/64 via fd00:2::1
        nsx "$S" ip -6 route add default via fd00:3::1
    else
        echo "lab.sh: a link is below 1280 bytes, so this lab has no IPv6 path" >&2
    fi

    if [[ -n "$blackhole" ]]; then
        local r
        case $blackhole in r1) r=$R1 ;; r2) r=$R2 ;; *) echo "lab.sh: --blackhole takes r1 or r2" >&2; exit 2 ;; esac
        # The router still forwards what fits; it only stops telling anyone about what does not.
        nsx "$r" iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
        nsx "$r" ip6tables -A OUTPUT -p icmpv6 --icmpv6-type packet-too-big -j DROP
    fi
    if [[ -n "$loss" ]]; then
        local p
        p=$(awk "BEGIN { printf \"%.4f\", $loss / 100 }")
        nsx "$R1" iptables -A FORWARD -m statistic --mode random --probability "$p" -j DROP
        nsx "$R1" ip6tables -A FORWARD -m statistic --mode random --probability "$p" -j DROP
    fi
    # One-way bottlenecks: a route MTU on the router for one direction only. Forwarded packets above it
    # are dropped (DF) or fragmented (IPv4 without DF); the router's own PTBs are dropped unless --oneway-ptb.
    oneway() {
        local r=$1 dst4=$2 via4=$3 dst6=$4 via6=$5 mtu=$6
        nsx "$r" ip route replace "$dst4" via "$via4" mtu lock "$mtu"
        if (( v6 && mtu >= 1280 )); then nsx "$r" ip -6 route replace "$dst6" via "$via6" mtu lock "$mtu"; fi
        if (( ! onewayptb )); then
            nsx "$r" iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
            nsx "$r" ip6tables -A OUTPUT -p icmpv6 --icmpv6-type packet-too-big -j DROP
        fi
    }
    [[ -z "$upmtu" ]] || oneway "$R1" 10.0.3.0/24 10.0.2.2 fd00:3::/64 fd00:2::2 "$upmtu"
    [[ -z "$downmtu" ]] || oneway "$R2" 10.0.1.0/24 10.0.2.1 fd00:1::/64 fd00:2::1 "$downmtu"
    case $pinggroup in
        open) nsx "$C" sysctl -qw net.ipv4.ping_group_range="0 2147483647" ;;
        closed) nsx "$C" sysctl -qw net.ipv4.ping_group_range="1 0" ;;
        "") ;;
        *) echo "lab.sh: --ping-group takes open or closed" >&2; exit 2 ;;
    esac
    # Neighbour discovery and ARP before the first measurement, so no test pays for it.
    nsx "$C" ping -q -c1 -W2 10.0.3.2 >/dev/null 2>&1 || true
    nsx "$C" ping -6 -q -c1 -W2 fd00:3::2 >/dev/null 2>&1 || true
    # After the pings above: its firewall drops them.
    if (( windows )); then "$here/lab-windows-server.sh" start "$S" "$statedir"; fi
}

show() {
    for ns in "$C" "$R1" "$R2" "$S"; do
        echo "== $ns"; nsx "$ns" ip -br addr; nsx "$ns" ip -br link; nsx "$ns" iptables -S | grep -v '^-P' || true
    done
}

case $cmd in
    up) up "$@" ;;
    down) down ;;
    show) show ;;
    *) usage ;;
esac

#!/usr/bin/env bash
# Regenerates the seed corpora (Fuzz/Corpus/TARGET/) from real sources. Needs root (network
# namespaces, raw sockets); touches nothing outside namespaces it creates and removes.
#
#   Fuzz/make-seeds.sh OUTDIR      write the seeds to OUTDIR/TARGET/ (compare, then copy what you want)
#
# 1. The fuzz binary's seed mode (PATHPROBE_FUZZ_MAKE_SEEDS, Sources/PathProbeFuzz/SeedMaker.swift):
#    inputs built with pathprobe's own encoders, and live captures inside a fresh namespace holding
#    one link of every kind LinkRecord knows (veth, bridge, VLAN, dummy, VXLAN, GRE, gretap, ip6gre,
#    IPIP, SIT, ip6tnl, Geneve): netlink dumps, ICMP echo and port-unreachable, TCP handshakes.
# 2. The namespace lab (scripts/lab.sh, MTU 1400 on link 2): a cached PMTU exception read over
#    netlink, and the reports of `pathprobe profile/mtu/reach --json`, `bulk` (JSON Lines and CSV) and
#    `diff` pairs, for the JSON, report, bulk and CSV targets.
# Hand-written text seeds (bulk input, addresses, port lists) are committed as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:?usage: Fuzz/make-seeds.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
[[ $(id -u) -eq 0 ]] || { echo "make-seeds.sh: needs root (namespaces, raw sockets)" >&2; exit 3; }

scripts/fuzz.sh --build
binary=$root/.build-fuzz/build/release/PathProbeFuzz
export SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0

ns=ppfz$RANDOM
lab=ppfzl$RANDOM
serve_pid=""
cleanup() {
    [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    scripts/lab.sh down "$lab" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# --- 1. encoders and a namespace with every kind of link ---
ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up
nsx ip link add veth0 type veth peer name veth1
try() { nsx "$@" 2>/dev/null || echo "make-seeds.sh: skipped (not in this kernel): $*" >&2; }
nsx ip addr add 10.0.1.1/24 dev veth0
nsx ip addr add fd00:1::1/64 dev veth0 nodad
try ip link add br0 type bridge
try ip link set veth1 master br0
for l in veth0 veth1 br0; do try ip link set "$l" up; done
try ip link add dummy0 mtu 9000 type dummy
try ip link add link veth0 name veth0.100 type vlan id 100
try ip link add vx0 type vxlan id 42 remote 10.0.1.2 local 10.0.1.1 dstport 4789 dev veth0
try ip link add vx6 type vxlan id 43 remote fd00:1::2 local fd00:1::1 dstport 4789
try ip link add gre1 type gre remote 10.0.1.2 local 10.0.1.1 key 5 csum
try ip link add gt1 type gretap remote 10.0.1.2 local 10.0.1.1 dev veth0
try ip link add g6 type ip6gre remote fd00:1::2 local fd00:1::1 encaplimit none
try ip link add ipip1 type ipip remote 10.0.1.2 local 10.0.1.1
try ip link add sit1 type sit remote 10.0.1.2 local 10.0.1.1
try ip link add t6 type ip6tnl remote fd00:1::2 local fd00:1::1 mode ip6ip6
try ip link add gnv0 type geneve id 7 remote 10.0.1.2
try ip link add wg0 type wireguard
nsx ip route add 10.9.0.0/16 via 10.0.1.2 mtu lock 1400 advmss 1360
nsx ip -6 route add fd00:9::/64 via fd00:1::2 mtu 1400
PATHPROBE_FUZZ_MAKE_SEEDS=$out PATHPROBE_FUZZ_SEED_PREFIX=links \
    PATHPROBE_FUZZ_ROUTES=127.0.0.1,::1,10.0.1.5,10.9.1.1,fd00:9::1,192.0.2.1 \
    ip netns exec "$ns" "$binary"

# --- 2. the lab: a PMTU exception, and real reports ---
scripts/lab.sh up "$lab" --mtu2 1400 >/dev/null
client=${lab}c
ip netns exec "$client" ping -c 2 -W 1 -M do -s 1472 10.0.3.2 >/dev/null 2>&1 || true
ip netns exec "$client" ping -6 -c 2 -W 1 -M do -s 1452 fd00:3::2 >/dev/null 2>&1 || true
PATHPROBE_FUZZ_MAKE_SEEDS=$out PATHPROBE_FUZZ_ONLY_LIVE=1 PATHPROBE_FUZZ_SEED_PREFIX=lab \
    PATHPROBE_FUZZ_ROUTES=10.0.3.2,fd00:3::2 ip netns exec "$client" "$binary"

swift build >/dev/null
pp=$root/.build/debug/pathprobe
run() { ip netns exec "$client" "$pp" "$@" 2>/dev/null || true; }
ip netns exec "${lab}s" "$pp" serve --duration 300 >/dev/null 2>&1 &
serve_pid=$!
sleep 1
mkdir -p "$out/json" "$out/profile-diff" "$out/bulk-resume" "$out/bulk-csv"
run profile 10.0.3.2 --rdp --responder --json >"$out/profile-diff/lab-v4.json"
run profile fd00:3::2 --json >"$out/profile-diff/lab-v6.json"
run mtu 10.0.3.2 --json >"$out/json/mtu-v4.json"
run mtu fd00:3::2 --protocol udp --json >"$out/json/mtu-v6-udp.json"
run reach 10.0.3.2 --tcp 22,443,3389 --udp 53,123,3391 --responder --json >"$out/json/reach-v4.json"
cp "$out/profile-diff/lab-v4.json" "$out/json/profile-v4.json"
printf '10.0.3.2\nfd00:3::2\n10.0.3.0/30\nno-such-host.invalid\n# comment\n' >"$out/bulk-targets.txt"
run bulk -f "$out/bulk-targets.txt" -o "$out/bulk-resume/lab.jsonl"
run bulk -f "$out/bulk-targets.txt" --csv -o "$out/bulk-csv/lab.csv"
cp "$out/bulk-csv/lab.csv" "$out/bulk-resume/lab.csv"
# A run cut off in the middle of its last record, as --resume finds it after a crash.
head -c -7 "$out/bulk-resume/lab.jsonl" >"$out/bulk-resume/lab-cut.jsonl"
# diff pairs: the same target before and after a change (link 2 back to 1500), NUL between them.
ip netns exec "${lab}r1" ip link set eth1 mtu 1500
ip netns exec "${lab}r2" ip link set eth0 mtu 1500
run profile 10.0.3.2 --rdp --responder --json >"$out/lab-v4-after.json"
{ cat "$out/profile-diff/lab-v4.json"; printf '\0'; cat "$out/lab-v4-after.json"; } >"$out/profile-diff/lab-v4-pair"
rm -f "$out/lab-v4-after.json" "$out/bulk-targets.txt"
find "$out" -type f -empty -delete
echo "make-seeds.sh: $(find "$out" -type f | wc -l) seeds in $out" >&2

#!/usr/bin/env bash
# The built-in demo: a throwaway namespace lab with a PPPoE-like 1492 hop that sends packet-too-big
# and a VPN-like 1400 link whose router drops its own ICMP (a PMTU black hole), profiled, then torn down.
# Needs root (network namespaces). Sends traffic only inside the namespaces it creates.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PATHPROBE_BIN:-.build/release/pathprobe}
[[ -x $bin ]] || bin=.build/debug/pathprobe
prefix=ppdemo$$
trap 'scripts/lab.sh down $prefix' EXIT
echo "== building the demo lab: client - r1 =1492= r2 =1400 (black hole)= server"
scripts/lab.sh up "$prefix" --mtu2 1492 --mtu3 1400 --blackhole r2
for target in 10.0.3.2 fd00:3::2; do
    echo
    echo "== pathprobe mtu -n $target"
    ip netns exec "${prefix}c" "$bin" mtu -n "$target" || true
done
if "$bin" profile --help >/dev/null 2>&1 && ! "$bin" profile --help 2>&1 | grep -q "not built"; then
    echo
    echo "== pathprobe profile -n 10.0.3.2"
    ip netns exec "${prefix}c" "$bin" profile -n 10.0.3.2 || true
fi

#!/usr/bin/env bash
# pathprobe beside the peer tools, in one run on this machine (root):
#   1. echo round trips/s through the engine on loopback (the ordo-one benchmark
#      "Engine echo round trips", 1000 targets x 20) beside
#      fping -q -c 20 -p 1 -i 0 -r 0 -f <the same 1000 loopback addresses>;
#   2. path MTU in the 3-hop namespace lab, two paths: a PPPoE-like 1492 hop that sends
#      packet-too-big, and a VPN-like 1400 link whose router drops its own (a black hole):
#      pathprobe mtu, tracepath -n -m 5, scamper -c "trace -M", nmap -Pn -n --script path-mtu;
#      wall time and the answer each gives.
# Prints a Markdown table (the README's figures come from it). Needs fping, scamper, nmap, tracepath.
#   SKIP_BENCHMARK=1  skip the ordo-one build and run (slow to build: ~3 minutes)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
for tool in fping scamper nmap tracepath; do
    command -v "$tool" >/dev/null || { echo "bench-mtu.sh: $tool is missing (scripts/install-deps.sh)" >&2; exit 2; }
done
swift build -c release >&2
bin=$root/.build/release/pathprobe

rows=()
row() { rows+=("| $1 | $2 | $3 | $4 |"); }

# 1. Echo round trips.
lo=$(mktemp)
trap 'rm -f "$lo"' EXIT
for i in $(seq 1 1000); do echo "127.0.$((i / 256)).$((i % 256))"; done > "$lo"
start=$(date +%s.%N)
fping -q -c 20 -p 1 -i 0 -r 0 -f "$lo" 2>/dev/null || true
end=$(date +%s.%N)
fping_rate=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%d", 20000 / (e - s) }')
row "echo round trips/s, loopback, 1000 x 20" "fping" "$fping_rate/s" "fping -q -c 20 -p 1 -i 0 -r 0 -f list"
if [[ -z "${SKIP_BENCHMARK:-}" ]]; then
    out=$(cd Benchmarks && swift package --disable-sandbox benchmark --filter "Engine echo.*" 2>&1 || true)
    p50=$(echo "$out" | awk -F'│' '/round trips\/s/ { gsub(/ /, "", $4); print $4 }' | tail -1)
    row "echo round trips/s, loopback, 1000 x 20" "pathprobe engine" "${p50:-?}K/s (p50)" "Benchmarks: Engine echo round trips"
fi

# 2. Path MTU in the lab.
measure() { # NAME LAB-OPTIONS...
    local name=$1; shift
    local prefix=ppbm$$
    "$root/scripts/lab.sh" up "$prefix" "$@" >&2
    local c=${prefix}c t=10.0.3.2 s e answer
    s=$(date +%s.%N); answer=$(ip netns exec "$c" "$bin" mtu -n --json "$t" | awk -F': ' '/"path_mtu"/ { gsub(/,/, "", $2); print $2 }'); e=$(date +%s.%N)
    row "$name" "pathprobe mtu" "$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f s", e - s }')" "$answer"
    s=$(date +%s.%N); answer=$(ip netns exec "$c" tracepath -n -m 5 "$t" 2>&1 | grep -o 'pmtu [0-9]*' | tail -1); e=$(date +%s.%N)
    row "$name" "tracepath -n -m 5" "$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f s", e - s }')" "$answer"
    s=$(date +%s.%N); answer=$(ip netns exec "$c" scamper -c "trace -M" -i "$t" 2>&1 | grep -o 'mtu: *[0-9]*' | tail -1); e=$(date +%s.%N)
    row "$name" "scamper trace -M" "$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f s", e - s }')" "$answer"
    s=$(date +%s.%N); answer=$(ip netns exec "$c" nmap -Pn -n --script path-mtu "$t" 2>&1 | grep 'path-mtu' | sed 's/.*path-mtu: //'); e=$(date +%s.%N)
    row "$name" "nmap --script path-mtu" "$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f s", e - s }')" "$answer"
    "$root/scripts/lab.sh" down "$prefix"
}
measure "1492 hop with packet-too-big" --mtu2 1492
measure "1400 black hole (router drops its ICMP)" --mtu3 1400 --blackhole r2

echo "| case | tool | result | answer / flags |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"

#!/usr/bin/env bash
# `pathprobe bulk` beside fping and scamper on the bulk lab (scripts/bulk-lab.sh), as root.
#
#   scripts/bench-bulk.sh [N] [SAMPLE]     N lab targets (default 10000), a third of them black-holed;
#                                          SAMPLE targets for scamper (default 30)
#
# Builds pathprobe in release mode, builds the lab, then measures on the same target list:
#   pathprobe bulk --mode mtu           every target's path MTU and black hole, checked against the lab
#   pathprobe bulk --mode reach --tcp 443   every target's TCP 443 state (the lab server answers RST)
#   fping -q -c 1 -t 500 -r 0 -i 0      one echo per target, as fast as fping goes (an echo sweep: no MTU)
#   scamper -c "trace -M" -p 1000       on the first SAMPLE targets (a third of each path) in parallel (its
#                                       default), and on 3 (one per path) one at a time (-w 1); results
#                                       checked, times extrapolated linearly to N (said so)
# Wall time and peak RSS come from /usr/bin/time -v (Debian package `time`). Needs: iproute2,
# iptables, fping, scamper, time, awk. The lab is torn down on exit, also on failure.
# Environment: SCRATCH (build folder, default .build-bulk), PATHPROBE_BIN (skip the build).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}
sample=${2:-30}
for tool in fping scamper /usr/bin/time ip iptables; do
    command -v "$tool" >/dev/null || { echo "bench-bulk.sh: $tool is missing (apt-get install fping scamper time iproute2 iptables)" >&2; exit 2; }
done

bin=${PATHPROBE_BIN:-}
if [[ -z "$bin" ]]; then
    scratch=${SCRATCH:-$root/.build-bulk}
    (cd "$root" && swift build -c release --scratch-path "$scratch" >&2)
    bin=$scratch/release/pathprobe
fi

prefix=ppbb$((RANDOM % 100000))
tmp=$(mktemp -d)
cleanup() { "$root/scripts/bulk-lab.sh" down "$prefix" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
"$root/scripts/bulk-lab.sh" up "$prefix"
"$root/scripts/bulk-lab.sh" list "$n" "$tmp/targets.txt"
head -n "$sample" "$tmp/targets.txt" > "$tmp/sample.txt"
client=${prefix}c

# /usr/bin/time -v fields: wall "h:mm:ss" or "m:ss.ss" -> seconds; peak RSS in KB -> MB.
wall() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$1"; }
rss() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }
rate() { awk -v p="$1" -v s="$2" 'BEGIN { printf "%d", (s > 0 ? p / s : 0) }'; }

rows=()
row() { rows+=("$(printf '%-34s %10s %10s %10s %10s  %s' "$@")"); }

echo "== pathprobe bulk --mode mtu, $n targets" >&2
/usr/bin/time -v ip netns exec "$client" "$bin" bulk -f "$tmp/targets.txt" --csv -o "$tmp/mtu.csv" --quiet \
    --summary-json "$tmp/mtu-summary.json" 2> "$tmp/mtu.time"
probes=$(awk -F': ' '/"probes_sent"/ { gsub(/,/, "", $2); print $2 }' "$tmp/mtu-summary.json")
check=$("$root/scripts/bulk-lab.sh" check "$tmp/mtu.csv" 2>&1 | tail -1 || true)
w=$(wall "$tmp/mtu.time")
row "pathprobe bulk --mode mtu" "$n" "$w" "$(rate "$probes" "$w")" "$(rss "$tmp/mtu.time")" "$check; $probes probes"

echo "== pathprobe bulk --mode reach --tcp 443, $n targets" >&2
if ! "$bin" bulk --help 2>&1 | grep -q -- '--tcp'; then
    row "pathprobe bulk --mode reach" "$n" "-" "-" "-" "not available yet in this build"
elif /usr/bin/time -v ip netns exec "$client" "$bin" bulk -f "$tmp/targets.txt" --mode reach --tcp 443 -o "$tmp/reach.jsonl" \
    --quiet --summary-json "$tmp/reach-summary.json" 2> "$tmp/reach.time"; then
    probes=$(awk -F': ' '/"probes_sent"/ { gsub(/,/, "", $2); print $2 }' "$tmp/reach-summary.json")
    w=$(wall "$tmp/reach.time")
    row "pathprobe bulk --mode reach" "$n" "$w" "$(rate "$probes" "$w")" "$(rss "$tmp/reach.time")" "$(wc -l < "$tmp/reach.jsonl") records"
else
    row "pathprobe bulk --mode reach" "$n" "-" "-" "-" "$(grep -m1 pathprobe: "$tmp/reach.time" || echo failed)"
fi

echo "== fping echo sweep, $n targets" >&2
/usr/bin/time -v ip netns exec "$client" fping -q -c 1 -t 500 -r 0 -i 0 -f "$tmp/targets.txt" 2> "$tmp/fping.out" || true
answered=$(grep -c 'xmt/rcv/%loss = 1/1/' "$tmp/fping.out" || true)
w=$(wall "$tmp/fping.out")
row "fping -c1 -i0 (echo only, no MTU)" "$n" "$w" "$(rate "$n" "$w")" "$(rss "$tmp/fping.out")" "$answered answered"

# scamper_run NAME FILE [scamper options]: each trace's last "[mtu: N]" (a leading * marks a
# black-hole inference) checked against the lab's answer; sets w (wall s) and right ("R/N right").
awk_expect=$(sed -n "/^awk_expect='/,/^}'/p" "$root/scripts/bulk-lab.sh" | sed "1s/^awk_expect='//; \$s/'\$//")
scamper_run() {
    local name=$1 file=$2; shift 2
    /usr/bin/time -v ip netns exec "$client" scamper -c "trace -M" -p 1000 -O text "$@" -f "$file" \
        > "$tmp/$name.txt" 2> "$tmp/$name.time" || true
    right=$(awk "$awk_expect"'
        function done_() { if (t != "") { n++; split(expect(t), e, " "); if (m == e[1]) ok++ } }
        /^traceroute from/ { done_(); t = $5; m = "" }
        /mtu: [0-9]+\]/ { m = $NF; gsub(/[^0-9]/, "", m) }
        END { done_(); printf "%d/%d right", ok, n }' "$tmp/$name.txt")
    w=$(wall "$tmp/$name.time")
}
extrapolate() { awk -v w="$1" -v n="$n" -v s="$2" 'BEGIN { printf "%.0f", w * n / s }'; }

echo "== scamper trace -M, $sample of the $n targets at once" >&2
scamper_run scamper "$tmp/sample.txt"
row "scamper trace -M, parallel" "$sample" "$w" "-" "$(rss "$tmp/scamper.time")" "$right"
row "  extrapolated" "$n" "~$(extrapolate "$w" "$sample")" "-" "-" "linear: $w s x $n / $sample"
echo "== scamper trace -M -w 1, 3 targets one at a time" >&2
head -n 3 "$tmp/targets.txt" > "$tmp/three.txt"
scamper_run scamper1 "$tmp/three.txt" -w 1
row "scamper trace -M, one at a time" 3 "$w" "-" "$(rss "$tmp/scamper1.time")" "$right"
row "  extrapolated" "$n" "~$(extrapolate "$w" 3)" "-" "-" "linear: $w s x $n / 3"

echo
printf '%-34s %10s %10s %10s %10s  %s\n' "tool" "targets" "wall s" "probes/s" "RSS MB" "result"
printf '%s\n' "${rows[@]}"

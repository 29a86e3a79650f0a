#!/usr/bin/env bash
# Benchmark of `pathprobe mtu -P tcp` (issue 10): the path MTU both ways, to the byte, through the
# download black hole that breaks TLS and RDP (scripts/lab.sh --mtu2 1400 --blackhole r2
# --windows-server: r1 sends its PTBs towards the client, r2 drops them towards the server; the
# server answers no ping and no closed UDP port). As root.
#
#   scripts/bench-tcp-mtu.sh [--reps N] [--no-peers]
#
# Each repetition runs `pathprobe mtu -n -P tcp --json` against the server's TLS port (443), over
# IPv4 and over IPv6, after flushing the client's and the server's PMTU caches (a PTB learned in one
# run would cap the next), and checks the answer (down 1400 with a black hole). Prints Markdown rows:
#
#   | TCP path MTU both ways (black hole) | X s | goal ≤ 1.5 s |     median wall time, every run
#   | ... IPv4 / IPv6 / RDP (3389, IPv4) | X s | ... |                medians and connections per run
#   | pathprobe, tracepath, nmap path-mtu, scamper trace -M on a download-only black hole (--no-peers: not) |
#
# Environment: PATHPROBE (default .build/release/pathprobe: `swift build -c release`).
# Exit status: 0 measured; 1 no number (a run failed or measured something else: the reason on
# stderr); 2 bad usage; 3 environment (not root, no binary, lab setup failed). Traffic goes only
# into the lab's namespaces (a random prefix), removed on exit, also on failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
reps=5
peers=1
while [[ $# -gt 0 ]]; do
    case $1 in
        --reps) reps=${2:-}; shift 2 ;;
        --no-peers) peers=0; shift ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "bench-tcp-mtu.sh: unknown option $1 (--reps N, --no-peers)" >&2; exit 2 ;;
    esac
done
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "bench-tcp-mtu.sh: --reps takes a positive number" >&2; exit 2; }

die() { local code=$1; shift; echo "bench-tcp-mtu.sh: $*" >&2; exit "$code"; }
[[ $(id -u) -eq 0 ]] || die 3 "needs root (network namespaces)"
bin=${PATHPROBE:-$root/.build/release/pathprobe}
[[ -x "$bin" ]] || die 3 "no pathprobe binary at $bin (swift build -c release, or set PATHPROBE)"
for tool in ip python3 socat xrdp openssl; do
    command -v "$tool" >/dev/null || die 3 "$tool is missing (scripts/install-deps.sh)"
done

prefix=ppbtm$(printf '%05x' $(( (RANDOM << 8 | RANDOM) & 0xfffff )))
cleanup() { "$root/scripts/lab.sh" down "$prefix" >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$root/scripts/lab.sh" up "$prefix" --mtu2 1400 --blackhole r2 --windows-server >/dev/null 2>&1 \
    || die 3 "the lab did not come up (scripts/lab.sh up $prefix --mtu2 1400 --blackhole r2 --windows-server)"
client=${prefix}c server=${prefix}s

flush() {
    for ns in "$client" "$server"; do
        ip netns exec "$ns" ip route flush cache
        ip netns exec "$ns" ip -6 route flush cache
    done
}

# One run: prints "SECONDS CONNECTIONS", or fails with the reason.
run() {
    local target=$1 port=$2 out start end
    flush
    start=$(date +%s.%N)
    out=$(ip netns exec "$client" "$bin" mtu -n -P tcp --json --port "$port" "$target") \
        || die 1 "pathprobe mtu -P tcp --port $port $target exited $?: $out"
    end=$(date +%s.%N)
    python3 - "$start" "$end" "$target" "$port" "$out" <<'EOF' || exit 1
import json, sys
start, end, target, port, out = sys.argv[1:]
d = json.loads(out)
if d.get("path_mtu_down") != 1400 or d.get("black_hole_direction") not in ("down", "both") or d.get("path_mtu") != 1400:
    keys = {k: d.get(k) for k in ("path_mtu", "path_mtu_up", "path_mtu_down", "black_hole_direction", "notes")}
    sys.exit(f"bench-tcp-mtu.sh: {target} port {port} measured something else than the 1400 download black hole: {keys}")
print(f"{float(end) - float(start):.3f} {d['connections']}")
EOF
}

median() { sort -n | awk '{v[NR]=$1} END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }'; }

declare -A times conns
for ((i = 1; i <= reps; i++)); do
    for case in "v4 10.0.3.2 443" "v6 fd00:3::2 443" "rdp 10.0.3.2 3389"; do
        set -- $case
        r=$(run "$2" "$3") || exit 1
        times[$1]+="${r% *}"$'\n'
        conns[$1]+="${r#* }"$'\n'
    done
done
all=$(printf '%s%s' "${times[v4]}" "${times[v6]}" | grep . | median) || die 1 "no number"
row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3"; }
m() { printf '%s' "${times[$1]}" | grep . | median; }
c() { printf '%s' "${conns[$1]}" | grep . | sort -n | sed -n '1p;$p' | paste -sd- | sed 's/^\([0-9]*\)-\1$/\1/'; }
row "TCP path MTU both ways (black hole)" "$(printf '%.2f' "$all") s" "goal ≤ 1.5 s"
row "… TLS 443 over IPv4 (down 1400 black hole, up 1400 PTB)" "$(printf '%.2f' "$(m v4)") s, $(c v4) connections" "median of $reps"
row "… TLS 443 over IPv6" "$(printf '%.2f' "$(m v6)") s, $(c v6) connections" "median of $reps"
row "… RDP 3389 (xrdp) over IPv4" "$(printf '%.2f' "$(m rdp)") s, $(c rdp) connections" "median of $reps"

if (( peers )); then
    # The peers, on a download-only black hole (scripts/lab.sh --down-mtu 1400 --windows-server: r2's
    # route to the client is 1400, its PTBs dropped; the way up carries 1500): what breaks TLS and
    # RDP, and what they cannot see. pathprobe first, for the row beside them.
    cleanup
    prefix=ppbtm$(printf '%05x' $(( (RANDOM << 8 | RANDOM) & 0xfffff )))
    "$root/scripts/lab.sh" up "$prefix" --down-mtu 1400 --windows-server >/dev/null 2>&1 \
        || die 3 "the lab did not come up (scripts/lab.sh up $prefix --down-mtu 1400 --windows-server)"
    client=${prefix}c server=${prefix}s
    r=$(run 10.0.3.2 443) || exit 1
    row "pathprobe mtu -P tcp, download-only black hole (down 1400, up 1500)" "$(printf '%.2f' "${r% *}") s, ${r#* } connections" "both directions, exact"
    flush
    s=$(date +%s.%N)
    tp=$(ip netns exec "$client" timeout 30 tracepath -n -m 5 10.0.3.2 2>&1 | grep -o 'pmtu [0-9]*' | tail -1 || true)
    row "tracepath -n -m 5, same path" "${tp:-no pmtu}, $(python3 -c "import sys,time; print(f'{time.time()-float(sys.argv[1]):.2f}')" "$s") s" "forward probes only: cannot see the download"
    flush
    s=$(date +%s.%N)
    nm=$(ip netns exec "$client" timeout 60 nmap -n -Pn -p 443 --script path-mtu 10.0.3.2 2>&1 | grep -o 'PMTU.*' | head -1 || true)
    row "nmap -Pn -n -p 443 --script path-mtu, same path" "${nm:-no result}, $(python3 -c "import sys,time; print(f'{time.time()-float(sys.argv[1]):.2f}')" "$s") s" "forward probes only: cannot see the download"
    flush
    s=$(date +%s.%N)
    sc=$(ip netns exec "$client" timeout 60 scamper -c 'trace -M' -i 10.0.3.2 2>&1 | grep -o '\*\?mtu: *[0-9]*' | tail -1 || true)
    row "scamper -c \"trace -M\", same path" "${sc:-no mtu}, $(python3 -c "import sys,time; print(f'{time.time()-float(sys.argv[1]):.2f}')" "$s") s" "needs answers from the target (UDP): none come"
fi

#!/usr/bin/env bash
# Load benchmark of pathprobe-exporter: one exporter, N lab targets (a third behind a PMTU black
# hole, a third behind a PTB hop, a third clean: scripts/bulk-lab.sh), scraped by a real Prometheus
# server (Debian's) every INTERVAL, for MINUTES. As root.
#
#   scripts/bench-exporter.sh [N] [MINUTES]      default 3000 targets, 3 minutes
#
# Prints Markdown rows: scrapes, up ratio, scrape duration p50 / p99 / max against the scrape
# timeout, probes that succeeded and measured the lab's path MTU and black hole (and the black
# hole's hop, which needs router ICMP: rate-limited), probes cut short,
# exporter CPU (% of one core, over the run after the first interval) and RSS (at the end, and its
# peak), Prometheus' CPU. Exits 1 if any scrape failed (Prometheus' `up` was 0 once), 2 on bad
# usage or missing tools. Everything it starts runs in the lab's client namespace and is stopped,
# and the lab removed, on exit (also on failure).
#
# Environment:
#   PATHPROBE_EXPORTER_BIN   the exporter to run (default: build it, release, in SCRATCH)
#   SCRATCH                  build folder (default .build-bench-exporter)
#   INTERVAL, TIMEOUT        Prometheus' scrape_interval and scrape_timeout (default 10s, 10s)
#   MODULE                   the module's settings, YAML flow map (default {prober: mtu, timeout: 10s})
#   EXPORTER_ARGS            more exporter options (e.g. "--rate 50000 --hop-interval 300")
#   KEEP                     a folder to copy the configs, logs and query results to
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-3000}
minutes=${2:-3}
interval=${INTERVAL:-10s}
timeout=${TIMEOUT:-10s}
module=${MODULE:-"{prober: mtu, timeout: 10s}"}
[[ $n =~ ^[0-9]+$ && $minutes =~ ^[0-9]+$ && $n -gt 0 && $minutes -gt 0 ]] || { sed -n '2,22p' "$0" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "bench-exporter.sh: run as root (network namespaces)" >&2; exit 2; }
for tool in prometheus curl python3 ip iptables; do
    command -v "$tool" >/dev/null || { echo "bench-exporter.sh: $tool is missing (scripts/install-deps.sh)" >&2; exit 2; }
done
seconds() { python3 -c 'import re,sys; t=sys.argv[1]; u={"ms":0.001,"s":1,"m":60,"h":3600}; print(sum(float(v)*u[k] for v,k in re.findall(r"([0-9.]+)(ms|s|m|h)", t)))' "$1"; }
interval_s=$(seconds "$interval")
timeout_s=$(seconds "$timeout")

bin=${PATHPROBE_EXPORTER_BIN:-}
if [[ -z "$bin" ]]; then
    scratch=${SCRATCH:-$root/.build-bench-exporter}
    (cd "$root" && swift build -c release --product pathprobe-exporter --scratch-path "$scratch" >&2)
    bin=$scratch/release/pathprobe-exporter
fi

prefix=ppxb$((RANDOM % 100000))
client=${prefix}c
tmp=$(mktemp -d)
exporter_pid=""
prometheus_pid=""
cleanup() {
    # Only what this script started, by PID (other sessions run the same programs).
    for pid in $prometheus_pid $exporter_pid; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $prometheus_pid $exporter_pid; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [[ -n "${KEEP:-}" ]]; then mkdir -p "$KEEP"; cp -r "$tmp"/. "$KEEP"/ 2>/dev/null || true; rm -rf "$KEEP/data"; fi
    "$root/scripts/bulk-lab.sh" down "$prefix" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== bulk lab $prefix, $n targets" >&2
"$root/scripts/bulk-lab.sh" up "$prefix" >&2
"$root/scripts/bulk-lab.sh" list "$n" "$tmp/targets.txt"

printf 'modules:\n  bench: %s\n' "$module" > "$tmp/exporter.yml"
# The exporter, as a service would run it (its own log level: warnings only).
# shellcheck disable=SC2086
ip netns exec "$client" "$bin" --config "$tmp/exporter.yml" --listen 127.0.0.1:9799 --log-level warning ${EXPORTER_ARGS:-} \
    > "$tmp/exporter.log" 2>&1 &
exporter_pid=$!

python3 - "$tmp/targets.txt" "$interval" "$timeout" > "$tmp/prometheus.yml" <<'EOF'
import sys
targets = [line.strip() for line in open(sys.argv[1]) if line.strip()]
print(f"""global:
  scrape_interval: {sys.argv[2]}
  scrape_timeout: {sys.argv[3]}
scrape_configs:
  - job_name: pathprobe
    metrics_path: /probe
    params:
      module: [bench]
    static_configs: [{{targets: [{", ".join(f"'{t}'" for t in targets)}]}}]
    # blackbox_exporter's relabelling (contrib/prometheus.yml): target -> parameter and instance.
    relabel_configs: [{{source_labels: [__address__], target_label: __param_target}},
                      {{source_labels: [__param_target], target_label: instance}},
                      {{target_label: __address__, replacement: '127.0.0.1:9799'}}]
  - job_name: exporter
    static_configs:
      - targets: ['127.0.0.1:9799']""")
EOF
for _ in $(seq 100); do
    ip netns exec "$client" curl -sf http://127.0.0.1:9799/-/healthy >/dev/null 2>&1 && break
    kill -0 "$exporter_pid" 2>/dev/null || { cat "$tmp/exporter.log" >&2; exit 1; }
    sleep 0.2
done
ip netns exec "$client" prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address=127.0.0.1:9090 --log.level=warn > "$tmp/prometheus.log" 2>&1 &
prometheus_pid=$!

# CPU seconds (user + system) of a process, from /proc/PID/stat.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
status() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

run_s=$((minutes * 60))
echo "== scraping every $interval (timeout $timeout) for $minutes min" >&2
sleep "$interval_s"
start=$(date +%s.%N); e0=$(cpu "$exporter_pid"); p0=$(cpu "$prometheus_pid")
sleep $((run_s - ${interval_s%.*}))
end=$(date +%s.%N); e1=$(cpu "$exporter_pid"); p1=$(cpu "$prometheus_pid")
rss=$(status "$exporter_pid" VmRSS); hwm=$(status "$exporter_pid" VmHWM)
kill -0 "$exporter_pid" 2>/dev/null || { echo "bench-exporter.sh: the exporter died" >&2; cat "$tmp/exporter.log" >&2; exit 1; }

query() { ip netns exec "$client" curl -sf -G http://127.0.0.1:9090/api/v1/query --data-urlencode "query=$1"; }
window="$((run_s + 60))s"
query "up{job=\"pathprobe\"}[$window]" > "$tmp/up.json"
query "scrape_duration_seconds{job=\"pathprobe\"}[$window]" > "$tmp/duration.json"
query "pathprobe_probe_success{job=\"pathprobe\"}[$window]" > "$tmp/success.json"
query "last_over_time(pathprobe_path_mtu_bytes{job=\"pathprobe\"}[$window])" > "$tmp/mtu.json"
query "last_over_time(pathprobe_black_hole{job=\"pathprobe\"}[$window])" > "$tmp/hole.json"
query "last_over_time(pathprobe_black_hole_hop{job=\"pathprobe\"}[$window])" > "$tmp/hop.json"
query "sum(pathprobe_exporter_probes_cut_short_total)" > "$tmp/cut.json"
query "sum(pathprobe_exporter_errors_total{kind=~\"busy|abandoned\"})" > "$tmp/errors.json"

python3 - "$tmp" "$n" "$timeout_s" "$interval" "$timeout" "$start" "$end" "$e0" "$e1" "$p0" "$p1" "$rss" "$hwm" "$root/scripts/bulk-lab.sh" <<'EOF'
import json, subprocess, sys
tmp, n, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
interval, timeout_text = sys.argv[4], sys.argv[5]
start, end, e0, e1, p0, p1 = map(float, sys.argv[6:12])
rss, hwm = int(sys.argv[12]) / 1024, int(sys.argv[13]) / 1024

def result(name):
    return json.load(open(f"{tmp}/{name}.json"))["data"]["result"]
def values(name):
    return [float(v) for series in result(name) for _, v in series["values"]]
def scalar(name):
    r = result(name)
    return float(r[0]["value"][1]) if r else 0.0

up = values("up")
durations = sorted(values("duration"))
success = values("success")
def pct(q):
    return durations[min(len(durations) - 1, int(q * len(durations)))] if durations else float("nan")

# The lab's answer for every target: the one rule, in scripts/bulk-lab.sh.
expect = {}
script = sys.argv[14]
awk = open(script).read().split("awk_expect='", 1)[1].split("}'", 1)[0] + "}"
targets = [t.strip() for t in open(f"{tmp}/targets.txt") if t.strip()]
out = subprocess.run(["awk", awk + ' { print $0, expect($0) }'], input="\n".join(targets) + "\n", capture_output=True, text=True).stdout
for line in out.splitlines():
    t, mtu, hole = line.split()
    expect[t] = (float(mtu), 1.0 if hole == "true" else 0.0)
mtu = {s["metric"]["instance"]: float(s["value"][1]) for s in result("mtu")}
hole = {s["metric"]["instance"]: float(s["value"][1]) for s in result("hole")}
right = sum(1 for t, (m, h) in expect.items() if mtu.get(t) == m and hole.get(t) == h)
# The black hole is r2's: hop 2 (found by TTL-limited probes, which routers rate-limit).
hop = {s["metric"]["instance"]: float(s["value"][1]) for s in result("hop")}
holes = [t for t, (_, h) in expect.items() if h == 1.0]
located = sum(1 for t in holes if t in hop)
hop_right = sum(1 for t in holes if hop.get(t) == 2.0)

wall = end - start
print(f"| targets | scrape interval / timeout | scrapes | up | scrape p50 | p99 | max | probe success | path MTU + black hole right | black hole hop found (right) | cut short | busy/abandoned | exporter CPU | exporter RSS (peak) | Prometheus CPU |")
print(f"|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
print(f"| {n} | {interval} / {timeout_text} | {len(up)} | {sum(up) / max(1, len(up)):.4f} | {pct(0.5):.3f} s | {pct(0.99):.3f} s | {durations[-1] if durations else float('nan'):.3f} s "
      f"| {sum(success) / max(1, len(success)):.4f} | {right}/{n} | {located}/{len(holes)} ({hop_right}) | {scalar('cut'):.0f} | {scalar('errors'):.0f} "
      f"| {100 * (e1 - e0) / wall:.1f} % | {rss:.0f} MB ({hwm:.0f} MB) | {100 * (p1 - p0) / wall:.1f} % |")
failed = len(up) - int(sum(up))
late = sum(1 for d in durations if d > timeout)
if failed or late or not up:
    print(f"\nbench-exporter.sh: {failed} scrapes failed, {late} took longer than {timeout} s", file=sys.stderr)
    sys.exit(1)
EOF

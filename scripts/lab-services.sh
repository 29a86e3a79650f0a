#!/usr/bin/env bash
# Tiny services for the reach/serve lab tests, run inside a lab namespace:
#
#   scripts/lab-services.sh start NAMESPACE TCPPORTS UDPPORTS [SECONDS]   prints the server's PID
#   scripts/lab-services.sh serve NAMESPACE LOGFILE COMMAND...             runs COMMAND, prints its PID
#   scripts/lab-services.sh stop PID
#
# TCPPORTS: comma-separated ports that accept and close connections (IPv4 and IPv6); "-" for none.
# UDPPORTS: comma-separated ports that echo every datagram back (IPv4 and IPv6); "-" for none.
# The server exits by itself after SECONDS (default 120), so a crashed test leaves nothing behind.
# Background processes get no file descriptor but 0-2: a test runner's pipes inherited by a
# long-lived server would keep other tests waiting for end-of-file.
set -euo pipefail

usage() { sed -n '2,13p' "$0" >&2; exit 2; }

close_inherited_fds() {
    local fd
    for fd in /proc/$$/fd/*; do
        fd=${fd##*/}
        if [[ $fd -gt 2 && $fd -ne 255 ]]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
}
close_inherited_fds

case ${1:-} in
    start)
        [[ $# -ge 4 ]] || usage
        ns=$2; tcp=${3#-}; udp=${4#-}; seconds=${5:-120}
        ip netns exec "$ns" python3 -c '
import selectors, signal, socket, sys
# Our parent may have blocked SIGTERM (the mask is inherited): `stop` must work. Exit on our own later.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
signal.alarm(int(sys.argv[3]))
sel = selectors.DefaultSelector()
def listen(family, kind, port):
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
    if kind == socket.SOCK_STREAM:
        s.listen(64)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, kind)
for family in (socket.AF_INET, socket.AF_INET6):
    for p in filter(None, sys.argv[1].split(",")):
        listen(family, socket.SOCK_STREAM, int(p))
    for p in filter(None, sys.argv[2].split(",")):
        listen(family, socket.SOCK_DGRAM, int(p))
while True:
    for key, _ in sel.select():
        try:
            if key.data == socket.SOCK_STREAM:
                key.fileobj.accept()[0].close()
            else:
                data, peer = key.fileobj.recvfrom(65535)
                key.fileobj.sendto(data, peer)
        except OSError:
            pass
' "$tcp" "$udp" "$seconds" </dev/null >/dev/null 2>&1 &
        echo $!
        # Ready when every TCP port listens (UDP sockets are bound in the same breath).
        first=${tcp%%,*}
        for _ in $(seq 100); do
            if [[ -z "$first" ]] || ip netns exec "$ns" ss -ltnH "sport = :$first" | grep -q .; then exit 0; fi
            sleep 0.05
        done
        echo "lab-services.sh: services did not start" >&2; exit 1 ;;
    serve)
        [[ $# -ge 4 ]] || usage
        ns=$2; log=$3; shift 3
        ip netns exec "$ns" "$@" </dev/null >/dev/null 2>"$log" &
        echo $! ;;
    stop)
        [[ $# -ge 2 ]] || usage
        kill "$2" 2>/dev/null || true ;;
    *) usage ;;
esac

#!/usr/bin/env bash
# A "Windows-like server" in a lab namespace, for the TCP path MTU lab (scripts/lab.sh --windows-server):
#
#   scripts/lab-windows-server.sh start NAMESPACE STATEDIR   firewall + TLS 443 + RDP 3389 + HTTP 80
#   scripts/lab-windows-server.sh stop NAMESPACE STATEDIR    stop the services, remove STATEDIR
#   scripts/lab-windows-server.sh certs                      print the certificate folder (made once)
#
# - Its own firewall drops ICMP echo requests (v4 and v6) and sends no port unreachable, as Windows
#   Firewall does by default: ping and UDP probes get no answer from it.
# - TLS on 443: socat OPENSSL-LISTEN (one process per connection) with a 2-certificate RSA-4096 chain
#   (leaf + CA, ~3.5 KB server flight, like a public CA chain), TLS 1.2 and 1.3.
# - RDP on 3389: xrdp from Debian with its own xrdp.ini (security_layer=negotiate, the same chain).
# - HTTP on 80: python3's http.server over a folder whose index.html is 16 KB.
# All listen on IPv4 and IPv6. The certificate chain is made once per machine (RSA-4096 keys take a few
# seconds) in $PATHPROBE_LAB_CERTS (default /tmp/pathprobe-lab-certs), shared by all labs.
# Services run until `stop` (scripts/lab.sh down calls it); every process of theirs lives in NAMESPACE.
set -euo pipefail

usage() { sed -n '2,17p' "$0" >&2; exit 2; }
certs=${PATHPROBE_LAB_CERTS:-/tmp/pathprobe-lab-certs}

make_certs() {
    [[ -s "$certs/chain-with-key.pem" ]] && return 0
    local tmp
    tmp=$(mktemp -d "${certs}.XXXXXX")
    (
        cd "$tmp"
        openssl req -x509 -newkey rsa:4096 -nodes -days 3650 -subj "/O=pathprobe lab/CN=pathprobe lab root CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -keyout ca.key -out ca.pem 2>/dev/null
        openssl req -newkey rsa:4096 -nodes -subj "/CN=server.lab" -keyout leaf.key -out leaf.csr 2>/dev/null
        printf 'subjectAltName=DNS:server.lab,IP:10.0.3.2,IP:fd00:3::2\nextendedKeyUsage=serverAuth\n' > leaf.ext
        openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -extfile leaf.ext \
            -out leaf.pem 2>/dev/null
        cat leaf.pem ca.pem > chain.pem           # xrdp: certificate= (the chain is sent)
        cat leaf.pem leaf.key ca.pem > chain-with-key.pem   # socat: cert= (leaf, key, then the CA)
        rm -f leaf.csr leaf.ext ca.srl
    )
    # Another lab may have made them meanwhile: keep the first.
    chmod 755 "$tmp"
    mv -T "$tmp" "$certs" 2>/dev/null || rm -rf "$tmp"
}

# Closes inherited descriptors (a test runner's pipes) so long-lived services don't hold them open.
detach() { "$@" </dev/null >/dev/null 2>&1 & }

wait_port() {
    local ns=$1 port=$2
    for _ in $(seq 200); do
        ip netns exec "$ns" ss -ltnH "sport = :$port" | grep -q . && return 0
        sleep 0.05
    done
    echo "lab-windows-server.sh: nothing listens on port $port in $ns" >&2
    return 1
}

start() {
    local ns=$1 dir=$2
    make_certs
    mkdir -p "$dir/www" "$dir/xrdp"
    # Firewall: no echo replies, no port unreachable.
    ip netns exec "$ns" iptables -A INPUT -p icmp --icmp-type echo-request -j DROP
    ip netns exec "$ns" ip6tables -A INPUT -p icmpv6 --icmpv6-type echo-request -j DROP
    ip netns exec "$ns" iptables -A OUTPUT -p icmp --icmp-type port-unreachable -j DROP
    ip netns exec "$ns" ip6tables -A OUTPUT -p icmpv6 --icmpv6-type port-unreachable -j DROP

    # TLS on 443.
    detach ip netns exec "$ns" socat \
        "OPENSSL-LISTEN:443,fork,reuseaddr,pf=ip6,ipv6only=0,cert=$certs/chain-with-key.pem,verify=0" EXEC:cat

    # HTTP on 80: a 16 KB page, so a GET / gets a flight of many segments.
    {
        echo '<!doctype html><html><head><title>pathprobe lab</title></head><body><pre>'
        for i in $(seq 256); do printf 'line %05d of the pathprobe lab page, padding padding padding.\n' "$i"; done
        echo '</pre></body></html>'
    } > "$dir/www/index.html"
    detach ip netns exec "$ns" python3 -m http.server 80 --bind :: --directory "$dir/www"

    # RDP on 3389: xrdp with its own configuration, log and pid file locations.
    sed -e 's|^port=.*|port=tcp6://:3389|' \
        -e "s|^certificate=.*|certificate=$certs/chain.pem|" \
        -e "s|^key_file=.*|key_file=$certs/leaf.key|" \
        -e 's|^security_layer=.*|security_layer=negotiate|' \
        -e "s|^LogFile=.*|LogFile=$dir/xrdp/xrdp.log|" \
        -e 's|^EnableSyslog=.*|EnableSyslog=false|' \
        /etc/xrdp/xrdp.ini > "$dir/xrdp/xrdp.ini"
    detach ip netns exec "$ns" xrdp --nodaemon --config "$dir/xrdp/xrdp.ini"

    wait_port "$ns" 443 && wait_port "$ns" 80 && wait_port "$ns" 3389
}

stop() {
    local ns=$1 dir=$2 pids
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    if [[ -n "$pids" ]]; then
        # shellcheck disable=SC2086
        kill $pids 2>/dev/null || true
        # A service child stuck writing into a black hole (xrdp's per-connection processes catch
        # SIGTERM and stay in a blocking TLS write until TCP gives up) would outlive the lab.
        for _ in $(seq 20); do
            pids=$(ip netns pids "$ns" 2>/dev/null || true)
            [[ -n "$pids" ]] || break
            sleep 0.05
        done
        # shellcheck disable=SC2086
        [[ -z "$pids" ]] || kill -KILL $pids 2>/dev/null || true
    fi
    rm -rf "$dir"
}

case ${1:-} in
    start) [[ $# -eq 3 ]] || usage; start "$2" "$3" ;;
    stop) [[ $# -eq 3 ]] || usage; stop "$2" "$3" ;;
    certs) make_certs; echo "$certs" ;;
    *) usage ;;
esac

#!/usr/bin/env bash
# Real Remote Desktop peers for the lab (scripts/lab.sh builds the namespaces): a certificate chain,
# xrdp, the RD Gateway emulator (or a plain web server), and the FreeRDP client.
#
#   scripts/lab-rdp.sh certs DIR NAME [--ip ADDR]... [--bits N] [--days N] [--self-signed]
#       A CA and a leaf for NAME (SAN: DNS:NAME unless NAME is an address, plus IP:ADDR each), RSA-4096
#       by default. Writes DIR/{ca.pem,ca.key,leaf.pem,leaf.key,chain.pem (leaf+CA),server.pem (leaf,key,CA)}.
#       --self-signed: the leaf signs itself; no CA, chain.pem holds the leaf only.
#   scripts/lab-rdp.sh xrdp-start NAMESPACE DIR [negotiate|tls|rdp] [PORT]    prints xrdp's PID
#       xrdp with its own config DIR/xrdp-PORT.ini (listening on tcp6://:PORT, IPv6 and v4-mapped IPv4,
#       default 3389) and the chain of DIR; log in DIR/xrdp-PORT.log. Ready when it listens.
#       NAMESPACE "-": this namespace, on 127.0.0.1 only (the loopback tests).
#   scripts/lab-rdp.sh gateway-start NAMESPACE DIR [gateway|web|proxy|redirect] [PORT] [UDPPORT]
#       The RD Gateway emulator (Tests/LabTests/Support/rdgw_emulator.py) on TLS PORT (default 443)
#       with the chain of DIR; in gateway mode it also answers DTLS on UDPPORT (default 3391, "-": none).
#       `web` is a plain web server (404), `proxy` a proxy's 403, `redirect` a 302. Prints its PID;
#       one line per request in DIR/rdgw-PORT.log.
#   scripts/lab-rdp.sh stop PID                  stops xrdp or the emulator (its process group)
#   scripts/lab-rdp.sh freerdp NAMESPACE HOST[:PORT] [SECONDS]
#       FreeRDP (`xfreerdp +auth-only /cert:ignore` under xvfb-run) from NAMESPACE: connects, negotiates,
#       does TLS and the RDP connection sequence, then stops. Prints `freerdp: status=N seconds=S` and
#       exits with FreeRDP's status (0: connected); killed after SECONDS (default 20): status 124.
#
# Every process started here runs inside the given namespace and exits by itself after 10 minutes,
# so a crashed test leaves nothing behind once its namespaces are gone.
set -euo pipefail

usage() { sed -n '2,25p' "$0" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
emulator="$here/../Tests/LabTests/Support/rdgw_emulator.py"
lifetime=600

# The FreeRDP credentials. xrdp without a session manager accepts any: +auth-only stops once the RDP
# connection sequence is complete (xrdp's own login screen is up), before any log-in is checked.
freerdp_user=pathprobe
freerdp_password=pathprobe

# The command prefix that runs in NAMESPACE ("-": this one).
ns_prefix() { if [[ $1 == - ]]; then nsx=(); else nsx=(ip netns exec "$1"); fi; }

# Execs its arguments with no signal blocked and no file descriptor but 0-2. A test runner blocks
# SIGTERM and its children inherit the mask (`stop` would wait for nothing); a long-lived server
# that inherited a test runner's pipe would keep it waiting for end-of-file.
clean_exec=(python3 -c 'import os, signal, sys
signal.pthread_sigmask(signal.SIG_SETMASK, [])
os.closerange(3, os.sysconf("SC_OPEN_MAX"))
os.execvp(sys.argv[1], sys.argv[1:])')

# Starts a server in NAMESPACE, in its own process group (so `stop` ends it and the `timeout` that
# bounds its life), waits until it listens on TCP PORT and prints its PID. WHAT names it in errors.
start_server() {  # NAMESPACE PORT LOG WHAT COMMAND...
    local ns=$1 port=$2 log=$3 what=$4
    shift 4
    ns_prefix "$ns"
    setsid "${clean_exec[@]}" "${nsx[@]}" timeout "$lifetime" "$@" </dev/null >/dev/null 2>>"$log" &
    local pid=$!
    if ! wait_listening "$ns" t "$port" "$pid"; then
        stop "$pid"
        echo "lab-rdp.sh: $what did not start (log: $log)" >&2
        exit 1
    fi
    echo "$pid"
}

wait_listening() {  # NAMESPACE PROTO(t|u) PORT PID
    local i
    for i in $(seq 200); do
        ns_prefix "$1"
        if "${nsx[@]}" ss -ln"$2"H "sport = :$3" | grep -q .; then return 0; fi
        kill -0 "$4" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

certs() {
    [[ $# -ge 2 ]] || usage
    local dir=$1 name=$2 bits=4096 days=90 self=0 ips=() san=""
    shift 2
    while [[ $# -gt 0 ]]; do
        case $1 in
            --ip) ips+=("$2"); shift 2 ;;
            --bits) bits=$2; shift 2 ;;
            --days) days=$2; shift 2 ;;
            --self-signed) self=1; shift ;;
            *) echo "lab-rdp.sh: unknown option $1" >&2; exit 2 ;;
        esac
    done
    mkdir -p "$dir"
    if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then ips=("$name" "${ips[@]}"); else san="DNS:$name"; fi
    local ip
    for ip in "${ips[@]}"; do san+="${san:+,}IP:$ip"; done
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' \
        "$san" >"$dir/leaf.ext"
    if (( self )); then
        openssl req -x509 -newkey "rsa:$bits" -nodes -keyout "$dir/leaf.key" -out "$dir/leaf.pem" -days "$days" \
            -subj "/CN=$name" -addext "subjectAltName=$san" -addext "extendedKeyUsage=serverAuth" 2>/dev/null
        cp "$dir/leaf.pem" "$dir/chain.pem"
    else
        openssl req -x509 -newkey "rsa:$bits" -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 3650 \
            -subj "/O=pathprobe lab/CN=pathprobe lab CA" -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl req -new -newkey "rsa:$bits" -nodes -keyout "$dir/leaf.key" -out "$dir/leaf.csr" \
            -subj "/O=pathprobe lab/CN=$name" 2>/dev/null
        openssl x509 -req -in "$dir/leaf.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
            -days "$days" -extfile "$dir/leaf.ext" -out "$dir/leaf.pem" 2>/dev/null
        cat "$dir/leaf.pem" "$dir/ca.pem" >"$dir/chain.pem"
    fi
    cat "$dir/leaf.pem" "$dir/leaf.key" >"$dir/server.pem"
    (( self )) || cat "$dir/ca.pem" >>"$dir/server.pem"
    chmod 600 "$dir"/*.key "$dir/server.pem"
}

xrdp_start() {
    [[ $# -ge 2 ]] || usage
    local ns=$1 dir=$2 layer=${3:-negotiate} port=${4:-3389}
    case $layer in negotiate|tls|rdp) ;; *) echo "lab-rdp.sh: security layer must be negotiate, tls or rdp" >&2; exit 2 ;; esac
    dir=$(cd "$dir" && pwd)
    local ini="$dir/xrdp-$port.ini" listen="tcp6://:$port"
    # Outside a lab namespace: loopback only.
    [[ $ns == - ]] && listen="tcp://127.0.0.1:$port"
    # Only what the RDP connection sequence needs: the listener, the security layer, the chain, a log
    # of our own; fork=false keeps every connection in the one process `stop` ends.
    cat >"$ini" <<EOF
[Globals]
ini_version=1
fork=false
port=$listen
use_vsock=false
tcp_nodelay=true
tcp_keepalive=true
security_layer=$layer
crypt_level=high
certificate=$dir/chain.pem
key_file=$dir/leaf.key
ssl_protocols=TLSv1.2, TLSv1.3
autorun=
allow_channels=true
max_bpp=32
new_cursors=true
use_fastpath=both

[Logging]
LogFile=$dir/xrdp-$port.log
LogLevel=INFO
EnableSyslog=false

[Channels]
rdpdr=false
rdpsnd=false
drdynvc=false
cliprdr=false
rail=false
xrdpvr=false

[Xorg]
name=Xorg
lib=libxup.so
username=ask
password=ask
ip=127.0.0.1
port=-1
code=20
EOF
    start_server "$ns" "$port" "$dir/xrdp-$port.log" xrdp xrdp --nodaemon --config "$ini"
}

gateway_start() {
    [[ $# -ge 2 ]] || usage
    local ns=$1 dir=$2 mode=${3:-gateway} port=${4:-443} udp=${5:-3391}
    dir=$(cd "$dir" && pwd)
    local args=(--cert "$dir/chain.pem" --key "$dir/leaf.key" --mode "$mode" --port "$port" --seconds "$lifetime"
                --log "$dir/rdgw-$port.log")
    [[ $mode == gateway && $udp != - ]] && args+=(--udp-port "$udp")
    start_server "$ns" "$port" "$dir/rdgw-$port.log" "the gateway emulator" python3 "$emulator" "${args[@]}"
}

stop() {
    [[ $# -ge 1 ]] || usage
    local pid=$1 i
    # The process group the start commands made; then, after a second, without mercy.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

freerdp() {
    [[ $# -ge 2 ]] || usage
    local ns=$1 host=$2 seconds=${3:-20}
    local start end status=0
    start=$(date +%s.%N)
    # xvfb-run -a picks a free display; FreeRDP's own /timeout covers the TCP connect only.
    ns_prefix "$ns"
    "${clean_exec[@]}" "${nsx[@]}" timeout "$seconds" xvfb-run -a xfreerdp "/v:$host" "/u:$freerdp_user" "/p:$freerdp_password" \
        /cert:ignore +auth-only /timeout:15000 /log-level:WARN </dev/null || status=$?
    end=$(date +%s.%N)
    echo "freerdp: status=$status seconds=$(awk "BEGIN { printf \"%.2f\", $end - $start }")"
    return "$status"
}

cmd=${1:-}
[[ -n "$cmd" ]] || usage
shift
case $cmd in
    certs) certs "$@" ;;
    xrdp-start) xrdp_start "$@" ;;
    gateway-start) gateway_start "$@" ;;
    stop) stop "$@" ;;
    freerdp) freerdp "$@" ;;
    *) usage ;;
esac

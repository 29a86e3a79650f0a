#!/usr/bin/env bash
# Installs the Debian packages pathprobe needs to build, test, demo and benchmark. Idempotent:
# installs only what is missing, and runs `apt-get update` only when something is.
set -euo pipefail
packages=(
    pkg-config libnl-3-dev libnl-route-3-dev libnl-genl-3-dev  # build: netlink
    libssl-dev openssl                                          # build: TLS (PathProbeTLS); test certificates
    iproute2 iptables nftables ethtool iputils-ping util-linux  # the namespace lab
    python3                                                     # lab services, the RD Gateway emulator
    python3-jsonschema                                          # the JSON contract test (docs/schemas)
    xrdp freerdp2-x11 xvfb xauth                                # RDP lab peers: server, client (+auth-only under xvfb-run)
    fping scamper nmap iputils-tracepath time                  # peer tools for benchmarks
    prometheus chromium curl                                   # exporter tests: a real Prometheus + promtool, headless chromium
    dpkg-dev man-db libcap2-bin bash-completion                # the .deb: dpkg-shlibdeps; its test: man, setcap, completion
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${missing[@]}" >/dev/null

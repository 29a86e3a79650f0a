#!/usr/bin/env python3
"""An RD Gateway as an unauthenticated client sees it, written from [MS-TSGU]'s description of the
HTTP transport (python3 standard library only). pathprobe's lab tests and scripts/lab-rdp.sh use it.

What a real gateway does until the client authenticates, and what this does:
- HTTPS (TLS) on port 443; the certificate chain given with --cert (leaf first, then the CA).
- [MS-TSGU] 3.3.5.1 / 4.2.1: the client opens the OUT channel with the custom method RDG_OUT_DATA
  (the IN channel with RDG_IN_DATA) on /remoteDesktopGateway/, with an RDG-Connection-Id header
  (a GUID in braces). The gateway answers 401 with its authentication schemes, one WWW-Authenticate
  header each (Negotiate, NTLM by default; --schemes), and keeps the connection open for the
  authentication exchange.
- The WebSocket transport: the same RDG_OUT_DATA request (or GET) with Connection: Upgrade,
  Upgrade: websocket, Sec-WebSocket-Key. Authentication comes first, so it gets the same 401.
- Any other path: 404, as IIS answers.
- UDP transport (--udp-port, 3391): DTLS. A ClientHello gets a HelloVerifyRequest (RFC 6347
  4.2.1), which is all a client sees before the handshake goes on.
The negative cases: --mode web answers 404 to everything (a plain web server), --mode proxy 403
(a proxy refusing), --mode redirect 302 to /RDWeb/.

Each request is logged as one line: `METHOD PATH -> STATUS key=value...` (connection id present or
not, websocket upgrade asked or not), so tests can check what the client sent.
"""
import argparse
import os
import selectors
import signal
import socket
import ssl
import sys
import threading
import time

GATEWAY_PATH = "/remotedesktopgateway/"
MAX_HEAD = 16384

REASONS = {101: "Switching Protocols", 302: "Found", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found"}


def log(args, line):
    stamp = time.strftime("%H:%M:%S")
    with open(args.log, "a") if args.log else open(os.devnull, "w") as f:
        f.write(f"{stamp} {line}\n")


def read_head(conn):
    """Reads one request head; returns (head bytes, bytes after it) or None at end of stream."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD:
            return None
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    method, target, version = parts
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    return method, target, version, headers


def response(status, headers, body=b""):
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def answer(args, method, target, headers):
    """The status and headers this server answers a request with."""
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
    path = target.split("?", 1)[0].lower()
    if args.mode == "web":
        return 404, [("Content-Type", "text/html"), ("Server", "nginx"), ("Date", date)], b"<html>404 Not Found</html>"
    if args.mode == "proxy":
        return 403, [("Content-Type", "text/html"), ("Server", "squid"), ("Date", date)], b"<html>Access Denied</html>"
    if args.mode == "redirect":
        host = headers.get("host", ["localhost"])[0]
        return 302, [("Location", f"https://{host}/RDWeb/"), ("Date", date)], b""
    # The gateway: IIS authenticates before the RD Gateway sees the request.
    if path != GATEWAY_PATH:
        return 404, [("Content-Type", "text/html"), ("Server", "Microsoft-IIS/10.0"), ("Date", date)], \
            b"<html>404 - File or directory not found.</html>"
    challenge = [("WWW-Authenticate", scheme) for scheme in args.schemes]
    return 401, [("Content-Type", "text/html"), ("Server", "Microsoft-IIS/10.0")] + challenge + \
        [("X-Powered-By", "ASP.NET"), ("Date", date)], b"<html>401 - Unauthorized: Access is denied.</html>"


def serve_connection(args, context, raw, peer):
    try:
        raw.settimeout(10)
        conn = context.wrap_socket(raw, server_side=True)
    except (OSError, ssl.SSLError) as e:
        log(args, f"TLS handshake with {peer[0]} failed: {e}")
        raw.close()
        return
    try:
        while True:
            got = read_head(conn)
            if got is None:
                break
            parsed = parse_head(got[0])
            if parsed is None:
                conn.sendall(response(400, [("Connection", "close")]))
                log(args, "malformed request line -> 400")
                break
            method, target, version, headers = parsed
            status, extra, body = answer(args, method, target, headers)
            upgrade = "websocket" in [v.lower() for v in headers.get("upgrade", [])]
            connection_id = headers.get("rdg-connection-id", [""])[0]
            conn.sendall(response(status, extra, body if method != "HEAD" else b""))
            log(args, f"{method} {target} -> {status} connection_id={connection_id or '-'} "
                      f"websocket={'yes' if upgrade else 'no'} host={headers.get('host', ['-'])[0]} "
                      f"user_agent={headers.get('user-agent', ['-'])[0].replace(' ', '_')}")
            if status != 401:  # a gateway keeps the connection for the authentication exchange
                break
    except (OSError, ssl.SSLError) as e:
        log(args, f"connection from {peer[0]}: {e}")
    finally:
        try:
            conn.close()
        except OSError:
            pass


def hello_verify_request(client_hello):
    """A DTLS HelloVerifyRequest for a ClientHello record, or None when it is not one."""
    if len(client_hello) < 25 or client_hello[0] != 22 or client_hello[1] != 0xFE or client_hello[13] != 1:
        return None
    cookie = os.urandom(20)
    body = bytes([0xFE, 0xFF, len(cookie)]) + cookie  # server_version DTLS 1.0 (RFC 6347 4.2.1), cookie
    message_seq = client_hello[17:19]
    handshake = bytes([3]) + len(body).to_bytes(3, "big") + message_seq + (0).to_bytes(3, "big") + \
        len(body).to_bytes(3, "big") + body
    sequence = client_hello[5:11]  # echo the record sequence number
    return bytes([22, 0xFE, 0xFF, 0, 0]) + sequence + len(handshake).to_bytes(2, "big") + handshake


def listeners(args, kind):
    out = []
    families = [(socket.AF_INET, args.bind4), (socket.AF_INET6, args.bind6)]
    for family, address in families:
        if address == "-":
            continue
        s = socket.socket(family, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            s.bind((address, args.port if kind == socket.SOCK_STREAM else args.udp_port))
        except OSError as e:
            if family == socket.AF_INET6:  # no IPv6 in this namespace
                s.close()
                continue
            raise e
        if kind == socket.SOCK_STREAM:
            s.listen(64)
        out.append(s)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cert", required=True, help="PEM chain: the leaf, then the CA")
    parser.add_argument("--key", required=True)
    parser.add_argument("--port", type=int, default=443, help="0: any; the port is printed")
    parser.add_argument("--udp-port", type=int, default=0, help="DTLS port (3391); 0: none")
    parser.add_argument("--bind4", default="0.0.0.0", help="IPv4 address to listen on; '-': none")
    parser.add_argument("--bind6", default="::", help="IPv6 address to listen on; '-': none")
    parser.add_argument("--mode", choices=["gateway", "web", "proxy", "redirect"], default="gateway")
    parser.add_argument("--schemes", default="Negotiate,NTLM", help="WWW-Authenticate schemes, comma-separated")
    parser.add_argument("--seconds", type=int, default=600, help="exit after this long")
    parser.add_argument("--log", default="")
    args = parser.parse_args()
    args.schemes = [s.strip() for s in args.schemes.split(",") if s.strip()]

    # Our parent may have blocked SIGTERM (the mask is inherited): `stop` must work.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.alarm(args.seconds)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)  # sends the whole chain file: leaf and CA

    tcp = listeners(args, socket.SOCK_STREAM)
    udp = listeners(args, socket.SOCK_DGRAM) if args.udp_port else []
    if args.port == 0:
        args.port = tcp[0].getsockname()[1]
    print(f"listening {args.port}", flush=True)
    log(args, f"rdgw emulator: mode {args.mode}, TCP {args.port}, UDP {args.udp_port or '-'}")

    selector = selectors.DefaultSelector()
    for s in tcp:
        selector.register(s, selectors.EVENT_READ, "tcp")
    for s in udp:
        selector.register(s, selectors.EVENT_READ, "udp")
    while True:
        for key, _ in selector.select():
            s = key.fileobj
            try:
                if key.data == "tcp":
                    raw, peer = s.accept()
                    threading.Thread(target=serve_connection, args=(args, context, raw, peer), daemon=True).start()
                else:
                    datagram, peer = s.recvfrom(65535)
                    reply = hello_verify_request(datagram)
                    log(args, f"UDP {len(datagram)} bytes from {peer[0]} -> "
                              f"{'HelloVerifyRequest' if reply else 'ignored'}")
                    if reply:
                        s.sendto(reply, peer)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())

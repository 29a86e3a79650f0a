# Spoofed-source flood of well-formed pathprobe requests (HardeningLabTests): a raw IPv4 socket with
# IP_HDRINCL (the kernel fills in the IP checksum and id), one prebuilt packet per source address
# (10.200.0.0/16), sent round-robin as fast as it goes (rate 0) or at RATE packets a second.
# usage: spoofed_flood.py DST PORT SOURCES SECONDS RATE
import socket, struct, sys, time
dst, port, sources, seconds, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
req = bytearray(64); req[0:4] = b"PPRB"; req[11] = 1; req[12] = 1; req[13] = 1
udp_len = 8 + len(req)
packets = []
for i in range(sources):
    src = "10.200.%d.%d" % (i >> 8 & 255, i & 255 or 1) if sources <= 65536 else "10.%d.%d.%d" % (200 + (i >> 16), i >> 8 & 255, i & 255)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
    udp = struct.pack("!HHHH", 40000 + (i & 0x3fff), port, udp_len, 0)
    packets.append(ip + udp + bytes(req))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
target = (dst, 0)
sent = 0
start = time.monotonic()
end = start + seconds
n = len(packets)
batch = 64
try:
    while True:
        now = time.monotonic()
        if now >= end: break
        if rate > 0 and sent > (now - start) * rate:
            time.sleep(0.0005); continue
        for _ in range(batch):
            try:
                s.sendto(packets[sent % n], target)
            except (BlockingIOError, OSError):
                pass
            sent += 1
except KeyboardInterrupt:
    pass
print("sent %d in %.2f s: %.0f/s from %d sources" % (sent, time.monotonic() - start, sent / (time.monotonic() - start), sources))

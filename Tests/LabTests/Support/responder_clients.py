# Real clients of `pathprobe serve` (HardeningLabTests): each from an address of its own (added to
# the client namespace), one echo request, retried TRIES times like reach does, 0.5 s apart.
# usage: responder_clients.py DST PORT FIRST COUNT [TRIES]   (addresses 10.0.1.FIRST ...); prints answered/total
import socket, sys, time
dst, port, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
tries, wait = int(sys.argv[5]) if len(sys.argv) > 5 else 3, 0.5
req = bytearray(64); req[0:4] = b"PPRB"; req[11] = 1; req[12] = 1; req[13] = 1
answered = 0
for i in range(count):
    src = "10.0.1.%d" % (first + i)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0)); s.settimeout(wait)
    ok = False
    for t in range(tries):
        req[4:8] = (i * 16 + t).to_bytes(4, "big")
        s.sendto(bytes(req), (dst, port))
        try:
            while True:
                data, _ = s.recvfrom(2048)
                if data[0:4] == b"PPRB" and data[11] == 2: ok = True; break
        except socket.timeout:
            pass
        if ok: break
    answered += ok
    s.close()
print("answered %d/%d" % (answered, count))

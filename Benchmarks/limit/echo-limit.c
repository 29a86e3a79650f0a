/*
 * echo-limit: the machine's limit for ICMP echo round trips, the yardstick scripts/bench.sh puts
 * beside pathprobe's engine and fping. The same job as theirs: every target of a list gets COUNT
 * echoes, one in flight per target; probes leave in sendmmsg batches of 64 and answers are read
 * in recvmmsg batches of 64 from one non-blocking socket, waiting in poll() only when there is
 * nothing to read. No per-probe allocation, no measurement logic: what is left is the kernel's
 * cost, so pathprobe's rate over this one says what pathprobe's own work costs.
 *
 *   echo-limit [-m raw|ping] [-c COUNT] [-s SIZE] [-t TIMEOUT_MS] FILE
 *
 * FILE: IPv4 addresses, one a line. SIZE: the whole IP packet (default 84, ping's). raw (default):
 * a raw ICMP socket (root or CAP_NET_RAW), which is what pathprobe uses as root; ping: an ICMP
 * datagram socket (net.ipv4.ping_group_range must include the caller's group).
 * Prints one line: "round_trips N lost L seconds S rate R"; exits 1 when nothing came back,
 * 2 on bad input, 3 when a socket or a system call fails.
 * Built by scripts/bench.sh: gcc -O2 -o .build-bench/echo-limit Benchmarks/limit/echo-limit.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAXPKT 2048

struct target {
    struct sockaddr_in addr;
    uint32_t sent;      /* probes sent so far */
    uint32_t inflight;  /* 1 while a probe waits for its answer */
    uint64_t sent_at;   /* ns, for the timeout */
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint16_t checksum(const uint8_t *p, size_t n) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) sum += (uint32_t)(p[n - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void die(int code, const char *what) {
    fprintf(stderr, "echo-limit: %s: %s\n", what, strerror(errno));
    exit(code);
}

int main(int argc, char **argv) {
    int raw = 1, opt;
    long count = 20, size = 84, timeout_ms = 500;
    while ((opt = getopt(argc, argv, "m:c:s:t:")) != -1) {
        switch (opt) {
        case 'm': raw = strcmp(optarg, "ping") != 0; break;
        case 'c': count = atol(optarg); break;
        case 's': size = atol(optarg); break;
        case 't': timeout_ms = atol(optarg); break;
        default: fprintf(stderr, "usage: echo-limit [-m raw|ping] [-c COUNT] [-s SIZE] [-t TIMEOUT_MS] FILE\n"); return 2;
        }
    }
    if (optind >= argc || count < 1 || size < 36 || size > MAXPKT || timeout_ms < 1) {
        fprintf(stderr, "usage: echo-limit [-m raw|ping] [-c COUNT] [-s SIZE 36..%d] [-t TIMEOUT_MS] FILE\n", MAXPKT);
        return 2;
    }
    FILE *f = fopen(argv[optind], "r");
    if (!f) die(2, argv[optind]);
    size_t n = 0, cap = 1024;
    struct target *t = calloc(cap, sizeof *t);
    char line[128];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, " \t\r\n")] = 0;
        if (!line[0] || line[0] == '#') continue;
        if (n == cap) t = realloc(t, (cap *= 2) * sizeof *t);
        memset(&t[n], 0, sizeof t[n]);
        t[n].addr.sin_family = AF_INET;
        if (inet_pton(AF_INET, line, &t[n].addr.sin_addr) != 1) {
            fprintf(stderr, "echo-limit: not an IPv4 address: %s\n", line);
            return 2;
        }
        n++;
    }
    fclose(f);
    if (n == 0 || n > 0xffffff) { fprintf(stderr, "echo-limit: 1 to 16M targets, got %zu\n", n); return 2; }

    int fd = socket(AF_INET, (raw ? SOCK_RAW : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) die(3, raw ? "socket(raw ICMP)" : "socket(ping)");
    if (raw) {
        struct icmp_filter filt = { ~(1u << ICMP_ECHOREPLY) };
        if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &filt, sizeof filt) != 0) die(3, "ICMP_FILTER");
    }
    int buf = 8 << 20;  /* as pathprobe's probe sockets */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) != 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    uint16_t ident = (uint16_t)getpid();
    size_t icmplen = (size_t)size - 20;

    static uint8_t sbuf[BATCH][MAXPKT], rbuf[BATCH][MAXPKT];
    struct mmsghdr smsg[BATCH], rmsg[BATCH];
    struct iovec siov[BATCH], riov[BATCH];
    uint32_t sidx[BATCH];
    memset(sbuf, 0, sizeof sbuf);
    for (int i = 0; i < BATCH; i++) {
        riov[i].iov_base = rbuf[i];
        riov[i].iov_len = MAXPKT;
        memset(&rmsg[i], 0, sizeof rmsg[i]);
        rmsg[i].msg_hdr.msg_iov = &riov[i];
        rmsg[i].msg_hdr.msg_iovlen = 1;
    }

    /* Ring of targets whose next probe is due. */
    uint32_t *ready = malloc(n * sizeof *ready);
    size_t rhead = 0, rcount = n;
    for (size_t i = 0; i < n; i++) ready[i] = (uint32_t)i;
    uint64_t received = 0, lost = 0, finished = 0, timeout_ns = (uint64_t)timeout_ms * 1000000ull;
    uint64_t start = now_ns(), last_scan = start;

    while (finished < n) {
        /* Send a batch of due probes. */
        int staged = 0;
        while (rcount > 0 && staged < BATCH) {
            uint32_t i = ready[rhead];
            rhead = (rhead + 1) % n;
            rcount--;
            uint8_t *p = sbuf[staged];
            struct icmphdr *h = (struct icmphdr *)p;
            h->type = ICMP_ECHO;
            h->code = 0;
            h->checksum = 0;
            h->un.echo.id = htons(ident);
            h->un.echo.sequence = htons((uint16_t)t[i].sent);
            uint32_t tag = htonl(i);
            memcpy(p + 8, &tag, 4);
            if (raw) h->checksum = htons(checksum(p, icmplen));
            t[i].sent++;
            t[i].inflight = 1;
            t[i].sent_at = now_ns();
            siov[staged].iov_base = p;
            siov[staged].iov_len = icmplen;
            memset(&smsg[staged], 0, sizeof smsg[staged]);
            smsg[staged].msg_hdr.msg_name = &t[i].addr;
            smsg[staged].msg_hdr.msg_namelen = sizeof t[i].addr;
            smsg[staged].msg_hdr.msg_iov = &siov[staged];
            smsg[staged].msg_hdr.msg_iovlen = 1;
            sidx[staged] = i;
            staged++;
        }
        int off = 0;
        while (off < staged) {
            int k = sendmmsg(fd, smsg + off, (unsigned)(staged - off), 0);
            if (k > 0) { off += k; continue; }
            if (k < 0 && errno == EINTR) continue;
            if (k < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
                /* Socket buffer full: put the rest back (they count as not sent) and read. */
                for (int j = off; j < staged; j++) {
                    uint32_t i = sidx[j];
                    t[i].sent--;
                    t[i].inflight = 0;
                    ready[(rhead + rcount) % n] = i;
                    rcount++;
                }
                break;
            }
            die(3, "sendmmsg");
        }

        /* Read every answer there is; wait only when nothing is due and nothing came. */
        int got_any = 0;
        for (;;) {
            int k = recvmmsg(fd, rmsg, BATCH, MSG_DONTWAIT, NULL);
            if (k < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) break;
                die(3, "recvmmsg");
            }
            got_any = 1;
            for (int j = 0; j < k; j++) {
                uint8_t *p = rbuf[j];
                size_t len = rmsg[j].msg_len;
                if (raw) {
                    if (len < 20) continue;
                    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
                    if (len < ihl + 12) continue;
                    p += ihl;
                    len -= ihl;
                } else if (len < 12) continue;
                struct icmphdr *h = (struct icmphdr *)p;
                if (h->type != ICMP_ECHOREPLY || (raw && ntohs(h->un.echo.id) != ident)) continue;
                uint32_t tag;
                memcpy(&tag, p + 8, 4);
                uint32_t i = ntohl(tag);
                if (i >= n || !t[i].inflight || ntohs(h->un.echo.sequence) != (uint16_t)(t[i].sent - 1)) continue;
                t[i].inflight = 0;
                received++;
                if (t[i].sent < (uint32_t)count) {
                    ready[(rhead + rcount) % n] = i;
                    rcount++;
                } else {
                    finished++;
                }
            }
            if (k < BATCH) break;
        }

        uint64_t now = now_ns();
        if (now - last_scan > 10000000ull) {  /* every 10 ms: probes past their timeout are lost */
            last_scan = now;
            for (size_t i = 0; i < n; i++) {
                if (t[i].inflight && now - t[i].sent_at > timeout_ns) {
                    t[i].inflight = 0;
                    lost++;
                    if (t[i].sent < (uint32_t)count) {
                        ready[(rhead + rcount) % n] = (uint32_t)i;
                        rcount++;
                    } else {
                        finished++;
                    }
                }
            }
        }
        if (rcount == 0 && !got_any) {
            struct pollfd pfd = { fd, POLLIN, 0 };
            poll(&pfd, 1, 10);
        }
    }
    double seconds = (double)(now_ns() - start) / 1e9;
    printf("round_trips %llu lost %llu seconds %.4f rate %.0f\n", (unsigned long long)received,
           (unsigned long long)lost, seconds, (double)received / seconds);
    close(fd);
    return received > 0 ? 0 : 1;
}

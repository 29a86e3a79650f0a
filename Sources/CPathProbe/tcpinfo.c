// TCP_INFO for stream probes. <linux/tcp.h> has the whole struct tcp_info (byte and segment
// counters included) but clashes with glibc's <netinet/tcp.h>, so it is read here, alone.
#define _GNU_SOURCE 1
#include "CPathProbe.h"

#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/tcp.h>

const uint8_t cpp_TCPI_OPT_TIMESTAMPS = TCPI_OPT_TIMESTAMPS;
const int cpp_TCP_MAXSEG = TCP_MAXSEG;

int cpp_tcp_info(int fd, struct cpp_tcp_info *out) {
    struct tcp_info info;
    memset(&info, 0, sizeof info);
    socklen_t length = sizeof info;
    memset(out, 0, sizeof *out);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return -1;
    out->state = info.tcpi_state;
    out->options = info.tcpi_options;
    out->snd_mss = info.tcpi_snd_mss;
    out->rcv_mss = info.tcpi_rcv_mss;
    out->advmss = info.tcpi_advmss;
    out->pmtu = info.tcpi_pmtu;
    out->unacked = info.tcpi_unacked;
    out->total_retrans = info.tcpi_total_retrans;
    out->rtt_us = info.tcpi_rtt;
    // Older kernels return a shorter struct: fields past `length` stay zero (memset above).
    out->segs_in = info.tcpi_segs_in;
    out->bytes_acked = info.tcpi_bytes_acked;
    out->bytes_received = info.tcpi_bytes_received;
    return 0;
}

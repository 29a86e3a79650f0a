// The C shim: only what Swift cannot import from Glibc. Every symbol is prefixed `cpp_`.
// Why each piece is here:
//  - sendmmsg/recvmmsg and struct mmsghdr are hidden by glibc without _GNU_SOURCE, and Glibc is
//    already a module when this header is read, so we declare a same-layout struct and call the
//    real functions from shim.c (which is compiled with _GNU_SOURCE).
//  - CMSG_* and SO_EE_OFFENDER are function-like macros; struct sock_extended_err lives in
//    <linux/errqueue.h>, which does not mix with glibc headers in one Clang module. shim.c walks the
//    control messages and hands Swift one flat struct.
//  - struct epoll_event is packed on x86_64; Swift gets an unpacked copy.
//  - ICMP_FILTER / ICMP6_FILTER are set with macros.
//  - struct tcp_info in glibc's <netinet/tcp.h> stops before the byte and segment counters; the
//    kernel's <linux/tcp.h> has them but clashes with glibc's header, so tcpinfo.c reads it alone
//    and hands Swift a flat struct.
//  - eventfd and the signal handler's wake-up write are one-liners, kept here so Swift never
//    touches a macro (EFD_*) or calls a non-async-signal-safe function in a handler.
#ifndef CPATHPROBE_H
#define CPATHPROBE_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

// ---- batched send/receive -------------------------------------------------------------------
struct cpp_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};
int cpp_sendmmsg(int fd, struct cpp_mmsghdr *vec, unsigned int vlen, int flags);
int cpp_recvmmsg(int fd, struct cpp_mmsghdr *vec, unsigned int vlen, int flags);

// ---- control messages -----------------------------------------------------------------------
/// What the kernel told us about one received message (normal or MSG_ERRQUEUE).
struct cpp_msg_info {
    int ttl;               // IP_TTL / IPV6_HOPLIMIT of the received packet, -1 if absent
    int has_error;         // 1 when a sock_extended_err was present
    uint32_t ee_errno;
    uint8_t ee_origin;     // CPP_EE_ORIGIN_*
    uint8_t ee_type;       // ICMP type (ICMPv4 or ICMPv6 by origin)
    uint8_t ee_code;
    uint32_t ee_info;      // next-hop MTU for frag-needed / packet-too-big
    struct sockaddr_storage offender; // the router or host that sent the ICMP error (ss_family 0 if none)
    int64_t rx_realtime_ns; // when the kernel received it (SO_TIMESTAMPNS, CLOCK_REALTIME), 0 if absent
};
void cpp_msg_info_parse(const struct msghdr *msg, struct cpp_msg_info *out);

/// Space for one control message carrying `len` bytes (CMSG_SPACE).
size_t cpp_cmsg_space(size_t len);
/// Write one int-valued control message (IP_TTL, IPV6_HOPLIMIT) at the start of `buf`; returns bytes used.
size_t cpp_cmsg_put_int(void *buf, size_t buflen, int level, int type, int value);

enum {
    CPP_EE_ORIGIN_NONE = 0,
    CPP_EE_ORIGIN_LOCAL = 1,
    CPP_EE_ORIGIN_ICMP = 2,
    CPP_EE_ORIGIN_ICMP6 = 3,
};

// ---- socket options that are macros or missing from Glibc's Swift view -------------------------
extern const int cpp_IP_RECVERR;
extern const int cpp_IPV6_RECVERR;
extern const int cpp_IP_MTU_DISCOVER;
extern const int cpp_IPV6_MTU_DISCOVER;
extern const int cpp_IP_PMTUDISC_PROBE;
extern const int cpp_IPV6_PMTUDISC_PROBE;
extern const int cpp_IP_RECVTTL;
extern const int cpp_IP_TTL;
extern const int cpp_IPV6_RECVHOPLIMIT;
extern const int cpp_IPV6_HOPLIMIT;
extern const int cpp_MSG_ERRQUEUE;
extern const int cpp_SO_RCVBUFFORCE;
extern const int cpp_SO_SNDBUFFORCE;
extern const int cpp_IPV6_V6ONLY;
extern const int cpp_SO_TIMESTAMPNS;

/// Let only the ICMP types whose bit is set in `allow_mask` reach a raw IPv4 ICMP socket.
int cpp_set_icmp_filter(int fd, uint32_t allow_mask);
/// Let only the listed ICMPv6 types reach a raw ICMPv6 socket.
int cpp_set_icmp6_filter(int fd, const uint8_t *types, size_t count);

// ---- epoll ----------------------------------------------------------------------------------
struct cpp_epoll_event {
    uint32_t events;
    uint64_t data;
};
extern const uint32_t cpp_EPOLLIN;
extern const uint32_t cpp_EPOLLOUT;
extern const uint32_t cpp_EPOLLERR;
extern const uint32_t cpp_EPOLLHUP;
extern const uint32_t cpp_EPOLLRDHUP;
int cpp_epoll_create(void);
int cpp_epoll_add(int epfd, int fd, uint32_t events, uint64_t data);
int cpp_epoll_modify(int epfd, int fd, uint32_t events, uint64_t data);
int cpp_epoll_delete(int epfd, int fd);
int cpp_epoll_wait(int epfd, struct cpp_epoll_event *events, int maxevents, int timeout_ms);
/// Like cpp_epoll_wait with a nanosecond timeout (epoll_pwait2); a negative timeout waits forever.
int cpp_epoll_wait_ns(int epfd, struct cpp_epoll_event *events, int maxevents, int64_t timeout_ns);

// ---- eventfd and signals ------------------------------------------------------------------------
/// A non-blocking, close-on-exec eventfd (another thread or a signal handler wakes the event loop).
int cpp_eventfd(void);
/// Adds 1 to an eventfd (async-signal-safe: a plain write(2)); errors are ignored (EAGAIN: already signalled).
void cpp_eventfd_signal(int fd);
/// Reads and clears an eventfd; returns the count, 0 when it was not signalled.
uint64_t cpp_eventfd_drain(int fd);
/// Installs `handler` for `sig` with sa_flags SA_RESETHAND when `reset_after_first` (a second signal
/// then ends the process); unblocks the signal in this thread. Returns 0 or -1 with errno.
int cpp_install_signal(int sig, void (*handler)(int), int reset_after_first);

// ---- TCP_INFO ---------------------------------------------------------------------------------------
/// The fields of the kernel's struct tcp_info that stream probes report.
struct cpp_tcp_info {
    uint8_t state;
    uint8_t options;       // TCPI_OPT_* bits
    uint32_t snd_mss;
    uint32_t rcv_mss;
    uint32_t advmss;
    uint32_t pmtu;
    uint32_t unacked;
    uint32_t total_retrans;
    uint32_t rtt_us;
    uint32_t segs_in;      // 0 on kernels before 4.2
    uint64_t bytes_acked;  // 0 on kernels before 4.1
    uint64_t bytes_received;
};
extern const uint8_t cpp_TCPI_OPT_TIMESTAMPS;
/// getsockopt(TCP_INFO) into `out`; returns 0 or -1 with errno.
int cpp_tcp_info(int fd, struct cpp_tcp_info *out);
extern const int cpp_TCP_MAXSEG;

/// CLOCK_MONOTONIC in nanoseconds.
uint64_t cpp_monotonic_ns(void);
/// CLOCK_REALTIME in nanoseconds (the clock of SO_TIMESTAMPNS).
int64_t cpp_realtime_ns(void);

// ---- network namespaces ----------------------------------------------------------------------
/// Moves the calling thread into the network namespace /var/run/netns/NAME (setns; needs root).
/// Benchmarks use it to probe inside a lab without running under `ip netns exec`.
int cpp_enter_netns(const char *name);

// ---- interfaces -----------------------------------------------------------------------------
/// MTU of the interface called `name` (SIOCGIFMTU), or -1 with errno set.
int cpp_interface_mtu(const char *name);

#include "cpathprobe_ethtool.h"
#include "cpathprobe_privileges.h"

#endif

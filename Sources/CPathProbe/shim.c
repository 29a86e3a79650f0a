// Implementation of the C shim; see include/CPathProbe.h for why each wrapper exists.
#define _GNU_SOURCE 1
#include "CPathProbe.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <signal.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <time.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <linux/errqueue.h>
#include <linux/icmp.h>

_Static_assert(sizeof(struct cpp_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");
_Static_assert(offsetof(struct cpp_mmsghdr, msg_len) == offsetof(struct mmsghdr, msg_len), "mmsghdr layout");

int cpp_sendmmsg(int fd, struct cpp_mmsghdr *vec, unsigned int vlen, int flags) {
    return sendmmsg(fd, (struct mmsghdr *)vec, vlen, flags);
}

int cpp_recvmmsg(int fd, struct cpp_mmsghdr *vec, unsigned int vlen, int flags) {
    return recvmmsg(fd, (struct mmsghdr *)vec, vlen, flags, NULL);
}

void cpp_msg_info_parse(const struct msghdr *msg, struct cpp_msg_info *out) {
    memset(out, 0, sizeof(*out));
    out->ttl = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c != NULL;
         c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            out->rx_realtime_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        } else if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_TTL) ||
            (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
            if (c->cmsg_len >= CMSG_LEN(sizeof(int))) {
                int v;
                memcpy(&v, CMSG_DATA(c), sizeof v);
                out->ttl = v;
            }
        } else if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                   (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
            if (c->cmsg_len < CMSG_LEN(sizeof(struct sock_extended_err))) continue;
            struct sock_extended_err ee;
            memcpy(&ee, CMSG_DATA(c), sizeof ee);
            out->has_error = 1;
            out->ee_errno = ee.ee_errno;
            out->ee_origin = ee.ee_origin;
            out->ee_type = ee.ee_type;
            out->ee_code = ee.ee_code;
            out->ee_info = ee.ee_info;
            // The offender address follows the struct (SO_EE_OFFENDER); its family is 0 when unknown.
            size_t avail = c->cmsg_len - CMSG_LEN(sizeof ee);
            const struct sockaddr *off = SO_EE_OFFENDER((struct sock_extended_err *)CMSG_DATA(c));
            size_t want = 0;
            if (avail >= sizeof(sa_family_t)) {
                sa_family_t fam;
                memcpy(&fam, off, sizeof fam);
                if (fam == AF_INET) want = sizeof(struct sockaddr_in);
                else if (fam == AF_INET6) want = sizeof(struct sockaddr_in6);
            }
            if (want > 0 && avail >= want) memcpy(&out->offender, off, want);
        }
    }
}

size_t cpp_cmsg_space(size_t len) { return CMSG_SPACE(len); }

size_t cpp_cmsg_put_int(void *buf, size_t buflen, int level, int type, int value) {
    if (buflen < CMSG_SPACE(sizeof(int))) return 0;
    memset(buf, 0, CMSG_SPACE(sizeof(int)));
    struct cmsghdr *c = (struct cmsghdr *)buf;
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &value, sizeof value);
    return CMSG_SPACE(sizeof(int));
}

const int cpp_IP_RECVERR = IP_RECVERR;
const int cpp_IPV6_RECVERR = IPV6_RECVERR;
const int cpp_IP_MTU_DISCOVER = IP_MTU_DISCOVER;
const int cpp_IPV6_MTU_DISCOVER = IPV6_MTU_DISCOVER;
const int cpp_IP_PMTUDISC_PROBE = IP_PMTUDISC_PROBE;
const int cpp_IPV6_PMTUDISC_PROBE = IPV6_PMTUDISC_PROBE;
const int cpp_IP_RECVTTL = IP_RECVTTL;
const int cpp_IP_TTL = IP_TTL;
const int cpp_IPV6_RECVHOPLIMIT = IPV6_RECVHOPLIMIT;
const int cpp_IPV6_HOPLIMIT = IPV6_HOPLIMIT;
const int cpp_MSG_ERRQUEUE = MSG_ERRQUEUE;
const int cpp_SO_RCVBUFFORCE = SO_RCVBUFFORCE;
const int cpp_SO_SNDBUFFORCE = SO_SNDBUFFORCE;
const int cpp_IPV6_V6ONLY = IPV6_V6ONLY;
const int cpp_SO_TIMESTAMPNS = SO_TIMESTAMPNS;

int cpp_set_icmp_filter(int fd, uint32_t allow_mask) {
    struct icmp_filter f;
    f.data = ~allow_mask; // the kernel's mask lists the types to block
    return setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof f);
}

int cpp_set_icmp6_filter(int fd, const uint8_t *types, size_t count) {
    struct icmp6_filter f;
    ICMP6_FILTER_SETBLOCKALL(&f);
    for (size_t i = 0; i < count; i++) ICMP6_FILTER_SETPASS(types[i], &f);
    return setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f);
}

const uint32_t cpp_EPOLLIN = EPOLLIN;
const uint32_t cpp_EPOLLOUT = EPOLLOUT;
const uint32_t cpp_EPOLLERR = EPOLLERR;
const uint32_t cpp_EPOLLHUP = EPOLLHUP;
const uint32_t cpp_EPOLLRDHUP = EPOLLRDHUP;

int cpp_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static int epoll_ctl_data(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int cpp_epoll_add(int epfd, int fd, uint32_t events, uint64_t data) {
    return epoll_ctl_data(epfd, EPOLL_CTL_ADD, fd, events, data);
}

int cpp_epoll_modify(int epfd, int fd, uint32_t events, uint64_t data) {
    return epoll_ctl_data(epfd, EPOLL_CTL_MOD, fd, events, data);
}

int cpp_epoll_delete(int epfd, int fd) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev);
}

int cpp_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

void cpp_eventfd_signal(int fd) {
    uint64_t one = 1;
    int saved = errno;  // a signal handler must leave errno as it found it
    ssize_t n = write(fd, &one, sizeof one);
    (void)n;
    errno = saved;
}

uint64_t cpp_eventfd_drain(int fd) {
    uint64_t value = 0;
    if (read(fd, &value, sizeof value) != (ssize_t)sizeof value) return 0;
    return value;
}

int cpp_install_signal(int sig, void (*handler)(int), int reset_after_first) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    action.sa_flags = reset_after_first ? SA_RESETHAND : 0;
    sigemptyset(&action.sa_mask);
    if (sigaction(sig, &action, NULL) != 0) return -1;
    // A parent may hand down a mask that blocks it (some test runners and job controllers do).
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0 ? 0 : -1;
}

int cpp_epoll_wait(int epfd, struct cpp_epoll_event *events, int maxevents, int timeout_ms) {
    struct epoll_event raw[64];
    if (maxevents > 64) maxevents = 64;
    int n = epoll_wait(epfd, raw, maxevents, timeout_ms);
    for (int i = 0; i < n; i++) {
        events[i].events = raw[i].events;
        events[i].data = raw[i].data.u64;
    }
    return n;
}

int cpp_epoll_wait_ns(int epfd, struct cpp_epoll_event *events, int maxevents, int64_t timeout_ns) {
    struct epoll_event raw[64];
    if (maxevents > 64) maxevents = 64;
    int n;
    if (timeout_ns < 0) {
        n = epoll_pwait2(epfd, raw, maxevents, NULL, NULL);
    } else {
        struct timespec ts = { .tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000 };
        n = epoll_pwait2(epfd, raw, maxevents, &ts, NULL);
    }
    if (n < 0 && errno == ENOSYS) {
        // Kernels before 5.11: millisecond resolution, rounded up so we never spin.
        int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
        n = epoll_wait(epfd, raw, maxevents, ms);
    }
    for (int i = 0; i < n; i++) {
        events[i].events = raw[i].events;
        events[i].data = raw[i].data.u64;
    }
    return n;
}

uint64_t cpp_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t cpp_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int cpp_interface_mtu(const char *name) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, name, IF_NAMESIZE - 1);
    int rc = ioctl(fd, SIOCGIFMTU, &ifr);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc < 0 ? -1 : ifr.ifr_mtu;
}

int cpp_enter_netns(const char *name) {
    char path[512];
    if (snprintf(path, sizeof path, "/var/run/netns/%s", name) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = setns(fd, CLONE_NEWNET);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

// ethtool ioctl helpers (SIOCETHTOOL); see include/cpathprobe_ethtool.h.
#include "cpathprobe_ethtool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

_Static_assert(CPP_ETHTOOL_NAME_LEN == ETH_GSTRING_LEN, "ethtool string length");

// Any socket reaches the device ioctls; ethtool(8) also falls back to AF_UNIX when IPv4 is missing.
static int cpp_ethtool_socket(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return fd;
}

static int cpp_ethtool_ioctl(int fd, const char *ifname, void *data) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, ifname, IF_NAMESIZE - 1);
    ifr.ifr_data = data;
    return ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -errno : 0;
}

// Number of strings in the ETH_SS_FEATURES set of this device (ETHTOOL_GSSET_INFO).
static int cpp_ethtool_feature_count(int fd, const char *ifname) {
    // The header is followed by one u32 per requested set; u64 storage keeps its alignment.
    uint64_t storage[(sizeof(struct ethtool_sset_info) + sizeof(uint32_t) + 7) / 8];
    memset(storage, 0, sizeof storage);
    struct ethtool_sset_info *info = (struct ethtool_sset_info *)storage;
    info->cmd = ETHTOOL_GSSET_INFO;
    info->sset_mask = 1ULL << ETH_SS_FEATURES;
    int rc = cpp_ethtool_ioctl(fd, ifname, info);
    if (rc < 0) return rc;
    if (!(info->sset_mask & (1ULL << ETH_SS_FEATURES))) return -EOPNOTSUPP;
    return (int)info->data[0];
}

int cpp_ethtool_features(const char *ifname, struct cpp_ethtool_feature *out, int capacity) {
    if (ifname == NULL || strlen(ifname) >= IF_NAMESIZE) return -EINVAL;
    int fd = cpp_ethtool_socket();
    if (fd < 0) return -errno;

    int count = cpp_ethtool_feature_count(fd, ifname);
    if (count < 0 || count > capacity || out == NULL) {
        close(fd);
        return count;
    }

    int rc = 0;
    size_t words = ((size_t)count + 31) / 32;
    struct ethtool_gstrings *names = calloc(1, sizeof(*names) + (size_t)count * ETH_GSTRING_LEN);
    struct ethtool_gfeatures *bits = calloc(1, sizeof(*bits) + words * sizeof(struct ethtool_get_features_block));
    if (names == NULL || bits == NULL) {
        rc = -ENOMEM;
        goto done;
    }
    names->cmd = ETHTOOL_GSTRINGS;
    names->string_set = ETH_SS_FEATURES;
    names->len = (uint32_t)count;
    if ((rc = cpp_ethtool_ioctl(fd, ifname, names)) < 0) goto done;
    bits->cmd = ETHTOOL_GFEATURES;
    bits->size = (uint32_t)words;
    if ((rc = cpp_ethtool_ioctl(fd, ifname, bits)) < 0) goto done;

    // The kernel may return fewer strings than it announced (never more).
    if (names->len < (uint32_t)count) count = (int)names->len;
    for (int i = 0; i < count; i++) {
        const struct ethtool_get_features_block *b = &bits->features[i / 32];
        uint32_t bit = 1U << (i % 32);
        memcpy(out[i].name, names->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
        out[i].name[ETH_GSTRING_LEN - 1] = '\0';
        out[i].available = (b->available & bit) != 0;
        out[i].requested = (b->requested & bit) != 0;
        out[i].active = (b->active & bit) != 0;
        out[i].never_changed = (b->never_changed & bit) != 0;
    }
    rc = count;
done:
    free(names);
    free(bits);
    close(fd);
    return rc;
}

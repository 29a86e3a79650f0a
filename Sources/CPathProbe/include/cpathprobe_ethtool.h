// ethtool ioctl helpers (SIOCETHTOOL), used by `pathprobe nic` for offload features.
// Why this is C: struct ethtool_gstrings / ethtool_gfeatures end in flexible array members and
// <linux/ethtool.h> must not meet glibc's headers inside a Swift-visible module, so the header
// below speaks plain types only and ethtool.c does the ioctls.
#ifndef CPATHPROBE_ETHTOOL_H
#define CPATHPROBE_ETHTOOL_H

#include <stdint.h>

/// Length of one ethtool string (ETH_GSTRING_LEN), NUL-padded.
#define CPP_ETHTOOL_NAME_LEN 32

/// One netdev feature as `ethtool -k` shows it: the kernel's name (ETH_SS_FEATURES string set)
/// and its bits from ETHTOOL_GFEATURES. ethtool calls a feature "fixed" when it is not in
/// `available` (hw_features) or it is in `never_changed`.
struct cpp_ethtool_feature {
    char name[CPP_ETHTOOL_NAME_LEN];
    uint8_t available;
    uint8_t requested;
    uint8_t active;
    uint8_t never_changed;
};

/// Reads the features of interface `ifname` (in the caller's network namespace; no privilege needed).
/// Fills at most `capacity` entries of `out` (which may be NULL when `capacity` is 0) and returns the
/// number of features the device has, which may exceed `capacity`: then call again with a bigger
/// buffer. Returns -errno on failure (-ENODEV: no such interface, -EOPNOTSUPP: no ethtool support).
int cpp_ethtool_features(const char *ifname, struct cpp_ethtool_feature *out, int capacity);

#endif

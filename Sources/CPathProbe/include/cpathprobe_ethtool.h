// ethtool ioctl helpers (SIOCETHTOOL). Filled in with the `nic` command; see ethtool.c.
#ifndef CPATHPROBE_ETHTOOL_H
#define CPATHPROBE_ETHTOOL_H
#endif

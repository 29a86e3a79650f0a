// ethtool ioctl helpers (SIOCETHTOOL); see include/cpathprobe_ethtool.h.
#include "cpathprobe_ethtool.h"

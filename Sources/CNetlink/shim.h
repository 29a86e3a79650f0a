// libnl-3 / libnl-route-3 as PathProbeNetlink sees them. Only PathProbeNetlink imports this module
// (internal import): a C header reached through two Clang modules in one Swift target makes symbols vanish.
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/link.h>
// IFLA_GRE_* / IFLA_IPTUN_* (tunnel attributes); IFLA_VXLAN_* / IFLA_GENEVE_* come with <linux/if_link.h>.
#include <linux/if_tunnel.h>

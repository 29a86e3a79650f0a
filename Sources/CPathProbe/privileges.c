// Giving up root; see include/cpathprobe_privileges.h.
// setresuid and friends are GNU extensions.
#define _GNU_SOURCE
#include "cpathprobe_privileges.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

static int cpp_last_cap(void) {
    int last = CAP_LAST_CAP;
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    if (f) {
        int v;
        if (fscanf(f, "%d", &v) == 1 && v > 0 && v < 64) last = v;
        fclose(f);
    }
    return last;
}

int cpp_has_capabilities(void) {
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
        if (data[i].permitted || data[i].effective || data[i].inheritable) return 1;
    }
    return 0;
}

int cpp_drop_privileges(uid_t uid, gid_t gid, int change_ids) {
    if (change_ids) {
        // Needs CAP_SETPCAP, which only the process before setuid has.
        int last = cpp_last_cap();
        for (int cap = 0; cap <= last; cap++) {
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return CPP_PRIV_BOUNDING_SET;
        }
    }
    // Kernels before 4.3 have no ambient set (EINVAL): nothing to clear there.
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return CPP_PRIV_CAPABILITIES;
    if (change_ids) {
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return CPP_PRIV_CAPABILITIES;
        if (setgroups(0, NULL) != 0) return CPP_PRIV_SETGROUPS;
        if (setresgid(gid, gid, gid) != 0) return CPP_PRIV_SETGID;
        if (setresuid(uid, uid, uid) != 0) return CPP_PRIV_SETUID;
        uid_t r, e, s;
        gid_t rg, eg, sg;
        if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid) return CPP_PRIV_STILL_ROOT;
        if (getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid) return CPP_PRIV_STILL_ROOT;
        if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) { errno = EPERM; return CPP_PRIV_STILL_ROOT; }
    }
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &header, data) != 0) return CPP_PRIV_CAPABILITIES;
    if (cpp_has_capabilities() != 0) { errno = EPERM; return CPP_PRIV_CAPABILITIES; }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return CPP_PRIV_NO_NEW_PRIVS;
    return CPP_PRIV_OK;
}

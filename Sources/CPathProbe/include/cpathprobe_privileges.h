// Giving up root for `pathprobe serve` once its sockets are bound.
// Why this is C: prctl(2) is variadic and capset(2)/capget(2) have no glibc wrapper, so Swift can
// call neither; <linux/capability.h> stays inside privileges.c.
#ifndef CPATHPROBE_PRIVILEGES_H
#define CPATHPROBE_PRIVILEGES_H

#include <sys/types.h>

/// The step of `cpp_drop_privileges` that failed (errno holds why); 0: every step succeeded.
enum cpp_privilege_step {
    CPP_PRIV_OK = 0,
    CPP_PRIV_BOUNDING_SET = 1,   // prctl(PR_CAPBSET_DROP)
    CPP_PRIV_SETGROUPS = 2,
    CPP_PRIV_SETGID = 3,
    CPP_PRIV_SETUID = 4,
    CPP_PRIV_STILL_ROOT = 5,     // the ids did not change, or root could be regained
    CPP_PRIV_CAPABILITIES = 6,   // capset to the empty sets, or capget still shows some
    CPP_PRIV_NO_NEW_PRIVS = 7,   // prctl(PR_SET_NO_NEW_PRIVS)
};

/// Becomes `uid`/`gid` for good: empties the capability bounding set and the ambient set, drops
/// every supplementary group, sets real, effective and saved ids, checks that root cannot be
/// regained, empties the permitted, effective and inheritable capabilities and sets
/// PR_SET_NO_NEW_PRIVS. `change_ids` 0 keeps the ids (a non-root process that holds capabilities
/// only sheds them). Call it while the process has one thread: capabilities are per thread.
int cpp_drop_privileges(uid_t uid, gid_t gid, int change_ids);

/// 1 when the calling thread holds any capability in its permitted, effective or inheritable
/// set; 0 when none; -1 when capget fails.
int cpp_has_capabilities(void);

#endif

import CPathProbe
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// Giving up root after binding (`pathprobe serve`): a responder facing the Internet runs as an
/// unprivileged user with no capabilities and PR_SET_NO_NEW_PRIVS, or does not run.
public enum Privileges {
    /// The account a root-started responder becomes unless `--user` says otherwise.
    public static let defaultUser = "nobody"

    /// Who the process ends up as.
    public struct Identity: Sendable, Equatable, CustomStringConvertible {
        public var name: String
        public var uid: UInt32
        public var gid: UInt32
        public var description: String { "\(name) (uid \(uid), gid \(gid))" }

        public init(name: String, uid: UInt32, gid: UInt32) {
            self.name = name
            self.uid = uid
            self.gid = gid
        }
    }

    /// `name` as an account: a user name from the passwd database, or `UID[:GID]` in numbers.
    /// Root (uid 0) is refused: that would be no drop at all.
    public static func account(_ name: String) throws(PathProbeError) -> Identity {
        let parts = name.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        if let uid = UInt32(parts[0]), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) {
            let gid = parts.count > 1 ? UInt32(parts[1]) : nil
            guard uid != 0, gid != 0 || parts.count == 1 else { throw .usage("--user \(name): root is not an unprivileged account") }
            guard let gid = gid ?? lookup(uid: uid)?.gid else {
                throw .usage("--user \(name): uid \(uid) has no passwd entry; give its group too (--user \(uid):GID)")
            }
            return Identity(name: name, uid: uid, gid: gid)
        }
        guard let id = lookup(name: name) else {
            throw .environment("no user '\(name)' to run as after binding; create it or give --user NAME (an unprivileged account)")
        }
        guard id.uid != 0, id.gid != 0 else { throw .usage("--user \(name): root is not an unprivileged account") }
        return id
    }

    /// Running as root (real or effective uid 0).
    public static var isRoot: Bool { getuid() == 0 || geteuid() == 0 }

    /// Holding any capability (root, or a file / ambient capability).
    public static var hasCapabilities: Bool { cpp_has_capabilities() != 0 }

    /// Started as root: becomes `account` for good (groups, gid, uid, no capabilities, no new
    /// privileges). Started as another user with capabilities: sheds them. Unprivileged: sets
    /// PR_SET_NO_NEW_PRIVS only. Throws `.environment` with the step that failed; the caller must
    /// not go on serving then. Call it while the process has one thread.
    @discardableResult
    public static func drop(to account: Identity) throws(PathProbeError) -> String {
        let root = isRoot
        let step = cpp_drop_privileges(root ? account.uid : 0, root ? account.gid : 0, root ? 1 : 0)
        guard step == 0 else {
            let why = String(cString: strerror(errno))
            let what: String
            switch UInt32(step) {
            case CPP_PRIV_BOUNDING_SET.rawValue: what = "emptying the capability bounding set"
            case CPP_PRIV_SETGROUPS.rawValue: what = "dropping supplementary groups (setgroups)"
            case CPP_PRIV_SETGID.rawValue: what = "setgid \(account.gid)"
            case CPP_PRIV_SETUID.rawValue: what = "setuid \(account.uid)"
            case CPP_PRIV_STILL_ROOT.rawValue: what = "leaving root for good"
            case CPP_PRIV_CAPABILITIES.rawValue: what = "dropping capabilities"
            default: what = "setting PR_SET_NO_NEW_PRIVS"
            }
            throw .environment("cannot give up privileges (\(what): \(why)); refusing to serve with them")
        }
        if root { return "running as \(account), no capabilities" }
        return "running as uid \(getuid()), no capabilities"
    }

    private static func lookup(name: String) -> Identity? {
        var pw = Glibc.passwd()
        var result: UnsafeMutablePointer<Glibc.passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwnam_r(name, &pw, &buffer, buffer.count, &result) == 0, let r = result else { return nil }
        return Identity(name: name, uid: r.pointee.pw_uid, gid: r.pointee.pw_gid)
    }

    private static func lookup(uid: UInt32) -> Identity? {
        var pw = Glibc.passwd()
        var result: UnsafeMutablePointer<Glibc.passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwuid_r(uid, &pw, &buffer, buffer.count, &result) == 0, let r = result else { return nil }
        return Identity(name: String(cString: r.pointee.pw_name), uid: r.pointee.pw_uid, gid: r.pointee.pw_gid)
    }
}

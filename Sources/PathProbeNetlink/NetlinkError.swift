import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// Errors from the local inventory and route lookups; `description` is one line for the user.
public enum NetlinkError: Error, Equatable, CustomStringConvertible {
    /// An interface name that does not exist in this network namespace.
    case unknownInterface(String)
    /// A host that is neither a literal address nor resolvable (or not in the requested family).
    /// The kernel has no route to the address (ENETUNREACH, EHOSTUNREACH...).
    case noRoute(IPAddress, reason: String)
    /// The operation needs privileges the caller lacks (flushing exceptions).
    case permissionDenied(String)
    /// Anything else: the call that failed and why.
    case system(String, reason: String)

    public var description: String {
        switch self {
        case let .unknownInterface(name): return "unknown interface '\(name)'"
        case let .noRoute(address, reason): return "no route to \(address): \(reason)"
        case let .permissionDenied(what): return what
        case let .system(call, reason): return "\(call) failed: \(reason)"
        }
    }

    static func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

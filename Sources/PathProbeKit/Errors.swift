import PathProbeCore
import PathProbeEngine
import PathProbeNetlink

/// Every failure that leaves PathProbeKit is a `PathProbeError`: bad input (exit 2) or the
/// environment (exit 3, saying what is missing). This is the one place other errors are sorted.
extension PathProbeError {
    public static func from(_ error: any Error) -> PathProbeError {
        switch error {
        case let e as PathProbeError: return e
        case let e as Resolver.ResolveError: return .usage(e.description)
        case let e as NetlinkError:
            switch e {
            case .unknownInterface, .noRoute: return .usage(e.description)
            case .permissionDenied, .system: return .environment(e.description)
            }
        case let e as SystemError: return .environment(e.description)
        default: return .usage("\(error)")
        }
    }
}

/// Runs `body`, turning whatever it throws into a `PathProbeError`.
func sorted<T>(_ body: () throws -> T) throws(PathProbeError) -> T {
    do { return try body() } catch { throw PathProbeError.from(error) }
}

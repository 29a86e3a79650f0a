import SystemPackage

/// The one place where an errno becomes text: results (`send failed: EMSGSIZE (message too long)`,
/// `connect: EHOSTUNREACH (no route to host)`) and error messages. The numbers come from the
/// platform through swift-system's `Errno`; nothing here hard-codes a Linux errno value.
public enum ErrnoNames {
    /// The errnos that appear in results, with their symbolic name and a short lowercase text.
    private static let known: [(errno: Errno, name: String, text: String)] = [
        (.notPermitted, "EPERM", "operation not permitted"),
        (.permissionDenied, "EACCES", "permission denied"),
        (.messageTooLong, "EMSGSIZE", "message too long"),
        (.networkUnreachable, "ENETUNREACH", "network unreachable"),
        (.noRouteToHost, "EHOSTUNREACH", "no route to host"),
        (.connectionRefused, "ECONNREFUSED", "connection refused"),
        (.connectionReset, "ECONNRESET", "connection reset by peer"),
        (.timedOut, "ETIMEDOUT", "connection timed out"),
        (.noBufferSpace, "ENOBUFS", "no buffer space"),
        (.tooManyOpenFiles, "EMFILE", "too many open files"),
        (.addressInUse, "EADDRINUSE", "address already in use"),
        (.addressNotAvailable, "EADDRNOTAVAIL", "address not available"),
    ]

    /// "ECONNREFUSED (connection refused)"; for an errno without a symbolic name here, "errno N (the
    /// system's text)".
    public static func describe(_ code: Int32) -> String {
        if let k = known.first(where: { $0.errno.rawValue == code }) { return "\(k.name) (\(k.text))" }
        return "errno \(code) (\(Errno(rawValue: code).description.lowercased()))"
    }

    /// The system's own text (strerror), as error messages print it: "Address already in use".
    public static func text(_ code: Int32) -> String { Errno(rawValue: code).description }
}

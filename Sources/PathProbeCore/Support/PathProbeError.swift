/// The one error type that reaches the command line. Its kind decides the exit status, so every
/// command exits the same way for the same kind of failure. An unreachable target is not an
/// error: it is a result (exit status 1, `ExitStatus.failed`).
public struct PathProbeError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Bad input: an option out of range, an unknown host or interface, an unreadable file.
        case usage
        /// This machine cannot run it: a missing privilege, a socket or system call that failed,
        /// output that could not be written. The message says what is missing.
        case environment
    }

    public var kind: Kind
    /// One line, without the "pathprobe: " prefix.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func usage(_ message: String) -> PathProbeError { PathProbeError(.usage, message) }
    public static func environment(_ message: String) -> PathProbeError { PathProbeError(.environment, message) }

    public var description: String { message }

    public var exitStatus: ExitStatus { kind == .usage ? .usage : .environment }
}

/// Exit statuses, the same for every command (documented in docs/ and in each command's --help).
public enum ExitStatus: Int32, Sendable {
    /// Measured; nothing breaks (for checks such as `rdp`), no regression (for `diff`).
    case ok = 0
    /// The target is unreachable, a check found something that breaks, or `diff` found a regression.
    case failed = 1
    /// Bad input.
    case usage = 2
    /// The environment: missing privilege, system failure, output not writable.
    case environment = 3
    /// Stopped by SIGINT / SIGTERM (bulk, serve, exporter), after writing what was finished.
    case interrupted = 130
    case terminated = 143
}

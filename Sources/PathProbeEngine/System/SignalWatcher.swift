import CPathProbe
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT / SIGTERM for every command that runs until stopped (bulk, serve, the exporter): the
/// handler only records the signal and writes to the attached event loop's eventfd (both
/// async-signal-safe), so the loop wakes at once, finishes its turn and ends its run; the command
/// then writes what it finished and exits 130 / 143. The handler resets itself (SA_RESETHAND),
/// so a second Ctrl-C ends the process at once.
public final class SignalWatcher: Sendable {
    private static let received = Atomic<Int32>(0)
    private static let wakeFD = Atomic<Int32>(-1)
    private let signals: [Int32]

    private init(signals: [Int32]) { self.signals = signals }

    /// Installs the handler for `signals` (and unblocks them: a parent may hand down a mask that
    /// blocks them). One watcher at a time per process.
    public static func install(_ signals: [Int32] = [SIGINT, SIGTERM]) -> SignalWatcher {
        received.store(0, ordering: .relaxed)
        for sig in signals {
            _ = cpp_install_signal(sig, { sig in
                SignalWatcher.received.store(sig, ordering: .relaxed)
                let fd = SignalWatcher.wakeFD.load(ordering: .relaxed)
                if fd >= 0 { cpp_eventfd_signal(fd) }
            }, 1)
        }
        return SignalWatcher(signals: signals)
    }

    /// Puts the default actions back.
    public func restore() {
        for sig in signals { signal(sig, SIG_DFL) }
    }

    /// The signal that asked to stop, 0 if none yet.
    public var received: Int32 { Self.received.load(ordering: .relaxed) }

    /// "SIGINT", "SIGTERM".
    public static func name(_ sig: Int32) -> String { sig == SIGINT ? "SIGINT" : (sig == SIGTERM ? "SIGTERM" : "signal \(sig)") }

    func attach(_ fd: Int32) { Self.wakeFD.store(fd, ordering: .relaxed) }

    func detach(_ fd: Int32) {
        _ = Self.wakeFD.compareExchange(expected: fd, desired: -1, ordering: .relaxed)
    }
}

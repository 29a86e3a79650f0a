import CPathProbe
import PathProbeCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, and the typed errno. The CLI reports it as an environment
/// failure (`PathProbeError.environment`, exit status 3): the machine could not do it, the input
/// was fine.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The call and what it was about: "bind 0.0.0.0:33433", "socket(UDP)".
    public let call: String
    public let errno: Errno

    public init(_ call: String, _ errno: Errno) {
        self.call = call
        self.errno = errno
    }

    public init(_ call: String, _ code: Int32) { self.init(call, Errno(rawValue: code)) }

    /// "bind 0.0.0.0:33433: Address already in use"
    public var description: String { "\(call): \(errno.description)" }

    /// The same failure in the error model every command reports.
    public var pathProbeError: PathProbeError { .environment(description) }
}

/// The one way PathProbeEngine makes a system call (after swift-nio's `syscall(blocking:where:)`):
///
/// - EINTR is retried (a signal arrived; SIGINT and SIGTERM only set a flag, see `SignalWatcher`);
/// - EAGAIN / EWOULDBLOCK is a value (`nil`) where the call may block (`nonBlocking`);
/// - any other failure throws a `SystemError` with the call's name and the typed errno; the name
///   is an autoclosure, so the success path builds no string, and the throw is typed, so it
///   allocates no existential box: the hot path (sendmmsg / recvmmsg) goes through here too;
/// - EBADF and EFAULT are programmer errors (a closed descriptor, a bad buffer): they trap.
enum Syscall {
    /// Runs a libc call that returns -1 and sets errno on failure.
    @inline(__always)
    static func run<T: FixedWidthInteger>(_ call: @autoclosure () -> String, _ body: () -> T) throws(SystemError) -> T {
        while true {
            let result = body()
            if result != -1 { return result }
            let e = Errno(rawValue: Glibc.errno)
            if e == .interrupted { continue }
            throw failure(call(), e)
        }
    }

    /// Like `run`, for a call on a non-blocking descriptor: nil when it would block.
    @inline(__always)
    static func nonBlocking<T: FixedWidthInteger>(_ call: @autoclosure () -> String, _ body: () -> T) throws(SystemError) -> T? {
        while true {
            let result = body()
            if result != -1 { return result }
            let e = Errno(rawValue: Glibc.errno)
            if e == .interrupted { continue }
            if e == .wouldBlock || e == .resourceTemporarilyUnavailable { return nil }
            throw failure(call(), e)
        }
    }

    @inline(never)
    private static func failure(_ call: String, _ e: Errno) -> SystemError {
        precondition(e != .badFileDescriptor && e != .badAddress, "\(call): \(e) (a bug in pathprobe)")
        return SystemError(call, e)
    }

    /// errno of the last failed call, typed (for calls whose failure is an answer, not an error:
    /// connect's EINPROGRESS, a socket kind that cannot be opened).
    static var lastErrno: Errno { Errno(rawValue: Glibc.errno) }
}

/// Socket helpers shared by the probe kinds, stream probes and the responder.
enum Sockets {
    /// A non-blocking, close-on-exec socket.
    static func open(_ family: AddressFamily, _ type: __socket_type, _ proto: Int32 = 0, _ what: @autoclosure () -> String) throws(SystemError) -> Int32 {
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        return try Syscall.run(what()) {
            socket(domain, Int32(type.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), proto)
        }
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SystemError) {
        var v = value
        _ = try Syscall.run("setsockopt(\(level), \(name))") { setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) }
    }

    static func getOption(_ fd: Int32, _ level: Int32, _ name: Int32) throws(SystemError) -> Int32 {
        var v: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try Syscall.run("getsockopt(\(level), \(name))") { getsockopt(fd, level, name, &v, &length) }
        return v
    }

    /// ICMP errors about what this socket sent arrive on its error queue (IP_RECVERR / IPV6_RECVERR).
    static func enableErrorQueue(_ fd: Int32, _ family: AddressFamily) throws(SystemError) {
        if family == .ipv4 {
            try setOption(fd, Int32(IPPROTO_IP), cpp_IP_RECVERR, 1)
        } else {
            try setOption(fd, Int32(IPPROTO_IPV6), cpp_IPV6_RECVERR, 1)
        }
    }

    /// Not `allowed`: DF on every packet, ignoring the PMTU the kernel cached for the destination
    /// (IP_PMTUDISC_PROBE), for size probes and DF replies. `allowed`: no DF, the local stack
    /// fragments (IPv6 into 1280-byte fragments, which fit any IPv6 path).
    static func setFragmentation(_ fd: Int32, _ family: AddressFamily, allowed: Bool) throws(SystemError) {
        if family == .ipv4 {
            try setOption(fd, Int32(IPPROTO_IP), cpp_IP_MTU_DISCOVER, allowed ? Int32(IP_PMTUDISC_DONT) : cpp_IP_PMTUDISC_PROBE)
        } else {
            try setOption(fd, Int32(IPPROTO_IPV6), cpp_IPV6_MTU_DISCOVER, allowed ? Int32(IPV6_PMTUDISC_DONT) : cpp_IPV6_PMTUDISC_PROBE)
            try setOption(fd, Int32(IPPROTO_IPV6), Int32(IPV6_MTU), allowed ? 1280 : 0)
        }
    }

    /// TCP with DF on every segment (IP_PMTUDISC_DO / IPV6_PMTUDISC_DO). Not PROBE: for TCP over
    /// IPv4 the kernel sends segments without DF under PROBE, and routers would fragment them.
    static func setDontFragment(_ fd: Int32, _ family: AddressFamily) throws(SystemError) {
        if family == .ipv4 {
            try setOption(fd, Int32(IPPROTO_IP), cpp_IP_MTU_DISCOVER, Int32(IP_PMTUDISC_DO))
        } else {
            try setOption(fd, Int32(IPPROTO_IPV6), cpp_IPV6_MTU_DISCOVER, Int32(IPV6_PMTUDISC_DO))
        }
    }

    /// Large buffers so a burst of answers for thousands of probes is not dropped by the kernel.
    static func enlargeBuffers(_ fd: Int32, bytes: Int32) {
        if (try? setOption(fd, SOL_SOCKET, cpp_SO_RCVBUFFORCE, bytes)) == nil {
            try? setOption(fd, SOL_SOCKET, SO_RCVBUF, bytes)
        }
        if (try? setOption(fd, SOL_SOCKET, cpp_SO_SNDBUFFORCE, bytes)) == nil {
            try? setOption(fd, SOL_SOCKET, SO_SNDBUF, bytes)
        }
    }

    /// Send through this interface only (SO_BINDTODEVICE).
    static func bind(_ fd: Int32, toDevice name: String) throws(SystemError) {
        _ = try Syscall.run("SO_BINDTODEVICE \(name)") {
            name.withCString { setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, $0, socklen_t(strlen($0) + 1)) }
        }
    }

    static func bind(_ fd: Int32, _ address: IPAddress, port: UInt16) throws(SystemError) {
        var sa = SocketAddress.make(address, port: port)
        let where_ = address.family == .ipv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
        _ = try Syscall.run("bind \(where_)") {
            withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, SocketAddress.length(address.family)) }
            }
        }
    }

    /// The local address and port a socket is bound to.
    static func localAddress(_ fd: Int32) throws(SystemError) -> (IPAddress, UInt16) {
        var local = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try Syscall.run("getsockname") {
            withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        }
        guard let parsed = SocketAddress.parse(local) else { throw SystemError("getsockname", .addressFamilyNotSupported) }
        return parsed
    }
}

/// Process limits.
public enum ResourceLimits {
    /// Raises the soft limit on open descriptors to the hard limit (many stream probes at once);
    /// returns the soft limit in force afterwards.
    @discardableResult
    public static func raiseOpenFiles() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur > rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }
}

/// Network namespaces made with `ip netns add` (benchmarks and tests probe inside a lab this way).
public enum NetworkNamespace {
    /// Moves the calling thread into /var/run/netns/NAME; sockets it opens afterwards live there.
    public static func enter(_ name: String) throws(SystemError) {
        _ = try Syscall.run("setns(\(name))") { cpp_enter_netns(name) }
    }
}

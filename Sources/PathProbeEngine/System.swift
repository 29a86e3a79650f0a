import CPathProbe
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call and errno.
public struct SystemError: Error, CustomStringConvertible {
    public let call: String
    public let errno: Int32
    public init(_ call: String, _ errno: Int32) {
        self.call = call
        self.errno = errno
    }
    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

enum System {
    static func now() -> Nanoseconds { cpp_monotonic_ns() }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws {
        var v = value
        if setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw SystemError("setsockopt(\(level), \(name))", errno)
        }
    }

    /// ICMP errors about what this socket sent arrive on its error queue (IP_RECVERR / IPV6_RECVERR).
    static func enableErrorQueue(_ fd: Int32, _ family: AddressFamily) throws {
        if family == .ipv4 {
            try setOption(fd, Int32(IPPROTO_IP), cpp_IP_RECVERR, 1)
        } else {
            try setOption(fd, Int32(IPPROTO_IPV6), cpp_IPV6_RECVERR, 1)
        }
    }

    /// Not `allowed`: DF on every packet, ignoring the PMTU the kernel cached for the destination
    /// (IP_PMTUDISC_PROBE), for size probes and DF replies. `allowed`: no DF, the local stack
    /// fragments (IPv6 into 1280-byte fragments, which fit any IPv6 path).
    static func setFragmentation(_ fd: Int32, _ family: AddressFamily, allowed: Bool) throws {
        if family == .ipv4 {
            try setOption(fd, Int32(IPPROTO_IP), cpp_IP_MTU_DISCOVER, allowed ? Int32(IP_PMTUDISC_DONT) : cpp_IP_PMTUDISC_PROBE)
        } else {
            try setOption(fd, Int32(IPPROTO_IPV6), cpp_IPV6_MTU_DISCOVER, allowed ? Int32(IPV6_PMTUDISC_DONT) : cpp_IPV6_PMTUDISC_PROBE)
            try setOption(fd, Int32(IPPROTO_IPV6), Int32(IPV6_MTU), allowed ? 1280 : 0)
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
}

/// sockaddr conversions. Public API speaks `IPAddress`; sockaddr stays inside the engine.
enum SocketAddress {
    static func make(_ address: IPAddress, port: UInt16) -> sockaddr_storage {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
            switch address.family {
            case .ipv4:
                var sin = sockaddr_in()
                sin.sin_family = sa_family_t(AF_INET)
                sin.sin_port = port.bigEndian
                sin.sin_addr.s_addr = address.ipv4Value.bigEndian
                withUnsafeBytes(of: &sin) { raw.copyMemory(from: $0) }
            case .ipv6:
                var sin6 = sockaddr_in6()
                sin6.sin6_family = sa_family_t(AF_INET6)
                sin6.sin6_port = port.bigEndian
                let b = address.bytes
                withUnsafeMutableBytes(of: &sin6.sin6_addr) { dst in
                    for i in 0..<16 { dst[i] = b[i] }
                }
                withUnsafeBytes(of: &sin6) { raw.copyMemory(from: $0) }
            }
        }
        return storage
    }

    static func length(_ family: AddressFamily) -> socklen_t {
        socklen_t(family == .ipv4 ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
    }

    /// Address and port from a sockaddr; nil for other families or a short buffer.
    static func parse(_ p: UnsafeRawPointer, length: Int) -> (IPAddress, UInt16)? {
        guard length >= MemoryLayout<sa_family_t>.size else { return nil }
        let family = Int32(p.loadUnaligned(as: sa_family_t.self))
        if family == AF_INET, length >= MemoryLayout<sockaddr_in>.size {
            let sin = p.loadUnaligned(as: sockaddr_in.self)
            return (IPAddress(ipv4: UInt32(bigEndian: sin.sin_addr.s_addr)), UInt16(bigEndian: sin.sin_port))
        }
        if family == AF_INET6, length >= MemoryLayout<sockaddr_in6>.size {
            let sin6 = p.loadUnaligned(as: sockaddr_in6.self)
            let a = withUnsafeBytes(of: sin6.sin6_addr) { IPAddress(bytes: $0) }
            guard var addr = a else { return nil }
            // An IPv4-mapped IPv6 address is the IPv4 address.
            if addr.high == 0, addr.low >> 32 == 0xffff { addr = IPAddress(ipv4: UInt32(truncatingIfNeeded: addr.low)) }
            return (addr, UInt16(bigEndian: sin6.sin6_port))
        }
        return nil
    }

    static func parse(_ storage: sockaddr_storage) -> (IPAddress, UInt16)? {
        withUnsafeBytes(of: storage) { parse($0.baseAddress!, length: $0.count) }
    }
}

/// Network namespaces made with `ip netns add` (benchmarks and tests probe inside a lab this way).
public enum NetworkNamespace {
    /// Moves the calling thread into /var/run/netns/NAME; sockets it opens afterwards live there.
    public static func enter(_ name: String) throws {
        if cpp_enter_netns(name) != 0 { throw SystemError("setns(\(name))", errno) }
    }
}

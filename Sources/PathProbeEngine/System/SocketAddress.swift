import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

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

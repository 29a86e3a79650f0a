import CPathProbe
import PathProbeCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// ICMP / ICMPv6 echo requests (`ProbeKind.icmpEcho`) over a ping socket (unprivileged where
/// net.ipv4.ping_group_range allows; the kernel picks the identifier and filters replies for us)
/// or a raw socket (root or CAP_NET_RAW; our own identifier, an ICMP filter, the IPv4 checksum).
/// The ICMP sequence is the engine's slot, the probe header in the payload carries the token.
final class ICMPEchoProbe: DatagramProbeKind {
    static let name = "icmp-echo"
    let fd: Int32
    let family: AddressFamily
    let raw: Bool
    /// Echo identifier for raw sockets (ping sockets get theirs from the kernel and filter for us).
    let identifier: UInt16

    private init(fd: Int32, family: AddressFamily, raw: Bool) {
        self.fd = fd
        self.family = family
        self.raw = raw
        identifier = UInt16(truncatingIfNeeded: getpid()) ^ UInt16.random(in: 0...0xffff)
    }

    static func carries(_ request: ProbeRequest) -> Bool {
        if case .icmpEcho = request.kind { return true }
        return false
    }

    var socketName: String { raw ? "raw" : "ping" }

    static func open(_ family: AddressFamily, options: EngineOptions) throws(PathProbeError) -> ICMPEchoProbe {
        let proto = Int32(family == .ipv4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)
        var pingErrno = Errno(rawValue: 0)
        var rawErrno = Errno(rawValue: 0)
        var probe: ICMPEchoProbe? = nil
        if options.icmpSocket != .raw {
            do { probe = ICMPEchoProbe(fd: try Sockets.open(family, SOCK_DGRAM, proto, "socket(ping)"), family: family, raw: false) }
            catch { pingErrno = error.errno }
        }
        if probe == nil && options.icmpSocket != .ping {
            do { probe = ICMPEchoProbe(fd: try Sockets.open(family, SOCK_RAW, proto, "socket(raw ICMP)"), family: family, raw: true) }
            catch { rawErrno = error.errno }
        }
        guard let probe else {
            throw Self.unavailable(family: family, preference: options.icmpSocket, ping: pingErrno, raw: rawErrno)
        }
        do {
            try ProbeSocket.configure(probe.fd, family)
            if probe.raw {
                // Errors arrive on the error queue; the normal queue only needs echo replies.
                if family == .ipv4 {
                    _ = cpp_set_icmp_filter(probe.fd, 1 << UInt32(ICMPPacket.echoReplyV4))
                } else {
                    var types: [UInt8] = [ICMPPacket.echoReplyV6]
                    _ = cpp_set_icmp6_filter(probe.fd, &types, 1)
                }
            }
        } catch {
            close(probe.fd)
            throw error.pathProbeError
        }
        return probe
    }

    /// Neither socket could be opened: says exactly what is missing.
    static func unavailable(family: AddressFamily, preference: ICMPSocketPreference, ping: Errno, raw: Errno) -> PathProbeError {
        let icmp = family == .ipv4 ? "ICMP" : "ICMPv6"
        var parts: [String] = []
        if preference != .raw {
            parts.append(ping == .permissionDenied || ping == .notPermitted
                ? "ping sockets are closed to group \(getegid()) (net.ipv4.ping_group_range = \"\(pingGroupRange() ?? "unknown")\"; open them with: sysctl -w net.ipv4.ping_group_range=\"0 2147483647\")"
                : "ping sockets failed: \(ping.description)")
        }
        if preference != .ping {
            parts.append(raw == .notPermitted || raw == .permissionDenied
                ? "raw sockets need root or CAP_NET_RAW (setcap cap_net_raw+ep on the binary)"
                : "raw sockets failed: \(raw.description)")
        }
        return .environment("cannot open \(icmp) sockets: " + parts.joined(separator: ", and ") + "; or probe with --protocol udp")
    }

    static func pingGroupRange() -> String? {
        guard let f = fopen("/proc/sys/net/ipv4/ping_group_range", "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 64)
        guard fgets(&buf, 64, f) != nil else { return nil }
        let s = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
    }

    func stage(_ request: ProbeRequest, slot: Int32, token: UInt32, into buffer: UnsafeMutableRawPointer,
               capacity: Int) -> StagedPacket {
        let v4 = family == .ipv4
        buffer.storeBytes(of: v4 ? ICMPPacket.echoRequestV4 : ICMPPacket.echoRequestV6, toByteOffset: 0, as: UInt8.self)
        buffer.storeBytes(of: 0, toByteOffset: 1, as: UInt8.self)
        buffer.storeBytes(of: 0, toByteOffset: 2, as: UInt16.self)
        buffer.storeBytes(of: identifier.bigEndian, toByteOffset: 4, as: UInt16.self)
        buffer.storeBytes(of: UInt16(truncatingIfNeeded: slot).bigEndian, toByteOffset: 6, as: UInt16.self)
        ProbeHeader.write(token: token, size: request.size, ttl: request.ttl, to: buffer + 8)
        if raw && v4 {
            // The rest of the buffer is zero, so the checksum only needs the headers.
            let sum = InternetChecksum.compute(UnsafeRawBufferPointer(start: buffer, count: 8 + ProbeHeader.size))
            buffer.storeBytes(of: sum.bigEndian, toByteOffset: 2, as: UInt16.self)
        }
        let length = min(capacity, max(request.size - family.ipHeaderSize, 8 + ProbeHeader.size))
        return StagedPacket(length: length, port: 0, dirty: 0)
    }

    func parseAnswer(_ data: UnsafeRawBufferPointer, info: cpp_msg_info, source: IPAddress, sourcePort: UInt16,
                     time: Nanoseconds) -> ProbeArrival? {
        guard let echo = ICMPPacket.parseEcho(data, withIPv4Header: raw && family == .ipv4) else { return nil }
        guard echo.type == (family == .ipv4 ? ICMPPacket.echoReplyV4 : ICMPPacket.echoReplyV6) else { return nil }
        if raw && echo.identifier != identifier { return nil }  // someone else's ping
        let ttl = echo.ipTTL ?? Int(info.ttl)
        return ProbeArrival(outcome: .echoReply(from: source, ttl: ttl), token: echo.token, sequence: echo.sequence,
                            probed: source, probedPort: 0, ttl: ttl, time: time)
    }

    /// The quote starts at our echo request's ICMP header.
    func parseQuote(_ data: UnsafeRawBufferPointer, port: UInt16) -> QuotedProbe? {
        guard data.count >= 8, data[0] == (family == .ipv4 ? ICMPPacket.echoRequestV4 : ICMPPacket.echoRequestV6) else { return nil }
        if raw && UInt16(data[4]) << 8 | UInt16(data[5]) != identifier { return nil }
        return QuotedProbe(token: ProbeHeader.token(in: UnsafeRawBufferPointer(rebasing: data[8...])),
                           sequence: UInt16(data[6]) << 8 | UInt16(data[7]), port: port)
    }
}

import CPathProbe
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// UDP datagrams with DF (`ProbeKind.udp`, `fragmentable` false), unprivileged: answered by a UDP
/// reply (a service, `pathprobe serve`) or an ICMP error about the quoted probe. pathprobe's own
/// payload carries the token in its probe header; a service's request (`ProbeRequest.payload`:
/// DNS, IKE...) carries none, so its answers are matched by address and port (the flow table).
class UDPProbe: DatagramProbeKind {
    class var name: String { "udp" }
    let fd: Int32
    let family: AddressFamily
    /// Probes in flight by destination address and port, for answers without a token.
    private var flows: [Flow: Int32] = [:]

    private struct Flow: Hashable {
        let address: IPAddress
        let port: UInt16
    }

    required init(fd: Int32, family: AddressFamily) {
        self.fd = fd
        self.family = family
    }

    class func carries(_ request: ProbeRequest) -> Bool {
        if case .udp = request.kind { return !request.fragmentable }
        return false
    }

    var socketName: String { "udp" }

    /// Whether datagrams may be fragmented (no DF).
    class var fragmentable: Bool { false }

    static func open(_ family: AddressFamily, options: EngineOptions) throws(PathProbeError) -> Self {
        let fd: Int32
        do { fd = try Sockets.open(family, SOCK_DGRAM, 0, "socket(UDP)") } catch { throw error.pathProbeError }
        do {
            if family == .ipv6 { try Sockets.setOption(fd, Int32(IPPROTO_IPV6), cpp_IPV6_V6ONLY, 1) }
            try ProbeSocket.configure(fd, family)
            if fragmentable { try Sockets.setFragmentation(fd, family, allowed: true) }
        } catch {
            close(fd)
            throw error.pathProbeError
        }
        return Self(fd: fd, family: family)
    }

    func stage(_ request: ProbeRequest, slot: Int32, token: UInt32, into buffer: UnsafeMutableRawPointer,
               capacity: Int) -> StagedPacket {
        let port = request.kind.port ?? 0
        guard let payload = request.payload else {
            ProbeHeader.write(token: token, size: request.size, ttl: request.ttl, to: buffer)
            let length = min(capacity, max(request.size - family.ipHeaderSize - 8, ProbeHeader.size))
            return StagedPacket(length: length, port: port, dirty: 0)
        }
        let length = min(payload.count, capacity)
        if length > 0 { payload.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: length) } }
        if ProbeHeader.token(in: UnsafeRawBufferPointer(start: buffer, count: length)) != nil {
            buffer.storeBytes(of: token.bigEndian, toByteOffset: 4, as: UInt32.self)
        }
        return StagedPacket(length: length, port: port, dirty: length)
    }

    func parseAnswer(_ data: UnsafeRawBufferPointer, info: cpp_msg_info, source: IPAddress, sourcePort: UInt16,
                     time: Nanoseconds) -> ProbeArrival? {
        ProbeArrival(outcome: .udpReply(from: source, payload: Array(data.prefix(512))), token: ProbeHeader.token(in: data),
                     sequence: nil, probed: source, probedPort: sourcePort, ttl: Int(info.ttl), time: time)
    }

    /// The quote is our UDP payload; the port is msg_name's.
    func parseQuote(_ data: UnsafeRawBufferPointer, port: UInt16) -> QuotedProbe? {
        QuotedProbe(token: ProbeHeader.token(in: data), sequence: nil, port: port)
    }

    func slot(forUntokened arrival: ProbeArrival) -> Int32? { flows[Flow(address: arrival.probed, port: arrival.probedPort)] }

    func didSend(_ request: ProbeRequest, slot: Int32) {
        flows[Flow(address: request.destination, port: request.kind.port ?? 0)] = slot
    }

    func didComplete(_ request: ProbeRequest, slot: Int32) {
        let flow = Flow(address: request.destination, port: request.kind.port ?? 0)
        if flows[flow] == slot { flows[flow] = nil }
    }
}

/// UDP datagrams without DF (`ProbeRequest.fragmentable`): the local stack fragments them (IPv6
/// into 1280-byte fragments, which fit any IPv6 path). Its own socket, otherwise as `UDPProbe`.
final class FragmentableUDPProbe: UDPProbe {
    override class var name: String { "udp-fragmentable" }
    override class var fragmentable: Bool { true }

    override class func carries(_ request: ProbeRequest) -> Bool {
        if case .udp = request.kind { return request.fragmentable }
        return false
    }
}

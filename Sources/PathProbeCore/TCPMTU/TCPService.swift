/// The services the TCP path MTU measurement speaks, so every connection looks like an ordinary
/// client to the server and makes it answer with a flight larger than one segment.
public enum TCPService: String, Codable, Sendable, Equatable, CaseIterable {
    /// A TLS ClientHello; the answer is the server's certificate flight.
    case tls
    /// RDP's X.224 Connection Request, then (TLS selected) a TLS ClientHello.
    case rdp
    /// An HTTP/1.1 GET; the answer is the page (or the error page).
    case http
    /// `pathprobe serve`'s TCP format (`StreamResponderWire`).
    case pathprobe

    /// The service a port speaks by convention; TLS for any port not known otherwise (the TCP-only
    /// services this measurement is for are mostly TLS: RD Gateways, HTTPS, VPN portals).
    public static func forPort(_ port: UInt16) -> TCPService { known(port) ?? .tls }

    /// The service a well-known port speaks (nil: any other port, whatever it speaks).
    public static func known(_ port: UInt16) -> TCPService? {
        switch port {
        case 443, 8443: return .tls
        case 3389: return .rdp
        case 80, 8000, 8080: return .http
        case ResponderWire.defaultPort: return .pathprobe
        default: return nil
        }
    }
}

/// One connection's conversation with the service: what to write when, and how many bytes of the
/// server's answer belong to the flight (for RDP, what follows the Connection Confirm).
struct ServiceDialogue {
    enum Step: Equatable {
        case write([UInt8])
        case wait
        /// The server does not go on: the reason, for the result's notes.
        case failed(String)
    }

    let service: TCPService
    let host: String
    /// Exact size of the probe payload (the upload probe); nil: the natural size (a download trigger).
    let length: Int?
    /// Bytes the download trigger asks the responder for (`pathprobe` only).
    static let responderFlight = 16384
    /// The X.224 cookie's user name: what mstsc puts there is the user's name; any will do.
    static let rdpCookie = "pathprobe"

    /// Bytes written before the payload (the RDP Connection Request).
    private(set) var writtenBefore = 0
    private(set) var payloadWritten = false
    /// Bytes received after the payload left: the flight.
    private(set) var flightBytes = 0
    /// nil until the first answer bytes arrive; then whether they are the service's.
    private(set) var recognised: Bool? = nil
    private var pending: [UInt8] = []

    init(service: TCPService, host: String, length: Int?) {
        self.service = service
        self.host = host
        self.length = length
    }

    /// The bytes to write once connected.
    mutating func start(_ rng: inout SplitMix64) -> [UInt8] {
        if service == .rdp {
            let request = X224.connectionRequest(cookieName: Self.rdpCookie)
            writtenBefore = request.count
            return request
        }
        return payload(&rng)
    }

    /// An upload probe's message is this much longer than what is written: the server waits for the
    /// rest and never answers (no certificate flight to sign and send for a probe that only needs
    /// its segment acknowledged); the connection is closed once the acknowledgement is seen.
    static let unfinished = 256

    /// The payload: the probe (the first `length` bytes of a message `unfinished` bytes longer) or
    /// the trigger (a whole message, natural size).
    mutating func payload(_ rng: inout SplitMix64) -> [UInt8] {
        payloadWritten = true
        let whole = length.map { $0 + Self.unfinished } ?? 0
        let message: [UInt8]
        switch service {
        case .tls, .rdp:
            message = TLSClientHello.build(serverName: host, length: whole, random: &rng)
        case .http:
            message = HTTPProbeRequest.build(host: host, length: whole)
        case .pathprobe:
            message = length == nil ? StreamResponderWire.Request(op: .flight, value: Self.responderFlight).encode()
                                    : StreamResponderWire.Request(op: .segment, length: whole).encode()
        }
        return length.map { Array(message.prefix($0)) } ?? message
    }

    /// The shortest payload this service can be sized to (its exact-size probes start here).
    static func minimumPayload(_ service: TCPService, host: String) -> Int {
        switch service {
        case .tls, .rdp: return TLSClientHello.minimumLength(serverName: host)
        case .http: return HTTPProbeRequest.minimumLength(host: host)
        case .pathprobe: return StreamResponderWire.requestHeader
        }
    }

    mutating func received(_ bytes: [UInt8], _ rng: inout SplitMix64) -> Step {
        guard payloadWritten else { return negotiate(bytes, &rng) }
        flightBytes += bytes.count
        if recognised == nil {
            pending += bytes
            switch service {
            case .tls, .rdp:
                switch TLSClientHello.classify(pending) {
                case .needMore: return .wait
                case .serverHello: recognised = true
                case let .alert(_, description):
                    recognised = true
                    return .failed("the server answered with TLS alert \(description)")
                case .notTLS: recognised = false
                }
            case .http:
                if pending.count < 5 { return .wait }
                recognised = HTTPProbeRequest.isResponse(pending)
            case .pathprobe:
                if pending.count < StreamResponderWire.answerHeader { return .wait }
                recognised = StreamResponderWire.Answer(header: pending) != nil
            }
            pending = []
        }
        return .wait
    }

    /// RDP: wait for the Connection Confirm, then send the ClientHello if TLS was selected.
    private mutating func negotiate(_ bytes: [UInt8], _ rng: inout SplitMix64) -> Step {
        pending += bytes
        switch X224.parseConfirm(pending) {
        case .needMore:
            return .wait
        case let .notRDP(why):
            return .failed("not an RDP server: \(why)")
        case let .confirm(confirm, length):
            let rest = Array(pending.dropFirst(length))
            pending = []
            switch confirm {
            case let .selected(p, code, _):
                guard let p, p != .rdp, p != .rdstls else {
                    return .failed(p == .rdp ? "the RDP server selected standard RDP security (no TLS): no flight to measure with"
                                             : "the RDP server selected protocol \(code), not TLS")
                }
                let hello = payload(&rng)
                if !rest.isEmpty { _ = received(rest, &rng) }
                return .write(hello)
            case let .failure(code, raw):
                return .failed("RDP negotiation failed: \(code?.name ?? "code \(raw)")")
            case .legacy:
                return .failed("the RDP server answered without negotiation (standard RDP security): no flight to measure with")
            }
        }
    }
}

/// The finished `pathprobe mtu` measurement and its two renderings (JSON for programs, text for people).
/// The JSON schema is documented in README.md ("pathprobe mtu --json"); keep both in step.
public struct PathMTUResult: Sendable {
    public struct HopRef: Sendable, Equatable {
        public var ttl: Int
        public var address: IPAddress
        public init(ttl: Int, address: IPAddress) {
            self.ttl = ttl
            self.address = address
        }
    }

    public struct Hop: Sendable {
        public var ttl: Int
        public var address: IPAddress?
        public var name: String? = nil
        public var rttMs: Double?
        /// Largest packet known to reach this hop.
        public var mtu: Int?
        public var note: String?
    }

    /// What the user typed (host name or address).
    public var target: String = ""
    public var address: IPAddress
    public var family: AddressFamily
    public var protocolName = "icmp"
    public var port: Int? = nil
    /// Which socket carried the probes: "ping" (unprivileged ICMP), "raw" or "udp".
    public var socket: String? = nil
    public var reachable = false
    public var unreachableReason: String? = nil
    public var pathMTU: Int? = nil
    public var blackHole = false
    public var blackHoleHop: HopRef? = nil
    public var localMTU: Int? = nil
    public var interface: String? = nil
    public var maxProbed: Int = 0
    public var rttMs: Double? = nil
    public var hops: [Hop] = []
    public var packetTooBigs: [PathMTUMeasurement.PacketTooBig] = []
    public var probesSent = 0
    public var durationMs: Double = 0

    public init(address: IPAddress, family: AddressFamily) {
        self.address = address
        self.family = family
    }

    /// "measured", "unreachable", or "incomplete" (reachable, but the search could not finish).
    public var status: String { !reachable ? "unreachable" : (pathMTU == nil ? "incomplete" : "measured") }

    /// The MSS that fits the measured path (IPv4: MTU - 40, IPv6: MTU - 60).
    public var mss: Int? { pathMTU.map { family.mss(forMTU: $0) } }

    public var json: JSON {
        var fields: [(String, JSON)] = [
            ("target", .string(target)),
            ("address", .string(address.description)),
            ("family", .string(family.rawValue)),
            ("protocol", .string(protocolName)),
            ("port", .from(port)),
            ("socket", .from(socket)),
            ("status", .string(status)),
            ("path_mtu", .from(pathMTU)),
            ("mss", .from(mss)),
            ("black_hole", .bool(blackHole)),
            ("black_hole_hop", blackHoleHop.map { .object([("ttl", .int($0.ttl)), ("address", .string($0.address.description))]) } ?? .null),
            ("local_mtu", .from(localMTU)),
            ("interface", .from(interface)),
            ("max_probed", .int(maxProbed)),
            ("rtt_ms", .milliseconds(rttMs)),
            ("hops", .array(hops.map { h in
                .object([
                    ("ttl", .int(h.ttl)),
                    ("address", .from(h.address?.description)),
                    ("name", .from(h.name)),
                    ("rtt_ms", .milliseconds(h.rttMs)),
                    ("mtu", .from(h.mtu)),
                    ("note", .from(h.note)),
                ])
            })),
            ("ptb", .array(packetTooBigs.map { p in
                .object([("from", .string(p.from.description)), ("mtu", .int(p.mtu)), ("probe_size", .int(p.probeSize))])
            })),
            ("probes_sent", .int(probesSent)),
            ("duration_ms", .milliseconds(durationMs)),
        ]
        if let why = unreachableReason { fields.append(("error", .string(why))) }
        return .object(fields)
    }

    /// The one-line verdict that ends the text output.
    public func verdict(style: Style = Style(enabled: false)) -> String {
        guard reachable else {
            return style.red("\(target) (\(address)) is unreachable") + (unreachableReason.map { ": \($0)" } ?? "")
        }
        guard let mtu = pathMTU else { return style.yellow("path MTU could not be measured above --min") }
        var s = "path MTU \(style.bold(String(mtu))) bytes (MSS \(family.mss(forMTU: mtu)))"
        if blackHole {
            s += ", " + style.red("black hole")
            if let hop = blackHoleHop {
                s += ": packets above \(mtu) are dropped after hop \(hop.ttl) (\(hop.address)) with no ICMP"
            } else {
                s += ": packets above \(mtu) are dropped with no ICMP"
            }
        } else if mtu < maxProbed {
            s += ", below the local MTU \(localMTU ?? maxProbed)" + (packetTooBigs.isEmpty ? "" : " (ICMP packet-too-big received)")
        } else {
            s += style.green(", clean")
        }
        return s
    }

    public func text(style: Style = Style(enabled: false)) -> String {
        var out = "pathprobe mtu to \(target)"
        if target != address.description { out += " (\(address))" }
        out += ", \(protocolName)\(port.map { " port \($0)" } ?? "")"
        if let interface { out += ", via \(interface)" }
        if let localMTU { out += " mtu \(localMTU)" }
        out += "\n"
        if !hops.isEmpty {
            var table = TextTable([.init("hop", .right), .init("address"), .init("rtt ms", .right), .init("mtu", .right), .init("")])
            for h in hops {
                let addr = h.address.map { a in h.name.map { "\($0) (\(a))" } ?? a.description } ?? "*"
                var note = h.note ?? ""
                if let bh = blackHoleHop, bh.ttl == h.ttl { note = (note.isEmpty ? "" : note + " ") + "drops packets above \(pathMTU ?? 0)" }
                table.add([String(h.ttl), addr, h.rttMs.map { $0.formattedMilliseconds() } ?? "*", h.mtu.map(String.init) ?? "", note])
            }
            out += table.render(indent: "  ") { row, col, text in
                col == 4 && text.contains("drops") ? style.red(text) : text
            } + "\n"
        }
        out += verdict(style: style) + "\n"
        out += style.dim("\(probesSent) probes in \(durationMs.formattedMilliseconds()) ms") + "\n"
        return out
    }
}

import ArgumentParser
import PathProbeCore
import PathProbeEngine

/// Which ports and transports to check: shared by reach, profile and bulk.
struct PortOptions: ParsableArguments {
    @Option(help: "TCP ports: a list and ranges, e.g. 443,3389,2000-2499.")
    var tcp: String?

    @Option(help: "UDP ports: a list and ranges, e.g. 3391,3389,500.")
    var udp: String?

    @Flag(help: "Remote Desktop: TCP 443, 3389; UDP 3391, 3389.")
    var rdp = false
    @Flag(help: "IPsec / IKEv2: UDP 500, 4500.")
    var ipsec = false
    @Flag(help: "WireGuard: UDP 51820.")
    var wireguard = false
    @Flag(help: "OpenVPN: UDP and TCP 1194.")
    var openvpn = false

    @Flag(help: "Measure the UDP path both ways with `pathprobe serve` on the host (--responder=PORT: another port).")
    var responder = false

    @Option(name: .customLong("responder-port"), help: "The responder's port (implies --responder).")
    var responderPort: UInt16?

    func validate() throws {
        if responderPort == 0 { throw ValidationError("--responder-port must be between 1 and 65535") }
    }

    var presets: [ReachPreset] {
        var p: [ReachPreset] = []
        if rdp { p.append(.rdp) }
        if ipsec { p.append(.ipsec) }
        if wireguard { p.append(.wireguard) }
        if openvpn { p.append(.openvpn) }
        return p
    }

    /// The service the advisor should judge UDP by: the first preset given.
    var service: ReachPreset? { presets.first }

    /// The responder's port when one was asked for.
    var responderPortToUse: UInt16? { responder || responderPort != nil ? (responderPort ?? ResponderWire.defaultPort) : nil }

    /// The port lists (explicit lists and presets merged); throws UsageError for bad lists.
    func ports() throws -> (tcp: [UInt16], udp: [UInt16]) {
        do {
            return ReachPreset.combine(tcp: try tcp.map { try PortList.parse($0, flag: "--tcp") } ?? [],
                                       udp: try udp.map { try PortList.parse($0, flag: "--udp") } ?? [],
                                       presets: presets)
        } catch {
            throw UsageError("\(error)")
        }
    }

    var isEmpty: Bool { tcp == nil && udp == nil && presets.isEmpty && responderPortToUse == nil }
}

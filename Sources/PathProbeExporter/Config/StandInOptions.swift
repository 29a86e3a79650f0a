import ArgumentParser
import Foundation

// ---------------------------------------------------------------------------------------------------
// STAND-INS, TO BE REPLACED IN PHASE 2.
//
// The measurements' own Options types (one `ParsableArguments` per measurement, used by the CLI with
// @OptionGroup) are being written on another branch. Until they land, these stand-ins carry the
// command line's option names of today (`pathprobe mtu`, `reach`, `profile`; `rdp` from issue 11) so
// that the settings-to-arguments mechanism, its error lines and the config files written against
// it work now. Phase 2: make the real Options conform to `ProberOptions`, return them from
// `ProberKind.optionsType`, delete this file.
// ---------------------------------------------------------------------------------------------------

/// -4 / -6 (the CLI has the short names only; `--ipv4`/`--ipv6` make readable config keys).
struct StandInFamily: ParsableArguments {
    @Flag(name: [.customShort("4"), .customLong("ipv4")], help: "IPv4 only.") var ipv4 = false
    @Flag(name: [.customShort("6"), .customLong("ipv6")], help: "IPv6 only.") var ipv6 = false

    func validate() throws {
        if ipv4 && ipv6 { throw ValidationError("-4 and -6 cannot be used together") }
    }
}

enum StandInProbeProtocol: String, ExpressibleByArgument, CaseIterable { case icmp, udp }
enum StandInICMPSocket: String, ExpressibleByArgument, CaseIterable { case auto, ping, raw }

/// The path MTU measurement's settings (`pathprobe mtu`).
struct StandInPathMTU: ParsableArguments {
    @Option(name: [.customShort("P"), .customLong("protocol")], help: "icmp or udp.") var probeProtocol: StandInProbeProtocol = .icmp
    @Option(help: "UDP destination port.") var port: UInt16 = 33434
    @Option(help: "Smallest packet size, bytes.") var min: Int?
    @Option(help: "Largest packet size, bytes.") var max: Int?
    @Option(name: [.customShort("c"), .customLong("retries")], help: "Attempts before silence is a verdict.") var retries = 3
    @Option(help: "Probe rate limit, packets per second.") var rate: Double?
    @Option(name: [.customShort("i"), .customLong("interface")], help: "Egress interface.") var interface: String?
    @Option(name: .customLong("icmp-socket"), help: "auto, ping or raw.") var icmpSocket: StandInICMPSocket = .auto
    @Flag(name: .customLong("no-hops"), help: "No per-hop view.") var noHops = false

    func validate() throws {
        if port == 0 { throw ValidationError("--port must be between 1 and 65535") }
        if !(1...20).contains(retries) { throw ValidationError("--retries must be between 1 and 20") }
        if let rate, rate < 0 { throw ValidationError("--rate must not be negative") }
        for (flag, size) in [("--min", min), ("--max", max)] {
            if let size, !(68...65535).contains(size) { throw ValidationError("\(flag) \(size) is outside 68-65535") }
        }
        if let min, let max, min > max { throw ValidationError("--min \(min) is larger than --max \(max)") }
    }
}

/// Ports and presets (`pathprobe reach`, `profile`).
struct StandInPorts: ParsableArguments {
    @Option(help: "TCP ports: a list and ranges.") var tcp: String?
    @Option(help: "UDP ports: a list and ranges.") var udp: String?
    @Flag(help: "TCP 443, 3389; UDP 3391, 3389.") var rdp = false
    @Flag(help: "UDP 500, 4500.") var ipsec = false
    @Flag(help: "UDP 51820.") var wireguard = false
    @Flag(help: "UDP and TCP 1194.") var openvpn = false
    @Flag(help: "Measure UDP both ways with `pathprobe serve`.") var responder = false
    @Option(name: .customLong("responder-port"), help: "The responder's port.") var responderPort: UInt16?

    func validate() throws {
        for (flag, list) in [("--tcp", tcp), ("--udp", udp)] {
            guard let list else { continue }
            for item in list.split(separator: ",", omittingEmptySubsequences: false) {
                let bounds = item.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
                    .compactMap { UInt16($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
                guard bounds.count == (item.contains("-") ? 2 : 1), bounds[0] <= bounds[bounds.count - 1] else {
                    throw ValidationError("\(flag): '\(item)' is not a port (1-65535) or a range of ports")
                }
            }
        }
        if responderPort == 0 { throw ValidationError("--responder-port must be between 1 and 65535") }
    }

    var isEmpty: Bool { tcp == nil && udp == nil && !rdp && !ipsec && !wireguard && !openvpn && !responder && responderPort == nil }
}

struct StandInMTUOptions: ProberOptions {
    @OptionGroup var family: StandInFamily
    @OptionGroup var path: StandInPathMTU
    var sendsHopProbes: Bool { !path.noHops }
}

struct StandInReachOptions: ProberOptions {
    @OptionGroup var family: StandInFamily
    @OptionGroup var ports: StandInPorts
    @Option(name: [.customShort("c"), .customLong("retries")], help: "Probes per silent port.") var retries = 2
    @Option(help: "Probe rate limit, packets per second.") var rate: Double = 1000
    @Option(name: .customLong("path-mtu"), help: "Known path MTU.") var pathMTU: Int?
    @Option(name: [.customShort("i"), .customLong("interface")], help: "Egress interface.") var interface: String?
    var sendsHopProbes: Bool { false }

    func validate() throws {
        if ports.isEmpty { throw ValidationError("nothing to probe: give --tcp, --udp, a preset (--rdp, --ipsec, --wireguard, --openvpn) or --responder") }
        if !(1...10).contains(retries) { throw ValidationError("--retries must be between 1 and 10") }
        if rate < 0 { throw ValidationError("--rate must not be negative") }
        if let m = pathMTU, !(68...65535).contains(m) { throw ValidationError("--path-mtu must be between 68 and 65535") }
    }
}

struct StandInProfileOptions: ProberOptions {
    @OptionGroup var family: StandInFamily
    @OptionGroup var ports: StandInPorts
    @OptionGroup var path: StandInPathMTU
    var sendsHopProbes: Bool { !path.noHops }
}

struct StandInRDPOptions: ProberOptions {
    @OptionGroup var family: StandInFamily
    @Option(help: "Check through this RD Gateway.") var gateway: String?
    @Option(help: "The RDP port.") var port: UInt16 = 3389
    @Option(name: [.customShort("i"), .customLong("interface")], help: "Egress interface.") var interface: String?
    var sendsHopProbes: Bool { false }

    func validate() throws {
        if port == 0 { throw ValidationError("--port must be between 1 and 65535") }
    }
}

import ArgumentParser
import PathProbeCore
import PathProbeEngine

#if canImport(Glibc)
import Glibc
#endif

enum ProbeProtocol: String, ExpressibleByArgument, CaseIterable {
    case icmp, udp
}

extension ICMPSocketPreference: ExpressibleByArgument {}

/// Options shared by the commands that run the path MTU measurement (mtu, profile, bulk).
struct MTUProbeOptions: ParsableArguments {
    @Option(name: [.customShort("P"), .customLong("protocol")], help: "Probe with ICMP echo or UDP (answered by port unreachable).")
    var probeProtocol: ProbeProtocol = .icmp

    @Option(help: "UDP destination port (UDP mode; must be closed, or answered by `pathprobe serve`).")
    var port: UInt16 = 33434

    @Option(help: "Smallest packet size to consider, bytes (default 68 for IPv4, 1280 for IPv6).")
    var min: Int?

    @Option(help: "Largest packet size to try, bytes (default: the egress interface MTU).")
    var max: Int?

    @Option(help: "Longest wait for one answer, seconds.")
    var timeout: Double = 1.0

    @Option(name: [.customShort("c"), .customLong("retries")], help: "Attempts (count) before silence counts as a verdict.")
    var retries: Int = 3

    @Option(help: "Global probe rate limit, packets per second (0: unlimited; default 1000, bulk 50000).")
    var rate: Double?

    @Option(name: [.customShort("i"), .customLong("interface")], help: "Probe out of this interface only (e.g. a VPN tunnel).")
    var interface: String?

    @Option(name: .customLong("icmp-socket"), help: "ICMP socket kind: auto (ping socket, else raw), ping, raw.")
    var icmpSocket: ICMPSocketPreference = .auto

    func validate() throws {
        if timeout <= 0 || timeout > 60 { throw ValidationError("--timeout must be between 0 and 60 seconds") }
        if retries < 1 || retries > 20 { throw ValidationError("--retries must be between 1 and 20") }
        if let rate, rate < 0 { throw ValidationError("--rate must not be negative") }
        if port == 0 { throw ValidationError("--port must be between 1 and 65535") }
    }

    var kind: ProbeKind { probeProtocol == .udp ? .udp(port: port) : .icmpEcho }

    /// The single-target commands' default rate.
    var rateOrDefault: Double { rate ?? 1000 }

    /// Checks the size range for the family; `localMTU` is the default --max.
    func sizeRange(family: AddressFamily, localMTU: Int?) throws -> (min: Int, max: Int) {
        let floor = family.minimumMTU
        let lo = min ?? floor
        let hi = max ?? Swift.min(localMTU ?? 1500, 65535)
        let name = family == .ipv4 ? "IPv4" : "IPv6"
        for (flag, v) in [("--min", lo), ("--max", hi)] where v < floor || v > 65535 {
            throw UsageError("\(flag) \(v) is outside \(floor)-65535, the packet sizes \(name) allows")
        }
        if lo > hi { throw UsageError("--min \(lo) is larger than --max \(hi)") }
        return (lo, hi)
    }
}

struct MTUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mtu",
        abstract: "Exact path MTU to a host, per hop, also through PMTU black holes.",
        discussion: """
            Sends DF probes of chosen sizes (ICMP echo, or UDP to a closed port) and uses both the \
            packet-too-big messages routers send and, where those are dropped (a black hole), a \
            byte-exact search with probes that must be answered. TTL-limited probes give the per-hop \
            view and name the hop after which large packets vanish.

            Examples:
              pathprobe mtu 192.0.2.10
              pathprobe mtu -6 -n 2001:db8::10
              pathprobe mtu --protocol udp --port 33434 gw.example.net
              pathprobe mtu --json --max 9000 10.0.0.2
              pathprobe mtu -i wg0 10.8.0.1

            Exit status: 0 measured, 1 target unreachable, 2 bad input.
            """
    )

    @Argument(help: "Host name or address.")
    var host: String

    @OptionGroup var family: FamilyOptions
    @OptionGroup var probe: MTUProbeOptions
    @OptionGroup var output: OutputOptions

    @Flag(name: .customShort("n"), help: "Print addresses only (no reverse DNS).")
    var numeric = false

    @Flag(name: .customLong("no-hops"), help: "Skip the per-hop view (and black-hole localisation).")
    var noHops = false

    func run() throws {
        let result = try PathMTURunner.measure(host: host, family: family.family, probe: probe, traceHops: !noHops)
        var r = result
        if !numeric { PathMTURunner.addHopNames(&r) }
        if output.json {
            CLI.printOut(r.json.serialized(pretty: true))
        } else {
            CLI.printOut(r.text(style: CLI.style()))
        }
        if !r.reachable { throw ExitCode(1) }
    }
}

/// Turns command-line options into one path MTU measurement on the engine (shared with profile).
enum PathMTURunner {
    /// A measurement set up on an engine, with what the result needs besides it.
    struct Prepared {
        let host: String
        let measurement: PathMTUMeasurement
        let local: LocalPath
        let socket: String?
        let started = MonotonicClock.now()

        func result() -> PathMTUResult {
            var r = measurement.result
            r.durationMs = (MonotonicClock.now() - started).inMs
            r.target = host
            r.localMTU = local.mtu
            r.interface = local.interface
            r.socket = socket
            return r
        }
    }

    static func engineOptions(_ probe: MTUProbeOptions) -> EngineOptions {
        EngineOptions(rate: probe.rateOrDefault, icmpSocket: probe.icmpSocket, interface: probe.interface)
    }

    static func resolve(_ host: String, family: AddressFamily?) throws -> IPAddress {
        do { return try Resolver.resolve(host, family: family) } catch { throw UsageError("\(error)") }
    }

    /// Checks the options against the address and its route, opens the probe socket, and builds the measurement.
    static func prepare(host: String, address: IPAddress, probe: MTUProbeOptions, traceHops: Bool,
                        engine: ProbeEngine) throws -> Prepared {
        let local: LocalPath
        do { local = try LocalPath.lookup(to: address, interface: probe.interface) } catch { throw UsageError("\(error)") }
        let range = try probe.sizeRange(family: address.family, localMTU: local.mtu)
        do { try engine.prepare(family: address.family, kind: probe.kind) } catch { throw UsageError("\(error)") }
        var options = PathMTUOptions(destination: address, kind: probe.kind, minSize: range.min, maxSize: range.max)
        options.timeoutMs = probe.timeout * 1000
        options.retries = probe.retries
        options.traceHops = traceHops
        return Prepared(host: host, measurement: PathMTUMeasurement(options: options), local: local,
                        socket: engine.socketDescription(family: address.family, kind: probe.kind))
    }

    static func measure(host: String, family: AddressFamily?, probe: MTUProbeOptions, traceHops: Bool) throws -> PathMTUResult {
        let address = try resolve(host, family: family)
        let engine: ProbeEngine
        do { engine = try ProbeEngine(options: engineOptions(probe)) } catch { throw UsageError("\(error)") }
        let prepared = try prepare(host: host, address: address, probe: probe, traceHops: traceHops, engine: engine)
        engine.run(prepared.measurement)
        return prepared.result()
    }

    static func addHopNames(_ r: inout PathMTUResult) {
        let addresses = r.hops.compactMap(\.address)
        let names = Resolver.reverse(addresses)
        for i in r.hops.indices {
            if let a = r.hops[i].address, let n = names[a], n != a.description { r.hops[i].name = n }
        }
    }
}

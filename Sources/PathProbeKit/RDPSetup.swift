import PathProbeCore
import PathProbeEngine
import PathProbeNetlink
import PathProbeTLS

#if canImport(Glibc)
import Glibc
#endif

/// The Remote Desktop check of one target: the RDP check (negotiation, TLS, the gateway's
/// transports, RDP-UDP) and the TCP path MTU of the port that answered, as one measurement
/// (`RDPRun`) on the engine; `finish` makes the `rdp` document with the RDP advisor's findings and
/// recommendations. The one place `pathprobe rdp`, `profile --rdp`, `bulk --mode rdp` and the
/// exporter set the check up and finish it.
public final class RDPSetup {
    /// What the check is pointed at.
    public enum Role: Sendable {
        /// An RDP host (`pathprobe rdp HOST`).
        case host
        /// An RD Gateway (`pathprobe rdp --gateway GATEWAY [HOST]`).
        case gateway
        /// A target that may be either (profile, bulk): both at once.
        case hostAndGateway
    }

    /// The address checked (the RDP host's or the gateway's); `text` is the document's `target`.
    public let target: ProbeTarget
    /// The name TLS and HTTP use: SNI, the Host header, the certificate's name check.
    public let serverName: String
    /// Hand this to the engine.
    public let run: RDPRun
    /// The ICMP path MTU beside the check (`pathprobe rdp`), when an ICMP socket could be opened.
    let icmp: MTUSetup?
    let started = MonotonicClock.now()

    init(target: ProbeTarget, serverName: String, run: RDPRun, icmp: MTUSetup?) {
        self.target = target
        self.serverName = serverName
        self.run = run
        self.icmp = icmp
    }

    /// `engine`: open its UDP socket now (single targets); nil when the caller did (bulk).
    /// `serverName`: the name as the user wrote it (default: `target.text`). `budget`: seconds
    /// the whole check may take (the exporter's deadline): the check's waits are shortened to fit
    /// and it ends when the budget is spent. `icmp`: also the ICMP path MTU with its per-hop view
    /// (single targets: it needs an ICMP socket of `engine`; without one it is left out).
    public static func prepare(_ target: ProbeTarget, _ arguments: RDPArguments, probe: ProbeArguments, role: Role,
                               serverName: String? = nil, budget: Double? = nil, icmp: Bool = false,
                               engine: ProbeEngine? = nil) throws(PathProbeError) -> RDPSetup {
        let name = serverName ?? target.text
        if let engine, !arguments.noUDP { _ = try openSocket(engine, family: target.address.family, kind: .udp(port: 0)) }
        var probe = probe
        if let budget {
            // connect (1.5 x), two answers, the grace: the timeout that fits the budget.
            probe.timeout = min(probe.timeout, max(0.05, (budget - 0.3) / 3.5))
        }
        let endpoint = { (port: UInt16) in RDPEndpoint(name: name, address: target.address, port: port) }
        let checked: RDPCheck.Target
        switch role {
        case .host: checked = .direct(endpoint(arguments.tcpPort), udpPort: arguments.udpPortToUse)
        case .gateway: checked = .gateway(endpoint(arguments.tcpPort), udpPort: arguments.udpPortToUse)
        case .hostAndGateway:
            checked = .hostAndGateway(host: endpoint(arguments.port ?? RDPUDP.defaultPort), udpPort: arguments.udpPort ?? RDPUDP.defaultPort,
                                      gateway: endpoint(RDGateway.defaultPort), gatewayUDPPort: RDGateway.defaultUDPPort)
        }
        let seed = UInt64.random(in: 0...UInt64.max)
        let check = RDPCheck(target: checked, options: arguments.checkOptions(probe: probe, seed: seed),
                             tls: TLSClient.factory(referenceTime: Int64(time(nil))))
        let maxSize = min(target.egress.mtu ?? 1500, 65535)
        var icmpSetup: MTUSetup? = nil
        if icmp, !arguments.noMTU, let engine, let mtuArguments = try? MTUArguments.parse([]) {
            icmpSetup = try? MTUSetup.prepare(target, mtuArguments, probe: probe, traceHops: true, engine: engine)
        }
        let run = RDPRun(check: check, icmp: icmpSetup?.datagram, budget: budget.map { .fromMs($0 * 1000) }) { port, service in
            guard !arguments.noMTU else { return nil }
            var o = TCPPathMTUOptions(destination: target.address, port: port, service: service, serverName: name, maxSize: maxSize)
            o.timeoutMs = probe.timeoutMs
            o.seed = seed
            return TCPPathMTUMeasurement(options: o)
        }
        return RDPSetup(target: target, serverName: name, run: run, icmp: icmpSetup)
    }

    /// The `rdp` document. `local`: the egress side as the profile read it (interface, its MTU and
    /// kind, tcp_mtu_probing); nil: read here.
    public func finish(local: ProfileFacts? = nil) -> RDPReport {
        var report = RDPReport(address: target.address, check: run.check.result)
        if let icmp, icmp.measurement.isFinished { report.mtu = icmp.finish() }
        report.target = target.text
        report.line = target.line
        let path = run.pathMTU.map { RDPAdvisor.PathFacts($0.result) }
        report.path = path
        let advice = RDPAdvisor.advise(report, path: path, local: local ?? Self.localFacts(target), serverName: serverName)
        report.findings = advice.findings
        report.recommendations = advice.recommendations
        report.durationMs = (MonotonicClock.now() - started).inMs
        return report
    }

    /// What the recommendations need of the local side: the egress interface, its MTU and kind, and
    /// tcp_mtu_probing (read for the one interface; what cannot be read stays unknown).
    static func localFacts(_ target: ProbeTarget) -> ProfileFacts {
        var f = ProfileFacts(family: target.address.family)
        f.egressInterface = target.egress.interface
        f.egressMTU = target.egress.mtu
        guard let name = target.egress.interface, let inventory = try? LocalInventory.read(interfaces: [name]) else { return f }
        if let i = inventory.interfaces.first {
            f.egressKind = i.kind
            if target.address.family == .ipv6, let v6 = i.ipv6MTU { f.egressMTU = v6 }
        }
        f.tcpMTUProbing = inventory.sysctls[PMTUSysctls.tcpMTUProbing]
        return f
    }

    /// `pathprobe rdp HOST` / `pathprobe rdp --gateway GATEWAY [HOST]`: one target, checked.
    public static func measure(host: String?, family: AddressFamily?, _ arguments: RDPArguments,
                               probe: ProbeArguments) throws(PathProbeError) -> RDPReport {
        let role: Role = arguments.gateway == nil ? .host : .gateway
        guard let name = arguments.gateway ?? host else { throw .usage("give the RDP host, or --gateway GATEWAY") }
        let checked = try ProbeTarget.resolve(name, family: family, interface: probe.interface)
        let target = ProbeTarget(text: host ?? name, address: checked.address, egress: checked.egress)
        let engine = try makeEngine(probe)
        let setup = try prepare(target, arguments, probe: probe, role: role, serverName: name, icmp: true, engine: engine)
        engine.run(setup.run)
        return setup.finish()
    }
}

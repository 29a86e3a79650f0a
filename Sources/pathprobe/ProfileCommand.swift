import ArgumentParser
import Foundation
import PathProbeCore
import PathProbeEngine
import PathProbeNetlink

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "One report: local side, path MTU, ports, findings and the exact fixes.",
        discussion: """
            Reads the local side of the path (egress interface, tunnel, route, cached PMTU, offloads, \
            PMTU sysctls), measures the path MTU (through black holes) and, when ports are given, which \
            TCP and UDP ports get through, all on one event loop at once. Then the advisor turns the \
            measurements into findings and recommendations with the exact Linux and Windows commands: \
            interface-mtu, tcp-mss-clamp, tcp-mtu-probing, tcp-only. A clean path gets none.

            Save the JSON before and after a change and compare them with `pathprobe diff`.

            Examples:
              pathprobe profile 192.0.2.10
              pathprobe profile --rdp rdgw.example.net
              pathprobe profile --ipsec --responder vpn.example.net --json > before.json
              pathprobe profile --tcp 443 --udp 443 --markdown gw.example.net

            Exit status: 0 measured, 1 target unreachable, 2 bad input.
            """
    )

    @Argument(help: "Host name or address.")
    var host: String

    @OptionGroup var family: FamilyOptions
    @OptionGroup var ports: PortOptions
    @OptionGroup var probe: MTUProbeOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Print Markdown, for tickets and chat.")
    var markdown = false

    @Flag(name: .customShort("n"), help: "Print addresses only (no reverse DNS).")
    var numeric = false

    func validate() throws {
        if output.json && markdown { throw ValidationError("--json and --markdown cannot be used together") }
    }

    func run() throws {
        let started = Date()
        let clock = MonotonicClock.now()
        let address = try PathMTURunner.resolve(host, family: family.family)
        let local = ProfileRunner.readLocalSide(for: address, interface: probe.interface)

        let engine: ProbeEngine
        do { engine = try ProbeEngine(options: PathMTURunner.engineOptions(probe)) } catch { throw UsageError("\(error)") }
        let mtu = try PathMTURunner.prepare(host: host, address: address, probe: probe, traceHops: true, engine: engine)
        var session: ReachSession? = nil
        let portLists = try ports.ports()
        if !ports.isEmpty {
            var plan = ReachPlan(target: host, address: address)
            plan.tcpPorts = portLists.tcp
            plan.udpPorts = portLists.udp
            plan.timeoutMs = probe.timeout * 1000
            plan.rate = probe.rateOrDefault
            plan.interface = probe.interface
            plan.responderPort = ports.responderPortToUse
            do { session = try ReachSession(plan: plan, engine: engine) } catch { throw UsageError("\(error)") }
        }

        // The path MTU search and the port probes share the event loop.
        var queue = ([mtu.measurement] + (session?.measurements ?? []))[...]
        engine.run(concurrency: queue.count, next: { queue.popFirst() }, finished: { _ in })

        var mtuResult = mtu.result()
        if !numeric { PathMTURunner.addHopNames(&mtuResult) }
        let reach = session?.result(pathMTU: mtuResult.pathMTU)
        var report = ProfileReport(target: host, address: address, startedAt: ISO8601DateFormatter().string(from: started),
                                   version: PathProbeVersion.string, local: local, mtu: mtuResult, reach: reach,
                                   service: ports.service)
        report.durationMs = (MonotonicClock.now() - clock).inMs
        if output.json {
            CLI.printOut(report.json.serialized(pretty: true))
        } else if markdown {
            CLI.printOut(report.markdown)
        } else {
            CLI.printOut(report.text(style: CLI.style()))
        }
        if !mtuResult.reachable { throw ExitCode(1) }
    }
}

enum ProfileRunner {
    /// The egress interface (and its underlay, for a tunnel), the route with its cached PMTU, and the
    /// namespace's PMTU sysctls. Unprivileged; what cannot be read is said in `error`.
    static func readLocalSide(for address: IPAddress, interface: String?) -> ProfileReport.LocalSide {
        var route: RouteInfo? = nil
        do {
            route = try RouteLookup.lookup(address)
            return ProfileReport.LocalSide(inventory: try LocalInventory.read(), route: route, interface: interface)
        } catch {
            var side = ProfileReport.LocalSide()
            side.route = route
            side.error = "\(error)"
            return side
        }
    }
}

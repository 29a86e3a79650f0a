import PathProbeNetlink
import Testing
@testable import PathProbeCore
@testable import PathProbeKit

/// The RDP check's composition without a network: its options as the CLI (and the exporter) parse
/// them, the check prepared for each role, profile --rdp and bulk --mode rdp.
@Suite struct RDPKitTests {
    static let address = IPAddress("10.0.3.2")!
    static let target = ProbeTarget(text: "rdp.lab.test", address: address,
                                    egress: Egress(destination: address, source: IPAddress("10.0.1.1")!, interface: "eth0", mtu: 1500))

    @Test func optionsAndTheirDefaults() throws {
        let direct = try RDPArguments.parse([])
        #expect(direct.tcpPort == 3389 && direct.udpPortToUse == 3389)
        let gateway = try RDPArguments.parse(["--gateway", "rdgw.example.com"])
        #expect(gateway.tcpPort == 443 && gateway.udpPortToUse == 3391)
        let custom = try RDPArguments.parse(["--gateway", "gw", "--port", "8443", "--udp-port", "3393", "--no-udp", "--no-mtu", "--user", "alice"])
        #expect(custom.tcpPort == 8443 && custom.udpPortToUse == 3393 && custom.noUDP && custom.noMTU && custom.user == "alice")
        #expect(RDPArguments.defaults.gateway == nil)
        #expect(throws: (any Error).self) { try RDPArguments.parse(["--port", "0"]) }
        #expect(throws: (any Error).self) { try RDPArguments.parse(["--user", "a\r\nCookie: x"]) }

        let probe = try ProbeArguments.parse(["--timeout", "0.5", "-c", "3"])
        let o = custom.checkOptions(probe: probe, seed: 7)
        #expect(o.answerTimeout == .fromMs(500) && o.connectTimeout == .fromMs(750) && o.udpTimeout == .fromMs(300))
        #expect(o.udpAttempts == 3 && !o.probeUDP && o.cookieName == "alice" && o.seed == 7)
    }

    @Test func eachRoleChecksItsPorts() throws {
        let probe = try ProbeArguments.parse([])
        let host = try RDPSetup.prepare(Self.target, .defaults, probe: probe, role: .host)
        #expect(host.run.check.target == .direct(RDPEndpoint(name: "rdp.lab.test", address: Self.address, port: 3389), udpPort: 3389))
        #expect(host.serverName == "rdp.lab.test")
        let gw = try RDPSetup.prepare(Self.target, try RDPArguments.parse(["--gateway", "gw.lab.test"]), probe: probe, role: .gateway,
                                      serverName: "gw.lab.test")
        #expect(gw.run.check.target == .gateway(RDPEndpoint(name: "gw.lab.test", address: Self.address, port: 443), udpPort: 3391))
        let both = try RDPSetup.prepare(Self.target, .defaults, probe: probe, role: .hostAndGateway)
        #expect(both.run.check.target.host?.endpoint.port == 3389 && both.run.check.target.gateway?.endpoint.port == 443)
        #expect(both.run.check.target.gateway?.udpPort == 3391)

        // A budget (the exporter's deadline) shortens the waits to fit.
        let budgeted = try RDPSetup.prepare(Self.target, .defaults, probe: probe, role: .host, budget: 1.0)
        #expect(budgeted.run.check.options.answerTimeout.inMs.rounded() == 200)
        // Before it ran, finish still makes a document.
        let report = budgeted.finish()
        #expect(report.target == "rdp.lab.test" && report.rdp == nil && report.mtu == nil)
    }

    @Test func profileAndBulkCarryTheCheck() throws {
        let local = ProfileReport.LocalSide()
        let profile = try ProfileSetup.prepare(Self.target, try ProfileArguments.parse(["--rdp"]), local: local)
        #expect(profile.rdp?.run.check.target.gateway != nil, "profile --rdp: the target as host and as gateway")
        #expect(profile.measurements.contains { $0 is RDPRun })
        #expect(try ProfileSetup.prepare(Self.target, try ProfileArguments.parse(["--tcp", "443"]), local: local).rdp == nil)

        let mode = try BulkModeKind.rdp.make(try ProfileArguments.parse(["--timeout", "0.5"]), traceHops: false, sizesPerRound: nil)
        #expect(mode.name == "rdp")
        #expect(mode.probeKinds == [.udp(port: 0)])
        let job = try #require(try mode.makeMeasurement(for: BulkTarget(text: "127.0.0.1", line: 3, address: IPAddress("127.0.0.1")!),
                                                        egress: RouteLookup.Cache()) as? BulkJob)
        let run = try #require(job.measurement as? RDPRun)
        #expect(run.check.options.answerTimeout == .fromMs(500))
        guard case let .rdp(record) = job.record() else { Issue.record("an rdp record"); return }
        #expect(record.line == 3)
        #expect(mode.csvColumns.map(\.name).contains("tls.days_left"))
    }
}

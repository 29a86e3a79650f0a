import PathProbeNetlink
import Testing
@testable import PathProbeCore
@testable import PathProbeKit

/// `-P tcp` through Kit without a network: MTUSetup builds the TCP measurement from the same
/// options, bulk opens no socket for it and writes both directions in CSV, profile adds its TCP step
/// only when it measures with ICMP or UDP.
@Suite struct TCPMTUKitTests {
    static let address = IPAddress("10.0.3.2")!
    static func target(_ text: String = "10.0.3.2", mtu: Int = 1500) -> ProbeTarget {
        ProbeTarget(text: text, address: address, egress: Egress(destination: address, source: IPAddress("10.0.1.1")!, interface: "eth0", mtu: mtu))
    }

    @Test func mtuSetupBuildsTheTCPMeasurement() throws {
        let setup = try MTUSetup.prepare(Self.target("rdgw.example.net"), try MTUArguments.parse(["-P", "tcp", "--port", "3389"]),
                                         probe: try ProbeArguments.parse(["--timeout", "2"]), traceHops: true)
        let tcp = try #require(setup.tcp)
        #expect(setup.datagram == nil && setup.measurement === tcp.measurement)
        let o = tcp.measurement.options
        #expect(o.port == 3389 && o.resolvedService == .rdp && o.serverName == "rdgw.example.net" && o.maxSize == 1500 && o.timeoutMs == 2000)
        // An address is no server name (no SNI).
        let byAddress = try MTUSetup.prepare(Self.target(), try MTUArguments.parse(["-P", "tcp"]), probe: ProbeArguments.parse([]), traceHops: false)
        #expect(byAddress.tcp?.measurement.options.serverName == nil)
        #expect(TCPMTUSetup.serverName("[fd00:3::2]") == nil && TCPMTUSetup.serverName("gw") == "gw")
        // Not run: unreachable, with the document's envelope fields and the egress.
        let r = setup.finish()
        #expect(r.probeProtocol == .tcp && r.target == "rdgw.example.net" && r.interface == "eth0" && r.localMTU == 1500 && r.socket == "tcp")
    }

    @Test func bulkMTUOverTCP() throws {
        let mode = try BulkModeKind.mtu.make(try ProfileArguments.parse(["-P", "tcp", "--port", "80"]), traceHops: false, sizesPerRound: nil)
        #expect(mode.probeKinds.isEmpty, "plain TCP sockets: nothing to open before the first target")
        let names = mode.csvColumns.map(\.name)
        for key in ["path_mtu_up", "path_mtu_down", "black_hole_direction", "service", "connections"] { #expect(names.contains(key)) }
        let job = try #require(try mode.makeMeasurement(for: BulkTarget(text: "10.0.3.2", line: 1, address: Self.address), egress: RouteLookup.Cache()) as? BulkJob)
        #expect((job.measurement as? TCPPathMTUMeasurement)?.options.resolvedService == .http)
        let icmp = try BulkModeKind.mtu.make(try ProfileArguments.parse([]), traceHops: false, sizesPerRound: nil)
        #expect(!icmp.csvColumns.map(\.name).contains("path_mtu_up"))
    }

    @Test func profileAddsItsTCPStepOnlyAfterICMPOrUDP() throws {
        let withPorts = try ProfileSetup.prepare(Self.target(), try ProfileArguments.parse(["--rdp"]), local: ProfileReport.LocalSide())
        #expect(withPorts.measurements.first is FollowUpMeasurement)
        let noTCP = try ProfileSetup.prepare(Self.target(), try ProfileArguments.parse(["--udp", "53"]), local: ProfileReport.LocalSide())
        #expect(noTCP.measurements.first is PathMTUMeasurement)
        let tcp = try ProfileSetup.prepare(Self.target(), try ProfileArguments.parse(["-P", "tcp", "--tcp", "443"]), local: ProfileReport.LocalSide())
        #expect(tcp.measurements.first is TCPPathMTUMeasurement)
        #expect(tcp.tcp == nil && tcp.mtu.tcp != nil)
    }
}

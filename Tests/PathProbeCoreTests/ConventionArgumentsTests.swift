import ArgumentParser
import PathProbeCore
import Testing

/// The shared probe options answer to the short names of ping and fping (issue 14): `-W` for
/// --timeout, `-I` (and the older `-i`) for --interface.
struct ConventionArgumentsTests {
    @Test func timeoutAndInterfaceShortNames() throws {
        let short = try ProbeArguments.parse(["-W", "2.5", "-I", "wg0"])
        #expect(short.timeout == 2.5)
        #expect(short.interface == "wg0")
        let long = try ProbeArguments.parse(["--timeout", "0.5", "--interface", "eth0"])
        #expect(long.timeout == 0.5 && long.interface == "eth0")
        #expect(try ProbeArguments.parse(["-i", "tun0"]).interface == "tun0")
        #expect(try ProbeArguments.parse([]).timeout == 1.0)
        #expect(throws: (any Error).self) { try ProbeArguments.parse(["-W", "0"]) }
    }

    /// Composed types keep the names: profile, bulk and the exporter parse ProfileArguments.
    @Test func composedArgumentsKeepTheShortNames() throws {
        let p = try ProfileArguments.parse(["-W", "3", "-I", "lo", "-c", "2", "-P", "udp"])
        #expect(p.probe.timeout == 3 && p.probe.interface == "lo" && p.probe.retries == 2)
        #expect(p.mtu.probeProtocol == .udp)
    }
}

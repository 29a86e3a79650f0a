import Testing
@testable import PathProbeCore

/// Bulk's lean search (`PathMTUOptions.lean`): the same exact answers as the full search, with the
/// fewest probes - thousands of targets share one machine's packet rate.
@Suite struct PathMTULeanTests {
    func measure(_ path: SimulatedPath, lean: Bool, seed: UInt64 = 1) -> PathMTUResult {
        var options = PathMTUOptions(destination: path.destination, maxSize: 1500)
        options.traceHops = false
        options.forwardCheck = false
        options.parallelSizes = 4
        options.lean = lean
        let m = PathMTUMeasurement(options: options)
        var runner = SimulatedRunner(path: path, seed: seed)
        runner.run(m)
        #expect(m.isFinished)
        return m.result
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func cleanPathInTwoProbes(_ family: AddressFamily) {
        let r = measure(.lab(family), lean: true)
        #expect(r.pathMTU == 1500 && !r.blackHole)
        #expect(r.probesSent == 2)
    }

    @Test func packetTooBigHopInFourProbes() {
        let r = measure(.lab(.ipv4, mtus: [1500, 1492, 1500]), lean: true)
        #expect(r.pathMTU == 1492 && !r.blackHole)
        #expect(r.probesSent == 4)
    }

    @Test(arguments: [1400, 1401, 1280, 577])
    func blackHoleExactWithFewerProbes(_ mtu: Int) {
        var path = SimulatedPath.lab(.ipv4, mtus: [1500, 1500, mtu])
        path.routers[1].tooBig = .blackHole
        let lean = measure(path, lean: true)
        let full = measure(path, lean: false)
        #expect(lean.pathMTU == mtu && lean.blackHole)
        #expect(full.pathMTU == mtu && full.blackHole)
        #expect(lean.probesSent < full.probesSent)
    }

    /// Loss must not look like a size limit: every silence still needs its confirmations.
    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func lossyBlackHoleStaysExact(_ seed: UInt64) {
        var path = SimulatedPath.lab(.ipv4, mtus: [1500, 1500, 1400])
        path.routers[1].tooBig = .blackHole
        path.loss = 0.05
        let r = measure(path, lean: true, seed: seed)
        #expect(r.pathMTU == 1400 && r.blackHole)
    }
}

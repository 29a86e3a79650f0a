import Testing
@testable import PathProbeCore

/// The path MTU state machine against simulated paths: exact answers, black holes and their hop,
/// loss, PTB with MTU 0, lying PTBs, ICMP rate limiting, unreachable targets. No sockets.
@Suite struct PathMTUSimulationTests {
    func measure(_ path: SimulatedPath, kind: ProbeKind = .icmpEcho, maxSize: Int = 1500, seed: UInt64 = 1,
                 configure: (inout PathMTUOptions) -> Void = { _ in }) -> (PathMTUResult, Double) {
        var options = PathMTUOptions(destination: path.destination, kind: kind, maxSize: maxSize)
        configure(&options)
        let m = PathMTUMeasurement(options: options)
        var runner = SimulatedRunner(path: path, seed: seed)
        let ms = runner.run(m)
        #expect(m.isFinished)
        return (m.result, ms)
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func cleanPathIsTheLocalMTU(_ family: AddressFamily) {
        let (r, ms) = measure(.lab(family))
        #expect(r.pathMTU == 1500)
        #expect(!r.blackHole)
        #expect(r.blackHoleHop == nil)
        #expect(r.hops.count == 3)
        #expect(r.hops.map(\.mtu) == [1500, 1500, 1500])
        #expect(ms < 100)
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func packetTooBigGivesTheExactValue(_ family: AddressFamily) {
        let (r, ms) = measure(.lab(family, mtus: [1500, 1492, 1500]))
        #expect(r.pathMTU == 1492)
        #expect(!r.blackHole)
        #expect(r.packetTooBigs.first?.mtu == 1492)
        #expect(r.hops.map(\.mtu) == [1500, 1492, 1492])
        #expect(ms < 200)
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func blackHoleIsFoundToTheByteAndLocalised(_ family: AddressFamily) {
        var path = SimulatedPath.lab(family, mtus: [1500, 1500, 1400])
        path.routers[1].tooBig = .blackHole
        let (r, ms) = measure(path)
        #expect(r.pathMTU == 1400)
        #expect(r.blackHole)
        #expect(r.blackHoleHop?.ttl == 2)
        #expect(r.blackHoleHop?.address == path.routers[1].address)
        #expect(r.hops.map(\.mtu) == [1500, 1500, 1400])
        #expect(ms < 1000, "a 3-hop black hole must resolve in under a second")
    }

    @Test func blackHoleOffThePlateauTable() {
        var path = SimulatedPath.lab(.ipv4, mtus: [1500, 1337, 1500])
        path.routers[0].tooBig = .blackHole
        let (r, _) = measure(path)
        #expect(r.pathMTU == 1337)
        #expect(r.blackHole)
        #expect(r.blackHoleHop?.ttl == 1)
    }

    @Test func packetTooBigAfterAnEarlierPTB() {
        // PPPoE-like 1492 with working ICMP on the first router, then a 1400 black hole.
        var path = SimulatedPath.lab(.ipv4, mtus: [1500, 1492, 1400])
        path.routers[1].tooBig = .blackHole
        let (r, _) = measure(path)
        #expect(r.pathMTU == 1400)
        #expect(r.blackHole)
        #expect(r.blackHoleHop?.ttl == 2)
        #expect(r.hops.map(\.mtu) == [1500, 1492, 1400])
    }

    @Test func fragNeededWithoutNextHopMTU() {
        var path = SimulatedPath.lab(.ipv4, mtus: [1500, 1400, 1500])
        path.routers[0].tooBig = .sendsPTBValue(0)
        let (r, _) = measure(path)
        #expect(r.pathMTU == 1400)
        #expect(!r.blackHole)
    }

    @Test(arguments: [1200, 1300, 1600, 9000, 20])
    func lyingPacketTooBigDoesNotFoolIt(_ lie: Int) {
        var path = SimulatedPath.lab(.ipv4, mtus: [1500, 1400, 1500])
        path.routers[0].tooBig = .sendsPTBValue(lie)
        let (r, _) = measure(path)
        #expect(r.pathMTU == 1400)
        #expect(!r.blackHole)
    }

    @Test(arguments: Array(UInt64(1)...UInt64(12)))
    func tenPercentLossStaysExact(_ seed: UInt64) {
        var path = SimulatedPath.lab(.ipv4, mtus: [1500, 1500, 1400])
        path.routers[1].tooBig = .blackHole
        path.loss = 0.10
        let (r, _) = measure(path, seed: seed)
        #expect(r.pathMTU == 1400)
        #expect(r.blackHole)
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func udpModeUnderICMPRateLimiting(_ family: AddressFamily) {
        var path = SimulatedPath.lab(family, mtus: [1500, 1500, 1400])
        path.routers[1].tooBig = .blackHole
        let (r, ms) = measure(path, kind: .udp(port: 33434))
        #expect(r.pathMTU == 1400)
        #expect(r.blackHole)
        #expect(r.blackHoleHop?.ttl == 2)
        #expect(ms < 30_000)
    }

    @Test func udpModeWithLossAndRateLimiting() {
        var path = SimulatedPath.lab(.ipv4, mtus: [1500, 1450, 1500])
        path.routers[0].tooBig = .blackHole
        path.loss = 0.05
        for seed in UInt64(1)...4 {
            let (r, _) = measure(path, kind: .udp(port: 33434), seed: seed)
            #expect(r.pathMTU == 1450, "seed \(seed)")
        }
    }

    @Test func silentHostIsUnreachableNotABlackHole() {
        var path = SimulatedPath.lab(.ipv4)
        path.destinationAnswers = false
        let (r, _) = measure(path) { $0.timeoutMs = 200 }
        #expect(!r.reachable)
        #expect(r.status == .unreachable)
        #expect(!r.blackHole)
        #expect(r.pathMTU == nil)
    }

    @Test func localInterfaceSmallerThanMax() {
        var path = SimulatedPath.lab(.ipv4)
        path.firstLinkMTU = 1420
        let (r, _) = measure(path)
        #expect(r.pathMTU == 1420)
        #expect(!r.blackHole)
    }

    @Test func withoutHopsNoLocalisation() {
        var path = SimulatedPath.lab(.ipv4, mtus: [1500, 1500, 1400])
        path.routers[1].tooBig = .blackHole
        let (r, _) = measure(path) { $0.traceHops = false }
        #expect(r.pathMTU == 1400)
        #expect(r.blackHole)
        #expect(r.hops.isEmpty)
        #expect(r.blackHoleHop == nil)
    }

    @Test(arguments: [true, false])
    func theReachabilityProbeAloneCanSettleIt(_ hops: Bool) {
        let (r, _) = measure(.lab(.ipv4), maxSize: 68) {
            $0.minSize = 68
            $0.traceHops = hops
        }
        #expect(r.pathMTU == 68)
        #expect(!r.blackHole)
    }

    @Test func routersThatNeverAnswerTTLStillGiveTheMTU() {
        var path = SimulatedPath.lab(.ipv4, mtus: [1500, 1500, 1380])
        path.routers[0].answersTTL = false
        path.routers[1].answersTTL = false
        path.routers[1].tooBig = .blackHole
        let (r, _) = measure(path)
        #expect(r.pathMTU == 1380)
        #expect(r.blackHole)
        #expect(r.hops.first?.address == nil)
    }
}

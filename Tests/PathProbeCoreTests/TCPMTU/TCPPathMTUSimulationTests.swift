import Testing
@testable import PathProbeCore

/// The TCP path MTU state machine against simulated TCP paths and servers (SimulatedTCP.swift):
/// exact both ways, black hole vs PTB per direction, loss, small flights, shrinking servers, server
/// MSS limits, cached PMTU, closed ports and silent hosts, every service. No sockets.
@Suite struct TCPPathMTUSimulationTests {
    struct Run {
        var result: TCPPathMTUResult
        var ms: Double
        var runner: SimulatedTCPRunner
    }

    func measure(_ path: SimulatedTCPPath, seed: UInt64 = 1, maxSize: Int = 1500,
                 configure: (inout TCPPathMTUOptions) -> Void = { _ in }) -> Run {
        var options = TCPPathMTUOptions(destination: path.server, port: port(path.service), maxSize: maxSize)
        options.seed = seed
        configure(&options)
        let m = TCPPathMTUMeasurement(options: options)
        var runner = SimulatedTCPRunner(path: path, seed: seed)
        let ms = runner.run(m)
        #expect(m.isFinished)
        #expect(runner.openConnections == 0, "every connection is closed at the end")
        #expect(runner.opened == m.result.connections)
        #expect(runner.maxOpen <= options.parallel + 2)
        return Run(result: m.result, ms: ms, runner: runner)
    }

    func port(_ service: TCPService) -> UInt16 {
        switch service {
        case .tls: return 443
        case .rdp: return 3389
        case .http: return 80
        case .pathprobe: return ResponderWire.defaultPort
        }
    }

    func path(_ family: AddressFamily = .ipv4, up: Int = 1500, down: Int = 1500, _ change: (inout SimulatedTCPPath) -> Void = { _ in }) -> SimulatedTCPPath {
        var p = SimulatedTCPPath()
        p.family = family
        p.upMTU = up
        p.downMTU = down
        change(&p)
        return p
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func cleanPathIs1500BothWays(_ family: AddressFamily) {
        let run = measure(path(family))
        let r = run.result
        #expect(r.reachable && r.service == .tls && r.serviceAnswered == true)
        #expect(r.pathMTUUp == 1500 && r.pathMTUDown == 1500 && r.pathMTU == 1500)
        #expect(!r.blackHole && r.blackHoleDirection == nil)
        #expect(r.packetTooBigs.isEmpty)
        #expect(r.flightBytes == 3598)
        #expect(r.timestamps == true)
        #expect(run.ms < 200, "a clean path needs one round each way")
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func downloadBlackHoleIsExact(_ family: AddressFamily) {
        let run = measure(path(family, down: 1400))
        let r = run.result
        #expect(r.pathMTUDown == 1400)
        #expect(r.pathMTUUp == 1500)
        #expect(r.pathMTU == 1400 && r.mss == (family == .ipv4 ? 1360 : 1340))
        #expect(r.blackHole && r.blackHoleDirection == .down)
        #expect(r.down.blackHole && !r.up.blackHole)
        #expect(run.ms < 1500, "\(run.ms) ms")
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func uploadBlackHoleIsExact(_ family: AddressFamily) {
        let run = measure(path(family, up: 1400))
        let r = run.result
        #expect(r.pathMTUUp == 1400 && r.pathMTUDown == 1500)
        #expect(r.blackHoleDirection == .up)
        #expect(r.packetTooBigs.isEmpty)
        // Every upload probe that passed went as one segment of exactly its size.
        #expect(run.runner.largestUpPacket.values.contains(1400))
        #expect(run.ms < 1500, "\(run.ms) ms")
    }

    @Test func blackHolesBothWaysOffTheUsualValues() {
        let r = measure(path(up: 1433, down: 1377)).result
        #expect(r.pathMTUUp == 1433 && r.pathMTUDown == 1377 && r.pathMTU == 1377)
        #expect(r.blackHoleDirection == .both)
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func uploadPTBIsExactAndReported(_ family: AddressFamily) {
        let r = measure(path(family, up: 1420) { $0.up = .sendsPTB }).result
        #expect(r.pathMTUUp == 1420 && r.pathMTUDown == 1500)
        #expect(!r.blackHole && r.blackHoleDirection == nil)
        #expect(r.packetTooBigs.contains { $0.mtu == 1420 && !$0.cached })
    }

    @Test func downloadPTBReachesTheServerAndIsExact() {
        // The server learns 1400 from the PTB and resends at once in smaller segments: a limit, no
        // black hole. It then advertises MSS 1360 on later connections (its PMTU cache), so the
        // upload cannot be tried above 1400: a lower bound, and 1400 is still the smaller direction.
        let r = measure(path(down: 1400) { $0.down = .sendsPTB }).result
        #expect(r.pathMTUDown == 1400)
        #expect(!r.blackHole)
        #expect(r.down.note?.contains("at most 1400") == true)
        #expect(r.pathMTUUp == nil && r.up.atLeast == 1400 && r.up.note?.contains("at least 1400") == true)
        #expect(r.pathMTU == 1400)
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func ptbHopBothWaysGivesTheExactPathMTU(_ family: AddressFamily) {
        // The download is measured first. Its PTBs teach the server 1400, so it advertises MSS
        // 1360 (1340) afterwards: the upload cannot be tried above 1400, a lower bound.
        let r = measure(path(family, up: 1400, down: 1400) { $0.up = .sendsPTB; $0.down = .sendsPTB }).result
        #expect(r.pathMTUDown == 1400 && r.up.atLeast == 1400 && r.pathMTU == 1400)
        #expect(!r.blackHole)
    }

    @Test func uploadPTBDoesNotHideACleanDownload() {
        let r = measure(path(up: 1400) { $0.up = .sendsPTB }).result
        #expect(r.pathMTUDown == 1500 && r.pathMTUUp == 1400 && r.pathMTU == 1400)
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func lossDoesNotLookLikeALimit(_ seed: UInt64) {
        let r = measure(path(up: 1450, down: 1400) { $0.loss = 0.03 }, seed: seed).result
        #expect(r.pathMTUUp == 1450, "seed \(seed): up \(String(describing: r.pathMTUUp))")
        #expect(r.pathMTUDown == 1400, "seed \(seed): down \(String(describing: r.pathMTUDown))")
        #expect(r.blackHoleDirection == .both)
    }

    @Test func flightTooSmallForLargePacketsIsNullWithANote() {
        let r = measure(path { $0.flightBytes = 900 }).result
        #expect(r.pathMTUDown == nil)
        #expect(r.down.largestPassed == 952 && r.down.atLeast == 952)
        #expect(r.down.note?.contains("at least 952") == true)
        #expect(r.pathMTUUp == 1500)
        #expect(r.pathMTU == nil, "the smaller direction is unknown")
        #expect(!r.blackHole)
    }

    @Test func flightTooSmallForAnySize() {
        let r = measure(path { $0.flightBytes = 99 }).result
        #expect(r.pathMTUDown == nil && r.down.note?.contains("too small") == true)
        #expect(r.pathMTUUp == 1500)
    }

    @Test func smallFlightStillFindsABlackHoleBelowIt() {
        let r = measure(path(down: 1100) { $0.flightBytes = 1300 }).result
        #expect(r.pathMTUDown == 1100 && r.down.blackHole)
    }

    @Test func serverThatAnswersNothing() {
        let r = measure(path { $0.flightBytes = 0 }).result
        #expect(r.reachable && r.serviceAnswered == nil)
        #expect(r.pathMTUDown == nil && r.down.note?.contains("sent nothing") == true)
        #expect(r.pathMTUUp == 1500)
    }

    @Test func serverThatStopsAcceptingEndsTheRun() {
        let r = measure(path(down: 1400) { $0.acceptsConnections = 6 }).result
        #expect(r.reachable)
        #expect(r.pathMTUDown == nil && r.down.note?.contains("kept failing") == true)
        #expect(r.connections < 100)
    }

    @Test func serverThatShrinksSegmentsAfterATimeoutIsNotBelieved() {
        // Default timing: the probe is judged before the server's RTO (200 ms).
        let quick = measure(path(down: 1400) { $0.shrinkToMSS = 1024 }).result
        #expect(quick.pathMTUDown == 1400 && quick.down.blackHole)
        // Long waits: the shrunk segments arrive inside the wait, complete but late. They prove
        // their own size, never the one asked for.
        let slow = measure(path(down: 1400) { $0.shrinkToMSS = 1024 }) {
            $0.minimumTimeoutMs = 400
            $0.timeoutMs = 2000
        }.result
        #expect(slow.pathMTUDown == 1400 && slow.down.blackHole)
        #expect(slow.notes.contains { $0.contains("smaller segments after a timeout") })
    }

    @Test func serverMSSLimitsBothDirectionsWithoutABlackHole() {
        // The server's interface is 1400: it advertises MSS 1360 and sends no larger.
        let r = measure(path { $0.serverMSS = 1360 }).result
        #expect(r.pathMTUDown == 1400)
        #expect(r.pathMTUUp == nil && r.up.atLeast == 1400, "larger upload segments cannot be sent: a lower bound")
        #expect(r.pathMTU == 1400)
        #expect(!r.blackHole)
        #expect(r.up.note?.contains("MSS") == true)
    }

    @Test func cachedPathMTUIsReportedAsAnEarlierPTB() {
        // A second run within the cache's life: the kernel advertises no more than 1400 either.
        let r = measure(path(up: 1400) { $0.up = .sendsPTB; $0.cachedPathMTU = 1400 }).result
        #expect(r.pathMTUUp == 1400 && !r.up.blackHole)
        #expect(r.packetTooBigs.contains { $0.mtu == 1400 && $0.cached })
        #expect(r.pathMTUDown == nil && r.down.atLeast == 1400 && r.down.note?.contains("cached path MTU") == true)
        #expect(r.pathMTU == 1400)
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func withoutTimestamps(_ family: AddressFamily) {
        let r = measure(path(family, up: 1444, down: 1399) { $0.timestamps = false }).result
        #expect(r.timestamps == false)
        #expect(r.pathMTUUp == 1444 && r.pathMTUDown == 1399)
    }

    @Test func closedPortIsUnreachableAtOnce() {
        let run = measure(path { $0.port = .closed })
        #expect(!run.result.reachable)
        #expect(run.result.unreachableReason?.contains("refused") == true)
        #expect(run.result.service == nil && run.result.pathMTU == nil)
        #expect(run.result.connections == 1)
        #expect(run.ms < 10)
    }

    @Test func silentHostIsUnreachableAfterTheRetries() {
        let run = measure(path { $0.port = .silent })
        #expect(!run.result.reachable)
        #expect(run.result.unreachableReason?.contains("no answer") == true)
        #expect(run.result.connections == 3)
        #expect(run.ms <= 3001)
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func rdpNegotiatesThenMeasuresWithTLS(_ family: AddressFamily) {
        let run = measure(path(family, up: 1450, down: 1400) { $0.service = .rdp; $0.flightBytes = 3565 })
        let r = run.result
        #expect(r.service == .rdp && r.serviceAnswered == true)
        #expect(r.pathMTUUp == 1450 && r.pathMTUDown == 1400 && r.blackHoleDirection == .both)
        #expect(run.runner.maxOpen <= 8 + 2)
        // On a clean path every connection's ClientHello (after the confirm) reaches the server whole.
        let clean = measure(path(family) { $0.service = .rdp; $0.flightBytes = 3565 })
        #expect(clean.result.pathMTU == 1500)
        // Upload probes write an unfinished request: the server answers the others only.
        #expect(clean.runner.completeRequests > 0 && clean.runner.completeRequests < clean.result.connections)
    }

    @Test func rdpWithStandardSecurityHasNoFlight() {
        let r = measure(path { $0.service = .rdp; $0.rdpSelects = 0 }).result
        #expect(r.reachable && r.service == .rdp)
        #expect(r.pathMTUDown == nil && r.pathMTUUp == nil)
        #expect(r.notes.contains { $0.contains("standard RDP security") })
        #expect(r.connections == 1, "no probe can carry a payload: none is opened")
        let upOnly = measure(path { $0.service = .rdp; $0.rdpSelects = 0 }) { $0.directions = .up }.result
        #expect(upOnly.pathMTUUp == nil && upOnly.up.note?.contains("standard RDP security") == true)
        #expect(upOnly.connections <= 1 + 8)
    }

    @Test(arguments: [TCPService.http, .pathprobe])
    func otherServices(_ service: TCPService) {
        let r = measure(path(up: 1480, down: 1300) { $0.service = service; $0.flightBytes = 16412 }).result
        #expect(r.service == service && r.serviceAnswered == true)
        #expect(r.pathMTUUp == 1480 && r.pathMTUDown == 1300)
    }

    @Test func loadedServerIsNotMistakenForABlackHole() {
        // Each parallel handshake adds 40 ms of server work: flights come late, but come.
        let run = measure(path(down: 1400) { $0.loadMsPerConnection = 40; $0.processingMs = 20 })
        #expect(run.result.pathMTUDown == 1400 && run.result.pathMTUUp == 1500)
    }

    @Test(arguments: [(TCPService.tls, 6, 3.0), (.rdp, 3, 5.0)])
    func smallListenBacklogDropsSYNs(_ service: TCPService, _ queue: Int, _ acceptMs: Double) {
        // socat (backlog 5) and xrdp (backlog 2) drop SYNs that find the accept queue full; the
        // kernel would retransmit after 1 s. Probes give up sooner and space their connects.
        let run = measure(path(up: 1450, down: 1400) {
            $0.service = service
            $0.acceptQueue = queue
            $0.acceptMs = acceptMs
            $0.flightBytes = 3565
        })
        #expect(run.result.pathMTUUp == 1450 && run.result.pathMTUDown == 1400)
        #expect(run.ms < 3000, "\(run.ms) ms, \(run.runner.droppedSYNs) SYNs dropped")
    }

    @Test func oneDirectionOnly() {
        let down = measure(path(up: 1300, down: 1400)) { $0.directions = .down }.result
        #expect(down.pathMTUDown == 1400 && down.pathMTUUp == nil && down.pathMTU == 1400)
        #expect(down.up.note == "not measured")
        let up = measure(path(up: 1300, down: 1400)) { $0.directions = .up }.result
        #expect(up.pathMTUUp == 1300 && up.pathMTUDown == nil && up.pathMTU == 1300)
    }

    @Test func jumboLocalMTU() {
        let r = measure(path(up: 8000, down: 9000) { $0.localMTU = 9000; $0.serverMSS = 8960; $0.flightBytes = 20000 }, maxSize: 9000).result
        #expect(r.pathMTUUp == 8000 && r.pathMTUDown == 9000)
    }
}

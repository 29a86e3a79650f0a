import Foundation
import Testing
@testable import PathProbeExporter
import PathProbeCore
import Synchronization

/// The real prober on loopback: measurements on pathprobe's engine thread, deadlines, cancellation,
/// shutdown, many probes at once. Nothing leaves the machine (127.0.0.1 and ::1 only; no names, so
/// no DNS query either).
@Suite("Engine prober", .serialized)
struct EngineProberTests {
    static func module(_ settings: String) throws -> Module {
        let config = try ConfigLoader.parse("modules:\n  m:\n" + settings.split(separator: "\n").map { "    \($0)\n" }.joined(), path: "t.yml")
        return try #require(config.modules["m"])
    }

    static let ids = Mutex<UInt64>(0)

    /// The default deadline is generous: while the whole suite runs, other tests can hold the few
    /// cooperative threads for many seconds (the probes themselves take milliseconds).
    static func job(_ target: String, _ module: Module, deadline: Duration = .seconds(120), hops: ProbeJob.HopProbes = .send) -> ProbeJob {
        let id = ids.withLock { $0 += 1; return $0 }
        return ProbeJob(id: id, target: target, module: module, deadline: .now + deadline, hopProbes: hops, log: ProbeLog())
    }

    /// A UDP socket on 127.0.0.1 that never answers: probes to it stay unanswered (open|filtered)
    /// until their timeouts, so a measurement of it is slow without anything leaving loopback.
    static func silentUDPPort() throws -> (fd: Int32, port: UInt16) { try ExporterLab.bindLoopback(SOCK_DGRAM) }

    @Test(.enabled(if: getuid() == 0, "ICMP probes need root (raw sockets) or an open ping_group_range"))
    func measuresLoopback() async throws {
        let prober = try EngineProber()
        let mtu = try Self.module("prober: mtu")
        for (target, version) in [("127.0.0.1", 4), ("::1", 6)] {
            let job = Self.job(target, mtu)
            let o = await prober.run(job)
            #expect(o.success, "\(target): \(o.failure ?? "") \(job.log.entries)")
            #expect(o.pathMTU == [.init(.both, 65535)] && o.blackHole == false && !o.cutShort)
            #expect(o.ipVersion == version && o.address == target)
            #expect(o.hops.first?.rtt != nil, "\(o.hops)")
            #expect(o.resultText?.contains("path MTU 65535") == true)
        }
        // Paced: no hop probes, so no hops (the coordinator fills them in from its cache).
        let paced = await prober.run(Self.job("127.0.0.1", mtu, hops: .skip))
        #expect(paced.success && paced.hops.isEmpty)

        let profile = await prober.run(Self.job("127.0.0.1", try Self.module("prober: profile\ntcp: 9")))
        #expect(profile.success && profile.ports == [.init(.tcp, 9, .closed)], "\(profile)")
        // Loopback's 65535 (the IP maximum) below its 65536 is no finding (issue 13's advisor rule).
        #expect(!profile.findings.contains { $0.id == "path-mtu-below-interface" }, "\(profile.findings)")
        await prober.shutdown()
    }

    /// Many probes at once share the one engine.
    @Test(.enabled(if: getuid() == 0, "ICMP probes need root (raw sockets) or an open ping_group_range"))
    func manyProbesAtOnce() async throws {
        let prober = try EngineProber()
        let mtu = try Self.module("prober: mtu\nno_hops: true")
        let outcomes = await withTaskGroup(of: ProbeOutcome.self) { group in
            for i in 0..<300 {
                group.addTask { await prober.run(Self.job(i % 2 == 0 ? "127.0.0.1" : "::1", mtu)) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.count == 300)
        #expect(outcomes.allSatisfy { $0.success && $0.pathMTU == [.init(.both, 65535)] }, "\(outcomes.filter { !$0.success }.prefix(3))")
        await prober.shutdown()
    }

    @Test func badTargetsAreOutcomes() async throws {
        let prober = try EngineProber()
        let o = await prober.run(Self.job("127.0.0.1", try Self.module("prober: reach\nudp: 9\n6: true")))
        #expect(!o.success && o.failure == "'127.0.0.1' is not an IPv6 address", "\(o)")
        let unknownInterface = await prober.run(Self.job("127.0.0.1", try Self.module("prober: reach\nudp: 9\ninterface: nosuchif0")))
        #expect(!unknownInterface.success && unknownInterface.failure?.contains("nosuchif0") == true, "\(unknownInterface)")
        await prober.shutdown()
    }

    /// A probe is cut short at its deadline, with what it measured; a cancelled one ends at once;
    /// shutdown answers what is still running. Unbounded, the slow measurement would take 100 s
    /// (5 attempts of 20 s); the upper bounds are loose for a loaded machine.
    @Test func deadlineCancellationAndShutdown() async throws {
        let silent = try Self.silentUDPPort()
        defer { close(silent.fd) }
        let prober = try EngineProber()
        let slow = try Self.module("prober: reach\nudp: \(silent.port)\nanswer_timeout: 20\nretries: 5")

        var start = ContinuousClock.now
        let cut = await prober.run(Self.job("127.0.0.1", slow, deadline: .milliseconds(300)))
        var elapsed = ContinuousClock.now - start
        #expect(cut.cutShort && !cut.success && elapsed >= .milliseconds(250) && elapsed < .seconds(30), "\(elapsed) \(cut)")
        #expect(cut.ports.map(\.port) == [silent.port], "\(cut.ports)")

        start = ContinuousClock.now
        let task = Task { await prober.run(Self.job("127.0.0.1", slow)) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let cancelled = await task.value
        elapsed = ContinuousClock.now - start
        #expect(cancelled.cutShort && elapsed < .seconds(30), "\(elapsed) \(cancelled)")

        let running = Task { await prober.run(Self.job("127.0.0.1", slow)) }
        try await Task.sleep(for: .milliseconds(300))
        await prober.shutdown()
        let stopped = await running.value
        #expect(!stopped.success && stopped.failure == "the exporter is stopping", "\(stopped)")
        let after = await prober.run(Self.job("127.0.0.1", slow))
        #expect(!after.success)
    }
}

/// The typed results in the plain shape of the metrics.
@Suite("Outcome mapping")
struct OutcomeMappingTests {
    static let v4 = IPAddress("192.0.2.10")!

    @Test func pathMTU() {
        var r = PathMTUResult(address: Self.v4, family: .ipv4)
        r.reachable = true
        r.pathMTU = 1400
        r.blackHole = true
        r.blackHoleHop = .init(ttl: 2, address: IPAddress("192.0.2.2")!)
        let o = ProbeOutcome(mtu: r, cutShort: false)
        #expect(o.success && o.failure == nil && o.address == "192.0.2.10" && o.ipVersion == 4)
        #expect(o.pathMTU == [.init(.both, 1400)] && o.blackHole == true && o.blackHoleHop == 2)

        r.probeProtocol = .udp
        #expect(ProbeOutcome(mtu: r, cutShort: false).pathMTU == [.init(.up, 1400)])
        // Cut short: what was measured stays, but the probe did not succeed.
        let cut = ProbeOutcome(mtu: r, cutShort: true)
        #expect(!cut.success && cut.cutShort && cut.pathMTU == [.init(.up, 1400)])

        var unreachable = PathMTUResult(address: Self.v4, family: .ipv4)
        unreachable.error = "no reply"
        let u = ProbeOutcome(mtu: unreachable, cutShort: false)
        #expect(!u.success && u.failure == "unreachable: no reply" && u.pathMTU.isEmpty && u.blackHole == nil)
    }

    @Test func ports() {
        var r = ReachResult(address: IPAddress("2001:db8::1")!, family: .ipv6)
        var open = TCPPortResult(port: 443, state: .open, attempts: 1)
        open.mss = 1360
        r.tcp = [TCPPortResult(port: 80, state: .filtered, attempts: 2), open]
        r.udp = [UDPPortResult(port: 3391, state: .openFiltered, service: .dtls, attempts: 2)]
        var responder = ResponderReport(port: 4821)
        responder.reachable = true
        responder.pathMTUUp = 1400
        responder.pathMTUDown = 1280
        r.responder = responder
        let o = ProbeOutcome(reach: r, cutShort: false)
        #expect(o.success && o.ipVersion == 6 && o.mss == 1360)
        #expect(o.ports == [.init(.tcp, 80, .filtered), .init(.tcp, 443, .open), .init(.udp, 3391, .openFiltered)])
        #expect(o.pathMTU == [.init(.up, 1400), .init(.down, 1280)])

        var silent = ReachResult(address: Self.v4, family: .ipv4)
        silent.tcp = [TCPPortResult(port: 443, state: .filtered, attempts: 2)]
        let s = ProbeOutcome(reach: silent, cutShort: false)
        #expect(!s.success && s.failure?.hasPrefix("nothing answered") == true)
    }

    @Test func profileFindings() {
        var m = PathMTUResult(address: Self.v4, family: .ipv4)
        m.reachable = true
        m.pathMTU = 1400
        m.blackHole = true
        m.localMTU = 1500
        let p = ProfileReport(target: "gw", address: Self.v4, startedAt: "2026-01-01T00:00:00Z", version: "0", local: .init(), mtu: m,
                              reach: nil, service: nil)
        let o = ProbeOutcome(profile: p, cutShort: false)
        #expect(o.success && o.pathMTU == [.init(.both, 1400)] && o.blackHole == true)
        #expect(o.findings.contains { $0.id == "pmtu-black-hole" && $0.severity == .critical }, "\(o.findings)")
        #expect(o.resultText?.contains("pathprobe profile: gw") == true)
    }
}

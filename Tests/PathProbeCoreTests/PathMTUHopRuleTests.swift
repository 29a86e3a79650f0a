import Testing
@testable import PathProbeCore

/// Issue 13's hop rule and issue 10's ICMP-mode honesty on simulated paths with Linux-like ICMP
/// rate limits (a burst of 6, then one per second per router): a black-hole hop is named only when
/// the next hop answered a small TTL-limited control but not the large probe sent just before it;
/// otherwise the measurement waits for the budget or leaves the hop null. Never a wrong hop, and
/// never a forward hop for a drop on the return path.
@Suite struct PathMTUHopRuleTests {
    /// client - r1 - r2 - r3 - target; the router at `holeAfter` (1-based) forwards onto a 1400-byte
    /// link and drops its own packet-too-big.
    static func path(_ family: AddressFamily = .ipv4, holeAfter: Int) -> SimulatedPath {
        let v4 = family == .ipv4
        let addr: (Int, Int) -> IPAddress = { link, host in
            v4 ? IPAddress("10.0.\(link).\(host)")! : IPAddress("fd00:\(link)::\(host)")!
        }
        var routers = (1...3).map { SimulatedPath.Router(address: addr($0, 2)) }
        routers[holeAfter - 1].egressMTU = 1400
        routers[holeAfter - 1].tooBig = .blackHole
        return SimulatedPath(source: addr(1, 1), destination: addr(4, 2), routers: routers)
    }

    func run(_ path: SimulatedPath, kind: ProbeKind = .icmpEcho, seed: UInt64 = 1, drainFirst: Bool = false,
             drainEveryMs: Double? = nil) -> (PathMTUMeasurement, PathMTUResult, Double) {
        let m = PathMTUMeasurement(options: PathMTUOptions(destination: path.destination, kind: kind, maxSize: 1500))
        var runner = SimulatedRunner(path: path, seed: seed)
        runner.drainEveryMs = drainEveryMs
        if drainFirst { runner.drainRouterBudgets() }
        let ms = runner.run(m)
        #expect(m.isFinished)
        return (m, m.result, ms)
    }

    @Test(arguments: [AddressFamily.ipv4, .ipv6], [1, 2, 3])
    func theHopIsNamedExactlyWithItsBudget(_ family: AddressFamily, _ hole: Int) {
        let p = Self.path(family, holeAfter: hole)
        for kind in [ProbeKind.icmpEcho, .udp(port: 33434)] {
            let (_, r, _) = run(p, kind: kind)
            #expect(r.pathMTU == 1400 && r.blackHole, "\(family) \(kind) hole after \(hole)")
            #expect(r.blackHoleHop?.ttl == hole, "\(family) \(kind) hole after \(hole)")
            #expect(r.blackHoleHop?.address == p.routers[hole - 1].address)
        }
    }

    /// A target whose port unreachable comes from another of its addresses (Linux, for an address
    /// on a `local` route, as the bulk lab's ranges): the forward check still counts, at once.
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func portUnreachableFromAnotherAddressOfTheTarget(_ family: AddressFamily) {
        var p = Self.path(family, holeAfter: 3)
        p.portUnreachableSource = family == .ipv4 ? IPAddress("10.0.4.3")! : IPAddress("fd00:4::3")!
        let (m, r, ms) = run(p)
        #expect(r.pathMTU == 1400 && r.blackHole && !m.returnPathLimit)
        #expect(r.blackHoleHop?.ttl == 3)
        #expect(ms < 1_000, "no waiting for an answer that was there: \(ms) ms")
    }

    /// Issue 13's lab case in virtual time: 20 runs back to back, each right after another tool spent
    /// every router's budget (and one that keeps spending it during the run): the hop is right or
    /// null, never another one.
    @Test(arguments: [1, 2, 3])
    func aDrainedBudgetNeverNamesAWrongHop(_ hole: Int) {
        let p = Self.path(.ipv4, holeAfter: hole)
        var named = 0
        for seed in UInt64(1)...20 {
            for drain in [nil, 300.0] as [Double?] {
                let (_, r, ms) = run(p, seed: seed, drainFirst: true, drainEveryMs: drain)
                #expect(r.pathMTU == 1400 && r.blackHole)
                if let hop = r.blackHoleHop {
                    #expect(hop.ttl == hole && hop.address == p.routers[hole - 1].address, "seed \(seed): named hop \(hop.ttl)")
                    named += 1
                }
                #expect(ms < 15_000, "waiting for the budget is bounded")
            }
        }
        #expect(named >= 20, "the budget refills within the rounds: most runs still name the hop (\(named)/40)")
    }

    /// Random loss (each link and each answer; 5% per link is about 25% per round trip here, 10%
    /// about 40%) can make large probes vanish by chance: more rounds of proof, or no hop.
    @Test(arguments: Array(UInt64(1)...UInt64(30)))
    func lossNeverNamesAWrongHop(_ seed: UInt64) {
        for hole in 1...3 {
            for loss in [0.05, 0.10] {
                var p = Self.path(.ipv4, holeAfter: hole)
                p.loss = loss
                let (_, r, _) = run(p, seed: seed)
                if let hop = r.blackHoleHop {
                    #expect(hop.ttl == hole, "seed \(seed), loss \(loss): hole after \(hole), named \(hop.ttl)")
                }
            }
        }
    }

    /// The old rule named the last hop that answered: a hop that only stays silent because its
    /// budget is spent made it name the hop before. Here the hole's own router never answers (its
    /// budget is always spent): the hop before it must not be named.
    @Test func aSilentNextHopIsNoProof() {
        var p = Self.path(.ipv4, holeAfter: 2)
        p.routers[2].answersTTL = false
        let (_, r, _) = run(p)
        #expect(r.blackHole)
        #expect(r.blackHoleHop == nil, "past hop 2 the large probes vanish, but r3 answers nothing: hop 2 or hop 3 drops them")
        var q = Self.path(.ipv4, holeAfter: 1)
        q.routers[1].answersTTL = false
        q.routers[2].answersTTL = false
        q.destinationAnswersUDP = false
        let (_, r2, _) = run(q)
        #expect(r2.blackHole)
        #expect(r2.blackHoleHop == nil, "nothing after hop 1 ever answers a small probe: no proof, no hop")
    }

    /// The next hop is the target and it does not answer UDP (Windows): no forward proof, no hop.
    @Test func aTargetWithoutUDPAnswersLeavesTheLastHopUnnamed() {
        var p = Self.path(.ipv4, holeAfter: 3)
        p.destinationAnswersUDP = false
        let (_, r, _) = run(p)
        #expect(r.pathMTU == 1400 && r.blackHole)
        #expect(r.blackHoleHop == nil)
    }

    /// Issue 10: a bottleneck only on the way back whose router tells nobody. IPv6: echo replies
    /// above 1400 are lost; TTL-limited probes reach every router, so the old rule blamed the last
    /// forward hop. The UDP check proves the forward path carries 1500: the limit is on the return
    /// path, no forward hop is named. IPv4: the router fragments the echo replies: 1500.
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func aReturnPathDropIsNeverBlamedOnAForwardHop(_ family: AddressFamily) {
        var p = SimulatedPath.lab(family)
        p.returnMTU = 1400
        for drain in [false, true] {
            let (m, r, _) = run(p, drainFirst: drain)
            #expect(r.blackHoleHop == nil)
            if family == .ipv6 {
                #expect(r.pathMTU == 1400)
                #expect(m.returnPathLimit)
                #expect(m.forwardCarries == 1500)
            } else {
                #expect(r.pathMTU == 1500)
                #expect(!r.blackHole && !m.returnPathLimit)
            }
        }
        // A target that does not answer UDP: the return path cannot be proven, but no hop is blamed.
        p.destinationAnswersUDP = false
        let (m, r, _) = run(p)
        #expect(r.blackHoleHop == nil)
        #expect(!m.returnPathLimit)
    }

    /// Without the per-hop view the forward check still runs in ICMP mode (no hop to name).
    @Test func withoutHopsTheReturnPathIsStillTold() {
        var p = SimulatedPath.lab(.ipv6)
        p.returnMTU = 1400
        let m = PathMTUMeasurement(options: {
            var o = PathMTUOptions(destination: p.destination, maxSize: 1500)
            o.traceHops = false
            return o
        }())
        var runner = SimulatedRunner(path: p)
        runner.run(m)
        #expect(m.result.pathMTU == 1400)
        #expect(m.returnPathLimit)
        #expect(m.result.blackHoleHop == nil)
    }
}

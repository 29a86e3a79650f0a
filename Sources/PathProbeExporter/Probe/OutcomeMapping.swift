import PathProbeCore

/// The probers' typed results (`mtu`, `reach`, `profile` documents) in the plain shape the metrics
/// are made from. What a result does not know stays nil or empty: no metric is invented.
extension ProbeOutcome {
    /// A path MTU measurement. Success: the path MTU was measured (the target answered and the
    /// search completed). ICMP echo bounds both directions (the reply is as large as the request);
    /// UDP to a closed port measures the way there only (the port unreachable is small).
    init(mtu r: PathMTUResult, cutShort: Bool) {
        self.init(success: r.status == .measured && !cutShort, failure: Self.failure(of: r, cutShort: cutShort))
        self.cutShort = cutShort
        setAddress(r.address)
        addPath(r)
        resultText = r.text()
    }

    /// Port probes (and the responder's UDP path MTU both ways). Success: the target answered
    /// something (a port open or closed, or the responder); a port that is closed or filtered is a
    /// state, not a failure, but a target where nothing answers at all fails.
    init(reach r: ReachResult, cutShort: Bool) {
        let answered = Self.answered(r)
        let failure = cutShort ? Self.cutShortReason : (answered ? nil : "nothing answered: every port is filtered or silent")
        self.init(success: answered && !cutShort, failure: failure)
        self.cutShort = cutShort
        setAddress(r.address)
        addPorts(r)
        resultText = r.text()
    }

    /// A profile: the path MTU, the ports, the advisor's findings. Success as for `mtu`.
    init(profile p: ProfileReport, cutShort: Bool) {
        self.init(success: p.mtu.status == .measured && !cutShort, failure: Self.failure(of: p.mtu, cutShort: cutShort))
        self.cutShort = cutShort
        setAddress(p.address)
        addPath(p.mtu)
        if let reach = p.reach { addPorts(reach) }
        findings = p.advice.findings.map(Finding.init)
        resultText = p.text()
    }

    static let cutShortReason = "cut short at the deadline: the measurement had not finished"

    static func failure(of r: PathMTUResult, cutShort: Bool) -> String? {
        switch r.status {
        case .measured: return cutShort ? cutShortReason : nil
        case .unreachable: return cutShort ? cutShortReason : "unreachable: \(r.error ?? "no answer")"
        case .incomplete:
            return cutShort ? cutShortReason : "reachable, but no probe size passed, not even the smallest (--min)"
        }
    }

    static func answered(_ r: ReachResult) -> Bool {
        r.tcp.contains { $0.state != .filtered } || r.udp.contains { $0.state == .open || $0.state == .closed }
            || r.responder?.reachable == true
    }

    mutating func setAddress(_ a: IPAddress) {
        address = a.description
        ipVersion = a.family == .ipv4 ? 4 : 6
    }

    mutating func addPath(_ r: PathMTUResult) {
        if let mtu = r.pathMTU {
            pathMTU.append(.init(r.probeProtocol == .icmp ? .both : .up, mtu))
            blackHole = r.blackHole
            blackHoleHop = r.blackHoleHop?.ttl
        }
        hops = r.hops.map { h in
            Hop(ttl: h.ttl, address: h.address?.description, rtt: h.rttMs.map { .nanoseconds(Int64(($0 * 1e6).rounded())) })
        }
    }

    mutating func addPorts(_ r: ReachResult) {
        ports += r.tcp.map { Port(.tcp, $0.port, PortState(rawValue: $0.state.rawValue) ?? .filtered) }
        ports += r.udp.map { Port(.udp, $0.port, PortState(rawValue: $0.state.rawValue) ?? .filtered) }
        // The MSS of the first open port whose SYN-ACK carried one.
        if mss == nil { mss = r.tcp.first { $0.state == .open && $0.mss != nil }?.mss }
        // The responder's UDP path MTU each way, unless the path MTU measurement gave that direction.
        if let responder = r.responder {
            for (direction, bytes) in [(Direction.up, responder.pathMTUUp), (.down, responder.pathMTUDown)] {
                if let bytes, !pathMTU.contains(where: { $0.direction == direction }) { pathMTU.append(.init(direction, bytes)) }
            }
        }
    }
}

extension ProbeOutcome.Finding {
    init(_ f: PathProbeCore.Finding) {
        self.init(id: f.id, severity: ProbeOutcome.Severity(rawValue: f.severity.rawValue) ?? .warning, message: f.message)
    }
}

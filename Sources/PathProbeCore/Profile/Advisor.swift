/// The advisor: small rules from measured facts to findings and recommendations. A rule speaks only
/// when a measurement supports it, so a clean path gets no recommendation at all.
/// Each rule is a static function, unit-tested on synthetic facts (Tests/PathProbeCoreTests/Profile).
public enum Advisor {
    typealias MTUKey = PathMTUResult.CodingKeys

    /// Evidence values the advisor derives itself (the others are named after the result fields they come from).
    enum AdvisorKey: String, CodingKey {
        /// The MSS that fits the measured path MTU.
        case pathMSS = "path_mss"
        /// The kernel's cached PMTU exception for the destination.
        case cachedPMTU = "cached_pmtu"
        /// The egress tunnel's active segmentation offloads (kernel names).
        case activeOffloads = "active_offloads"
    }

    public struct Advice: Sendable {
        public var findings: [Finding] = []
        public var recommendations: [Recommendation] = []
    }

    public static func advise(_ f: ProfileFacts) -> Advice {
        var a = Advice()
        a.findings += blackHoleFinding(f)
        a.findings += pathBelowInterfaceFinding(f)
        a.findings += cachedPMTUFinding(f)
        a.findings += mssFindings(f)
        a.findings += udpFindings(f)
        a.findings += tunnelOffloadFinding(f)
        a.findings += f.localFindings
        a.recommendations += interfaceMTU(f)
        a.recommendations += mssClamp(f)
        a.recommendations += tcpMTUProbing(f)
        a.recommendations += tcpOnly(f)
        a.findings.sort { $0.severity > $1.severity }
        return a
    }

    // MARK: findings

    static func blackHoleFinding(_ f: ProfileFacts) -> [Finding] {
        guard f.blackHole, let mtu = f.pathMTU else { return [] }
        var where_ = ""
        if let hop = f.blackHoleHop { where_ = " after hop \(hop.ttl) (\(hop.address))" }
        if let d = f.blackHoleDirection { where_ += " " + d.phrase }
        var evidence = Evidence().with(MTUKey.pathMTU, mtu).with(MTUKey.blackHoleHop, f.blackHoleHop)
        if let d = f.blackHoleDirection {
            evidence = evidence.with(MTUKey.pathMTUUp, f.pathMTUUp).with(MTUKey.pathMTUDown, f.pathMTUDown).with(MTUKey.blackHoleDirection, d)
        }
        return [Finding(
            id: "pmtu-black-hole", severity: .critical,
            message: "Packets above \(mtu) bytes are dropped\(where_) and no ICMP says so: PMTU discovery cannot work on this path",
            evidence: evidence)]
    }

    /// The path MTU is smaller than the egress interface's in a way worth a word: not on loopback,
    /// and not merely because IP packets end at 65535 bytes (lo's 65536, jumbo-frame virtual links).
    static func pathBelowInterface(_ f: ProfileFacts) -> (mtu: Int, local: Int)? {
        guard let mtu = f.pathMTU, let local = f.egressMTU, mtu < local, mtu < 65535, f.egressKind != "loopback" else { return nil }
        return (mtu, local)
    }

    static func pathBelowInterfaceFinding(_ f: ProfileFacts) -> [Finding] {
        guard let (mtu, local) = pathBelowInterface(f) else { return [] }
        let name = f.egressInterface ?? "the egress interface"
        return [Finding(
            id: "path-mtu-below-interface", severity: .warning,
            message: "The path carries \(mtu)-byte packets but \(name) sends up to \(local)",
            evidence: Evidence().with(MTUKey.pathMTU, mtu).with(RouteInfo.CodingKeys.interfaceMTU, local),
            interface: f.egressInterface)]
    }

    static func cachedPMTUFinding(_ f: ProfileFacts) -> [Finding] {
        guard let cached = f.cachedPMTU, let mtu = f.pathMTU, cached != mtu else { return [] }
        return [Finding(
            id: "cached-pmtu-mismatch", severity: .warning,
            message: "The kernel's cached PMTU for this destination is \(cached), the measured path MTU is \(mtu) (flush it: pathprobe route --flush)",
            evidence: Evidence().with(AdvisorKey.cachedPMTU, cached).with(MTUKey.pathMTU, mtu))]
    }

    static func mssFindings(_ f: ProfileFacts) -> [Finding] {
        guard let mtu = f.pathMTU else { return [] }
        let fits = f.family.mss(forMTU: mtu)
        var out: [Finding] = []
        for t in f.tcp where t.state == .open {
            guard let mss = t.mss else { continue }
            if mss < fits {
                out.append(Finding(
                    id: "mss-clamped", severity: .info,
                    message: "TCP \(t.port): the MSS arrives as \(mss), below the \(fits) the path carries (a middlebox clamps it; harmless, slightly wasteful)",
                    evidence: mssEvidence(t, mss, fits)))
            } else if mss > fits && f.blackHole {
                out.append(Finding(
                    id: "mss-exceeds-path", severity: .critical,
                    message: "TCP \(t.port): the far end offers MSS \(mss) but only \(fits) fits the path, and the path is a black hole: large segments will stall",
                    evidence: mssEvidence(t, mss, fits)))
            }
        }
        return out
    }

    static func mssEvidence(_ t: ProfileFacts.TCPFact, _ mss: Int, _ fits: Int) -> Evidence {
        Evidence().with(TCPPortResult.CodingKeys.port, t.port).with(TCPPortResult.CodingKeys.mss, mss).with(AdvisorKey.pathMSS, fits)
    }

    /// UDP ports the service needs that did not answer. A closed port answered (its port
    /// unreachable came back): the path carries UDP there, so it is reachability, not a block.
    static func blockedUDPPorts(_ f: ProfileFacts) -> [ProfileFacts.UDPFact] {
        let needed = f.service?.udp.map { Int($0) }
        return f.udp.filter { u in
            (needed == nil || needed!.contains(u.port)) && u.state != .open && u.state != .closed
        }
    }

    static func udpFindings(_ f: ProfileFacts) -> [Finding] {
        var out: [Finding] = []
        let blocked = blockedUDPPorts(f)
        if !blocked.isEmpty {
            let list = blocked.map { "\($0.port) (\($0.state.rawValue))" }.joined(separator: ", ")
            out.append(Finding(
                id: "udp-blocked", severity: .warning,
                message: "UDP \(list) did not answer" + (f.service.map { ": \($0.rawValue)'s UDP transport will fail" } ?? ""),
                evidence: Evidence().with(ReachResult.CodingKeys.udp, blocked)))
        }
        if f.fragmentsPass == false {
            out.append(Finding(
                id: "udp-fragments-dropped", severity: .warning,
                message: "Fragmented UDP does not reach the far end: large IKE, OpenVPN or DNS datagrams will be lost",
                evidence: Evidence().with(ResponderReport.CodingKeys.fragmentsPass, false)))
        }
        return out
    }

    static func tunnelOffloadFinding(_ f: ProfileFacts) -> [Finding] {
        guard f.isTunnel else { return [] }
        let segmentation = f.activeOffloads.filter {
            ["tx-tcp-segmentation", "tx-generic-segmentation", "rx-gro", "large-receive-offload", "tx-udp-segmentation"].contains($0)
        }
        guard !segmentation.isEmpty else { return [] }
        return [Finding(
            id: "tunnel-offloads", severity: .info,
            message: "\(f.egressInterface ?? "The tunnel") has segmentation offloads on (\(segmentation.joined(separator: ", "))): captures on it show packets larger than the MTU",
            evidence: Evidence().with(AdvisorKey.activeOffloads, segmentation), interface: f.egressInterface)]
    }

    // MARK: recommendations

    static func interfaceMTU(_ f: ProfileFacts) -> [Recommendation] {
        guard let (mtu, local) = pathBelowInterface(f), let name = f.egressInterface else { return [] }
        var linux = ["ip link set dev \(name) mtu \(mtu)"]
        let kind = f.egressKind ?? "ether"
        if kind == "wireguard" {
            linux.append("# wg-quick: MTU = \(mtu) in the [Interface] section of /etc/wireguard/\(name).conf")
            linux.append("nmcli connection modify \(name) wireguard.mtu \(mtu)   # if NetworkManager manages it")
        } else if kind == "ppp" {
            linux.append("# pppd: mtu \(mtu) in the peer's options file (/etc/ppp/peers/...)")
            linux.append("nmcli connection modify <connection> ppp.mtu \(mtu)   # if NetworkManager manages it")
        } else {
            linux.append("nmcli connection modify <connection> 802-3-ethernet.mtu \(mtu)   # NetworkManager")
        }
        linux.append("# systemd-networkd: MTUBytes=\(mtu) in the [Link] section of \(name)'s .network file")
        linux.append("# netplan: mtu: \(mtu) under \(name), then: netplan apply")
        let ipv = f.family == .ipv4 ? "ipv4" : "ipv6"
        return [Recommendation(
            id: "interface-mtu", value: String(mtu),
            reason: "\(name) sends \(local)-byte packets but the path carries \(mtu)" + (f.smallerDirection.map { " \($0.phrase)" } ?? "")
                + (f.blackHole ? " and drops larger ones silently" : ""),
            linux: linux,
            windows: ["netsh interface \(ipv) set subinterface \"<interface>\" mtu=\(mtu) store=persistent"])]
    }

    static func mssClamp(_ f: ProfileFacts) -> [Recommendation] {
        guard let (mtu, _) = pathBelowInterface(f) else { return [] }
        let mss = f.family.mss(forMTU: mtu)
        let tables = f.family == .ipv4 ? "iptables" : "ip6tables"
        let out = f.egressInterface.map { " -o \($0)" } ?? ""
        let oif = f.egressInterface.map { "oifname \"\($0)\" " } ?? ""
        return [Recommendation(
            id: "tcp-mss-clamp", value: String(mss),
            reason: "TCP segments must fit \(mtu)-byte packets: MSS \(mss) (\(mtu) - \(f.family.ipHeaderSize + 20)) for traffic routed through this host",
            linux: [
                "\(tables) -t mangle -A FORWARD\(out) -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss \(mss)",
                "# or follow the route's MTU: \(tables) -t mangle -A FORWARD\(out) -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
                "nft add table inet pathprobe",
                "nft add chain inet pathprobe forward '{ type filter hook forward priority mangle; }'",
                "nft add rule inet pathprobe forward \(oif)tcp flags syn tcp option maxseg size set \(mss)",
            ],
            windows: ["# Windows derives its MSS from the interface MTU: apply interface-mtu"])]
    }

    static func tcpMTUProbing(_ f: ProfileFacts) -> [Recommendation] {
        guard f.blackHole, (f.tcpMTUProbing ?? 0) == 0 else { return [] }
        return [Recommendation(
            id: "tcp-mtu-probing", value: "1",
            reason: "A PMTU black hole was found: let TCP find the size itself when segments vanish (RFC 4821)",
            linux: [
                "sysctl -w net.ipv4.tcp_mtu_probing=1",
                "echo 'net.ipv4.tcp_mtu_probing = 1' > /etc/sysctl.d/90-tcp-mtu-probing.conf",
            ],
            windows: [
                "reg add \"HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\" /v EnablePMTUBHDetect /t REG_DWORD /d 1 /f",
            ])]
    }

    static func tcpOnly(_ f: ProfileFacts) -> [Recommendation] {
        let blocked = blockedUDPPorts(f)
        guard !blocked.isEmpty || f.fragmentsPass == false else { return [] }
        let service = f.service ?? ReachPreset.guess(udpPorts: f.udp.map(\.port))
        let what = blocked.isEmpty ? "fragmented UDP does not pass" : "UDP \(blocked.map { String($0.port) }.joined(separator: ", ")) did not answer"
        var linux: [String]
        var windows: [String]
        switch service {
        case .rdp:
            linux = ["# FreeRDP / Remmina: connect without the UDP transport (xfreerdp: omit /udp; Remmina: uncheck UDP)"]
            windows = [
                "reg add \"HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\\Client\" /v fClientDisableUDP /t REG_DWORD /d 1 /f",
                "reg add \"HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\" /v SelectTransport /t REG_DWORD /d 1 /f   # on the RDP server: TCP only",
                "# RD Gateway Manager > Properties > Transport Settings: clear \"Enable UDP transport\"",
            ]
        case .openvpn:
            linux = ["# OpenVPN: proto tcp-client in the client config (proto tcp-server on the server), then restart"]
            windows = ["# OpenVPN GUI: proto tcp-client in the .ovpn file (proto tcp-server on the server)"]
        case .ipsec:
            linux = ["# IPsec: IKE needs UDP 500/4500; use the gateway's TCP or SSL VPN mode (IKEv2 over TCP, RFC 8229, where supported)"]
            windows = ["# Windows VPN: use SSTP (TCP 443) instead of IKEv2: Set-VpnConnection -Name \"<vpn>\" -TunnelType Sstp"]
        case .wireguard:
            linux = ["# WireGuard has no TCP mode: allow UDP 51820 on the path, or carry it over TCP (e.g. udp2raw) or use a TLS VPN"]
            windows = ["# WireGuard has no TCP mode: allow UDP 51820 on the path, or use a TLS VPN"]
        case nil:
            linux = ["# use the application's TCP transport for this path"]
            windows = ["# use the application's TCP transport for this path"]
        }
        return [Recommendation(
            id: "tcp-only", value: "tcp",
            reason: "\(what)" + (service.map { ": run \($0.rawValue) over TCP" } ?? ": use TCP"),
            linux: linux, windows: windows)]
    }
}

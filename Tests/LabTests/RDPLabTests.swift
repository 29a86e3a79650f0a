import Foundation
import PathProbeCore
import Testing

/// `pathprobe rdp` (the binary, on the engine) against real Remote Desktop peers in the namespace
/// lab, IPv4 and IPv6: xrdp with its three security layers, the RD Gateway emulator and a plain web
/// server, and end to end with a real client: FreeRDP fails through a download black hole,
/// `pathprobe rdp` names it and recommends the interface MTU, the test applies the recommended Linux
/// command in the client namespace, and the same FreeRDP connects. Each check within 3 s.
///
/// Root only (namespaces); needs xrdp, freerdp2-x11, xvfb, openssl and python3 (scripts/install-deps.sh).
@Suite(.serialized, .enabled(if: RDPLab.skipReason == nil, "\(RDPLab.skipReason ?? "")"))
struct RDPLabTests {
    static func address(_ family: AddressFamily) -> String { family == .ipv4 ? LabTopology.server4 : LabTopology.server6 }
    /// FreeRDP's /v: form of the address.
    static func freerdpHost(_ family: AddressFamily) -> String { family == .ipv4 ? LabTopology.server4 : "[\(LabTopology.server6)]" }

    /// negotiate and tls select TLS, rdp selects standard RDP security (a warning and the fix, not a
    /// failure); the TLS facts are the lab chain's.
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func theThreeSecurityLayers(_ family: AddressFamily) throws {
        let lab = try RDPLab("rs")
        defer { lab.down() }
        try lab.xrdp("negotiate", port: 3389)
        try lab.xrdp("tls", port: 3390)
        try lab.xrdp("rdp", port: 3392)
        let target = Self.address(family)

        let negotiate = try lab.rdp([target])
        #expect(negotiate.status == 0, "\(negotiate.stderr)")
        let r = negotiate.report
        #expect(r.family == family)
        #expect(r.rdp?.port == 3389)
        #expect(r.rdp?.state == .negotiated)
        #expect(r.rdp?.selectedProtocol == .ssl)
        #expect(r.rdp?.failure == nil)
        let tls = try #require(r.tls)
        #expect(tls.state == .established)
        #expect(tls.version?.hasPrefix("TLSv1.") == true)
        #expect(tls.cipher?.isEmpty == false)
        #expect(tls.subject == "CN=rdp.lab.test,O=pathprobe lab")
        #expect(tls.issuer == "CN=pathprobe lab CA,O=pathprobe lab")
        #expect(tls.san == ["rdp.lab.test", LabTopology.server4, LabTopology.server6])
        #expect(tls.daysLeft == 89 || tls.daysLeft == 90)
        #expect(tls.selfSigned == false)
        #expect(tls.nameMatches == true, "the address is in the SAN")
        #expect(tls.chainLength == 2)
        #expect((tls.chainBytes ?? 0) > 1500)
        #expect((tls.handshakeBytes ?? 0) > (tls.chainBytes ?? 0))
        #expect(r.gateway == nil)
        #expect(r.udp?.port == 3389)
        #expect(r.udp?.state == .closed, "xrdp has no RDP-UDP")
        #expect(r.udp?.datagram1232Passes == true, "the host's port unreachable answered the 1232-byte datagram")
        #expect(r.mtu?.pathMTU == 1500 || r.path?.pathMTU == 1500, "a clean path: \(String(describing: r.path))")
        #expect(r.findings.map(\.id) == ["udp-transport-closed"])
        #expect(r.recommendations.isEmpty)
        #expect(negotiate.seconds < 3, "\(negotiate.seconds) s")

        let tlsLayer = try lab.rdp(["--port", "3390", "--no-udp", target])
        #expect(tlsLayer.status == 0)
        #expect(tlsLayer.report.rdp?.selectedProtocol == .ssl)
        #expect(tlsLayer.report.tls?.state == .established)
        #expect(tlsLayer.report.udp == nil)

        let standard = try lab.rdp(["--port", "3392", "--no-udp", target])
        #expect(standard.status == 0, "standard RDP security is a warning, not a broken session")
        #expect(standard.report.rdp?.selectedProtocol == .rdp)
        #expect(standard.report.tls == nil)
        #expect(standard.report.findings.first?.id == "rdp-standard-security")
        #expect(standard.report.findings.first?.severity == .warning)
        #expect(standard.report.recommendations.map(\.id) == ["rdp-security-layer"])

        // Text for people: the phases and the verdict.
        let text = lab.pathprobe(["rdp", target])
        #expect(text.status == 0)
        #expect(text.stdout.contains("negotiated, selected ssl"))
        #expect(text.stdout.contains("name matches"))
    }

    /// The RD Gateway emulator answers 401 with Negotiate and NTLM on both transports and DTLS on
    /// 3391; a plain web server is not a gateway (exit 1). `profile --rdp` and `bulk --mode rdp`
    /// carry the same section.
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func gatewayAndWebServer(_ family: AddressFamily) throws {
        let lab = try RDPLab("rg")
        defer { lab.down() }
        try lab.gateway("gateway", port: 443, udp: "3391")
        try lab.gateway("web", port: 8443, udp: "-")
        try lab.xrdp("negotiate", port: 3389)
        let target = Self.address(family)

        let gw = try lab.rdp(["--gateway", target, "desktop01.corp.test"])
        #expect(gw.status == 0, "\(gw.stderr)")
        #expect(gw.target == "desktop01.corp.test")
        let g = try #require(gw.report.gateway)
        #expect(gw.report.rdp == nil, "the host behind the gateway is not probed")
        #expect(g.address.description == target)
        #expect(g.port == 443)
        #expect(g.connect == .connected)
        #expect(g.tls?.state == .established)
        #expect(g.tls?.nameMatches == true)
        #expect(g.httpTransport?.status == 401)
        #expect(g.httpTransport?.authSchemes == ["Negotiate", "NTLM"])
        #expect(g.httpTransport?.verdict == .gateway)
        #expect(g.websocket?.status == 401)
        #expect(g.websocket?.authSchemes == ["Negotiate", "NTLM"])
        #expect(g.udp?.port == 3391)
        #expect(g.udp?.state == .open)
        #expect(g.udp?.recognized == true, "a DTLS HelloVerifyRequest")
        #expect(g.udp?.datagram1232Passes == true)
        #expect(gw.report.udp == g.udp)
        #expect(gw.report.findings.isEmpty, "\(gw.report.findings.map(\.message))")
        #expect(gw.seconds < 3, "\(gw.seconds) s")
        let log = (try? String(contentsOfFile: "\(lab.dir)/rdgw-443.log", encoding: .utf8)) ?? ""
        #expect(log.contains("RDG_OUT_DATA"), "the emulator saw the HTTP transport's request")

        let web = try lab.rdp(["--gateway", target, "--port", "8443"])
        #expect(web.status == 1, "not an RD Gateway breaks the session")
        #expect(web.report.gateway?.httpTransport?.status == 404)
        #expect(web.report.gateway?.httpTransport?.verdict == .notGateway)
        let finding = try #require(web.report.findings.first)
        #expect(finding.id == "gateway-not-gateway")
        #expect(finding.severity == .critical)
        #expect(finding.message.contains("not an RD Gateway"))
        #expect(finding.evidence[RDPAdvisor.Key.disconnectCode] == .string("0x904/0x7"))
        let webText = lab.pathprobe(["rdp", "--gateway", target, "--port", "8443"])
        #expect(webText.status == 1)
        #expect(webText.stdout.contains("not an RD Gateway"))

        // profile --rdp: the target as RDP host and as gateway, in the profile document.
        let profileRun = lab.pathprobe(["profile", "--json", "-n", "--rdp", target])
        #expect(profileRun.status == 0, "\(profileRun.stderr)")
        let profile = try Contract.decode(ProfileReport.self, from: JSON.parse(profileRun.stdout))
        let section = try #require(profile.rdp)
        #expect(section.rdp?.selectedProtocol == .ssl)
        #expect(section.tls?.state == .established)
        #expect(section.gateway?.httpTransport?.verdict == .gateway)
        #expect(section.findings.allSatisfy { $0.severity != .critical })
        #expect(try Contract.decode(ProfileReport.self, from: JSON.parse(lab.pathprobe(["profile", "--json", "-n", target]).stdout)).rdp == nil)

        // bulk --mode rdp: one rdp record per target.
        let input = "\(lab.dir)/targets.txt"
        try "\(target)\n".write(toFile: input, atomically: true, encoding: .utf8)
        let bulk = lab.pathprobe(["bulk", "--mode", "rdp", "-f", input, "--quiet"])
        #expect(bulk.status == 0, "\(bulk.stderr)")
        let record = try Contract.decode(RDPReport.self, from: JSON.parse(bulk.stdout.split(separator: "\n").first.map(String.init) ?? ""))
        #expect(record.line == 1)
        #expect(record.rdp?.state == .negotiated)
        #expect(record.gateway?.isGateway == true)
    }

    /// End to end with a real client: a 1400-byte link whose router (r2) drops its own
    /// "fragmentation needed" on the way back. FreeRDP hangs in the TLS handshake; `pathprobe rdp`
    /// says the server's certificate flight is lost to a download black hole and recommends the
    /// interface MTU; the test runs the recommended Linux command in the client namespace; the same
    /// FreeRDP connects.
    @Test(arguments: [AddressFamily.ipv4, .ipv6])
    func freeRDPThroughADownloadBlackHoleAndTheFix(_ family: AddressFamily) throws {
        let lab = try RDPLab("rb", ["--mtu2", "1400", "--blackhole", "r2"])
        defer { lab.down() }
        try lab.xrdp("negotiate", port: 3389)
        let target = Self.address(family)

        let before = lab.freerdp(Self.freerdpHost(family), seconds: 8)
        #expect(before.status != 0, "FreeRDP cannot connect through the black hole: \(before.line)")

        let broken = try lab.rdp([target])
        #expect(broken.status == 1, "a broken session: \(broken.stderr)")
        let r = broken.report
        #expect(r.rdp?.selectedProtocol == .ssl, "the negotiation's small answer passes")
        #expect(r.tls?.state == .stalled)
        let finding = try #require(r.findings.first)
        #expect(finding.id == "tls-flight-lost")
        #expect(finding.severity == .critical)
        #expect(finding.message.contains("download black hole"))
        #expect(finding.evidence[RDPAdvisor.Key.phase] == .string("tls"))
        #expect(finding.evidence[RDPAdvisor.Key.disconnectCode] == .string("0x904/0x7"))
        #expect(finding.evidence[RDPAdvisor.Key.pathMTUDown] == .int(1400))
        #expect(r.path?.pathMTUDown == 1400 || r.mtu?.pathMTU == 1400)
        let fix = try #require(r.recommendations.first { $0.id == "interface-mtu" })
        #expect(fix.value == "1400")
        let command = try #require(fix.linux.first)
        #expect(command == "ip link set dev eth0 mtu 1400")
        #expect(broken.seconds < 3, "the whole check: \(broken.seconds) s")

        // pathprobe's own upload probes taught the client's kernel the 1400 of r1's packet-too-big
        // (cached ~10 minutes, capping the MSS it advertises): forget it, so only the fix counts.
        try lab.topology.exec(lab.topology.client, "ip route flush cache")
        try lab.topology.exec(lab.topology.client, "ip -6 route flush cache")
        try lab.topology.exec(lab.topology.client, command)

        let after = lab.freerdp(Self.freerdpHost(family), seconds: 20)
        #expect(after.status == 0, "FreeRDP connects after the fix: \(after.line)")
        let fixed = try lab.rdp([target])
        #expect(fixed.status == 0, "\(fixed.report.findings.map(\.message))")
        #expect(fixed.report.tls?.state == .established)
        #expect(fixed.report.recommendations.isEmpty)
        #expect(fixed.seconds < 3, "\(fixed.seconds) s")
        print("rdp lab \(family.rawValue): FreeRDP before \(before.line), check \(broken.seconds) s; after \(after.line), check \(fixed.seconds) s")
    }
}

/// A lab (scripts/lab.sh) with the RDP peers of scripts/lab-rdp.sh: a certificate chain for
/// rdp.lab.test, 10.0.3.2 and fd00:3::2 (RSA-2048), xrdp and the gateway emulator in the server
/// namespace, FreeRDP in the client namespace. `down()` stops them and removes the lab.
final class RDPLab {
    static let script = Lab.repositoryRoot.appendingPathComponent("scripts/lab-rdp.sh").path

    static let skipReason: String? = {
        if let reason = Lab.skipReason { return reason }
        for tool in ["xrdp", "xfreerdp", "xvfb-run", "openssl", "python3"] where !["/usr/bin", "/usr/sbin", "/bin", "/sbin"].contains(where: {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
        }) {
            return "\(tool) is not installed (scripts/install-deps.sh)"
        }
        return nil
    }()

    let topology: LabTopology
    let dir: String
    private var pids: [String] = []

    init(_ base: String, _ options: [String] = []) throws {
        topology = try LabTopology(base, options)
        dir = NSTemporaryDirectory() + "\(topology.prefix)-rdp"
        do {
            try Lab.sh("\(Self.script) certs \(dir) rdp.lab.test --ip \(LabTopology.server4) --ip \(LabTopology.server6) --bits 2048")
        } catch {
            down()
            throw error
        }
    }

    func down() {
        for pid in pids.reversed() { _ = try? Lab.sh("\(Self.script) stop \(pid)") }
        pids = []
        topology.down()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func xrdp(_ layer: String, port: UInt16) throws {
        pids.append(try Lab.sh("\(Self.script) xrdp-start \(topology.server) \(dir) \(layer) \(port)").trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The RD Gateway emulator (or a web server, a proxy, a redirect) on TLS `port`, DTLS on `udp` ("-": none).
    func gateway(_ mode: String, port: UInt16, udp: String) throws {
        pids.append(try Lab.sh("\(Self.script) gateway-start \(topology.server) \(dir) \(mode) \(port) \(udp)")
            .trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// FreeRDP from the client namespace: its exit status (0: connected) and the harness's summary line.
    func freerdp(_ host: String, seconds: Int) -> (status: Int32, line: String) {
        let run = Lab.run([Self.script, "freerdp", topology.client, host, String(seconds)])
        return (run.status, run.stdout.split(separator: "\n").last.map(String.init) ?? "")
    }

    func pathprobe(_ args: [String]) -> Lab.Run { topology.pathprobe(args) }

    struct Check {
        let status: Int32
        let report: RDPReport
        let target: String
        let seconds: Double
        let stderr: String
    }

    /// `pathprobe rdp --json ARGS` in the client namespace, read back as the typed `rdp` document.
    func rdp(_ args: [String]) throws -> Check {
        let started = Date()
        let run = pathprobe(["rdp", "--json"] + args)
        let seconds = Date().timeIntervalSince(started)
        let json = try JSON.parse(run.stdout)
        #expect(json["type"]?.stringValue == "rdp" && json["schema_version"]?.intValue == 2)
        let report = try Contract.decode(RDPReport.self, from: json)
        return Check(status: run.status, report: report, target: json["target"]?.stringValue ?? "", seconds: seconds, stderr: run.stderr)
    }
}

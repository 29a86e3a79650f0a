import Foundation
import Testing
import PathProbeCore
import PathProbeTLS
#if canImport(Glibc)
import Glibc
#endif

/// The real peers of the RDP lab, before `pathprobe rdp` exists (phase 2 runs the binary): xrdp in
/// the server namespace of scripts/lab.sh behind a download black hole (r2 forwards server-to-client
/// traffic into a 1400-byte link and drops its own "fragmentation needed"), the FreeRDP harness of
/// scripts/lab-rdp.sh, and the RDP check run from the client namespace over plain sockets.
///
/// Root only (namespaces); skipped with the reason otherwise.
@Suite(.serialized, .enabled(if: RDPLab.skipReason == nil, "\(RDPLab.skipReason ?? "")"))
struct RDPLabTests {
    static let server4 = IPAddress("10.0.3.2")!
    static let server6 = IPAddress("fd00:3::2")!

    func check(_ lab: RDPLab, _ address: IPAddress) -> (RDPCheckResult, Double) {
        lab.inClientNamespace {
            let check = RDPCheck(target: .direct(RDPEndpoint(name: "rdp.lab.test", address: address, port: 3389), udpPort: 3389),
                                 options: { var o = RDPCheckOptions(); o.probeUDP = false; return o }(),
                                 tls: TLSClient.factory(referenceTime: Int64(Date().timeIntervalSince1970)))
            let ms = SocketRunner().run(check)
            return (check.result, ms)
        }
    }

    func checkGateway(_ lab: RDPLab, _ address: IPAddress) -> GatewayCheckResult? {
        lab.inClientNamespace {
            let check = RDPCheck(target: .gateway(RDPEndpoint(name: "rdp.lab.test", address: address, port: 443), udpPort: 3391),
                                 options: { var o = RDPCheckOptions(); o.probeUDP = false; return o }(),
                                 tls: TLSClient.factory(referenceTime: Int64(Date().timeIntervalSince1970)))
            SocketRunner().run(check)
            return check.result.gateway
        }
    }

    @Test func blackHoleStallsTLSAndFreeRDPUntilTheMTUIsFixed() throws {
        let lab = try RDPLab(["--mtu2", "1400", "--blackhole", "r2"])
        defer { lab.down() }
        let xrdp = try lab.startXrdp("negotiate")
        defer { lab.stop(xrdp) }
        let gateway = try lab.startGateway()
        defer { lab.stop(gateway) }

        for address in [Self.server4, Self.server6] {
            let (r, ms) = check(lab, address)
            #expect(r.rdp?.state == .negotiated, "\(address)")
            #expect(r.rdp?.selectedProtocol == .ssl)
            let tls = try #require(r.tls)
            #expect(tls.state == .stalled, "\(address): the certificate flight is lost")
            #expect(tls.facts == nil)
            #expect((tls.tcpInfo?.bytesReceived ?? 0) < 1400, "only what fits in small segments arrived")
            #expect(ms < 3000, "\(address): \(ms) ms")
        }
        let stalled = try #require(checkGateway(lab, Self.server4))
        #expect(stalled.connect == .connected)
        #expect(stalled.tls?.state == .stalled)
        #expect(stalled.httpTransport?.state == .tlsFailed)
        #expect(stalled.isGateway == nil, "nothing answered the gateway's request")
        let lost = try lab.freerdp("10.0.3.2", seconds: 8)
        #expect(lost.status != 0, "FreeRDP hangs in the TLS handshake: \(lost.line)")

        // The fix a finding will recommend: the client's interface MTU at the black hole's size.
        try lab.exec(lab.client, "ip link set dev eth0 mtu 1400")
        for address in [Self.server4, Self.server6] {
            let (r, ms) = check(lab, address)
            #expect(r.tls?.state == .established, "\(address)")
            #expect(r.tls?.facts?.chainLength == 2)
            #expect(r.tls?.facts?.nameMatches == true)
            #expect(ms < 3000, "\(address): \(ms) ms")
        }
        let answered = try #require(checkGateway(lab, Self.server6))
        #expect(answered.httpTransport?.verdict == .gateway(authSchemes: ["Negotiate", "NTLM"]))
        #expect(answered.websocket?.status == 401)
        let fixed = try lab.freerdp("10.0.3.2", seconds: 20)
        #expect(fixed.status == 0, "FreeRDP connects: \(fixed.line)")
        let fixed6 = try lab.freerdp("[fd00:3::2]", seconds: 20)
        #expect(fixed6.status == 0, "FreeRDP connects over IPv6: \(fixed6.line)")
    }

    @Test func cleanPathAndTheThreeSecurityLayers() throws {
        let lab = try RDPLab([])
        defer { lab.down() }
        for (layer, port, selected) in [("negotiate", UInt16(3389), X224.SelectedProtocol.ssl), ("tls", 3390, .ssl), ("rdp", 3391, .rdp)] {
            let xrdp = try lab.startXrdp(layer, port: port)
            defer { lab.stop(xrdp) }
            let result: RDPCheckResult = lab.inClientNamespace {
                let check = RDPCheck(target: .direct(RDPEndpoint(name: "fd00:3::2", address: Self.server6, port: port), udpPort: port),
                                     options: { var o = RDPCheckOptions(); o.probeUDP = false; return o }(),
                                     tls: TLSClient.factory(referenceTime: Int64(Date().timeIntervalSince1970)))
                SocketRunner().run(check)
                return check.result
            }
            #expect(result.rdp?.selectedProtocol == selected, "\(layer)")
            #expect(result.tls?.state == (selected == .rdp ? nil : .established), "\(layer)")
            #expect(result.tls?.facts?.nameMatches == (selected == .rdp ? nil : true), "\(layer): the SAN holds fd00:3::2")
        }
        let xrdp = try lab.startXrdp("negotiate")
        defer { lab.stop(xrdp) }
        let run = try lab.freerdp("10.0.3.2", seconds: 20)
        #expect(run.status == 0, "FreeRDP connects on a clean path: \(run.line)")
    }
}

/// One client - r1 - r2 - server lab (scripts/lab.sh) with a certificate chain for rdp.lab.test,
/// 10.0.3.2 and fd00:3::2 (scripts/lab-rdp.sh certs).
final class RDPLab {
    static let labScript = Loopback.repositoryRoot.appendingPathComponent("scripts/lab.sh").path

    static let skipReason: String? = {
        if getuid() != 0 { return "lab tests need root to create network namespaces (run as root, as CI does)" }
        for tool in ["ip", "xrdp", "openssl", "python3"] where Loopback.which(tool) == nil {
            return "\(tool) is not installed (scripts/install-deps.sh)"
        }
        return nil
    }()

    let prefix = "pprdp" + String(UInt32.random(in: 0...0xfffff), radix: 36)
    let dir: URL
    var client: String { prefix + "c" }
    var server: String { prefix + "s" }

    init(_ options: [String]) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-rdp")
        do {
            try Loopback.sh("\(Self.labScript) up \(prefix) \(options.joined(separator: " "))")
            try Loopback.sh("\(Loopback.labRDP) certs \(dir.path) rdp.lab.test --ip 10.0.3.2 --ip fd00:3::2 --bits 2048")
        } catch {
            down()
            throw error
        }
    }

    func down() {
        _ = try? Loopback.sh("\(Self.labScript) down \(prefix)")
        try? FileManager.default.removeItem(at: dir)
    }

    @discardableResult
    func exec(_ namespace: String, _ command: String) throws -> String {
        try Loopback.sh("ip netns exec \(namespace) \(command)")
    }

    func startXrdp(_ layer: String, port: UInt16 = 3389) throws -> String {
        try Loopback.sh("\(Loopback.labRDP) xrdp-start \(server) \(dir.path) \(layer) \(port)").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The RD Gateway emulator on 443 (and DTLS on 3391) in the server namespace.
    func startGateway(mode: String = "gateway") throws -> String {
        try Loopback.sh("\(Loopback.labRDP) gateway-start \(server) \(dir.path) \(mode)").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stop(_ pid: String) { Loopback.stop(pid: pid) }

    /// The FreeRDP harness; its status (0: connected) and summary line.
    func freerdp(_ host: String, seconds: Int, port: UInt16 = 3389) throws -> (status: Int32, line: String) {
        let target = port == 3389 ? host : "\(host):\(port)"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Loopback.labRDP)
        p.arguments = ["freerdp", client, target, String(seconds)]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text.split(separator: "\n").last.map(String.init) ?? "")
    }

    /// Runs `body` on a thread that joined the client namespace (setns applies to the calling
    /// thread only); sockets it opens live there.
    func inClientNamespace<T>(_ body: @escaping () -> T) -> T {
        let box = ThreadBox<T>()
        box.body = body
        let path = "/var/run/netns/\(client)"
        let thread = Thread {
            let fd = open(path, O_RDONLY)
            guard fd >= 0, pathprobe_test_setns(fd, 0x4000_0000) == 0 else { return }  // CLONE_NEWNET
            close(fd)
            box.value = box.body?()
        }
        thread.start()
        while !thread.isFinished { usleep(1000) }
        return box.value!
    }
}

/// Carries a closure and its result across a Thread (the caller waits for the thread to end).
private final class ThreadBox<T>: @unchecked Sendable {
    var value: T?
    var body: (() -> T)?
}

/// setns(2): Glibc's Swift module does not export it (it needs _GNU_SOURCE).
@_silgen_name("setns") private func pathprobe_test_setns(_ fd: Int32, _ nstype: Int32) -> Int32

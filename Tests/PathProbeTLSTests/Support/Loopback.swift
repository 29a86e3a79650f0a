import Foundation
import PathProbeCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Real peers on loopback for the TLS client and the RDP check: processes started for one test
/// (openssl s_server, the RD Gateway emulator, xrdp) and a small blocking runner that drives a
/// `Measurement`'s stream probes over real sockets. The engine's event loop does this in the tool;
/// this is only enough for tests (no UDP, TCP_INFO counts bytes only).
enum Loopback {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let labRDP = repositoryRoot.appendingPathComponent("scripts/lab-rdp.sh").path
    static let emulator = repositoryRoot.appendingPathComponent("Tests/LabTests/Support/rdgw_emulator.py").path

    static func which(_ program: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for dir in path + ["/usr/sbin", "/sbin"] {
            let path = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static var hasOpenSSL: Bool { which("openssl") != nil }
    static var hasPython: Bool { which("python3") != nil }
    static var hasXrdp: Bool { which("xrdp") != nil }

    /// Runs a command to completion; throws with its output when it fails.
    @discardableResult
    static func sh(_ command: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", command]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else { throw Failure("`\(command)` exited \(p.terminationStatus): \(text)") }
        return text
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// A certificate directory made by scripts/lab-rdp.sh (RSA-2048 here: fast enough for unit
    /// tests), removed when the test process exits.
    static func certificates(_ name: String, extra: String = "") throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathprobe-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        temporaryDirectories.withLock { dirs in
            if dirs.isEmpty { atexit { Loopback.temporaryDirectories.withLock { $0.forEach { try? FileManager.default.removeItem(atPath: $0) } } } }
            dirs.append(dir.path)
        }
        try sh("\(labRDP) certs \(dir.path) \(name) --ip 127.0.0.1 --ip ::1 --bits 2048 \(extra)")
        return dir
    }

    static let temporaryDirectories = Mutex<[String]>([])

    /// A process that prints the port it listens on; stopped (and reaped) by `stop()`.
    final class Server {
        let process = Process()
        private(set) var port: UInt16 = 0
        private(set) var output = ""

        /// Starts `argv` (line-buffered, killed after two minutes whatever happens to the test);
        /// waits until a line of its output matches `portLine` (which returns the port).
        init(_ argv: [String], portLine: @escaping (String) -> UInt16?) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments = ["-s", "KILL", "120", "stdbuf", "-oL", "-eL"] + argv
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let handle = pipe.fileHandleForReading
            let deadline = Date().addingTimeInterval(10)
            var buffer = ""
            while Date() < deadline, process.isRunning {
                let data = handle.availableData
                if data.isEmpty { break }
                buffer += String(decoding: data, as: UTF8.self)
                for line in buffer.split(separator: "\n") {
                    if let p = portLine(String(line)) { port = p }
                }
                if port != 0 { break }
            }
            output = buffer
            guard port != 0 else {
                stop()
                throw Failure("\(argv[0]) did not start: \(buffer)")
            }
        }

        /// SIGKILL to the process group `timeout` leads (it and the server): the test runner's
        /// blocked SIGTERM is inherited by its children.
        func stop() {
            if process.isRunning {
                kill(-process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
    }

    /// openssl s_server on 127.0.0.1, any port, with `dir`'s chain.
    static func opensslServer(_ dir: URL, _ options: [String] = ["-www"]) throws -> Server {
        let ca = dir.appendingPathComponent("ca.pem").path
        let chain = FileManager.default.fileExists(atPath: ca) ? ["-cert_chain", ca] : []
        return try Server([which("openssl")!, "s_server", "-accept", "127.0.0.1:0", "-cert", dir.appendingPathComponent("leaf.pem").path,
                           "-key", dir.appendingPathComponent("leaf.key").path, "-naccept", "20"] + chain + options) { line in
            line.hasPrefix("ACCEPT ") ? line.split(separator: ":").last.flatMap { UInt16($0) } : nil
        }
    }

    /// The RD Gateway emulator on 127.0.0.1, any TCP port; DTLS on `udpPort` (0: none).
    static func gatewayEmulator(_ dir: URL, mode: String, log: URL, udpPort: UInt16 = 0) throws -> Server {
        try Server([which("python3")!, emulator, "--cert", dir.appendingPathComponent("chain.pem").path,
                    "--key", dir.appendingPathComponent("leaf.key").path, "--mode", mode, "--port", "0",
                    "--udp-port", String(udpPort),
                    "--bind4", "127.0.0.1", "--bind6", "-", "--seconds", "120", "--log", log.path]) { line in
            line.hasPrefix("listening ") ? UInt16(line.dropFirst("listening ".count)) : nil
        }
    }

    /// xrdp on 127.0.0.1 (scripts/lab-rdp.sh xrdp-start with namespace "-"); returns its PID and port.
    static func xrdp(_ dir: URL, layer: String) throws -> (pid: String, port: UInt16) {
        let port = freePort()
        let pid = try sh("\(labRDP) xrdp-start - \(dir.path) \(layer) \(port)").trimmingCharacters(in: .whitespacesAndNewlines)
        return (pid, port)
    }

    static func stop(pid: String) { _ = try? sh("\(labRDP) stop \(pid)") }

    /// A TCP port on 127.0.0.1 that nothing listens on right now.
    static func freePort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                _ = bind(fd, p, length)
                return getsockname(fd, p, &length)
            }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    // MARK: - Sockets

    static func now() -> Nanoseconds {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Nanoseconds(ts.tv_sec) * 1_000_000_000 + Nanoseconds(ts.tv_nsec)
    }

    /// A non-blocking TCP socket connecting to 127.0.0.1:port (connect in progress).
    static func startConnect(port: UInt16) -> Int32 {
        startConnect(to: IPAddress("127.0.0.1")!, port: port)
    }

    /// A non-blocking TCP socket connecting to address:port (connect in progress).
    static func startConnect(to address: IPAddress, port: UInt16) -> Int32 {
        let family = address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if address.family == .ipv4 {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            a.sin_addr.s_addr = address.ipv4Value.bigEndian
            _ = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        } else {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &a.sin6_addr) { raw in
                for (i, b) in address.bytes.enumerated() { raw[i] = b }
            }
            _ = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        return fd
    }

    /// One UDP datagram to 127.0.0.1:port and the first answer within `ms`, if any.
    static func udpExchange(port: UInt16, _ payload: [UInt8], ms: Int32 = 2000) -> [UInt8]? {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let sent = withUnsafePointer(to: &a) { ap in
            ap.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                payload.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard sent == payload.count else { return nil }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, ms) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(buffer.prefix(n)) : nil
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if errno == EAGAIN || errno == EINTR {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 100)
                continue
            }
            return
        }
    }

    /// A TLS client and its socket, driven until `done` says so or `seconds` pass.
    static func drive(_ tls: TLSSession, port: UInt16, seconds: Double = 5, request: [UInt8]? = nil,
                      done: (TLSSession, [UInt8]) -> Bool) -> [UInt8] {
        let fd = startConnect(port: port)
        defer { close(fd) }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&p, 1, 2000) == 1 else { return [] }
        var plaintext: [UInt8] = []
        var sentRequest = false
        let deadline = now() + Nanoseconds(seconds * 1e9)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while now() < deadline {
            let out = tls.takeOutgoing()
            if !out.isEmpty { sendAll(fd, out) }
            if tls.state == .established, let request, !sentRequest {
                sentRequest = true
                tls.send(request)
                continue
            }
            plaintext += tls.takeReceived()
            if done(tls, plaintext) { break }
            if case .failed = tls.state { break }
            p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) == 1 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                tls.receive(Array(buffer.prefix(n)))
            } else if n == 0 {
                tls.peerClosed()
                plaintext += tls.takeReceived()
                break
            }
        }
        return plaintext
    }
}

/// Runs a Measurement's TCP connections over real sockets, on one thread: to the requested address,
/// or to 127.0.0.1 for a port in `loopbackPorts` (the measurement's port to the real one). UDP
/// probes time out. TCP_INFO: glibc's struct tcp_info (the bytes received are counted here).
final class SocketRunner {
    private struct Conn {
        let fd: Int32
        let id: ConnectionID
        let request: ConnectionRequest
        let started: Nanoseconds
        var connected = false
        var eof = false
        var received: UInt64 = 0
    }

    let loopbackPorts: [UInt16: UInt16]
    private var conns: [UInt32: Conn] = [:]
    private var nextID: UInt32 = 1
    private var wakes: [Nanoseconds] = []
    private var pending: [ConnectionResult] = []
    private var probes: [(at: Nanoseconds, request: ProbeRequest)] = []

    init(loopbackPorts: [UInt16: UInt16] = [:]) { self.loopbackPorts = loopbackPorts }

    struct Scheduler: ProbeScheduler {
        let runner: SocketRunner
        var now: Nanoseconds { Loopback.now() }
        mutating func send(_ probe: ProbeRequest) { runner.probes.append((Loopback.now() + probe.timeout, probe)) }
        mutating func wake(at time: Nanoseconds) { runner.wakes.append(time) }
        mutating func connect(_ request: ConnectionRequest) -> ConnectionID { runner.connect(request) }
        mutating func write(_ bytes: [UInt8], to connection: ConnectionID) {
            if let c = runner.conns[connection.raw] { Loopback.sendAll(c.fd, bytes) }
        }
        mutating func requestInfo(_ connection: ConnectionID) {
            guard let c = runner.conns[connection.raw] else { return }
            runner.pending.append(runner.event(c, .info(runner.info(c))))
        }
        mutating func close(_ connection: ConnectionID) {
            if let c = runner.conns.removeValue(forKey: connection.raw) { Glibc.close(c.fd) }
        }
    }

    private func connect(_ request: ConnectionRequest) -> ConnectionID {
        let id = ConnectionID(raw: nextID)
        nextID += 1
        let fd = loopbackPorts[request.port].map { Loopback.startConnect(port: $0) }
            ?? Loopback.startConnect(to: request.destination, port: request.port)
        conns[id.raw] = Conn(fd: fd, id: id, request: request, started: Loopback.now())
        return id
    }

    private func info(_ c: Conn) -> TCPInfo {
        var i = TCPInfo()
        i.bytesReceived = c.received
        var t = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        if getsockopt(c.fd, Int32(IPPROTO_TCP), TCP_INFO, &t, &length) == 0 {
            i.receiveMSS = Int(t.tcpi_rcv_mss)
            i.sendMSS = Int(t.tcpi_snd_mss)
            i.advertisedMSS = Int(t.tcpi_advmss)
            i.pathMTU = Int(t.tcpi_pmtu)
            i.unacked = Int(t.tcpi_unacked)
            i.totalRetransmits = Int(t.tcpi_total_retrans)
            i.rttMicroseconds = Int(t.tcpi_rtt)
            i.timestamps = Int32(t.tcpi_options) & TCPI_OPT_TIMESTAMPS != 0
        }
        return i
    }

    private func event(_ c: Conn, _ e: ConnectionEvent) -> ConnectionResult {
        ConnectionResult(id: c.id, tag: c.request.tag, request: c.request, event: e, time: Loopback.now())
    }

    /// Runs `m` until it finishes or `seconds` pass; returns the wall time in ms.
    @discardableResult
    func run(_ m: any PathProbeCore.Measurement, seconds: Double = 10) -> Double {
        var s = Scheduler(runner: self)
        let start = Loopback.now()
        let limit = start + Nanoseconds(seconds * 1e9)
        m.advance(&s)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !m.isFinished, Loopback.now() < limit {
            while !pending.isEmpty {
                let e = pending.removeFirst()
                if conns[e.id.raw] != nil { m.handle(e, &s) }
            }
            let now = Loopback.now()
            for (i, probe) in probes.enumerated().reversed() where probe.at <= now {
                probes.remove(at: i)
                m.handle(ProbeResult(tag: probe.request.tag, request: probe.request, outcome: .timeout, rtt: 0), &s)
            }
            if wakes.contains(where: { $0 <= now }) {
                wakes.removeAll { $0 <= now }
                m.advance(&s)
                continue
            }
            let active = conns.values.filter { !$0.eof }
            var fds = active.map { pollfd(fd: $0.fd, events: Int16($0.connected ? POLLIN : POLLOUT), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 10)
            for (c, p) in zip(active, fds) where p.revents != 0 {
                guard var conn = conns[c.id.raw] else { continue }
                if !conn.connected {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error == 0 {
                        conn.connected = true
                        conns[c.id.raw] = conn
                        m.handle(event(conn, .connected(info(conn))), &s)
                    } else {
                        conn.eof = true
                        conns[c.id.raw] = conn
                        m.handle(event(conn, .failed(errno: error)), &s)
                    }
                    continue
                }
                let n = buffer.withUnsafeMutableBytes { recv(conn.fd, $0.baseAddress, $0.count, 0) }
                if n > 0 {
                    conn.received += UInt64(n)
                    conns[c.id.raw] = conn
                    m.handle(event(conn, .received(Array(buffer.prefix(n)), info(conn))), &s)
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    let failure = n < 0 ? errno : 0
                    conn.eof = true
                    conns[c.id.raw] = conn
                    m.handle(event(conn, failure == 0 ? .peerClosed(info(conn)) : .failed(errno: failure)), &s)
                }
            }
            for c in conns.values where !c.connected && !c.eof && Loopback.now() - c.started > c.request.timeout {
                var conn = c
                conn.eof = true
                conns[c.id.raw] = conn
                m.handle(event(conn, .timedOut), &s)
            }
        }
        for c in conns.values { close(c.fd) }
        conns = [:]
        return (Loopback.now() - start).inMs
    }
}

import CPathProbe
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// The unprivileged fallback for TCP ports (no raw sockets): a non-blocking connect() per port,
/// all in flight at once (up to `concurrency`), on its own epoll. `open` = connected, `closed` =
/// refused, `filtered` = silence or an unreachable error (no ICMP details: the kernel keeps them).
///
/// The MSS comes from the connected socket (`mss_source` "tcp_maxseg"): TCP_MAXSEG is the segment
/// size in use, the peer's MSS minus 12 when timestamps were negotiated (TCP_INFO says so, and the
/// 12 is added back), and never above what our own interface allows.
public enum TCPConnectProber {
    public static func probe(_ destination: IPAddress, ports: [UInt16], timeoutMs: Double, attempts: Int,
                             concurrency: Int = 256) -> [TCPPortResult] {
        var results = ports.map { TCPPortResult(port: $0, state: .filtered, attempts: 0) }
        let epollFD = cpp_epoll_create()
        guard epollFD >= 0 else {
            for i in results.indices { results[i].error = "epoll_create1: \(ICMPNames.errnoName(errno))" }
            return results
        }
        defer { close(epollFD) }
        struct Attempt { var fd: Int32; var index: Int; var started: Nanoseconds }
        var inFlight: [Int32: Attempt] = [:]
        var next = 0
        var retry: [Int] = []
        let timeout = Nanoseconds.fromMs(timeoutMs / Double(max(1, attempts)))

        func start(_ index: Int) {
            results[index].attempts += 1
            let fd = socket(destination.family == .ipv4 ? AF_INET : AF_INET6,
                            Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { results[index].error = "socket: \(ICMPNames.errnoName(errno))"; return }
            var sa = SocketAddress.make(destination, port: results[index].port)
            let rc = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, SocketAddress.length(destination.family)) }
            }
            if rc != 0 && errno != EINPROGRESS {
                finish(fd, index, error: errno, now: System.now(), started: System.now())
                return
            }
            _ = cpp_epoll_add(epollFD, fd, cpp_EPOLLOUT | cpp_EPOLLERR, UInt64(fd))
            inFlight[fd] = Attempt(fd: fd, index: index, started: System.now())
        }

        func finish(_ fd: Int32, _ index: Int, error e: Int32, now: Nanoseconds, started: Nanoseconds) {
            var r = results[index]
            switch e {
            case 0:
                r.state = .open
                r.rttMs = (now - started).inMs
                r.mss = advertisedMSS(fd)
                r.mssSource = r.mss == nil ? nil : "tcp_maxseg"
            case ECONNREFUSED:
                r.state = .closed
                r.rttMs = (now - started).inMs
            default:
                r.state = .filtered
                r.error = "connect: \(ICMPNames.errnoName(e))"
            }
            results[index] = r
            close(fd)
        }

        var events = [cpp_epoll_event](repeating: cpp_epoll_event(), count: 64)
        while next < ports.count || !inFlight.isEmpty || !retry.isEmpty {
            while inFlight.count < concurrency, let index = retry.popLast() ?? (next < ports.count ? next : nil) {
                if index == next { next += 1 }
                start(index)
            }
            let now = System.now()
            let oldest = inFlight.values.map(\.started).min() ?? now
            let wait = oldest + timeout > now ? Int64(oldest + timeout - now) : 0
            let n = events.withUnsafeMutableBufferPointer { cpp_epoll_wait_ns(epollFD, $0.baseAddress, 64, min(wait, 100_000_000)) }
            let after = System.now()
            for i in 0..<max(0, Int(n)) {
                let fd = Int32(truncatingIfNeeded: events[i].data)
                guard let a = inFlight.removeValue(forKey: fd) else { continue }
                var e: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len)
                finish(fd, a.index, error: e, now: after, started: a.started)
            }
            for a in inFlight.values where after >= a.started + timeout {
                inFlight[a.fd] = nil
                close(a.fd)
                if results[a.index].attempts < attempts { retry.append(a.index) }
            }
        }
        return results
    }

    /// The MSS the peer advertised, as far as a connected socket tells it.
    static func advertisedMSS(_ fd: Int32) -> Int? {
        var mss: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_MAXSEG, &mss, &len) == 0, mss > 0 else { return nil }
        var info = tcp_info()
        var infoLength = socklen_t(MemoryLayout<tcp_info>.size)
        let timestamps = getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &infoLength) == 0
            && Int32(info.tcpi_options) & TCPI_OPT_TIMESTAMPS != 0
        return Int(mss) + (timestamps ? 12 : 0)
    }
}

import CPathProbe
import PathProbeCore
import PathProbeNetlink

#if canImport(Glibc)
import Glibc
#endif

/// The local end of a path is the kernel's route (`Egress`, PathProbeNetlink's `RouteLookup`): the
/// one egress lookup. These names keep the engine's sockets on it.
public typealias LocalPath = Egress
public typealias EgressCache = RouteLookup.Cache

/// Name resolution for the command line. Literal addresses never touch DNS.
public enum Resolver {
    public enum ResolveError: Error, CustomStringConvertible {
        case unknownHost(String, String)
        case wrongFamily(String, AddressFamily)
        public var description: String {
            switch self {
            case let .unknownHost(h, why): return "unknown host '\(h)': \(why)"
            case let .wrongFamily(h, f): return "'\(h)' is not an \(f == .ipv4 ? "IPv4" : "IPv6") address"
            }
        }
    }

    public static func resolve(_ host: String, family: AddressFamily? = nil) throws -> IPAddress {
        var text = host
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if let literal = IPAddress(text) {
            if let family, literal.family != family { throw ResolveError.wrongFamily(host, family) }
            return literal
        }
        // The one rule for names (Core's HostName): legacy numeric forms (127.1, 0x7f.0.0.1) never
        // reach getaddrinfo, which would read them as inet_aton does.
        if let why = HostName.problem(text) { throw ResolveError.unknownHost(host, why) }
        var hints = addrinfo()
        hints.ai_family = family == nil ? AF_UNSPEC : (family == .ipv4 ? AF_INET : AF_INET6)
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(text, nil, &hints, &result)
        guard rc == 0, let first = result else { throw ResolveError.unknownHost(host, String(cString: gai_strerror(rc))) }
        defer { freeaddrinfo(result) }
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let ai = p {
            if let sa = ai.pointee.ai_addr, let (a, _) = SocketAddress.parse(UnsafeRawPointer(sa), length: Int(ai.pointee.ai_addrlen)) {
                return a
            }
            p = ai.pointee.ai_next
        }
        throw ResolveError.unknownHost(host, "no usable address")
    }

    /// Reverse lookups with an overall deadline (each lookup on its own thread: getnameinfo blocks).
    /// Addresses that do not resolve in time are simply left out.
    public static func reverse(_ addresses: [IPAddress], deadlineMs: Int = 1500) -> [IPAddress: String] {
        let unique = Array(Set(addresses))
        if unique.isEmpty { return [:] }
        let box = ReverseBox()
        var threads: [pthread_t] = []
        for a in unique {
            let ctx = Unmanaged.passRetained(ReverseJob(address: a, box: box)).toOpaque()
            var t = pthread_t()
            if pthread_create(&t, nil, { raw in
                let job = Unmanaged<ReverseJob>.fromOpaque(raw!).takeRetainedValue()
                job.box.finish(job.address, Resolver.nameInfo(job.address))
                return nil
            }, ctx) == 0 {
                pthread_detach(t)
                threads.append(t)
            }
        }
        let start = MonotonicClock.now()
        while box.finished < unique.count && MonotonicClock.now() - start < Nanoseconds.fromMs(Double(deadlineMs)) { usleep(5000) }
        return box.snapshot()
    }

    static func nameInfo(_ a: IPAddress) -> String? {
        var sa = SocketAddress.make(a, port: 0)
        var host = [CChar](repeating: 0, count: 1025)
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, SocketAddress.length(a.family), &host, 1025, nil, 0, NI_NAMEREQD)
            }
        }
        guard rc == 0 else { return nil }
        return String(decoding: host.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

private final class ReverseJob {
    let address: IPAddress
    let box: ReverseBox
    init(address: IPAddress, box: ReverseBox) {
        self.address = address
        self.box = box
    }
}

/// Results of the reverse lookups, shared with their threads under a mutex.
private final class ReverseBox: @unchecked Sendable {
    private var names: [IPAddress: String] = [:]
    private var done = 0
    private var lock = pthread_mutex_t()
    init() { pthread_mutex_init(&lock, nil) }
    deinit { pthread_mutex_destroy(&lock) }
    func finish(_ a: IPAddress, _ name: String?) {
        pthread_mutex_lock(&lock)
        if let name { names[a] = name }
        done += 1
        pthread_mutex_unlock(&lock)
    }
    var finished: Int {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return done
    }
    func snapshot() -> [IPAddress: String] {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return names
    }
}

/// CLOCK_MONOTONIC, the engine's time base.
public enum MonotonicClock {
    public static func now() -> Nanoseconds { cpp_monotonic_ns() }
}

import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// Reads and writes /proc/sys. Network sysctls there belong to the namespace of the reading process.
enum ProcSys {
    static let root = "/proc/sys/"

    /// The file's text, nil when it is missing or unreadable.
    static func read(_ path: String) -> String? {
        let fd = open(root + path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }

    static func integer(_ path: String) -> Int? { read(path).flatMap { PMTUSysctls.parseIntegers($0).first } }

    /// Writes `value`; returns 0 or the errno.
    static func write(_ path: String, _ value: String) -> Int32 {
        let fd = open(root + path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let n = value.withCString { Glibc.write(fd, $0, strlen($0)) }
        return n < 0 ? errno : 0
    }

    /// The PMTU-related sysctls of the caller's namespace.
    static func pmtuSysctls() -> PMTUSysctls {
        var values: [String: Int] = [:]
        for key in PMTUSysctls.integerKeys {
            if let v = integer(key.path) { values[key.name] = v }
        }
        var range: (first: Int, last: Int)? = nil
        if let text = read(PMTUSysctls.pingGroupRangePath) {
            let v = PMTUSysctls.parseIntegers(text)
            if v.count == 2 { range = (v[0], v[1]) }
        }
        return PMTUSysctls(values: values, pingGroupRange: range)
    }

    /// net.ipv6.conf.NAME.mtu, nil when IPv6 is off on the link (or everywhere).
    static func ipv6MTU(interface name: String) -> Int? {
        guard !name.contains("/"), name != ".", name != ".." else { return nil }
        return integer("net/ipv6/conf/\(name)/mtu")
    }
}

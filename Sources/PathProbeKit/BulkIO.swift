import PathProbeCore
import PathProbeEngine

#if canImport(Glibc)
import Glibc
#endif

/// File plumbing for `pathprobe bulk`: a lazy line reader and an output file written one record
/// per write(2). (SIGINT / SIGTERM: `SignalWatcher`.)

/// Lines of a file descriptor, read in 64 KiB chunks as they are asked for ("\n" ends a line; a last
/// line without one still counts). Invalid UTF-8 is replaced, never fatal.
final class BulkLineReader: IteratorProtocol {
    private let fd: Int32
    private let ownsFD: Bool
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var position = 0
    private var length = 0
    private var partial: [UInt8] = []
    private var atEnd = false

    init(fd: Int32, ownsFD: Bool) {
        self.fd = fd
        self.ownsFD = ownsFD
    }

    /// Opens `path` for reading; throws the errno as a readable message.
    static func open(_ path: String) throws -> BulkLineReader {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PathProbeError.usage("cannot read \(path): \(String(cString: strerror(errno)))") }
        return BulkLineReader(fd: fd, ownsFD: true)
    }

    deinit { if ownsFD { close(fd) } }

    func next() -> String? {
        while true {
            if position < length {
                if let nl = buffer[position..<length].firstIndex(of: 0x0a) {
                    let line: String
                    if partial.isEmpty {
                        line = String(decoding: buffer[position..<nl], as: UTF8.self)
                    } else {
                        partial.append(contentsOf: buffer[position..<nl])
                        line = String(decoding: partial, as: UTF8.self)
                        partial.removeAll(keepingCapacity: true)
                    }
                    position = nl + 1
                    return line
                }
                partial.append(contentsOf: buffer[position..<length])
                position = length
            }
            if atEnd {
                guard !partial.isEmpty else { return nil }
                defer { partial.removeAll() }
                return String(decoding: partial, as: UTF8.self)
            }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { atEnd = true; continue }
            position = 0
            length = n
        }
    }
}

/// Lines held in memory (standard input that is a pipe: reading it lazily could block the event loop).
struct BulkBufferedLines: IteratorProtocol {
    private let bytes: [UInt8]
    private var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// Everything on `fd` until end of file.
    static func readAll(fd: Int32) -> BulkBufferedLines {
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            all.append(contentsOf: chunk[0..<n])
        }
        return BulkBufferedLines(bytes: all)
    }

    mutating func next() -> String? {
        guard position < bytes.count else { return nil }
        let end = bytes[position...].firstIndex(of: 0x0a) ?? bytes.count
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }
}

/// Where records go: a file (each record one write(2), so a crash or kill loses nothing that was
/// written) or standard output.
final class BulkOutput {
    let fd: Int32
    let name: String
    private let ownsFD: Bool
    /// The first write error, after which the run stops.
    private(set) var failure: String? = nil

    init(fd: Int32, name: String, ownsFD: Bool) {
        self.fd = fd
        self.name = name
        self.ownsFD = ownsFD
    }

    deinit { if ownsFD { close(fd) } }

    /// Opens `path` for a new run (truncated) or for appending after `keep` bytes (--resume).
    static func open(_ path: String, appendAfter keep: Int?) throws -> BulkOutput {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (keep == nil ? O_TRUNC : 0)
        let fd = Glibc.open(path, flags, 0o644)
        guard fd >= 0 else { throw PathProbeError.environment("cannot write \(path): \(String(cString: strerror(errno)))") }
        if let keep {
            // Drop a record cut off by the crash, then append after the last complete one.
            guard ftruncate(fd, off_t(keep)) == 0, lseek(fd, off_t(keep), SEEK_SET) >= 0 else {
                let e = errno
                close(fd)
                throw PathProbeError.environment("cannot resume into \(path): \(String(cString: strerror(e)))")
            }
        }
        return BulkOutput(fd: fd, name: path, ownsFD: true)
    }

    func write(_ text: String) {
        guard failure == nil else { return }
        var t = text
        t.withUTF8 { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    failure = "cannot write \(name): \(String(cString: strerror(errno)))"
                    return
                }
                off += n
            }
        }
    }

    /// Makes what was written durable (regular files only; a no-op for pipes and terminals).
    func sync() { _ = fsync(fd) }
}

/// Reads an existing output file for --resume, in chunks.
func bulkScanForResume(path: String, format: BulkResumeScanner.Format) throws -> BulkResumeScanner? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
        if errno == ENOENT { return nil }
        throw PathProbeError.usage("cannot read \(path) to resume: \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    var scanner = BulkResumeScanner(format: format)
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        scanner.feed(chunk[0..<n])
    }
    do { return try scanner.finish() } catch { throw PathProbeError.usage("\(error)") }
}


import PathProbeCore
import PathProbeEngine

#if canImport(Glibc)
import Glibc
#endif

/// File plumbing for `pathprobe bulk`: a lazy line reader and an output file written one record
/// per write(2). (SIGINT / SIGTERM: `SignalWatcher`.)

/// Lines of a file descriptor, read in 64 KiB chunks as they are asked for ("\n" ends a line; a last
/// line without one still counts). Invalid UTF-8 is replaced, never fatal. Bounded: a line keeps at
/// most `BulkInput.lineCap` + 1 bytes (longer ones become error records), and a line that runs on
/// for `BulkInput.skipCap` bytes ends the input (`abandoned` says why): `/dev/zero` or a 50 MB line
/// cost a megabyte of reading, not the machine's memory.
final class BulkLineReader: IteratorProtocol {
    private let fd: Int32
    private let ownsFD: Bool
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var position = 0
    private var length = 0
    private var partial: [UInt8] = []
    /// Bytes of the current line past the cap, read and dropped.
    private var dropped = 0
    private var atEnd = false
    /// Lines returned so far.
    private(set) var lines = 0
    /// Why reading stopped before the end of the input (one line for the user), nil when it did not.
    private(set) var abandoned: String? = nil

    init(fd: Int32, ownsFD: Bool) {
        self.fd = fd
        self.ownsFD = ownsFD
    }

    deinit { if ownsFD { close(fd) } }

    func next() -> String? {
        while true {
            if position < length {
                let newline = buffer.withUnsafeBytes { b -> Int? in
                    guard let p = memchr(b.baseAddress! + position, 0x0a, length - position) else { return nil }
                    return UnsafeRawPointer(p) - b.baseAddress!
                }
                let end = newline ?? length
                let keep = min(end - position, max(0, BulkInput.lineCap + 1 - partial.count))
                partial.append(contentsOf: buffer[position..<(position + keep)])
                dropped += end - position - keep
                position = newline.map { $0 + 1 } ?? length
                if newline != nil { return take() }
                if dropped > BulkInput.skipCap {
                    abandoned = "line \(lines + 1) runs on for more than \(BulkInput.skipCap >> 20) MiB without a line end: not a list of targets; stopped reading there"
                    atEnd = true
                    return take()
                }
            }
            if atEnd { return partial.isEmpty ? nil : take() }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { atEnd = true; continue }
            position = 0
            length = n
        }
    }

    private func take() -> String {
        defer {
            partial.removeAll(keepingCapacity: partial.count <= BulkInput.lineCap + 1)
            dropped = 0
        }
        lines += 1
        return String(decoding: partial, as: UTF8.self)
    }
}

/// Lines held in memory: input that can be read only once (a pipe, a FIFO, `<(...)`, a terminal),
/// read whole before the run so a slow writer cannot stall the event loop, and counted for the
/// progress line. At most `cap` bytes of lines are held; beyond that the input is abandoned.
struct BulkBufferedLines: IteratorProtocol {
    static let cap = 256 << 20
    private let lines: [String]
    private var position = 0
    /// Why reading stopped before the end of the input, nil when it did not.
    let abandoned: String?

    /// Every line of `fd` until end of file (or a reason to stop).
    static func readAll(fd: Int32) -> BulkBufferedLines {
        let reader = BulkLineReader(fd: fd, ownsFD: false)
        var lines: [String] = []
        var bytes = 0
        var abandoned: String? = nil
        while let line = reader.next() {
            bytes += line.utf8.count + 1
            if bytes > cap {
                abandoned = "more than \(cap >> 20) MiB of targets through a pipe: give them as a file; stopped reading at line \(reader.lines)"
                break
            }
            lines.append(line)
        }
        return BulkBufferedLines(lines: lines, abandoned: abandoned ?? reader.abandoned)
    }

    init(lines: [String], abandoned: String? = nil) {
        self.lines = lines
        self.abandoned = abandoned
    }

    mutating func next() -> String? {
        guard position < lines.count else { return nil }
        defer { position += 1 }
        return lines[position]
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


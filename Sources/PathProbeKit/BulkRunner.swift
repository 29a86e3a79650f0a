import PathProbeCore
import PathProbeEngine
import PathProbeNetlink

#if canImport(Glibc)
import Glibc
#endif

/// How records are written.
public enum BulkOutputFormat: Sendable {
    case jsonLines
    case csv
}

public struct BulkRunOptions: Sendable {
    /// Targets in flight at once (--concurrency).
    public var concurrency = BulkRunOptions.defaultConcurrency
    /// --concurrency's default: enough targets in flight that those waiting out a silent probe
    /// (black holes) leave the engine's packet rate busy with the others.
    public static let defaultConcurrency = 2000
    /// Engine settings; `rate` is the global probe budget (--rate).
    public var engine = EngineOptions(rate: BulkRunOptions.defaultRate)
    /// --rate's default in bulk: above what one engine sends on a small machine (~50,000/s on 2
    /// cores), so the run goes at the engine's pace; a cap on faster ones. 10,000 targets in mtu mode
    /// take ~67,000 probes (the bulk lab's mix: a third each clean, behind a PTB hop, a black hole).
    public static let defaultRate: Double = 100_000
    public var format = BulkOutputFormat.jsonLines
    /// -o FILE; nil writes records to standard output.
    public var outputPath: String? = nil
    /// Skip targets already in `outputPath` and append to it.
    public var resume = false
    /// Redraw a progress line on stderr (the CLI decides: a terminal and no --quiet).
    public var progress = false
    /// -4 / -6: which family host names resolve to.
    public var family: AddressFamily? = nil

    public init() {}
}

/// Where the targets come from.
public enum BulkInputSource: Sendable {
    case file(String)
    case standardInput
}

/// The input opened by its kind (fstat): a regular file is read lazily and counted by a second
/// pass of its own; anything that can be read only once (a pipe, a FIFO, `<(...)`, a character
/// device) is read once, whole, like a piped standard input; a directory is bad input.
struct BulkInputLines {
    var lines: AnyIterator<String>
    var count: Int?
    var abandoned: () -> String?

    static func open(_ source: BulkInputSource) throws(PathProbeError) -> BulkInputLines {
        let fd: Int32
        let name: String
        switch source {
        case let .file(path):
            fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw .usage("cannot read \(path): \(String(cString: strerror(errno)))") }
            name = path
        case .standardInput:
            fd = 0
            name = "standard input"
        }
        let owns = fd != 0
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let why = String(cString: strerror(errno))
            if owns { close(fd) }
            throw .usage("cannot read \(name): \(why)")
        }
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            if owns { close(fd) }
            throw .usage("\(name) is a directory, not a file of targets")
        case S_IFREG:
            let reader = BulkLineReader(fd: fd, ownsFD: owns)
            var count: Int? = nil
            if case let .file(path) = source {
                // A regular file can be read twice: a counting pass of its own for the progress total.
                let counterFD = Glibc.open(path, O_RDONLY | O_CLOEXEC)
                if counterFD >= 0 {
                    let counter = BulkLineReader(fd: counterFD, ownsFD: true)
                    count = bulkTargetCount(AnyIterator { counter.next() })
                }
            }
            return BulkInputLines(lines: AnyIterator { reader.next() }, count: count, abandoned: { reader.abandoned })
        default:
            var buffered = BulkBufferedLines.readAll(fd: fd)
            if owns { close(fd) }
            let count = bulkTargetCount(buffered)
            return BulkInputLines(lines: AnyIterator { buffered.next() }, count: count, abandoned: { [abandoned = buffered.abandoned] in abandoned })
        }
    }
}

/// `pathprobe bulk`: every target of the input through one `ProbeEngine` at once, `concurrency` in
/// flight and the engine's token bucket for the global rate; each finished target's record written
/// at once (so an interrupted run loses nothing that finished), errors as records, a summary at the
/// end. Memory: the engine's in-flight state, the reader's current line, and the set of targets seen.
public final class BulkRunner {
    public let mode: any BulkMode
    public let options: BulkRunOptions

    private var engine: ProbeEngine! = nil
    private var output: BulkOutput! = nil
    private var resolver: BulkResolver? = nil
    private let egress = RouteLookup.Cache(sharesRecent: false)
    private var seen = BulkSeenSet()
    private var familyProblem: [AddressFamily: PathProbeError] = [:]
    private var socketName: [AddressFamily: String] = [:]
    private(set) var summary: BulkSummary
    private var started: Nanoseconds = 0
    private var lastDraw: Nanoseconds = 0
    private var drawnProbes = 0
    private var drawnAt: Nanoseconds = 0
    private var probeRate = 0.0
    /// After `run`: why the input was not read to its end (a line without end, too much through a
    /// pipe); the records before it were measured. The CLI exits 2 with this line.
    public private(set) var inputProblem: String? = nil

    public init(mode: any BulkMode, options: BulkRunOptions) {
        self.mode = mode
        self.options = options
        summary = BulkSummary(mode: mode.name)
    }

    /// Runs to the end of the input or until SIGINT/SIGTERM. Throws `PathProbeError` for problems with
    /// the run as a whole (unreadable input: usage; unwritable output, no socket for any family: environment).
    public func run(input source: BulkInputSource) throws -> BulkSummary {
        let input = try BulkInputLines.open(source)
        summary.targetsInInput = input.count
        let lines = input.lines
        try openOutput()
        try openEngine()
        defer { resolver?.shutdown() }

        var reader = BulkTargetReader(lines)
        let signals = SignalWatcher.install()
        engine.loop.stop(on: signals)
        defer { signals.restore() }
        started = MonotonicClock.now()
        engine.run(concurrency: max(1, options.concurrency), next: { self.nextSlot(&reader) },
                   finished: { self.finished($0) }, shouldStop: { self.tick() })
        if options.progress { writeProgress(clear: true) }
        let sig = signals.received
        if sig != 0 { summary.stoppedBy = SignalWatcher.name(sig) }
        summary.probesSent = engine.probesSent
        summary.durationSeconds = (MonotonicClock.now() - started).inMs / 1000
        output.sync()
        if let failure = output.failure { throw PathProbeError.environment(failure) }
        inputProblem = input.abandoned()
        return summary
    }

    // MARK: setup

    private func openOutput() throws {
        let format: BulkResumeScanner.Format = options.format == .csv ? .csv(columns: mode.csvColumns.map(\.name)) : .jsonLines
        guard let path = options.outputPath else {
            if options.resume { throw PathProbeError.usage("--resume needs -o FILE (the output of the run to resume)") }
            output = BulkOutput(fd: 1, name: "standard output", ownsFD: false)
            writeHeader(csv: true)
            return
        }
        var earlier: BulkResumeScanner? = nil
        if options.resume { earlier = try bulkScanForResume(path: path, format: format) }
        output = try BulkOutput.open(path, appendAfter: earlier?.keepBytes)
        if let earlier { seen = earlier.seen }
        writeHeader(csv: earlier?.hasHeader != true)
    }

    /// The CSV header (unless the resumed file has it), or the mode's JSON Lines header records.
    private func writeHeader(csv: Bool) {
        switch options.format {
        case .csv: if csv { output.write(BulkCSV.line(mode.csvColumns.map(\.name))) }
        case .jsonLines: for r in mode.headerRecords() { output.write(r.serialized() + "\n") }
        }
    }

    private func openEngine() throws {
        do { engine = try ProbeEngine(options: options.engine) } catch { throw PathProbeError.from(error) }
        for family in [AddressFamily.ipv4, .ipv6] where options.family == nil || options.family == family {
            for kind in mode.probeKinds {
                do { try engine.prepare(family: family, kind: kind) } catch {
                    familyProblem[family] = PathProbeError.from(error)
                }
            }
            if let kind = mode.probeKinds.first { socketName[family] = engine.socketDescription(family: family, kind: kind) }
        }
        let wanted: [AddressFamily] = options.family.map { [$0] } ?? [.ipv4, .ipv6]
        if wanted.allSatisfy({ familyProblem[$0] != nil }), let first = wanted.first, let why = familyProblem[first] {
            throw why
        }
    }

    // MARK: the engine's callbacks

    /// The next target to start; bad lines, duplicates and targets already done are dealt with here.
    private func nextSlot<L: IteratorProtocol>(_ reader: inout BulkTargetReader<L>) -> (any Measurement)? where L.Element == String {
        while let t = reader.next() {
            if let before = seen.insert(t.key) {
                if before == .earlierRun { summary.alreadyDone += 1 } else { summary.duplicates += 1 }
                continue
            }
            let slot = BulkSlot(line: t.line, text: t.text)
            switch t.kind {
            case let .invalid(why):
                slot.fail(why)
                finished(slot)
                continue
            case let .host(name):
                if resolver == nil { resolver = BulkResolver(family: options.family) }
                slot.resolving = (resolver!, resolver!.submit(name))
                slot.start = { [unowned self] slot, address in self.startJob(slot, address) }
                return slot
            case let .address(a):
                startJob(slot, a)
                if slot.isFinished { finished(slot); continue }
                return slot
            }
        }
        return nil
    }

    /// Makes the mode's measurement for a resolved target, or fails the slot with the reason.
    private func startJob(_ slot: BulkSlot, _ address: IPAddress) {
        if let family = options.family, address.family != family {
            return slot.fail("\(address) is not an \(family == .ipv4 ? "IPv4" : "IPv6") address (-\(family == .ipv4 ? 4 : 6))")
        }
        if let why = familyProblem[address.family] { return slot.fail(why.message) }
        let target = BulkTarget(text: slot.text, line: slot.line, address: address, interface: options.engine.interface,
                                socket: socketName[address.family])
        do { slot.job = try mode.makeMeasurement(for: target, egress: egress) } catch { slot.fail(error.message) }
    }

    private func finished(_ m: any Measurement) {
        guard let slot = m as? BulkSlot else { return }
        let record = slot.record()
        switch options.format {
        case .jsonLines: output.write(record.jsonLine)
        case .csv: output.write(BulkCSV.line(mode.csvFields(for: record)))
        }
        summary.add(record)
    }

    /// Called on every turn of the event loop: progress, and whether to stop.
    private func tick() -> Bool {
        if options.progress {
            let now = MonotonicClock.now()
            if now - lastDraw >= 200_000_000 {
                lastDraw = now
                writeProgress(clear: false)
            }
        }
        return output.failure != nil
    }

    private func writeProgress(clear: Bool) {
        var text = "\r\u{1B}[K"
        if !clear {
            let now = MonotonicClock.now()
            if drawnAt > 0, now > drawnAt {
                probeRate = Double(engine.probesSent - drawnProbes) / ((now - drawnAt).inMs / 1000)
            }
            drawnAt = now
            drawnProbes = engine.probesSent
            let done = summary.records + summary.alreadyDone + summary.duplicates
            text += BulkProgress.line(done: done, total: summary.targetsInInput, probesPerSecond: probeRate,
                                      failures: summary.failures, elapsed: (now - started).inMs / 1000)
        }
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}

/// One target on the engine: waits for its name to resolve (if it is a name), then runs the mode's
/// measurement; or fails with an error record.
final class BulkSlot: Measurement {
    let line: Int
    let text: String
    var job: (any BulkMeasurement)? = nil
    private(set) var failure: String? = nil
    var resolving: (resolver: BulkResolver, ticket: Int)? = nil
    var start: ((BulkSlot, IPAddress) -> Void)? = nil
    private var pollInterval: Nanoseconds = 1_000_000

    init(line: Int, text: String) {
        self.line = line
        self.text = text
    }

    func fail(_ message: String) { failure = message }

    var isFinished: Bool { failure != nil || job?.isFinished == true }

    func advance<S: ProbeScheduler>(_ s: inout S) {
        if job == nil, failure == nil, let (resolver, ticket) = resolving {
            guard let answer = resolver.take(ticket) else {
                // Back off from 1 ms to 50 ms: most names resolve quickly, dead ones take seconds.
                s.wake(at: s.now + pollInterval)
                pollInterval = min(pollInterval * 2, 50_000_000)
                return
            }
            resolving = nil
            switch answer {
            case let .success(address): start?(self, address)
            case let .failure(error): fail(error.message)
            }
            start = nil
        }
        job?.advance(&s)
    }

    func handle<S: ProbeScheduler>(_ r: ProbeResult, _ s: inout S) { job?.handle(r, &s) }
    func handle<S: ProbeScheduler>(_ e: ConnectionResult, _ s: inout S) { job?.handle(e, &s) }

    func record() -> BulkRecord {
        if let failure { return .error(BulkError(target: text, line: line, error: failure)) }
        guard let job else { return .error(BulkError(target: text, line: line, error: "not measured")) }
        return job.record()
    }
}

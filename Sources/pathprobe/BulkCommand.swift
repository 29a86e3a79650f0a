import ArgumentParser
import PathProbeCore
import PathProbeEngine

#if canImport(Glibc)
import Glibc
#endif

enum BulkModeName: String, ExpressibleByArgument, CaseIterable {
    case mtu, reach, profile
}

struct BulkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulk",
        abstract: "Profile thousands of targets at once, with rate control, progress and resumable output.",
        discussion: """
            Targets, one per line: a host name, an IPv4 or IPv6 address, or a CIDR range (at most \
            65536 addresses a line; IPv4 ranges skip their network and broadcast address). '#' starts \
            a comment; blank lines are ignored. A target listed twice is measured once.

            All targets share one event loop: --concurrency of them in flight, --rate probes per second \
            in all. Each finished target is written at once as a JSON Lines record (the single-target \
            command's --json object plus "line", the input line number) or a CSV row. Bad lines, \
            unresolvable names and unroutable addresses become error records \
            {"target": ..., "line": N, "error": "..."} and the run goes on.

            Ctrl-C (SIGINT) or SIGTERM stops taking targets, keeps every record already written, prints \
            the summary and exits 130 / 143; rerun with --resume to do only what is missing.

            Examples:
              pathprobe bulk -f gateways.txt -o mtu.jsonl
              pathprobe bulk -f gateways.txt --csv -o mtu.csv --rate 20000
              pathprobe bulk -f gateways.txt -o mtu.jsonl --resume
              pathprobe bulk --hops --concurrency 200 -f branch-offices.txt
              printf '10.1.0.0/24\\n' | pathprobe bulk - --summary-json - -o out.jsonl

            Exit status: 0 run complete (whatever each target's result), 2 bad input or options, \
            130 stopped by SIGINT, 143 stopped by SIGTERM. Details: docs/bulk.md.
            """
    )

    @Argument(help: ArgumentHelp("File of targets, or '-' for standard input (same as -f).", valueName: "file"))
    var input: String?

    @Option(name: .customShort("f"), help: ArgumentHelp("File of targets, one per line ('-': standard input).", valueName: "file"))
    var file: String?

    @Option(help: "What to measure for each target: mtu (path MTU and black holes), reach or profile.")
    var mode: BulkModeName = .mtu

    @Option(help: "Global probe budget, packets per second, over all targets (0: unlimited).")
    var rate: Double = 50_000

    @Option(help: "Targets measured at the same time.")
    var concurrency: Int = 1000

    @Option(name: .customShort("o"), help: ArgumentHelp("Write records to this file (default: standard output).", valueName: "file"))
    var outputFile: String?

    @Flag(help: "Write CSV (a header, then one row a target) instead of JSON Lines.")
    var csv = false

    @Flag(help: "Skip targets already in the -o file and append the rest (after an interrupted run).")
    var resume = false

    @Flag(help: "No progress line and no summary text.")
    var quiet = false

    @Option(name: .customLong("summary-json"), help: ArgumentHelp("Write the summary as JSON to this file ('-': standard output, with -o).", valueName: "file"))
    var summaryJSON: String?

    @Flag(help: "mtu mode: also trace hops and locate black holes (routers limit time-exceeded per destination: keep lists small).")
    var hops = false

    @OptionGroup var family: FamilyOptions

    @Option(name: [.customShort("P"), .customLong("protocol")], help: "mtu mode: probe with ICMP echo or UDP.")
    var probeProtocol: ProbeProtocol = .icmp

    @Option(help: "mtu mode: UDP destination port (closed, or answered by `pathprobe serve`).")
    var port: UInt16 = 33434

    @Option(help: "mtu mode: smallest packet size, bytes (default: 68 IPv4, 1280 IPv6).")
    var min: Int?

    @Option(help: "mtu mode: largest packet size, bytes (default: each target's egress interface MTU).")
    var max: Int?

    @Option(name: .customLong("sizes-per-round"), help: "mtu mode: packet sizes probed at once per target in the search (fewer: fewer probes, more rounds).")
    var sizesPerRound: Int = 4

    @Option(help: "Longest wait for one answer, seconds (also how long an unreachable target is tried).")
    var timeout: Double = 1.0

    @Option(help: "Attempts before silence counts.")
    var retries: Int = 3

    @Option(name: [.customShort("i"), .customLong("interface")], help: "Probe out of this interface only.")
    var interface: String?

    @Option(name: .customLong("icmp-socket"), help: "ICMP socket kind: auto, ping or raw.")
    var icmpSocket: ICMPSocketPreference = .auto

    func validate() throws {
        if input != nil && file != nil { throw ValidationError("give the targets once: a file argument or -f") }
        if rate < 0 { throw ValidationError("--rate must not be negative") }
        if concurrency < 1 || concurrency > 20_000 { throw ValidationError("--concurrency must be between 1 and 20000") }
        if timeout <= 0 || timeout > 60 { throw ValidationError("--timeout must be between 0 and 60 seconds") }
        if retries < 1 || retries > 20 { throw ValidationError("--retries must be between 1 and 20") }
        if sizesPerRound < 1 || sizesPerRound > 64 { throw ValidationError("--sizes-per-round must be between 1 and 64") }
        if port == 0 { throw ValidationError("--port must be between 1 and 65535") }
        if resume && outputFile == nil { throw ValidationError("--resume needs -o FILE (the output of the run to resume)") }
        if summaryJSON == "-" && outputFile == nil {
            throw ValidationError("--summary-json - needs -o FILE: standard output already carries the records")
        }
    }

    func run() throws {
        let bulkMode = try makeMode()
        var options = BulkRunOptions()
        options.concurrency = concurrency
        options.engine = EngineOptions(rate: rate, icmpSocket: icmpSocket, interface: interface)
        options.format = csv ? .csv : .jsonLines
        options.outputPath = outputFile
        options.resume = resume
        options.progress = !quiet && isatty(2) == 1
        options.family = family.family
        if let name = interface, LocalPath.interfaceMTU(name) == nil { throw UsageError("unknown interface '\(name)'") }

        let source: BulkInputSource
        switch input ?? file {
        case nil:
            if isatty(0) == 1 { throw UsageError("no targets: give a file (-f FILE) or pipe them in ('-')") }
            source = .standardInput
        case "-": source = .standardInput
        case let path?: source = .file(path)
        }

        let summary: BulkSummary
        do { summary = try BulkRunner(mode: bulkMode, options: options).run(input: source) } catch let e as BulkRunError {
            throw UsageError(e.message)
        }
        if !quiet {
            let text = summary.text(style: CLI.style(forFD: outputFile == nil ? 2 : 1))
            if outputFile == nil { CLI.printError(text) } else { CLI.printOut(text) }
        }
        if let path = summaryJSON {
            let json = summary.json.serialized(pretty: true)
            if path == "-" { CLI.printOut(json) } else { try writeFile(path, json + "\n") }
        }
        switch summary.stoppedBy {
        case "SIGINT"?: throw ExitCode(130)
        case "SIGTERM"?: throw ExitCode(143)
        default: break
        }
    }

    /// The mode behind --mode. reach and profile plug in here (a `BulkMode` each).
    func makeMode() throws -> any BulkMode {
        switch mode {
        case .mtu:
            var s = BulkMTUMode.Settings()
            s.kind = probeProtocol == .udp ? .udp(port: port) : .icmpEcho
            s.minSize = min
            s.maxSize = max
            s.timeoutMs = timeout * 1000
            s.retries = retries
            s.traceHops = hops
            s.parallelSizes = sizesPerRound
            return BulkMTUMode(settings: s)
        case .reach, .profile:
            throw UsageError("--mode \(mode.rawValue) is not available yet")
        }
    }

    private func writeFile(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw UsageError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var t = text
        t.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
    }
}

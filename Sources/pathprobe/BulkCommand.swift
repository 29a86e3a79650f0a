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

            Modes: mtu (pathprobe mtu per target; the default), reach (pathprobe reach: give --tcp, \
            --udp or a preset; TCP needs root or CAP_NET_RAW), profile (pathprobe profile: path MTU, \
            ports if given, findings and recommendations).

            Examples:
              pathprobe bulk -f gateways.txt -o mtu.jsonl
              pathprobe bulk -f gateways.txt --mode reach --rdp -o rdp.jsonl
              pathprobe bulk -f gateways.txt --mode profile --tcp 443 -o profiles.jsonl
              pathprobe bulk -f gateways.txt --csv -o mtu.csv --rate 20000
              pathprobe bulk -f gateways.txt -o mtu.jsonl --resume
              pathprobe bulk --hops --concurrency 200 -f branch-offices.txt
              printf '10.1.0.0/24\\n' | pathprobe bulk - --summary-json - -o out.jsonl

            Exit status: 0 run complete (whatever each target's result), 2 bad input or options, \
            130 stopped by SIGINT, 143 stopped by SIGTERM. Details: README.md, "pathprobe bulk".
            """
    )

    @Argument(help: ArgumentHelp("File of targets, or '-' for standard input (same as -f).", valueName: "file"))
    var input: String?

    @Option(name: .customShort("f"), help: ArgumentHelp("File of targets, one per line ('-': standard input).", valueName: "file"))
    var file: String?

    @Option(help: "What to measure for each target: mtu (path MTU and black holes), reach or profile.")
    var mode: BulkModeName = .mtu

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
    @OptionGroup var probe: MTUProbeOptions
    @OptionGroup var ports: PortOptions

    @Option(name: .customLong("sizes-per-round"), help: "mtu/profile mode: packet sizes probed at once per target in the search (fewer: fewer probes, more rounds).")
    var sizesPerRound: Int = 4

    func validate() throws {
        if input != nil && file != nil { throw ValidationError("give the targets once: a file argument or -f") }
        if concurrency < 1 || concurrency > 20_000 { throw ValidationError("--concurrency must be between 1 and 20000") }
        if sizesPerRound < 1 || sizesPerRound > 64 { throw ValidationError("--sizes-per-round must be between 1 and 64") }
        if resume && outputFile == nil { throw ValidationError("--resume needs -o FILE (the output of the run to resume)") }
        if summaryJSON == "-" && outputFile == nil {
            throw ValidationError("--summary-json - needs -o FILE: standard output already carries the records")
        }
    }

    func run() throws {
        let bulkMode = try makeMode()
        var options = BulkRunOptions()
        options.concurrency = concurrency
        options.engine = EngineOptions(rate: probe.rate ?? 50_000, icmpSocket: probe.icmpSocket, interface: probe.interface)
        options.format = csv ? .csv : .jsonLines
        options.outputPath = outputFile
        options.resume = resume
        options.progress = !quiet && isatty(2) == 1
        options.family = family.family
        if let name = probe.interface, LocalPath.interfaceMTU(name) == nil { throw UsageError("unknown interface '\(name)'") }

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

    /// The mode behind --mode (a `BulkMode` each).
    func makeMode() throws -> any BulkMode {
        var m = BulkMTUMode.Settings()
        m.kind = probe.kind
        m.minSize = probe.min
        m.maxSize = probe.max
        m.timeoutMs = probe.timeout * 1000
        m.retries = probe.retries
        m.traceHops = hops
        m.parallelSizes = sizesPerRound
        var r = BulkReachMode.Settings()
        (r.tcpPorts, r.udpPorts) = try ports.ports()
        r.timeoutMs = probe.timeout * 1000
        if ports.responderPortToUse != nil { throw UsageError("--responder is not available in bulk: use `pathprobe reach --responder` per host") }
        switch mode {
        case .mtu:
            if !ports.isEmpty { throw UsageError("--mode mtu probes no ports: use --mode reach or --mode profile with --tcp/--udp/presets") }
            return BulkMTUMode(settings: m)
        case .reach:
            if r.tcpPorts.isEmpty && r.udpPorts.isEmpty {
                throw UsageError("--mode reach needs ports: --tcp, --udp or a preset (--rdp, --ipsec, --wireguard, --openvpn)")
            }
            return BulkReachMode(settings: r)
        case .profile:
            return BulkProfileMode(mtu: m, reach: r, service: ports.service)
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

import ArgumentParser
import PathProbeCore
import PathProbeKit

#if canImport(Glibc)
import Glibc
#endif

extension BulkModeKind: ExpressibleByArgument {}

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
            command's --json document with "line", the input line number) or a CSV row. Bad lines, \
            unresolvable names and unroutable addresses become error records \
            {"type": "error", "schema_version": 2, "target": ..., "line": N, "error": "..."} and the run goes on. \
            In profile mode the first record is the namespace's `nic` document, which the profile \
            records refer to by interface name.

            Ctrl-C (SIGINT) or SIGTERM stops taking targets, keeps every record already written, prints \
            the summary and exits 130 / 143; rerun with --resume to do only what is missing.

            Modes: mtu (pathprobe mtu per target; the default), reach (pathprobe reach: give --tcp, \
            --udp or a preset; TCP needs root or CAP_NET_RAW), profile (pathprobe profile: path MTU, \
            ports if given, findings and recommendations), rdp (pathprobe rdp: each target as an RDP \
            host and as an RD Gateway, the path MTU of the port that answers, findings).

            Examples:
              pathprobe bulk -f gateways.txt -o mtu.jsonl
              pathprobe bulk -f gateways.txt --mode reach --rdp -o rdp.jsonl
              pathprobe bulk -f gateways.txt --mode profile --tcp 443 -o profiles.jsonl
              pathprobe bulk -f gateways.txt --csv -o mtu.csv --rate 20000
              pathprobe bulk -f gateways.txt -o mtu.jsonl --resume
              pathprobe bulk --hops --concurrency 200 -f branch-offices.txt
              printf '10.1.0.0/24\\n' | pathprobe bulk - --summary-json - -o out.jsonl

            Input: a regular file is read as the run goes; a pipe, FIFO or `<(...)` is read once, \
            whole, first. A line longer than 4096 bytes is an error record; a line that runs on for \
            1 MiB without a line end ends the input (exit 2 after the records before it).

            Exit status: 0 run complete (whatever each target's result), 2 bad input or options, \
            3 environment (no usable socket, output not writable), 130 stopped by SIGINT, 143 stopped \
            by SIGTERM. Details: docs/commands/bulk.md; records: docs/json.md.
            """
    )

    @Argument(help: ArgumentHelp("File of targets, or '-' for standard input (same as -f).", valueName: "file"))
    var input: String?

    @Option(name: .customShort("f"), help: ArgumentHelp("File of targets, one per line ('-': standard input).", valueName: "file"))
    var file: String?

    @Option(help: "What to measure for each target: mtu (path MTU and black holes), reach, profile or rdp.")
    var mode: BulkModeKind = .mtu

    @Option(help: "Targets measured at the same time.")
    var concurrency: Int = BulkRunOptions.defaultConcurrency

    @Option(name: .customShort("o"), help: ArgumentHelp("Write records to this file (default: standard output).", valueName: "file"))
    var outputFile: String?

    @Flag(help: "Write CSV (a header, then one row a target) instead of JSON Lines.")
    var csv = false

    @Flag(help: "Skip targets already in the -o file and append the rest (after an interrupted run).")
    var resume = false

    @Flag(name: [.customShort("q"), .long], help: "Quiet: no progress line and no summary text (the records are still written).")
    var quiet = false

    @Option(name: .customLong("summary-json"), help: ArgumentHelp("Write the summary as JSON to this file ('-': standard output, with -o).", valueName: "file"))
    var summaryJSON: String?

    @Flag(help: "mtu mode: also trace hops and locate black holes (routers limit time-exceeded per destination: keep lists small).")
    var hops = false

    @OptionGroup var family: FamilyArguments
    @OptionGroup var names: NumericOption
    @OptionGroup var measurement: ProfileArguments

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
        let bulkMode = try mode.make(measurement, traceHops: hops, sizesPerRound: sizesPerRound)
        let probe = measurement.probe
        var options = BulkRunOptions()
        options.concurrency = concurrency
        options.engine = engineOptions(probe, defaultRate: BulkRunOptions.defaultRate)
        options.format = csv ? .csv : .jsonLines
        options.outputPath = outputFile
        options.resume = resume
        options.progress = !quiet && isatty(2) == 1
        options.family = family.family

        let source: BulkInputSource
        switch input ?? file {
        case nil:
            if isatty(0) == 1 { throw PathProbeError.usage("no targets: give a file (-f FILE) or pipe them in ('-')") }
            source = .standardInput
        case "-": source = .standardInput
        case let path?: source = .file(path)
        }

        let runner = BulkRunner(mode: bulkMode, options: options)
        let summary = try runner.run(input: source)
        if !quiet {
            let text = summary.text(style: CLI.style(forFD: outputFile == nil ? 2 : 1))
            if outputFile == nil { CLI.printError(text) } else { CLI.printOut(text) }
        }
        if let path = summaryJSON {
            let json = Contract.text(summary, pretty: true)
            if path == "-" { CLI.printOut(json) } else { try writeFile(path, json + "\n") }
        }
        switch summary.stoppedBy {
        case "SIGINT"?: throw ExitCode(.interrupted)
        case "SIGTERM"?: throw ExitCode(.terminated)
        default: break
        }
        if let problem = runner.inputProblem { throw PathProbeError.usage("\(input ?? file ?? "-"): \(problem)") }
    }

    private func writeFile(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PathProbeError.environment("cannot write \(path): \(String(cString: strerror(errno)))") }
        let failed = CLI.writeAll(text, to: fd)
        let closed = close(fd) == 0 ? nil : errno
        if let e = failed ?? closed { throw PathProbeError.environment("cannot write \(path): \(String(cString: strerror(e)))") }
    }
}

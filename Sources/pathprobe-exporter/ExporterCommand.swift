import ArgumentParser
import Logging
import PathProbeExporter

#if canImport(Glibc)
import Glibc
#endif

/// `pathprobe-exporter --config FILE [--listen ADDR:PORT]`. A separate executable from `pathprobe`
/// because Yams imports full Foundation (issue 14); `pathprobe exporter` execs it.
struct ExporterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pathprobe-exporter",
        abstract: "Prometheus exporter: path MTU, black holes, hops and transports per target, blackbox_exporter style.",
        discussion: """
            Scrape GET /probe?target=HOST&module=NAME (add &debug=true for the probe's log); GET /metrics has \
            the exporter's own metrics, GET / a status page. SIGHUP reloads the config (a bad one is refused and \
            the old one kept); SIGTERM stops gracefully. See docs/exporter.md.

            Exit status: 0 stopped normally (or --check-config passed); 2 bad flags or config (one line naming \
            the file, line and key); 3 cannot listen; 130/143 stopped by SIGINT/SIGTERM.
            """
    )

    @OptionGroup var options: ExporterOptions
}

@main
enum Main {
    static func main() async {
        let command: ExporterCommand
        do {
            command = try ExporterCommand.parse(Array(CommandLine.arguments.dropFirst()))
        } catch {
            // --help is an "error" to the parser that exits 0: let it print it.
            if ExporterCommand.exitCode(for: error) == .success { ExporterCommand.exit(withError: error) }
            let message = ExporterCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            printError(message)
            exit(2)
        }
        let options = command.options
        let level = Logger.Level(rawValue: options.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let status = await ExporterRuntime.run(options, logger: Logger(label: "pathprobe-exporter"), writeError: printError)
        exit(status.rawValue)
    }

    /// One line on fd 2 (Swift 6 treats the C `stderr` global as unsafe).
    @Sendable static func printError(_ line: String) {
        let text = "pathprobe-exporter: \(line)\n"
        text.withCString { p in _ = write(2, p, strlen(p)) }
    }
}

import ArgumentParser
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

enum CLI {
    /// `--responder=PORT` is spelled like an optional-value flag in the docs; the parser knows it as
    /// `--responder-port PORT`.
    static func normalizedArguments(_ args: [String]) -> [String] {
        args.flatMap { a -> [String] in
            if a.hasPrefix("--responder=") { return ["--responder-port", String(a.dropFirst("--responder=".count))] }
            return [a]
        }
    }

    /// argument-parser's hint line ("See 'pathprobe mtu --help' for more details.") from its full
    /// message of a usage error; nil when it has none.
    static func helpHint(_ fullMessage: String) -> String? {
        let line = fullMessage.split(separator: "\n").first { $0.contains("See '") && $0.contains("--help") }
        return line.map { String($0.drop { $0 == " " }) }
    }

    /// Bad input: the one line saying what is wrong, the hint where help is, exit status 2.
    static func usage(_ message: String, hint: String) -> Never {
        printError("pathprobe: " + message)
        printError(hint)
        exit(ExitStatus.usage.rawValue)
    }

    /// Writes straight to fd 2 (Swift 6 treats the C `stderr` global as unsafe).
    static func printError(_ line: String) {
        var text = line
        if !text.hasSuffix("\n") { text += "\n" }
        text.withCString { p in _ = write(2, p, strlen(p)) }
    }

    /// The one line on stderr, then the exit status of the error's kind.
    static func fail(_ error: PathProbeError) -> Never {
        printError("pathprobe: " + error.message)
        exit(error.exitStatus.rawValue)
    }

    /// Standard output, unbuffered enough for streaming (JSON Lines, progress-free tables). Output
    /// that cannot be written (a full disk, `> /dev/full`, a closed descriptor) is a failure: one
    /// line on stderr, exit status 3, never a silent 0.
    static func printOut(_ text: String) {
        var t = text
        if !t.hasSuffix("\n") { t += "\n" }
        if let error = writeAll(t, to: 1) { fail(.environment("cannot write standard output: \(String(cString: strerror(error)))")) }
    }

    /// Writes all of `text` to `fd`; the errno of a write that failed, nil when all was written.
    static func writeAll(_ text: String, to fd: Int32) -> Int32? {
        var t = text
        return t.withUTF8 { buf -> Int32? in
            var off = 0
            while off < buf.count {
                let w = write(fd, buf.baseAddress! + off, buf.count - off)
                if w < 0 && errno == EINTR { continue }
                if w <= 0 { return w < 0 ? errno : ENOSPC }
                off += w
            }
            return nil
        }
    }

    /// A document as --json prints it.
    static func printDocument<D: ContractDocument>(_ document: D) { printOut(Contract.text(document, pretty: true)) }

    /// A result as asked for: nothing with --quiet, the document with --json, else `text` for people.
    static func emit<D: ContractDocument>(_ document: D, _ output: OutputOptions, text: (Style) -> String) {
        if output.quiet { return }
        if output.json { printDocument(document) } else { printOut(text(style())) }
    }

    /// A report as asked for: nothing with --quiet, --json, --markdown, or text for people.
    static func printReport<R: Report>(_ report: R, _ output: OutputOptions, markdown: Bool) {
        if output.quiet { return }
        if output.json {
            printDocument(report)
        } else if markdown {
            printOut(report.markdown)
        } else {
            printOut(report.text(style: style()))
        }
    }

    /// Colour only on a terminal, never with NO_COLOR set.
    static func style(forFD fd: Int32 = 1) -> Style {
        let noColor = getenv("NO_COLOR").map { String(cString: $0).isEmpty == false } ?? false
        return Style(enabled: isatty(fd) == 1 && !noColor)
    }
}

/// Documents with a text and a Markdown rendering (`profile`, `rdp`).
protocol Report: ContractDocument {
    func text(style: Style) -> String
    var markdown: String { get }
}

extension ProfileReport: Report {}
extension RDPReport: Report {}

/// Flags shared by every command that prints results.
struct OutputOptions: ParsableArguments {
    @Flag(name: [.customShort("j"), .long], help: "Print one JSON document (docs/json.md).")
    var json = false

    @Flag(name: [.customShort("q"), .long], help: "Quiet: print nothing; the exit status is the answer (errors still go to stderr).")
    var quiet = false

    func validate() throws {
        if json && quiet { throw ValidationError("--json and --quiet cannot be used together") }
    }
}

/// -n: never print a name looked up in reverse DNS, as `ping -n`, `traceroute -n` and `route -n`.
struct NumericOption: ParsableArguments {
    @Flag(name: [.customShort("n"), .customLong("numeric")],
          help: "Numeric: print addresses, no reverse DNS (only mtu and profile look up hop names; elsewhere output is always numeric).")
    var numeric = false
}

extension ExitCode {
    init(_ status: ExitStatus) { self.init(status.rawValue) }
}

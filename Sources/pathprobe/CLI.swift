import ArgumentParser
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// Bad input found after parsing (unknown host, no route...): one line on stderr, exit status 2.
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

enum CLI {
    /// `--responder=PORT` is spelled like an optional-value flag in the docs; the parser knows it as
    /// `--responder-port PORT`.
    static func normalizedArguments(_ args: [String]) -> [String] {
        args.flatMap { a -> [String] in
            if a.hasPrefix("--responder=") { return ["--responder-port", String(a.dropFirst("--responder=".count))] }
            return [a]
        }
    }

    /// Writes straight to fd 2 (Swift 6 treats the C `stderr` global as unsafe).
    static func printError(_ line: String) {
        var text = line
        if !text.hasSuffix("\n") { text += "\n" }
        text.withCString { p in _ = write(2, p, strlen(p)) }
    }

    static func fail(_ message: String) -> Never {
        printError("pathprobe: " + message)
        exit(2)
    }

    /// Standard output, unbuffered enough for streaming (JSON Lines, progress-free tables).
    static func printOut(_ text: String) {
        var t = text
        if !t.hasSuffix("\n") { t += "\n" }
        t.withCString { p in
            var off = 0
            let n = strlen(p)
            while off < n {
                let w = write(1, p + off, n - off)
                if w <= 0 { break }
                off += w
            }
        }
    }

    /// Colour only on a terminal, never with NO_COLOR set.
    static func style(forFD fd: Int32 = 1) -> Style {
        let noColor = getenv("NO_COLOR").map { String(cString: $0).isEmpty == false } ?? false
        return Style(enabled: isatty(fd) == 1 && !noColor)
    }
}

/// Flags shared by every command that prints results.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON object (schema in README.md).")
    var json = false
}

/// -4 / -6
struct FamilyOptions: ParsableArguments {
    @Flag(name: .customShort("4"), help: "Use IPv4 only.")
    var ipv4 = false
    @Flag(name: .customShort("6"), help: "Use IPv6 only.")
    var ipv6 = false

    func validate() throws {
        if ipv4 && ipv6 { throw ValidationError("-4 and -6 cannot be used together") }
    }

    var family: AddressFamily? { ipv4 ? .ipv4 : (ipv6 ? .ipv6 : nil) }
}

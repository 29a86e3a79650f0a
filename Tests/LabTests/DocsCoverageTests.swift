import Foundation
import Testing

/// Every command and every option that `--help` shows is documented in docs/ (issue 14): a page per
/// command in docs/commands/, the shared options in docs/commands/common-options.md. Reads the real
/// binary's help, so an option added to a shared Arguments type must reach the docs too. Needs no
/// privilege, only the built binary.
@Suite("Docs cover --help")
struct DocsCoverageTests {
    static let docs = Lab.repositoryRoot.appendingPathComponent("docs")

    /// Pages that document a command's options besides its own page and the common options:
    /// commands that compose others take their options.
    static let alsoDocumentedIn: [String: [String]] = [
        "profile": ["mtu", "reach"],
        "bulk": ["mtu", "reach", "profile"],
    ]

    static func page(_ name: String) throws -> String {
        let url = docs.appendingPathComponent("commands/\(name).md")
        return try String(contentsOf: url, encoding: .utf8)
    }

    static func help(_ arguments: [String], binary: String? = Lab.binary) throws -> String {
        let bin = try #require(binary, "the pathprobe binary is not built (run `swift build` first)")
        let r = Lab.run([bin] + arguments)
        try #require(r.status == 0, "\(arguments) exited \(r.status): \(r.stderr)")
        return r.stdout
    }

    /// The subcommand names of the root's help ("SUBCOMMANDS:" section, names at column 2).
    static func subcommands(_ help: String) -> [String] {
        var names: [String] = []
        var inSection = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") && !line.isEmpty { inSection = line == "SUBCOMMANDS:"; continue }
            guard inSection, line.hasPrefix("  "), !line.hasPrefix("   ") else { continue }
            guard let word = line.split(separator: " ").first, !word.hasPrefix("See") else { continue }
            names.append(String(word))
        }
        return names
    }

    /// `name` stands in `text` as a word of its own: "--responder" is not found in "--responder-port".
    static func mentions(_ text: String, _ name: String) -> Bool {
        var rest = text[...]
        while let r = rest.range(of: name) {
            let next = rest[r.upperBound...].first
            let previous = r.lowerBound == text.startIndex ? nil : text[text.index(before: r.lowerBound)]
            let boundary: (Character?) -> Bool = { c in
                guard let c else { return true }
                return !(c.isLetter || c.isNumber || c == "-" || c == "_")
            }
            if boundary(next) && boundary(previous) { return true }
            rest = rest[r.upperBound...]
        }
        return false
    }

    @Test func everyCommandHasAPageAndARowInTheREADME() throws {
        let commands = Self.subcommands(try Self.help(["--help"]))
        #expect(commands.count >= 9, "\(commands)")
        let readme = try String(contentsOf: Lab.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.utf8.count <= 15 * 1024, "README.md is \(readme.utf8.count) bytes: the reference belongs in docs/")
        for command in commands {
            #expect((try? Self.page(command)) != nil, "docs/commands/\(command).md is missing")
            #expect(readme.contains("[`\(command)`](docs/commands/\(command).md)"), "README's table has no row for \(command)")
        }
        #expect(readme.contains("docs/commands/common-options.md"))
    }

    @Test func everyOptionOfEveryCommandIsDocumented() throws {
        let common = try Self.page("common-options")
        for command in Self.subcommands(try Self.help(["--help"])) {
            let pages = [command] + (Self.alsoDocumentedIn[command] ?? [])
            let text = try pages.map { try Self.page($0) }.joined(separator: "\n") + common
            let options = ConventionTests.optionNames(try Self.help([command, "--help"]))
            #expect(!options.isEmpty, "\(command): no options parsed from --help")
            let missing = options.filter { !Self.mentions(text, $0) }.sorted()
            #expect(missing.isEmpty, "pathprobe \(command): \(missing) not in docs/commands/\(command).md (or \(pages.dropFirst()), common-options.md)")
        }
    }

    /// The exporter is a binary of its own: its options are on docs/commands/exporter.md.
    @Test func theExportersOptionsAreDocumented() throws {
        guard let bin = Lab.binary.map({ URL(fileURLWithPath: $0).deletingLastPathComponent().appendingPathComponent("pathprobe-exporter").path }),
              FileManager.default.isExecutableFile(atPath: bin) else { return }
        let text = try Self.page("exporter") + Self.page("common-options")
        let options = ConventionTests.optionNames(try Self.help(["--help"], binary: bin))
        #expect(!options.isEmpty)
        let missing = options.filter { !Self.mentions(text, $0) }.sorted()
        #expect(missing.isEmpty, "pathprobe-exporter: \(missing) not in docs/commands/exporter.md")
    }

    @Test func wordMatching() {
        #expect(Self.mentions("`--responder-port PORT`", "--responder-port"))
        #expect(!Self.mentions("`--responder-port PORT`", "--responder"))
        #expect(Self.mentions("| `-W`, `--timeout S` |", "-W"))
        #expect(!Self.mentions("x--timeout", "--timeout"))
    }
}

import ArgumentParser
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two profile reports (before and after tuning).",
        discussion: """
            Reads two `pathprobe profile --json` reports and lists what changed: path MTU, black hole, \
            each port's state and MSS, the egress interface's MTU and offloads, findings and \
            recommendations added or gone. A regression is something that worked before and got worse: \
            a smaller path MTU, a new black hole, a port that was open and is not, fragments or \
            UDP path MTU lost, a new critical finding.

            Examples:
              pathprobe profile --rdp rdgw.example.net --json > before.json
              ip link set dev wg0 mtu 1380
              pathprobe profile --rdp rdgw.example.net --json > after.json
              pathprobe diff before.json after.json

            Exit status: 0 nothing that worked before got worse, 1 a regression (listed), 2 bad input
            (not a pathprobe profile report, different targets without --force, another schema_version).
            """
    )

    @Argument(help: "The report from before the change.")
    var before: String

    @Argument(help: "The report from after the change.")
    var after: String

    @Flag(help: "Compare reports for different targets anyway.")
    var force = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        let diff: ProfileDiff
        do { diff = try ProfileDiff(before: try load(before), after: try load(after), force: force) } catch let e as ProfileDiff.DifferentTargets {
            throw PathProbeError.usage(e.description)
        }
        if output.json { CLI.printDocument(diff) } else { CLI.printOut(diff.text(style: CLI.style())) }
        if diff.hasRegression { throw ExitCode(.failed) }
    }

    /// A `profile` document of this contract version, typed.
    private func load(_ path: String) throws(PathProbeError) -> ProfileReport {
        guard let text = readFile(path) else { throw .usage("cannot read \(path)") }
        let value: JSON
        do { value = try JSON.parse(text) } catch { throw .usage("\(path) is not a pathprobe profile report (\(error))") }
        do { return try Contract.decode(ProfileReport.self, from: value) } catch let e as Contract.WrongDocument {
            throw .usage(e.found == DocumentType.profile.rawValue
                ? "\(path) has \(e.description)"
                : "\(path) is not a pathprobe profile report (run `pathprobe profile --json`)")
        } catch {
            throw .usage("\(path) is not a pathprobe profile report (\(error))")
        }
    }
}

/// The whole file as text, nil when it cannot be read.
func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { return nil }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

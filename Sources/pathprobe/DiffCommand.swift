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

            Reports are read whole, up to 64 MiB each (a profile of every TCP and UDP port is about 30 MiB); \
            text from them is printed without control characters.

            Exit status: 0 nothing that worked before got worse, 1 a regression (listed), 2 bad input
            (not a pathprobe profile report, larger than 64 MiB, different targets without --force, another schema_version).
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
        CLI.emit(diff, output) { diff.text(style: $0) }
        if diff.hasRegression { throw ExitCode(.failed) }
    }

    /// A `profile` document of this contract version, typed.
    private func load(_ path: String) throws(PathProbeError) -> ProfileReport {
        let text = try readFile(path, cap: ProfileDiff.fileSizeCap)
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

/// The whole file as text, at most `cap` bytes (a bigger file is bad input: it is not a report
/// pathprobe wrote, and reading it whole would cost its size several times over in memory).
func readFile(_ path: String, cap: Int) throws(PathProbeError) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .usage("cannot read \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var st = stat()
    if fstat(fd, &st) == 0 {
        if st.st_mode & S_IFMT == S_IFDIR { throw .usage("\(path) is a directory, not a report") }
        if st.st_mode & S_IFMT == S_IFREG && Int(st.st_size) > cap { throw tooBig(path, cap) }
    }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw .usage("cannot read \(path): \(String(cString: strerror(errno)))") }
        if n == 0 { break }
        // A pipe or a file that grows: the cap holds while reading too.
        if bytes.count + n > cap { throw tooBig(path, cap) }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

private func tooBig(_ path: String, _ cap: Int) -> PathProbeError {
    .usage("\(path) is larger than \(cap >> 20) MiB: not a pathprobe profile report")
}

import ArgumentParser
import Foundation
import PathProbeCore

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
            (not a pathprobe profile report, different targets without --force, unsupported schema_version).
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
        do {
            diff = try ProfileDiff(before: try load(before), after: try load(after), force: force, names: (before, after))
        } catch let e as ProfileDiff.InputError {
            throw UsageError("\(e)")
        }
        CLI.printOut(output.json ? diff.json.serialized(pretty: true) : diff.text(style: CLI.style()))
        if diff.hasRegression { throw ExitCode(1) }
    }

    private func load(_ path: String) throws -> JSON {
        guard let data = FileManager.default.contents(atPath: path) else { throw UsageError("cannot read \(path)") }
        do { return try JSON.parse(String(decoding: data, as: UTF8.self)) } catch {
            throw UsageError("\(path) is not a pathprobe profile report (\(error))")
        }
    }
}

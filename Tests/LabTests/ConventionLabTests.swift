import Foundation
import PathProbeCore
import Testing

/// The flags users bring from ping, traceroute, ip and ethtool (issue 14), on the real binary:
/// `-n`, `-W`, `-I` (and `-i`), `-q`, `-j`; usage errors with argument-parser's hint; the exit
/// statuses in every command's --help. Help and usage errors need no privilege; the runs probe only
/// the loopback of a namespace made here.
@Suite("Conventions")
struct ConventionTests {
    static let commands = ["mtu", "reach", "serve", "nic", "route", "profile", "diff", "bulk", "rdp"]
    /// The commands that resolve HOST names (and so take -n).
    static let resolving = ["mtu", "reach", "route", "profile", "rdp", "bulk"]
    /// The commands with --timeout (-W) and --interface (-I, -i).
    static let probing = ["mtu", "reach", "profile", "rdp", "bulk"]
    /// The commands that print one document (-j, -q).
    static let documents = ["mtu", "reach", "nic", "route", "profile", "diff", "rdp"]

    static func help(_ command: String) throws -> String {
        try #require(Lab.binary != nil, "the pathprobe binary is not built (run `swift build` first)")
        let r = Lab.pathprobe([command, "--help"], in: nil)
        try #require(r.status == 0, "pathprobe \(command) --help exited \(r.status)")
        return r.stdout
    }

    /// The option names of one --help's OPTIONS section ("-W, --timeout <timeout>" -> ["-W", "--timeout"]).
    static func optionNames(_ help: String) -> Set<String> {
        var names: Set<String> = []
        var inOptions = false
        for line in help.split(separator: "\n") {
            if !line.hasPrefix(" ") { inOptions = line == "OPTIONS:"; continue }
            // Names start at column 2; deeper lines continue a description.
            guard inOptions, line.hasPrefix("  -") else { continue }
            let trimmed = line.drop { $0 == " " }
            for word in trimmed.split(separator: " ") {
                let w = word.hasSuffix(",") ? word.dropLast() : word
                guard w.hasPrefix("-"), w.count > 1 else { break }
                names.insert(String(w.split(separator: "=").first ?? w))
            }
        }
        return names
    }

    @Test(arguments: resolving)
    func numericIsEverywhereNamesAreResolved(_ command: String) throws {
        let names = Self.optionNames(try Self.help(command))
        #expect(names.isSuperset(of: ["-n", "--numeric"]), "\(command): \(names.sorted())")
    }

    @Test(arguments: probing)
    func timeoutAndInterfaceHaveTheShortNamesOfPing(_ command: String) throws {
        let names = Self.optionNames(try Self.help(command))
        #expect(names.isSuperset(of: ["-W", "--timeout", "-I", "-i", "--interface"]), "\(command): \(names.sorted())")
    }

    @Test(arguments: documents)
    func jsonAndQuietHaveShortNames(_ command: String) throws {
        let names = Self.optionNames(try Self.help(command))
        #expect(names.isSuperset(of: ["-j", "--json", "-q", "--quiet"]), "\(command): \(names.sorted())")
    }

    @Test func bulkAndServeAreQuietWithQ() throws {
        for command in ["bulk", "serve"] {
            #expect(Self.optionNames(try Self.help(command)).isSuperset(of: ["-q", "--quiet"]), "\(command)")
        }
        #expect(Self.optionNames(try Self.help("nic")).contains("--kernel-names"))
    }

    /// Every command's help states its exit statuses, and bad input is 2 for every one of them.
    @Test(arguments: commands)
    func helpStatesExitStatusesAndBadInputIsTwo(_ command: String) throws {
        // The help wraps its prose: compare with single spaces.
        let help = try Self.help(command).split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        #expect(help.contains("Exit status: 0"), "\(command)")
        #expect(help.contains("2 bad input"), "\(command)")
        let operands = command == "diff" ? ["a.json", "b.json"] : ["serve", "nic", "bulk"].contains(command) ? [] : ["127.0.0.1"]
        let bad = Lab.pathprobe([command, "--no-such-option"] + operands, in: nil)
        #expect(Lab.isUsageError(bad, command: command), "\(command): \(bad.status) \(bad.stderr)")
        #expect(bad.stderr.hasPrefix("pathprobe: Unknown option '--no-such-option'\n"), "\(bad.stderr)")
    }

    /// `pathprobe exporter --help` is pathprobe-exporter's, with its own exit statuses.
    @Test func exporterHelpStatesExitStatuses() throws {
        let help = try Self.help("exporter").split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        #expect(help.contains("Exit status: 0"))
    }

    @Test func usageErrorsKeepTheHint() throws {
        try #require(Lab.binary != nil)
        let root = Lab.pathprobe(["no-such-command"], in: nil)
        #expect(Lab.isUsageError(root, command: nil), "\(root.stderr)")
        #expect(root.stderr.contains("See 'pathprobe --help'"))
        let missing = Lab.pathprobe(["mtu"], in: nil)
        #expect(missing.stderr == "pathprobe: Missing expected argument '<host>'\nSee 'pathprobe mtu --help' for more information.\n")
        let conflict = Lab.pathprobe(["route", "-q", "-j", "127.0.0.1"], in: nil)
        #expect(Lab.isUsageError(conflict, command: "route"), "\(conflict.stderr)")
        #expect(conflict.stderr.contains("--json and --quiet cannot be used together"))
        // Bad input found after parsing (in the measurement) carries the same hint.
        let range = Lab.pathprobe(["mtu", "--min", "10", "127.0.0.1"], in: nil)
        #expect(Lab.isUsageError(range, command: "mtu"), "\(range.stderr)")
        #expect(Lab.pathprobe(["--version"], in: nil).status == 0)
    }
}

/// The same flags on runs: every one against the loopback of a fresh namespace (root).
@Suite(.enabled(if: Lab.isAvailable, "\(Lab.skipReason ?? "")"), .serialized)
struct ConventionLabTests {
    @Test func shortFlagsRunTheMeasurements() throws {
        try LabNetns.with("conv") { n in
            // -n -W -I -c: measured; -q prints nothing, the exit status is the answer.
            let mtu = Lab.pathprobe(["mtu", "-n", "-W", "0.3", "-I", "lo", "-c", "1", "-q", "127.0.0.1"], in: n)
            #expect(mtu.status == 0, "\(mtu.stderr)")
            #expect(mtu.stdout.isEmpty && mtu.stderr.isEmpty)
            let json = Lab.pathprobe(["mtu", "-n", "-i", "lo", "-W", "0.3", "-j", "127.0.0.1"], in: n)
            #expect(json.status == 0, "\(json.stderr)")
            #expect(Contract.header(of: try JSON.parse(json.stdout)).type == "mtu")

            let reach = Lab.pathprobe(["reach", "-n", "-W", "0.3", "-I", "lo", "-q", "--tcp", "1", "127.0.0.1"], in: n)
            #expect(reach.status == 0, "a closed port answers (RST): \(reach.stderr)")
            #expect(reach.stdout.isEmpty)
            let reachJSON = Lab.pathprobe(["reach", "-n", "-W", "0.3", "-j", "--tcp", "1", "127.0.0.1"], in: n)
            #expect(Contract.header(of: try JSON.parse(reachJSON.stdout)).type == "reach")

            let route = Lab.pathprobe(["route", "-n", "-q", "127.0.0.1"], in: n)
            #expect(route.status == 0 && route.stdout.isEmpty)
            let routeJSON = Lab.pathprobe(["route", "-n", "-j", "127.0.0.1"], in: n)
            #expect(Contract.header(of: try JSON.parse(routeJSON.stdout)).type == "route")

            let nic = Lab.pathprobe(["nic", "-q"], in: n)
            #expect(nic.status == 0 && nic.stdout.isEmpty)
            let nicJSON = Lab.pathprobe(["nic", "-j", "lo"], in: n)
            #expect(Contract.header(of: try JSON.parse(nicJSON.stdout)).type == "nic")

            // Nothing listens on 3389 here: the session breaks, exit 1, and -q prints nothing.
            let rdp = Lab.pathprobe(["rdp", "-n", "-W", "0.3", "-I", "lo", "-q", "--no-mtu", "--no-udp", "127.0.0.1"], in: n)
            #expect(rdp.status == 1, "\(rdp.stderr)")
            #expect(rdp.stdout.isEmpty)

            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(Lab.uniquePrefix("conv")).path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let before = Lab.pathprobe(["profile", "-n", "-W", "0.3", "-I", "lo", "-j", "127.0.0.1"], in: n)
            #expect(before.status == 0, "\(before.stderr)")
            try before.stdout.write(toFile: dir + "/before.json", atomically: true, encoding: .utf8)
            let quietProfile = Lab.pathprobe(["profile", "-n", "-W", "0.3", "-q", "127.0.0.1"], in: n)
            #expect(quietProfile.status == 0 && quietProfile.stdout.isEmpty)
            let diff = Lab.pathprobe(["diff", "-q", dir + "/before.json", dir + "/before.json"], in: n)
            #expect(diff.status == 0 && diff.stdout.isEmpty, "\(diff.stderr)")
            let diffJSON = Lab.pathprobe(["diff", "-j", dir + "/before.json", dir + "/before.json"], in: n)
            #expect(Contract.header(of: try JSON.parse(diffJSON.stdout)).type == "diff")

            try "127.0.0.1\n".write(toFile: dir + "/targets.txt", atomically: true, encoding: .utf8)
            let bulk = Lab.pathprobe(["bulk", "-n", "-q", "-W", "0.3", "-I", "lo", "-f", dir + "/targets.txt", "-o", dir + "/out.jsonl"], in: n)
            #expect(bulk.status == 0, "\(bulk.stderr)")
            #expect(bulk.stdout.isEmpty && bulk.stderr.isEmpty)
            #expect(try String(contentsOfFile: dir + "/out.jsonl", encoding: .utf8).contains("\"type\": \"mtu\"")
                || (try String(contentsOfFile: dir + "/out.jsonl", encoding: .utf8).contains("\"type\":\"mtu\"")))

            // serve -q: no log lines at all.
            let serve = Lab.pathprobe(["serve", "-q", "--port", "4999", "--listen", "127.0.0.1", "--duration", "0.3"], in: n)
            #expect(serve.status == 0, "\(serve.stderr)")
            #expect(serve.stderr.isEmpty && serve.stdout.isEmpty)
        }
    }
}

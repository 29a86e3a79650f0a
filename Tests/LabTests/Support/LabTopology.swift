import Foundation
import PathProbeCore
import Testing

/// One client - r1 - r2 - server lab built with scripts/lab.sh, torn down by `down()`.
/// Server addresses: 10.0.3.2 and fd00:3::2. Namespaces: `client`, `r1`, `r2`, `server`.
struct LabTopology {
    let prefix: String
    var client: String { prefix + "c" }
    var r1: String { prefix + "r1" }
    var r2: String { prefix + "r2" }
    var server: String { prefix + "s" }
    static let server4 = "10.0.3.2"
    static let server6 = "fd00:3::2"

    /// Builds the lab; `options` are scripts/lab.sh options (--mtu2 1400 --blackhole r2 ...).
    init(_ base: String, _ options: [String] = []) throws {
        prefix = Lab.uniquePrefix(base)
        do {
            try Lab.sh(([Lab.labScript, "up", prefix] + options).joined(separator: " "))
        } catch {
            down()  // a half-built lab must not outlive the test
            throw error
        }
    }

    func down() { _ = try? Lab.sh("\(Lab.labScript) down \(prefix)") }

    /// Runs a command in one of the lab's namespaces.
    @discardableResult
    func exec(_ namespace: String, _ command: String) throws -> String {
        try Lab.sh("ip netns exec \(namespace) \(command)")
    }

    /// pathprobe in the client namespace.
    func pathprobe(_ args: [String], asUser user: String? = nil) -> Lab.Run {
        Lab.pathprobe(args, in: client, asUser: user)
    }

    /// pathprobe --json in the client namespace, parsed.
    func pathprobeJSON(_ args: [String], asUser user: String? = nil) throws -> [String: Any] {
        let run = pathprobe(args + ["--json"], asUser: user)
        guard let data = run.stdout.data(using: .utf8),
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Lab.CommandError(command: "pathprobe \(args.joined(separator: " "))", status: run.status,
                                   output: run.stdout + run.stderr)
        }
        // Every document carries the contract's envelope: its type (the command) and schema_version.
        #expect(object["type"] as? String == args.first && object["schema_version"] as? Int == 2, "\(args): envelope")
        return object
    }
}

import Foundation
import Testing

/// Shared helpers for the namespace lab tests: run shell commands, run the pathprobe binary inside a
/// namespace, build and tear down topologies with scripts/lab.sh.
///
/// Lab tests need root (network namespaces, veth, iptables). CI runs as root. Elsewhere each test
/// is skipped with `Lab.skipReason` as the stated reason.
enum Lab {
    struct CommandError: Error, CustomStringConvertible {
        let command: String
        let status: Int32
        let output: String
        var description: String { "`\(command)` exited \(status): \(output)" }
    }

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Why lab tests cannot run here, or nil when they can.
    static let skipReason: String? = {
        if getuid() != 0 { return "lab tests need root to create network namespaces (run as root, as CI does)" }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip") else {
            return "iproute2 (ip) is not installed"
        }
        let probe = "pp-probe-\(getpid())"
        if (try? sh("ip netns add \(probe) && ip netns del \(probe)")) == nil {
            return "cannot create network namespaces here"
        }
        if binary == nil { return "the pathprobe binary is not built (run `swift build` first)" }
        return nil
    }()

    static var isAvailable: Bool { skipReason == nil }

    /// The repository root (this file is Tests/LabTests/Support/Lab.swift).
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The pathprobe executable: $PATHPROBE_BIN, else the newest of .build/{debug,release}/pathprobe.
    static let binary: String? = {
        if let env = ProcessInfo.processInfo.environment["PATHPROBE_BIN"], FileManager.default.isExecutableFile(atPath: env) {
            return env
        }
        let candidates = ["debug", "release"].map { repositoryRoot.appendingPathComponent(".build/\($0)/pathprobe").path }
            .filter { FileManager.default.isExecutableFile(atPath: $0) }
        return candidates.max { a, b in
            let da = (try? FileManager.default.attributesOfItem(atPath: a)[.modificationDate] as? Date) ?? .distantPast
            let db = (try? FileManager.default.attributesOfItem(atPath: b)[.modificationDate] as? Date) ?? .distantPast
            return da < db
        }
    }()

    static let labScript = repositoryRoot.appendingPathComponent("scripts/lab.sh").path

    /// Runs `command` with bash; throws with its output when it exits non-zero.
    @discardableResult
    static func sh(_ command: String) throws -> String {
        let r = run(["/bin/bash", "-c", command])
        guard r.status == 0 else { throw CommandError(command: command, status: r.status, output: r.stdout + r.stderr) }
        return r.stdout
    }

    /// Runs a program and collects its output.
    static func run(_ argv: [String], environment: [String: String]? = nil) -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        if let environment { p.environment = environment }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return Run(status: 127, stdout: "", stderr: "\(error)") }
        // Read both pipes concurrently so neither fills up and blocks the child.
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return Run(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                   stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs pathprobe inside network namespace `namespace` (nil: the test's own namespace).
    static func pathprobe(_ arguments: [String], in namespace: String?, asUser user: String? = nil) -> Run {
        var argv: [String] = []
        if let namespace { argv += ["/usr/sbin/ip", "netns", "exec", namespace] }
        if let user { argv += ["/usr/bin/setpriv", "--reuid", user, "--regid", user == "nobody" ? "nogroup" : user, "--clear-groups"] }
        argv += [binary ?? "pathprobe"] + arguments
        return run(argv)
    }

    /// Bad input as every command reports it: exit status 2, nothing on standard output, one line
    /// saying what is wrong, then argument-parser's hint ("See 'pathprobe mtu --help' for more information.").
    static func isUsageError(_ r: Run, command: String? = nil) -> Bool {
        let lines = r.stderr.split(separator: "\n")
        let hint = command.map { "See 'pathprobe \($0) --help'" } ?? "See 'pathprobe"
        return r.status == 2 && r.stdout.isEmpty && lines.count == 2 && lines[0].hasPrefix("pathprobe: ") && lines[1].hasPrefix(hint)
    }

    /// A name for this test's namespaces that no other test uses at the same time.
    static func uniquePrefix(_ base: String) -> String {
        "pp\(base)" + String(UInt32.random(in: 0...0xfffff), radix: 36)
    }
}

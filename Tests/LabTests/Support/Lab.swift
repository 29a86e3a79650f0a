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

    /// Runs a program and collects its output. posix_spawn + poll + waitpid rather than Foundation's
    /// Process: its waitUntilExit was seen to hang here with the child a zombie nobody reaped (after
    /// `lab.sh up --windows-server` started its daemons), which hung the whole suite.
    static func run(_ argv: [String], environment: [String: String]? = nil) -> Run {
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { return Run(status: 127, stdout: "", stderr: "pipe: errno \(errno)") }
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // (pipe2 is not imported)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
        close(outPipe[1])
        close(errPipe[1])
        defer { close(outPipe[0]); close(errPipe[0]) }
        guard spawned == 0 else { return Run(status: 127, stdout: "", stderr: "\(argv[0]): \(String(cString: strerror(spawned)))") }
        // Read both pipes together so neither fills up and blocks the child.
        var collected: [Int32: [UInt8]] = [outPipe[0]: [], errPipe[0]: []]
        var open: Set<Int32> = [outPipe[0], errPipe[0]]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            var fds = open.sorted().map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 { if errno == EINTR { continue }; break }
            for f in fds where f.revents != 0 {
                let n = read(f.fd, &buffer, buffer.count)
                if n > 0 { collected[f.fd]! += buffer[0..<n] } else if n == 0 || errno != EINTR { open.remove(f.fd) }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // Exit code, or 128 + the signal that ended it.
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Run(status: code, stdout: String(decoding: collected[outPipe[0]]!, as: UTF8.self),
                   stderr: String(decoding: collected[errPipe[0]]!, as: UTF8.self))
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

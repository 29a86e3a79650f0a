import ArgumentParser
import PathProbeCore
import PathProbeKit

#if canImport(Glibc)
import Glibc
#endif

/// The root command. Each subcommand lives in its own file: flags in, one library call, renderer out.
struct PathProbe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pathprobe",
        abstract: "MTU and transport path profiler: exact path MTU (also through black holes), port reachability, local path inventory.",
        discussion: """
            Examples:
              pathprobe mtu 192.0.2.10
              pathprobe mtu -6 --json gw.example.net
              pathprobe reach --rdp rdgw.example.net
              pathprobe nic
              pathprobe route 192.0.2.10
              pathprobe profile --rdp --json rdgw.example.net > before.json
              pathprobe diff before.json after.json
              pathprobe bulk -f gateways.txt --mode mtu -o results.jsonl

            Conventions: -n numeric (no reverse DNS), -W (--timeout), -I (--interface; -i too), \
            -q quiet (print nothing, the exit status is the answer), -j (--json), -4 / -6.

            Exit status: 0 measured, 1 target unreachable (or a regression, for diff; something that \
            breaks, for rdp), 2 bad input (one line, then where help is), 3 environment (a missing \
            privilege, a socket or system call that failed, output that could not be written), \
            130 / 143 stopped by SIGINT / SIGTERM. Each command's --help has its own.
            """,
        version: PathProbeVersion.string,
        subcommands: [
            MTUCommand.self, ReachCommand.self, ServeCommand.self, NicCommand.self, RouteCommand.self,
            ProfileCommand.self, DiffCommand.self, BulkCommand.self, RDPCommand.self, ExporterCommand.self,
        ]
    )
}

@main
enum Main {
    static func main() {
        var hint = "See 'pathprobe --help' for more information."
        do {
            var command = try PathProbe.parseAsRoot(CLI.normalizedArguments(Array(CommandLine.arguments.dropFirst())))
            if let name = type(of: command).configuration.commandName, name != "pathprobe" {
                hint = "See 'pathprobe \(name) --help' for more information."
            }
            try command.run()
        } catch let exit as ExitCode {
            Glibc.exit(exit.rawValue)
        } catch let failure as PathProbeError {
            if failure.kind == .usage { CLI.usage(failure.message, hint: hint) }
            CLI.fail(failure)
        } catch {
            // --help and --version are "errors" to the parser that exit 0: let it print them.
            if PathProbe.exitCode(for: error) == .success { PathProbe.exit(withError: error) }
            // Anything else is bad input: one clear line, argument-parser's hint where help is, exit status 2.
            let message = PathProbe.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            CLI.usage(message, hint: CLI.helpHint(PathProbe.fullMessage(for: error)) ?? hint)
        }
    }
}

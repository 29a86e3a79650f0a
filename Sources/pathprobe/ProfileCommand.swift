import ArgumentParser
import PathProbeCore
import PathProbeKit

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "One report: local side, path MTU, ports, findings and the exact fixes.",
        discussion: """
            Reads the local side of the path (egress interface, tunnel, route, cached PMTU, offloads, \
            PMTU sysctls), measures the path MTU (through black holes) and, when ports are given, which \
            TCP and UDP ports get through, all on one event loop at once. Then the advisor turns the \
            measurements into findings and recommendations with the exact Linux and Windows commands: \
            interface-mtu, tcp-mss-clamp, tcp-mtu-probing, tcp-only. A clean path gets none.

            Save the JSON before and after a change and compare them with `pathprobe diff`.

            Examples:
              pathprobe profile 192.0.2.10
              pathprobe profile --rdp rdgw.example.net
              pathprobe profile --ipsec --responder vpn.example.net --json > before.json
              pathprobe profile --tcp 443 --udp 443 --markdown gw.example.net

            Exit status: 0 measured, 1 target unreachable, 2 bad input, 3 environment.
            """
    )

    @Argument(help: "Host name or address.")
    var host: String

    @OptionGroup var family: FamilyArguments
    @OptionGroup var profile: ProfileArguments
    @OptionGroup var output: OutputOptions

    @Flag(help: "Print Markdown, for tickets and chat.")
    var markdown = false

    @OptionGroup var names: NumericOption

    func validate() throws {
        if output.json && markdown { throw ValidationError("--json and --markdown cannot be used together") }
    }

    func run() throws {
        let report = try ProfileSetup.measure(host: host, family: family.family, profile, numeric: names.numeric)
        CLI.printReport(report, output, markdown: markdown)
        if !report.mtu.reachable { throw ExitCode(.failed) }
    }
}

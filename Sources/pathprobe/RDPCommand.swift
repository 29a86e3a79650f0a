import ArgumentParser
import PathProbeCore
import PathProbeKit

struct RDPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rdp",
        abstract: "Remote Desktop path check: RDP negotiation, TLS, the RD Gateway, RDP-UDP and the path MTU, with the fixes.",
        discussion: """
            Speaks to the far end the way a Remote Desktop client starts to, phase by phase, and says \
            where a session would break (disconnects with 0x904 / extended 0x7 through VPN and PPPoE \
            links are its usual symptom): the X.224 negotiation offering TLS and CredSSP (what the \
            server selects, or its failure by name; standard RDP security without TLS is a finding); \
            TLS (version, cipher, the certificate's names, issuer, expiry, self-signed or not, name \
            match, the size of the chain, or the flight that stalls on the way); with --gateway, TLS \
            on 443 and RDG_OUT_DATA with its WebSocket form (an RD Gateway answers 401 with its \
            authentication schemes, anything else is not one); RDP's UDP transport (3389, through a \
            gateway 3391: does a 1232-byte datagram pass); and the TCP path MTU of the port that \
            answered, in both directions (a download black hole swallows the server's certificate \
            flight), with the ICMP path MTU and its hops where echo is answered.

            No credentials are ever sent. Findings name the phase they break and whether a client ends \
            with 0x904 / 0x7; recommendations give the exact commands (interface MTU, MSS clamp, TCP \
            MTU probing, TCP only, the security layer, certificate renewal).

            Examples:
              pathprobe rdp rdp.example.com
              pathprobe rdp --gateway rdgw.example.com
              pathprobe rdp --gateway rdgw.example.com desktop01.corp.example.com --json
              pathprobe rdp --markdown -6 rdp.example.com

            Exit status: 0 nothing breaks the session, 1 something does (a critical finding: \
            unreachable, not RDP, not an RD Gateway, a stalled TLS flight, ...), 2 bad input, \
            3 environment.
            """
    )

    @Argument(help: "The RDP host. With --gateway: the host the gateway is asked for (optional: it is only named, never probed).")
    var host: String?

    @OptionGroup var family: FamilyArguments
    @OptionGroup var rdp: RDPArguments
    @OptionGroup var probe: ProbeArguments
    @OptionGroup var output: OutputOptions
    @OptionGroup var names: NumericOption

    @Flag(help: "Print Markdown, for tickets and chat.")
    var markdown = false

    func validate() throws {
        if host == nil && rdp.gateway == nil { throw ValidationError("give the RDP host, or --gateway GATEWAY") }
        if output.json && markdown { throw ValidationError("--json and --markdown cannot be used together") }
    }

    func run() throws {
        let report = try RDPSetup.measure(host: host, family: family.family, rdp, probe: probe)
        CLI.printReport(report, output, markdown: markdown)
        if report.breaksSession { throw ExitCode(.failed) }
    }
}

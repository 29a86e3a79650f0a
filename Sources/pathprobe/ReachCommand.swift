import ArgumentParser
import PathProbeCore
import PathProbeKit

struct ReachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reach",
        abstract: "Which TCP and UDP ports get through, and the MSS the far end sees.",
        discussion: """
            TCP: a SYN to every port at once (raw socket: root or CAP_NET_RAW; without it, connect()): \
            open (SYN-ACK, with its MSS as it arrived), closed (RST), filtered (silence or ICMP \
            unreachable).

            UDP: each port gets a payload its usual service answers (DNS, NTP, IKE, STUN, OpenVPN, \
            DTLS, pathprobe): open (an answer), closed (ICMP port unreachable), open|filtered \
            (silence), filtered (other ICMP), paced to the target's ICMP rate limit.

            --responder also measures the UDP path MTU both ways and whether fragments pass, \
            against `pathprobe serve` on the far end.

            Presets: --rdp (TCP 443,3389; UDP 3391,3389), --ipsec (UDP 500,4500),
                     --wireguard (UDP 51820), --openvpn (UDP and TCP 1194).

            Examples:
              pathprobe reach --rdp rdgw.example.net
              pathprobe reach --tcp 443,3389 --udp 3391,3389,500 192.0.2.10
              pathprobe reach --tcp 2000-2499 --json 192.0.2.10
              pathprobe reach --responder --ipsec vpn.example.net

            Exit status: 0 measured, 1 nothing answered (the target is unreachable or filters every \
            port probed), 2 bad input, 3 environment (a socket that cannot be opened).
            """
    )

    @Argument(help: "Host name or address.")
    var host: String

    @OptionGroup var reach: ReachArguments
    @OptionGroup var probe: ProbeArguments
    @OptionGroup var family: FamilyArguments
    @OptionGroup var output: OutputOptions
    @OptionGroup var names: NumericOption

    func run() throws {
        let r = try ReachSetup.measure(host: host, family: family.family, reach, probe: probe)
        CLI.emit(r, output) { r.text(style: $0) }
        if !r.targetAnswered { throw ExitCode(.failed) }
    }
}

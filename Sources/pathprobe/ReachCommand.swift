import ArgumentParser
import PathProbeCore
import PathProbeEngine

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

            Exit status: 0 measured, 2 bad input.
            """
    )

    @Argument(help: "Host name or address.")
    var host: String

    @OptionGroup var portOptions: PortOptions

    @Option(help: "Longest wait for one port's answer, seconds.")
    var timeout: Double = 1.0

    @Option(name: [.customShort("c"), .customLong("retries")], help: "Probes per silent port (UDP: up to 3 more when a silence may be a rate-limited ICMP error).")
    var retries: Int = 2

    @Option(help: "Global probe rate limit, packets per second (0: unlimited).")
    var rate: Double = 1000

    @Option(name: .customLong("path-mtu"), help: "Known path MTU, the reference for mss_clamped (default: measured by the responder, else the local MTU).")
    var pathMTU: Int?

    @Option(name: [.customShort("i"), .customLong("interface")], help: "Probe out of this interface only.")
    var interface: String?

    @OptionGroup var family: FamilyOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if timeout <= 0 || timeout > 60 { throw ValidationError("--timeout must be between 0 and 60 seconds") }
        if retries < 1 || retries > 10 { throw ValidationError("--retries must be between 1 and 10") }
        if rate < 0 { throw ValidationError("--rate must not be negative") }
        if let m = pathMTU, m < 68 || m > 65535 { throw ValidationError("--path-mtu must be between 68 and 65535") }
    }

    func run() throws {
        let plan = try makePlan()
        let result: ReachResult
        do { result = try ReachRunner.measure(plan) } catch { throw UsageError("\(error)") }
        CLI.printOut(output.json ? result.json.serialized(pretty: true) : result.text(style: CLI.style()))
    }

    func makePlan() throws -> ReachPlan {
        let ports = try portOptions.ports()
        if ports.tcp.isEmpty && ports.udp.isEmpty && portOptions.responderPortToUse == nil {
            throw UsageError("nothing to probe: give --tcp, --udp, a preset (--rdp, --ipsec, --wireguard, --openvpn) or --responder")
        }
        let address: IPAddress
        do { address = try Resolver.resolve(host, family: family.family) } catch { throw UsageError("\(error)") }
        if let name = interface, LocalPath.interfaceMTU(name) == nil { throw UsageError("unknown interface '\(name)'") }
        var plan = ReachPlan(target: host, address: address)
        plan.tcpPorts = ports.tcp
        plan.udpPorts = ports.udp
        plan.timeoutMs = timeout * 1000
        plan.tcpAttempts = retries
        plan.udpAttempts = retries
        plan.rate = rate
        plan.interface = interface
        plan.responderPort = portOptions.responderPortToUse
        plan.pathMTU = pathMTU
        return plan
    }
}

import ArgumentParser
import PathProbeCore
import PathProbeKit

struct MTUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mtu",
        abstract: "Exact path MTU to a host, per hop, also through PMTU black holes.",
        discussion: """
            Sends DF probes of chosen sizes (ICMP echo, or UDP to a closed port) and uses both the \
            packet-too-big messages routers send and, where those are dropped (a black hole), a \
            byte-exact search with probes that must be answered. TTL-limited probes give the per-hop \
            view and name the hop after which large packets vanish.

            --protocol tcp measures both directions with ordinary TCP connections to a service port \
            (default 443), no privileges: hosts that answer neither ping nor closed UDP ports (RD \
            Gateways, RDP hosts, HTTPS servers behind a firewall), and the download direction, which \
            ICMP echo cannot see on IPv4. Down: connections advertise the MSS of each size and ask for \
            the service's answer (a TLS certificate flight; RDP, then TLS; an HTTP page; `pathprobe \
            serve`); up: one DF segment of each size, acknowledged or not. The server sees ordinary \
            clients. --parallel connections at once: about 17 connections on a clean path, 30-70 \
            through black holes.

            Examples:
              pathprobe mtu 192.0.2.10
              pathprobe mtu -6 -n 2001:db8::10
              pathprobe mtu --protocol udp --port 33434 gw.example.net
              pathprobe mtu -P tcp rdgw.example.net
              pathprobe mtu -P tcp --port 3389 --direction down rdp-host.example.net
              pathprobe mtu -P tcp --service pathprobe --port 33433 host-running-serve
              pathprobe mtu --json --max 9000 10.0.0.2
              pathprobe mtu -I wg0 10.8.0.1
              pathprobe mtu -q -W 0.5 10.0.0.1 && echo reachable

            Exit status: 0 measured, 1 target unreachable (TCP: the port is closed or silent), 2 bad \
            input, 3 environment (no ICMP socket: root, CAP_NET_RAW or net.ipv4.ping_group_range; or \
            --protocol udp / tcp).
            """
    )

    @Argument(help: "Host name or address.")
    var host: String

    @OptionGroup var family: FamilyArguments
    @OptionGroup var mtu: MTUArguments
    @OptionGroup var probe: ProbeArguments
    @OptionGroup var output: OutputOptions

    @OptionGroup var names: NumericOption

    @Flag(name: .customLong("no-hops"), help: "Skip the per-hop view (and black-hole localisation).")
    var noHops = false

    func run() throws {
        let r = try MTUSetup.measure(host: host, family: family.family, mtu, probe: probe, traceHops: !noHops, numeric: names.numeric)
        CLI.emit(r, output) { r.text(style: $0) }
        if !r.reachable { throw ExitCode(.failed) }
    }
}

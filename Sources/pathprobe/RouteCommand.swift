import ArgumentParser
import PathProbeCore
import PathProbeKit
import PathProbeNetlink

struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "The egress route to a host and its cached PMTU.",
        discussion: """
            Shows what `ip route get` and `ip route get fibmatch` say for HOST: egress interface and its MTU, gateway, \
            source, the route's mtu metric (and whether it is locked), advmss, and the path MTU the kernel cached for \
            HOST after an ICMP fragmentation-needed / packet-too-big (pmtu_exception, with its expiry).

            --flush removes the cached exception first (needs root), so a new measurement starts clean. IPv6 removes \
            the exception of HOST only; for IPv4 the kernel can only flush every exception of the namespace at once \
            (as `ip route flush cache`).

            Exit status: 0, 1 no route, 2 bad input, 3 environment (--flush without root).

            Examples:
              pathprobe route 192.0.2.10
              pathprobe route -6 --json gw.example.net
              sudo pathprobe route --flush 2001:db8::10
            """
    )

    @OptionGroup var output: OutputOptions
    @OptionGroup var family: FamilyArguments
    @OptionGroup var names: NumericOption

    @Flag(name: .long, help: "Remove the cached PMTU exception(s) for HOST first (root).")
    var flush = false

    @Argument(help: "Host name or address.")
    var host: String

    func run() throws {
        let address = try ProbeTarget.resolveAddress(host, family: family.family)
        let info: RouteInfo
        do {
            info = flush ? try RouteLookup.flushExceptions(for: address, destination: host)
                : try RouteLookup.lookup(address, destination: host)
        } catch let error as NetlinkError {
            if case .noRoute = error {
                CLI.printError("pathprobe: " + error.description)
                throw ExitCode(.failed)
            }
            throw PathProbeError.from(error)
        }
        CLI.emit(info, output) { info.text(style: $0) }
    }
}

import ArgumentParser
import PathProbeCore
import PathProbeKit
import PathProbeNetlink

struct NicCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nic",
        abstract: "Local interfaces, tunnels, offloads and PMTU sysctls.",
        discussion: """
            Lists every link of this network namespace (or only IFACE...): kind, state, MTU and its limits, IPv6 MTU, \
            parent, addresses; for tunnels the encapsulation overhead, the underlay and the largest inner MTU it \
            carries; the offload features (as `ethtool -k`); the sysctls that decide PMTU discovery; and findings such \
            as a tunnel MTU above its underlay's. Needs no privilege.

            Examples:
              pathprobe nic
              pathprobe nic eth0 wg0
              pathprobe nic --json | jq '.interfaces[] | {name, mtu, tunnel}'
            """
    )

    @OptionGroup var output: OutputOptions

    @Argument(help: "Interfaces to show (default: all).")
    var interfaces: [String] = []

    func run() throws {
        let inventory: LocalInventory
        do { inventory = try LocalInventory.read(interfaces: interfaces.isEmpty ? nil : interfaces) } catch {
            throw PathProbeError.from(error)
        }
        if output.json { CLI.printDocument(inventory) } else { CLI.printOut(inventory.text(style: CLI.style())) }
    }
}

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
              pathprobe nic --kernel-names wg0
              pathprobe nic --json | jq '.interfaces[] | {name, mtu, tunnel}'

            The offload table names features as `ethtool -k` does (tcp-segmentation-offload, \
            generic-receive-offload, rx-checksumming: on when any kernel feature of the group is on); \
            --kernel-names lists every kernel feature instead. The JSON carries both (docs/json.md).

            Exit status: 0 listed, 2 bad input (an interface that does not exist), 3 environment (netlink \
            could not be read).
            """
    )

    @OptionGroup var output: OutputOptions

    @Flag(name: .customLong("kernel-names"), help: "Name offloads as the kernel does (tx-tcp-segmentation, rx-gro: every feature), not as ethtool -k groups them.")
    var kernelNames = false

    @Argument(help: "Interfaces to show (default: all).")
    var interfaces: [String] = []

    func run() throws {
        let inventory: LocalInventory
        do { inventory = try LocalInventory.read(interfaces: interfaces.isEmpty ? nil : interfaces) } catch {
            throw PathProbeError.from(error)
        }
        CLI.emit(inventory, output) { inventory.text(style: $0, kernelNames: kernelNames) }
    }
}

import ArgumentParser

struct NicCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "nic", abstract: "Local interfaces, tunnels, offloads and PMTU sysctls. (not built yet)")

    func run() throws {
        throw UsageError("'nic' is not built yet")
    }
}

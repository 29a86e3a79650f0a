import ArgumentParser

struct MTUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mtu", abstract: "Path MTU to a host (being built)")
    func run() throws { throw UsageError("'mtu' is not built yet") }
}

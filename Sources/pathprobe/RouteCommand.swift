import ArgumentParser

struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "route", abstract: "The egress route to a host and its cached PMTU. (not built yet)")

    func run() throws {
        throw UsageError("'route' is not built yet")
    }
}

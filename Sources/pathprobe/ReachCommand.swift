import ArgumentParser

struct ReachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reach", abstract: "Which TCP and UDP ports get through, and the MSS the far end sees. (not built yet)")

    func run() throws {
        throw UsageError("'reach' is not built yet")
    }
}

import ArgumentParser

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "profile", abstract: "One report: local side, path MTU, ports, findings and exact fixes. (not built yet)")

    func run() throws {
        throw UsageError("'profile' is not built yet")
    }
}

import ArgumentParser

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "diff", abstract: "Compare two profile reports (before/after tuning). (not built yet)")

    func run() throws {
        throw UsageError("'diff' is not built yet")
    }
}

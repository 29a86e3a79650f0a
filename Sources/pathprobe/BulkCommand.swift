import ArgumentParser

struct BulkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bulk", abstract: "Profile thousands of targets at once. (not built yet)")

    func run() throws {
        throw UsageError("'bulk' is not built yet")
    }
}

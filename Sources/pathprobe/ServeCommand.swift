import ArgumentParser

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Answer pathprobe's UDP/TCP probes on the far end (unprivileged responder). (not built yet)")

    func run() throws {
        throw UsageError("'serve' is not built yet")
    }
}

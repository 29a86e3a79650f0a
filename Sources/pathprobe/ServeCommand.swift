import ArgumentParser
import PathProbeCore
import PathProbeEngine
import PathProbeKit

#if canImport(Glibc)
import Glibc
#endif

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Answer pathprobe's UDP/TCP probes on the far end (unprivileged responder).",
        discussion: """
            Run it where you control the far end (a gateway, a server, a cloud VM); then \
            `pathprobe reach --responder HOST` measures the UDP path MTU both ways, whether \
            fragmented UDP gets through, and the address and port your traffic arrives from (NAT).

            On TCP it answers `pathprobe mtu -P tcp --service pathprobe --port \(ResponderWire.defaultPort) HOST`: \
            the path MTU both ways over TCP, to the byte.

            Listens on UDP and TCP port \(ResponderWire.defaultPort) by default (open it in the firewall).

            Abuse-safe: only well-formed pathprobe requests are answered, a UDP reply is never larger \
            than the request that asked for it (TCP answers, at most 64 KiB, go only to a peer that \
            completed a handshake), and each source address is rate-limited. Logs one \
            line per client on stderr and a byte summary on exit (Ctrl-C).

            Examples:
              pathprobe serve
              pathprobe serve --port 4500 --listen 192.0.2.10
            """
    )

    @Option(help: "UDP and TCP port to listen on.")
    var port: UInt16 = ResponderWire.defaultPort

    @Option(help: "Listen on this address only (default: all IPv4 and IPv6 addresses).")
    var listen: String?

    @Option(help: "Replies per second per source address (after a burst of half as many).")
    var rate: Double = 200

    @Flag(name: .customLong("no-tcp"), help: "Do not listen on TCP.")
    var noTCP = false

    @Option(help: "Stop after this many seconds (default: run until interrupted).")
    var duration: Double?

    func validate() throws {
        if port == 0 { throw ValidationError("--port must be between 1 and 65535") }
        if rate <= 0 { throw ValidationError("--rate must be positive") }
        if let d = duration, d <= 0 { throw ValidationError("--duration must be positive") }
    }

    func run() throws {
        var config = ResponderConfig(port: port)
        if let listen {
            var text = listen
            if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
            guard let a = IPAddress(text) else { throw PathProbeError.usage("--listen needs an IPv4 or IPv6 address, not '\(listen)'") }
            config.listen = a
        }
        config.rate = rate
        config.burst = rate / 2
        config.tcp = !noTCP
        let responder: Responder
        do {
            responder = try Responder(config: config) { CLI.printError("pathprobe serve: " + $0) }
        } catch {
            throw PathProbeError.from(error)
        }
        responder.loop.stop(on: SignalWatcher.install())
        CLI.printError("pathprobe serve: listening on \(responder.listeningDescription)")
        let deadline = duration.map { MonotonicClock.now() + Nanoseconds.fromMs($0 * 1000) }
        responder.run { deadline.map { MonotonicClock.now() >= $0 } ?? false }
        for line in responder.summary() { CLI.printError("pathprobe serve: " + line) }
    }
}

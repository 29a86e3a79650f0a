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
            completed a handshake), each source address is rate-limited (the least recently seen of \
            65536 forgotten to make room, never refused), and all replies together stay under \
            --max-pps and --max-bytes. Logs a line per new client (at most a few per second) on \
            stderr and a byte summary on exit (Ctrl-C).

            Started as root (to bind a port below 1024), it becomes --user (default nobody) right \
            after binding: no supplementary groups, no capabilities, PR_SET_NO_NEW_PRIVS; if that \
            fails it refuses to serve (exit 3).

            Examples:
              pathprobe serve
              pathprobe serve --port 4500 --listen 192.0.2.10
              sudo pathprobe serve --port 443 --user pathprobe

            Exit status: 0 stopped by --duration, 2 bad input, 3 environment (the port is taken, the \
            user to run as is missing, privileges could not be dropped), 130 / 143 stopped by SIGINT / SIGTERM.
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

    @Option(name: .customLong("max-pps"), help: "Replies per second over all sources (0: no ceiling).")
    var maxPackets: Double = ResponderConfig().maxRepliesPerSecond

    @Option(name: .customLong("max-bytes"), help: "Reply bytes per second over all sources (0: no ceiling).")
    var maxBytes: Double = ResponderConfig().maxBytesPerSecond

    @Flag(name: [.customShort("q"), .long], help: "Quiet: no log lines on stderr (errors only).")
    var quiet = false

    @Option(help: ArgumentHelp("Started as root: the unprivileged account to become after binding (a name, or UID:GID).", valueName: "user"))
    var user: String = Privileges.defaultUser

    func validate() throws {
        if port == 0 { throw ValidationError("--port must be between 1 and 65535") }
        try OptionLimit.replyRate.check(rate, option: "--rate")
        try OptionLimit.duration.check(duration, option: "--duration")
        try OptionLimit.ceilingPackets.check(maxPackets, option: "--max-pps")
        try OptionLimit.ceilingBytes.check(maxBytes, option: "--max-bytes")
        if user.isEmpty { throw ValidationError("--user needs an account name (or UID:GID)") }
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
        config.maxRepliesPerSecond = maxPackets
        config.maxBytesPerSecond = maxBytes
        // Who to become is settled before anything is bound: a missing account fails early.
        let account = Privileges.isRoot ? try Privileges.account(user) : nil
        let responder: Responder
        do {
            responder = try Responder(config: config) { if !quiet { CLI.printError("pathprobe serve: " + $0) } }
        } catch {
            throw PathProbeError.from(error)
        }
        // Bound: now give up root (or any capability) for good, before the first packet is read.
        let identity = try Privileges.drop(to: account ?? Privileges.Identity(name: "", uid: getuid(), gid: getgid()))
        let signals = SignalWatcher.install()
        responder.loop.stop(on: signals)
        if !quiet { CLI.printError("pathprobe serve: listening on \(responder.listeningDescription), \(identity)") }
        let deadline = duration.map { MonotonicClock.now().adding(.fromSeconds($0)) }
        responder.run { deadline.map { MonotonicClock.now() >= $0 } ?? false }
        for line in responder.summary() + responder.defenceSummary() where !quiet { CLI.printError("pathprobe serve: " + line) }
        switch signals.received {
        case SIGINT: throw ExitCode(.interrupted)
        case SIGTERM: throw ExitCode(.terminated)
        default: break
        }
    }
}

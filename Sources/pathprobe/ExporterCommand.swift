import ArgumentParser
import PathProbeCore

#if canImport(Glibc)
import Glibc
#endif

/// `pathprobe exporter ARGS` replaces itself with `pathprobe-exporter ARGS` (execv): the exporter is
/// a separate executable, so its libraries (swift-nio, Yams with the full Foundation) stay out of
/// this binary.
struct ExporterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exporter",
        abstract: "Prometheus exporter (blackbox_exporter style): runs pathprobe-exporter with these arguments.",
        discussion: """
            Serves /probe?target=HOST&module=NAME (path MTU, black holes, hops, ports per target), \
            /metrics and a status page. `pathprobe exporter --help` shows pathprobe-exporter's options. \
            See docs/exporter.md.

            Examples:
              pathprobe exporter --config /etc/pathprobe/exporter.yml
              pathprobe exporter --config exporter.yml --listen 127.0.0.1:9799
              pathprobe exporter --config exporter.yml --check-config

            pathprobe-exporter is looked for next to pathprobe, then in /usr/libexec/pathprobe, then on \
            PATH. Exit status: pathprobe-exporter's; 3 if it is not installed.
            """
    )

    @Argument(parsing: .captureForPassthrough, help: "pathprobe-exporter's arguments: --config FILE, --listen ADDR:PORT, ...")
    var arguments: [String] = []

    func run() throws {
        let candidates = Self.candidates()
        guard let path = candidates.first(where: { access($0, X_OK) == 0 }) else {
            throw PathProbeError.environment("pathprobe-exporter is not installed: looked in \(candidates.joined(separator: ", "))")
        }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        execv(path, argv)
        let reason = String(cString: strerror(errno))
        throw PathProbeError.environment("cannot run \(path): \(reason)")
    }

    /// Next to the running binary, then /usr/libexec/pathprobe, then each directory of PATH.
    static func candidates() -> [String] {
        let name = "pathprobe-exporter"
        var paths: [String] = []
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 {
            let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let slash = exe.lastIndex(of: "/") { paths.append(String(exe[..<slash]) + "/" + name) }
        }
        paths.append("/usr/libexec/pathprobe/" + name)
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        paths += path.split(separator: ":").map { "\($0)/\(name)" }
        return paths
    }
}

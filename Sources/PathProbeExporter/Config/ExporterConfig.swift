import Foundation
import ArgumentParser
import PathProbeCore

/// The measurement a module runs. Each has one `ParsableArguments` Options type; a module's settings
/// are parsed by it exactly as the command line would parse them.
///
/// A new prober (`rdp`, once `pathprobe rdp` is on main): a case here, its Options type in
/// ProberOptions.swift, its run in EngineProber (`ProbeRun`) and its result's mapping in
/// OutcomeMapping.swift.
public enum ProberKind: String, Sendable, CaseIterable {
    case mtu, reach, profile

    /// The Options type that parses and validates this prober's settings (ProberOptions.swift).
    public var optionsType: any ProberOptions.Type {
        switch self {
        case .mtu: MTUProberOptions.self
        case .reach: ReachProberOptions.self
        case .profile: ProfileProberOptions.self
        }
    }
}

/// What the exporter needs from a measurement's Options beyond parsing.
public protocol ProberOptions: ParsableArguments, Sendable {
    /// Whether a run with these options sends TTL-limited hop probes (routers answer those with
    /// rate-limited ICMP errors, so the exporter paces them per target).
    var sendsHopProbes: Bool { get }
    /// The options every probing measurement shares (--timeout, -c, -i, --icmp-socket).
    var probe: ProbeArguments { get }
    /// -4 / -6.
    var family: FamilyArguments { get }
    /// The path MTU search's options, for a prober that has one.
    var pathMTU: MTUArguments? { get }
    /// The prober's own checks of its settings, when the config is loaded (besides its option
    /// groups' `validate`).
    func checkSettings() throws
}

/// One module of the config file: a prober, its time budget, its settings parsed by its Options type.
public struct Module: Sendable {
    public let name: String
    public let prober: ProberKind
    /// The longest a probe of this module may take (the scrape's own timeout can shorten it).
    public let timeout: Duration
    /// The settings as the command line spells them (`--protocol=tcp --port=443`), in file order.
    public let arguments: [String]
    /// The settings parsed and validated by `prober.optionsType`.
    public let options: any ProberOptions
    /// Line of the module's name in the config file.
    public let line: Int

    public init(name: String, prober: ProberKind, timeout: Duration, arguments: [String], options: any ProberOptions, line: Int) {
        (self.name, self.prober, self.timeout, self.arguments, self.options, self.line) = (name, prober, timeout, arguments, options, line)
    }
}

/// The loaded config file.
public struct ExporterConfig: Sendable {
    /// Modules by name.
    public let modules: [String: Module]
    /// The file it was read from.
    public let path: String
    /// The file's text (served at /config).
    public let text: String

    public init(modules: [String: Module], path: String, text: String) {
        (self.modules, self.path, self.text) = (modules, path, text)
    }

    /// Module names in a stable order.
    public var moduleNames: [String] { modules.keys.sorted() }

    /// The timeout of a module that gives none (Prometheus' default scrape timeout).
    public static let defaultTimeout: Duration = .seconds(10)
    /// The longest timeout a module may ask for.
    public static let maximumTimeout: Duration = .seconds(600)
}

/// A config file problem: one line naming the file, the line and the key.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public let path: String
    /// 1-based; nil when the file could not be read at all.
    public let line: Int?
    /// The key's path (`modules.mtu_icmp.port`), nil when the problem is not about one key.
    public let key: String?
    public let message: String

    public init(path: String, line: Int?, key: String?, message: String) {
        (self.path, self.line, self.key, self.message) = (path, line, key, message)
    }

    /// `FILE:LINE: KEY: MESSAGE`, on one line.
    public var description: String {
        var s = path
        if let line { s += ":\(line)" }
        s += ": "
        if let key { s += "\(key): " }
        s += message
        return s.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

/// Durations as Prometheus writes them (`5s`, `1m30s`, `250ms`, `1h`), or a plain number of seconds.
public enum ConfigDuration {
    public static func parse(_ text: String) -> Duration? {
        let s = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(s), seconds.isFinite, seconds >= 0 { return .milliseconds(Int64((seconds * 1000).rounded())) }
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        var total: Int64 = 0
        var rest = Substring(s)
        var lastUnit = Int64.max
        while !rest.isEmpty {
            let digits = rest.prefix(while: \.isNumber)
            guard !digits.isEmpty, let value = Int64(digits), value < 1_000_000 else { return nil }
            rest = rest.dropFirst(digits.count)
            // "ms" before "m" so that 250ms is not read as 250 minutes and a stray "s".
            guard let (unit, factor) = units.first(where: { rest.hasPrefix($0.0) }), factor < lastUnit else { return nil }
            rest = rest.dropFirst(unit.count)
            lastUnit = factor
            total += value * factor
        }
        return s.isEmpty ? nil : .milliseconds(total)
    }

    /// `10s`, `1.5s`, `250ms`: for messages and the status page.
    public static func format(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        if ms < 1000 { return "\(ms)ms" }
        return "\(Double(ms) / 1000)s"
    }
}

extension Duration {
    /// The duration in seconds, as Prometheus wants it.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

import ArgumentParser
import Yams

/// A module's settings become the command line's arguments, parsed by the prober's Options type, so
/// names, defaults and validation are exactly the CLI's:
///
/// | YAML                     | argument            |
/// |--------------------------|---------------------|
/// | `port: 443`              | `--port=443`        |
/// | `tcp: [443, 3389]`       | `--tcp=443,3389`    |
/// | `rdp: true` / `false`    | `--rdp` / nothing   |
/// | `icmp_socket: ping`      | `--icmp-socket=ping`|
/// | `4: true`, `ipv4: true`  | `-4`                |
/// | `answer_timeout: 0.5`    | `--timeout=0.5`     |
/// | `interface: ~`           | nothing (default)   |
public enum SettingsArguments {
    /// One key of a module (not `prober` or `timeout`).
    public struct Setting {
        public let key: String
        public let line: Int
        public let value: Node

        public init(key: String, line: Int, value: Node) {
            (self.key, self.line, self.value) = (key, line, value)
        }

        /// The option as the command line spells it: `--icmp-socket`, `-4` for a one-letter key, or
        /// the option an alias stands for.
        var optionName: String {
            let name = key.replacingOccurrences(of: "_", with: "-")
            if let option = SettingsArguments.aliases[name] { return option }
            return name.count == 1 ? "-" + name : "--" + name
        }
    }

    /// Config keys for options the command line spells otherwise: readable names for -4 / -6, and
    /// the per-answer `--timeout` (the module's own `timeout` is the whole probe's budget).
    static let aliases = ["ipv4": "-4", "ipv6": "-6", "answer-timeout": "--timeout"]

    public struct Failure: Error, Sendable {
        /// The key and line of the setting at fault, when the parser's message names one.
        public let key: String?
        public let line: Int?
        public let message: String

        init(setting: Setting?, message: String) {
            key = setting?.key
            line = setting?.line
            self.message = message
        }
    }

    /// The settings as arguments, and the Options value they parse to.
    public static func parse(_ settings: [Setting], with type: any ProberOptions.Type) throws(Failure) -> (arguments: [String], options: any ProberOptions) {
        var arguments: [String] = []
        for setting in settings {
            arguments += try self.arguments(for: setting)
        }
        do {
            return (arguments, try type.parse(arguments))
        } catch {
            // --help and friends end parsing "successfully": they are the parser's actions, not settings.
            if type.exitCode(for: error) == .success {
                let culprit = settings.first { ["--help", "-h", "--version", "--experimental-dump-help"].contains($0.optionName) }
                throw Failure(setting: culprit, message: "not a setting")
            }
            let message = type.message(for: error)
            throw Failure(setting: culprit(in: message, among: settings), message: message)
        }
    }

    static func arguments(for setting: Setting) throws(Failure) -> [String] {
        let key = setting.key
        let isNameCharacter = { (c: Unicode.Scalar) in c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "-" || c == "_") }
        guard let first = key.unicodeScalars.first, first != "-", first != "_", key.unicodeScalars.allSatisfy(isNameCharacter) else {
            throw Failure(setting: setting, message: "not a setting name (letters, digits, '-' and '_')")
        }
        let name = setting.optionName
        switch setting.value {
        case .scalar(let scalar):
            if setting.value.null != nil { return [] }
            if let flag = setting.value.bool { return flag ? [name] : [] }
            return name.hasPrefix("--") ? ["\(name)=\(scalar.string)"] : [name, scalar.string]
        case .sequence(let items):
            var parts: [String] = []
            for item in items {
                guard case .scalar(let s) = item else {
                    throw Failure(setting: setting, message: "a list of plain values is expected")
                }
                parts.append(s.string)
            }
            return parts.isEmpty ? [] : ["\(name)=\(parts.joined(separator: ","))"]
        case .mapping:
            throw Failure(setting: setting, message: "a value or a list is expected, not a map")
        case .alias:
            throw Failure(setting: setting, message: "unresolved alias")
        }
    }

    /// The setting whose option the parser's message names first (`Unknown option '--prot'`,
    /// `The value 'x' is invalid for '--port <port>'`, `--min 40 is ...`).
    static func culprit(in message: String, among settings: [Setting]) -> Setting? {
        var best: (offset: Int, setting: Setting)?
        for setting in settings {
            let name = setting.optionName
            var searchStart = message.startIndex
            while let range = message.range(of: name, range: searchStart..<message.endIndex) {
                let after = range.upperBound == message.endIndex ? nil : message[range.upperBound]
                let endsName = after.map { !($0.isLetter || $0.isNumber || $0 == "-") } ?? true
                if endsName {
                    let offset = message.distance(from: message.startIndex, to: range.lowerBound)
                    if best == nil || offset < best!.offset { best = (offset, setting) }
                    break
                }
                searchStart = range.upperBound
            }
        }
        return best?.setting
    }
}

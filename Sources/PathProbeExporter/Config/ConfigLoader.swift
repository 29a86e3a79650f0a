import Foundation
import Yams

#if canImport(Glibc)
import Glibc
#endif

/// Reads the exporter's YAML config:
///
/// ```yaml
/// modules:
///   mtu_icmp:
///     prober: mtu          # mtu | reach | profile | rdp
///     timeout: 10s         # the whole probe; the scrape's timeout can shorten it
///     protocol: icmp       # the prober's settings, named as the command line's options
///     max: 1500
/// ```
///
/// Every problem is one `ConfigError` naming the file, the line and the key.
public enum ConfigLoader {
    /// Keys of a module that the exporter reads itself; all others are the prober's settings.
    static let moduleKeys: Set<String> = ["prober", "timeout"]

    public static func load(path: String) throws(ConfigError) -> ExporterConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = access(path, R_OK) == 0 ? "not a readable file" : String(cString: strerror(errno))
            throw ConfigError(path: path, line: nil, key: nil, message: "cannot read the config file: \(reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(path: path, line: nil, key: nil, message: "the config file is not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(ConfigError) -> ExporterConfig {
        func fail(_ line: Int?, _ key: String?, _ message: String) -> ConfigError {
            ConfigError(path: path, line: line, key: key, message: message)
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            let (line, message) = describe(error, in: text)
            throw fail(line, nil, message)
        } catch {
            throw fail(nil, nil, "bad YAML: \(error)")
        }
        guard let root, case .mapping(let top) = root else {
            throw fail(root?.mark?.line ?? 1, nil, "the config must be a map with a `modules:` key")
        }
        var modulesNode: Node?
        for (key, value) in top {
            guard key.string == "modules" else {
                throw fail(key.mark?.line, key.string ?? "?", "unknown key (the config has one key: modules)")
            }
            modulesNode = value
        }
        guard let modulesNode else { throw fail(root.mark?.line ?? 1, "modules", "missing: the config needs at least one module") }
        guard case .mapping(let modulesMap) = modulesNode, !modulesMap.isEmpty else {
            throw fail(modulesNode.mark?.line, "modules", "must be a map of module names to modules")
        }
        var modules: [String: Module] = [:]
        for (nameNode, body) in modulesMap {
            let name = nameNode.string ?? ""
            let line = nameNode.mark?.line ?? 1
            guard isValidModuleName(name) else {
                throw fail(line, "modules.\(name)", "a module name is letters, digits, '_', '-' and '.' (it goes into URLs and labels)")
            }
            modules[name] = try module(name: name, line: line, body: body, path: path)
        }
        return ExporterConfig(modules: modules, path: path, text: text)
    }

    static func module(name: String, line: Int, body: Node, path: String) throws(ConfigError) -> Module {
        let keyPath = "modules.\(name)"
        func fail(_ line: Int?, _ key: String, _ message: String) -> ConfigError {
            ConfigError(path: path, line: line, key: key, message: message)
        }
        guard case .mapping(let map) = body else {
            throw fail(body.mark?.line ?? line, keyPath, "a module is a map with `prober:` and its settings")
        }
        let entries = try mergedEntries(map, keyPath: keyPath, path: path)
        guard let proberEntry = entries.first(where: { $0.key == "prober" }) else {
            throw fail(line, keyPath, "`prober:` is missing (\(ProberKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let prober = proberEntry.value.string.flatMap(ProberKind.init(rawValue:)) else {
            throw fail(proberEntry.line, "\(keyPath).prober",
                       "unknown prober '\(proberEntry.value.string ?? "")' (\(ProberKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var timeout = ExporterConfig.defaultTimeout
        if let entry = entries.first(where: { $0.key == "timeout" }) {
            guard let text = entry.value.string, let d = ConfigDuration.parse(text), d > .zero, d <= ExporterConfig.maximumTimeout else {
                throw fail(entry.line, "\(keyPath).timeout",
                           "'\(entry.value.string ?? "")' is not a duration between 0 and \(ConfigDuration.format(ExporterConfig.maximumTimeout)) (e.g. 10s, 1m30s, 500ms)")
            }
            timeout = d
        }
        let settings = entries.filter { !moduleKeys.contains($0.key) }
        do {
            let parsed = try SettingsArguments.parse(settings, with: prober.optionsType)
            return Module(name: name, prober: prober, timeout: timeout, arguments: parsed.arguments, options: parsed.options, line: line)
        } catch {
            throw fail(error.line ?? line, error.key.map { "\(keyPath).\($0)" } ?? keyPath, error.message)
        }
    }

    /// A module's keys in file order; YAML merge keys (`<<: *defaults`) are expanded, explicit keys win.
    static func mergedEntries(_ map: Node.Mapping, keyPath: String, path: String) throws(ConfigError) -> [SettingsArguments.Setting] {
        var explicit: [SettingsArguments.Setting] = []
        var merged: [SettingsArguments.Setting] = []
        for (keyNode, value) in map {
            let line = keyNode.mark?.line ?? 1
            guard let key = keyNode.string, case .scalar = keyNode else {
                throw ConfigError(path: path, line: line, key: keyPath, message: "a key must be a plain name")
            }
            guard key == "<<" else {
                explicit.append(.init(key: key, line: line, value: value))
                continue
            }
            let sources: [Node] = if case .sequence(let s) = value { Array(s) } else { [value] }
            for source in sources {
                guard case .mapping(let m) = source else {
                    throw ConfigError(path: path, line: line, key: "\(keyPath).<<", message: "a merge key takes a map or a list of maps")
                }
                for entry in try mergedEntries(m, keyPath: keyPath, path: path) where !merged.contains(where: { $0.key == entry.key }) {
                    merged.append(entry)
                }
            }
        }
        let explicitKeys = Set(explicit.map(\.key))
        return merged.filter { !explicitKeys.contains($0.key) } + explicit
    }

    static func isValidModuleName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)
        }
    }

    /// Yams' error as (line, message).
    static func describe(_ error: YamlError, in text: String) -> (Int?, String) {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let ctx = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return (mark.line, "bad YAML: \(problem)\(ctx)")
        case .reader(let problem, let offset, _, _):
            let line = offset.map { off in text.prefix(off).reduce(1) { $1 == "\n" ? $0 + 1 : $0 } }
            return (line, "bad YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return (context.mark.line, "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", "))")
        default:
            return (nil, "bad YAML: \(error)")
        }
    }
}

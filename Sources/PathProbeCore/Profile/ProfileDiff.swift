/// `pathprobe diff BEFORE.json AFTER.json`: what changed between two profile reports, and whether
/// anything that worked before got worse (a regression). Works on the reports' JSON, so it can
/// compare reports written by any pathprobe version that speaks a supported schema_version.
public struct ProfileDiff: Sendable {
    public static let reportKind = "pathprobe-profile"
    public static let supportedSchemaVersions = [1]

    public enum Change: String, Sendable {
        case better, worse, changed, added, removed
    }

    public struct Row: Sendable {
        public var field: String
        public var before: String
        public var after: String
        public var change: Change
    }

    public enum InputError: Error, CustomStringConvertible {
        case notAReport(String)
        case unsupportedSchema(String, Int?)
        case differentTargets(String, String)

        public var description: String {
            switch self {
            case let .notAReport(which): return "\(which) is not a pathprobe profile report (run `pathprobe profile --json`)"
            case let .unsupportedSchema(which, v):
                return "\(which) has schema_version \(v.map(String.init) ?? "none"); this pathprobe reads \(ProfileDiff.supportedSchemaVersions.map(String.init).joined(separator: ", "))"
            case let .differentTargets(a, b): return "the reports are for different targets (\(a) and \(b)); use --force to compare anyway"
            }
        }
    }

    public var beforeTarget: String
    public var afterTarget: String
    public var beforeStarted: String?
    public var afterStarted: String?
    public private(set) var rows: [Row] = []

    public var regressions: [Row] { rows.filter { $0.change == .worse } }
    public var hasRegression: Bool { !regressions.isEmpty }

    /// Checks both reports and compares them.
    public init(before: JSON, after: JSON, force: Bool = false, names: (String, String) = ("BEFORE", "AFTER")) throws {
        for (report, name) in [(before, names.0), (after, names.1)] {
            guard report["report"]?.stringValue == Self.reportKind, report["mtu"] != nil else { throw InputError.notAReport(name) }
            let v = report["schema_version"]?.intValue
            guard let v, Self.supportedSchemaVersions.contains(v) else { throw InputError.unsupportedSchema(name, v) }
        }
        beforeTarget = before["address"]?.stringValue ?? before["target"]?.stringValue ?? "?"
        afterTarget = after["address"]?.stringValue ?? after["target"]?.stringValue ?? "?"
        if beforeTarget != afterTarget && !force { throw InputError.differentTargets(beforeTarget, afterTarget) }
        beforeStarted = before["started_at"]?.stringValue
        afterStarted = after["started_at"]?.stringValue
        comparePath(before["mtu"], after["mtu"])
        comparePorts("tcp", before["reach"]?["tcp"], after["reach"]?["tcp"])
        comparePorts("udp", before["reach"]?["udp"], after["reach"]?["udp"])
        compareResponder(before["reach"]?["responder"], after["reach"]?["responder"])
        compareLocal(before["local"], after["local"])
        compareList("finding", before["findings"], after["findings"], key: "id", worseIfAdded: { $0["severity"]?.stringValue == "critical" })
        compareList("recommendation", before["recommendations"], after["recommendations"], key: "id", worseIfAdded: { _ in false })
    }

    // MARK: comparisons

    private mutating func add(_ field: String, _ before: JSON?, _ after: JSON?, _ change: Change) {
        rows.append(Row(field: field, before: Self.show(before), after: Self.show(after), change: change))
    }

    static func show(_ v: JSON?) -> String {
        guard let v else { return "-" }
        switch v {
        case .null: return "-"
        case let .string(s): return s
        case let .bool(b): return b ? "yes" : "no"
        default: return v.serialized()
        }
    }

    private mutating func comparePath(_ b: JSON?, _ a: JSON?) {
        let bs = b?["status"]?.stringValue, as_ = a?["status"]?.stringValue
        if bs != as_ {
            add("path status", b?["status"], a?["status"], bs == "measured" ? .worse : (as_ == "measured" ? .better : .changed))
        }
        let bm = b?["path_mtu"]?.intValue, am = a?["path_mtu"]?.intValue
        if bm != am, let bm, let am {
            add("path MTU", .int(bm), .int(am), am < bm ? .worse : .better)
        } else if bm != am {
            add("path MTU", b?["path_mtu"], a?["path_mtu"], am == nil ? .worse : .better)
        }
        let bb = b?["black_hole"]?.boolValue ?? false, ab = a?["black_hole"]?.boolValue ?? false
        if bb != ab { add("black hole", .bool(bb), .bool(ab), ab ? .worse : .better) }
        let bh = b?["black_hole_hop"]?["address"]?.stringValue, ah = a?["black_hole_hop"]?["address"]?.stringValue
        if bb && ab && bh != ah { add("black hole hop", b?["black_hole_hop"]?["address"], a?["black_hole_hop"]?["address"], .changed) }
    }

    private static func byPort(_ list: JSON?) -> [(Int, JSON)] {
        (list?.arrayValue ?? []).compactMap { e in e["port"]?.intValue.map { ($0, e) } }
    }

    private mutating func comparePorts(_ proto: String, _ b: JSON?, _ a: JSON?) {
        let before = Self.byPort(b), after = Self.byPort(a)
        let ports = (before.map(\.0) + after.map(\.0)).reduce(into: [Int]()) { if !$0.contains($1) { $0.append($1) } }.sorted()
        for port in ports {
            let old = before.first { $0.0 == port }?.1, new = after.first { $0.0 == port }?.1
            let field = "\(proto) \(port)"
            guard let old, let new else {
                add(field, old?["state"], new?["state"], old == nil ? .added : .removed)
                continue
            }
            let os = old["state"]?.stringValue, ns = new["state"]?.stringValue
            if os != ns {
                let change: Change = os == "open" ? .worse : (ns == "open" ? .better : .changed)
                add(field, old["state"], new["state"], change)
            }
            if proto == "tcp", old["mss"]?.intValue != new["mss"]?.intValue {
                add("\(field) mss", old["mss"], new["mss"], .changed)
            }
        }
    }

    private mutating func compareResponder(_ b: JSON?, _ a: JSON?) {
        guard let b, let a, !b.isNull, !a.isNull else { return }
        let bf = b["fragments_pass"]?.boolValue, af = a["fragments_pass"]?.boolValue
        if bf != af { add("udp fragments pass", b["fragments_pass"], a["fragments_pass"], bf == true ? .worse : (af == true ? .better : .changed)) }
        for key in ["udp_path_mtu_up", "udp_path_mtu_down"] {
            let bv = b[key]?.intValue, av = a[key]?.intValue
            if bv != av {
                let change: Change = (bv != nil && (av == nil || av! < bv!)) ? .worse : .better
                add(String(key.map { $0 == "_" ? " " : $0 }), b[key], a[key], change)
            }
        }
    }

    private mutating func compareLocal(_ b: JSON?, _ a: JSON?) {
        let bi = b?["interface"], ai = a?["interface"]
        let name = ai?["name"]?.stringValue ?? bi?["name"]?.stringValue ?? "interface"
        if bi?["name"]?.stringValue != ai?["name"]?.stringValue {
            add("egress interface", bi?["name"], ai?["name"], .changed)
        }
        if bi?["mtu"]?.intValue != ai?["mtu"]?.intValue {
            add("\(name) mtu", bi?["mtu"], ai?["mtu"], .changed)
        }
        let bo = bi?["offloads"]?.objectValue ?? [], ao = ai?["offloads"]?.objectValue ?? []
        for (feature, value) in ao {
            let old = bo.first { $0.0 == feature }?.1["active"]
            let new = value["active"]
            if let old, old != new { add("\(name) \(feature)", old, new, .changed) }
        }
    }

    private mutating func compareList(_ what: String, _ b: JSON?, _ a: JSON?, key: String, worseIfAdded: (JSON) -> Bool) {
        let before = b?.arrayValue ?? [], after = a?.arrayValue ?? []
        func identity(_ e: JSON) -> String { (e[key]?.stringValue ?? "") + "|" + (e["summary"]?.stringValue ?? e["value"].map { $0.serialized() } ?? "") }
        func label(_ e: JSON) -> String { e[key]?.stringValue ?? "?" }
        let beforeIDs = Set(before.map(identity)), afterIDs = Set(after.map(identity))
        for e in before where !afterIDs.contains(identity(e)) {
            rows.append(Row(field: "\(what) \(label(e))", before: Self.describe(e), after: "-", change: .removed))
        }
        for e in after where !beforeIDs.contains(identity(e)) {
            rows.append(Row(field: "\(what) \(label(e))", before: "-", after: Self.describe(e), change: worseIfAdded(e) ? .worse : .added))
        }
    }

    static func describe(_ e: JSON) -> String {
        if let v = e["value"] { return show(v) }
        return e["severity"]?.stringValue ?? "present"
    }

    // MARK: output

    public var json: JSON {
        .object([
            ("before", .object([("target", .string(beforeTarget)), ("started_at", .from(beforeStarted))])),
            ("after", .object([("target", .string(afterTarget)), ("started_at", .from(afterStarted))])),
            ("regression", .bool(hasRegression)),
            ("changes", .array(rows.map { r in
                .object([("field", .string(r.field)), ("before", .string(r.before)), ("after", .string(r.after)), ("change", .string(r.change.rawValue))])
            })),
        ])
    }

    public func text(style: Style = Style(enabled: false)) -> String {
        var out = "pathprobe diff: \(beforeTarget)"
        if let b = beforeStarted, let a = afterStarted { out += " (\(b) -> \(a))" }
        out += "\n"
        if rows.isEmpty { return out + "no changes\n" }
        var table = TextTable([.init("what"), .init("before"), .init("after"), .init("change")])
        for r in rows { table.add([r.field, r.before, r.after, r.change.rawValue]) }
        out += table.render(indent: "  ") { _, col, text in
            guard col == 3 else { return text }
            if text.hasPrefix("worse") { return style.red(text) }
            if text.hasPrefix("better") { return style.green(text) }
            return text
        } + "\n"
        if hasRegression {
            out += style.red("regression: " + regressions.map { "\($0.field) \($0.before) -> \($0.after)" }.joined(separator: "; ")) + "\n"
        } else {
            out += style.green("nothing that worked before got worse") + "\n"
        }
        return out
    }
}

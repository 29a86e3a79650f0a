import Foundation
import PathProbeCore
import Testing

/// The JSON contract (docs/json.md) against the real binary: the `--json` output of every command
/// and every bulk mode's records and summary, validated against docs/schemas with a real validator
/// (Debian's python3-jsonschema, draft 2020-12), on a lab with a black hole, open ports and a
/// responder so that no object is null where it can be filled.
@Suite(.enabled(if: Lab.isAvailable && SchemaValidator.unavailable == nil,
                "\(Lab.skipReason ?? SchemaValidator.unavailable ?? "")"), .serialized)
struct ContractLabTests {
    static let schemas = Lab.repositoryRoot.appendingPathComponent("docs/schemas").path
    static let validator = SchemaValidator.program



    /// Every type seen, and no violation.
    func validate(_ files: [String]) -> Set<String> {
        let r = Lab.run(["/usr/bin/python3", "-c", Self.validator, Self.schemas] + files)
        #expect(r.status == 0, "schema violations:\n\(r.stdout)\(r.stderr)")
        let summary = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        guard let open = summary.firstIndex(of: "["), let close = summary.firstIndex(of: "]") else { return [] }
        return Set(summary[summary.index(after: open)..<close].split(separator: ",").map {
            $0.trimmingCharacters(in: CharacterSet(charactersIn: " '\""))
        })
    }

    @Test func everyCommandsJSONAndEveryBulkRecordFollowTheSchemas() throws {
        let lab = try ReachLab("ct", "--mtu3 1400 --blackhole r2")
        defer { lab.tearDown() }
        try lab.services(tcp: [443, 3389], udp: [3391, 3389])
        let serveLog = try lab.serve()
        let dir = NSTemporaryDirectory() + "pathprobe-contract-\(getpid())-\(UInt32.random(in: 0...0xffffff))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var files: [String] = []

        /// pathprobe ARGS in the client namespace, its standard output kept as NAME.
        func save(_ name: String, _ args: [String], expecting statuses: Set<Int32> = [0], asUser user: String? = nil) throws {
            let run = Lab.pathprobe(args, in: lab.client, asUser: user)
            #expect(statuses.contains(run.status), "\(args): exit \(run.status): \(run.stderr)")
            let path = "\(dir)/\(name)"
            try run.stdout.write(toFile: path, atomically: true, encoding: .utf8)
            files.append(path)
        }

        let v4 = ReachLab.server(.ipv4), v6 = ReachLab.server(.ipv6)
        try save("mtu-icmp.json", ["mtu", "--json", v4])
        try save("mtu-udp.json", ["mtu", "--json", "-n", "-P", "udp", v6])
        try save("mtu-unreachable.json", ["mtu", "--json", "-n", "--timeout", "0.2", "-c", "1", "10.0.3.9"], expecting: [1])
        // TCP both ways against serve (down 1400 exact, up "at least 1400": the server's MSS), upload
        // only as nobody, a closed port, a profile whose mtu comes from its TCP step, bulk over TCP.
        let responderPort = "\(ResponderWire.defaultPort)"
        try save("mtu-tcp.json", ["mtu", "--json", "-n", "-P", "tcp", "--service", "pathprobe", "--port", responderPort, v4])
        try save("mtu-tcp-closed.json", ["mtu", "--json", "-n", "-P", "tcp", "--port", "9", v6], expecting: [1], asUser: "nobody")
        try save("profile-tcp.json", ["profile", "--json", "-n", "--tcp", responderPort, v6])
        for name in ["mtu-tcp.json", "profile-tcp.json"] {
            let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name)"))) as? [String: Any] ?? [:]
            let mtu = name.hasPrefix("profile") ? doc["mtu"] as? [String: Any] ?? [:] : doc
            // The server's link is 1400: its MSS caps the way up ("at least 1400"), the way down is exact.
            #expect(mtu["protocol"] as? String == "tcp" && mtu["path_mtu"] as? Int == 1400 && mtu["path_mtu_down"] as? Int == 1400
                    && mtu["path_mtu_up_at_least"] as? Int == 1400, "\(name): \(mtu)")
        }
        try save("mtu-tcp-upload.json", ["mtu", "--json", "-n", "-P", "tcp", "--service", "pathprobe", "--port", responderPort,
                                         "--direction", "up", v6], asUser: "nobody")
        try save("reach.json", ["reach", "--json", "--rdp", "--tcp", "9004", "--udp", "9002", "--responder", v4])
        try save("reach-connect.json", ["reach", "--json", "--tcp", "443", v6], asUser: "nobody")
        try save("nic.json", ["nic", "--json"])
        try save("route.json", ["route", "--json", v4])
        try save("route-flush.json", ["route", "--json", "--flush", v6])
        try save("profile-before.json", ["profile", "--json", "-n", "--rdp", "--responder", v4])
        try Lab.sh("ip netns exec \(lab.client) ip link set dev eth0 mtu 1400")
        try save("profile-after.json", ["profile", "--json", "-n", "--rdp", v4])
        try save("diff.json", ["diff", "--json", "\(dir)/profile-before.json", "\(dir)/profile-after.json"], expecting: [0, 1])
        // bulk --mode mtu --protocol tcp against serve: its records follow the mtu schema too.
        let tcpInput = "\(dir)/targets-tcp.txt"
        try "\(v4)\n\(v6)\n".write(toFile: tcpInput, atomically: true, encoding: .utf8)
        let tcpRecords = "\(dir)/bulk-mtu-tcp.jsonl"
        let tcpBulk = Lab.pathprobe(["bulk", "--mode", "mtu", "--protocol", "tcp", "--service", "pathprobe", "--port", responderPort,
                                     "-f", tcpInput, "-o", tcpRecords, "--quiet"], in: lab.client)
        #expect(tcpBulk.status == 0, "bulk --mode mtu --protocol tcp: \(tcpBulk.stderr)")
        files.append(tcpRecords)
        _ = lab.stopServe(serveLog)
        // rdp: xrdp and the RD Gateway emulator beside the lab's services, on ports of their own.
        if RDPLab.skipReason == nil {
            let certs = "\(dir)/rdp-certs"
            try Lab.sh("\(RDPLab.script) certs \(certs) rdp.lab.test --ip \(v4) --ip \(v6) --bits 2048")
            let xrdp = try Lab.sh("\(RDPLab.script) xrdp-start \(lab.server) \(certs) negotiate 3390").trimmingCharacters(in: .whitespacesAndNewlines)
            defer { _ = try? Lab.sh("\(RDPLab.script) stop \(xrdp)") }
            let gateway = try Lab.sh("\(RDPLab.script) gateway-start \(lab.server) \(certs) gateway 8443 3393").trimmingCharacters(in: .whitespacesAndNewlines)
            defer { _ = try? Lab.sh("\(RDPLab.script) stop \(gateway)") }
            try save("rdp.json", ["rdp", "--json", "--port", "3390", v4])
            try save("rdp-gateway.json", ["rdp", "--json", "--gateway", v6, "--port", "8443", "--udp-port", "3393", "desktop01"])
        }
        try save("rdp-refused.json", ["rdp", "--json", "--port", "9", "--no-udp", v4], expecting: [1])

        // Bulk: every mode, JSON Lines, with an error record and the summary.
        let input = "\(dir)/targets.txt"
        try "\(v4)\n\(v6)\n10.0.3.300\n".write(toFile: input, atomically: true, encoding: .utf8)
        for (mode, extra) in [("mtu", [String]()), ("reach", ["--tcp", "443", "--udp", "3391"]), ("profile", ["--tcp", "443"]), ("rdp", [])] {
            let records = "\(dir)/bulk-\(mode).jsonl", summary = "\(dir)/bulk-\(mode)-summary.json"
            let run = Lab.pathprobe(["bulk", "--mode", mode, "-f", input, "-o", records, "--quiet", "--summary-json", summary] + extra,
                                    in: lab.client)
            #expect(run.status == 0, "bulk --mode \(mode): \(run.stderr)")
            files += [records, summary]
        }

        let types = validate(files)
        #expect(types == Set(DocumentType.allCases.map(\.rawValue)), "every document type was produced and checked: \(types)")
    }

    /// The schemas are strict: an unknown key, a missing key and a wrong type are each refused.
    @Test func theSchemasRefuseWhatTheContractDoesNot() throws {
        let dir = NSTemporaryDirectory() + "pathprobe-contract-neg-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var e = Contract.json(BulkError(target: "x", line: 1, error: "bad"))
        let good = "\(dir)/good.json"
        try e.serialized().write(toFile: good, atomically: true, encoding: .utf8)
        #expect(validate([good]) == ["error"])
        guard case let .object(fields) = e else { return }
        for (name, change) in [("extra", { (f: inout [(String, JSON)]) in f.append(("surprise", .int(1))) }),
                               ("missing", { f in f.removeAll { $0.0 == "line" } }),
                               ("wrongtype", { f in f[f.firstIndex { $0.0 == "line" }!].1 = .string("1") })] {
            var changed = fields
            change(&changed)
            e = .object(changed)
            let path = "\(dir)/\(name).json"
            try e.serialized().write(toFile: path, atomically: true, encoding: .utf8)
            let r = Lab.run(["/usr/bin/python3", "-c", Self.validator, Self.schemas, path])
            #expect(r.status == 1, "\(name) must be refused: \(r.stdout)")
        }
    }
}

/// Debian's python3-jsonschema, run as `python3 -c`.
enum SchemaValidator {
    /// Validates JSON documents (a file each) and JSON Lines files (`.jsonl`: a record a line) against
    /// the schema their `type` names. Prints one line per violation; exits 1 on any.
    static let program = #"""
        import json, os, sys
        import jsonschema
        directory, paths = sys.argv[1], sys.argv[2:]
        schemas = {}
        for name in os.listdir(directory):
            if name.endswith(".schema.json"):
                with open(os.path.join(directory, name)) as f:
                    s = json.load(f)
                schemas[s["$id"]] = s
        by_type = {s["properties"]["type"]["const"]: s for s in schemas.values() if "type" in s.get("properties", {})}
        for s in schemas.values():
            jsonschema.Draft202012Validator.check_schema(s)
        try:
            from referencing import Registry, Resource
            registry = Registry().with_resources([(k, Resource.from_contents(v)) for k, v in schemas.items()])
            def validator(s): return jsonschema.Draft202012Validator(s, registry=registry)
        except ImportError:
            def validator(s): return jsonschema.Draft202012Validator(s, resolver=jsonschema.RefResolver.from_schema(s, store=schemas))
        count = errors = 0
        seen = set()
        for path in paths:
            with open(path) as f:
                text = f.read()
            docs = [json.loads(l) for l in text.splitlines() if l.strip()] if path.endswith(".jsonl") else [json.loads(text)]
            for doc in docs:
                count += 1
                kind = doc.get("type")
                seen.add(kind)
                schema = by_type.get(kind)
                if schema is None:
                    errors += 1
                    print(f"{path}: no schema for type {kind!r}")
                    continue
                for e in validator(schema).iter_errors(doc):
                    errors += 1
                    print(f"{path}: {kind} {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
        print(f"{count} documents of types {sorted(seen)}, {errors} errors")
        sys.exit(1 if errors or count == 0 else 0)
        """#

    /// Why the validator cannot run here, or nil.
    static let unavailable: String? = {
        let r = Lab.run(["/usr/bin/python3", "-c", "import jsonschema; jsonschema.Draft202012Validator"])
        return r.status == 0 ? nil : "python3-jsonschema (Draft202012Validator) is not installed: scripts/install-deps.sh"
    }()
}

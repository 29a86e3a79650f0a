import Foundation
import PathProbeCore
import Testing

/// Network namespaces made by one lab test; `remove` deletes them with every link inside.
/// (Shared with RouteLabTests.)
enum LabNetns {
    static func make(_ base: String, count: Int = 1) throws -> [String] {
        let prefix = Lab.uniquePrefix(base)
        let names = (0..<count).map { "\(prefix)\($0)" }
        for (i, n) in names.enumerated() {
            do {
                try Lab.sh("ip netns add \(n) && ip -n \(n) link set lo up")
            } catch {
                remove(Array(names[..<i]))
                throw error
            }
        }
        return names
    }

    static func remove(_ names: [String]) {
        for n in names { _ = try? Lab.sh("ip netns del \(n)") }
    }

    /// Runs `body` in a new namespace after the shell commands `setup` returns for its name; removes it after.
    static func with(_ base: String, setup: (String) -> String = { _ in "true" }, _ body: (String) throws -> Void) throws {
        let ns = try make(base)
        defer { remove(ns) }
        try Lab.sh(setup(ns[0]))
        try body(ns[0])
    }

    /// Runs a shell command and parses its standard output as JSON.
    static func json(_ command: String) throws -> JSON { try JSON.parse(Lab.sh(command)) }

    /// `pathprobe ARGS --json` inside `namespace`, parsed; records the failure when it does not exit 0.
    static func pathprobeJSON(_ arguments: [String], in namespace: String) throws -> JSON {
        let r = Lab.pathprobe(arguments + ["--json"], in: namespace)
        try #require(r.status == 0, "pathprobe \(arguments.joined(separator: " ")) exited \(r.status): \(r.stderr)")
        let json = try JSON.parse(r.stdout)
        let header = Contract.header(of: json)
        #expect(header.type == arguments.first && header.version == Contract.schemaVersion, "the document's envelope")
        return json
    }

    static func interface(_ inventory: JSON, _ name: String) -> JSON? {
        inventory["interfaces"]?.arrayValue?.first { $0["name"]?.stringValue == name }
    }
}

/// `pathprobe nic` against links made at test time, compared with `ip -j -d link` and `ethtool --json -k`.
@Suite(.enabled(if: Lab.isAvailable, Comment(rawValue: Lab.skipReason ?? "")))
struct NicLabTests {
    @Test func everyLinkAgreesWithIpLink() throws {
        try LabNetns.with("nic", setup: { n in """
                ip -n \(n) link add va type veth peer name vb && ip -n \(n) link set va mtu 1400 && ip -n \(n) link set vb mtu 9000 \
                && ip -n \(n) link set va up && ip -n \(n) link set vb up && ip -n \(n) addr add 10.70.0.1/24 dev va \
                && ip -n \(n) link add mv0 link vb type macvlan mode bridge && ip -n \(n) link set mv0 mtu 1500 \
                && ip -n \(n) link add br0 type bridge && ip -n \(n) link set br0 mtu 1280 \
                && ip -n \(n) link add vc type veth peer name vd && ip -n \(n) link set vd master br0 \
                && ip -n \(n) link add vx0 type vxlan id 10 dev va remote 10.70.0.2 dstport 4789 \
                && ip netns exec \(n) ip tuntap add tn0 mode tun
                """ }) { n in
            let inventory = try LabNetns.pathprobeJSON(["nic"], in: n)
            let links = try #require(LabNetns.json("ip -n \(n) -j -d link show").arrayValue)
            let mine = try #require(inventory["interfaces"]?.arrayValue)
            #expect(mine.compactMap { $0["name"]?.stringValue } == links.compactMap { $0["ifname"]?.stringValue })
            for link in links {
                let name = try #require(link["ifname"]?.stringValue)
                let i = try #require(LabNetns.interface(inventory, name), "\(name) missing")
                #expect(i["index"] == link["ifindex"], "\(name) index")
                #expect(i["mtu"] == link["mtu"], "\(name) mtu")
                #expect(i["min_mtu"] == link["min_mtu"], "\(name) min_mtu")
                #expect(i["max_mtu"] == link["max_mtu"], "\(name) max_mtu")
                #expect(i["operstate"] == link["operstate"], "\(name) operstate")
                let kind = link["linkinfo"]?["info_kind"] ?? link["link_type"]
                #expect(i["kind"] == kind, "\(name) kind")
                let parent: JSON = link["link_netnsid"] == nil ? (link["link"] ?? .null) : .null
                #expect(i["parent"] == parent, "\(name) parent")
                #expect(i["master"] == (link["master"] ?? .null), "\(name) master")
            }
            #expect(LabNetns.interface(inventory, "va")?["addresses"]?.arrayValue?.first == .string("10.70.0.1/24"))
            #expect(LabNetns.interface(inventory, "lo")?["kind"] == .string("loopback"))
            #expect(LabNetns.interface(inventory, "tn0")?["kind"] == .string("tun"))
            #expect(LabNetns.interface(inventory, "mv0")?["tunnel"]?["underlay"] == .string("vb"))

            let text = Lab.pathprobe(["nic"], in: n)
            #expect(text.status == 0)
            // Offloads named as `ethtool -k` names them; the kernel's names behind --kernel-names.
            let lines = text.stdout.split(separator: "\n")
            #expect(lines.contains { $0.hasPrefix("OFFLOAD (ethtool -k)") })
            #expect(lines.contains { $0.hasPrefix("tcp-segmentation-offload ") })
            #expect(lines.contains { $0.hasPrefix("generic-receive-offload ") })
            #expect(!lines.contains { $0.hasPrefix("rx-gro ") })
            let kernel = Lab.pathprobe(["nic", "--kernel-names"], in: n)
            #expect(kernel.status == 0)
            #expect(kernel.stdout.split(separator: "\n").contains { $0.hasPrefix("rx-gro ") })
            #expect(!kernel.stdout.contains("generic-receive-offload"))
            #expect(text.stdout.contains("vx0"))
        }
    }

    @Test func vxlanOverALoweredUnderlayIsFlagged() throws {
        try LabNetns.with("nic", setup: { n in """
                ip -n \(n) link add u0 type veth peer name u1 && ip -n \(n) link set u0 up && ip -n \(n) link set u1 up \
                && ip -n \(n) addr add 10.71.0.1/24 dev u1 \
                && ip -n \(n) link add vx4 type vxlan id 4 dev u0 remote 10.71.9.2 dstport 4789 \
                && ip -n \(n) link add vx6 type vxlan id 6 dev u0 remote fd71::2 dstport 4790 \
                && ip -n \(n) link add vxok type vxlan id 7 dev u1 remote 10.71.0.2 dstport 4791 \
                && ip -n \(n) link add vxr type vxlan id 8 remote 10.71.0.2 dstport 4792
                """ }) { n in            // The kernel sized the vxlans for a 1500-byte underlay; lower it afterwards.
            #expect(try LabNetns.json("ip -n \(n) -j link show vx4").arrayValue?.first?["mtu"] == .int(1450))
            try Lab.sh("ip -n \(n) link set u0 mtu 1400")

            let inventory = try LabNetns.pathprobeJSON(["nic"], in: n)
            let vx4 = try #require(LabNetns.interface(inventory, "vx4"))
            #expect(vx4["tunnel"] == .object([
                ("overhead", .int(50)), ("underlay", .string("u0")), ("underlay_mtu", .int(1400)), ("underlay_family", .string("ipv4")),
                ("remote", .string("10.71.9.2")), ("max_inner_mtu", .int(1350)),
            ]))
            // Typed, as a program reads it: each finding once, naming its interface.
            let typed = try Contract.decode(LocalInventory.self, from: inventory)
            #expect(typed.findings(of: "vx4").map(\.id) == ["tunnel-mtu-exceeds-underlay"])
            #expect(typed.findings(of: "vx4").first?.severity == .warning)
            #expect(typed.findings(of: "vx4").first?.evidence[TunnelInfo.CodingKeys.maxInnerMTU] == nil, "tunnel figures sit under `tunnel`")

            let vx6 = try #require(LabNetns.interface(inventory, "vx6"))
            #expect(vx6["mtu"] == .int(1430))
            #expect(vx6["tunnel"]?["overhead"] == .int(70))
            #expect(vx6["tunnel"]?["underlay_family"] == .string("ipv6"))
            #expect(vx6["tunnel"]?["max_inner_mtu"] == .int(1330))
            #expect(typed.findings(of: "vx6").count == 1)

            let ok = try #require(LabNetns.interface(inventory, "vxok"))
            #expect(ok["tunnel"]?["max_inner_mtu"] == .int(1450))
            #expect(typed.findings(of: "vxok").isEmpty)
            // No `dev`: the underlay is the egress interface of the route to the remote endpoint.
            #expect(LabNetns.interface(inventory, "vxr")?["tunnel"]?["underlay"] == .string("u1"))

            let ids = inventory["findings"]?.arrayValue?.filter { $0["id"] == .string("tunnel-mtu-exceeds-underlay") }
                .compactMap { $0["interface"]?.stringValue }
            // vxr has no `dev`, so the kernel left it at 1500: too big for its 1500-byte underlay.
            #expect(ids == ["vx4", "vx6", "vxr"])
            let text = Lab.pathprobe(["nic", "vx4"], in: n)
            #expect(text.stdout.contains("tunnel-mtu-exceeds-underlay"))
            #expect(text.stdout.contains("1400 - 50 = 1350"))
        }
    }

    @Test func offloadsAgreeWithEthtool() throws {
        try LabNetns.with("nic", setup: { n in """
                ip -n \(n) link add o0 type veth peer name o1 && ip -n \(n) link add vxo type vxlan id 3 dev o1 dstport 4789 \
                && ip netns exec \(n) ethtool -K o0 tso off gro on && ip netns exec \(n) ethtool -K o1 tx-checksum-ip-generic off
                """ }) { n in            let inventory = try LabNetns.pathprobeJSON(["nic"], in: n)
            let interfaces = try #require(inventory["interfaces"]?.arrayValue)
            #expect(interfaces.count == 4)
            for i in interfaces {
                let name = try #require(i["name"]?.stringValue)
                let offloads = try #require(i["offloads"]?.objectValue)
                let ethtool = try #require(LabNetns.json("ip netns exec \(n) ethtool --json -k \(name)").arrayValue?.first?.objectValue)
                var matched = Set<String>()
                for (key, value) in ethtool where key != "ifname" {
                    if value["fixed"] == .null {
                        // A group summary line ("tcp-segmentation-offload" when several features match): on if any is.
                        let group = try #require(OffloadGroup.all.first { $0.ethtoolName == key }, "\(name): \(key)")
                        #expect(i["offload_summary"]?[group.key] == value["active"], "\(name): \(key)")
                        continue
                    }
                    // ethtool prints a group's only feature under the group's long name ("generic-receive-offload" = rx-gro).
                    var feature = key
                    if let group = OffloadGroup.all.first(where: { $0.ethtoolName == key }) {
                        let members = offloads.map(\.0).filter { OffloadGroup.group(of: $0) == group }
                        try #require(members.count == 1, "\(name): \(key) -> \(members)")
                        feature = members[0]
                    }
                    let mine = try #require(i["offloads"]?[feature], "\(name): \(feature) missing")
                    #expect(mine["active"] == value["active"], "\(name): \(feature) active")
                    #expect(mine["fixed"] == value["fixed"], "\(name): \(feature) fixed")
                    #expect(mine["requested"] == value["requested"], "\(name): \(feature) requested")
                    matched.insert(feature)
                }
                #expect(Set(offloads.map(\.0)) == matched, "\(name): features ethtool does not list")
            }
            let o0 = try #require(LabNetns.interface(inventory, "o0"))
            #expect(o0["offloads"]?["tx-tcp-segmentation"]?["active"] == .bool(false))
            #expect(o0["offloads"]?["tx-tcp6-segmentation"]?["active"] == .bool(false))
            #expect(o0["offloads"]?["rx-gro"]?["active"] == .bool(true))
            #expect(o0["offload_summary"]?["tso"] == .bool(false))
            #expect(o0["offload_summary"]?["gro"] == .bool(true))
            #expect(LabNetns.interface(inventory, "o1")?["offloads"]?["tx-checksum-ip-generic"]?["active"] == .bool(false))
            // The text names the groups as `ethtool -k` does, one row each, a column per interface.
            let lines = Lab.pathprobe(["nic", "o0"], in: n).stdout.split(separator: "\n")
            func cell(_ group: String) -> Substring? { lines.first { $0.hasPrefix(group + " ") }?.split(separator: " ").last }
            #expect(cell("tcp-segmentation-offload") == "off")
            #expect(cell("generic-segmentation-offload") == "on")
            #expect(cell("generic-receive-offload") == "on")
        }
    }

    @Test func sysctlsAreTheNamespaces() throws {
        try LabNetns.with("nic", setup: { n in """
                ip -n \(n) link add s0 type veth peer name s1 \
                && ip netns exec \(n) sysctl -qw net.ipv4.tcp_mtu_probing=1 net.ipv4.ip_no_pmtu_disc=1 net.ipv4.route.min_pmtu=1000 \
                   net.ipv4.tcp_base_mss=512 net.ipv4.icmp_ratelimit=200 net.ipv6.conf.s0.mtu=1280 \
                && ip netns exec \(n) sysctl -qw net.ipv4.ping_group_range='0 100'
                """ }) { n in            let inventory = try LabNetns.pathprobeJSON(["nic", "s0"], in: n)
            let s = try #require(inventory["sysctls"])
            #expect(s["tcp_mtu_probing"] == .int(1))
            #expect(s["ip_no_pmtu_disc"] == .int(1))
            #expect(s["min_pmtu"] == .int(1000))
            #expect(s["tcp_base_mss"] == .int(512))
            #expect(s["ping_group_range"] == .array([.int(0), .int(100)]))
            // icmp_ratelimit goes through jiffies, so the kernel may round it: compare with what it reads back.
            for key in ["mtu_expires", "tcp_probe_threshold", "icmp_ratelimit", "ipv6_mtu_expires"] {
                let sysctl = key == "ipv6_mtu_expires" ? "net.ipv6.route.mtu_expires" : key == "mtu_expires" ? "net.ipv4.route.mtu_expires" : "net.ipv4.\(key)"
                let value = try Lab.sh("ip netns exec \(n) sysctl -n \(sysctl)").split(separator: "\n").first.flatMap { Int($0) }
                #expect(s[key]?.intValue == value, "\(key)")
            }
            let s0 = try #require(LabNetns.interface(inventory, "s0"))
            #expect(s0["ipv6_mtu"] == .int(1280))
            let ids = inventory["findings"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
            #expect(ids == ["ipv6-mtu-below-link-mtu", "pmtu-discovery-disabled"])
        }
    }

    @Test func runsUnprivileged() throws {
        try LabNetns.with("nic", setup: { "ip -n \($0) link add p0 type veth peer name p1" }) { n in
            let r = Lab.pathprobe(["nic", "--json"], in: n, asUser: "nobody")
            #expect(r.status == 0, "\(r.stderr)")
            let inventory = try JSON.parse(r.stdout)
            #expect(inventory["interfaces"]?.arrayValue?.count == 3)
            #expect(LabNetns.interface(inventory, "p0")?["offloads"]?.objectValue?.isEmpty == false)
        }
    }

    @Test func unknownInterfaceIsOneLineAndExit2() throws {
        try LabNetns.with("nic") { n in
            let r = Lab.pathprobe(["nic", "lo", "nosuch0"], in: n)
            #expect(r.status == 2)
            #expect(r.stdout.isEmpty)
            #expect(r.stderr == "pathprobe: unknown interface 'nosuch0'\nSee 'pathprobe nic --help' for more information.\n")
        }
    }
}

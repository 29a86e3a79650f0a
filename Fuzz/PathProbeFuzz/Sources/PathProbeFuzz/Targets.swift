/// Every fuzz target. A target is a name (also its corpus folder, Fuzz/Corpus/NAME/), one line on
/// what it covers, and a thin call into a parser with the fuzzer's bytes.
///
/// Adding a target (docs/fuzzing.md, "Adding a target"): one entry below, and a folder
/// Fuzz/Corpus/NAME/ with a few real inputs. A parser in a module the package does not depend on
/// yet also needs its product in Fuzz/Package.swift.
enum FuzzTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget("icmp-echo", "echo replies from ping and raw sockets (IPv4 header in front or not), the IPv4 header parser") {
            PacketTargets.icmpEcho($0)
        },
        FuzzTarget("icmp-error", "an error-queue entry: ICMP/ICMPv6 type, code, info and the quoted probe (ICMP, UDP or TCP)") {
            PacketTargets.icmpError($0)
        },
        FuzzTarget("tcp-segment", "TCP segments from a raw socket: header, options, MSS, with and without the IPv4 header") {
            PacketTargets.tcpSegment($0)
        },
        FuzzTarget("responder-request", "datagrams reaching `pathprobe serve`: request decoding and the anti-abuse decision") {
            PacketTargets.responderRequest($0)
        },
        FuzzTarget("responder-flood", "the responder's per-source rate limiter: datagrams from many sources, any accepted --rate") {
            PacketTargets.responderFlood($0)
        },
        FuzzTarget("responder-reply", "replies of `pathprobe serve` as `reach --responder` decodes them") {
            PacketTargets.responderReply($0)
        },
        FuzzTarget("udp-answer", "UDP answers to reach's service probes (DNS, NTP, IKE, IKE NAT-T, STUN, OpenVPN, DTLS, responder)") {
            PacketTargets.udpAnswer($0)
        },
        FuzzTarget("x224", "the RDP server's X.224 Connection Confirm (negotiation response or failure)") {
            PacketTargets.x224Confirm($0)
        },
        FuzzTarget("netlink", "netlink replies: message header, attributes, RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE") {
            NetlinkTargets.message($0)
        },
        FuzzTarget("json", "the JSON parser (reports, resume lines) and the writer, round trip checked") {
            TextTargets.json($0)
        },
        FuzzTarget("profile-diff", "`pathprobe diff`: a profile report (or two, split by a NUL byte) compared and rendered") {
            TextTargets.profileDiff($0)
        },
        FuzzTarget("bulk-input", "`pathprobe bulk` input lines: addresses, host names, CIDR ranges, comments") {
            TextTargets.bulkInput($0)
        },
        FuzzTarget("bulk-resume", "`bulk --resume`: an earlier output file (JSON Lines and CSV) scanned in chunks") {
            TextTargets.bulkResume($0)
        },
        FuzzTarget("bulk-csv", "the CSV reader, and CSV writing read back") {
            TextTargets.bulkCSV($0)
        },
        FuzzTarget("ip-address", "IPv4 and IPv6 address literals, round trip checked") {
            TextTargets.ipAddress($0)
        },
        FuzzTarget("port-list", "port lists as typed on the command line (443,3389,2000-2499)") {
            TextTargets.portList($0)
        },
        FuzzTarget("http-response", "RD Gateway (and any HTTP server's) response heads: status line, header fields") {
            CheckTargets.httpResponse($0)
        },
        FuzzTarget("rdp-udp", "RDP-UDP SYN-ACKs and the MTUs they negotiate") {
            CheckTargets.rdpUDP($0)
        },
        FuzzTarget("tcp-mtu-answer", "what `mtu -P tcp` reads from servers: TLS answer classifier, HTTP response check, the responder's TCP headers") {
            CheckTargets.tcpMTUAnswer($0)
        },
        FuzzTarget("rdp-check", "the whole RDP check (direct and gateway) against a server answering the fuzzer's bytes") {
            CheckTargets.rdpCheck($0)
        },
        FuzzTarget("certificate", "certificate facts (subject, SANs, validity, name match) from a PEM chain, through OpenSSL") {
            CheckTargets.certificate($0)
        },
    ]

    static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    /// "name  what it covers" lines (scripts/fuzz.sh --list).
    static var listing: String {
        let width = all.map(\.name.count).max() ?? 0
        return all.map { "  " + $0.name + String(repeating: " ", count: width - $0.name.count + 2) + $0.covers }
            .joined(separator: "\n")
    }
}

struct FuzzTarget: Sendable {
    let name: String
    let covers: String
    let run: @Sendable (UnsafeRawBufferPointer) -> Void

    init(_ name: String, _ covers: String, _ run: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) {
        self.name = name
        self.covers = covers
        self.run = run
    }
}

// MARK: helpers for targets

/// Uses a value so the optimizer cannot drop the call that made it (as benchmark's blackHole does).
@inline(never) @_optimize(none)
func keep(_: some Any) {}

/// A property every input must keep. A violation is reported like a crash (libFuzzer saves the input).
func expect(_ condition: Bool, _ what: @autoclosure () -> String) {
    if !condition { fatalError("fuzz property violated: \(what())") }
}

extension UnsafeRawBufferPointer {
    var bytes: [UInt8] { Array(self) }
    /// The bytes as text, invalid UTF-8 replaced (as every reader of files in pathprobe does).
    var text: String { String(decoding: self, as: UTF8.self) }
}

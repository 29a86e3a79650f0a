/// Port lists as users type them ("443,3389", "2000-2499") and the presets for common remote-access
/// services. Bad input becomes a `PortListError` with a one-line message (the CLI exits 2 with it).
public enum PortListError: Error, Equatable, CustomStringConvertible {
    case empty(String)
    case outOfRange(String)
    case malformed(String)
    case tooMany(Int)

    public var description: String {
        switch self {
        case let .empty(flag): return "\(flag) needs at least one port"
        case let .outOfRange(item): return "port '\(item)' is outside 1-65535"
        case let .malformed(item): return "'\(item)' is not a port or a range like 2000-2499"
        case let .tooMany(n): return "\(n) ports is more than the 65535 that exist"
        }
    }
}

public enum PortList {
    /// Parses "443,3389,2000-2499" (spaces allowed) into ports in the order given, duplicates removed.
    /// `flag` only names the option in error messages.
    public static func parse(_ text: String, flag: String = "port list") throws -> [UInt16] {
        var ports: [UInt16] = []
        var seen = Set<UInt16>()
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmed() }
        if items.allSatisfy(\.isEmpty) { throw PortListError.empty(flag) }
        for item in items {
            if item.isEmpty { throw PortListError.malformed(text) }
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            guard bounds.count <= 2 else { throw PortListError.malformed(item) }
            var values: [Int] = []
            for b in bounds {
                guard !b.isEmpty, b.count <= 6, b.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(b) else {
                    throw PortListError.malformed(item)
                }
                guard v >= 1 && v <= 65535 else { throw PortListError.outOfRange(item) }
                values.append(v)
            }
            let lo = values[0], hi = values.count == 2 ? values[1] : values[0]
            guard lo <= hi else { throw PortListError.malformed(item) }
            for p in lo...hi where seen.insert(UInt16(p)).inserted { ports.append(UInt16(p)) }
        }
        return ports
    }

    /// "443,3389,2000-2499": the compact form, for messages and docs.
    public static func format(_ ports: [UInt16]) -> String {
        var parts: [String] = []
        var i = 0
        while i < ports.count {
            var j = i
            while j + 1 < ports.count && ports[j + 1] == ports[j] &+ 1 { j += 1 }
            parts.append(j > i + 1 ? "\(ports[i])-\(ports[j])" : (j == i + 1 ? "\(ports[i]),\(ports[j])" : "\(ports[i])"))
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}

/// The services `pathprobe reach` knows by name, with the ports they need.
public enum ReachPreset: String, Codable, CaseIterable, Sendable {
    /// RD Gateway (TCP 443, its UDP side channel 3391) and direct RDP (TCP and UDP 3389).
    case rdp
    /// IKEv2 / IPsec: UDP 500 and, behind NAT, UDP 4500.
    case ipsec
    /// WireGuard's default port.
    case wireguard
    /// OpenVPN's default port, UDP (the default transport) and TCP.
    case openvpn

    public var tcp: [UInt16] {
        switch self {
        case .rdp: return [443, 3389]
        case .ipsec, .wireguard: return []
        case .openvpn: return [1194]
        }
    }

    public var udp: [UInt16] {
        switch self {
        case .rdp: return [3391, 3389]
        case .ipsec: return [500, 4500]
        case .wireguard: return [51820]
        case .openvpn: return [1194]
        }
    }

    /// Merges explicit lists and presets, keeping the first occurrence's order.
    public static func combine(tcp: [UInt16], udp: [UInt16], presets: [ReachPreset]) -> (tcp: [UInt16], udp: [UInt16]) {
        func merge(_ lists: [[UInt16]]) -> [UInt16] {
            var seen = Set<UInt16>()
            return lists.joined().filter { seen.insert($0).inserted }
        }
        return (merge([tcp] + presets.map(\.tcp)), merge([udp] + presets.map(\.udp)))
    }
}

private extension Substring {
    func trimmed() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}

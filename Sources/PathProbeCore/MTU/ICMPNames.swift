/// Human names for ICMP codes and errno values that appear in results.
public enum ICMPNames {
    public static func unreachable(family: AddressFamily, type: UInt8, code: UInt8) -> String {
        switch family {
        case .ipv4:
            guard type == 3 else { return "ICMP type \(type) code \(code)" }
            switch code {
            case 0: return "network unreachable"
            case 1: return "host unreachable"
            case 2: return "protocol unreachable"
            case 3: return "port unreachable"
            case 4: return "fragmentation needed"
            case 9, 10, 13: return "administratively prohibited"
            default: return "destination unreachable (code \(code))"
            }
        case .ipv6:
            guard type == 1 else { return "ICMPv6 type \(type) code \(code)" }
            switch code {
            case 0: return "no route to destination"
            case 1: return "administratively prohibited"
            case 3: return "address unreachable"
            case 4: return "port unreachable"
            case 5: return "source address failed policy"
            case 6: return "reject route"
            default: return "destination unreachable (code \(code))"
            }
        }
    }

    /// traceroute-style marks: !N !H !P !X ...
    public static func unreachableShort(family: AddressFamily, type: UInt8, code: UInt8) -> String {
        switch (family, type, code) {
        case (.ipv4, 3, 0), (.ipv6, 1, 0): return "!N"
        case (.ipv4, 3, 1), (.ipv6, 1, 3): return "!H"
        case (.ipv4, 3, 2): return "!P"
        case (.ipv4, 3, 3), (.ipv6, 1, 4): return "port unreachable"
        case (.ipv4, 3, 9), (.ipv4, 3, 10), (.ipv4, 3, 13), (.ipv6, 1, 1), (.ipv6, 1, 5), (.ipv6, 1, 6): return "!X"
        default: return "!\(type)/\(code)"
        }
    }

    /// Port unreachable: the answer a closed UDP port gives.
    public static func isPortUnreachable(family: AddressFamily, type: UInt8, code: UInt8) -> Bool {
        family == .ipv4 ? (type == 3 && code == 3) : (type == 1 && code == 4)
    }

    public static func errnoName(_ e: Int32) -> String { ErrnoNames.describe(e) }
}

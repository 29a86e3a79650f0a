internal import CPathProbe
import PathProbeCore

/// Offload features through the SIOCETHTOOL ioctl (the C side is CPathProbe's ethtool.c).
enum Ethtool {
    /// Every feature of the device in the kernel's order, as `ethtool -k` shows them;
    /// empty when the device has no ethtool support.
    static func features(interface name: String) -> [OffloadFeature] {
        var capacity = 0
        var buffer: [cpp_ethtool_feature] = []
        while true {
            let count = buffer.withUnsafeMutableBufferPointer { b in
                cpp_ethtool_features(name, b.baseAddress, Int32(capacity))
            }
            guard count >= 0 else { return [] }
            if Int(count) <= capacity {
                return buffer.prefix(Int(count)).compactMap { f in
                    let featureName = withUnsafeBytes(of: f.name) { raw in
                        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    // Unnamed bits are features the kernel does not define; ethtool skips them too.
                    guard !featureName.isEmpty else { return nil }
                    return OffloadFeature(name: featureName, active: f.active != 0,
                                          fixed: f.available == 0 || f.never_changed != 0, requested: f.requested != 0)
                }
            }
            capacity = Int(count)
            buffer = [cpp_ethtool_feature](repeating: cpp_ethtool_feature(), count: capacity)
        }
    }
}

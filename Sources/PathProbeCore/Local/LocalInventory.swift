/// The local half of a path: interfaces, tunnels, offloads and the PMTU sysctls of one network
/// namespace (`pathprobe nic`). Filled by PathProbeNetlink (`LocalInventory.read`), rendered here.
public struct LocalInventory: ContractDocument, Sendable, Equatable {
    public static let documentType = DocumentType.nic

    public var interfaces: [LocalInterface]
    public var sysctls: PMTUSysctls
    /// Every finding, once: the interfaces' (each names its `interface`), then the namespace-wide ones.
    public var findings: [Finding]

    /// Applies `InventoryRules` to every interface and to the sysctls.
    public init(interfaces: [LocalInterface], sysctls: PMTUSysctls) {
        self.interfaces = interfaces
        self.sysctls = sysctls
        findings = interfaces.flatMap(InventoryRules.findings(for:)) + InventoryRules.findings(for: sysctls)
    }

    /// The findings about one interface.
    public func findings(of name: String) -> [Finding] { findings.filter { $0.interface == name } }

}

import PathProbeCore
@testable import PathProbeEngine

extension Responder {
    /// A responder listening on `listen` at a free port of the dynamic range (a few tried at random)
    /// with `configure`d settings, and its port; nil when none could be bound.
    static func onFreePort(listen: IPAddress, _ configure: (inout ResponderConfig) -> Void) -> (responder: Responder, port: UInt16)? {
        for _ in 0..<20 {
            let candidate = UInt16.random(in: 40000...60999)
            var config = ResponderConfig(listen: listen, port: candidate)
            configure(&config)
            if let r = try? Responder(config: config, log: { _ in }) { return (r, candidate) }
        }
        return nil
    }
}

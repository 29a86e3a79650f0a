import PathProbeCore
import PathProbeEngine

/// The TCP path MTU measurement for one target (`mtu -P tcp`, `profile`'s TCP step, `bulk --mode mtu
/// --protocol tcp`): `prepare` turns `MTUArguments` into the state machine's parameters (the target's
/// egress MTU is the default `--max`; the name typed is the SNI and Host), the engine runs it over
/// plain TCP sockets (no privilege), `finish` makes the `mtu` document. Reached through `MTUSetup`.
public final class TCPMTUSetup {
    public let target: ProbeTarget
    public let measurement: TCPPathMTUMeasurement
    let started = MonotonicClock.now()

    init(target: ProbeTarget, measurement: TCPPathMTUMeasurement) {
        self.target = target
        self.measurement = measurement
    }

    /// `port` / `service`: profile's choice of one of its ports (else `--port` / `--service`).
    public static func prepare(_ target: ProbeTarget, _ arguments: MTUArguments, probe: ProbeArguments,
                               port: UInt16? = nil, service: TCPService? = nil) throws(PathProbeError) -> TCPMTUSetup {
        let options = try arguments.tcpParameters(for: target.address, serverName: serverName(target.text), localMTU: target.egress.mtu,
                                                  probe: probe, port: port, service: service)
        return TCPMTUSetup(target: target, measurement: TCPPathMTUMeasurement(options: options))
    }

    /// The name for SNI and the Host header: what the user typed, unless it is an address.
    static func serverName(_ text: String) -> String? {
        var t = text
        if t.hasPrefix("[") && t.hasSuffix("]") { t = String(t.dropFirst().dropLast()) }
        return IPAddress(t) == nil && !t.isEmpty ? text : nil
    }

    /// The finished measurement as the `mtu` document.
    public func finish() -> PathMTUResult {
        var r = PathMTUResult(tcp: measurement.result)
        r.durationMs = (MonotonicClock.now() - started).inMs
        r.target = target.text
        r.line = target.line
        r.localMTU = target.egress.mtu
        r.interface = target.egress.interface
        return r
    }
}

import ArgumentParser

/// The options of a profile: the path MTU's, the ports' and the probes' (so `-c`, `--timeout` and
/// `--rate` reach every probe of it). `pathprobe profile`, `bulk` and the exporter take this one type.
public struct ProfileArguments: ParsableArguments, Sendable {
    @OptionGroup public var mtu: MTUArguments
    @OptionGroup public var reach: ReachArguments
    @OptionGroup public var probe: ProbeArguments

    public init() {}

    /// Ports or a responder were asked for: the profile measures them too.
    public var probesPorts: Bool { !reach.isEmpty }
}

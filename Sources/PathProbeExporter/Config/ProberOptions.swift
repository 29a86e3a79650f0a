import ArgumentParser
import PathProbeCore

// A module's settings are parsed by the option groups of the command it stands for, so names,
// defaults, value checks and messages are the command line's. Each type below is that command's
// options without its output flags (--json, -n, --markdown): the same PathProbeCore groups the
// command mounts with @OptionGroup, and the command's own flags (`--no-hops`).
//
// Three exporter rules on top (`checkExporterRules`):
// - `rate` is not a module setting: all probes share one engine and its rate limit (the exporter's
//   own `--rate`);
// - the module's `timeout` is the whole probe's budget; the command line's per-answer `--timeout` is
//   `answer_timeout` in the config (SettingsArguments' aliases);
// - a measurement that cannot start for every target is refused at load time (--min above --max,
//   nothing to probe), not at every scrape.

/// `pathprobe mtu`: -4/-6, the path MTU options, the probe options, `--no-hops`.
public struct MTUProberOptions: ProberOptions {
    @OptionGroup public var family: FamilyArguments
    @OptionGroup public var mtu: MTUArguments
    @OptionGroup public var probe: ProbeArguments
    @Flag(name: .customLong("no-hops"), help: "Skip the per-hop view (and black-hole localisation).")
    public var noHops = false

    public init() {}

    public var sendsHopProbes: Bool { !noHops }
    public var probeArguments: ProbeArguments { probe }
    public var familyArguments: FamilyArguments { family }

    public func validate() throws {
        try checkExporterRules()
        try checkSizes(mtu, family: family)
    }
}

/// `pathprobe reach`: -4/-6, the ports and presets, the responder, the probe options.
public struct ReachProberOptions: ProberOptions {
    @OptionGroup public var family: FamilyArguments
    @OptionGroup public var reach: ReachArguments
    @OptionGroup public var probe: ProbeArguments

    public init() {}

    public var sendsHopProbes: Bool { false }
    public var probeArguments: ProbeArguments { probe }
    public var familyArguments: FamilyArguments { family }

    public func validate() throws {
        try checkExporterRules()
        if reach.isEmpty { throw ValidationError(Self.nothingToProbe) }
    }

    static let nothingToProbe = "nothing to probe: give --tcp, --udp, a preset (--rdp, --ipsec, --wireguard, --openvpn) or --responder"
}

/// `pathprobe profile`: -4/-6, the profile's options (path MTU, ports, probes), `--no-hops`.
public struct ProfileProberOptions: ProberOptions {
    @OptionGroup public var family: FamilyArguments
    @OptionGroup public var profile: ProfileArguments
    @Flag(name: .customLong("no-hops"), help: "Skip the per-hop view (and black-hole localisation).")
    public var noHops = false

    public init() {}

    public var sendsHopProbes: Bool { !noHops }
    public var probeArguments: ProbeArguments { profile.probe }
    public var familyArguments: FamilyArguments { family }

    public func validate() throws {
        try checkExporterRules()
        try checkSizes(profile.mtu, family: family)
    }
}

extension ProberOptions {
    /// What the exporter does not take from a module (see the top of this file).
    func checkExporterRules() throws {
        if probeArguments.rate != nil {
            throw ValidationError("--rate is not a module setting: all probes share one rate limit, the exporter's own --rate")
        }
    }

    /// --min / --max against each other and the packet sizes IP allows (IPv6's floor when -6).
    func checkSizes(_ mtu: MTUArguments, family: FamilyArguments) throws {
        do {
            _ = try mtu.sizeRange(family: family.family ?? .ipv4, localMTU: mtu.max ?? 65535)
        } catch {
            throw ValidationError(error.message)
        }
    }
}

import ArgumentParser
import PathProbeCore

// A module's settings are parsed by the option groups of the command it stands for, so names,
// defaults, value checks and messages are the command line's. Each type below is that command's
// options without its output flags (--json, -n, --markdown): the same PathProbeCore groups the
// command mounts with @OptionGroup, and the command's own `--no-hops`.
//
// The exporter's rules on top (`ProberOptions.validate`):
// - `rate` is not a module setting: all probes share one engine and its rate limit (the exporter's
//   own `--rate`);
// - the module's `timeout` is the whole probe's budget; the command line's per-answer `--timeout` is
//   `answer_timeout` in the config (SettingsArguments' aliases);
// - settings no target could run with are refused when the file loads, not at every scrape
//   (--min above --max, sizes IP does not allow, nothing to probe).

/// `pathprobe mtu`: -4/-6, the path MTU options, the probe options, `--no-hops`.
struct MTUProberOptions: ProberOptions {
    @OptionGroup var family: FamilyArguments
    @OptionGroup var mtu: MTUArguments
    @OptionGroup var probe: ProbeArguments
    @Flag(name: .customLong("no-hops"), help: "Skip the per-hop view (and black-hole localisation).")
    var noHops = false

    var sendsHopProbes: Bool { !noHops }
    var pathMTU: MTUArguments? { mtu }
}

/// `pathprobe reach`: -4/-6, the ports and presets, the responder, the probe options.
struct ReachProberOptions: ProberOptions {
    @OptionGroup var family: FamilyArguments
    @OptionGroup var reach: ReachArguments
    @OptionGroup var probe: ProbeArguments

    var sendsHopProbes: Bool { false }
    var pathMTU: MTUArguments? { nil }

    func checkSettings() throws {
        if reach.isEmpty {
            throw ValidationError("nothing to probe: give --tcp, --udp, a preset (--rdp, --ipsec, --wireguard, --openvpn) or --responder")
        }
    }
}

/// `pathprobe profile`: -4/-6, the profile's options (path MTU, ports, probes), `--no-hops`.
struct ProfileProberOptions: ProberOptions {
    @OptionGroup var family: FamilyArguments
    @OptionGroup var profile: ProfileArguments
    @Flag(name: .customLong("no-hops"), help: "Skip the per-hop view (and black-hole localisation).")
    var noHops = false

    var sendsHopProbes: Bool { !noHops }
    var probe: ProbeArguments { profile.probe }
    var pathMTU: MTUArguments? { profile.mtu }
}

extension ProberOptions {
    /// The exporter's rules (see the top of this file), then the prober's own `checkSettings`.
    public func validate() throws {
        if probe.rate != nil {
            throw ValidationError("--rate is not a module setting: all probes share one rate limit, the exporter's own --rate")
        }
        if let mtu = pathMTU {
            // --min / --max against each other and the packet sizes IP allows (IPv6's floor with -6).
            do { _ = try mtu.sizeRange(family: family.family ?? .ipv4, localMTU: mtu.max ?? 65535) } catch {
                throw ValidationError(error.message)
            }
        }
        try checkSettings()
    }

    public func checkSettings() throws {}
}

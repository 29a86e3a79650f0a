import Testing
import PathProbeCore

/// `PathProbeVersion` is generated before every build (Plugins/PathProbeVersion, scripts/version.sh;
/// scripts/test-version.sh tests the cases): `git describe` without the "v", or "dev".
@Suite struct VersionTests {
    @Test func versionIsDescribeOrDev() {
        let version = PathProbeVersion.string
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+~_-")
        #expect(version.allSatisfy { allowed.contains($0) })
        // 1.2.3, 1.2.3-12-gabc1234, 0.0.0-74-g6a3839a-dirty, dev
        #expect(version == "dev" || version.first?.isNumber == true, "\(version)")
    }
}

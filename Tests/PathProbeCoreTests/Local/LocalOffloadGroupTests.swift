import Testing
@testable import PathProbeCore

/// ethtool's legacy offload groups: pattern matching, "on if any is on", and the JSON shapes.
@Suite struct LocalOffloadGroupTests {
    @Test(arguments: [
        ("tx-tcp-segmentation", "tso"), ("tx-tcp6-segmentation", "tso"), ("tx-tcp-ecn-segmentation", "tso"),
        ("tx-tcp-mangleid-segmentation", "tso"), ("tx-checksum-ipv4", "tx_checksum"), ("tx-checksum-ip-generic", "tx_checksum"),
        ("tx-scatter-gather", "sg"), ("tx-scatter-gather-fraglist", "sg"), ("rx-gro", "gro"), ("rx-lro", "lro"),
        ("rx-checksum", "rx_checksum"), ("tx-generic-segmentation", "gso"), ("rx-hashing", "rx_hash"),
    ])
    func featureBelongsToGroup(_ feature: String, _ group: String) {
        #expect(OffloadGroup.group(of: feature)?.key == group)
    }

    @Test(arguments: ["rx-gro-hw", "rx-gro-list", "tx-udp-segmentation", "tx-gso-partial", "highdma", "tx-tcp", "loopback"])
    func featureOutsideEveryGroup(_ feature: String) {
        #expect(OffloadGroup.group(of: feature) == nil)
    }

    @Test func starNeedsRoomForPrefixAndSuffix() throws {
        let tso = try #require(OffloadGroup.named("tso"))
        #expect(tso.matches("tx-tcp-segmentation"))
        #expect(!tso.matches("tx-tcp-segmentatio"))
        #expect(!tso.matches("tx-tc-segmentation"))
    }

    @Test func groupIsOnWhenAnyFeatureIsOn() throws {
        let features = [
            OffloadFeature(name: "tx-tcp-segmentation", active: false, fixed: false, requested: false),
            OffloadFeature(name: "tx-tcp6-segmentation", active: true, fixed: false, requested: true),
            OffloadFeature(name: "rx-gro", active: false, fixed: false, requested: false),
        ]
        #expect(try #require(OffloadGroup.named("tso")).state(in: features) == true)
        #expect(try #require(OffloadGroup.named("gro")).state(in: features) == false)
        #expect(try #require(OffloadGroup.named("lro")).state(in: features) == nil)
        let summary = try JSONValueEncoder.encode(OffloadSummary(features: features))
        #expect(summary["tso"] == .bool(true))
        #expect(summary["lro"] == .null)
        #expect(summary.objectValue?.map(\.0) == OffloadGroup.all.map(\.key))
    }

    @Test func featuresKeepKernelOrderInJSON() throws {
        let features = [
            OffloadFeature(name: "tx-scatter-gather", active: true, fixed: false, requested: true),
            OffloadFeature(name: "rx-lro", active: false, fixed: true, requested: false),
        ]
        #expect(try JSONValueEncoder.encode(OffloadFeatures(features: features)).serialized() ==
            #"{"tx-scatter-gather":{"active":true,"fixed":false,"requested":true},"rx-lro":{"active":false,"fixed":true,"requested":false}}"#)
    }
}

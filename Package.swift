// swift-tools-version:6.1
import PackageDescription

// Layout (see README "Code map"):
//   CPathProbe       C shim for what Swift cannot import (cmsg, errqueue, sendmmsg/recvmmsg, epoll, eventfd, tcp_info, ethtool ioctl)
//   CNetlink         libnl-3 / libnl-route-3 system library, imported only by PathProbeNetlink
//   PathProbeCore    pure Swift: addresses, packets, the JSON contract, per measurement its options,
//                    state machine, typed result and renderers; the advisor, diff, bulk records
//   PathProbeEngine  sockets and the one event loop that runs Core measurements against the network
//   PathProbeNetlink interfaces, routes (the one egress lookup), cached PMTU, offloads, sysctls
//   COpenSSL         OpenSSL 3 system library (libssl-dev), imported only by PathProbeTLS
//   PathProbeTLS     TLS client over memory BIOs (sans-IO) and certificate facts, for the RDP check
//   PathProbeKit     composition for the CLI and the exporter: prepare / finish per measurement,
//                    profile, bulk and its runner
//   pathprobe        the thin command line
//   PathProbeExporter / pathprobe-exporter  the Prometheus exporter (NIO HTTP/1, swift-prometheus, Yams);
//                    a separate executable because Yams imports full Foundation (issue 14)

/// swift-nio's HTTP/1 pieces: the exporter's server, its tests' client.
let nioHTTP: [Target.Dependency] = ["NIOCore", "NIOPosix", "NIOHTTP1"].map { .product(name: $0, package: "swift-nio") }

let package = Package(
    name: "pathprobe",
    products: [
        .executable(name: "pathprobe", targets: ["pathprobe"]),
        .library(name: "PathProbeCore", targets: ["PathProbeCore"]),
        .library(name: "PathProbeEngine", targets: ["PathProbeEngine"]),
        .library(name: "PathProbeNetlink", targets: ["PathProbeNetlink"]),
        .library(name: "PathProbeKit", targets: ["PathProbeKit"]),
        .library(name: "PathProbeTLS", targets: ["PathProbeTLS"]),
        .executable(name: "pathprobe-exporter", targets: ["pathprobe-exporter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // The exporter only (issue 12).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),  // already pulled in by service-lifecycle
    ],
    targets: [
        .target(name: "CPathProbe"),
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libnl-route-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // `PathProbeVersion` (Core) from `git describe` before every build: scripts/version.sh.
        .plugin(name: "PathProbeVersion", capability: .buildTool()),
        .target(
            name: "PathProbeCore",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            plugins: ["PathProbeVersion"]
        ),
        .target(name: "PathProbeTLS", dependencies: ["PathProbeCore", "COpenSSL"]),
        .target(
            name: "PathProbeEngine",
            dependencies: ["PathProbeCore", "PathProbeNetlink", "CPathProbe", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(name: "PathProbeNetlink", dependencies: ["PathProbeCore", "CNetlink", "CPathProbe"]),
        .target(name: "PathProbeKit", dependencies: ["PathProbeCore", "PathProbeEngine", "PathProbeNetlink", "PathProbeTLS"]),
        .executableTarget(
            name: "pathprobe",
            dependencies: [
                "PathProbeCore", "PathProbeKit", "PathProbeNetlink",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "PathProbeExporter",
            dependencies: [
                "PathProbeCore", "PathProbeEngine", "PathProbeNetlink", "PathProbeKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ] + nioHTTP
        ),
        .executableTarget(name: "pathprobe-exporter", dependencies: ["PathProbeExporter", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "PathProbeCoreTests", dependencies: ["PathProbeCore"]),
        .testTarget(name: "PathProbeEngineTests", dependencies: ["PathProbeEngine", "PathProbeCore"]),
        .testTarget(name: "PathProbeNetlinkTests", dependencies: ["PathProbeNetlink", "PathProbeCore"]),
        .testTarget(name: "PathProbeKitTests", dependencies: ["PathProbeKit", "PathProbeCore"]),
        .testTarget(name: "PathProbeTLSTests", dependencies: ["PathProbeTLS", "PathProbeCore"]),
        .testTarget(
            name: "LabTests",
            dependencies: ["PathProbeCore"],
            exclude: ["Support/rdgw_emulator.py", "Support/spoofed_flood.py", "Support/responder_clients.py"]
        ),
        .testTarget(name: "ExporterTests", dependencies: ["PathProbeExporter"] + nioHTTP),
    ],
    swiftLanguageModes: [.v6]
)

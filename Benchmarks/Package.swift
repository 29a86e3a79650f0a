// swift-tools-version:6.1
import PackageDescription

// pathprobe's in-process benchmarks, in their own package so that ordinary builds of pathprobe do
// not pay for them. scripts/bench.sh builds and runs them beside the peer tools; alone:
//   swift build -c release --package-path Benchmarks --scratch-path .build-bench
//   .build-bench/release/pathprobe-bench help
// No dependency beyond pathprobe itself: the harness (warm-up, repetitions, percentiles, loud
// failure) is Sources/pathprobe-bench/Harness.swift.
let package = Package(
    name: "PathProbeBenchmarks",
    dependencies: [
        .package(name: "pathprobe", path: "../"),
    ],
    targets: [
        .executableTarget(
            name: "pathprobe-bench",
            dependencies: [
                .product(name: "PathProbeCore", package: "pathprobe"),
                .product(name: "PathProbeEngine", package: "pathprobe"),
                .product(name: "PathProbeKit", package: "pathprobe"),
            ],
            path: "Sources/pathprobe-bench"
        ),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for pathprobe's parsers of untrusted bytes (docs/fuzzing.md). A package of its own,
// so ordinary builds of pathprobe neither build it nor pay for its sanitizer flags. Build and run it
// only through scripts/fuzz.sh: the flags that make a working fuzzer (coverage and ASan for every
// module, libFuzzer's own main) are on its command line, not here, because they must reach the
// pathprobe modules too, and a manifest's settings only reach its own targets.
let package = Package(
    name: "PathProbeFuzz",
    dependencies: [
        .package(name: "pathprobe", path: "../../"),
    ],
    targets: [
        // One binary holds every target; PATHPROBE_FUZZ_TARGET picks the one to run (Targets.swift).
        .executableTarget(
            name: "PathProbeFuzz",
            dependencies: [
                .product(name: "PathProbeCore", package: "pathprobe"),
                .product(name: "PathProbeNetlink", package: "pathprobe"),
                .product(name: "PathProbeTLS", package: "pathprobe"),
            ],
            path: "Sources/PathProbeFuzz"
        ),
    ],
    swiftLanguageModes: [.v6]
)

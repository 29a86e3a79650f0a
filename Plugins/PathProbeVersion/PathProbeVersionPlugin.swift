import Foundation
import PackagePlugin

/// Declares `PathProbeVersion` in the target it is applied to (PathProbeCore) from the repository:
/// before every build it runs `scripts/version.sh --swift`, which asks `git describe` and rewrites the
/// generated file only when the version changed (so an unchanged tree rebuilds nothing). A build
/// without git says "dev". SwiftPM runs prebuild commands unsandboxed on Linux, so git may run.
@main
struct PathProbeVersionPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "Generated")
        let script = context.package.directoryURL.appending(path: "scripts/version.sh")
        return [
            .prebuildCommand(
                displayName: "PathProbeVersion from git describe",
                executable: URL(filePath: "/bin/bash"),
                arguments: [
                    script.path(percentEncoded: false), "--swift",
                    output.appending(path: "PathProbeVersion.swift").path(percentEncoded: false),
                ],
                outputFilesDirectory: output
            )
        ]
    }
}

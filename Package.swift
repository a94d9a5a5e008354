// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "atom-hub",
    products: [
        .executable(name: "atom-hub", targets: ["Host"]),
        .library(name: "PluginAPI", targets: ["PluginAPI"]),
        .library(name: "Plugins", targets: ["Plugins"]),
        .library(name: "PluginTesting", targets: ["PluginTesting"]),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "CLinux"),
        .target(name: "PluginAPI", dependencies: ["COpenSSL"]),
        .target(name: "Plugins", dependencies: ["PluginAPI"]),
        .target(name: "PluginTesting", dependencies: ["PluginAPI"]),
        .executableTarget(
            name: "Host",
            dependencies: ["PluginAPI", "Plugins", "CSQLite", "COpenSSL", "CLinux"]
        ),
        .testTarget(name: "PluginAPITests", dependencies: ["PluginAPI"]),
        .testTarget(
            name: "HostTests",
            dependencies: ["Host", "PluginAPI", "Plugins", "PluginTesting", "COpenSSL"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

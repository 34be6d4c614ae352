import Foundation
import NIOConcurrencyHelpers
import TestSupport

/// The folder of certificates Peers/make-certs.sh makes with the openssl command, once per
/// test run (see the script for what is in it).
func testCertificates() async throws -> String {
    if let folder = madeCertificates.withLockedValue({ $0 }) { return folder }
    let folder = try await offPool { () throws -> String in
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("floe-certs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [peersFolder.appendingPathComponent("make-certs.sh").path, folder.path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "make-certs.sh failed"])
        }
        return folder.path
    }
    return madeCertificates.withLockedValue { made in
        if made == nil { made = folder }
        return made ?? folder
    }
}

private let madeCertificates = NIOLockedValueBox<String?>(nil)

/// The IceSSL properties of a side presenting certificate `name` (nil: none), trusting ca.pem.
func tlsProperties(_ folder: String, _ name: String?, _ more: [String: String] = [:]) -> [String: String] {
    var properties = ["IceSSL.DefaultDir": folder, "IceSSL.CAs": "ca.pem"]
    if let name {
        properties["IceSSL.CertFile"] = "\(name).pem"
        properties["IceSSL.KeyFile"] = "\(name).key"
    }
    return properties.merging(more) { $1 }
}

/// The DER bytes of the (first) certificate in a PEM file of the folder.
func pemDER(_ folder: String, _ name: String) throws -> [UInt8] {
    let pem = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
    let body = pem.components(separatedBy: "-----END CERTIFICATE-----")[0]
        .split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    guard let der = Data(base64Encoded: body) else {
        throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "\(name) is not PEM"])
    }
    return Array(der)
}

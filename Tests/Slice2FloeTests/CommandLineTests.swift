import Foundation
import Testing

/// slice2floe as Makefiles and scripts written for ZeroC's compilers call it (issue 14): the
/// built binary, run as a process.
@Suite("slice2floe command line")
struct CommandLineTests {
    @Test func aGluedIncludeOfZeroCsSliceDirectoryCompiles() async throws {
        // `-I/usr/share/…` once printed the help (the `h` of `share`) and exited 0.
        let dir = try Scratch()
        try dir.write(
            "Hello.ice",
            "#include <Ice/Identity.ice>\nmodule Demo { interface Hello { void greet(Ice::Identity id); } }\n")
        let run = try await slice2floe(["-I/usr/share/ice/slice", "Hello.ice"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stdout.contains("USAGE"))
        #expect(dir.exists("Hello.swift"))
    }

    @Test(arguments: [
        ["-Iinc dir", "-DLEVEL=2", "-DWITH_X", "-U__SLICE2FLOE__"],
        ["-I", "inc dir", "-D", "LEVEL=2", "-D", "WITH_X", "-U", "__SLICE2FLOE__"],
        ["-Inowhere", "-I", "inc dir", "-Iinc dir", "-DLEVEL=1", "-DLEVEL=2", "-D", "WITH_X", "-U__SLICE2FLOE__"],
    ])
    func gluedSeparatedAndRepeatedOptionsMeanTheSame(options: [String]) async throws {
        let dir = try Scratch()
        try dir.write("inc dir/Shared.ice", "module Shared { struct Point { int x; int y; } }\n")
        try dir.write(
            "Main.ice",
            """
            #include <Shared.ice>
            module Main {
            #if defined(WITH_X) && LEVEL == 2
                interface WithX { Shared::Point where(); }
            #endif
            #ifdef __SLICE2FLOE__
                interface Undefined {}
            #endif
            }

            """)
        let run = try await slice2floe(options + ["--output-dir", "out dir", "Main.ice"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let swift = try dir.read("out dir/Main.swift")
        #expect(swift.contains("WithXPrx"))
        #expect(!swift.contains("UndefinedPrx"))
    }

    /// Two Slice files with one name in one Swift module (ZeroC's IceGrid/Session.ice and
    /// Glacier2/Session.ice): `--swift-name` names their Swift files and loaders apart, and a
    /// file including one refers to its loader by that name. (The build plugin passes it.)
    @Test func swiftNameSeparatesSliceFilesWithOneName() async throws {
        let dir = try Scratch()
        try dir.write("a/S.ice", "#pragma once\nmodule A { class Shape { int id; } }\n")
        try dir.write("b/S.ice", "#pragma once\nmodule B { exception Broken { string why; } }\n")
        try dir.write(
            "Main.ice",
            "#include <a/S.ice>\n#include <b/S.ice>\nmodule M { interface I { A::Shape get() throws B::Broken; } }\n")
        let names = ["--swift-name", "a/S.ice=a_S", "--swift-name", "b/S.ice=b_S"]
        let common = ["-I.", "--module-name", "App"] + names
        for file in ["a/S.ice", "b/S.ice", "Main.ice"] {
            let run = try await slice2floe(common + [file], in: dir)
            #expect(run.status == 0, "\(run.stderr)")
        }
        #expect(try dir.read("a_S.swift").contains("public struct a_S_SliceLoader"))
        #expect(try dir.read("b_S.swift").contains("public struct b_S_SliceLoader"))
        // (Main defines no class or exception: it registers only the loaders of its includes.)
        #expect(try dir.read("Main.swift").contains("register(a_S_SliceLoader(), b_S_SliceLoader())"))
        let bad = try await slice2floe(["--swift-name", "a/S.ice=not-a-name", "a/S.ice"], in: dir)
        #expect(bad.status != 0 && bad.stderr.contains("--swift-name takes SLICE=NAME"))
    }

    @Test func aGroupedShortOptionIsNeverHelp() async throws {
        let dir = try Scratch()
        try dir.write("A.ice", "module A { interface I {} }\n")
        let run = try await slice2floe(["-Ih", "A.ice"], in: dir)
        #expect(run.status == 0 && !run.stdout.contains("USAGE"), "\(run.stdout)\(run.stderr)")
        #expect(try await slice2floe(["-h"], in: dir).stdout.contains("USAGE"))
        // On stderr, as ZeroC's compilers print it and CMake's FindIce reads it.
        for flag in ["-v", "--version"] {
            let version = try await slice2floe([flag], in: dir)
            #expect(version.status == 0 && version.stdout.isEmpty && version.stderr.hasPrefix("slice2floe "))
        }
    }

    @Test(arguments: [
        (["--dll-export", "X", "A.ice"], "--dll-export is not supported by slice2floe"),
        (["--include-dir=x", "A.ice"], "--include-dir is not supported by slice2floe"),
        (["--bogus", "A.ice"], "Unknown option '--bogus'"),
        ([String](), "no input file"),
        (["--depend", "--depend-xml", "A.ice"], "--depend, --depend-json and --depend-xml exclude each other"),
        (["--underscore", "A.ice"], "put [[\"underscore\"]] at the top of the Slice files"),
        (["--validate"], "no input file"),
        (["--diagnostics-format", "xml", "A.ice"], "--diagnostics-format must be text or json"),
    ])
    func usageErrorsAreOneLineAndFail(arguments: [String], message: String) async throws {
        let dir = try Scratch()
        try dir.write("A.ice", "module A { interface I {} }\n")
        let run = try await slice2floe(arguments, in: dir)
        #expect(run.status == 1)
        #expect(run.stderr.hasPrefix("slice2floe: error: "))
        #expect(run.stderr.split(separator: "\n").count == 1 && run.stderr.contains(message), "\(run.stderr)")
        #expect(!dir.exists("A.swift"))
    }

    @Test func validateChecksTheCommandLineOnly() async throws {
        let dir = try Scratch()
        #expect(try await slice2floe(["--validate", "-Ix", "-DY", "A.ice"], in: dir).status == 0)
        #expect(try await slice2floe(["--validate", "--bogus"], in: dir).status == 1)
    }

    @Test func dependenciesInMakeAndJSONForm() async throws {
        let dir = try Scratch()
        try dir.write("inc/B.ice", "module B { struct S { int x; } }\n")
        try dir.write("A.ice", "#include <B.ice>\nmodule A { interface I { B::S get(); } }\n")
        let make = try await slice2floe(["-Iinc", "--output-dir", "gen", "--depend", "A.ice"], in: dir)
        #expect(make.status == 0 && make.stdout == "A.swift: \\\n A.ice \\\n inc/B.ice\n", "\(make.stdout)")
        let json = try await slice2floe(["-Iinc", "--depend-json", "--depend-file", "deps.json", "A.ice"], in: dir)
        #expect(json.status == 0 && json.stdout.isEmpty)
        let object = try JSONSerialization.jsonObject(with: Data(try dir.read("deps.json").utf8)) as? [String: [String]]
        #expect(object == ["A.ice": ["inc/B.ice"]])
        #expect(!dir.exists("gen/A.swift"), "--depend generates nothing")
    }

    /// ZeroC's SwiftPM plugin reads `--depend-xml`; a Makefile may pass `--depend-file` to every
    /// run, which ZeroC's compilers ignore when they generate code.
    @Test func dependenciesInZeroCsXMLForm() async throws {
        let dir = try Scratch()
        try dir.write("inc/B.ice", "module B { struct S { int x; } }\n")
        try dir.write("A.ice", "#include \"inc/B.ice\"\nmodule A { interface I { B::S get(); } }\n")
        try dir.write("C&D.ice", "module C { }\n")
        let xml = try await slice2floe(["--depend-xml", "A.ice", "C&D.ice"], in: dir)
        let b = dir.url.appendingPathComponent("inc/B.ice").standardizedFileURL.path
        #expect(xml.status == 0)
        #expect(
            xml.stdout == """
                <?xml version="1.0" encoding="UTF-8"?>
                <dependencies>
                  <source name="A.ice">
                    <dependsOn name="\(b)"/>
                  </source>
                  <source name="C&amp;D.ice">
                  </source>
                </dependencies>

                """, "\(xml.stdout)")
        let generating = try await slice2floe(["--depend-file", "deps", "A.ice"], in: dir)
        #expect(generating.status == 0 && dir.exists("A.swift") && !dir.exists("deps"), "\(generating.stderr)")
    }

    /// Two Slice files with one base name would write one Swift file: ZeroC's compilers keep the
    /// second silently; slice2floe says so and names the fix.
    @Test func twoSliceFilesForOneSwiftFileAreAnError() async throws {
        let dir = try Scratch()
        try dir.write("a/Types.ice", "module X { struct S { int x; } }\n")
        try dir.write("b/Types.ice", "module Y { struct S { int y; } }\n")
        let run = try await slice2floe(["a/Types.ice", "b/Types.ice"], in: dir)
        #expect(run.status == 1)
        #expect(
            run.stderr
                == "slice2floe: error: b/Types.ice and a/Types.ice would both generate ./Types.swift: name one with --swift-name b/Types.ice=NAME\n",
            "\(run.stderr)")
        #expect(dir.exists("Types.swift"), "the first file's Swift is written")
        #expect(
            try await slice2floe(["--swift-name", "b/Types.ice=YTypes", "a/Types.ice", "b/Types.ice"], in: dir).status
                == 0)
        #expect(dir.exists("YTypes.swift"))
    }

    /// A file-system failure is one line in the system's words, and the other files still compile.
    @Test func unwritableOutputIsOneLineAndTheRestCompiles() async throws {
        let dir = try Scratch()
        try dir.write("A.ice", "module A { interface I {} }\n")
        try dir.write("blocked", "a file where a directory should be\n")
        let run = try await slice2floe(["--output-dir", "blocked/gen", "A.ice"], in: dir)
        #expect(run.status == 1)
        #expect(
            run.stderr == "slice2floe: error: cannot create the output directory 'blocked/gen': 'blocked' is a file\n",
            "\(run.stderr)")
        let json = try await slice2floe(
            ["--diagnostics-format", "json", "--output-dir", "blocked/gen", "A.ice"], in: dir)
        #expect(json.status == 1)
        #expect(json.stderr.hasPrefix("{") && json.stderr.contains("\"code\":\"file-system\""), "\(json.stderr)")
        let missing = try await slice2floe(["Missing.ice", "A.ice"], in: dir)
        #expect(
            missing.status == 1 && missing.stderr == "slice2floe: error: cannot open 'Missing.ice'\n",
            "\(missing.stderr)")
        #expect(dir.exists("A.swift"))
    }

    @Test func allGeneratesIncludedFilesToo() async throws {
        let dir = try Scratch()
        try dir.write("B.ice", "module B { struct S { int x; } }\n")
        try dir.write(
            "A.ice", "#include <B.ice>\n#include <Ice/Identity.ice>\nmodule A { interface I { B::S get(); } }\n")
        let run = try await slice2floe(["-I.", "-I/usr/share/ice/slice", "--all", "A.ice"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(dir.exists("A.swift") && dir.exists("B.swift"))
        #expect(!dir.exists("Identity.swift"), "ZeroC's Ice types are the runtime's")
    }

    /// With --all, an included file that fails when compiled on its own (it uses a macro the
    /// including file defines) is reported, and no Swift is written for it.
    @Test func allReportsAnIncludedFileThatFailsAlone() async throws {
        let dir = try Scratch()
        try dir.write("B.ice", "module B { struct S { COUNT x; } }\n")
        try dir.write("A.ice", "#define COUNT int\n#include \"B.ice\"\nmodule A { interface I { B::S get(); } }\n")
        let run = try await slice2floe(["--all", "A.ice"], in: dir)
        #expect(run.status == 1)
        #expect(run.stderr.contains("B.ice:1:"), "\(run.stderr)")
        #expect(dir.exists("A.swift") && !dir.exists("B.swift"))
    }

    @Test func preprocessingOnlyPrintsTheSource() async throws {
        let dir = try Scratch()
        try dir.write("A.ice", "#define NAME Renamed\nmodule NAME { }\n")
        let run = try await slice2floe(["-E", "A.ice"], in: dir)
        #expect(run.status == 0 && run.stdout.contains("module Renamed"), "\(run.stdout)")
        #expect(run.stdout.hasPrefix("#line 2 \"A.ice\"\n"), "\(run.stdout)")
        #expect(!dir.exists("A.swift"))
        // Its output compiles again, as ZeroC's compilers' does.
        try dir.write("P.ice", run.stdout)
        let again = try await slice2floe(["P.ice"], in: dir)
        #expect(again.status == 0 && dir.exists("P.swift"), "\(again.stderr)")
    }

    /// Swift the generator cannot write is reported by slice2floe, not left to the Swift build:
    /// an Ice type Floe does not provide (here from ZeroC's own Slice folder), and two types of
    /// different top-level modules that would share one Swift name in one module.
    @Test func problemsOfTheGeneratedSwiftAreCompilerErrors() async throws {
        let dir = try Scratch()
        try dir.write(
            "Admin.ice", "#include <Ice/RemoteLogger.ice>\nmodule M { interface I { Ice::LogMessage get(); } }\n")
        let admin = try await slice2floe(["-I/usr/share/ice/slice", "Admin.ice"], in: dir)
        #expect(admin.status == 1)
        #expect(
            admin.stderr.contains(
                "Admin.ice:2:26: error: 'Ice::LogMessage' is not provided by Floe, whose runtime has the Ice types of its own Slice/Ice files"
            ), "\(admin.stderr)")
        try dir.write("Twice.ice", "module A { class C {} }\nmodule B { class C {} }\n")
        let twice = try await slice2floe(["--module-name", "App", "Twice.ice"], in: dir)
        #expect(twice.status == 1)
        #expect(
            twice.stderr.contains("Twice.ice:2:18: error: 'B::C' and 'A::C' are both 'App.C' in Swift"),
            "\(twice.stderr)")
        // Without --module-name each top-level module is a Swift module of its own (ZeroC's
        // mapping), but one file's Swift is in one module: as slice2swift, refused.
        let apart = try await slice2floe(["Twice.ice"], in: dir)
        #expect(apart.status == 1)
        #expect(
            apart.stderr.contains(
                "Twice.ice:2:8: error: module 'B' maps to Swift module 'B', but this file's Swift goes into 'A' (its first module's)"
            ), "\(apart.stderr)")
        #expect(!dir.exists("Admin.swift"))
    }

    /// Each golden invalid file's diagnostics, as JSON lines, say exactly what its `.err` says.
    /// Names the generated Swift gives its own members are errors, not Swift that fails to
    /// compile; a file name that is no Swift identifier still names a usable loader.
    @Test func reservedMemberNamesAndOddFileNames() async throws {
        let dir = try Scratch()
        try dir.write("Bad.ice", "module G { enum E { a, allCases } struct S { int rawEncodedSize; } }\n")
        let bad = try await slice2floe(["Bad.ice"], in: dir)
        #expect(bad.status == 1)
        #expect(
            bad.stderr.contains("Bad.ice:1:24: error: enumerator 'allCases' is a member that Floe's generated Swift"),
            "\(bad.stderr)")
        #expect(bad.stderr.contains("Bad.ice:1:50: error: member 'rawEncodedSize'"), "\(bad.stderr)")
        try dir.write("my-types.ice", "module H { class C { int v; } }\n")
        try dir.write("2fa.v1.ice", "module K { class D { int v; } }\n")
        #expect(try await slice2floe(["my-types.ice", "2fa.v1.ice"], in: dir).status == 0)
        #expect(try dir.read("my-types.swift").contains("public struct my_types_SliceLoader: FloeEncoding.SliceLoader"))
        #expect(try dir.read("2fa.v1.swift").contains("public struct _2fa_v1_SliceLoader: FloeEncoding.SliceLoader"))
        // Two file names one loader name apart.
        try dir.write("my_types.ice", "module J { class E { int v; } }\n")
        let twice = try await slice2floe(["my-types.ice", "my_types.ice"], in: dir)
        #expect(twice.status == 1)
        #expect(
            twice.stderr.contains("my_types.ice and my-types.ice would both define my_types_SliceLoader"),
            "\(twice.stderr)")
        // An includer names an included file's loader as that file's own Swift names it, whatever
        // its extension.
        try dir.write("ext/Base.ICE", "module Q { exception QE {} }\n")
        try dir.write("User.ice", "#include \"ext/Base.ICE\"\nmodule U { interface I { void f() throws Q::QE; } }\n")
        #expect(try await slice2floe(["ext/Base.ICE", "User.ice"], in: dir).status == 0)
        #expect(try dir.read("Base.swift").contains("public struct Base_SliceLoader"))
        #expect(try dir.read("User.swift").contains("Base_SliceLoader()"))
        // Swift and Foundation name the modules standard types are qualified with.
        try dir.write("Mods.ice", "module W { struct Swift { int v; } enum F { Foundation } }\n")
        let modules = try await slice2floe(["Mods.ice"], in: dir)
        #expect(modules.status == 1)
        #expect(modules.stderr.contains("Mods.ice:1:19: error: 'Swift' names a module"), "\(modules.stderr)")
        #expect(modules.stderr.contains("'Foundation' names a module"), "\(modules.stderr)")
    }

    @Test func jsonDiagnosticsCarryWhatTheTextSays() async throws {
        let inputs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SliceParserTests/Inputs/diagnostics")
        let names = try FileManager.default.contentsOfDirectory(atPath: inputs.path).filter { $0.hasSuffix(".ice") }
            .sorted()
        #expect(names.count >= 60)
        let output = try Scratch()
        for name in names {
            let run = try await slice2floe(
                ["--diagnostics-format", "json", "--output-dir", output.url.path, name], at: inputs)
            let expected = try String(
                contentsOf: inputs.appendingPathComponent(String(name.dropLast(4)) + ".err"), encoding: .utf8)
            let objects = run.stderr.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            #expect(objects.count == run.stderr.split(separator: "\n").count, "\(name): a line is not JSON")
            let text = objects.map(Self.text).joined()
            #expect(text.trimmingCharacters(in: .newlines) == expected.trimmingCharacters(in: .newlines), "\(name)")
            let hasError = objects.contains { $0["severity"] as? String == "error" }
            #expect(run.status == (hasError ? 1 : 0), "\(name)")
        }
    }

    /// The `file:line:col: severity: message` form of a JSON diagnostic, notes after it.
    private static func text(_ object: [String: Any]) -> String {
        var line = ""
        if let file = object["file"] as? String, let l = object["line"] as? Int, let c = object["column"] as? Int {
            line = "\(file):\(l):\(c): "
        }
        line += "\(object["severity"] as? String ?? "?"): \(object["message"] as? String ?? "?")\n"
        let notes = object["notes"] as? [[String: Any]] ?? []
        return line + notes.map(text).joined()
    }
}

import FloeCore
import FloeEncoding
import FloeProtocol
import Foundation
import Testing

@Suite("Properties")
struct PropertiesTests {
    @Test func configFilesAndOverrides() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("floe-\(UUID()).cfg")
        try """
        # a comment
        Ice.MessageSizeMax = 2048
        Ice.RetryIntervals=0 100 500   # trailing comment
        Greeter.Endpoints = tcp -h 127.0.0.1 -p 0
        Odd.Value = a\\=b \\# not a comment
        Empty =
        """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let (properties, remaining) = try Properties.parse(
            arguments: [
                "demo", "--Ice.Config=\(file.path)", "--Ice.MessageSizeMax=4096", "--verbose", "--Other.X=1",
                "--Ice.Trace.Network",
            ])
        #expect(remaining == ["demo", "--verbose", "--Other.X=1"])
        #expect(properties["Ice.Trace.Network"] == "1", "a bare --Ice.X means 1, as in Ice")
        #expect(try properties.int("Ice.MessageSizeMax", default: 0) == 4096, "the command line overrides the file")
        #expect(try properties.ints("Ice.RetryIntervals", default: []) == [0, 100, 500])
        #expect(properties["Greeter.Endpoints"] == "tcp -h 127.0.0.1 -p 0")
        #expect(properties["Odd.Value"] == "a=b # not a comment")
        #expect(properties["Empty"] == nil)
    }

    /// As in Ice: without `--Ice.Config`, the files `ICE_CONFIG` lists; with it, only its own.
    @Test func iceConfigInTheEnvironmentNamesFilesWhenTheCommandLineDoesNot() throws {
        let directory = FileManager.default.temporaryDirectory
        let first = directory.appendingPathComponent("floe-\(UUID()).cfg")
        let second = directory.appendingPathComponent("floe-\(UUID()).cfg")
        try "Hello.Endpoints=tcp -p 10000\nIce.MessageSizeMax=64\n".write(to: first, atomically: true, encoding: .utf8)
        try "Ice.MessageSizeMax=128\n".write(to: second, atomically: true, encoding: .utf8)
        defer {
            try? FileManager.default.removeItem(at: first)
            try? FileManager.default.removeItem(at: second)
        }
        let environment = ["ICE_CONFIG": "\(first.path),\(second.path)"]
        let (fromEnvironment, _) = try Properties.parse(
            arguments: ["--Ice.Trace.Network=1"], environment: environment)
        #expect(fromEnvironment["Hello.Endpoints"] == "tcp -p 10000")
        #expect(fromEnvironment["Ice.MessageSizeMax"] == "128", "later files override earlier ones")
        #expect(fromEnvironment["Ice.Trace.Network"] == "1")
        // `--Ice.Config` alone means ICE_CONFIG's files, as in Ice (not a file named "1").
        let (bare, _) = try Properties.parse(arguments: ["--Ice.Config"], environment: environment)
        #expect(bare["Hello.Endpoints"] == "tcp -p 10000")
        let (fromArguments, _) = try Properties.parse(
            arguments: ["--Ice.Config=\(second.path)"], environment: environment)
        #expect(fromArguments["Hello.Endpoints"] == nil && fromArguments["Ice.MessageSizeMax"] == "128")
    }

    /// Command-line values are read as config-file lines are, as ZeroC reads them (`#` starts a
    /// comment, `\#` and `\\` escape); ZeroC's other namespaces are taken, an application's
    /// prefixes add to them. (Values were only trimmed: a password with `\#` kept its backslash.)
    @Test func commandLineOptionsReadAsZeroCReadsThem() throws {
        let (properties, remaining) = try Properties.parse(
            arguments: [
                "--Ice.Default.Host=a#b", ##"--IceSSL.Password=p\#w"##, ##"--App.Path=C:\\dir"##,
                "--IceGrid.InstanceName=Grid", "--IceStorm.Flush.Timeout=5", "--App.Name = spaced ", "--Other.X=1",
            ], prefixes: Properties.reservedPrefixes + ["App"], environment: [:])
        #expect(properties["Ice.Default.Host"] == "a")
        #expect(properties["IceSSL.Password"] == "p#w")
        #expect(properties["App.Path"] == ##"C:\dir"##)
        #expect(properties["App.Name"] == "spaced")
        #expect(properties["IceGrid.InstanceName"] == "Grid")
        #expect(remaining == ["--IceStorm.Flush.Timeout=5", "--Other.X=1"], "IceStorm is not reserved in ZeroC either")
    }

    /// File lists as ZeroC reads them: blanks around names dropped, quotes keep commas; only the
    /// last `--Ice.Config` counts, one that is empty means ICE_CONFIG's files, and `Ice.Config`
    /// names the files read. (" b.cfg" was not found; both options' files were read.)
    @Test func configFileListsReadAsZeroCReadsThem() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("floe-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = directory.appendingPathComponent("a.cfg")
        let second = directory.appendingPathComponent("with, comma.cfg")
        try "A.From=first\nA.Only=first\n".write(to: first, atomically: true, encoding: .utf8)
        try "A.From=second\n".write(to: second, atomically: true, encoding: .utf8)
        let list = "\(first.path) , \"\(second.path)\""
        let (listed, _) = try Properties.parse(arguments: [], environment: ["ICE_CONFIG": list])
        #expect(listed["A.From"] == "second" && listed["A.Only"] == "first")
        #expect(listed["Ice.Config"] == list, "as given, as in Ice")
        let (empty, _) = try Properties.parse(arguments: ["--Ice.Config="], environment: ["ICE_CONFIG": list])
        #expect(empty["A.Only"] == "first", "an empty --Ice.Config means ICE_CONFIG's files")
        let (last, _) = try Properties.parse(
            arguments: ["--Ice.Config=\(first.path)", "--Ice.Config='\(second.path)'"], environment: [:])
        #expect(last["A.From"] == "second" && last["A.Only"] == nil, "only the last --Ice.Config counts")
        #expect(throws: LocalError.self, "--Ice.Config alone with no ICE_CONFIG names no file") {
            try Properties.parse(arguments: ["--Ice.Config"], environment: [:])
        }
    }

    /// A config file that is not UTF-8 (a Latin-1 comment or value, as Windows editors write
    /// them) is read, as ZeroC reads it; one that cannot be read says why. (It was refused as
    /// "cannot read config file", the same words as for a missing one.)
    @Test func aLatin1ConfigFileIsReadAndAMissingOneSaysWhy() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("floe-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("latin1.cfg")
        try Data("# caf\u{E9}\nA.Name=caf".utf8 + [0xE9] + Data("\n".utf8)).write(to: file)
        var properties = Properties()
        try properties.load(contentsOf: file.path)
        #expect(properties["A.Name"] == "caf\u{E9}")
        // A UTF-8 byte-order mark, then a Latin-1 byte: the mark is no part of the first name.
        try (Data([0xEF, 0xBB, 0xBF]) + Data("B.First=1\nB.Name=caf".utf8) + [0xE9]).write(to: file)
        try properties.load(contentsOf: file.path)
        #expect(properties["B.First"] == "1" && properties["B.Name"] == "caf\u{E9}")
        for (path, reason) in [
            (directory.appendingPathComponent("none.cfg").path, "no such file"), (directory.path, "a folder"),
        ] {
            #expect { try properties.load(contentsOf: path) } throws: { error in
                (error as? LocalError)?.message.contains(reason) == true
            }
        }
    }

    /// An Ice 3.8 connect timeout too large to be milliseconds is no limit, not a crash (the
    /// multiplication trapped).
    @Test func aHugeConnectTimeoutIsNoLimit() throws {
        var properties = Properties()
        properties["Ice.Connection.Client.ConnectTimeout"] = "9223372036854776"
        #expect(try Communicator(properties: properties).connectionOptions.connectTimeout == -1)
    }

    @Test func communicatorSettingsComeFromProperties() throws {
        var properties = Properties()
        properties["Ice.MessageSizeMax"] = "64"
        properties["Ice.Default.InvocationTimeout"] = "250"
        properties["Ice.RetryIntervals"] = "-1"
        let communicator = try Communicator(properties: properties)
        #expect(communicator.messageSizeMax == 64 * 1024)
        #expect(communicator.defaultInvocationTimeout == 250)
        #expect(communicator.retryIntervals.isEmpty)
        // As in Ice: a leading -1 turns retries off whatever follows; other negatives are 0.
        properties["Ice.RetryIntervals"] = "-1 100"
        #expect(try Communicator(properties: properties).retryIntervals.isEmpty)
        properties["Ice.RetryIntervals"] = "0 -5 100"
        #expect(try Communicator(properties: properties).retryIntervals == [0, 0, 100])
    }

    /// `Ice.Default.Timeout` is the `-t` of endpoints that give none, in proxies and in what
    /// adapters listen on and publish, as in Ice (where it bounds connecting too).
    @Test func theDefaultTimeoutIsTheEndpointsTimeout() async throws {
        var properties = Properties()
        properties["Ice.Default.Timeout"] = "5000"
        let communicator = try Communicator(properties: properties)
        let proxy = try #require(try communicator.stringToProxy("x:tcp -h h -p 1:tcp -h h -p 2 -t 100"))
        #expect(proxy.description == "x -t -e 1.1:tcp -h h -p 1 -t 5000:tcp -h h -p 2 -t 100")
        for bad in ["0", "-5"] {
            properties["Ice.Default.Timeout"] = bad
            #expect(throws: LocalError.self) { try Communicator(properties: properties) }
        }
        let plain = try #require(try Communicator(properties: Properties()).stringToProxy("x:tcp -h h -p 1"))
        #expect(plain.description == "x -t -e 1.1:tcp -h h -p 1 -t 60000")
    }

    /// Ice 3.8's connection properties are read too (seconds; one value for both sides where
    /// Floe has one), and not reported as unknown.
    @Test func ice38ConnectionPropertiesAreRead() throws {
        var properties = Properties()
        properties["Ice.Connection.Client.ConnectTimeout"] = "2"
        properties["Ice.Connection.Server.MaxDispatches"] = "5"
        properties["Ice.Connection.Server.CloseTimeout"] = "7"
        properties["Ice.Connection.Server.InactivityTimeout"] = "30"
        #expect(properties.unknownIceProperties.isEmpty)
        let options = try Communicator(properties: properties).connectionOptions
        #expect(options.connectTimeout == 2_000)
        #expect(options.maxDispatches == 5)
        #expect(options.closeTimeout == 7)
        #expect(options.inactivityTimeout == 30)
    }

    /// ACM's close rules default to Ice 3.7's (what a ZeroC 3.7.8 Python peer's `getACM()`
    /// reports: clients on invocation and idle, servers on invocation), and the properties
    /// override them, per side or both at once.
    @Test(arguments: [
        ([:], ACMClose.onInvocationAndIdle, ACMClose.onInvocation),
        (["Ice.ACM.Server.Close": "0"], .onInvocationAndIdle, .off),
        (["Ice.ACM.Close": "1"], .onIdle, .onIdle),
        (["Ice.ACM.Close": "1", "Ice.ACM.Client.Close": "4"], .onIdleForceful, .onIdle),
    ])
    func acmCloseRules(set: [String: String], client: ACMClose, server: ACMClose) throws {
        var properties = Properties()
        for (name, value) in set { properties[name] = value }
        let options = try Communicator(properties: properties).connectionOptions
        #expect(options.clientClose == client)
        #expect(options.serverClose == server)
    }

    /// Lines as ZeroC's properties read them (the expected values are what ZeroC 3.7.8's Python
    /// `Properties.load` read from the same file), in a file written on Windows.
    @Test func configLinesReadAsZeroCReadsThem() throws {
        let lines = [
            "A.Name = plain value  ", ##"B.Lead=\ \ two leading"##, ##"C.Trail = trailing\ \ "##,
            ##"D.Inner = a \  b"##,
            ##"E.Hash = x \# y # comment"##, ##"F.Eq = k\=v=w"##, ##"G.Back = c:\\dir\\file"##, ##"H.Other = a\tb"##,
            "  J.Spaced Name  = v", "# comment line", "", "K.Empty =",
        ]
        var properties = Properties()
        try properties.load(text: lines.joined(separator: "\r\n") + "\r\n")
        #expect(
            properties.withPrefix("") == [
                "A.Name": "plain value", "B.Lead": "  two leading", "C.Trail": "trailing  ", "D.Inner": "a   b",
                "E.Hash": "x # y", "F.Eq": "k=v=w", "G.Back": ##"c:\dir\file"##, "H.Other": ##"a\tb"##,
                "J.Spaced Name": "v",
            ])
        #expect(throws: LocalError.self) { try properties.load(text: "=value without a name") }
    }

    @Test func badValuesAreErrors() throws {
        var properties = Properties()
        properties["Ice.MessageSizeMax"] = "lots"
        #expect(throws: LocalError.self) { try Communicator(properties: properties) }
        // Values ZeroC reads as "off" or "no limit" where Floe would lose a bound or a check
        // without a word: refused with the reason.
        for (name, value) in [
            ("Ice.ACM.Timeout", "-5"), ("Ice.ACM.Server.Timeout", "-1"), ("Ice.ClassGraphDepthMax", "0"),
            // Read where a failure cannot be reported: checked up front instead of taken as 0.
            ("Ice.BackgroundLocatorCacheUpdates", "yes"), ("Ice.PrintAdapterReady", "on"),
            ("Ice.Default.LocatorCacheTimeout", "forever"),
        ] {
            var odd = Properties()
            odd[name] = value
            #expect { try Communicator(properties: odd) } throws: { error in
                (error as? LocalError)?.message.contains(name) == true
            }
        }
        var empty = Properties()
        #expect(throws: LocalError.self) { try empty.load(text: "no separator here") }
        #expect(throws: LocalError.self) { try Properties.parse(arguments: ["--Ice.Config=/nonexistent/x.cfg"]) }
    }
}

import SliceAST
import SliceParser
import SliceSwiftGen
import Testing

/// Naming rules checked on small units: module mapping and prefixes, nested modules,
/// keyword escaping, literals and doc comments.
@Suite("Generator naming and snippets")
struct NamingTests {
    private func generate(_ source: String) -> String {
        let result = SliceCompiler.compile(source: source)
        #expect(!result.diagnostics.hasErrors, "\(result.diagnostics.map(\.description))")
        return SwiftGenerator(unit: result.unit).generate(fileName: "input.swift", sourcePath: "input.ice").contents
    }

    @Test func swiftModuleMetadataPrefixesTypesAndNestedModulesFlatten() {
        let text = generate(
            """
            ["swift:module:NestKit:NK"] module Outer { module Inner { struct S { int x; } interface Hello {} } struct T { Inner::S s; } }
            """)
        #expect(text.contains("public struct NKInnerS: Swift.Hashable, Swift.Sendable {"))
        #expect(text.contains("public struct NKT: Swift.Hashable, Swift.Sendable {"))
        #expect(text.contains("public var s: NKInnerS = NKInnerS()"))
        #expect(text.contains("public protocol NKInnerHelloPrx: FloeCore.ObjectPrx {}"))
    }

    @Test func keywordsAreEscapedAndLiteralsAreExact() {
        let text = generate(
            """
            module M { struct \\func { int \\class; string \\var = "a\\tb\\u00e9"; }
                       enum \\Type { \\default, \\case = 3 } const long Min = -9223372036854775808; const float F = 2;
                       const float Big = 1e300; const float Small = -1e300; }
            """)
        #expect(text.contains("public struct `func`: Swift.Hashable, Swift.Sendable {"))
        #expect(text.contains("public var `class`: Swift.Int32 = 0"))
        #expect(text.contains("public var `var`: Swift.String = \"a\\tb\\u{e9}\""))
        #expect(text.contains("case `default` = 0"))
        #expect(text.contains("case `case` = 3"))
        #expect(text.contains("public let Min: Swift.Int64 = Swift.Int64.min"))
        #expect(text.contains("public let F: Swift.Float = 2.0"))
        #expect(text.contains("public let Big: Swift.Float = Swift.Float.infinity"))
        #expect(text.contains("public let Small: Swift.Float = -Swift.Float.infinity"))
    }

    @Test func docCommentsBecomeSwiftMarkup() {
        let text = generate(
            """
            module M { interface I {
                /** Finds {@link I#f}.
                 * @param key what to look for
                 * @return the value
                 * @deprecated use g */
                string f(string key); } }
            """)
        #expect(
            text.contains(
                "    /// Finds `I.f`.\n    ///\n    /// - Parameter key: what to look for\n    /// - Returns: the value\n    /// - Note: Deprecated: use g\n    public func f("
            ))
    }

    @Test func operationShapes() {
        let text = generate(
            """
            module M { class C { int v; } interface I {
                void none();
                int one(int a);
                int two(int a, int b, out string c);
                void outs(out int a, out int b);
                optional(2) int opt(optional(1) string s);
                C cls(C c);
            } }
            """)
        #expect(text.contains("public func none(context: FloeProtocol.Context? = nil) async throws {"))
        #expect(
            text.contains(
                "public func one(_ iceP_a: Swift.Int32, context: FloeProtocol.Context? = nil) async throws -> Swift.Int32 {"
            ))
        #expect(
            text.contains(
                "public func two(a iceP_a: Swift.Int32, b iceP_b: Swift.Int32, context: FloeProtocol.Context? = nil) async throws -> (returnValue: Swift.Int32, c: Swift.String) {"
            ))
        #expect(text.contains("async throws -> (a: Swift.Int32, b: Swift.Int32)"))
        #expect(
            text.contains(
                "public func opt(_ iceP_s: Swift.String? = nil, context: FloeProtocol.Context? = nil) async throws -> Swift.Int32? {"
            ))
        #expect(
            text.contains(
                "public func cls(_ iceP_c: sending C?, context: FloeProtocol.Context? = nil) async throws -> sending C? {"
            )
        )
        #expect(
            text.contains(
                "func two(a: Swift.Int32, b: Swift.Int32, current: FloeCore.Current) async throws -> (returnValue: Swift.Int32, c: Swift.String)"
            ))
    }
}

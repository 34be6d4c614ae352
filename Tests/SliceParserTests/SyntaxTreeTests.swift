import SliceAST
import SliceParser
import Testing

/// What constructs parse (and resolve) into, checked on the tree itself.
@Suite("Syntax tree")
struct SyntaxTreeTests {
    private func unit(_ source: String, includes: [String: String] = [:]) throws -> CompilationUnit {
        let result = SliceCompiler.compile(source: source, includes: includes)
        #expect(result.diagnostics.count == 0, "\(result.diagnostics.map(\.description))")
        return result.unit
    }

    private func contents(_ unit: CompilationUnit) throws -> [Definition] {
        guard case .module(let module)? = unit.definitions.first else {
            Issue.record("no module")
            return []
        }
        return module.contents
    }

    @Test func modulesNestAndCarryScopedNames() throws {
        let u = try unit("module A { module B { struct S { int x; } } }\nmodule C::D { const int K = 1; }")
        #expect(u.definitions.count == 2)
        guard case .module(let a) = u.definitions[0], case .module(let b) = a.contents[0],
            case .structDef(let s) = b.contents[0], case .module(let c) = u.definitions[1],
            case .module(let d) = c.contents[0], case .const(let k) = d.contents[0]
        else {
            Issue.record("unexpected shape")
            return
        }
        #expect(a.info.scopedName == "::A" && b.info.scopedName == "::A::B" && s.info.scopedName == "::A::B::S")
        #expect(d.info.scopedName == "::C::D" && k.info.scopedName == "::C::D::K" && k.value == .integer(1))
        #expect(s.info.name.location == SourceLocation(file: "input.ice", line: 1, column: 30))
    }

    @Test func interfacesAndOperations() throws {
        let u = try unit(
            """
            module M
            {
                exception E { string why; }
                interface Base {}
                /** Does things.
                 * @param key what to find
                 * @return the count */
                ["amd"] interface I extends Base
                {
                    ["format:sliced"] idempotent optional(3) int find(string key, optional(1) int hint, out optional(2) string note, out bool ok) throws E;
                    void done();
                }
            }
            """)
        let defs = try contents(u)
        guard case .interfaceDef(let i) = defs[2] else {
            Issue.record("no interface")
            return
        }
        #expect(i.info.metadata.map(\.value) == ["amd"])
        #expect(i.info.doc?.overview == "Does things.")
        #expect(i.info.doc?.parameters == [DocComment.Tag(name: "key", text: "what to find")])
        #expect(i.info.doc?.returns == "the count")
        #expect(i.bases.map(\.resolved) == [.user("::M::Base", .interface)])
        let find = i.operations[0]
        #expect(find.info.name.name == "find" && find.isIdempotent && find.info.hasMetadata("format:sliced"))
        #expect(find.returnType?.resolved == .builtin(.int) && find.returnTag == 3)
        #expect(find.parameters.map(\.info.name.name) == ["key", "hint", "note", "ok"])
        #expect(find.parameters.map(\.isOut) == [false, false, true, true])
        #expect(find.parameters.map(\.tag) == [nil, 1, 2, nil])
        #expect(find.throwsClause.map(\.resolved) == [.user("::M::E", .exception)])
        #expect(i.operations[1].returnType == nil)
    }

    @Test func classesWithCompactIdsOptionalsAndDefaults() throws {
        let u = try unit(
            """
            module M
            {
                enum Color { Red, Green = 5, Blue }
                const int Seven = 7;
                class Shape { string label = "none"; optional(1) int weight; Color c = Blue; }
                class Circle(Seven) extends Shape { double radius = 1; Circle next; Object any; Object* proxy; }
            }
            """)
        let defs = try contents(u)
        guard case .enumDef(let color) = defs[0], case .classDef(let shape) = defs[2],
            case .classDef(let circle) = defs[3]
        else {
            Issue.record("unexpected shape")
            return
        }
        #expect(color.enumerators.map(\.value) == [0, 5, 6] && color.maxValue == 6)
        #expect(
            shape.members.map(\.defaultValue) == [
                .string("none"), nil, .enumerator(enumType: "::M::Color", name: "Blue", value: 6),
            ])
        #expect(shape.members[1].isOptional && shape.members[1].tag == 1)
        #expect(circle.compactId == 7 && circle.base?.resolved == .user("::M::Shape", .class))
        #expect(
            circle.members.map(\.type.resolved) == [
                .builtin(.double), .user("::M::Circle", .class), .builtin(.object), .proxy("::Ice::Object"),
            ])
        #expect(circle.members[0].defaultValue == .float(1))
    }

    @Test func sequencesDictionariesAndProxies() throws {
        let u = try unit(
            """
            module M
            {
                interface Peer;
                struct Key { string a; int b; }
                sequence<["cpp:array"] byte> Bytes;
                dictionary<Key, Peer*> Peers;
                sequence<Object*> Proxies;
            }
            """)
        let defs = try contents(u)
        guard case .forward(let peer) = defs[0], case .sequence(let bytes) = defs[2],
            case .dictionary(let peers) = defs[3], case .sequence(let proxies) = defs[4]
        else {
            Issue.record("unexpected shape")
            return
        }
        #expect(peer.kind == .interface)
        #expect(bytes.element.resolved == .builtin(.byte) && bytes.element.metadata.map(\.value) == ["cpp:array"])
        #expect(peers.key.resolved == .user("::M::Key", .struct) && peers.value.resolved == .proxy("::M::Peer"))
        #expect(proxies.element.resolved == .proxy("::Ice::Object"))
    }

    @Test func localDefinitionsAreKeptAndMarked() throws {
        let u = try unit("module M { local interface Logger { void print(string s); } local struct L { Logger l; } }")
        let defs = try contents(u)
        guard case .interfaceDef(let logger) = defs[0], case .structDef(let l) = defs[1] else {
            Issue.record("unexpected shape")
            return
        }
        #expect(logger.info.isLocal && l.info.isLocal)
        #expect(l.members[0].type.resolved == .user("::M::Logger", .interface))
    }

    @Test func fileMetadataAndIncludeLevels() throws {
        let u = try unit(
            "[[\"underscore\"]]\n#include \"other.ice\"\nmodule M { struct my_s { O::T t; } }",
            includes: ["other.ice": "#pragma once\nmodule O { struct T { int x; } }"])
        #expect(u.files.map(\.path) == ["input.ice", "other.ice"])
        #expect(u.files.map(\.includeLevel) == [0, 1])
        #expect(u.files[0].metadata.map(\.value) == ["underscore"])
        #expect(u.definitions.map(\.info.includeLevel) == [1, 0])
    }
}

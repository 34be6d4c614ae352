/// The command line as ZeroC's compilers (and cpp) take it, turned into one the argument parser
/// reads without surprises.
///
/// `-IDIR`, `-DNAME[=DEF]` and `-UNAME` may be glued: the parser would read
/// `-I/usr/share/ice/slice` as a group of short flags and find the `h` of `share` (help, exit 0,
/// nothing compiled), so glued forms are split first. `-v` is `--version`, as in ZeroC's tools.
/// Options of ZeroC's other compilers that mean nothing for Swift are refused by name, so a
/// Makefile that passes one fails loudly instead of being half obeyed.
enum ZeroCArguments {
    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    /// Options of slice2cpp, slice2java, slice2cs, … that slice2floe does not take, and why.
    static let refused: [String: String] = [
        "--include-dir": "it prefixes #include directives in generated C++ and Objective-C",
        "--dll-export": "it exports C++ symbols from a DLL",
        "--header-ext": "it names C++ header files",
        "--source-ext": "it names C++ source files",
        "--add-header": "it adds #include directives to generated C++",
        "--impl-c++98": "it generates C++ servant skeletons",
        "--impl-c++11": "it generates C++ servant skeletons",
        "--impl": "it generates servant skeletons for other languages",
        "--checksum": "Slice checksums are not supported by Floe",
        "--tie": "it generates Java and C# tie classes",
        "--stream": "it generates stream helpers for other languages",
        "--ice": "put [[\"ice-prefix\"]] at the top of the Slice files that use the Ice prefix (as slice2swift asks)",
        "--underscore":
            "put [[\"underscore\"]] at the top of the Slice files with underscores in identifiers (as slice2swift asks)",
        "--no-package": "it controls Python and Ruby packages",
        "--build-all": "it is a slice2py option",
        "--typescript": "it generates TypeScript declarations",
        "--list-generated": "it lists generated files in XML",
    ]

    /// The arguments with glued short options split and refused options reported.
    static func normalize(_ arguments: [String]) throws -> [String] {
        var result: [String] = []
        var afterTerminator = false
        for argument in arguments {
            if afterTerminator || argument == "--" {
                afterTerminator = true
                result.append(argument)
                continue
            }
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            if let reason = refused[name] {
                throw Refusal(description: "\(name) is not supported by slice2floe: \(reason)")
            }
            if argument == "-v" {
                result.append("--version")
            } else if argument.count > 2, let flag = ["-I", "-D", "-U"].first(where: { argument.hasPrefix($0) }) {
                result += [flag, String(argument.dropFirst(2))]
            } else {
                result.append(argument)
            }
        }
        return result
    }
}

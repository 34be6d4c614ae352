import Floe

// Named like Clash.ice, as a servant's file often is: the plugin then names the generated file
// Clash_ice.swift (two Clash.swift in one target would not build).

/// A servant whose Slice types shadow the runtime's `Value`, `Current` and friends: in this
/// module the runtime's own are written with their module's name.
actor EchoContext: Context {
    func echo(v: sending Value?, c: Current, r: Reply, i: InputStream, current: FloeCore.Current) async throws
        -> sending Value?
    {
        if c.s == "fail" { throw Dispatcher(why: "asked to fail") }
        v?.v += r.code + i.a
        return v
    }
}

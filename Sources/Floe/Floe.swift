// `import Floe`: the runtime, the Ice types Floe provides, and the TCP transport, in one import.
@_exported public import FloeCore
@_exported public import FloeIce
@_exported public import FloeNIO

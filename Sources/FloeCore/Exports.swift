@_exported public import struct FloeEncoding.CompositeSliceLoader
@_exported public import struct FloeEncoding.EncodingVersion
@_exported public import enum FloeEncoding.EndpointData
@_exported public import enum FloeEncoding.FormatType
@_exported public import enum FloeEncoding.GeneratedSliceLoaders
@_exported public import struct FloeEncoding.IPEndpointData
// `import FloeCore` (and `import Floe`) brings the encoding and protocol types applications
// use, one by one. The rest of those layers (streams, messages, frames: `InputStream`,
// `OutputStream`, `Request`, `Reply`, `Message`, `Context`, ...) stays in `FloeEncoding` and
// `FloeProtocol`, which generated code and transports import themselves, so those common names
// do not clash with Foundation's, Hummingbird's or the application's own.
@_exported public import struct FloeEncoding.Identity
@_exported public import typealias FloeEncoding.IdentitySeq
@_exported public import struct FloeEncoding.MarshalError
@_exported public import struct FloeEncoding.ProtocolVersion
@_exported public import class FloeEncoding.SliceInfo
@_exported public import protocol FloeEncoding.SliceLoader
@_exported public import struct FloeEncoding.SliceRegistry
@_exported public import class FloeEncoding.SlicedData
@_exported public import class FloeEncoding.UnknownSlicedValue
@_exported public import protocol FloeEncoding.UserException
@_exported public import class FloeEncoding.Value
@_exported public import enum FloeProtocol.OperationMode
@_exported public import struct FloeProtocol.ReplyStatus
// `Blobject` and `ice_invoke` take and give encapsulations as NIO byte buffers.
@_exported public import struct NIOCore.ByteBuffer

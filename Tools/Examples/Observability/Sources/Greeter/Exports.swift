// The generated Greeter types, and Floe with them, for both executables.
@_exported import Floe

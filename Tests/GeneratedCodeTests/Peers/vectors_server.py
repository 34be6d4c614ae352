# A ZeroC Ice (Python) server for Vectors.ice, for Floe's interop tests.
# Usage: /usr/bin/python3 vectors_server.py SLICE_DIR [PORT]
# Prints the port it listens on (127.0.0.1), then serves until shutdown() is called.
# ping and opIdempotent sleep for the seconds given in the request context key "sleep", so
# tests can have a call outstanding while they break the connection. Both first append their
# name to the file named by the context key "record", if any, so a test can count how many
# times an operation ran, across server restarts.
import sys
import time

import Ice

slice_dir = sys.argv[1]
Ice.loadSlice("--all -I{0} {0}/ServerOnly.ice".format(slice_dir))
import Vectors  # noqa: E402  (created by loadSlice)


def record(current, operation):
    path = current.ctx.get("record")
    if path:
        with open(path, "a") as log:
            log.write(operation + "\n")


class Tester(Vectors.Tester):
    def ping(self, current):
        record(current, "ping")
        time.sleep(float(current.ctx.get("sleep", "0")))

    def opPrimitives(self, b, y, s, i, l, f, d, text, current):
        return ("{0}|{1}|{2}|{3}|{4}|{5}|{6}|{7}".format(b, y, s, i, l, f, d, text), d * 2)

    def opByteSeq(self, seq, current):
        return seq

    def opStruct(self, p, q, current):
        return (Vectors.Point(p.y, p.x), Vectors.Person(q.name.upper(), q.age + 1, Vectors.Color.Blue))

    def opEnum(self, c, s, current):
        return (c, s)

    def opDict(self, d, current):
        return {k: v * 10 for k, v in d.items()}

    def opOptional(self, i, s, p, seq, c, d, current):
        if i is Ice.Unset:
            return (Ice.Unset, Ice.Unset)
        return (i + 1, s)

    def opNode(self, n, current):
        return n

    def opNodeSliced(self, n, current):
        return n

    def opBaseSeq(self, s, current):
        return s

    def opBaseSeqCompact(self, s, current):
        return s

    def opUnknownSlice(self, current):
        return Vectors.Hidden("base-part", 42, "hidden-part")

    def opCompact(self, c, current):
        return Vectors.Compact(c.v + 1)

    def opWithOptional(self, w, current):
        return w

    def opThrow(self, code, current):
        if code == 0:
            raise Vectors.BaseError("base reason")
        raise Vectors.DerivedError("derived reason", code)

    def opThrowSliced(self, code, current):
        if code == 0:
            raise Vectors.BaseError("base reason")
        if code == 1:
            raise Vectors.DerivedError("derived reason", code)
        raise Vectors.HiddenError("hidden reason", code, "extra data")

    def opUndeclared(self, kind, current):
        if kind == 1:
            raise Vectors.OtherError("not declared")
        raise Ice.UnknownException("an unknown exception text")

    def opProxy(self, p1, p2, p3, current):
        return p1

    def opContext(self, key, current):
        return current.ctx.get(key, "")

    def opIdempotent(self, current):
        record(current, "opIdempotent")
        time.sleep(float(current.ctx.get("sleep", "0")))
        return 7

    def opIdempotentFail(self, current):
        raise Ice.UnknownLocalException("transient failure")

    def __init__(self):
        self.oneways = []

    def opOneway(self, s, current):
        self.oneways.append(s)

    def onewaysReceived(self, current):
        return list(self.oneways)

    def opStringSeq(self, s, current):
        return (s, list(reversed(s)))

    def opDoubleSeq(self, s, current):
        return s

    def opPersonSeq(self, s, current):
        return s

    def opCallback(self, cb, current):
        return cb.ice_fixed(current.con).opIdempotent() + 1

    def opCallbackThrough(self, cb, current):
        return cb.opIdempotent() + 2

    def closeConnection(self, current):
        current.con.close(Ice.ConnectionClose.Gracefully)

    def shutdown(self, current):
        current.adapter.getCommunicator().shutdown()


port = sys.argv[2] if len(sys.argv) > 2 else "0"
with Ice.initialize(["--Ice.ThreadPool.Server.SizeMax=4", "--Ice.MessageSizeMax=65536"]) as communicator:
    adapter = communicator.createObjectAdapterWithEndpoints("Tester", "tcp -h 127.0.0.1 -p " + port)
    adapter.add(Tester(), Ice.stringToIdentity("tester"))
    adapter.activate()
    print(adapter.getEndpoints()[0].getInfo().port, flush=True)
    communicator.waitForShutdown()

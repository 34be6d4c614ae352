# A ZeroC Ice (Python) client that calls a Floe server implementing Vectors.ice and checks
# every result. Usage: /usr/bin/python3 vectors_client.py SLICE_DIR PORT
# Prints one line per check and exits non-zero at the first failure.
import sys
import time

import Ice

slice_dir, port = sys.argv[1], sys.argv[2]
Ice.loadSlice("-I{0} {0}/Vectors.ice".format(slice_dir))
import Vectors  # noqa: E402


def check(name, condition):
    print(("ok " if condition else "FAILED ") + name, flush=True)
    if not condition:
        sys.exit(1)


class Callback(Vectors.Tester):
    """The object the server calls back over this client's own connection."""

    def opIdempotent(self, current):
        return 41


def wait_for_oneways(tester, expected):
    """Oneway calls may still be dispatching when a later twoway call returns."""
    for _ in range(100):
        received = tester.onewaysReceived()
        if received == expected:
            return True
        time.sleep(0.05)
    print("oneways received: {0}".format(received), flush=True)
    return False


with Ice.initialize(sys.argv + ["--Ice.MessageSizeMax=65536", "--Ice.Default.InvocationTimeout=30000"]) as communicator:
    tester = Vectors.TesterPrx.checkedCast(
        communicator.stringToProxy("tester:tcp -h 127.0.0.1 -p {0}".format(port)))
    check("checkedCast", tester is not None)
    tester.ice_ping()
    check("ice_ids", tester.ice_ids() == ["::Ice::Object", "::Vectors::Tester"])
    ret, dout = tester.opPrimitives(True, 200, -2, 42, 1099511627781, 1.5, 3.25, "h\u00e9llo")
    check("opPrimitives", ret == "True|200|-2|42|1099511627781|1.5|3.25|h\u00e9llo" and dout == 6.5)
    check("opByteSeq", tester.opByteSeq(bytes(range(256)) * 3) == bytes(range(256)) * 3)
    p, r = tester.opStruct(Vectors.Point(1, 2), Vectors.Person("ann", 30, Vectors.Color.Green))
    check("opStruct", p == Vectors.Point(2, 1) and r == Vectors.Person("ANN", 31, Vectors.Color.Blue))
    check("opEnum", tester.opEnum(Vectors.Color.Green, Vectors.Sparse.High) == (Vectors.Color.Green, Vectors.Sparse.High))
    check("opDict", tester.opDict({"a": 1, "b": 2}) == {"a": 10, "b": 20})
    check("opOptional set", tester.opOptional(5, "opt", Vectors.Point(3, 4), [1, 2, 3], Vectors.Color.Blue, {"k": 9}) == (6, "opt"))
    check("opOptional unset", tester.opOptional() == (Ice.Unset, Ice.Unset))
    n1 = Vectors.Node(1, None)
    n1.next = Vectors.Node(2, n1)
    for op in (tester.opNode, tester.opNodeSliced):
        back = op(n1)
        check(op.__name__, back.value == 1 and back.next.value == 2 and back.next.next is back)
    d = Vectors.Derived("x", 1)
    for op in (tester.opBaseSeq, tester.opBaseSeqCompact):
        seq = op([d, Vectors.Base("y"), d, None])
        check(op.__name__, len(seq) == 4 and seq[0].d == 1 and seq[1].b == "y" and seq[2] is seq[0] and seq[3] is None)
    base = tester.opUnknownSlice()
    check("opUnknownSlice sliced to Derived", isinstance(base, Vectors.Derived) and base.d == 42 and base.b == "base-part")
    check("opCompact", tester.opCompact(Vectors.Compact(5)).v == 6)
    w = tester.opWithOptional(Vectors.WithOptional(1, "s", Ice.Unset))
    check("opWithOptional", w.a == 1 and w.s == "s" and w.i is Ice.Unset)
    try:
        tester.opThrow(3)
        check("opThrow", False)
    except Vectors.DerivedError as e:
        check("opThrow", e.reason == "derived reason" and e.code == 3)
    try:
        tester.opThrowSliced(2)
        check("opThrowSliced", False)
    except Vectors.DerivedError as e:
        check("opThrowSliced (unknown slice skipped)", e.reason == "hidden reason" and e.code == 2)
    try:
        tester.opUndeclared(1)
        check("opUndeclared", False)
    except Ice.UnknownUserException:
        check("opUndeclared", True)
    proxy = communicator.stringToProxy("cat/name -o -s @ TheAdapter")
    check("opProxy", tester.opProxy(proxy, None, tester) == proxy)
    check("opContext", tester.opContext("k", {"k": "v", "x": "y"}) == "v")
    check("opIdempotent", tester.opIdempotent() == 7)
    tester.ice_oneway().opOneway("fire")
    batch = tester.ice_batchOneway()
    batch.opOneway("a")
    batch.opOneway("b")
    batch.ice_ping()
    batch.ice_flushBatchRequests()
    tester.ice_ping()
    check("oneway and batch oneway", wait_for_oneways(tester, ["fire", "a", "b"]))
    ret, rev = tester.opStringSeq(["x", "", "zé"])
    check("opStringSeq", ret == ["x", "", "zé"] and rev == ["zé", "", "x"])
    people = [Vectors.Person("p{0}".format(i), i, Vectors.Color.Red) for i in range(1000)]
    check("opPersonSeq", tester.opPersonSeq(people) == people)
    large = bytes(range(256)) * (10 * 1024 * 1024 // 256)
    check("opByteSeq 10 MiB", tester.opByteSeq(large) == large)
    doubles = [i * 0.5 for i in range(10 * 1024 * 1024 // 8)]
    check("opDoubleSeq 10 MiB", tester.opDoubleSeq(doubles) == doubles)
    adapter = communicator.createObjectAdapter("")
    callback = Vectors.TesterPrx.uncheckedCast(adapter.add(Callback(), Ice.stringToIdentity("callback")))
    tester.ice_getConnection().setAdapter(adapter)
    check("bidirectional callback", tester.opCallback(callback) == 42)
    try:
        communicator.stringToProxy("missing:tcp -h 127.0.0.1 -p {0}".format(port)).ice_ping()
        check("object not exist", False)
    except Ice.ObjectNotExistException:
        check("object not exist", True)
    try:
        tester.ice_invoke("noSuchOp", Ice.OperationMode.Normal, bytes())
        check("operation not exist", False)
    except Ice.OperationNotExistException:
        check("operation not exist", True)
    print("all checks passed", flush=True)

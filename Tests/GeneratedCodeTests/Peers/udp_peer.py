# A ZeroC Ice (Python) peer over udp, for Floe's datagram interop tests.
#   /usr/bin/python3 udp_peer.py SLICE_DIR server
#       serves "tester" on "tcp -h 127.0.0.1 -p 0:udp -h 127.0.0.1 -p 0", prints its proxy
#       string, and serves until shutdown(); opOneway records its argument and
#       onewaysReceived() returns what was recorded.
#   /usr/bin/python3 udp_peer.py SLICE_DIR client PROXY
#       sends over udp: opOneway("d1") as a datagram, opOneway("z1") compressed (-z) with a
#       string long enough to be compressed, opOneway("b1"), opOneway("b2") as a batch datagram
#       flushed once, and opOneway("l1" + 20,000 x) as one 20 KB datagram; then asks
#       onewaysReceived() over tcp until all five arrived (5 s), and prints them, one line,
#       space-separated (a string of 100 characters or more as its first two and its length,
#       "l1:20002").
import sys
import time

import Ice

slice_dir, mode = sys.argv[1], sys.argv[2]
Ice.loadSlice("-I{0} {0}/Vectors.ice".format(slice_dir))
import Vectors  # noqa: E402


class Tester(Vectors.Tester):
    def __init__(self):
        self.received = []

    def opOneway(self, s, current):
        self.received.append(s)

    def onewaysReceived(self, current):
        return self.received

    def shutdown(self, current):
        current.adapter.getCommunicator().shutdown()


if mode == "server":
    with Ice.initialize([]) as communicator:
        adapter = communicator.createObjectAdapterWithEndpoints(
            "Tester", "tcp -h 127.0.0.1 -p 0:udp -h 127.0.0.1 -p 0")
        proxy = adapter.add(Tester(), Ice.stringToIdentity("tester"))
        adapter.activate()
        print(communicator.proxyToString(proxy), flush=True)
        communicator.waitForShutdown()
else:
    with Ice.initialize([]) as communicator:
        tester = Vectors.TesterPrx.uncheckedCast(communicator.stringToProxy(sys.argv[3]))
        tester.ice_datagram().opOneway("d1")
        tester.ice_datagram().ice_compress(True).opOneway("z1" + " " * 300)
        batch = tester.ice_batchDatagram()
        batch.opOneway("b1")
        batch.opOneway("b2")
        batch.ice_flushBatchRequests()
        tester.ice_datagram().opOneway("l1" + "x" * 20000)
        deadline = time.time() + 5
        while True:
            received = tester.onewaysReceived()
            if len(received) >= 5 or time.time() > deadline:
                break
            time.sleep(0.05)
        stripped = (s.strip() for s in received)
        shown = (s if len(s) < 100 else "{0}:{1}".format(s[:2], len(s)) for s in stripped)
        print(" ".join(shown), flush=True)

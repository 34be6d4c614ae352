# A ZeroC Ice (Python) server or client that finds its peers through a locator, for Floe's
# locator interop tests.
#   /usr/bin/python3 locator_peer.py SLICE_DIR server LOCATOR ADAPTER_ID
#       registers adapter ADAPTER_ID (identity "tester") with LOCATOR's registry on activation,
#       prints "ready PORT", serves until shutdown() is called, and unregisters.
#   /usr/bin/python3 locator_peer.py SLICE_DIR client LOCATOR PROXY...
#       calls opIdempotent() through each (indirect or well-known) proxy and prints
#       "PROXY -> RESULT"; exits 1 on the first failure.
import sys

import Ice

slice_dir, mode, locator = sys.argv[1], sys.argv[2], sys.argv[3]
Ice.loadSlice("-I{0} {0}/Vectors.ice".format(slice_dir))
import Vectors  # noqa: E402  (created by loadSlice)


class Tester(Vectors.Tester):
    def ping(self, current):
        pass

    def opIdempotent(self, current):
        return 42

    def shutdown(self, current):
        current.adapter.getCommunicator().shutdown()


arguments = ["--Ice.Default.Locator=" + locator, "--Ice.RetryIntervals=-1"]
with Ice.initialize(arguments) as communicator:
    if mode == "server":
        properties = communicator.getProperties()
        properties.setProperty("Tester.Endpoints", "tcp -h 127.0.0.1 -p 0")
        properties.setProperty("Tester.AdapterId", sys.argv[4])
        adapter = communicator.createObjectAdapter("Tester")
        adapter.add(Tester(), Ice.stringToIdentity("tester"))
        adapter.activate()
        print("ready", adapter.getEndpoints()[0].getInfo().port, flush=True)
        communicator.waitForShutdown()
    else:
        for text in sys.argv[4:]:
            try:
                tester = Vectors.TesterPrx.uncheckedCast(communicator.stringToProxy(text))
                print("{0} -> {1}".format(text, tester.opIdempotent()), flush=True)
            except Ice.Exception as error:
                print("{0} -> {1}".format(text, error.ice_id()), flush=True)
                sys.exit(1)

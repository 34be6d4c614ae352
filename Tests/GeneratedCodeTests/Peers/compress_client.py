# A ZeroC Ice (Python) client whose endpoint asks for compression (-z): requests of 100 bytes
# or more go out bzip2-compressed (status 2). For Floe's compression interop test.
#   /usr/bin/python3 compress_client.py SLICE_DIR PORT
# Prints "ok SIZE" per call, or the exception; exits 1 on failure.
import sys

import Ice

slice_dir, port = sys.argv[1], sys.argv[2]
Ice.loadSlice("-I{0} {0}/Vectors.ice".format(slice_dir))
import Vectors  # noqa: E402

with Ice.initialize(sys.argv[:1]) as communicator:
    tester = Vectors.TesterPrx.uncheckedCast(
        communicator.stringToProxy("tester:tcp -h 127.0.0.1 -p {0} -z".format(port)))
    for size in (2000, 50, 300000):
        data = bytes((i * 7) % 256 for i in range(size))
        try:
            back = tester.opByteSeq(data)
        except Ice.Exception as error:
            print("failed", size, error.ice_id(), flush=True)
            sys.exit(1)
        print("ok" if back == data else "wrong", size, flush=True)
        if back != data:
            sys.exit(1)

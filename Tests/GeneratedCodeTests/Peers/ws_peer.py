# A ZeroC Ice (Python) peer over ws or wss endpoints, for Floe's WebSocket interop tests.
#   /usr/bin/python3 ws_peer.py SLICE_DIR server TRANSPORT CERT_DIR
#       serves "tester" on TRANSPORT (ws or wss) at resource /floe, prints its port, and serves
#       until shutdown(); opContext("ws-type") returns the connection's type, and
#       opContext("ws-header:NAME") the client's upgrade request header NAME.
#   /usr/bin/python3 ws_peer.py SLICE_DIR client TRANSPORT CERT_DIR PORT
#       calls opByteSeq with 3,000 and 300,000 bytes, prints "ok" and the connection's type, then
#       closes the connection gracefully; "failed" and the exception, exit 1, on failure.
# wss peers use make-certs.sh's folder with mutual TLS, as ssl_peer.py does.
import sys

import Ice
from peer_tls import ice_ssl_settings

slice_dir, mode, transport, cert_dir = sys.argv[1:5]
Ice.loadSlice("-I{0} {0}/Vectors.ice".format(slice_dir))
import Vectors  # noqa: E402


def settings(name):
    return ice_ssl_settings(cert_dir, name) if transport == "wss" else []


class Tester(Vectors.Tester):
    def opByteSeq(self, seq, current):
        return seq

    def opContext(self, key, current):
        if key == "ws-type":
            return current.con.type()
        if key.startswith("ws-header:"):
            return current.con.getInfo().headers.get(key[len("ws-header:"):], "")
        return current.ctx.get(key, "")

    def shutdown(self, current):
        current.adapter.getCommunicator().shutdown()


if mode == "server":
    with Ice.initialize(settings("server")) as communicator:
        adapter = communicator.createObjectAdapterWithEndpoints(
            "Tester", "{0} -h 127.0.0.1 -p 0 -r /floe".format(transport))
        adapter.add(Tester(), Ice.stringToIdentity("tester"))
        adapter.activate()
        info = adapter.getEndpoints()[0].getInfo()
        while not hasattr(info, "port"):  # ws over tcp; wss over ssl over tcp
            info = info.underlying
        print(info.port, flush=True)
        communicator.waitForShutdown()
else:
    port = sys.argv[5]
    with Ice.initialize(settings("client")) as communicator:
        try:
            tester = Vectors.TesterPrx.uncheckedCast(
                communicator.stringToProxy("tester:{0} -h 127.0.0.1 -p {1} -r /floe".format(transport, port)))
            for size in (3000, 300000):
                data = bytes((i * 7) % 256 for i in range(size))
                if tester.opByteSeq(data) != data:
                    print("wrong", size, flush=True)
                    sys.exit(1)
            connection = tester.ice_getConnection()
            print("ok", connection.type(), flush=True)
            connection.close(Ice.ConnectionClose.GracefullyWithWait)
        except Ice.Exception as error:
            print("failed", error.ice_id(), error, flush=True)
            sys.exit(1)

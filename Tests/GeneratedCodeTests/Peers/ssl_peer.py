# A ZeroC Ice (Python) peer over ssl (IceSSL), for Floe's TLS interop tests. Certificates come
# from make-certs.sh's folder; both sides verify each other (VerifyPeer=2, CheckCertName=1).
#   /usr/bin/python3 ssl_peer.py SLICE_DIR server CERT_DIR
#       prints its port, then serves "tester" until shutdown(); opContext("peer-cert") returns
#       the client certificate it received (PEM).
#   /usr/bin/python3 ssl_peer.py SLICE_DIR client CERT_DIR PORT [CERT_NAME]
#       calls opByteSeq over ssl with its certificate (default "client"), prints "ok" and the
#       server certificate it received (PEM), or "failed" and the exception; exit 1 on failure.
import sys

import Ice
from peer_tls import ice_ssl_settings

slice_dir, mode, cert_dir = sys.argv[1], sys.argv[2], sys.argv[3]
Ice.loadSlice("-I{0} {0}/Vectors.ice".format(slice_dir))
import Vectors  # noqa: E402


def settings(name):
    return ice_ssl_settings(cert_dir, name, check_cert_name=True)


class Tester(Vectors.Tester):
    def opByteSeq(self, seq, current):
        return seq

    def opContext(self, key, current):
        if key == "peer-cert":
            info = current.con.getInfo()
            return info.certs[0] if info.certs else ""
        return current.ctx.get(key, "")

    def shutdown(self, current):
        current.adapter.getCommunicator().shutdown()


if mode == "server":
    with Ice.initialize(settings("server")) as communicator:
        adapter = communicator.createObjectAdapterWithEndpoints("Tester", "ssl -h 127.0.0.1 -p 0")
        adapter.add(Tester(), Ice.stringToIdentity("tester"))
        adapter.activate()
        print(adapter.getEndpoints()[0].getInfo().underlying.port, flush=True)
        communicator.waitForShutdown()
else:
    port = sys.argv[4]
    name = sys.argv[5] if len(sys.argv) > 5 else "client"
    with Ice.initialize(settings(name)) as communicator:
        try:
            tester = Vectors.TesterPrx.uncheckedCast(
                communicator.stringToProxy("tester:ssl -h 127.0.0.1 -p {0}".format(port)))
            data = bytes((i * 7) % 256 for i in range(3000))
            back = tester.opByteSeq(data)
            print("ok" if back == data else "wrong", flush=True)
            info = tester.ice_getConnection().getInfo()
            print(info.certs[0] if info.certs else "no certificate", flush=True)
        except Ice.Exception as error:
            print("failed", error.ice_id(), flush=True)
            sys.exit(1)

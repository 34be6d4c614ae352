# A ZeroC Ice admin client, as an operator's tool would be: reads a server's properties
# through its Properties facet, changes them, and stops the server through its Process facet.
# Usage: admin_client.py SLICE-FOLDER ADMIN-PROXY
import sys

import Ice

with Ice.initialize(["--Ice.Warn.Connections=0"]) as communicator:
    admin = communicator.stringToProxy(sys.argv[2])
    properties = Ice.PropertiesAdminPrx.checkedCast(admin, "Properties")
    print("greeting=" + properties.getProperty("Demo.Greeting"))
    print("missing=" + properties.getProperty("Demo.Missing"))
    for name, value in sorted(properties.getPropertiesForPrefix("Demo.").items()):
        print("prefix " + name + "=" + value)
    properties.setProperties({"Demo.Greeting": "changed", "Demo.Extra": ""})
    print("after=" + properties.getProperty("Demo.Greeting") + "," + properties.getProperty("Demo.Extra"))
    process = Ice.ProcessPrx.checkedCast(admin, "Process")
    process.shutdown()
    print("done")

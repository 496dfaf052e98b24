"""An independent SOAP client for the COPYTRUST service: Debian's python3-zeep loads the WSDL and
calls the operations by name, as a generated .NET or Java client would.

Usage: copytrust-zeep-client.py <wsdl-url> [<address>]
(<address> replaces the WSDL's soap:address, as a client configured for another endpoint does.)
Reads one JSON command per line on stdin:
  {"auth": {"mode": "basic" | "wsse" | "none", "id": ..., "secret": ...}, "binding": "1.1" | "1.2",
   "operation": "SubmitFileRegistrationTask", "args": {...}}
(FileData is given base64 in the JSON and sent by zeep as xs:base64Binary.) Writes one JSON line per
command: {"ok": <the response, serialized>} or {"fault": {"code", "message", "detailCode", "detailMessage"}}
or {"error": "..."} for anything else.
"""

import base64
import datetime
import json
import sys

from requests import Session
from requests.auth import HTTPBasicAuth
from zeep import Client
from zeep.exceptions import Fault
from zeep.helpers import serialize_object
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

NS = "{urn:signet:copytrust:v1}"
wsdl = sys.argv[1]
address = sys.argv[2] if len(sys.argv) > 2 else None
services = {}


def service_for(auth, binding):
    key = (json.dumps(auth, sort_keys=True), binding)
    if key not in services:
        session = Session()
        wsse = None
        if auth["mode"] == "basic":
            session.auth = HTTPBasicAuth(auth["id"], auth["secret"])
        elif auth["mode"] == "wsse":
            wsse = UsernameToken(auth["id"], auth["secret"])
        client = Client(wsdl, transport=Transport(session=session), wsse=wsse)
        if address:
            name = "CopyTrustSoap12Binding" if binding == "1.2" else "CopyTrustSoap11Binding"
            services[key] = client.create_service(NS + name, address)
        else:
            port = "CopyTrustSoap12Port" if binding == "1.2" else "CopyTrustSoap11Port"
            services[key] = client.bind("CopyTrustService", port)
    return services[key]


def plain(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def detail_text(fault, name):
    if fault.detail is None:
        return None
    found = fault.detail.find(".//" + NS + name)
    return found.text if found is not None else None


for line in sys.stdin:
    command = json.loads(line)
    try:
        service = service_for(command["auth"], command.get("binding", "1.1"))
        args = dict(command.get("args", {}))
        if "FileData" in args:
            args["FileData"] = base64.b64decode(args["FileData"])
        result = getattr(service, command["operation"])(**args)
        out = {"ok": plain(serialize_object(result))}
    except Fault as fault:
        out = {
            "fault": {
                "code": str(fault.code),
                "message": fault.message,
                "detailCode": detail_text(fault, "Code"),
                "detailMessage": detail_text(fault, "Message"),
            }
        }
    except Exception as error:  # reported to the test, which decides
        out = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps(out), flush=True)

#!/usr/bin/env python3
"""A minimal LwM2M device on aiocoap (a CoAP stack DMP did not write), for end-to-end tests.

One UDP socket bound to 127.0.0.1:<port> (random free port unless --port) does everything:
it sends Register / Update / De-register as a client AND serves the device's resources, so
the source address the servers see never changes - even when the Update goes to a different
server URL than the Register (a device moving from one gateway instance to another behind
the same NAT mapping).

Served resources (Device object /3, instance 0):
  GET /3/0/0   text/plain (0): "aiocoap-device"  (Manufacturer)
  GET /3/0     TLV (11542): resources 0 (Manufacturer) and 2 (Serial Number)
  GET /3/0/2   text/plain (0): the serial number

Control: one command per line on stdin; one result line per command on stdout.
  update <coap://host:port>      POST /rd/<location> to that server (empty payload)
  deregister <coap://host:port>  DELETE /rd/<location>
  quit                           exit 0 (also on end of input)
Output lines: "LISTENING <port>", "REGISTERED <code> <location>", "UPDATED <code>",
"DEREGISTERED <code>", "ERROR <text>". Codes are written like "2.01".

Usage (loopback only):
  aiocoap_device.py --server coap://127.0.0.1:5683 --imei 866818039921440 [--lifetime 300]
"""

import argparse
import asyncio
import ipaddress
import socket
import sys
import urllib.parse

import aiocoap
import aiocoap.resource as resource
from aiocoap import Code, Message

MANUFACTURER = b"aiocoap-device"
SERIAL = b"AIOCOAP-0001"
TEXT_PLAIN = 0
LINK_FORMAT = 40
TLV = 11542


def tlv_resource(rid, value):
    """One TLV "resource with value" entry (OMA LwM2M TLV, 8-bit id, 8-bit length field)."""
    assert rid < 256 and len(value) < 256
    if len(value) <= 7:
        return bytes([0xC0 | len(value), rid]) + value
    return bytes([0xC8, rid, len(value)]) + value


def code_text(code):
    return "%d.%02d" % (int(code) >> 5, int(code) & 0x1F)


class Value(resource.Resource):
    def __init__(self, payload, content_format):
        super().__init__()
        self.payload = payload
        self.content_format = content_format

    async def render_get(self, request):
        return Message(payload=self.payload, content_format=self.content_format)


def out(line):
    print(line, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_url(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme != "coap" or not u.hostname or not ipaddress.ip_address(u.hostname).is_loopback:
        raise ValueError("only coap:// URLs on a loopback address: %r" % url)
    return url.rstrip("/")


async def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", required=True, help="server URL for Register, e.g. coap://127.0.0.1:5683")
    p.add_argument("--imei", required=True, help="15-digit IMEI: the endpoint name is urn:imei:<imei>")
    p.add_argument("--lifetime", type=int, default=300)
    p.add_argument("--port", type=int, default=0, help="local UDP port (default: a free one)")
    args = p.parse_args()
    server = loopback_url(args.server)

    site = resource.Site()
    site.add_resource(["3", "0", "0"], Value(MANUFACTURER, TEXT_PLAIN))
    site.add_resource(["3", "0", "2"], Value(SERIAL, TEXT_PLAIN))
    site.add_resource(["3", "0"], Value(tlv_resource(0, MANUFACTURER) + tlv_resource(2, SERIAL), TLV))

    # the same socket serves requests and sends ours (aiocoap's udp6 transport, bound to 127.0.0.1)
    ctx = None
    for attempt in range(5):
        port = args.port or free_port()
        try:
            ctx = await aiocoap.Context.create_server_context(site, bind=("127.0.0.1", port), transports=["udp6"])
            break
        except OSError:
            if args.port or attempt == 4:
                raise
    out("LISTENING %d" % port)

    register = Message(
        code=Code.POST,
        uri="%s/rd?ep=urn:imei:%s&lt=%d&lwm2m=1.0&b=U" % (server, args.imei, args.lifetime),
        content_format=LINK_FORMAT,
        payload=b"</1/0>,</3/0>",
    )
    resp = await ctx.request(register).response
    location = "/".join(resp.opt.location_path)
    out("REGISTERED %s %s" % (code_text(resp.code), location))

    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or line.strip() == "quit":
                break
            parts = line.split()
            try:
                if len(parts) == 2 and parts[0] in ("update", "deregister"):
                    url = "%s/%s" % (loopback_url(parts[1]), location)
                    method = Code.POST if parts[0] == "update" else Code.DELETE
                    r = await ctx.request(Message(code=method, uri=url)).response
                    out("%s %s" % ("UPDATED" if parts[0] == "update" else "DEREGISTERED", code_text(r.code)))
                else:
                    out("ERROR unknown command %r" % line.strip())
            except Exception as e:  # report and keep serving
                out("ERROR %s" % e)
    finally:
        await ctx.shutdown()


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/env python3
"""A one-shot CoAP client on aiocoap (a CoAP stack DMP did not write), for end-to-end tests.

Sends a sequence of requests to one server, in order, and prints ONE JSON document on
stdout: {"results": [{"name", "code", "type", "locationPath", "maxAge", "contentFormat",
"payload"} | {"name", "error"}, ...]}. Codes are written like "2.01".

Each request (a JSON array in --requests) is an object:
  name      label echoed in the result (default: its index)
  method    GET | POST | PUT | DELETE (default POST)
  path      e.g. "/rd"; "{location}" is replaced by the Location-Path of the latest
            response that carried one, joined with "/", so "/{location}" -> "/rd/<id>"
  query     list of Uri-Query values, e.g. ["ep=urn:imei:...", "lt=300"] (sent as given)
  cf        Content-Format number, or omitted for none
  payload   text payload (UTF-8), default empty
  nonConfirmable  true to send NON instead of CON
  timeout   seconds to wait for the response (default 10)

Usage (loopback only):
  aiocoap_client.py --server coap://127.0.0.1:5683 --requests '[{"path": "/rd", ...}]'
"""

import argparse
import asyncio
import ipaddress
import json
import sys
import urllib.parse

import aiocoap
from aiocoap import Code, Message


def code_text(code):
    return "%d.%02d" % (int(code) >> 5, int(code) & 0x1F)


METHODS = {"GET": Code.GET, "POST": Code.POST, "PUT": Code.PUT, "DELETE": Code.DELETE}


def loopback_server(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme != "coap" or not u.hostname or not ipaddress.ip_address(u.hostname).is_loopback:
        raise SystemExit("--server must be coap://<loopback address>:<port>")
    return "coap://%s:%d" % (u.hostname if ":" not in u.hostname else "[%s]" % u.hostname, u.port or 5683)


async def run(server, requests):
    ctx = await aiocoap.Context.create_client_context()
    results = []
    location = None
    try:
        for i, spec in enumerate(requests):
            name = spec.get("name", str(i))
            path = spec.get("path", "/rd")
            if "{location}" in path:
                if location is None:
                    results.append({"name": name, "error": "no Location-Path seen yet"})
                    continue
                path = path.replace("{location}", location)
            msg = Message(
                code=METHODS[spec.get("method", "POST")],
                transport_tuning=aiocoap.Unreliable if spec.get("nonConfirmable") else aiocoap.Reliable,
                payload=spec.get("payload", "").encode("utf-8"),
            )
            msg.set_request_uri(server + "/")
            msg.opt.uri_path = tuple(s for s in path.split("/") if s)
            msg.opt.uri_query = tuple(spec.get("query", []))
            if spec.get("cf") is not None:
                msg.opt.content_format = int(spec["cf"])
            try:
                res = await asyncio.wait_for(ctx.request(msg).response, spec.get("timeout", 10))
            except Exception as e:  # noqa: BLE001 - reported to the caller as data
                results.append({"name": name, "error": "%s: %s" % (type(e).__name__, e)})
                continue
            loc = list(res.opt.location_path)
            if loc:
                location = "/".join(loc)
            results.append(
                {
                    "name": name,
                    "code": code_text(res.code),
                    "type": str(res.mtype.name) if hasattr(res.mtype, "name") else str(res.mtype),
                    "locationPath": loc,
                    "maxAge": res.opt.max_age,
                    "contentFormat": None if res.opt.content_format is None else int(res.opt.content_format),
                    "payload": res.payload.decode("utf-8", "replace"),
                }
            )
    finally:
        await ctx.shutdown()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True)
    ap.add_argument("--requests", required=True, help="JSON array of request objects")
    a = ap.parse_args()
    server = loopback_server(a.server)
    requests = json.loads(a.requests)
    if not isinstance(requests, list):
        raise SystemExit("--requests must be a JSON array")
    results = asyncio.run(run(server, requests))
    json.dump({"results": results}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

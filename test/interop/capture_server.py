#!/usr/bin/env python3
"""Minimal LwM2M server used to CAPTURE raw traffic from a real LwM2M client (interop fixtures).

Built on aiocoap (pinned in requirements.txt). It listens on 127.0.0.1:<port> (UDP, NoSec),
answers Register (POST /rd?ep=...) with 2.01 Location-Path rd/<id>, records the raw request,
then sends a fixed list of requests to the client from the same socket and records the raw
responses (code, content format, payload bytes). It also records Updates / De-registers it
receives. Each capture is written as one JSON file:

  <out>/<prefix>-<what>.json

Exit status: 0 when every REQUIRED capture was written, 1 otherwise (missing ones are
listed on stderr). Only loopback traffic: the bind address must be a loopback address.

Usage:
  capture_server.py --port 56830 --out libs/lwm2m/src/test/fixtures/interop \
      --prefix leshan --client leshan-client-cf --client-version 2.0.0-M15 --timeout 90
"""

import argparse
import asyncio
import datetime
import ipaddress
import json
import os
import sys
import urllib.parse

import aiocoap
import aiocoap.resource as resource
from aiocoap import Code, Message
from aiocoap.numbers.codes import GET

AIOCOAP_VERSION = aiocoap.meta.version

# (name, uriPath, accept, required)
READS = [
    ("read-3-0-tlv", "/3/0", 11542, True),
    ("read-3-0-senml-json", "/3/0", 110, True),
    ("read-3-0-senml-cbor", "/3/0", 112, True),
    ("read-3-0-lwm2m-json", "/3/0", 11543, False),
    ("read-3-0-lwm2m-cbor", "/3/0", 11544, False),
    ("read-3-0-0-text", "/3/0/0", 0, True),
    ("discover-3", "/3", 40, True),
    ("read-3-0-13-tlv", "/3/0/13", 11542, True),
]
OBSERVE_NAME = "observe-3-0-13-tlv"
OBSERVE_PATH = "/3/0/13"
OBSERVE_ACCEPT = 11542
REQUIRED = ["register", "update"] + [n for (n, _, _, req) in READS if req] + [OBSERVE_NAME]


def code_text(code):
    return "%d.%02d" % (int(code) >> 5, int(code) & 0x1F)


def opt_int(v):
    return None if v is None else int(v)


class Capture:
    def __init__(self, args):
        self.args = args
        self.written = set()
        self.next_id = 0
        self.client_uri = None
        self.ctx = None
        self.done = asyncio.Event()
        self.registered = asyncio.Event()
        self.updated = asyncio.Event()
        self.deregistered = asyncio.Event()
        os.makedirs(args.out, exist_ok=True)

    def origin(self):
        return {
            "client": self.args.client,
            "version": self.args.client_version,
            "capturedWith": "aiocoap %s capture_server.py" % AIOCOAP_VERSION,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def write(self, what, body):
        doc = {"origin": self.origin()}
        doc.update(body)
        path = os.path.join(self.args.out, "%s-%s.json" % (self.args.prefix, what))
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        self.written.add(what)
        print("captured %s -> %s" % (what, path), file=sys.stderr, flush=True)

    @staticmethod
    def uplink(request):
        return {
            "method": request.code.name,
            "uriPath": "/" + "/".join(request.opt.uri_path),
            "uriQuery": list(request.opt.uri_query),
            "contentFormat": opt_int(request.opt.content_format),
            "payloadHex": request.payload.hex(),
            "payloadText": request.payload.decode("utf-8", "replace"),
        }

    @staticmethod
    def downlink(response):
        out = {
            "code": code_text(response.code),
            "contentFormat": opt_int(response.opt.content_format),
            "payloadHex": response.payload.hex(),
        }
        if response.opt.observe is not None:
            out["observe"] = int(response.opt.observe)
        return out

    # ------------------------------------------------------------------ server side

    def on_register(self, request):
        query = dict(q.split("=", 1) if "=" in q else (q, "") for q in request.opt.uri_query)
        if "ep" not in query:
            return Message(code=Code.BAD_REQUEST)
        self.next_id += 1
        reg_id = "dmp%d" % self.next_id
        host = request.remote.hostinfo  # "127.0.0.1:37716" as the client's source address
        self.client_uri = "coap://%s" % host
        self.write(
            "register" if not self.registered.is_set() else "register-%d" % self.next_id,
            {"request": self.uplink(request), "response": {"code": "2.01", "locationPath": ["rd", reg_id]}},
        )
        if not self.registered.is_set():
            self.registered.set()
        return Message(code=Code.CREATED, location_path=["rd", reg_id])

    def on_update(self, request):
        if not self.updated.is_set():
            self.write("update", {"request": self.uplink(request), "response": {"code": "2.04"}})
            self.updated.set()
        return Message(code=Code.CHANGED)

    def on_deregister(self, request):
        if "deregister" not in self.written:
            self.write("deregister", {"request": self.uplink(request), "response": {"code": "2.02"}})
        self.deregistered.set()
        return Message(code=Code.DELETED)

    # ------------------------------------------------------------------ client side

    def request_msg(self, path, accept, observe=None):
        segs = [s for s in path.split("/") if s]
        uri = self.client_uri + "/" + "/".join(urllib.parse.quote(s) for s in segs)
        m = Message(code=GET, uri=uri)
        m.opt.accept = accept
        if observe is not None:
            m.opt.observe = observe
        return m

    async def drive(self):
        await self.registered.wait()
        await asyncio.sleep(1.0)  # let the client finish processing the 2.01
        for name, path, accept, _req in READS:
            try:
                resp = await asyncio.wait_for(self.ctx.request(self.request_msg(path, accept)).response, 15)
            except Exception as e:  # noqa: BLE001 - record and continue
                print("request %s failed: %r" % (name, e), file=sys.stderr, flush=True)
                continue
            if not resp.code.is_successful():
                print("request %s answered %s (not captured)" % (name, code_text(resp.code)), file=sys.stderr, flush=True)
                continue
            self.write(name, {
                "request": {"method": "GET", "uriPath": path, "uriQuery": [], "accept": accept},
                "response": self.downlink(resp),
            })
        await self.observe()
        try:
            await asyncio.wait_for(self.updated.wait(), self.args.update_wait)
        except asyncio.TimeoutError:
            print("no Update received within %ss" % self.args.update_wait, file=sys.stderr, flush=True)
        if self.args.deregister_wait > 0:
            try:
                await asyncio.wait_for(self.deregistered.wait(), self.args.deregister_wait)
            except asyncio.TimeoutError:
                print("no De-register within %ss (optional)" % self.args.deregister_wait, file=sys.stderr, flush=True)
        self.done.set()

    async def observe(self):
        req = self.ctx.request(self.request_msg(OBSERVE_PATH, OBSERVE_ACCEPT, observe=0))
        try:
            first = await asyncio.wait_for(req.response, 15)
        except Exception as e:  # noqa: BLE001
            print("observe failed: %r" % (e,), file=sys.stderr, flush=True)
            return
        notes = []
        try:
            async def collect():
                async for n in req.observation:
                    notes.append(self.downlink(n))
                    if len(notes) >= self.args.notifications:
                        break
            await asyncio.wait_for(collect(), 20)
        except (asyncio.TimeoutError, Exception) as e:  # noqa: BLE001
            print("observation ended: %r" % (e,), file=sys.stderr, flush=True)
        finally:
            req.observation.cancel()
        if first.code.is_successful() and notes:
            self.write(OBSERVE_NAME, {
                "request": {"method": "GET", "uriPath": OBSERVE_PATH, "uriQuery": [], "accept": OBSERVE_ACCEPT, "observe": 0},
                "response": self.downlink(first),
                "notifications": notes,
            })
        # Proactive cancel (GET with Observe=1) so the client stops notifying.
        try:
            await asyncio.wait_for(self.ctx.request(self.request_msg(OBSERVE_PATH, OBSERVE_ACCEPT, observe=1)).response, 5)
        except Exception:  # noqa: BLE001
            pass


class Root(resource.Resource):
    """Every path lands here (the root resource is not a Site, so nothing is stripped)."""

    def __init__(self, cap):
        super().__init__()
        self.cap = cap

    async def render_post(self, request):
        path = list(request.opt.uri_path)
        if path == ["rd"]:
            return self.cap.on_register(request)
        if len(path) == 2 and path[0] == "rd":
            return self.cap.on_update(request)
        return Message(code=Code.NOT_FOUND)

    async def render_delete(self, request):
        path = list(request.opt.uri_path)
        if len(path) == 2 and path[0] == "rd":
            return self.cap.on_deregister(request)
        return Message(code=Code.NOT_FOUND)


async def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--port", type=int, default=56830)
    p.add_argument("--out", required=True)
    p.add_argument("--prefix", default="leshan")
    p.add_argument("--client", default="leshan-client-cf")
    p.add_argument("--client-version", default="unknown")
    p.add_argument("--timeout", type=float, default=90, help="hard limit for the whole capture, seconds")
    p.add_argument("--update-wait", type=float, default=40, help="how long to wait for an Update, seconds")
    p.add_argument("--deregister-wait", type=float, default=0, help="then wait this long for a De-register (optional capture)")
    p.add_argument("--notifications", type=int, default=2)
    p.add_argument("--ready-file", help="touched once the socket is bound")
    args = p.parse_args()
    if not ipaddress.ip_address(args.bind).is_loopback:
        p.error("--bind must be a loopback address")

    cap = Capture(args)
    cap.ctx = await aiocoap.Context.create_server_context(Root(cap), bind=(args.bind, args.port), transports=["udp6"])
    print("capture server listening on coap://%s:%d (aiocoap %s)" % (args.bind, args.port, AIOCOAP_VERSION), file=sys.stderr, flush=True)
    if args.ready_file:
        open(args.ready_file, "w").close()
    driver = asyncio.ensure_future(cap.drive())
    try:
        await asyncio.wait_for(cap.done.wait(), args.timeout)
    except asyncio.TimeoutError:
        print("capture timed out after %ss" % args.timeout, file=sys.stderr, flush=True)
        driver.cancel()
    # Give the client a moment to send its De-register if it is shutting down.
    await asyncio.sleep(0.5)
    await cap.ctx.shutdown()
    missing = [w for w in REQUIRED if w not in cap.written]
    if missing:
        print("MISSING captures: %s" % ", ".join(missing), file=sys.stderr, flush=True)
        return 1
    print("all %d required captures written (%d total)" % (len(REQUIRED), len(cap.written)), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

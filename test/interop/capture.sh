#!/usr/bin/env bash
# Regenerates the LwM2M interop fixtures in libs/lwm2m/src/test/fixtures/interop/ by capturing
# the traffic of a REAL third-party LwM2M client (Eclipse Leshan) with an aiocoap-based capture
# server. Developer tool, not part of `npm test`. See test/interop/README.md.
#
# Env overrides: LESHAN_VERSION (2.0.0-M15), DMP_CACHE_DIR (~/.cache/dmp), DMP_JAVA_HOME,
# INTEROP_PORT (56830), INTEROP_OUT (fixture dir), CAPTURE_TIMEOUT (seconds, 120).
# Traffic stays on 127.0.0.1. Exits non-zero when any required capture is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
LESHAN_VERSION="${LESHAN_VERSION:-2.0.0-M15}"
CACHE_DIR="${DMP_CACHE_DIR:-$HOME/.cache/dmp}"
PORT="${INTEROP_PORT:-56830}"
OUT="${INTEROP_OUT:-$repo/libs/lwm2m/src/test/fixtures/interop}"
TIMEOUT="${CAPTURE_TIMEOUT:-120}"
ENDPOINT="dmp-interop-leshan"
LIFETIME=40      # short, so Leshan sends an Update within seconds
CLIENT_RUN=30    # seconds the Leshan client stays registered before it de-registers

log() { echo "[interop] $*" >&2; }

# ---------------------------------------------------------------- peers (Java 17, Leshan jars, aiocoap venv)
eval "$(LESHAN_VERSION="$LESHAN_VERSION" bash "$repo/deploy/local/peers.sh")"
java_bin="$PEERS_JAVA"
lib="$LESHAN_CLIENT_LIB"
venv="$(dirname "$(dirname "$PEERS_PYTHON")")"
aiocoap_version="$("$venv/bin/python" -c 'import aiocoap.meta; print(aiocoap.meta.version)')"

# ---------------------------------------------------------------- capture
work="$(mktemp -d)"
srv_pid=""; cli_pid=""
cleanup() {
  for p in $cli_pid $srv_pid; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in $cli_pid $srv_pid; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

mkdir -p "$work/out"
log "capture server (aiocoap $aiocoap_version) on 127.0.0.1:$PORT"
timeout -k 5 "$TIMEOUT" "$venv/bin/python" "$here/capture_server.py" \
  --bind 127.0.0.1 --port "$PORT" --out "$work/out" --prefix leshan \
  --client leshan-client-cf --client-version "$LESHAN_VERSION" \
  --timeout "$((TIMEOUT - 10))" --update-wait 40 --deregister-wait "$((CLIENT_RUN + 10))" \
  --ready-file "$work/ready" &
srv_pid=$!
for _ in $(seq 1 100); do [ -f "$work/ready" ] && break; kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
[ -f "$work/ready" ] || { log "capture server did not start"; exit 1; }

log "Leshan client $LESHAN_VERSION -> coap://127.0.0.1:$PORT (endpoint $ENDPOINT, lifetime $LIFETIME s, ${CLIENT_RUN}s)"
timeout -k 5 "$TIMEOUT" "$java_bin" -cp "$lib/*" "$here/LeshanInteropClient.java" \
  -u "coap://127.0.0.1:$PORT" -n "$ENDPOINT" -l "$LIFETIME" -t "$CLIENT_RUN" -b 127.0.0.1 \
  > "$work/leshan.log" 2>&1 &
cli_pid=$!

srv_rc=0; wait "$srv_pid" || srv_rc=$?; srv_pid=""
wait "$cli_pid" 2>/dev/null || true; cli_pid=""
if [ "$srv_rc" -ne 0 ]; then
  log "capture incomplete (rc $srv_rc); Leshan log tail:"; tail -n 30 "$work/leshan.log" >&2 || true
  exit 1
fi

mkdir -p "$OUT"
rm -f "$OUT"/leshan-*.json
cp "$work/out"/*.json "$OUT"/
log "fixtures written to $OUT:"; ls -1 "$OUT" >&2

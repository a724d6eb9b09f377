#!/usr/bin/env bash
# Installs the third-party CoAP/LwM2M peers the end-to-end tests talk to, and prints
# `export` lines pointing at them (eval "$(bash deploy/local/peers.sh)"):
#   COAP_CLIENT        libcoap's coap-client (Debian libcoap3-bin)
#   LESHAN_CLIENT_LIB  Eclipse Leshan client jars (leshan-client-cf, Maven Central, cached)
#   LESHAN_SERVER_LIB  Eclipse Leshan server jars (leshan-server-cf, Maven Central, cached;
#                      the baseline of bench/gateway)
#   PEERS_PYTHON       a Python with aiocoap (venv under .dmp/, pinned in test/interop/requirements.txt)
#   PEERS_JAVA         Java 17
# Progress goes to stderr; only the exports go to stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
LESHAN_VERSION="${LESHAN_VERSION:-2.0.0-M15}"
LESHAN_SERVER_VERSION="${LESHAN_SERVER_VERSION:-2.0.0-M15}"
CACHE_DIR="${DMP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dmp}"
log() { echo "[peers] $*" >&2; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then log "missing $*: install with apt-get install -y $*"; exit 2; fi
  log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# libcoap
command -v coap-client-notls >/dev/null || apt_install libcoap3-bin
# python venv support
python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv

# Java 17
java_bin=""
for c in "${DMP_JAVA_HOME:-}" /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-1.17.0-openjdk-amd64; do
  if [ -n "$c" ] && [ -x "$c/bin/java" ]; then java_bin="$c/bin/java"; break; fi
done
if [ -z "$java_bin" ]; then apt_install openjdk-17-jdk-headless; java_bin=/usr/lib/jvm/java-17-openjdk-amd64/bin/java; fi

# Leshan client jars
lib="$CACHE_DIR/leshan-client-$LESHAN_VERSION/lib"
if [ ! -f "$lib/.complete" ]; then
  command -v mvn >/dev/null || apt_install maven
  tmp="$lib.tmp-$$"; rm -rf "$tmp"; mkdir -p "$tmp"
  log "resolving leshan-client-cf $LESHAN_VERSION from Maven Central into $lib"
  mvn -B -q -f "$repo/deploy/local/maven/leshan-client/pom.xml" "-Dleshan.version=$LESHAN_VERSION" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime "-DoutputDirectory=$tmp" >&2
  date -u +%FT%TZ > "$tmp/.complete"
  rm -rf "$lib"; mv "$tmp" "$lib"
fi

# Leshan server jars (benchmark baseline)
server_lib="$CACHE_DIR/leshan-server-$LESHAN_SERVER_VERSION/lib"
if [ ! -f "$server_lib/.complete" ]; then
  command -v mvn >/dev/null || apt_install maven
  tmp="$server_lib.tmp-$$"; rm -rf "$tmp"; mkdir -p "$tmp"
  log "resolving leshan-server-cf $LESHAN_SERVER_VERSION from Maven Central into $server_lib"
  mvn -B -q -f "$repo/deploy/local/maven/leshan-server/pom.xml" "-Dleshan.version=$LESHAN_SERVER_VERSION" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime "-DoutputDirectory=$tmp" >&2
  date -u +%FT%TZ > "$tmp/.complete"
  rm -rf "$server_lib"; mv "$tmp" "$server_lib"
fi

# aiocoap
venv="$repo/.dmp/venv-peers"
req="$repo/test/interop/requirements.txt"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/.requirements.txt"; then
  log "creating $venv (aiocoap)"
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q -r "$req" >&2
  cp "$req" "$venv/.requirements.txt"
fi

echo "export COAP_CLIENT=$(command -v coap-client-notls)"
echo "export LESHAN_CLIENT_LIB=$lib"
echo "export LESHAN_SERVER_LIB=$server_lib"
echo "export PEERS_PYTHON=$venv/bin/python"
echo "export PEERS_JAVA=$java_bin"

#!/usr/bin/env bash
# `npm test`: installs what is missing, brings the local stack up (or reuses it),
# then typecheck, lint, build, provisioning, unit, integration and restart tests.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false NX_NO_CLOUD=true

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "dependencies"
bash scripts/ensure-deps.sh

step "local stack (Redis, Kafka, Cassandra)"
node deploy/local/stack.mjs up
eval "$(node deploy/local/stack.mjs env)"

step "third-party CoAP/LwM2M peers (libcoap, Leshan client, aiocoap)"
eval "$(bash deploy/local/peers.sh)"

step "typecheck"
npx tsc -p tsconfig.json --noEmit

step "lint (ESLint + Nx module boundaries)"
npx nx show projects > /dev/null   # writes the project graph the boundary rule reads
npx eslint --max-warnings=0 .

step "build"
npm run -s build

step "provision topics and CQL migrations"
node dist/apps/migrate/src/main.js

step "helm + kubeconform + Kubernetes schemas (built from the Go module proxy once, cached in ~/.cache/dmp)"
helm_tools_env=$(node deploy/helm-tools.mjs)   # fails the run when the tools cannot be built
eval "$helm_tools_env"

step "unit tests"
npx jest --selectProjects unit --ci

step "integration tests (real Redis, Kafka, Cassandra)"
npx jest --selectProjects integration --ci --runInBand

step "restart test (stops and restarts the stack)"
npx jest --selectProjects restart --ci --runInBand

#!/usr/bin/env bash
# `npm run dev`: the api and the worker in watch mode. Without KAFKA_BROKERS and MONGODB_URI
# (in the environment or .env) it brings the local stack up and uses it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -f .env ]]; then set -a; source .env; set +a; fi
if [[ -z ${KAFKA_BROKERS:-} || -z ${MONGODB_URI:-} ]]; then
  bash scripts/stack/stack.sh up
  export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}
  export MONGODB_URI=${MONGODB_URI:-mongodb://127.0.0.1:27017/activity_logger}
fi

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT INT TERM
npx tsx watch --clear-screen=false services/worker/src/main.ts &
pids+=($!)
npx tsx watch --clear-screen=false services/api/src/main.ts &
pids+=($!)
echo "dev: API on http://localhost:${PORT:-3000}  (worker ops on http://localhost:${WORKER_PORT:-3001})"
wait

#!/usr/bin/env bash
# `npm run dev`: the api and the worker in watch mode. Without KAFKA_BROKERS and MONGODB_URI
# (in the environment or .env) it brings the local stack up and uses it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -f .env ]]; then set -a; source .env; set +a; fi
# Local conveniences (a default cursor secret) are only ever on when asked for, as here.
export NODE_ENV=${NODE_ENV:-development}
# No load balancer to wait for: restarts on a source change and Ctrl-C need not take 5 s.
export SHUTDOWN_DELAY_MS=${SHUTDOWN_DELAY_MS:-0}
if [[ -z ${KAFKA_BROKERS:-} || -z ${MONGODB_URI:-} ]]; then
  bash scripts/stack/stack.sh up
  export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}
  export MONGODB_URI=${MONGODB_URI:-mongodb://127.0.0.1:27017/activity_logger}
fi

# Each service has an ops port of its own; OPS_PORT in .env would give both the same one.
api_ops=${API_OPS_PORT:-3002}
worker_ops=${WORKER_OPS_PORT:-3001}

# Each service runs under a supervisor that restarts it on a source change and, loudly, when it
# exits on its own (scripts/dev/supervise.ts).

# A local API key, made once and kept in the git-ignored .stack/ (unless keys are configured, or
# auth is explicitly disabled): the API never runs open, and curl examples have a key to use.
key_file=.stack/dev-api-key
if [[ -z ${API_KEYS:-} && -z ${API_KEYS_FILE:-} && ${AUTH_DISABLED:-} != true ]]; then
  if [[ ! -s $key_file ]]; then
    mkdir -p .stack
    (umask 077 && npx tsx services/api/src/auth/keygen.ts --name dev --scopes ingest,read,admin --json |
      node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).key)' >"$key_file")
  fi
  dev_key=$(cat "$key_file")
  dev_key_hash=$(node -e 'process.stdout.write(require("crypto").createHash("sha256").update(process.argv[1]).digest("hex"))' "$dev_key")
  # Every scope: one developer on their own machine tries dead letters and erasure too.
  export API_KEYS="dev:ingest+read+admin:$dev_key_hash"
  key_help="dev: local API key \"dev\" (scopes ingest, read, admin), kept in $key_file; paste:
       KEY=$dev_key
       curl -H \"Authorization: Bearer \$KEY\" \"http://localhost:${PORT:-3000}/api/logs?limit=5\""
fi

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait' EXIT INT TERM
# node itself (not npx, which does not pass signals on), so that stopping this script stops them.
# The viewer (/viewer/): built at once if missing, then rebuilt by esbuild on every change to its
# sources (a reload of the page shows it; the API itself does not restart for it).
node --import tsx services/api/scripts/build-viewer.ts --watch &
pids+=($!)
OPS_PORT=$worker_ops node --import tsx scripts/dev/supervise.ts worker &
pids+=($!)
OPS_PORT=$api_ops node --import tsx scripts/dev/supervise.ts api &
pids+=($!)
echo "dev: API on http://localhost:${PORT:-3000}  (ops: api http://localhost:$api_ops, worker http://localhost:$worker_ops)"
echo "dev: viewer on http://localhost:${PORT:-3000}/viewer/"
if [[ -n ${key_help:-} ]]; then echo "$key_help"; fi
wait

#!/usr/bin/env bash
# The local stack: a real Apache Kafka broker (KRaft, single node) and FerretDB (a MongoDB
# wire-protocol server) storing into PostgreSQL when a PostgreSQL server is installed, or into
# SQLite otherwise, for machines without Docker.
#
#   stack.sh up       provision on first use, start what is not running, wait until all answer
#   stack.sh down     stop what this script started (by pid file), wait until it has exited
#   stack.sh status   say what runs and on which backend; exit 0 only when all servers are up
#   stack.sh backend  say which backend `up` would use, and why, without starting anything
#
# Everything lives in .stack/ (git-ignored): jars, the FerretDB binary, data, logs and pid files.
# Only the first `up` needs the network (Maven Central and the Go module proxy).
#
# The backend: FerretDB over PostgreSQL makes equality filters index-backed (see
# scripts/stack/postgres/containment-indexes.sql); over SQLite every filtered read scans the whole
# collection. The choice is made once per stack folder and kept in ferretdb/backend:
#   - STACK_FERRETDB_BACKEND=postgresql|sqlite, when set (and then kept);
#   - else what this folder used before; a folder holding SQLite data from before PostgreSQL was
#     supported stays on SQLite, so its data stays where it is (see the README to switch);
#   - else PostgreSQL when its server binaries are found (STACK_POSTGRES_BIN, `initdb` on PATH, or
#     the newest /usr/lib/postgresql/*/bin), and SQLite when they are not.
# PostgreSQL runs from postgres/data on a loopback port of its own; as root it runs as the
# `postgres` user (STACK_POSTGRES_USER), because initdb and postgres refuse to run as root.
#
# A second, private stack (the fault suite's, which it pauses and kills) runs beside the default
# one with these overrides; it keeps its data, logs and pid files in STACK_DIR, and shares the
# jars and the binary provisioned in the default .stack/ (provisioned there if missing):
#   STACK_DIR              default .stack/
#   STACK_KAFKA_PORT       default 9092
#   STACK_CONTROLLER_PORT  default 9093
#   STACK_FERRETDB_PORT    default 27017
#   STACK_POSTGRES_PORT    default 54320 for .stack/; for another folder, a free port chosen on
#                          its first start and kept in <folder>/postgres/port
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/scripts/stack"
# Jars and binaries: always the default folder, so every stack of this checkout reuses one copy.
PROVISIONED="$ROOT/.stack"
STACK=$(realpath -m "${STACK_DIR:-$PROVISIONED}")
LOGS="$STACK/logs"

KAFKA_PORT=${STACK_KAFKA_PORT:-9092}
CONTROLLER_PORT=${STACK_CONTROLLER_PORT:-9093}
FERRETDB_PORT=${STACK_FERRETDB_PORT:-27017}
FERRETDB_VERSION=v1.24.2
READY_TIMEOUT_S=${STACK_READY_TIMEOUT_S:-120}

say() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Alive only when the pid in the file is a process whose command line is ours, so a stale pid
# that the system gave to another program is never signalled.
running_pid() {
  local pidfile=$1 marker=$2 pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker" || return 1
  echo "$pid"
}

# A process started in the background runs this script's code until it execs the server, and only
# then has the command line that running_pid recognises; wait for that (or for it to be gone).
await_exec() {
  local pid=$1 marker=$2 tries=100
  while ((tries-- > 0)) && [[ -r /proc/$pid/cmdline ]]; do
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker" && return 0
    sleep 0.05
  done
}

show_log_tail() {
  local log=$1
  printf 'stack: the log is %s; its last lines:\n' "$log" >&2
  tail -n 30 "$log" 2>/dev/null | sed 's/^/    /' >&2 || true
}

require() {
  local cmd=$1 hint=$2
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is not installed; $hint"
}

# ---------------------------------------------------------------------------- Kafka

KAFKA_HOME="$STACK/kafka"
KAFKA_LIBS="$PROVISIONED/kafka/libs"
KAFKA_PID="$STACK/kafka.pid"
# Written once the broker has logged that it started; the log itself rolls over in time.
KAFKA_READY="$STACK/kafka.ready"
# The default stack keeps the marker it always had; a private one is told apart by its folder.
if [[ $STACK == "$PROVISIONED" ]]; then KAFKA_MARKER="-Dactivity-logger.stack=$ROOT"; else KAFKA_MARKER="-Dactivity-logger.stack=$STACK"; fi

kafka_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/kafka/pom.xml"; }

require_java() {
  require java "install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)."
  local major
  major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
  [[ ${major:-0} -ge 17 ]] || die "Kafka 4 needs Java 17 or newer, and 'java' is version ${major:-unknown}; install openjdk-17."
}

provision_kafka() {
  # The stamp names the pom it was made from, so changing the Kafka version re-provisions.
  local stamp="$KAFKA_LIBS/.pom-$(sha1sum "$HERE/kafka/pom.xml" | cut -c1-12)"
  [[ -f $stamp ]] && return 0
  require mvn "install Maven (Debian: apt-get install maven) to fetch the Kafka jars from Maven Central."
  say "fetching Kafka $(kafka_version) jars from Maven Central (first run only)"
  rm -rf "$KAFKA_LIBS"
  mkdir -p "$KAFKA_LIBS" "$LOGS"
  if ! mvn -B -q -f "$HERE/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" >"$LOGS/kafka-provision.log" 2>&1; then
    show_log_tail "$LOGS/kafka-provision.log"
    die "could not fetch the Kafka jars"
  fi
  touch "$stamp"
}

KAFKA_JVM=(-Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true "$KAFKA_MARKER"
  -Dkafka.logs.dir="$LOGS" -Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties"
  -cp "$KAFKA_LIBS/*")

configure_kafka() {
  mkdir -p "$KAFKA_HOME/data" "$LOGS"
  sed -e "s|@DATA_DIR@|$KAFKA_HOME/data|" -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
    -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" \
    "$HERE/kafka/server.properties.template" >"$KAFKA_HOME/server.properties"
  if [[ ! -f $KAFKA_HOME/data/meta.properties ]]; then
    # A KRaft cluster id is 16 random bytes in unpadded base64url. Like Kafka's own
    # Uuid.randomUuid, draw again when it starts with '-': the tool's argument parser
    # reads such a value as an option (1 fresh start in 64 failed on this).
    local cluster_id=-
    while [[ $cluster_id == -* ]]; do
      cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    done
    java "${KAFKA_JVM[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_HOME/server.properties" \
      >"$LOGS/kafka-format.log" 2>&1 || { show_log_tail "$LOGS/kafka-format.log"; die "could not format Kafka's storage"; }
  fi
}

start_kafka() {
  if running_pid "$KAFKA_PID" "$KAFKA_MARKER" >/dev/null; then
    say "Kafka already running (pid $(<"$KAFKA_PID"))"
    return 0
  fi
  port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is taken by a process this script did not start; stop it first."
  require_java
  provision_kafka
  configure_kafka
  say "starting Kafka $(kafka_version) on 127.0.0.1:$KAFKA_PORT"
  rm -f "$KAFKA_READY"
  : >"$LOGS/kafka.log"
  setsid nohup java "${KAFKA_JVM[@]}" kafka.Kafka "$KAFKA_HOME/server.properties" \
    >"$LOGS/kafka.out" 2>&1 </dev/null &
  echo $! >"$KAFKA_PID"
  STARTED+=(Kafka)
  await_exec $! "$KAFKA_MARKER"
}

kafka_ready() {
  port_open "$KAFKA_PORT" || return 1
  [[ -f $KAFKA_READY ]] && return 0
  grep -q 'Kafka Server started' "$LOGS/kafka.log" 2>/dev/null && touch "$KAFKA_READY"
}

# -------------------------------------------------------------------------- FerretDB

FERRET_HOME="$STACK/ferretdb"
FERRET_BIN="$PROVISIONED/ferretdb/bin/ferretdb-$FERRETDB_VERSION"
FERRET_PID="$STACK/ferretdb.pid"
# Every stack runs the same binary; its own state folder tells its process apart.
FERRET_MARKER="--state-dir=$FERRET_HOME/state"

provision_ferretdb() {
  [[ -x $FERRET_BIN ]] && return 0
  require go "install Go 1.22+ (https://go.dev/doc/install, or Debian: apt-get install golang) to build FerretDB."
  say "building FerretDB $FERRETDB_VERSION from the Go module proxy (first run only, about a minute)"
  mkdir -p "$(dirname "$FERRET_BIN")" "$LOGS" "$FERRET_HOME"
  local log="$LOGS/ferretdb-provision.log" src="$FERRET_HOME/src" dir
  {
    dir=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') &&
      [[ -n $dir ]] &&
      rm -rf "$src" && cp -r "$dir" "$src" && chmod -R u+w "$src" &&
      # The module zip lacks the generated version file, and a binary built without it panics at
      # start (FerretDB issue #2982), so it is written here before building.
      echo "$FERRETDB_VERSION" >"$src/build/version/version.txt" &&
      (cd "$src" && go build -trimpath -o "$FERRET_BIN.tmp" ./cmd/ferretdb) &&
      mv "$FERRET_BIN.tmp" "$FERRET_BIN" &&
      rm -rf "$src"
  } >"$log" 2>&1 || { show_log_tail "$log"; die "could not build FerretDB"; }
}

# The backend FerretDB runs on: the handler named on its command line.
running_backend() {
  local pid
  pid=$(running_pid "$FERRET_PID" "$FERRET_MARKER") || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" | sed -n 's/^--handler=//p'
}

start_ferretdb() {
  local running
  if running=$(running_backend); then
    say "FerretDB already running (pid $(<"$FERRET_PID"), $(backend_name "$running"))"
    [[ $running == "$BACKEND" ]] ||
      say "note: it runs on $(backend_name "$running"), not $(backend_name "$BACKEND"); 'stack.sh down' and 'up' to switch"
    return 0
  fi
  port_open "$FERRETDB_PORT" && die "port $FERRETDB_PORT is taken by a process this script did not start; stop it first."
  provision_ferretdb
  mkdir -p "$FERRET_HOME/data" "$FERRET_HOME/state" "$LOGS"
  local storage
  if [[ $BACKEND == postgresql ]]; then
    storage=(--handler=postgresql --postgresql-url="postgres://postgres@127.0.0.1:$PG_PORT/$PG_DATABASE")
  else
    storage=(--handler=sqlite --sqlite-url="file:$FERRET_HOME/data/")
  fi
  say "starting FerretDB $FERRETDB_VERSION ($(backend_name "$BACKEND")) on 127.0.0.1:$FERRETDB_PORT"
  setsid nohup "$FERRET_BIN" "${storage[@]}" \
    --listen-addr="127.0.0.1:$FERRETDB_PORT" --state-dir="$FERRET_HOME/state" \
    --telemetry=disable --debug-addr=- --log-level=warn \
    >"$LOGS/ferretdb.log" 2>&1 </dev/null &
  echo $! >"$FERRET_PID"
  STARTED+=(FerretDB)
  await_exec $! "$FERRET_MARKER"
}

ferretdb_ready() { port_open "$FERRETDB_PORT"; }

# -------------------------------------------------------------------------- PostgreSQL

PG_HOME="$STACK/postgres"
PG_DATA="$PG_HOME/data"
PG_PID="$STACK/postgres.pid"
PG_MARKER="-D $PG_DATA"
PG_DATABASE=ferretdb
PG_OS_USER=${STACK_POSTGRES_USER:-postgres}
BACKEND_FILE="$FERRET_HOME/backend"

backend_label() { if [[ $1 == postgresql ]]; then echo PostgreSQL; else echo SQLite; fi; }
backend_name() { echo "$(backend_label "$1") backend"; }

# The folder holding initdb and postgres: an explicit one, the one `initdb` on PATH lives in, or
# the newest Debian/Ubuntu install. A data folder made by another major version is never opened
# with these (postgres would refuse it); its own version's binaries are preferred when present.
find_pg_bin() {
  local dir="" made
  if [[ -n ${STACK_POSTGRES_BIN:-} ]]; then
    dir=$STACK_POSTGRES_BIN
  elif [[ -f $PG_DATA/PG_VERSION ]] && made=$(<"$PG_DATA/PG_VERSION") && [[ -x /usr/lib/postgresql/$made/bin/postgres ]]; then
    dir=/usr/lib/postgresql/$made/bin
  elif command -v initdb >/dev/null 2>&1; then
    dir=$(dirname "$(realpath "$(command -v initdb)")")
  else
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
  fi
  [[ -n $dir && -x $dir/initdb && -x $dir/postgres && -x $dir/pg_isready && -x $dir/psql ]] && echo "$dir"
}

# Runs a PostgreSQL program as the user it must run as (not root).
AS_PG=()

# Sets PG_BIN and AS_PG, or says on stdout why PostgreSQL cannot be used here and fails.
postgres_usable() {
  if ! PG_BIN=$(find_pg_bin); then
    echo "no PostgreSQL server binaries (initdb, postgres) were found"
    return 1
  fi
  ((EUID == 0)) || return 0
  if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
    echo "running as root, and there is no '$PG_OS_USER' user to run PostgreSQL as (it refuses root; STACK_POSTGRES_USER names another)"
    return 1
  fi
  command -v setpriv >/dev/null 2>&1 || { echo "running as root without setpriv (util-linux) to drop to '$PG_OS_USER'"; return 1; }
  AS_PG=(setpriv --reuid="$(id -u "$PG_OS_USER")" --regid="$(id -g "$PG_OS_USER")" --init-groups --)
  # The folder, or the nearest folder above it that exists (`up` makes the rest, searchable).
  local probe=$STACK
  while [[ ! -d $probe ]]; do probe=$(dirname "$probe"); done
  if ! "${AS_PG[@]}" test -x "$probe"; then
    echo "'$PG_OS_USER' cannot enter $STACK (a folder above it is not searchable by others)"
    return 1
  fi
}

# Sets BACKEND (postgresql or sqlite) and BACKEND_WHY, as described at the top.
choose_backend() {
  local unusable
  unusable=$(postgres_usable) && unusable=""
  # postgres_usable ran in a subshell for its message; run it again for PG_BIN and AS_PG.
  postgres_usable >/dev/null || true
  if [[ -n ${STACK_FERRETDB_BACKEND:-} ]]; then
    [[ $STACK_FERRETDB_BACKEND == postgresql || $STACK_FERRETDB_BACKEND == sqlite ]] ||
      die "STACK_FERRETDB_BACKEND must be postgresql or sqlite, not '$STACK_FERRETDB_BACKEND'"
    BACKEND=$STACK_FERRETDB_BACKEND BACKEND_WHY="asked for by STACK_FERRETDB_BACKEND"
  elif [[ -s $BACKEND_FILE ]]; then
    BACKEND=$(<"$BACKEND_FILE") BACKEND_WHY="this stack's data is there"
    [[ $BACKEND == postgresql || $BACKEND == sqlite ]] || die "$BACKEND_FILE names no backend ('$BACKEND'); delete it to choose again"
  elif compgen -G "$FERRET_HOME/data/*.sqlite" >/dev/null; then
    BACKEND=sqlite BACKEND_WHY="this stack holds SQLite data from before; to move to PostgreSQL (its data is not copied): stack.sh down, then STACK_FERRETDB_BACKEND=postgresql stack.sh up"
  elif [[ -z $unusable ]]; then
    BACKEND=postgresql BACKEND_WHY="PostgreSQL found in $PG_BIN"
  else
    BACKEND=sqlite BACKEND_WHY="$unusable"
  fi
  if [[ $BACKEND == postgresql && -n $unusable ]]; then
    die "FerretDB is to store into PostgreSQL ($BACKEND_WHY), but $unusable. STACK_FERRETDB_BACKEND=sqlite uses SQLite instead."
  fi
}

# The port: STACK_POSTGRES_PORT; else the one this folder used before; else 54320 for the default
# folder and a free one for any other (so private stacks never collide on it).
choose_pg_port() {
  if [[ -n ${STACK_POSTGRES_PORT:-} ]]; then
    PG_PORT=$STACK_POSTGRES_PORT
  elif [[ -s $PG_HOME/port ]]; then
    PG_PORT=$(<"$PG_HOME/port")
  elif [[ $STACK == "$PROVISIONED" ]]; then
    PG_PORT=54320
  else
    PG_PORT=$((20000 + RANDOM % 20000))
    while port_open "$PG_PORT"; do PG_PORT=$((20000 + RANDOM % 20000)); done
  fi
}

provision_postgres() {
  [[ -f $PG_DATA/PG_VERSION ]] && return 0
  say "creating a PostgreSQL cluster in $PG_DATA (first run only)"
  # initdb removes what it made when it fails, but not a folder left by an interrupted run.
  rm -rf "$PG_DATA"
  mkdir -p "$PG_HOME" "$LOGS"
  ((EUID != 0)) || chown "$PG_OS_USER:" "$PG_HOME"
  # Trust on loopback only (listen_addresses below): a development server with no secret to keep.
  # The C locale sorts strings by bytes, as MongoDB compares them.
  "${AS_PG[@]}" "$PG_BIN/initdb" -D "$PG_DATA" --username=postgres --auth=trust --encoding=UTF8 --locale=C \
    >"$LOGS/postgres-init.log" 2>&1 || { show_log_tail "$LOGS/postgres-init.log"; die "initdb failed"; }
}

start_postgres() {
  if running_pid "$PG_PID" "$PG_MARKER" >/dev/null; then
    PG_PORT=$(tr '\0' '\n' <"/proc/$(<"$PG_PID")/cmdline" | sed -n '/^-p$/{n;p}')
    say "PostgreSQL already running (pid $(<"$PG_PID"), 127.0.0.1:$PG_PORT)"
    return 0
  fi
  provision_postgres
  if port_open "$PG_PORT"; then
    [[ -z ${STACK_POSTGRES_PORT:-} && $STACK != "$PROVISIONED" ]] ||
      die "port $PG_PORT (PostgreSQL) is taken by a process this script did not start; stop it or set STACK_POSTGRES_PORT."
    rm -f "$PG_HOME/port"
    choose_pg_port
  fi
  echo "$PG_PORT" >"$PG_HOME/port"
  say "starting PostgreSQL $(<"$PG_DATA/PG_VERSION") on 127.0.0.1:$PG_PORT"
  # No Unix socket: its path could be too long for one under a deep checkout, and only FerretDB
  # connects. Asynchronous commit: a crash of the machine may lose the last moment of writes,
  # never consistency — fine for a development store, and inserts no longer wait on the disk.
  # Custom plans always: FerretDB names the field as a parameter, and only a plan made with its
  # value matches the field's index.
  : >"$LOGS/postgres.log"
  setsid nohup "${AS_PG[@]}" "$PG_BIN/postgres" -D "$PG_DATA" -p "$PG_PORT" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories= \
    -c synchronous_commit=off -c plan_cache_mode=force_custom_plan \
    >>"$LOGS/postgres.log" 2>&1 </dev/null &
  echo $! >"$PG_PID"
  STARTED+=(PostgreSQL)
  await_exec $! "$PG_MARKER"
}

postgres_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres -U postgres; }

# FerretDB's database and the trigger that indexes what FerretDB filters on; both idempotent.
setup_postgres() {
  local psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)
  {
    echo "SELECT 'CREATE DATABASE $PG_DATABASE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DATABASE')\\gexec" |
      "${psql[@]}" -d postgres &&
      "${psql[@]}" -d "$PG_DATABASE" -f "$HERE/postgres/containment-indexes.sql"
  } >"$LOGS/postgres-setup.log" 2>&1 || { show_log_tail "$LOGS/postgres-setup.log"; die "could not set up PostgreSQL for FerretDB"; }
}

# ------------------------------------------------------------------------------ verbs

# What this invocation of `up` started, so a failed start leaves nothing half-running behind.
STARTED=()

stop_started() {
  local i name
  # Last started first: FerretDB before the PostgreSQL it uses.
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    name=${STARTED[i]}
    case $name in
      Kafka) stop_one Kafka "$KAFKA_PID" "$KAFKA_MARKER" >&2 ;;
      FerretDB) stop_one FerretDB "$FERRET_PID" "$FERRET_MARKER" >&2 ;;
      PostgreSQL) stop_one PostgreSQL "$PG_PID" "$PG_MARKER" INT >&2 ;;
    esac
  done
}

wait_ready() {
  local name=$1 check=$2 pidfile=$3 marker=$4 log=$5 deadline=$((SECONDS + READY_TIMEOUT_S))
  until "$check"; do
    if ! running_pid "$pidfile" "$marker" >/dev/null; then
      show_log_tail "$log"
      die "$name exited during start"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$log"
      die "$name did not become ready within ${READY_TIMEOUT_S}s"
    fi
    sleep 0.5
  done
  say "$name ready"
}

# PostgreSQL is stopped with INT (its fast shutdown); TERM would wait for every client to leave.
stop_one() {
  local name=$1 pidfile=$2 marker=$3 signal=${4:-TERM} pid deadline
  if ! pid=$(running_pid "$pidfile" "$marker"); then
    rm -f "$pidfile"
    say "$name not running"
    return 0
  fi
  kill "-$signal" "$pid"
  [[ $name == Kafka ]] && rm -f "$KAFKA_READY"
  deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      say "$name did not stop within 30s; killing pid $pid"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.2
  done
  rm -f "$pidfile"
  say "$name stopped"
}

cmd_up() {
  mkdir -p "$STACK"
  choose_backend
  say "FerretDB stores into $(backend_label "$BACKEND"): $BACKEND_WHY"
  # Any failure (a missing tool, a server that does not come up) stops what this call started.
  trap 'if (($? != 0)); then stop_started; fi' EXIT
  # Kafka starts first and in the background: the JVM takes longest.
  start_kafka
  if [[ $BACKEND == postgresql ]]; then
    choose_pg_port
    start_postgres
    wait_ready PostgreSQL postgres_ready "$PG_PID" "$PG_MARKER" "$LOGS/postgres.log"
    setup_postgres
  fi
  start_ferretdb
  mkdir -p "$FERRET_HOME"
  echo "$BACKEND" >"$BACKEND_FILE"
  wait_ready FerretDB ferretdb_ready "$FERRET_PID" "$FERRET_MARKER" "$LOGS/ferretdb.log"
  wait_ready Kafka kafka_ready "$KAFKA_PID" "$KAFKA_MARKER" "$LOGS/kafka.log"
  say "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT MONGODB_URI=mongodb://127.0.0.1:$FERRETDB_PORT"
}

cmd_down() {
  stop_one Kafka "$KAFKA_PID" "$KAFKA_MARKER"
  stop_one FerretDB "$FERRET_PID" "$FERRET_MARKER"
  # Only after FerretDB, its one client; a stack that never ran PostgreSQL has no pid file.
  if [[ -f $PG_PID ]]; then stop_one PostgreSQL "$PG_PID" "$PG_MARKER" INT; fi
}

cmd_status() {
  local up=0 needed=2 pid backend port
  if pid=$(running_pid "$KAFKA_PID" "$KAFKA_MARKER") && kafka_ready; then
    say "Kafka $(kafka_version): up (pid $pid, 127.0.0.1:$KAFKA_PORT)"
    up=$((up + 1))
  else
    say "Kafka: down"
  fi
  if backend=$(running_backend) && ferretdb_ready; then
    say "FerretDB $FERRETDB_VERSION: up (pid $(<"$FERRET_PID"), 127.0.0.1:$FERRETDB_PORT, $(backend_name "$backend"))"
    up=$((up + 1))
  else
    backend=$(cat "$BACKEND_FILE" 2>/dev/null || true)
    say "FerretDB: down${backend:+ (this stack uses the $(backend_name "$backend"))}"
  fi
  if [[ $backend == postgresql ]]; then
    needed=3
    if pid=$(running_pid "$PG_PID" "$PG_MARKER"); then
      port=$(tr '\0' '\n' <"/proc/$pid/cmdline" | sed -n '/^-p$/{n;p}')
      say "PostgreSQL $(<"$PG_DATA/PG_VERSION"): up (pid $pid, 127.0.0.1:$port, data in $PG_DATA)"
      up=$((up + 1))
    else
      say "PostgreSQL: down"
    fi
  fi
  ((up == needed))
}

cmd_backend() {
  choose_backend
  say "backend $BACKEND: $BACKEND_WHY"
}

case "${1:-}" in
  up) cmd_up ;;
  backend) cmd_backend ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) die "usage: stack.sh up|down|status|backend" ;;
esac

#!/usr/bin/env bash
# The local stack: a real Apache Kafka broker (KRaft, single node) and FerretDB (a MongoDB
# wire-protocol server over SQLite), for machines without Docker.
#
#   stack.sh up       provision on first use, start what is not running, wait until both answer
#   stack.sh down     stop what this script started (by pid file), wait until it has exited
#   stack.sh status   say what runs; exit 0 only when both servers are up
#
# Everything lives in .stack/ (git-ignored): jars, the FerretDB binary, data, logs and pid files.
# Only the first `up` needs the network (Maven Central and the Go module proxy).
#
# A second, private stack (the fault suite's, which it pauses and kills) runs beside the default
# one with these overrides; it keeps its data, logs and pid files in STACK_DIR, and shares the
# jars and the binary provisioned in the default .stack/ (provisioned there if missing):
#   STACK_DIR              default .stack/
#   STACK_KAFKA_PORT       default 9092
#   STACK_CONTROLLER_PORT  default 9093
#   STACK_FERRETDB_PORT    default 27017
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
  mkdir -p "$(dirname "$FERRET_BIN")" "$LOGS"
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

start_ferretdb() {
  if running_pid "$FERRET_PID" "$FERRET_MARKER" >/dev/null; then
    say "FerretDB already running (pid $(<"$FERRET_PID"))"
    return 0
  fi
  port_open "$FERRETDB_PORT" && die "port $FERRETDB_PORT is taken by a process this script did not start; stop it first."
  provision_ferretdb
  mkdir -p "$FERRET_HOME/data" "$FERRET_HOME/state" "$LOGS"
  say "starting FerretDB $FERRETDB_VERSION (SQLite) on 127.0.0.1:$FERRETDB_PORT"
  setsid nohup "$FERRET_BIN" --handler=sqlite --sqlite-url="file:$FERRET_HOME/data/" \
    --listen-addr="127.0.0.1:$FERRETDB_PORT" --state-dir="$FERRET_HOME/state" \
    --telemetry=disable --debug-addr=- --log-level=warn \
    >"$LOGS/ferretdb.log" 2>&1 </dev/null &
  echo $! >"$FERRET_PID"
  STARTED+=(FerretDB)
  await_exec $! "$FERRET_MARKER"
}

ferretdb_ready() { port_open "$FERRETDB_PORT"; }

# ------------------------------------------------------------------------------ verbs

# What this invocation of `up` started, so a failed start leaves nothing half-running behind.
STARTED=()

stop_started() {
  local name
  for name in "${STARTED[@]}"; do
    case $name in
      Kafka) stop_one Kafka "$KAFKA_PID" "$KAFKA_MARKER" >&2 ;;
      FerretDB) stop_one FerretDB "$FERRET_PID" "$FERRET_MARKER" >&2 ;;
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

stop_one() {
  local name=$1 pidfile=$2 marker=$3 pid deadline
  if ! pid=$(running_pid "$pidfile" "$marker"); then
    rm -f "$pidfile"
    say "$name not running"
    return 0
  fi
  kill -TERM "$pid"
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
  # Any failure (a missing tool, a server that does not come up) stops what this call started.
  trap 'if (($? != 0)); then stop_started; fi' EXIT
  # Both start at once; the JVM takes longest, so FerretDB is usually ready first.
  start_kafka
  start_ferretdb
  wait_ready FerretDB ferretdb_ready "$FERRET_PID" "$FERRET_MARKER" "$LOGS/ferretdb.log"
  wait_ready Kafka kafka_ready "$KAFKA_PID" "$KAFKA_MARKER" "$LOGS/kafka.log"
  say "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT MONGODB_URI=mongodb://127.0.0.1:$FERRETDB_PORT"
}

cmd_down() {
  stop_one Kafka "$KAFKA_PID" "$KAFKA_MARKER"
  stop_one FerretDB "$FERRET_PID" "$FERRET_MARKER"
}

cmd_status() {
  local up=0 pid
  if pid=$(running_pid "$KAFKA_PID" "$KAFKA_MARKER") && kafka_ready; then
    say "Kafka $(kafka_version): up (pid $pid, 127.0.0.1:$KAFKA_PORT)"
    up=$((up + 1))
  else
    say "Kafka: down"
  fi
  if pid=$(running_pid "$FERRET_PID" "$FERRET_MARKER") && ferretdb_ready; then
    say "FerretDB $FERRETDB_VERSION: up (pid $pid, 127.0.0.1:$FERRETDB_PORT)"
    up=$((up + 1))
  else
    say "FerretDB: down"
  fi
  ((up == 2))
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) die "usage: stack.sh up|down|status" ;;
esac

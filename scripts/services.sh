# shellcheck shell=bash
# Throwaway services for the tests: a PostgreSQL 15 and a real single-node
# OpenSearch 2.19 (services/opensearch-node, built from Maven Central).
#
# Sourced by scripts/test.sh; usable by hand too:
#
#   source scripts/services.sh
#   services_start     # exports LOGINGEST_PG_URL, LOGINGEST_ES_URL, LOGINGEST_REQUIRE_SERVICES=1
#   cargo test -p logingest-pg
#   services_stop      # stops what services_start started, removes its temp dirs
#
# A service whose URL is already set (LOGINGEST_PG_URL, LOGINGEST_ES_URL) is
# neither started nor stopped: the tests use it as given.
#
# Knobs: LOGINGEST_PG_BIN (PostgreSQL bin dir, default /usr/lib/postgresql/15/bin),
# LOGINGEST_ES_JAVA_OPTS (default "-Xms512m -Xmx1g"), LOGINGEST_ES_START_TIMEOUT
# (seconds, default 120). See docs/testing.md ("Services").

_svc_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# State of what services_start started (kept if this file is sourced again).
: "${_svc_pg_dir:=}" "${_svc_pg_bin:=}" "${_svc_pg_user:=}"
: "${_svc_es_dir:=}" "${_svc_es_pid:=}" "${_svc_set_require:=}" "${_svc_watch:=}"

_svc_say() { printf 'services: %s\n' "$*"; }
_svc_err() { printf 'services: error: %s\n' "$*" >&2; }

_svc_now() { printf '%s' "${EPOCHREALTIME:-$(date +%s.%N)}"; }
_svc_since() { awk -v a="$1" -v b="$(_svc_now)" 'BEGIN { printf "%.1fs", b - a }'; }

# A free TCP port on the loopback interface.
_svc_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Prints the last lines of each file that exists, to stderr.
_svc_tail() {
  local f
  for f in "$@"; do
    if [[ -s $f ]]; then
      printf -- '--- last lines of %s\n' "$f" >&2
      tail -n 40 "$f" >&2
    fi
  done
}

# ---------------------------------------------------------------- PostgreSQL

_svc_pg_find_bin() {
  local d
  if [[ -n ${LOGINGEST_PG_BIN:-} ]]; then
    if [[ -x $LOGINGEST_PG_BIN/initdb && -x $LOGINGEST_PG_BIN/pg_ctl ]]; then
      printf '%s' "$LOGINGEST_PG_BIN"
      return 0
    fi
    _svc_err "LOGINGEST_PG_BIN=$LOGINGEST_PG_BIN has no initdb/pg_ctl"
    return 1
  fi
  for d in /usr/lib/postgresql/15/bin /usr/pgsql-15/bin; do
    if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
      printf '%s' "$d"
      return 0
    fi
  done
  _svc_err "PostgreSQL 15 server binaries (initdb, pg_ctl, postgres) not found in" \
    "/usr/lib/postgresql/15/bin: install postgresql-15, set LOGINGEST_PG_BIN to their" \
    "directory, or point the tests at a running server with LOGINGEST_PG_URL"
  return 1
}

# Runs a command as the PostgreSQL user (initdb and postgres refuse root), from /.
_svc_as_pg() {
  if [[ -n $_svc_pg_user ]]; then
    (cd / && runuser -u "$_svc_pg_user" -- "$@")
  else
    (cd / && "$@")
  fi
}

_svc_pg_start() {
  local t0 bin dir port pw try started=
  t0=$(_svc_now)
  bin=$(_svc_pg_find_bin) || return 1

  local base=${TMPDIR:-/tmp}
  if [[ $EUID -eq 0 ]]; then
    if id -u postgres >/dev/null 2>&1; then
      _svc_pg_user=postgres
    else
      _svc_pg_user=logingest-pg
      if ! id -u "$_svc_pg_user" >/dev/null 2>&1 &&
        ! useradd --system --no-create-home --shell /usr/sbin/nologin "$_svc_pg_user"; then
        _svc_err "running as root and there is no postgres user; could not create user $_svc_pg_user"
        return 1
      fi
    fi
    base=/tmp # root's TMPDIR may not be reachable for that user
  fi

  dir=$(mktemp -d "$base/logingest-pg.XXXXXX") || { _svc_err "mktemp failed in $base"; return 1; }
  _svc_pg_dir=$dir
  _svc_pg_bin=$bin
  pw=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  printf '%s\n' "$pw" >"$dir/pwfile"
  if [[ -n $_svc_pg_user ]]; then
    chown -R "$_svc_pg_user:" "$dir"
  fi

  # Superuser "logingest" with a password for TCP; trust on the private socket.
  if ! _svc_as_pg "$bin/initdb" -D "$dir/data" -U logingest --pwfile="$dir/pwfile" \
    --auth-host=scram-sha-256 --auth-local=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1; then
    _svc_tail "$dir/initdb.log"
    _svc_err "initdb failed (PostgreSQL binaries in $bin)"
    return 1
  fi
  rm -f "$dir/pwfile"

  # The port is picked free just before; retry if something took it meanwhile.
  for try in 1 2 3; do
    port=$(_svc_free_port)
    # postgresql.conf: the last setting wins, so a retry just appends again.
    cat >>"$dir/data/postgresql.conf" <<EOF

# logingest test instance (scripts/services.sh)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = on                 # durability tests depend on it
synchronous_commit = on
full_page_writes = on
log_min_messages = warning
EOF
    if _svc_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null 2>&1; then
      started=1
      break
    fi
    if ! grep -q 'could not bind\|already in use' "$dir/postgres.log" 2>/dev/null; then
      break
    fi
  done
  if [[ -z $started ]]; then
    _svc_tail "$dir/postgres.log"
    _svc_err "PostgreSQL did not start (data dir $dir/data)"
    return 1
  fi
  if ! "$bin/pg_isready" -q -h "$dir" -p "$port" -t 30; then
    _svc_tail "$dir/postgres.log"
    _svc_err "PostgreSQL is not ready on port $port"
    return 1
  fi
  if ! _svc_as_pg "$bin/createdb" -h "$dir" -p "$port" -U logingest logingest; then
    _svc_err "createdb logingest failed"
    return 1
  fi

  local url="postgres://logingest:$pw@127.0.0.1:$port/logingest"
  # The URL as the tests will use it: TCP, password.
  if ! "$bin/psql" "$url" -XAtqc 'select 1' >/dev/null; then
    _svc_tail "$dir/postgres.log"
    _svc_err "cannot connect to $url"
    return 1
  fi
  export LOGINGEST_PG_URL=$url
  _svc_say "PostgreSQL $("$bin/postgres" --version | awk '{ print $3 }') at $url (started in $(_svc_since "$t0"), dir $dir)"
}

_svc_pg_stop() {
  [[ -n $_svc_pg_dir ]] || return 0
  local dir=$_svc_pg_dir pid
  if [[ -f $dir/data/postmaster.pid ]]; then
    if ! _svc_as_pg "$_svc_pg_bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
      pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
      if [[ $pid =~ ^[0-9]+$ ]]; then
        _svc_err "pg_ctl stop failed; killing postmaster $pid"
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
  fi
  rm -rf "$dir"
  _svc_pg_dir=
  unset LOGINGEST_PG_URL
}

# ---------------------------------------------------------------- OpenSearch

_svc_es_src=$_svc_root/services/opensearch-node

# Builds the launcher and its classpath dir when missing or older than its
# sources. Offline first (everything is in ~/.m2 after the first build).
_svc_es_build() {
  local src=$_svc_es_src fd rc=0
  local stamp=$src/target/.built log=$src/target/build.log
  if ! command -v mvn >/dev/null; then
    _svc_err "Maven (mvn) not found: it builds the OpenSearch test node (services/opensearch-node);" \
      "install Maven or point the tests at a running node with LOGINGEST_ES_URL"
    return 1
  fi
  mkdir -p "$src/target"
  exec {fd}>"$src/target/.lock"
  if command -v flock >/dev/null; then
    flock "$fd" # two test runs in one tree build one at a time
  fi
  if [[ -f $stamp && -z $(find "$src/pom.xml" "$src/src" -newer "$stamp" -print -quit) ]]; then
    exec {fd}>&-
    return 0
  fi
  _svc_say "building the OpenSearch test node (services/opensearch-node)"
  rm -rf "$src/target/classes" "$src/target/classpath" "$stamp"
  local goals=(-B -q -Dstyle.color=never -f "$src/pom.xml" compile dependency:copy-dependencies)
  if ! mvn -o "${goals[@]}" >"$log" 2>&1; then
    mvn "${goals[@]}" >>"$log" 2>&1 || rc=$?
  fi
  if [[ $rc -eq 0 ]]; then
    touch "$stamp"
  fi
  exec {fd}>&-
  if [[ $rc -ne 0 ]]; then
    _svc_tail "$log"
    _svc_err "building the OpenSearch test node failed (mvn exit $rc, log $log)"
    return 1
  fi
}

_svc_java() {
  local java=java
  if [[ -n ${JAVA_HOME:-} ]]; then
    java=$JAVA_HOME/bin/java
  fi
  if ! command -v "$java" >/dev/null; then
    _svc_err "java not found: the OpenSearch test node needs Java 17+ (or set LOGINGEST_ES_URL)"
    return 1
  fi
  local v
  v=$("$java" -version 2>&1 | awk -F'"' '/version/ { split($2, p, "."); print p[1]; exit }')
  if ! [[ $v =~ ^[0-9]+$ ]] || [[ $v -lt 17 ]]; then
    _svc_err "the OpenSearch test node needs Java 17+, $java is version ${v:-unknown}"
    return 1
  fi
  printf '%s' "$java"
}

# True while the process is running (a zombie counts as gone).
_svc_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)
  [[ $state != Z ]]
}

_svc_es_start() {
  local t0 tb java dir port pid opts rem health
  t0=$(_svc_now)
  java=$(_svc_java) || return 1
  tb=$(_svc_now)
  _svc_es_build || return 1
  local build_took
  build_took=$(_svc_since "$tb")

  dir=$(mktemp -d "${TMPDIR:-/tmp}/logingest-os.XXXXXX") || { _svc_err "mktemp failed"; return 1; }
  _svc_es_dir=$dir
  mkdir -p "$dir/tmp"
  port=$(_svc_free_port)
  read -r -a opts <<<"${LOGINGEST_ES_JAVA_OPTS:--Xms512m -Xmx1g}"
  # As the OpenSearch 2.x distribution's jvm.options, where it matters here.
  opts+=(-XX:+UseG1GC -XX:-OmitStackTraceInFastThrow -Dfile.encoding=UTF-8
    -Djava.locale.providers=SPI,COMPAT "-Djava.io.tmpdir=$dir/tmp")
  "$java" "${opts[@]}" -cp "$_svc_es_src/target/classes:$_svc_es_src/target/classpath/*" \
    dev.logingest.testnode.Main --http-port "$port" --dir "$dir/node" --exit-with "$$" \
    </dev/null >"$dir/node.out" 2>&1 &
  pid=$!
  _svc_es_pid=$pid

  local deadline=$((SECONDS + ${LOGINGEST_ES_START_TIMEOUT:-120}))
  while :; do
    if ! _svc_alive "$pid"; then
      _svc_tail "$dir/node.out" "$dir/node/logs/logingest-test.log"
      _svc_err "the OpenSearch test node exited during start (see above)"
      return 1
    fi
    rem=$((deadline - SECONDS))
    if [[ $rem -le 0 ]]; then
      _svc_tail "$dir/node.out" "$dir/node/logs/logingest-test.log"
      _svc_err "the OpenSearch test node was not ready within ${LOGINGEST_ES_START_TIMEOUT:-120} s"
      return 1
    fi
    if [[ $rem -gt 60 ]]; then
      rem=60
    fi
    if health=$(curl -sS --max-time $((rem + 5)) \
      "http://127.0.0.1:$port/_cluster/health?wait_for_status=yellow&timeout=${rem}s" 2>/dev/null) &&
      [[ $health == *'"cluster_name":"logingest-test"'* && $health == *'"timed_out":false'* ]]; then
      break
    fi
    sleep 0.3
  done
  local version
  version=$(curl -sS --max-time 10 "http://127.0.0.1:$port/" | sed -n 's/.*"number" *: *"\([^"]*\)".*/\1/p')
  export LOGINGEST_ES_URL=http://127.0.0.1:$port
  _svc_say "OpenSearch $version at $LOGINGEST_ES_URL (started in $(_svc_since "$t0"), build check $build_took, pid $pid, dir $dir)"
}

_svc_es_stop() {
  local pid=$_svc_es_pid i
  if [[ -n $pid ]]; then
    # Only our launcher: the pid may have been reused if it died long ago.
    if _svc_alive "$pid" && grep -qa 'dev.logingest.testnode.Main' "/proc/$pid/cmdline" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < 300; i++)); do
        _svc_alive "$pid" || break
        sleep 0.1
      done
      if _svc_alive "$pid"; then
        _svc_err "the OpenSearch test node (pid $pid) did not stop in 30 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    wait "$pid" 2>/dev/null || true # reap it when it is our child
    _svc_es_pid=
  fi
  if [[ -n $_svc_es_dir ]]; then
    rm -rf "$_svc_es_dir"
    _svc_es_dir=
    unset LOGINGEST_ES_URL
  fi
}

# ---------------------------------------------------------------- public

# If this shell dies without running services_stop (SIGKILL), a watcher
# stops what we started and removes the temp dirs anyway. The OpenSearch
# node also watches this shell itself (--exit-with), from its first second.
_svc_watch_start() {
  local pg_dir=$_svc_pg_dir pg_bin=$_svc_pg_bin es_dir=$_svc_es_dir es_pid=$_svc_es_pid
  if [[ -z $pg_dir && -z $es_dir ]]; then
    return 0
  fi
  (
    set +e
    while kill -0 "$$" 2>/dev/null; do sleep 2; done
    if [[ -n $pg_dir ]]; then
      _svc_as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w -t 30 stop
    fi
    if [[ -n $es_pid ]]; then
      for ((i = 0; i < 300; i++)); do
        kill -0 "$es_pid" 2>/dev/null || break
        sleep 0.1
      done
      if grep -qa 'dev.logingest.testnode.Main' "/proc/$es_pid/cmdline"; then
        kill -KILL "$es_pid"
      fi
    fi
    rm -rf "$pg_dir" "$es_dir"
  ) </dev/null >/dev/null 2>&1 &
  _svc_watch=$!
}

_svc_watch_stop() {
  if [[ -n $_svc_watch ]]; then
    kill "$_svc_watch" 2>/dev/null || true
    wait "$_svc_watch" 2>/dev/null || true
    _svc_watch=
  fi
}

services_start() {
  if ! command -v python3 >/dev/null || ! command -v curl >/dev/null; then
    _svc_err "python3 and curl are needed to start the test services"
    return 1
  fi
  if [[ -z ${LOGINGEST_PG_URL:-} ]]; then
    if ! _svc_pg_start; then
      services_stop
      return 1
    fi
  else
    export LOGINGEST_PG_URL
    _svc_say "PostgreSQL: using LOGINGEST_PG_URL as given"
  fi
  if [[ -z ${LOGINGEST_ES_URL:-} ]]; then
    if ! _svc_es_start; then
      services_stop
      return 1
    fi
  else
    export LOGINGEST_ES_URL
    _svc_say "OpenSearch/Elasticsearch: using LOGINGEST_ES_URL=$LOGINGEST_ES_URL as given"
  fi
  if [[ -z ${LOGINGEST_REQUIRE_SERVICES:-} ]]; then
    _svc_set_require=1
  fi
  # Tests that need PG/ES fail instead of skipping when this is set.
  export LOGINGEST_REQUIRE_SERVICES=1
  _svc_watch_stop
  _svc_watch_start
}

services_stop() {
  _svc_watch_stop
  _svc_es_stop
  _svc_pg_stop
  if [[ -n $_svc_set_require ]]; then
    unset LOGINGEST_REQUIRE_SERVICES
    _svc_set_require=
  fi
}

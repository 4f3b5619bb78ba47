#!/usr/bin/env bash
# A streaming replica (hot standby) of the local PostgreSQL, for tests that read from a standby.
#
#   bash .ci/replica.sh start    # create (pg_basebackup) or start the standby; no-op when it already streams
#   bash .ci/replica.sh stop     # fast shutdown, the data directory is kept (next start is quick)
#   bash .ci/replica.sh status   # exit 0 when running as a streaming standby, 3 otherwise
#
# Primary: 127.0.0.1:${PRIMARY_PORT:-5432}, user postgres, trust auth (as .ci/run sets it up).
# Standby: 127.0.0.1:${REPLICA_PORT:-5433}, data in ${REPLICA_DIR:-/var/lib/postgresql/agent-memory-replica}
# (agent-memory-replica-<port> for another REPLICA_PORT), log in /var/log/postgresql/agent-memory-replica*.log,
# owned by the postgres OS user (PostgreSQL refuses to run as root). Each command prints one line.
# Idempotent and safe to run concurrently (an flock serialises start/stop) and from any cwd.
set -euo pipefail
cd /   # the postgres OS user must be able to enter the cwd; every path below is absolute

PRIMARY_HOST=127.0.0.1
PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5433}
[[ $REPLICA_PORT == 5433 ]] && NAME=agent-memory-replica || NAME=agent-memory-replica-$REPLICA_PORT
REPLICA_DIR=${REPLICA_DIR:-/var/lib/postgresql/$NAME}
REPLICA_DIR=${REPLICA_DIR%/}
if [[ -d /var/log/postgresql ]]; then DEFAULT_LOG=/var/log/postgresql/$NAME.log
else DEFAULT_LOG=$REPLICA_DIR.log; fi
REPLICA_LOG=${REPLICA_LOG:-$DEFAULT_LOG}
SOCKET_DIR=${REPLICA_SOCKET_DIR:-/var/run/postgresql}
MARKER=agent-memory-replica.marker        # written into every data directory this script creates
LOCK=/tmp/agent-memory-replica-$REPLICA_PORT.lock

say() { echo "replica: $*"; }
die() { echo "replica: ERROR: $*" >&2; exit 1; }

[[ $REPLICA_DIR == /?*/* ]] || die "REPLICA_DIR must be an absolute path below some directory (got '$REPLICA_DIR')"

# Run a PostgreSQL binary as the postgres OS user (we are usually root).
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Binaries: those of the primary's major version; before we know it, the newest installed.
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
[[ -n $BIN && -x $BIN/psql ]] || die "no PostgreSQL binaries under /usr/lib/postgresql/*/bin"

# psql against 127.0.0.1:<port> as postgres; fields separated by '|'.
q() {
  local port=$1; shift
  PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-3} "$BIN/psql" -X -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -w -Atq -v ON_ERROR_STOP=1 "$@"
}

# "t|<data_directory>|<walreceiver status>" when something answers on REPLICA_PORT, else empty.
probe() {
  q "$REPLICA_PORT" -c "SELECT pg_is_in_recovery(), current_setting('data_directory'),
                               coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')" 2>/dev/null || true
}
is_ours_streaming() { [[ $(probe) == "t|$REPLICA_DIR|streaming" ]]; }

# The replica's own binaries (stop/status must work while the primary is down).
replica_bin() {
  local v
  v=$(cat "$REPLICA_DIR/PG_VERSION" 2>/dev/null || true)
  if [[ -n $v && -x /usr/lib/postgresql/$v/bin/pg_ctl ]]; then echo "/usr/lib/postgresql/$v/bin"; else echo "$BIN"; fi
}
pg_running() { [[ -f $REPLICA_DIR/PG_VERSION ]] && as_pg "$(replica_bin)/pg_ctl" -D "$REPLICA_DIR" status >/dev/null 2>&1; }
pg_stop() {
  local out
  out=$(as_pg "$(replica_bin)/pg_ctl" -D "$REPLICA_DIR" -m fast -w -t 60 stop 2>&1) || { [[ ${1:-} == quiet ]] || echo "$out" >&2; return 1; }
}

log_size() { stat -c %s "$REPLICA_LOG" 2>/dev/null || echo 0; }

# Wait up to $1 tenths of a second until our standby streams from the primary and has all the WAL the
# primary had flushed when we began (a WAL receiver reports "streaming" for a moment even when the primary
# no longer has the WAL it asks for). Received or replayed: after a restart on an idle primary,
# pg_last_wal_receive_lsn() stays at the segment start until new WAL arrives (the WAL receiver does not
# flush bytes the standby already had), while replay is already at the primary's position. Gives up at once when the log written since byte $2
# shows the standby can never catch up (WAL removed, other cluster, forked timeline): it must be recreated.
wait_streaming() {
  local i target
  target=$(q "$PRIMARY_PORT" -c 'SELECT pg_current_wal_flush_lsn()')
  for ((i = 0; i < $1; i++)); do
    if is_ours_streaming &&
      [[ $(q "$REPLICA_PORT" -c "SELECT greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) >= '$target'" 2>/dev/null) == t ]]; then
      return 0
    fi
    tail -c +$((${2:-0} + 1)) "$REPLICA_LOG" 2>/dev/null |
      grep -Eq 'has already been removed|system identifier differs|is not a child of|timeline [0-9]+ .*(not in|forked)' && return 1
    sleep 0.1
  done
  return 1
}

log_tail() { tail -n 15 "$REPLICA_LOG" 2>/dev/null | sed 's/^/  | /' >&2 || true; }

# --- the primary ------------------------------------------------------------------------------
primary_settings() {
  q "$PRIMARY_PORT" -c "SELECT current_setting('server_version_num')::int / 10000, current_setting('wal_level'),
                               current_setting('max_wal_senders'), current_setting('hba_file'),
                               current_setting('data_directory'),
                               (SELECT system_identifier FROM pg_control_system())" 2>/dev/null ||
    die "primary 127.0.0.1:$PRIMARY_PORT not reachable as postgres (start it: pg_ctlcluster --skip-systemctl-redirect 15 main start)"
}

# Make sure the primary can feed a standby: wal_level, wal senders, a pg_hba "host replication" trust line.
prepare_primary() {
  local major wal_level senders hba
  IFS='|' read -r major wal_level senders hba PRIMARY_DATA PRIMARY_SYSID <<<"$(primary_settings)"
  BIN=/usr/lib/postgresql/$major/bin
  [[ -x $BIN/pg_basebackup && -x $BIN/pg_ctl ]] || die "PostgreSQL $major binaries not found in $BIN"
  [[ $wal_level == replica || $wal_level == logical ]] ||
    die "primary has wal_level=$wal_level; needs replica or logical (ALTER SYSTEM SET wal_level = replica; then restart it)"
  ((senders > 0)) || die "primary has max_wal_senders=0 (ALTER SYSTEM SET max_wal_senders = 10; then restart it)"
  [[ $REPLICA_DIR != "$PRIMARY_DATA" ]] || die "REPLICA_DIR is the primary's data directory"

  if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+(postgres|all)[[:space:]]+127\.0\.0\.1(/32)?[[:space:]]+trust([[:space:]]|$)' "$hba"; then
    printf '\n# Added by agent-memory .ci/replica.sh: streaming replication for the test hot standby.\nhost    replication     postgres        127.0.0.1/32            trust\n' >>"$hba" ||
      die "cannot append a replication line to $hba"
    q "$PRIMARY_PORT" -c 'SELECT pg_reload_conf()' >/dev/null
    HBA_CHANGED=" (added 'host replication postgres 127.0.0.1/32 trust' to $hba and reloaded)"
  fi
  # The real test: a replication connection (the reload above is asynchronous, hence the retries).
  local i
  for ((i = 0; i < 30; i++)); do
    "$BIN/psql" -X -w -Atq "host=127.0.0.1 port=$PRIMARY_PORT user=postgres dbname=postgres replication=true" \
      -c IDENTIFY_SYSTEM >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "primary refuses replication connections from postgres@127.0.0.1 (check $hba: an earlier line may match first)"
}

# --- the standby ------------------------------------------------------------------------------
# A data directory this script made, of the primary's major version and cluster (system identifier)?
usable_dir() {
  [[ -f $REPLICA_DIR/$MARKER && -f $REPLICA_DIR/standby.signal && -f $REPLICA_DIR/postgresql.conf ]] || return 1
  [[ $(cat "$REPLICA_DIR/PG_VERSION" 2>/dev/null) == "$(basename "$(dirname "$BIN")")" ]] || return 1
  local sysid
  sysid=$(as_pg "$BIN/pg_controldata" -D "$REPLICA_DIR" 2>/dev/null | sed -n 's/^Database system identifier:[[:space:]]*//p')
  [[ $sysid == "$PRIMARY_SYSID" ]] && grep -q "port = $REPLICA_PORT\$" "$REPLICA_DIR/postgresql.conf"
}

remove_dir() {
  local dir=$1
  [[ -e $dir ]] || return 0
  if [[ -n $(ls -A "$dir" 2>/dev/null) && ! -f $dir/$MARKER ]]; then
    die "refusing to delete $dir: it was not created by replica.sh (no $MARKER); remove it or set REPLICA_DIR"
  fi
  rm -rf "$dir"
}

# Settings written into the standby's postgresql.conf: the primary's own (so sessions behave the same:
# TimeZone, DateStyle, ...), minus those naming the primary's files/ports, plus the hot-standby minimums.
replica_conf() {
  cat <<EOF
# Written by agent-memory .ci/replica.sh: a hot standby of 127.0.0.1:$PRIMARY_PORT for tests.
# Rewritten whenever the replica is recreated; do not edit.
EOF
  q "$PRIMARY_PORT" -c "
    SELECT name || ' = ''' || replace(setting, '''', '''''') || ''''
    FROM pg_settings
    WHERE source = 'configuration file'
      AND name NOT IN ('port', 'listen_addresses', 'unix_socket_directories', 'cluster_name', 'external_pid_file',
                       'data_directory', 'hba_file', 'ident_file', 'config_file', 'hot_standby',
                       'logging_collector', 'log_directory', 'log_filename', 'primary_conninfo',
                       'primary_slot_name', 'restore_command', 'archive_mode', 'archive_command',
                       'max_connections', 'max_worker_processes', 'max_wal_senders',
                       'max_prepared_transactions', 'max_locks_per_transaction')
      AND name NOT LIKE 'recovery%'
    ORDER BY name"
  # A hot standby refuses to start when any of these is lower than on the primary.
  q "$PRIMARY_PORT" -c "
    SELECT name || ' = ' || setting FROM pg_settings
    WHERE name IN ('max_connections', 'max_worker_processes', 'max_wal_senders',
                   'max_prepared_transactions', 'max_locks_per_transaction')
    ORDER BY name"
  cat <<EOF
listen_addresses = '127.0.0.1'
port = $REPLICA_PORT
unix_socket_directories = '$SOCKET_DIR'
cluster_name = '$NAME'
hba_file = '$REPLICA_DIR/pg_hba.conf'
ident_file = '$REPLICA_DIR/pg_ident.conf'
hot_standby = on
logging_collector = off
EOF
}

# pg_basebackup into $REPLICA_DIR.new, configure it, then rename: $REPLICA_DIR is complete or absent.
create_replica() {
  local new=$REPLICA_DIR.new
  remove_dir "$new"
  install -d -o postgres -g postgres -m 700 "$new"
  as_pg "$BIN/pg_basebackup" 9>&- -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -w -D "$new" -R -X stream \
    --checkpoint=fast >/dev/null 2>"$new.err" || { cat "$new.err" >&2; rm -f "$new.err"; die "pg_basebackup failed"; }
  rm -f "$new.err"
  replica_conf >"$new/postgresql.conf"
  printf '%s\n' 'local   all             all                                     trust' \
                'host    all             all             127.0.0.1/32            trust' \
                'host    replication     all             127.0.0.1/32            trust' >"$new/pg_hba.conf"
  : >"$new/pg_ident.conf"
  chown postgres:postgres "$new/postgresql.conf" "$new/pg_hba.conf" "$new/pg_ident.conf"
  chmod 600 "$new/postgresql.conf" "$new/pg_hba.conf" "$new/pg_ident.conf"
  # postgresql.auto.conf (copied from the primary, plus -R's primary_conninfo) is read last and would win.
  local auto=$new/postgresql.auto.conf
  grep -Ev '^[[:space:]]*(port|listen_addresses|unix_socket_directories|cluster_name|external_pid_file|data_directory|hba_file|ident_file|hot_standby|logging_collector)[[:space:]]*=' \
    "$auto" >"$auto.tmp" || true
  cat "$auto.tmp" >"$auto" && rm -f "$auto.tmp"
  as_pg touch "$new/$MARKER"
  remove_dir "$REPLICA_DIR"
  mv "$new" "$REPLICA_DIR"
}

# 9>&-: the postmaster must not inherit (and so keep holding) the flock on $LOCK.
start_pg() {
  local out
  [[ -d $SOCKET_DIR ]] || install -d -o postgres -g postgres -m 2775 "$SOCKET_DIR"
  [[ -e $REPLICA_LOG ]] || install -o postgres -g postgres -m 640 /dev/null "$REPLICA_LOG"
  out=$(as_pg "$BIN/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_LOG" -w -t 60 start 2>&1 9>&-) || { echo "$out" >&2; return 1; }
}

cmd_start() {
  local t0=${EPOCHREALTIME/./} state how
  # Fast path: our standby answers, is in recovery and its WAL receiver streams.
  is_ours_streaming && { say "already running on 127.0.0.1:$REPLICA_PORT (hot standby, streaming; $REPLICA_DIR)"; return; }

  exec 9>"$LOCK"
  flock -w 600 9 || die "timed out waiting for $LOCK"
  is_ours_streaming && { say "already running on 127.0.0.1:$REPLICA_PORT (started concurrently)"; return; }

  HBA_CHANGED=""
  prepare_primary

  state=$(probe)
  if [[ -n $state && $state != *"|$REPLICA_DIR|"* ]]; then
    die "port $REPLICA_PORT is taken by another server (${state#*|}); set REPLICA_PORT"
  fi
  if [[ -n $state ]]; then
    # Ours but not streaming (yet): the WAL receiver retries every wal_retrieve_retry_interval (5s).
    if [[ $state == t\|* ]] && wait_streaming 70 "$(log_size)"; then
      say "already running on 127.0.0.1:$REPLICA_PORT (hot standby, streaming again)$HBA_CHANGED"; return
    fi
    pg_stop quiet || true
  elif pg_running; then
    pg_stop quiet || true   # running but not answering on REPLICA_PORT (another port, or hung)
  fi

  how="started existing"
  local offset
  offset=$(log_size)
  if usable_dir && start_pg && wait_streaming 150 "$offset"; then :; else
    pg_running && { pg_stop quiet || true; }
    how="created (pg_basebackup)"
    create_replica
    offset=$(log_size)
    start_pg || { log_tail; die "pg_ctl start failed (log: $REPLICA_LOG)"; }
    wait_streaming 300 "$offset" || { log_tail; die "standby did not start streaming from the primary (log: $REPLICA_LOG)"; }
  fi
  local ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
  say "$how hot standby on 127.0.0.1:$REPLICA_PORT in $((ms / 1000)).$(printf %03d $((ms % 1000)))s ($REPLICA_DIR, log $REPLICA_LOG)$HBA_CHANGED"
}

cmd_stop() {
  exec 9>"$LOCK"
  flock -w 600 9 || die "timed out waiting for $LOCK"
  if pg_running; then
    pg_stop
    say "stopped (127.0.0.1:$REPLICA_PORT, data kept in $REPLICA_DIR)"
  else
    say "not running"
  fi
}

cmd_status() {
  local state lag
  state=$(probe)
  if [[ $state == "t|$REPLICA_DIR|"* ]]; then
    lag=$(q "$REPLICA_PORT" -c "SELECT greatest(0, pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())) || ' bytes unreplayed, last replayed xact ' || coalesce(round(extract(epoch FROM now() - pg_last_xact_replay_timestamp()))::text || 's ago', 'none')" 2>/dev/null || true)
    say "running on 127.0.0.1:$REPLICA_PORT (hot standby, WAL receiver ${state##*|}; $lag)"
    [[ $state == *"|streaming" ]] || exit 3
  elif [[ $state == "f|$REPLICA_DIR|"* ]]; then
    say "running on 127.0.0.1:$REPLICA_PORT but promoted (not in recovery); 'start' recreates it"; exit 3
  elif [[ -n $state ]]; then
    say "127.0.0.1:$REPLICA_PORT answers but is another server (data directory ${state#*|}); set REPLICA_PORT"; exit 3
  elif pg_running; then
    say "running but not answering on 127.0.0.1:$REPLICA_PORT"; exit 3
  else
    if [[ -d $REPLICA_DIR ]]; then say "not running (data kept in $REPLICA_DIR)"; else say "not running (no data directory)"; fi
    exit 3
  fi
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

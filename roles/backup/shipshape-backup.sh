#!/bin/sh
# shipshape-backup: installed by shipshape's backup role (a re-run of the role replaces local edits).
#   run [--time 'YYYY-MM-DD HH:MM:SS']    dump, check, keep locally, send off-site, prune (what cron runs)
#   list                                  local copies, off-site snapshots, the last run's result
#   verify                                restore the newest snapshot into scratch and compare with its manifest
#   restore-db TARGET/DATABASE --yes [--snapshot ID]       put a database back into its live container
#   restore-paths --target DIR --yes [--snapshot ID] [PATH...]
#   key                                   this host's public key for an sftp repository, and the repository's host key
# Exit: 0 fine, 1 failed (the reason on stderr, in the log, the journal and the failure ping), 2 usage,
# 75 another run holds the lock.
set -u
umask 077
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL
: "${HOME:=/root}"
export HOME

CONF_DIR=/etc/shipshape-backup
. "$CONF_DIR/backup.conf" || exit 1
. "$CONF_DIR/secrets" || exit 1
# the password is read from a root-only file: never an argument, never in the environment of a child
export RESTIC_PASSWORD_FILE="$CONF_DIR/restic-password"
export RESTIC_REPOSITORY="$REPOSITORY"
export RESTIC_CACHE_DIR=/var/cache/shipshape-backup/restic
LOG=/var/log/shipshape-backup.log
STATE=/var/lib/shipshape-backup
CURRENT="$BACKUP_DIR/current"
TAG=shipshape
WORK=
SCRATCH=
LOCKED=

log() {
  printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$LOG"
  printf '%s\n' "$*"
  logger -t shipshape-backup -- "$*" 2>/dev/null || true
}

cleanup() {
  [ -n "$SCRATCH" ] && docker rm -f "$SCRATCH" >/dev/null 2>&1
  [ -n "$WORK" ] && rm -rf "$WORK"
  # only the run holding the lock owns the staging directory (a second run exits without touching it)
  [ -n "$LOCKED" ] && rm -rf "$BACKUP_DIR/.partial"
}

# restic with the repository's transport (the host's own ssh key and pinned host key for sftp)
rst() {
  if [ -n "$SFTP_COMMAND" ]; then restic -o "sftp.command=$SFTP_COMMAND" "$@"; else restic "$@"; fi
}

# a command's output goes to the log only; its last lines become the reason when it fails
quiet() {
  out="$WORK/out"
  "$@" >"$out" 2>&1
  rc=$?
  cat "$out" >>"$LOG"
  return $rc
}
last_lines() { tail -n "${2:-3}" "$1" | tr '\n' ' ' | sed 's/ *$//'; }

write_state() {
  mkdir -p "$STATE"
  printf 'result=%s\ntime=%s\ndetail=%s\n' "$1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$2" >"$STATE/last-run"
}

# healthchecks.io: URL/start, URL, URL/fail with the reason as body; ntfy: one message per event to the topic URL.
# The URL holds a token: it reaches curl through its config on stdin, not its command line. A monitor that is
# down is logged and never fails the backup.
ping_monitor() {
  [ -n "$PING_URL" ] || return 0
  event=$1
  msg=$2
  url=$PING_URL
  title=
  case "$PING_STYLE:$event" in
    healthchecks:start) url="$PING_URL/start" ;;
    healthchecks:fail) url="$PING_URL/fail" ;;
    ntfy:start) title="backup of $BACKUP_HOST started" ;;
    ntfy:success) title="backup of $BACKUP_HOST OK" ;;
    ntfy:fail) title="backup of $BACKUP_HOST FAILED" ;;
  esac
  quoted=$(printf '%s' "$url" | sed 's/\\/\\\\/g; s/"/\\"/g')
  if [ -n "$title" ]; then
    printf 'url = "%s"\nheader = "Title: %s"\n' "$quoted" "$title"
  else
    printf 'url = "%s"\n' "$quoted"
  fi | curl -fsS -m 10 --retry 2 -K - --data-binary "$BACKUP_HOST: $msg" -o /dev/null >>"$LOG" 2>&1 ||
    log "the $event ping could not be sent (the monitor is unreachable); the backup does not depend on it"
}

# a failed run or verify is the monitor's business; a failed restore is the operator's, who is watching
fail() {
  log "FAILED: $*"
  printf 'shipshape-backup: FAILED: %s\n' "$*" >&2
  if [ -z "${RESTORING:-}" ]; then
    write_state failed "$*"
    ping_monitor fail "$*"
  fi
  exit 1
}

usage() {
  printf 'shipshape-backup: %s\n' "$*" >&2
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# one lock for everything that reads or writes the backups: two runs never overlap
take_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  if ! flock -n 9; then
    log "another shipshape-backup is running (lock $STATE/lock held): this one exits without doing anything"
    exit 75
  fi
  LOCKED=1
}

db_field() { eval "printf '%s' \"\${DB_$1_$2:-}\""; }

# run a PostgreSQL client program where the database lives: in its own container (docker exec without -t, so
# the binary dump is intact and the client matches the server), or on the host as the postgres user
pg_in() {
  case "$kind" in
    host) PGPASSWORD=$pgpass runuser -u postgres -- "$@" ;;
    *) PGPASSWORD=$pgpass docker exec -i -e PGPASSWORD "$ctr" "$@" ;;
  esac
}

# rows of every table, one "schema.table count" per line, in one query (exact counts, not statistics)
ROWS_SQL="SELECT format('%s.%s', n.nspname, c.relname), (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1"

# selects database number $1: kind, target, ctr, db, user, pgpass, conn
select_db() {
  kind=$(db_field "$1" KIND)
  target=$(db_field "$1" TARGET)
  db=$(db_field "$1" NAME)
  user=$(db_field "$1" USER)
  pgpass=$(db_field "$1" PASSWORD)
  conn="-U $user"
  # a password only means something over TCP: the local socket of an image is usually trusted
  [ "$(db_field "$1" HAS_PASSWORD)" = 1 ] && conn="-h 127.0.0.1 -U $user"
  ctr=$target
  case "$kind" in
    compose)
      ctr=$(docker ps -q --filter "label=com.docker.compose.service=$target" | head -n 1)
      [ -n "$ctr" ] || { REASON="$target/$db: no running container of compose service $target"; return 1; }
      ;;
    container)
      running=$(docker inspect -f '{{.State.Running}}' "$ctr" 2>/dev/null)
      [ "$running" = true ] || { REASON="$target/$db: container $ctr is not running"; return 1; }
      ;;
  esac
  return 0
}

# sorted by the C locale, as join and the comparisons read them (the database may sort otherwise)
row_counts() {
  pg_in psql -X -q -A -t -F ' ' $conn -d "$db" -c "$ROWS_SQL" </dev/null >"$WORK/rows.raw" || return 1
  sort "$WORK/rows.raw"
}

dump_db() {
  select_db "$1" || return 1
  err="$WORK/err"
  before="$WORK/rows-before"
  after="$WORK/rows-after"
  if ! row_counts >"$before" 2>"$err"; then REASON="$target/$db: cannot read the database: $(last_lines "$err")"; return 1; fi
  file="$stage/pg-$target-$db.dump"
  if ! pg_in pg_dump -Fc $conn -d "$db" </dev/null >"$file" 2>"$err"; then REASON="pg_dump of $target/$db failed: $(last_lines "$err")"; return 1; fi
  [ -s "$file" ] || { REASON="pg_dump of $target/$db wrote nothing"; return 1; }
  if ! pg_in pg_restore --list <"$file" >/dev/null 2>"$err"; then REASON="the dump of $target/$db is not readable by pg_restore: $(last_lines "$err")"; return 1; fi
  if ! row_counts >"$after" 2>"$err"; then REASON="$target/$db: cannot read the database after the dump: $(last_lines "$err")"; return 1; fi
  # rows counted before and after the dump: the dump holds a count in between (equal when nothing wrote meanwhile)
  join -a 1 -a 2 -e 0 -o 0,1.2,2.2 "$before" "$after" | while read -r t b a; do
    if [ "$b" -le "$a" ]; then printf 'rows %s %s %s %s %s\n' "$target" "$db" "$t" "$b" "$a"; else printf 'rows %s %s %s %s %s\n' "$target" "$db" "$t" "$a" "$b"; fi
  done >>"$stage/manifest"
  printf 'database %s %s %s\n' "$target" "$db" "pg-$target-$db.dump" >>"$stage/manifest"
  version=$(pg_in psql -X -A -t $conn -d "$db" -c 'SHOW server_version_num' </dev/null 2>"$err") || { REASON="$target/$db: $(last_lines "$err")"; return 1; }
  grep -q "^server $target " "$stage/manifest" || printf 'server %s %s\n' "$target" "$((version / 10000))" >>"$stage/manifest"
  if [ "$kind" != host ] && ! grep -q "^image $target " "$stage/manifest"; then
    printf 'image %s %s\n' "$target" "$(docker inspect -f '{{.Image}}' "$ctr")" >>"$stage/manifest"
  fi
  globals="$stage/pg-$target-globals.sql"
  if [ ! -s "$globals" ]; then
    if ! pg_in pg_dumpall --globals-only $conn </dev/null >"$globals" 2>"$err"; then
      # a user that is not a superuser may not read role passwords: keep the roles without them
      pg_in pg_dumpall --globals-only --no-role-passwords $conn </dev/null >"$globals" 2>"$err" || { REASON="pg_dumpall --globals-only for $target failed: $(last_lines "$err")"; return 1; }
      log "$target: the roles were saved without their passwords ($user may not read them)"
    fi
  fi
  log "dumped $target/$db: $(wc -c <"$file") bytes, $(wc -l <"$after") tables"
  return 0
}

cmd_run() {
  when=
  while [ $# -gt 0 ]; do
    case "$1" in
      --time) [ $# -ge 2 ] || usage '--time needs a value'; when=$2; shift 2 ;;
      *) usage "run: unknown argument $1" ;;
    esac
  done
  take_lock
  mkdir -p "$BACKUP_DIR" "$RESTIC_CACHE_DIR"
  chmod 700 "$BACKUP_DIR"
  WORK=$(mktemp -d /tmp/shipshape-backup.XXXXXX) || fail "cannot make a temporary directory"
  log "backup of $BACKUP_HOST started"
  ping_monitor start "backup started"
  if [ -n "$when" ]; then
    stamp=$(date -u -d "$when" +%Y-%m-%dT%H%M%SZ 2>/dev/null) || fail "--time $when is not a date"
  else
    stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
  fi
  stage="$BACKUP_DIR/.partial"
  rm -rf "$stage"
  mkdir -p "$stage" || fail "cannot create $stage"
  printf 'shipshape-backup manifest\nhost %s\ntime %s\n' "$BACKUP_HOST" "$stamp" >"$stage/manifest"

  # 1. every database dumped and checked; the first failure ends the run: a failed dump never becomes a backup
  i=1
  while [ "$i" -le "$DB_COUNT" ]; do
    REASON=
    dump_db "$i" || fail "${REASON:-dump $i failed}"
    i=$((i + 1))
  done

  # 2. checksums: the dumps (as restored under current/) and every file of the paths
  : >"$stage/SHA256SUMS"
  if [ "$DB_COUNT" -gt 0 ]; then
    (cd "$stage" && sha256sum pg-*) | sed "s#  #  ${CURRENT#/}/#" >>"$stage/SHA256SUMS" || fail "cannot checksum the dumps"
  fi
  set --
  i=1
  while [ "$i" -le "$PATH_COUNT" ]; do
    eval "p=\$PATH_$i"
    [ -e "$p" ] || fail "backup path $p does not exist"
    (cd / && find "${p#/}" -type f -exec sha256sum {} +) >>"$stage/SHA256SUMS" 2>"$WORK/err" || fail "cannot read $p: $(last_lines "$WORK/err")"
    set -- "$@" "$p"
    i=$((i + 1))
  done

  # 3. the local copy: a dated directory, and current/ (hard links to it) at the same path every night
  mv "$stage" "$BACKUP_DIR/$stamp" || fail "cannot store $BACKUP_DIR/$stamp"
  [ -n "$when" ] && touch -d "$when" "$BACKUP_DIR/$stamp"
  rm -rf "$CURRENT.new" && mkdir "$CURRENT.new" && ln "$BACKUP_DIR/$stamp"/* "$CURRENT.new"/ &&
    rm -rf "$CURRENT" && mv "$CURRENT.new" "$CURRENT" || fail "cannot update $CURRENT"

  # 4. off-site: stable host name and paths, so forget groups every night's snapshot together
  if ! quiet rst cat config; then
    if grep -q -i 'Is there a repository at the following location' "$WORK/out"; then
      quiet rst init || fail "restic init of the repository failed: $(last_lines "$WORK/out")"
      log "initialised the repository $REPOSITORY"
    else
      fail "the repository cannot be opened: $(last_lines "$WORK/out")"
    fi
  fi
  # only locks of runs that are gone (dead process on this host, or older than 30 minutes)
  quiet rst unlock || log "restic unlock failed: $(last_lines "$WORK/out")"
  if [ -n "$when" ]; then set -- --time "$when" "$CURRENT" "$@"; else set -- "$CURRENT" "$@"; fi
  quiet rst backup --host "$BACKUP_HOST" --tag "$TAG" "$@" || fail "restic backup failed (exit $rc): $(last_lines "$WORK/out")"
  snapshot=$(sed -n 's/^snapshot \([0-9a-f]*\) saved.*/\1/p' "$WORK/out")
  quiet rst forget --host "$BACKUP_HOST" --tag "$TAG" --group-by host,paths --prune \
    --keep-daily "$KEEP_DAILY" --keep-weekly "$KEEP_WEEKLY" --keep-monthly "$KEEP_MONTHLY" ||
    fail "snapshot $snapshot is stored, but forget --prune failed: $(last_lines "$WORK/out")"

  # 5. local retention: dated copies older than KEEP_DAYS days (never the one just made)
  find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name '[0-9][0-9][0-9][0-9]-*' ! -name "$stamp" -mmin +$((KEEP_DAYS * 1440)) >"$WORK/old"
  while read -r old; do rm -rf "$old" && log "pruned the local copy $old (older than $KEEP_DAYS days)"; done <"$WORK/old"

  detail="snapshot $snapshot of $stamp: $DB_COUNT database(s), $PATH_COUNT path(s), $(du -sh "$BACKUP_DIR/$stamp" | cut -f1) locally"
  write_state ok "$detail"
  log "backup OK: $detail"
  ping_monitor success "backup OK: $detail"
}

age() {
  s=$(($(date +%s) - $1))
  if [ "$s" -ge 86400 ]; then echo "$((s / 86400))d ago"; elif [ "$s" -ge 3600 ]; then echo "$((s / 3600))h ago"; else echo "$((s / 60))m ago"; fi
}

cmd_list() {
  WORK=$(mktemp -d /tmp/shipshape-backup.XXXXXX)
  if [ -f "$STATE/last-run" ]; then
    echo "last run: $(sed -n 's/^result=//p' "$STATE/last-run") at $(sed -n 's/^time=//p' "$STATE/last-run"): $(sed -n 's/^detail=//p' "$STATE/last-run")"
  else
    echo "last run: none yet"
  fi
  echo "local copies in $BACKUP_DIR (kept $KEEP_DAYS days):"
  found=
  for d in "$BACKUP_DIR"/[0-9][0-9][0-9][0-9]-*; do
    [ -d "$d" ] || continue
    found=1
    echo "  ${d##*/}  $(du -sh "$d" | cut -f1)  $(age "$(stat -c %Y "$d")")"
  done
  [ -n "$found" ] || echo "  none"
  echo "off-site in $REPOSITORY (keep daily $KEEP_DAILY, weekly $KEEP_WEEKLY, monthly $KEEP_MONTHLY):"
  if quiet rst snapshots --host "$BACKUP_HOST" --tag "$TAG" --compact; then
    grep -E '^[0-9a-f]{8} ' "$WORK/out" | awk '{print "  " $1 "  " $2 " " $3}' >"$WORK/snaps"
    [ -s "$WORK/snaps" ] && cat "$WORK/snaps" || echo "  none"
    if quiet rst stats --mode raw-data --host "$BACKUP_HOST" --tag "$TAG"; then
      echo "  stored: $(sed -n 's/^ *Total Size: *//p' "$WORK/out")"
    fi
  else
    echo "  cannot read the repository: $(last_lines "$WORK/out")"
    return 1
  fi
}

snapshot_args() { printf '%s' "${snapshot:-latest}"; }

# restores $1 (a snapshot) into $2 with restic, only the given paths when more are given
restore_snapshot() {
  rs_snap=$1
  rs_dest=$2
  shift 2
  set -- restore "$rs_snap" --host "$BACKUP_HOST" --tag "$TAG" --target "$rs_dest" "$@"
  quiet rst "$@"
}

# the scratch PostgreSQL: the image the database ran in, no network (nothing can reach it), gone afterwards
start_scratch() {
  image=$1
  SCRATCH="shipshape-verify-$$"
  docker rm -f "$SCRATCH" >/dev/null 2>&1
  if ! docker run -d --name "$SCRATCH" --network none -e POSTGRES_HOST_AUTH_METHOD=trust "$image" >"$WORK/err" 2>&1; then
    SCRATCH=
    return 1
  fi
  tries=0
  until docker exec "$SCRATCH" pg_isready -q -U postgres >/dev/null 2>&1 && docker exec "$SCRATCH" psql -X -q -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -le 120 ] || { docker logs "$SCRATCH" >"$WORK/err" 2>&1; return 1; }
    sleep 1
  done
}

stop_scratch() {
  [ -n "$SCRATCH" ] && docker rm -f "$SCRATCH" >/dev/null 2>&1
  SCRATCH=
}

# compares the row counts in $1 ("schema.table count" lines) with the manifest's for $2/$3; prints differences
compare_rows() {
  grep "^rows $2 $3 " "$manifest" | while read -r _ _ _ t low high; do
    n=$(awk -v t="$t" '$1 == t { print $2 }' "$1")
    if [ -z "$n" ]; then
      echo "$2/$3 table $t: missing after the restore ($low rows in the backup)"
    elif [ "$n" -lt "$low" ] || [ "$n" -gt "$high" ]; then
      [ "$low" = "$high" ] && want=$low || want="$low to $high"
      echo "$2/$3 table $t: $n rows restored, $want in the backup"
    fi
  done
  cut -d' ' -f1 "$1" | while read -r t; do
    grep -q "^rows $2 $3 $t " "$manifest" || echo "$2/$3 table $t: restored but not in the manifest"
  done
}

cmd_verify() {
  take_lock
  WORK=$(mktemp -d /var/tmp/shipshape-verify.XXXXXX) || exit 1
  problems="$WORK/problems"
  : >"$problems"
  quiet rst snapshots --host "$BACKUP_HOST" --tag "$TAG" --latest 1 --compact || fail "verify: cannot read the repository: $(last_lines "$WORK/out")"
  snap=$(grep -E '^[0-9a-f]{8} ' "$WORK/out" | tail -n 1 | awk '{print $1 " of " $2 " " $3}')
  [ -n "$snap" ] || fail "verify: no snapshot of $BACKUP_HOST in $REPOSITORY"
  log "verify: restoring snapshot $snap into $WORK/files"
  if ! restore_snapshot "${snap%% *}" "$WORK/files" --verify; then
    grep -i -E 'error|fatal' "$WORK/out" | grep -v '^Fatal: There were' | head -n 5 | sed 's/^/restic: /' >>"$problems"
  fi
  manifest="$WORK/files$CURRENT/manifest"
  if [ ! -f "$manifest" ]; then
    echo "the snapshot has no manifest ($CURRENT/manifest)" >>"$problems"
  else
    # every file against its checksum taken at backup time
    [ -f "$WORK/files$CURRENT/SHA256SUMS" ] || { echo "$CURRENT/SHA256SUMS: missing after the restore" >>"$problems"; : >"$WORK/files$CURRENT/SHA256SUMS"; }
    (cd "$WORK/files" && sha256sum -c --quiet "${CURRENT#/}/SHA256SUMS" 2>&1) | sed -n 's#^\(.*\): FAILED$#/\1: differs from its checksum at backup time#p; s#^\(.*\): FAILED open or read$#/\1: missing after the restore#p' >>"$problems"
    nfiles=$(wc -l <"$WORK/files$CURRENT/SHA256SUMS")
    ndb=0
    while read -r _ target db file; do
      [ -n "$target" ] || continue
      ndb=$((ndb + 1))
      image=$(sed -n "s/^image $target //p" "$manifest")
      major=$(sed -n "s/^server $target //p" "$manifest")
      if [ ! -s "$WORK/files$CURRENT/$file" ] || [ ! -f "$WORK/files$CURRENT/pg-$target-globals.sql" ]; then
        echo "$target/$db: its dump is missing after the restore" >>"$problems"
        continue
      fi
      if [ -z "$image" ]; then
        echo "$target/$db: not restored (a database on the host: no image to restore into)" >>"$problems"
        continue
      fi
      if ! start_scratch "$image"; then
        echo "$target/$db: the scratch PostgreSQL ($image) did not start: $(last_lines "$WORK/err")" >>"$problems"
        stop_scratch
        continue
      fi
      got=$(docker exec "$SCRATCH" psql -X -A -t -U postgres -d postgres -c 'SHOW server_version_num')
      [ "$((got / 10000))" = "$major" ] || echo "$target/$db: scratch PostgreSQL is $((got / 10000)), the backup came from $major" >>"$problems"
      docker exec -i "$SCRATCH" psql -X -q -U postgres -d postgres <"$WORK/files$CURRENT/pg-$target-globals.sql" >>"$LOG" 2>&1
      if ! docker exec -i "$SCRATCH" pg_restore -U postgres --create -d postgres <"$WORK/files$CURRENT/$file" >"$WORK/err" 2>&1; then
        echo "$target/$db: pg_restore failed: $(last_lines "$WORK/err")" >>"$problems"
      fi
      kind=container
      ctr=$SCRATCH
      pgpass=
      conn="-U postgres"
      if row_counts >"$WORK/rows" 2>"$WORK/err"; then
        compare_rows "$WORK/rows" "$target" "$db" >>"$problems"
        log "verify: $target/$db restored into PostgreSQL $major: $(wc -l <"$WORK/rows") tables"
      else
        echo "$target/$db: cannot count the restored rows: $(last_lines "$WORK/err")" >>"$problems"
      fi
      stop_scratch
    done <<EOF
$(grep '^database ' "$manifest")
EOF
  fi
  if [ -s "$problems" ]; then
    log "verify FAILED for snapshot $snap:"
    while read -r p; do log "  $p"; done <"$problems"
    write_state failed "verify of $snap: $(head -n 1 "$problems")"
    printf 'shipshape-backup: verify FAILED: %s\n' "$(head -n 1 "$problems")" >&2
    exit 1
  fi
  log "verify OK: snapshot $snap: $ndb database(s) restored into scratch PostgreSQL with the rows of the manifest, $nfiles file(s) match their checksums"
}

confirm_flag() { [ "$yes" = 1 ] || usage "$1 overwrites what is there: it runs only with --yes (shipshape backup restore asks first)"; }

cmd_restore_db() {
  name=
  yes=0
  snapshot=
  while [ $# -gt 0 ]; do
    case "$1" in
      --yes) yes=1; shift ;;
      --snapshot) snapshot=$2; shift 2 ;;
      -*) usage "restore-db: unknown option $1" ;;
      *) name=$1; shift ;;
    esac
  done
  [ -n "$name" ] || usage "restore-db needs TARGET/DATABASE (or DATABASE)"
  i=1
  found=
  known=
  while [ "$i" -le "$DB_COUNT" ]; do
    if [ "$(db_field "$i" TARGET)/$(db_field "$i" NAME)" = "$name" ] || [ "$(db_field "$i" NAME)" = "$name" ]; then found=$i; break; fi
    known="$known${known:+, }$(db_field "$i" TARGET)/$(db_field "$i" NAME)"
    i=$((i + 1))
  done
  # a wrong name is the operator's typo, not a usage question: say which names there are (the program's usage
  # lists its own sub-commands, which `shipshape backup restore` users never type)
  if [ -z "$found" ]; then
    printf 'shipshape-backup: restore-db: %s is not a database of backup_postgres on this host (%s)\n' "$name" "${known:-it lists none}" >&2
    exit 2
  fi
  confirm_flag restore-db
  take_lock
  WORK=$(mktemp -d /var/tmp/shipshape-restore.XXXXXX) || exit 1
  select_db "$found" || fail "restore of $name: $REASON"
  file="pg-$target-$db.dump"
  restore_snapshot "$(snapshot_args)" "$WORK/files" --include "$CURRENT/$file" --include "$CURRENT/pg-$target-globals.sql" --include "$CURRENT/manifest" ||
    fail "restore of $name: restic restore failed: $(last_lines "$WORK/out")"
  [ -s "$WORK/files$CURRENT/$file" ] || fail "restore of $name: snapshot $(snapshot_args) has no $file"
  # roles first (those that exist already stay as they are), then the database, dropped and created again
  pg_in psql -X -q $conn -d postgres <"$WORK/files$CURRENT/pg-$target-globals.sql" >>"$LOG" 2>&1
  pg_in pg_restore $conn --clean --if-exists --create -d postgres <"$WORK/files$CURRENT/$file" >"$WORK/err" 2>&1 ||
    fail "restore of $name: pg_restore failed: $(last_lines "$WORK/err")"
  manifest="$WORK/files$CURRENT/manifest"
  row_counts >"$WORK/rows" 2>"$WORK/err" || fail "restore of $name: cannot count the rows: $(last_lines "$WORK/err")"
  compare_rows "$WORK/rows" "$target" "$db" >"$WORK/problems"
  [ -s "$WORK/problems" ] && fail "restore of $name: $(head -n 1 "$WORK/problems")"
  log "restored $target/$db from snapshot $(snapshot_args) ($(sed -n 's/^time //p' "$manifest")): $(wc -l <"$WORK/rows") tables, rows as in the backup"
}

cmd_restore_paths() {
  yes=0
  snapshot=
  dest=
  while [ $# -gt 0 ]; do
    case "$1" in
      --yes) yes=1; shift ;;
      --snapshot) snapshot=$2; shift 2 ;;
      --target) dest=$2; shift 2 ;;
      -*) usage "restore-paths: unknown option $1" ;;
      *) break ;;
    esac
  done
  case "$dest" in /*) ;; *) usage "restore-paths needs --target /ABSOLUTE/DIR" ;; esac
  confirm_flag restore-paths
  take_lock
  WORK=$(mktemp -d /var/tmp/shipshape-restore.XXXXXX) || exit 1
  if [ $# -eq 0 ]; then
    i=1
    while [ "$i" -le "$PATH_COUNT" ]; do eval "set -- \"\$@\" \"\$PATH_$i\""; i=$((i + 1)); done
  fi
  [ $# -gt 0 ] || usage "restore-paths: no paths given and backup_paths is empty"
  snap=$(snapshot_args)
  for p in "$@"; do set -- "$@" --include "$p"; shift; done
  mkdir -p "$dest"
  restore_snapshot "$snap" "$dest" "$@" || fail "restore of paths failed: $(last_lines "$WORK/out")"
  log "restored the paths of snapshot $snap under $dest"
}

cmd_key() {
  [ -n "$SFTP_COMMAND" ] || { echo "the repository $REPOSITORY is not sftp: no key is needed"; return 0; }
  echo "public key of $BACKUP_HOST (add it on the repository side, e.g. the Storage Box's authorized_keys):"
  echo "  $(cat "$CONF_DIR/id_ed25519.pub")"
  pinned=$(grep -c "^# pinned" "$CONF_DIR/known_hosts" 2>/dev/null)
  if [ "${pinned:-0}" = 0 ]; then
    # first contact: ssh records the host key (accept-new); the login itself may still be refused
    $SFTP_COMMAND </dev/null >/dev/null 2>&1
  fi
  if [ -s "$CONF_DIR/known_hosts" ]; then
    how="recorded on first contact; pin it with backup_restic_host_key"
    [ "${pinned:-0}" = 0 ] || how="pinned by backup_restic_host_key"
    echo "repository host key ($how):"
    ssh-keygen -l -f "$CONF_DIR/known_hosts" | sed 's/^/  /'
  else
    echo "repository host key: not known yet (the repository did not answer)"
  fi
}

trap cleanup EXIT
trap 'exit 130' INT TERM HUP
[ $# -gt 0 ] || usage "which command?"
cmd=$1
shift
case "$cmd" in
  run) cmd_run "$@" ;;
  list) cmd_list "$@" ;;
  verify) cmd_verify "$@" ;;
  restore-db) RESTORING=1 cmd_restore_db "$@" ;;
  restore-paths) RESTORING=1 cmd_restore_paths "$@" ;;
  key) cmd_key "$@" ;;
  *) usage "unknown command $cmd" ;;
esac

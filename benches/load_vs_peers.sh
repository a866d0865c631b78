#!/usr/bin/env bash
# load_vs_peers.sh: time Registrar's attendance load against the raw peers, on the same machine
# and the same PostgreSQL server, in one run.
#
# Usage:
#   benches/load_vs_peers.sh [N]                       # N attendance rows (default 1000000)
#   benches/load_vs_peers.sh --sizes 100000,1000000,5000000
#   Options: --csv FILE    append one line per tool and size to FILE
#                          (default benches/results/load_vs_peers.csv)
#            --work DIR    data sets and SQLite files (default target/load_vs_peers)
#            --seed S      gen_data seed (default 42)
#            --skip-pg | --skip-sqlite | --skip-pgloader
#            --keep        keep the benchmark databases (dropped by default)
#            --baseline BIN  also time another registrar binary (an earlier commit's release
#                          build) on the same base, right after registrar, as
#                          registrar-baseline: before/after in the same run and conditions
#            --plain-passwords  users.csv with plain passwords, so the base load hashes them
#                          (argon2id, every core) and its time is recorded as registrar-base;
#                          by default gen_data pre-hashes them (--prehashed-fraction 1) once per
#                          data set, so the base load of each engine takes seconds, not minutes
#            --plot FILE   where to draw the PNG (default benches/results/load_vs_peers.png)
#            --no-plot     do not draw it
#
# Needs (installs nothing itself): cargo, psql, pgloader, sqlite3, /usr/bin/time.
#   Debian/Ubuntu: apt-get install -y postgresql-client pgloader sqlite3 time
# For the plot: python3 with matplotlib (pip install matplotlib). Without them the benchmark
# still runs and records its lines; it prints a warning instead of the PNG.
# Server: $REGISTRAR_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/postgres
# (a role that may CREATE DATABASE; trust or ~/.pgpass auth).
#
# What it does for each size N:
#   1. builds `registrar` (release) and generates a data set with
#      `cargo run --release --example gen_data -- ... --resolved` whose attendance file has
#      about N rows (6 courses per student, 100 school days: students = N / 600), plus
#      attendance.resolved.csv (student_id,course_id,attendance_date,status, ids resolved,
#      no header; a header line is detected and skipped if present).
#   2. PostgreSQL: `registrar init` + `registrar import --execute` of users, courses and
#      enrollments (a folder without attendance) into a template database; three fresh
#      databases are then created from that template (CREATE DATABASE .. TEMPLATE), so each
#      has the same schema, indexes, constraints and base rows with the same ids:
#        A  `registrar import --data ATT_ONLY_DIR --execute` (attendance alone), under
#           /usr/bin/time -v for the peak RSS
#        B  psql -c "\copy attendances(student_id, course_id, attendance_date, status)
#           from 'attendance.resolved.csv' csv"
#        C  pgloader LOAD CSV of the same file into the same table, pgloader's defaults
#           (no truncate, no drop indexes, no disable triggers)
#   3. SQLite: the same base loaded by registrar into a file, copied twice:
#        A  `registrar import --data ATT_ONLY_DIR --execute --database sqlite://A`
#        B  sqlite3 shell, one transaction: `.import --csv --skip 1` into a 4-column TEMP table,
#           then INSERT INTO attendances(student_id, course_id, attendance_date, status)
#           SELECT ... FROM it, with PRAGMA foreign_keys=ON (registrar loads with FKs on too).
#           `.import` cannot load straight into `attendances`: its first column is the id and
#           the shell cannot write NULL from CSV; a view with an INSTEAD OF trigger is slower.
#           The whole sqlite3 run (import + insert + commit) is timed.
#   4. checks that every load left exactly N rows in attendances, and prints a table: tool,
#      seconds, rows/s, ratio to registrar, and registrar's peak RSS.
# After the last size, benches/plot_load_vs_peers.py draws this run's lines (all sizes share
# one date stamp) as a PNG: (a) seconds and (b) peak RSS against rows, log-log, one line per
# engine and tool (registrar, registrar-baseline, psql \copy, pgloader, sqlite3; the base
# load is left out). To redraw a run later:
#   benches/plot_load_vs_peers.py --run STAMP [--csv FILE] [--out FILE.png]
# Times are wall-clock seconds of the whole command (process start to exit), for every tool.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

SIZES="1000000"
CSV_OUT="$ROOT/benches/results/load_vs_peers.csv"
WORK="$ROOT/target/load_vs_peers"
SEED=42
DO_PG=1
DO_SQLITE=1
DO_PGLOADER=1
KEEP=0
PREHASHED=1
BASELINE=""
PLOT_OUT="$ROOT/benches/results/load_vs_peers.png"
DO_PLOT=1

while [[ $# -gt 0 ]]; do
    case "$1" in
        --sizes) SIZES="$2"; shift 2 ;;
        --sizes=*) SIZES="${1#--sizes=}"; shift ;;
        --csv) CSV_OUT="$2"; shift 2 ;;
        --work) WORK="$2"; shift 2 ;;
        --seed) SEED="$2"; shift 2 ;;
        --skip-pg) DO_PG=0; shift ;;
        --skip-sqlite) DO_SQLITE=0; shift ;;
        --skip-pgloader) DO_PGLOADER=0; shift ;;
        --keep) KEEP=1; shift ;;
        --baseline) BASELINE="$2"; shift 2 ;;
        --plain-passwords) PREHASHED=0; shift ;;
        --plot) PLOT_OUT="$2"; shift 2 ;;
        --no-plot) DO_PLOT=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        [0-9]*) SIZES="$1"; shift ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

# ---------------------------------------------------------------------------------------------
# Tools
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1"); }
need cargo
[[ $DO_PG == 1 ]] && need psql
[[ $DO_PG == 1 && $DO_PGLOADER == 1 ]] && need pgloader
[[ $DO_SQLITE == 1 ]] && need sqlite3
[[ -x /usr/bin/time ]] || missing+=("/usr/bin/time")
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "missing: ${missing[*]}" >&2
    echo "install them with: apt-get install -y postgresql-client pgloader sqlite3 time" >&2
    echo "(or skip a part: --skip-pgloader, --skip-pg, --skip-sqlite)" >&2
    exit 2
fi

export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
PG_URL="${REGISTRAR_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
# Split the URL into "scheme://user@host:port" and "?query" so other databases can be named.
PG_QUERY=""
if [[ "$PG_URL" == *\?* ]]; then PG_QUERY="?${PG_URL#*\?}"; fi
PG_NODB="${PG_URL%%\?*}"
PG_NODB="${PG_NODB%/*}"
pg_url() { echo "$PG_NODB/$1$PG_QUERY"; }
# pgloader wants the postgresql:// scheme.
pgloader_url() { local u; u=$(pg_url "$1"); echo "postgresql://${u#*://}"; }
PG_ADMIN=$(pg_url postgres)
if [[ $DO_PG == 1 ]]; then
    if ! psql "$PG_URL" -Atqc 'select 1' >/dev/null 2>&1; then
        echo "cannot connect to PostgreSQL at $PG_URL (set REGISTRAR_TEST_POSTGRES)" >&2
        exit 2
    fi
    PG_ADMIN="$PG_URL"
fi

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "inf" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# Peak RSS in MB from a `/usr/bin/time -v -o FILE` log.
rss_mb() { awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); printf "%.1f", $2 / 1024 }' "$1"; }
# registrar's own JSON report: its duration and what each file inserted.
summary() {
    if command -v jq >/dev/null 2>&1; then
        jq -r '"report: ok=\(.ok) duration_ms=\(.duration_ms) " + ([.files[] | "\(.file): \(.rows) rows, \(.inserted) inserted"] | join("; "))' "$1" 2>/dev/null || true
    fi
}
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# ---------------------------------------------------------------------------------------------
# Build once.
log "building registrar and gen_data (release)"
cargo build --release -q -p registrar-cli
cargo build --release -q --example gen_data
REGISTRAR="$ROOT/target/release/registrar"
GEN="$ROOT/target/release/examples/gen_data"

mkdir -p "$WORK" "$(dirname "$CSV_OUT")"
if [[ ! -s "$CSV_OUT" ]]; then
    echo "date,host_cores,mem_gb,engine,rows,tool,seconds,rows_per_s,peak_rss_mb" >"$CSV_OUT"
fi
CORES=$(nproc)
MEM_GB=$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
STAMP=$(date -u +%Y-%m-%dT%H:%M:%SZ)

DBS=()
cleanup() {
    if [[ $KEEP == 0 && $DO_PG == 1 ]]; then
        for db in "${DBS[@]}"; do
            psql "$PG_ADMIN" -Atqc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
        done
    fi
}
trap cleanup EXIT

pg_fresh() { # name
    psql "$PG_ADMIN" -Atqc "DROP DATABASE IF EXISTS \"$1\"" >/dev/null
    psql "$PG_ADMIN" -Atqc "CREATE DATABASE \"$1\"" >/dev/null
    DBS+=("$1")
}
pg_from_template() { # name template
    psql "$PG_ADMIN" -Atqc "DROP DATABASE IF EXISTS \"$1\"" >/dev/null
    psql "$PG_ADMIN" -Atqc "CREATE DATABASE \"$1\" TEMPLATE \"$2\"" >/dev/null
    DBS+=("$1")
}
pg_count() { psql "$(pg_url "$1")" -Atqc "select count(*) from attendances"; }
sqlite_count() { sqlite3 "$1" "select count(*) from attendances"; }

check_count() { # label got want
    if [[ "$2" != "$3" ]]; then
        echo "ROW COUNT MISMATCH after $1: $2 rows in attendances, expected $3" >&2
        exit 1
    fi
    log "  $1: $2 rows in attendances (ok)"
}

record() { # engine rows tool seconds rss
    echo "$STAMP,$CORES,$MEM_GB,$1,$2,$3,$4,$(rate "$2" "$4"),$5" >>"$CSV_OUT"
}

# Runs "$@" under /usr/bin/time -v; sets ELAPSED (s) and RSS (MB). Output goes to $LOGDIR.
timed() { # label cmd...
    local label=$1; shift
    local t0 t1 status=0
    t0=$(now)
    /usr/bin/time -v -o "$LOGDIR/$label.time" "$@" >"$LOGDIR/$label.out" 2>"$LOGDIR/$label.err" || status=$?
    t1=$(now)
    ELAPSED=$(secs "$t0" "$t1")
    RSS=$(rss_mb "$LOGDIR/$label.time")
    if [[ $status != 0 ]]; then
        echo "$label failed (exit $status); last lines of its output:" >&2
        tail -n 20 "$LOGDIR/$label.out" "$LOGDIR/$label.err" >&2
        exit 1
    fi
}

run_size() {
    local n=$1
    # 6 courses per student, 100 school days: 600 attendance rows per student.
    local per=6 days=100
    local students=$(( (n + per * days - 1) / (per * days) ))
    local courses=$(( students / 5 ))
    (( courses < 12 )) && courses=12
    (( courses > 400 )) && courses=400
    local data="$WORK/data-$n-s$SEED" genflags=()
    if [[ $PREHASHED == 1 ]]; then
        data="$data-prehashed"
        genflags=(--prehashed-fraction 1 --no-password-file)
    fi
    LOGDIR="$WORK/logs-$n"
    mkdir -p "$LOGDIR"

    if [[ ! -s "$data/attendance.resolved.csv" ]]; then
        log "generating $data: $students students, $courses courses, $per per student, $days days"
        rm -rf "$data"
        "$GEN" --students "$students" --courses "$courses" --per-student "$per" --days "$days" \
            --seed "$SEED" --out "$data" --formats csv --resolved "${genflags[@]}" >"$LOGDIR/gen.out"
    fi
    local att
    att=$(ls "$data"/attendance.* | grep -v resolved | head -n 1)
    local resolved="$data/attendance.resolved.csv"
    # gen_data writes the resolved file without a header; accept one too.
    local header=0 csvhdr="" skip=""
    local first
    first=$(head -n 1 "$resolved")
    if [[ $first == student_id* ]]; then header=1; csvhdr=" header"; skip="--skip 1 "; fi
    local rows=$(( $(wc -l <"$resolved") - header ))
    log "size $n: $rows attendance rows ($(du -h "$att" | cut -f1) attendance file)"

    # The base (users, courses, enrollments) and the attendance-only folders.
    local base="$WORK/base-$n" only="$WORK/att-$n"
    rm -rf "$base" "$only"
    mkdir -p "$base" "$only"
    # Hard links (or copies): registrar's folder discovery takes regular files only.
    for f in "$data"/users.* "$data"/courses.* "$data"/enrollments.*; do ln "$f" "$base/" 2>/dev/null || cp "$f" "$base/"; done
    ln "$att" "$only/" 2>/dev/null || cp "$att" "$only/"

    local reg_pg="" copy_s="" pgl_s="" rss_pg="" reg_sq="" sq_s="" rss_sq=""
    local base_pg="" base_sq="" base_rss_pg="" base_rss_sq=""

    if [[ $DO_PG == 1 ]]; then
        local tpl="registrar_bench_tpl_$n" dba="registrar_bench_a_$n" dbb="registrar_bench_b_$n" dbc="registrar_bench_c_$n"
        log "PostgreSQL: base load (users, courses, enrollments) into $tpl"
        pg_fresh "$tpl"
        "$REGISTRAR" init --database "$(pg_url "$tpl")" >"$LOGDIR/pg-init.out"
        timed pg-base "$REGISTRAR" import --data "$base" --execute --database "$(pg_url "$tpl")" --format json
        log "  base load: ${ELAPSED}s, peak RSS ${RSS} MB; $(summary "$LOGDIR/pg-base.out")"
        record postgres "$rows" registrar-base "$ELAPSED" "$RSS"
        psql "$(pg_url "$tpl")" -Atqc "VACUUM ANALYZE" >/dev/null
        log "  creating A, B, C from the template"
        pg_from_template "$dba" "$tpl"
        pg_from_template "$dbb" "$tpl"
        [[ $DO_PGLOADER == 1 ]] && pg_from_template "$dbc" "$tpl"
        local dbd="registrar_bench_d_$n"
        [[ -n $BASELINE ]] && pg_from_template "$dbd" "$tpl"
        psql "$PG_ADMIN" -Atqc "CHECKPOINT" >/dev/null || true

        log "PostgreSQL A: registrar import (attendance only)"
        timed pg-registrar "$REGISTRAR" import --data "$only" --execute --database "$(pg_url "$dba")" --format json
        reg_pg=$ELAPSED; rss_pg=$RSS
        log "  ${ELAPSED}s, peak RSS ${RSS} MB; $(summary "$LOGDIR/pg-registrar.out")"
        check_count registrar "$(pg_count "$dba")" "$rows"
        record postgres "$rows" registrar "$reg_pg" "$rss_pg"
        psql "$PG_ADMIN" -Atqc "CHECKPOINT" >/dev/null || true

        if [[ -n $BASELINE ]]; then
            log "PostgreSQL D: baseline registrar ($BASELINE)"
            timed pg-baseline "$BASELINE" import --data "$only" --execute --database "$(pg_url "$dbd")" --format json
            base_pg=$ELAPSED; base_rss_pg=$RSS
            log "  ${ELAPSED}s, peak RSS ${RSS} MB"
            check_count baseline "$(pg_count "$dbd")" "$rows"
            record postgres "$rows" registrar-baseline "$base_pg" "$base_rss_pg"
            psql "$PG_ADMIN" -Atqc "CHECKPOINT" >/dev/null || true
        fi

        log "PostgreSQL B: psql \\copy"
        timed pg-copy psql "$(pg_url "$dbb")" -v ON_ERROR_STOP=1 -c \
            "\\copy attendances(student_id, course_id, attendance_date, status) from '$resolved' csv$csvhdr"
        copy_s=$ELAPSED
        log "  ${ELAPSED}s, peak RSS ${RSS} MB"
        check_count "psql \\copy" "$(pg_count "$dbb")" "$rows"
        record postgres "$rows" psql-copy "$copy_s" "$RSS"
        psql "$PG_ADMIN" -Atqc "CHECKPOINT" >/dev/null || true

        if [[ $DO_PGLOADER == 1 ]]; then
            log "PostgreSQL C: pgloader"
            local cmd="$LOGDIR/attendance.load"
            cat >"$cmd" <<EOF
LOAD CSV
     FROM '$resolved' (student_id, course_id, attendance_date, status)
     INTO $(pgloader_url "$dbc")?attendances (student_id, course_id, attendance_date, status)
     WITH skip header = $header,
          fields terminated by ',',
          fields optionally enclosed by '"'
;
EOF
            # pgloader's defaults for LOAD CSV: no truncate, indexes and triggers left in place.
            timed pg-pgloader pgloader --no-ssl-cert-verification "$cmd"
            pgl_s=$ELAPSED
        log "  ${ELAPSED}s, peak RSS ${RSS} MB"
            check_count pgloader "$(pg_count "$dbc")" "$rows"
            record postgres "$rows" pgloader "$pgl_s" "$RSS"
        fi
    fi

    if [[ $DO_SQLITE == 1 ]]; then
        local sq_base="$WORK/sqlite-base-$n.db" sqa="$WORK/sqlite-a-$n.db" sqb="$WORK/sqlite-b-$n.db"
        local sqd="$WORK/sqlite-d-$n.db"
        rm -f "$sq_base"* "$sqa"* "$sqb"* "$sqd"*
        log "SQLite: base load into $sq_base"
        "$REGISTRAR" init --database "sqlite://$sq_base" >"$LOGDIR/sq-init.out"
        timed sq-base "$REGISTRAR" import --data "$base" --execute --database "sqlite://$sq_base" --format json
        log "  base load: ${ELAPSED}s, peak RSS ${RSS} MB; $(summary "$LOGDIR/sq-base.out")"
        record sqlite "$rows" registrar-base "$ELAPSED" "$RSS"
        sqlite3 "$sq_base" "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;" >/dev/null
        cp "$sq_base" "$sqa"
        cp "$sq_base" "$sqb"
        [[ -n $BASELINE ]] && cp "$sq_base" "$sqd"
        sync

        log "SQLite A: registrar import (attendance only)"
        timed sq-registrar "$REGISTRAR" import --data "$only" --execute --database "sqlite://$sqa" --format json
        reg_sq=$ELAPSED; rss_sq=$RSS
        log "  ${ELAPSED}s, peak RSS ${RSS} MB; $(summary "$LOGDIR/sq-registrar.out")"
        check_count registrar "$(sqlite_count "$sqa")" "$rows"
        record sqlite "$rows" registrar "$reg_sq" "$rss_sq"

        if [[ -n $BASELINE ]]; then
            log "SQLite D: baseline registrar ($BASELINE)"
            timed sq-baseline "$BASELINE" import --data "$only" --execute --database "sqlite://$sqd" --format json
            base_sq=$ELAPSED; base_rss_sq=$RSS
            log "  ${ELAPSED}s, peak RSS ${RSS} MB"
            check_count baseline "$(sqlite_count "$sqd")" "$rows"
            record sqlite "$rows" registrar-baseline "$base_sq" "$base_rss_sq"
        fi

        log "SQLite B: sqlite3 .import"
        cat >"$LOGDIR/sqlite-import.sql" <<EOF
.bail on
PRAGMA foreign_keys = ON;
BEGIN;
CREATE TEMP TABLE att_import (student_id INTEGER, course_id INTEGER, attendance_date TEXT, status TEXT);
.import --csv $skip'$resolved' att_import
INSERT INTO attendances (student_id, course_id, attendance_date, status)
    SELECT student_id, course_id, attendance_date, status FROM att_import;
COMMIT;
EOF
        timed sq-sqlite3 sqlite3 -init /dev/null "$sqb" ".read '$LOGDIR/sqlite-import.sql'"
        sq_s=$ELAPSED
        log "  ${ELAPSED}s, peak RSS ${RSS} MB"
        check_count "sqlite3 .import" "$(sqlite_count "$sqb")" "$rows"
        record sqlite "$rows" sqlite3-import "$sq_s" "$RSS"
    fi

    # The table.
    echo
    echo "== $rows attendance rows ($CORES cores, ${MEM_GB} GB) =="
    printf '%-28s %10s %12s %10s\n' tool seconds rows/s ratio
    if [[ -n $reg_pg ]]; then
        printf '%-28s %10s %12s %10s\n' "registrar (PostgreSQL)" "$reg_pg" "$(rate "$rows" "$reg_pg")" ""
        printf '%-28s %10s %12s %10s\n' "psql \\copy" "$copy_s" "$(rate "$rows" "$copy_s")" "$(ratio "$reg_pg" "$copy_s")"
        [[ -n $pgl_s ]] && printf '%-28s %10s %12s %10s\n' pgloader "$pgl_s" "$(rate "$rows" "$pgl_s")" "$(ratio "$reg_pg" "$pgl_s")"
    fi
    if [[ -n $reg_sq ]]; then
        printf '%-28s %10s %12s %10s\n' "registrar (SQLite)" "$reg_sq" "$(rate "$rows" "$reg_sq")" ""
        printf '%-28s %10s %12s %10s\n' "sqlite3 .import" "$sq_s" "$(rate "$rows" "$sq_s")" "$(ratio "$reg_sq" "$sq_s")"
    fi
    echo
    [[ -n $reg_pg ]] && echo "registrar / psql-copy      = $(ratio "$reg_pg" "$copy_s")   (target <= 1.50)"
    [[ -n $pgl_s ]] && echo "registrar / pgloader       = $(ratio "$reg_pg" "$pgl_s")   (target <  1.00)"
    [[ -n $reg_sq ]] && echo "registrar / sqlite3-import = $(ratio "$reg_sq" "$sq_s")   (target <= 1.50)"
    [[ -n $rss_pg ]] && echo "registrar peak RSS (PostgreSQL) = $rss_pg MB   (target <= 200 MB at 1M rows)"
    [[ -n $rss_sq ]] && echo "registrar peak RSS (SQLite)     = $rss_sq MB"
    [[ -n $base_pg ]] && echo "registrar / baseline (PostgreSQL) = $(ratio "$reg_pg" "$base_pg")   (baseline ${base_pg}s, ${base_rss_pg} MB)"
    [[ -n $base_sq ]] && echo "registrar / baseline (SQLite)     = $(ratio "$reg_sq" "$base_sq")   (baseline ${base_sq}s, ${base_rss_sq} MB)"
    echo "logs: $LOGDIR   results appended to: $CSV_OUT"
    echo

    if [[ $KEEP == 0 ]]; then
        cleanup
        DBS=()
        rm -f "$WORK"/sqlite-*-"$n".db*
    fi
}

IFS=',' read -r -a size_list <<<"$SIZES"
for n in "${size_list[@]}"; do
    run_size "$n"
done

# The plot of this run (every size above shares $STAMP). A missing python3 or matplotlib, or
# a failing plot, is a warning: the measurements are already in $CSV_OUT.
if [[ $DO_PLOT == 1 ]]; then
    PLOTTER="$ROOT/benches/plot_load_vs_peers.py"
    if ! command -v python3 >/dev/null 2>&1; then
        echo "warning: no python3, so no plot; install python3 and matplotlib (pip install matplotlib)," >&2
        echo "  then: $PLOTTER --csv '$CSV_OUT' --run $STAMP --out '$PLOT_OUT'" >&2
    elif ! python3 -c 'import matplotlib' >/dev/null 2>&1; then
        echo "warning: matplotlib is not installed, so no plot; install it with: pip install matplotlib" >&2
        echo "  then: $PLOTTER --csv '$CSV_OUT' --run $STAMP --out '$PLOT_OUT'" >&2
    elif python3 "$PLOTTER" --csv "$CSV_OUT" --run "$STAMP" --out "$PLOT_OUT" >&2; then
        echo "plot: $PLOT_OUT"
    else
        echo "warning: the plot failed (see above); the results are in $CSV_OUT" >&2
    fi
fi

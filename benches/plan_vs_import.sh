#!/usr/bin/env bash
# plan_vs_import.sh: what a re-run costs (issue 13, item 7). For N attendance rows, on each
# engine, in one run:
#   import   `registrar import --execute` of the attendance file into a database holding the
#            users, courses and enrollments (the first import: N rows inserted)
#   plan     `registrar plan` of the same file against that database, which now holds the N
#            rows: every row is compared with its stored value, nothing is written
#   re-run   `registrar import --execute` of the same file again: N rows unchanged, 0 written
# Each under /usr/bin/time -v (wall-clock seconds and peak RSS). Prints the ratios plan/import
# and re-run/import and appends one line per step to benches/results/plan_vs_import.csv.
#
# Usage: benches/plan_vs_import.sh [N] [--skip-pg] [--skip-sqlite] [--work DIR] [--registrar BIN]
#   --registrar BIN   measure this registrar binary (an older build, for before/after) instead
#                     of the workspace's release build
# Needs: cargo, psql (for PostgreSQL), /usr/bin/time. Server: $REGISTRAR_TEST_POSTGRES.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

N=1000000
WORK="$ROOT/target/plan_vs_import"
DO_PG=1
DO_SQLITE=1
BIN=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --skip-pg) DO_PG=0; shift ;;
        --skip-sqlite) DO_SQLITE=0; shift ;;
        --work) WORK="$2"; shift 2 ;;
        --registrar) BIN="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        [0-9]*) N="$1"; shift ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -x /usr/bin/time ]] || { echo "missing /usr/bin/time (apt-get install -y time)" >&2; exit 2; }

PG_URL="${REGISTRAR_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_NODB="${PG_URL%%\?*}"
PG_NODB="${PG_NODB%/*}"
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
rss_mb() { awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); printf "%.1f", $2 / 1024 }' "$1"; }

cargo build --release -q -p registrar-cli
cargo build --release -q --example gen_data
REGISTRAR="${BIN:-$ROOT/target/release/registrar}"
GEN="$ROOT/target/release/examples/gen_data"
mkdir -p "$WORK/logs" "$ROOT/benches/results"
CSV_OUT="$ROOT/benches/results/plan_vs_import.csv"
[[ -s "$CSV_OUT" ]] || echo "date,host_cores,engine,rows,step,seconds,peak_rss_mb" >"$CSV_OUT"
STAMP=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# Runs "$@" under /usr/bin/time -v; sets ELAPSED and RSS. Exit codes 0 and 1 are accepted for
# plan (1 = refused by a threshold would be a bug here, so it is checked below).
timed() { # label cmd...
    local label=$1; shift
    local t0 t1 status=0
    t0=$(now)
    /usr/bin/time -v -o "$WORK/logs/$label.time" "$@" >"$WORK/logs/$label.out" 2>"$WORK/logs/$label.err" || status=$?
    t1=$(now)
    ELAPSED=$(secs "$t0" "$t1")
    RSS=$(rss_mb "$WORK/logs/$label.time")
    if [[ $status != 0 ]]; then
        echo "$label failed (exit $status):" >&2
        tail -n 20 "$WORK/logs/$label.out" "$WORK/logs/$label.err" >&2
        exit 1
    fi
}

students=$(( (N + 599) / 600 ))
courses=$(( students / 5 )); (( courses < 12 )) && courses=12; (( courses > 400 )) && courses=400
data="$WORK/data-$N"
if [[ ! -s "$data/attendance.csv" ]]; then
    log "generating $N attendance rows ($students students, $courses courses)"
    rm -rf "$data"
    "$GEN" --students "$students" --courses "$courses" --per-student 6 --days 100 --seed 42 \
        --out "$data" --formats csv --prehashed-fraction 1 --no-password-file >"$WORK/logs/gen.out"
fi
base="$WORK/base-$N" only="$WORK/att-$N"
rm -rf "$base" "$only"; mkdir -p "$base" "$only"
for f in users courses enrollments; do cp "$data/$f.csv" "$base/"; done
cp "$data/attendance.csv" "$only/"
rows=$(( $(wc -l <"$only/attendance.csv") - 1 ))

one_engine() { # engine url
    local engine=$1 url=$2
    "$REGISTRAR" init --database "$url" >/dev/null
    "$REGISTRAR" import --data "$base" --execute --database "$url" --format json >"$WORK/logs/$engine-base.out"
    [[ $engine == postgres ]] && psql "$url" -Atqc "VACUUM ANALYZE" >/dev/null
    timed "$engine-import" "$REGISTRAR" import --data "$only" --execute --database "$url" --format json
    local imp=$ELAPSED imp_rss=$RSS
    [[ $engine == postgres ]] && psql "$url" -Atqc "VACUUM ANALYZE" >/dev/null
    timed "$engine-plan" "$REGISTRAR" plan --data "$only" --database "$url" --format json
    local pl=$ELAPSED pl_rss=$RSS
    grep -q "\"unchanged\": $rows" "$WORK/logs/$engine-plan.out" \
        || { echo "the plan does not hold $rows unchanged rows" >&2; exit 1; }
    timed "$engine-rerun" "$REGISTRAR" import --data "$only" --execute --database "$url" --format json
    local re=$ELAPSED re_rss=$RSS
    grep -q "\"unchanged\": $rows" "$WORK/logs/$engine-rerun.out" \
        || { echo "the re-run does not report $rows unchanged rows" >&2; exit 1; }
    for step in "import $imp $imp_rss" "plan $pl $pl_rss" "re-run $re $re_rss"; do
        set -- $step
        echo "$STAMP,$(nproc),$engine,$rows,$1,$2,$3" >>"$CSV_OUT"
    done
    printf '%-9s %9s rows: import %7ss (%6s MB)  plan %7ss (%6s MB)  re-run %7ss (%6s MB)  plan/import %s  re-run/import %s\n' \
        "$engine" "$rows" "$imp" "$imp_rss" "$pl" "$pl_rss" "$re" "$re_rss" "$(ratio "$pl" "$imp")" "$(ratio "$re" "$imp")"
}

if [[ $DO_SQLITE == 1 ]]; then
    rm -f "$WORK/bench.db"
    one_engine sqlite "sqlite://$WORK/bench.db"
fi
if [[ $DO_PG == 1 ]]; then
    db="registrar_plan_bench_$N"
    psql "$PG_URL" -Atqc "DROP DATABASE IF EXISTS $db" >/dev/null
    psql "$PG_URL" -Atqc "CREATE DATABASE $db" >/dev/null
    one_engine postgres "$PG_NODB/$db"
    psql "$PG_URL" -Atqc "DROP DATABASE IF EXISTS $db" >/dev/null
fi

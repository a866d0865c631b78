#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) each; exits non-zero if any target crashes.
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(csv_reader json_reader sheet_reader validate_pass)

# cargo-fuzz needs nightly-only rustc flags (-Z sanitizer); the toolchain here is stable.
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 2; }

ex=../examples
seed() { # seed TARGET KNOB FILE...: each file (first 8 KiB) prefixed with the options byte
  local target=$1 knob=$2; shift 2
  mkdir -p "corpus/$target"
  for f in "$@"; do
    [ -f "$f" ] || continue
    { printf "\\x$knob"; head -c 8192 "$f"; } >"corpus/$target/seed-$knob-$(basename "$f")"
  done
}
seed csv_reader 00 "$ex"/data/users.csv "$ex"/data/enrollments.csv "$ex"/messy/*.csv
seed csv_reader 01 "$ex"/messy/users.csv
seed json_reader 00 "$ex"/data/grades.json
seed json_reader 40 "$ex"/data/attendance.ndjson
mkdir -p corpus/sheet_reader
for f in "$ex"/data/courses.xlsx "$ex"/messy/courses.xlsx; do
  { printf '\x00'; cat "$f"; } >"corpus/sheet_reader/seed-$(basename "$(dirname "$f")")-courses.xlsx"
done
mkdir -p corpus/validate_pass
{ printf '\x00'; cat "$ex"/messy/users.csv; printf '\x00'; printf 'course_code,course_name,credits\nMATH101,Calculus,4\n'; printf '\x00';
  cat "$ex"/messy/enrollments.csv; printf '\x00'; cat "$ex"/messy/grades.csv; printf '\x00'; cat "$ex"/messy/attendance.csv; } \
  >corpus/validate_pass/seed-messy

cargo fuzz build -O 2>&1 | tail -n 3 || exit 2
failed=()
for t in "${TARGETS[@]}"; do
  echo "== $t: ${SECONDS_EACH}s"
  mkdir -p "artifacts/$t"
  # -timeout: one input taking longer than 10 s is a failure; -rss_limit_mb: so is 512 MB.
  if ! cargo fuzz run -O "$t" "corpus/$t" -- \
      -max_total_time="$SECONDS_EACH" -rss_limit_mb=512 -timeout=10 -max_len=65536 \
      -print_final_stats=1 2>"artifacts/$t.log"; then
    failed+=("$t")
    echo "!! $t failed: see fuzz/artifacts/$t.log and fuzz/artifacts/$t/"
    grep -E "^(==|SUMMARY|thread|panicked)|Test unit written" "artifacts/$t.log" | head -n 20
  else
    grep -E "stat::number_of_executed_units|cov:" "artifacts/$t.log" | tail -n 2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]}"
  exit 1
fi
echo "all targets ran ${SECONDS_EACH}s without a crash"

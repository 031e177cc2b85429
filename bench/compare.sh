#!/usr/bin/env bash
# frontdesk at real size, measured against plain I/O in the same run (see docs/performance.md).
#
#   bench/compare.sh            # generates (once) and benchmarks a 10k- and a 1M-appointment clinic
#   bench/compare.sh add day    # only these rows: find list statement check day sfind add book import rss
#                               # (find also measures its floor: bench/stat_floor.rs)
#
# Environment:
#   FRONTDESK_BENCH_DIR   where generated clinics are cached (default /tmp/frontdesk-bench)
#   BIG_PATIENTS          patients in the big clinic (default 100000)
#   BIG_APPOINTMENTS      appointments in the big clinic (default 1000000)
#   SMALL_PATIENTS        patients in the small clinic (default 1000)
#   SMALL_APPOINTMENTS    appointments in the small clinic (default 10000)
#   IMPORT_ROWS           rows in the generated import CSV (default 100000)
#   RUNS                  hyperfine runs per fast command (default 10)
#   SLOW_RUNS             runs per full-history command: check, statements (default 2)
#
# Needs hyperfine and ripgrep (installed here with apt-get or cargo when missing) and GNU time.
# CI does not run this: it takes minutes and wants a quiet machine.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bench_dir=${FRONTDESK_BENCH_DIR:-/tmp/frontdesk-bench}
big_patients=${BIG_PATIENTS:-100000}
big_appts=${BIG_APPOINTMENTS:-1000000}
small_patients=${SMALL_PATIENTS:-1000}
small_appts=${SMALL_APPOINTMENTS:-10000}
import_rows=${IMPORT_ROWS:-100000}
runs=${RUNS:-10}
# Rows to run (all when none is named).
only=" $* "
want() { [ "$only" = "  " ] || [[ "$only" == *" $1 "* ]]; }
slow_runs=${SLOW_RUNS:-2}
seed=1
as_of=2026-11-27
# A weekday present in both clinics (the generator books back from two weeks after --as-of).
bench_day=2026-11-24
absent=zqxjkvbwq

need() {
    command -v "$1" >/dev/null && return
    echo "installing $2 …" >&2
    if command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then
        ${SUDO:-$([ "$(id -u)" = 0 ] || echo sudo)} apt-get install -y "$2" >/dev/null || cargo install --locked "$2"
    else
        cargo install --locked "$2"
    fi
}
need hyperfine hyperfine
need rg ripgrep
need jq jq
[ -x /usr/bin/time ] || { echo "GNU time (/usr/bin/time) is needed for peak memory" >&2; exit 2; }

echo "building frontdesk (release) …" >&2
cargo build --release --quiet --manifest-path "$here/Cargo.toml" --bin frontdesk --example stat_floor
fd="$here/target/release/frontdesk"
stat_floor="$here/target/release/examples/stat_floor"
export FRONTDESK_USER=bench NO_COLOR=1

mkdir -p "$bench_dir"
big="$bench_dir/big-$big_patients-$big_appts-s$seed"
small="$bench_dir/small-$small_patients-$small_appts-s$seed"

generate() { # DIR PATIENTS APPOINTMENTS
    if [ -f "$1.complete" ]; then return; fi
    rm -rf "$1"
    echo "generating $1 …" >&2
    /usr/bin/time -f "  generated in %e s, peak %M KB" \
        "$fd" demo generate "$1" --patients "$2" --appointments "$3" --seed "$seed" --as-of "$as_of"
    # Marks a finished tree, so an interrupted generation is redone next time.
    touch "$1.complete"
}
generate "$small" "$small_patients" "$small_appts"
generate "$big" "$big_patients" "$big_appts"

# A patient with many appointments (the generator favours low patient numbers).
busy_patient() { rg -o --no-filename -m1 'P[0-9A-Z]{8}' "$1/appointments/$(echo $bench_day | tr - /)" | sort | uniq -c | sort -rn | awk 'NR==1{print $2}'; }
big_pid=$(busy_patient "$big")
small_pid=$(busy_patient "$small")

available() { "$fd" --records "$small" "$@" --help >/dev/null 2>&1; }

results=()
row() { # LABEL GOAL MEAN_A MEAN_B  (ratio = A / B)
    results+=("$(printf '%s|%s|%s|%s|%s' "$1" "$3" "$4" "$(awk -v a="$3" -v b="$4" 'BEGIN{printf "%.3f", a/b}')" "$2")")
}
missing() { results+=("$(printf '%s|not available yet|||%s' "$1" "$2")"); }

# Runs commands in one hyperfine run; prints their mean seconds, in order.
compare() { # RUNS PREPARE_OR_EMPTY CMD...
    local json; json=$(mktemp)
    local prep=()
    [ -n "$2" ] && prep=(--prepare "$2")
    # Slow full-history commands get one warm-up run, fast ones two.
    local warm=2
    [ "$1" -lt 5 ] && warm=1
    hyperfine -N -i --style basic --warmup "$warm" --runs "$1" "${prep[@]}" --export-json "$json" "${@:3}" >&2
    jq -r '.results[].mean' "$json" | tr '\n' ' '
    rm -f "$json"
}

# One command alone (when the two sides need different preparation); prints its mean seconds.
mean_of() { # RUNS PREPARE CMD
    local json; json=$(mktemp)
    hyperfine -N --style basic --runs "$1" --prepare "$2" --export-json "$json" "$3" >&2
    jq -r '.results[0].mean' "$json"
    rm -f "$json"
}

bench() { # LABEL GOAL RUNS CMD_A CMD_B [PREPARE]
    echo "== $1" >&2
    read -r a b <<<"$(compare "$3" "${6:-}" "$4" "$5")"
    row "$1" "$2" "$a" "$b"
}

# Warm the caches the interactive commands rely on (the patient and appointment indexes).
"$fd" --records "$big" patient find smith >/dev/null 2>&1 || true
"$fd" --records "$small" patient find smith >/dev/null 2>&1 || true

if want find; then
    # Beside find, in the same hyperfine run, its floor: the one stat per patient file that the
    # index's per-file validation needs, and nothing else (bench/stat_floor.rs).
    names="$bench_dir/patient-files.txt"
    (cd "$big/patients" && find . -name '*.toml' | sed 's|^\./||' | LC_ALL=C sort) >"$names"
    echo "== patient find (warm), its floor, rg patients/" >&2
    read -r find floor grep <<<"$(compare "$runs" "" "$fd --records $big patient find smith jo" \
        "$stat_floor $big/patients $names" "rg -c $absent $big/patients")"
    row "patient find (warm) / rg patients/" "<= 0.25" "$find" "$grep"
    row "  its floor: a statx of every patient file, nothing else / rg patients/" "reference" "$floor" "$grep"
    row "  patient find / its floor" "reference" "$find" "$floor"
fi

if ! want list; then :
elif available schedule list; then
    "$fd" --records "$big" schedule list --patient "$big_pid" >/dev/null
    bench "schedule list --patient / rg appointments/" "<= 0.1" "$runs" \
        "$fd --records $big schedule list --patient $big_pid" "rg -c $absent $big/appointments"
else missing "schedule list --patient / rg appointments/" "<= 0.1"; fi

stmts="$bench_dir/statements"
# Each run writes into an empty folder, as a monthly run does (statements/2026-11). The last
# run's output is moved aside, not deleted, between runs: on this machine's ext4 (no journal)
# creating ~72,000 files seconds after deleting as many makes the kernel skip every recently
# freed inode (`recently_deleted`), a third of the run, which no office sees a month apart.
# The set-aside output is deleted at the end.
stmts_aside="$bench_dir/statements-aside"
trap 'rm -rf "$stmts_aside"' EXIT
aside_stmts="mkdir -p $stmts_aside && if [ -e $stmts ]; then mv $stmts $stmts_aside/\$(date +%s%N); fi"
if ! want statement; then :
elif available pay statement && "$fd" --records "$small" pay statement --help 2>/dev/null | grep -q -- --all-due; then
    bench "pay statement --all-due / rg ledger/" "<= 1.5" "$slow_runs" \
        "$fd --records $big pay statement --all-due -o $stmts" "rg -c $absent $big/ledger" "sh -c '$aside_stmts'"
else missing "pay statement --all-due / rg ledger/" "<= 1.5"; fi

if ! want check; then :
elif available check; then
    bench "check / rg all records" "<= 1.5" "$slow_runs" \
        "$fd --records $big check" "rg -c $absent $big"
else missing "check / rg all records" "<= 1.5"; fi

if ! want day; then :
elif available schedule day; then
    bench "schedule day: 1M / 10k tree" "<= 1.2" "$runs" \
        "$fd --records $big schedule day $bench_day" "$fd --records $small schedule day $bench_day"
else missing "schedule day: 1M / 10k tree" "<= 1.2"; fi

if ! want sfind; then :
elif available schedule find; then
    bench "schedule find: 1M / 10k tree" "<= 1.2" "$runs" \
        "$fd --records $big schedule find --patient $big_pid --type follow-up --after $as_of" \
        "$fd --records $small schedule find --patient $small_pid --type follow-up --after $as_of"
else missing "schedule find: 1M / 10k tree" "<= 1.2"; fi

add="patient add --first Bench --last Runner --dob 1990-01-01 --sex F --force --quiet"
want add && bench "patient add + commit: 1M / 10k tree" "<= 1.5" "$runs" \
    "$fd --records $big $add" "$fd --records $small $add"

# The desk's most frequent write, beside the issue's rows: one booking with its commit (the new
# ID is checked against every other day of ten years). The first run takes a free slot; the
# rest book the same slot with --force, which runs every check and then allows the overlap.
book_args() { # CLINIC PATIENT
    local slot
    slot=$("$fd" --records "$1" schedule find --patient "$2" --type follow-up --after 2027-02-01 \
        --format json | jq -r '.[0] | "\(.date) \(.start) \(.provider)"')
    set -- "$1" "$2" $slot
    echo "schedule book --patient $2 --provider $5 --type follow-up --at '$3 $4' --force --quiet"
}
if ! want book; then :
elif available schedule book; then
    bench "schedule book + commit: 1M / 10k tree" "reference" "$runs" \
        "$fd --records $big $(book_args "$big" "$big_pid")" \
        "$fd --records $small $(book_args "$small" "$small_pid")"
else missing "schedule book + commit: 1M / 10k tree" "reference"; fi

# A Synthea-format CSV of unique fictional people (unique family names, so the duplicate guard
# has nothing to refuse), imported with the shipped map.
csv="$bench_dir/import-$import_rows.csv"
if [ ! -f "$csv" ]; then
    awk -v n="$import_rows" 'BEGIN {
        srand(7); split("ka lo mi ne ru sa ti vo ba de fi go hu ja ke li mo nu pa re", syl, " ")
        split("Mary John Linda James Susan Robert Karen David Lisa Michael Emma Noah", given, " ")
        print "Id,BIRTHDATE,DEATHDATE,SSN,DRIVERS,PASSPORT,PREFIX,FIRST,MIDDLE,LAST,SUFFIX,MAIDEN,MARITAL,RACE,ETHNICITY,GENDER,BIRTHPLACE,ADDRESS,CITY,STATE,COUNTY,FIPS,POSTCODE,LAT,LON,INCOME"
        for (i = 0; i < n; i++) {
            fam = ""; k = i
            for (j = 0; j < 5; j++) { fam = fam syl[k % 20 + 1]; k = int(k / 20) }
            fam = toupper(substr(fam, 1, 1)) substr(fam, 2)
            printf "%08x-0000-4000-8000-%012x,%d-%02d-%02d,,999-00-%04d,,,,%s,,%s,,,,,,%s,,%d Main St,Exeter,South West,Devon,,EX4,,,\n",
                i, i, 1930 + int(rand() * 90), 1 + int(rand() * 12), 1 + int(rand() * 28), i % 10000,
                given[int(rand() * 12) + 1], fam, (rand() < 0.5 ? "F" : "M"), 1 + int(rand() * 300)
        }
    }' > "$csv"
fi
imp="$bench_dir/import-target"
copy="$bench_dir/import-copy"
if ! want import; then :
elif available patient import; then
    echo "== patient import" >&2
    fresh="rm -rf $imp $copy && $fd init $imp --quiet"
    a=$(mean_of "$slow_runs" "sh -c '$fresh'" \
        "$fd --records $imp patient import $csv --map $here/examples/synthea-patients.map.toml --quiet")
    b=$(mean_of 3 "rm -rf $copy" "cp -r $imp/patients $copy")
    row "patient import $import_rows rows / cp -r patients/" "<= 2" "$a" "$b"
else missing "patient import / cp -r patients/" "<= 2"; fi

# Peak memory of every command that reads the whole history.
peak() { # LABEL CMD...
    local label=$1; shift
    local kb
    # A command that finds problems (check) or nothing still reports its peak memory.
    kb=$(/usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1 || true)
    rss+=("$(printf '%s|%s MB' "$label" "$(awk -v k="$kb" 'BEGIN{printf "%.0f", k/1024}')")")
}
rss=()
if want rss; then
    peak "patient find (warm)" "$fd" --records "$big" patient find smith jo
    peak "patient list --all" "$fd" --records "$big" patient list --all
    available schedule list && peak "schedule list --patient" "$fd" --records "$big" schedule list --patient "$big_pid"
    if available check; then
        # Warm, as an office runs it: the run before leaves its cache and the clean-tree note.
        "$fd" --records "$big" check >/dev/null 2>&1 || true
        peak "check (warm)" "$fd" --records "$big" check
    fi
    peak "index rebuild" "$fd" --records "$big" index rebuild
    # Cold: every cache was just dropped, so every file is parsed and git is asked for its
    # status (git's own memory counts: it holds its whole index).
    available check && peak "check (cold, right after index rebuild: status worked out afresh)" "$fd" --records "$big" check
    available pay statement && sh -c "$aside_stmts" && peak "pay statement --all-due" "$fd" --records "$big" pay statement --all-due -o "$stmts"
    available patient import && peak "patient import ($import_rows rows)" sh -c \
        "rm -rf $imp && $fd init $imp --quiet && $fd --records $imp patient import $csv --map $here/examples/synthea-patients.map.toml --quiet"
fi

echo
echo "frontdesk $(git -C "$here" rev-parse --short HEAD) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "big: $big_patients patients, $big_appts appointments; small: $small_patients patients, $small_appts appointments"
echo
echo "| benchmark | frontdesk (s) | baseline (s) | ratio | goal |"
echo "|---|---:|---:|---:|---|"
for r in "${results[@]}"; do
    IFS='|' read -r label a b ratio goal <<<"$r"
    [ -n "$b" ] && a=$(printf '%.4f' "$a") && b=$(printf '%.4f' "$b")
    echo "| $label | $a | $b | $ratio | $goal |"
done
echo
echo "| full-history command | peak RSS (goal <= 200 MB) |"
echo "|---|---:|"
for r in "${rss[@]}"; do
    IFS='|' read -r label mb <<<"$r"
    echo "| $label | $mb |"
done

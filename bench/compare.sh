#!/usr/bin/env bash
# frontdesk at real size, measured against plain I/O in the same run (see docs/performance.md).
#
#   bench/compare.sh            # generates (once) and benchmarks a 10k- and a 1M-appointment clinic
#   bench/compare.sh add day    # only these rows: find list statement check day sfind add book import
#                               # desk letters comm resource reports satisfaction rss
#                               # (find also measures its floor: bench/stat_floor.rs)
#
# Environment:
#   FRONTDESK_BENCH_DIR   where generated clinics are cached (default /tmp/frontdesk-bench)
#   BIG_PATIENTS          patients in the big clinic (default 100000)
#   BIG_APPOINTMENTS      appointments in the big clinic (default 1000000)
#   SMALL_PATIENTS        patients in the small clinic (default 1000)
#   SMALL_APPOINTMENTS    appointments in the small clinic (default 10000)
#   HISTORY_APPOINTMENTS  appointments in the `desk` rows' third clinic: the small clinic's
#                         patients seen by one provider, so its appointments go back as many
#                         years as the big clinic's (default 50000, ten years)
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
history_appts=${HISTORY_APPOINTMENTS:-50000}
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
history="$bench_dir/history-$small_patients-$history_appts-p1-s$seed"

generate() { # DIR PATIENTS APPOINTMENTS [PROVIDERS]
    if [ -f "$1.complete" ]; then return; fi
    rm -rf "$1"
    echo "generating $1 …" >&2
    /usr/bin/time -f "  generated in %e s, peak %M KB" \
        "$fd" demo generate "$1" --patients "$2" --appointments "$3" --seed "$seed" --as-of "$as_of" \
        --providers "${4:-20}"
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
notes=()
note() { notes+=("$1"); } # a line printed under the table's header: what a row was run on

# Puts a generated clinic's patients, appointments and ledger (with the receipts and outbox
# payments leave), its communications and its correspondence back as the generator made them,
# in one commit, the way a clerk's `git rm` would: what the rows booked, paid, logged and sent
# since is gone. Survey responses stay (no response names a visit the rows booked). Then git's
# index is folded (see `fold_index`).
restore_generated() { # CLINIC
    local c=$1 gen d dirs=() list
    gen=$(git -C "$c" log --format=%H -1 --grep '^Generate demo clinic')
    [ -n "$gen" ] || return 0
    for d in patients appointments ledger receipts outbox communications correspondence; do
        [ -e "$c/$d" ] && dirs+=("$d")
    done
    if git -C "$c" diff --quiet "$gen" HEAD -- "${dirs[@]}"; then
        fold_index "$c"
        return 0
    fi
    echo "putting the records of $(basename "$c") back as generated …" >&2
    list=$(mktemp)
    git -C "$c" diff --name-only -z --no-renames --diff-filter=A "$gen" HEAD -- "${dirs[@]}" > "$list"
    # Not `git rm`: it matches each of 2.8 million index entries against every path (a minute).
    if [ -s "$list" ]; then
        (cd "$c" && xargs -0 rm -f -- < "$list")
        git -C "$c" update-index -z --force-remove --stdin < "$list"
    fi
    git -C "$c" diff --name-only -z --no-renames --diff-filter=MD "$gen" HEAD -- "${dirs[@]}" > "$list"
    [ -s "$list" ] && git -C "$c" checkout "$gen" --pathspec-from-file="$list" --pathspec-file-nul
    rm -f "$list"
    # git's automatic gc after this commit runs in the foreground: left to detach (git's
    # default), it can repack the big clinic for a minute beside the rows below, which then
    # measure it too. (Once, 988 of git's tmp_idx/tmp_rev files were left in the big clinic's
    # pack folder, all written in the minute after this commit, one pair per payment the rows
    # made; not reproduced since.)
    git -C "$c" -c user.name=bench -c user.email=bench@example.org -c gc.autoDetach=false \
        commit -q -m "Bench: records put back as generated."
    fold_index "$c"
}

# Every commit reads and rewrites git's small index (the entries written since the shared one),
# about 0.65 ms per 1,000 entries here, until frontdesk folds it at 20,000 (docs/git.md). What a
# clinic's small index holds is what the rows wrote there before (the letter row alone adds 381
# entries a run), not the clinic's size, so each run measures every clinic with it just folded
# (5 s on the big clinic). The shared indexes that leaves behind (300 MB each on the big
# clinic) go at once, not after git's two weeks.
fold_index() { # CLINIC
    echo "folding git's index of $(basename "$1") …" >&2
    git -C "$1" -c splitIndex.sharedIndexExpire=now update-index --split-index
}

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

# One command alone (when the two sides need different preparation); prints its mean seconds,
# or with STAT=median its median.
mean_of() { # RUNS PREPARE CMD
    local json; json=$(mktemp)
    # One warm-up: a cache whose format changed since the last run is rebuilt there, once.
    hyperfine -N --style basic --warmup 1 --runs "$1" --prepare "$2" --export-json "$json" "$3" >&2
    jq -r ".results[0].${STAT:-mean}" "$json"
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

# Issue 15: the desk's commands, each run right after a write (what a desk really does: the
# previous command saved something), on both clinics. The clock is pinned to the clinics'
# --as-of morning so today's sheet has visits. The write before each run is the one that
# touches that command's caches: a patient update before the patient commands, a booking
# before the schedule commands, a payment before the money commands.
if want desk; then
    export FRONTDESK_NOW="${as_of}T08:00:00-05:00"
    desk_tmp=$(mktemp -d)
    desk_rows() { # CLINIC PATIENT LABEL → prints "label mean" lines
        local c=$1 p=$2 slot
        slot=$("$fd" --records "$c" schedule find --patient "$p" --type follow-up --after "$as_of" \
            --format json | jq -r '.[0] | "\(.date) \(.start) \(.provider)"')
        set -- "$c" "$p" $slot
        local book="schedule book --patient $p --provider $5 --type follow-up --at '$3 $4' --force --quiet"
        # A new address each run: the same one again is "nothing changed", no write at all.
        local patient_write="sh -c '$fd --records $c patient update $p --email bench-\$\$@example.org >/dev/null'"
        local book_write="sh -c \"$fd --records $c $book > $desk_tmp/appt\""
        # Check-in takes only today's visits: once the benches have filled today's book, the
        # first free slot is another day, so this booking is forced into today.
        local today_book="schedule book --patient $p --provider $5 --type follow-up --at '$as_of 16:10' --force --quiet"
        local today_write="sh -c \"$fd --records $c $today_book > $desk_tmp/appt\""
        local pay_write="$fd --records $c pay collect --patient $p --amount 1 --method cash --force --quiet"
        for spec in \
            "patient find|$patient_write|$fd --records $c patient find smith jo" \
            "patient show|$patient_write|$fd --records $c patient show $p" \
            "patient add|$patient_write|$fd --records $c $add" \
            "schedule find|$book_write|$fd --records $c schedule find --patient $p --type follow-up --after $as_of" \
            "schedule book|$book_write|sh -c \"$fd --records $c $book\"" \
            "schedule checkin|$today_write|sh -c \"$fd --records $c schedule checkin \$(cat $desk_tmp/appt)\"" \
            "schedule day|$book_write|$fd --records $c schedule day" \
            "pay collect|$pay_write|$fd --records $c pay collect --patient $p --amount 2 --method cash --force --quiet" \
            "pay balance|$pay_write|$fd --records $c pay balance $p" \
            "pay ledger|$pay_write|$fd --records $c pay ledger $p"; do
            IFS='|' read -r label prepare cmd <<<"$spec"
            echo "== $label right after a write ($c)" >&2
            # Issue 15 sets the desk's goal on the median: a write's fsync on this disk
            # sometimes takes 40 ms more, and a mean of ten runs follows those few.
            echo "$label|$(STAT=median mean_of "$runs" "$prepare" "$cmd")"
        done
    }
    # The small clinic's 10,000 appointments fill a month (20 providers); the big one's go back
    # ten years, so every cache kept per day folder has 3,100 folders to check there against 15.
    # The third clinic has the small one's 1,000 patients and one provider, whose 50,000
    # appointments go back as far as the big clinic's: big against it is clinic size alone.
    # Its patient is the one with the most entry files not above the big one's ledger lines, so it
    # never has more of its own to read.
    generate "$history" "$small_patients" "$history_appts" 1
    # The writes before each row pile up run after run: every payment is another entry in the
    # patient's ledger (2,617 in the big clinic's after a season of runs, against 29
    # generated), every booking another visit on the pinned day (758 against 400). Each desk
    # run first puts the records back as the generator made them, before the third clinic's
    # patient is chosen by the big one's ledger.
    for c in "$big" "$small" "$history"; do restore_generated "$c"; done
    big_entries=$("$fd" --records "$big" pay ledger "$big_pid" --format json | jq length)
    history_pid=$(rg -o --no-filename -r '$1' '^patient = "(P[0-9A-Z]{8})"' "$history/ledger" \
        | sort | uniq -c | sort -n | awk -v max="$big_entries" '$1 <= max { p = $2 } END { print p }')
    "$fd" --records "$history" patient find smith >/dev/null 2>&1 || true
    # What the rows ran on is said with them.
    for c_p in "$big:$big_pid" "$small:$small_pid" "$history:$history_pid"; do
        c=${c_p%%:*} p=${c_p##*:}
        # A desk at work has listed a patient's visits, which indexes every year of
        # appointments; a freshly generated clinic has no index, the desk rows' own commands
        # index only this year, and each booking then looks for its new ID in every older day
        # folder instead (docs/performance.md, "late evening"). On the big clinic the first
        # listing takes about two minutes.
        "$fd" --records "$c" schedule list --patient "$p" >/dev/null
        note "desk rows on $(basename "$c"): patient $p with $("$fd" --records "$c" pay ledger "$p" --format json | jq length) ledger entries; $(find "$c/ledger/${as_of//-//}" -name '*.toml' 2>/dev/null | wc -l) ledger and $(find "$c/appointments/${as_of//-//}" -name '*.toml' 2>/dev/null | wc -l) appointment files on $as_of"
    done
    mapfile -t desk_big < <(desk_rows "$big" "$big_pid")
    mapfile -t desk_small < <(desk_rows "$small" "$small_pid")
    mapfile -t desk_history < <(desk_rows "$history" "$history_pid")
    for i in "${!desk_big[@]}"; do
        IFS='|' read -r label a <<<"${desk_big[$i]}"
        IFS='|' read -r _ b <<<"${desk_small[$i]}"
        IFS='|' read -r _ h <<<"${desk_history[$i]}"
        row "$label right after a write, medians: big / small clinic (big: $(awk -v a="$a" 'BEGIN{printf "%.0f ms", a*1000}'))" "<= 1.2 and <= 100 ms" "$a" "$b"
        row "  the same: big / 1,000 patients with ten years of history" "<= 1.2" "$a" "$h"
    done
    # patient find searches every patient, so its goal is against its own warm time: both in
    # one hyperfine run, one right after the other. Measured minutes apart (the after-write
    # median taken from the row above, the warm one after the other clinics' rows), the page
    # cache alone moved the ratio between 1.03 and 1.15 over three runs of the same code.
    json=$(mktemp)
    find_big="$fd --records $big patient find smith jo"
    hyperfine -N --style basic --warmup 1 --runs "$runs" --export-json "$json" \
        --prepare "sh -c '$fd --records $big patient update $big_pid --email bench-\$\$@example.org >/dev/null'" "$find_big" \
        --prepare true "$find_big" >&2
    after_write=$(jq -r '.results[0].median' "$json")
    warm=$(jq -r '.results[1].median' "$json")
    rm -f "$json"
    row "patient find right after a write / warm, medians (big clinic)" "<= 1.1" "$after_write" "$warm"
    # The floor under those ratios: a day-folder cache is validated by one stat per day folder
    # of its kind (3,100 ledger days at ten years against 15 on the small clinic), which no
    # cache kept per day folder can skip. Each kind's stats alone, process start included.
    for kind in ledger appointments communications; do
        for c in "$big" "$small"; do
            (cd "$c" && [ -d "$kind" ] && cd "$kind" && find . -mindepth 3 -maxdepth 3 -type d | sed 's#^\./##' | sort) \
                > "$desk_tmp/$kind-$(basename "$c").txt" || true
        done
        bench "floor: stat every $kind day folder, big / small clinic (reference; $(wc -l < "$desk_tmp/$kind-$(basename "$big").txt") / $(wc -l < "$desk_tmp/$kind-$(basename "$small").txt") folders)" "reference" "$runs" \
            "$stat_floor $big/$kind $desk_tmp/$kind-$(basename "$big").txt" \
            "$stat_floor $small/$kind $desk_tmp/$kind-$(basename "$small").txt"
    done
    rm -rf "$desk_tmp"
    unset FRONTDESK_NOW
fi

# Issue 17: the nightly reminder batch for one day (~400 appointments on either clinic, so the
# ratio of the two times is the ratio of the time per letter). Each run sends for a fresh
# day's visits: the prepare step removes the letters and outbox the run before wrote today,
# so "already sent" does not turn the next run into a no-op.
# The clock is pinned to the clinics' --as-of morning, and the batch is for the Monday after.
letter_now="${as_of}T08:00:00-05:00"
letter_day=2026-11-30
if ! want letters; then :
elif available letter batch; then
    today=$(echo "$as_of" | tr - /)
    unsend() { echo "rm -rf $1/correspondence/$today $1/outbox/$as_of-reminder.csv"; }
    export FRONTDESK_NOW="$letter_now"
    # Letters print the office's phone and address: clinics generated before the generator
    # set them get them the way an office would.
    for c in "$big" "$small"; do
        grep -q '^phone' "$c/frontdesk.toml" || "$fd" --records "$c" office set --phone 617-555-0100 \
            --address "120 Riverside Ave" --city Cambridge --state MA --zip 02139 >/dev/null
    done
    echo "== letter batch reminder" >&2
    a=$(mean_of "$runs" "sh -c '$(unsend "$big")'" "$fd --records $big letter batch reminder --appointments $letter_day --quiet")
    b=$(mean_of "$runs" "sh -c '$(unsend "$small")'" "$fd --records $small letter batch reminder --appointments $letter_day --quiet")
    sent_big=$(find "$big/correspondence/$today" -name '*.toml' 2>/dev/null | wc -l)
    sent_small=$(find "$small/correspondence/$today" -name '*.toml' 2>/dev/null | wc -l)
    row "letter batch reminder, one day ($sent_big / $sent_small letters): big / small clinic" "<= 1.2 (big <= 1 s)" "$a" "$b"
    results+=("$(printf 'letter batch reminder, big clinic, seconds per letter|%s|||reference' "$(awk -v a="$a" -v n="$sent_big" 'BEGIN{printf "%.5f", a/(n>0?n:1)}')")")
    unset FRONTDESK_NOW
else missing "letter batch reminder: big / small clinic" "<= 1.2"; fi

# Issue 18: the morning to-do list and one patient's log over a million communications, and
# `comm due` again on a copy of the clinic that holds only the open follow-ups: history must
# not matter.
open_only="$bench_dir/big-open-communications"
if ! want comm; then :
elif available comm due; then
    if [ ! -f "$open_only.complete" ]; then
        rm -rf "$open_only" && mkdir -p "$open_only"
        # The office, its patients (hard links: nothing here writes them) and the open
        # follow-ups: the clinic without its closed communications. (`rg -L` is "follow
        # links", not "without a match": an earlier copy held only the closed ones.)
        (cd "$big" && cp -r frontdesk.toml payers providers rooms appointment-types.toml services.toml "$open_only"/ \
            && cp -al patients "$open_only"/patients)
        # (An `rg` of a batch whose follow-ups are all done prints nothing and exits 1, which
        # xargs passes on as 123: not a failure here.)
        (cd "$big" && { rg -l '^follow_up' communications | xargs rg --files-without-match '^done =' || [ $? = 123 ]; } \
            | while read -r f; do mkdir -p "$open_only/$(dirname "$f")"; cp "$f" "$open_only/$f"; done)
        cmp <("$fd" --records "$big" comm due) <("$fd" --records "$open_only" comm due) >/dev/null \
            || echo "warning: comm due differs on the open-only copy" >&2
        touch "$open_only.complete"
    fi
    comm_pid=$(rg -o --no-filename -m1 'patient = "P[0-9A-Z]{8}"' "$big/communications/$(echo $bench_day | tr - /)" | head -1 | cut -d'"' -f2)
    "$fd" --records "$big" comm due >/dev/null 2>&1 || true
    "$fd" --records "$open_only" comm due >/dev/null 2>&1 || true
    bench "comm due: 1.1M communications / only the open ones" "<= 1.2 (and <= 0.1 s)" "$runs" \
        "$fd --records $big comm due" "$fd --records $open_only comm due"
    # The floor under that ratio: one stat of every communications day folder (3,486 at ten
    # years, 22 on the copy), which a cache validated per day folder cannot skip.
    (cd "$big/communications" && find . -mindepth 3 -maxdepth 3 -type d | sed 's#^\./##' | sort) > "$bench_dir/comm-days-big.txt"
    (cd "$open_only/communications" && find . -mindepth 3 -maxdepth 3 -type d | sed 's#^\./##' | sort) > "$bench_dir/comm-days-open.txt"
    bench "floor: stat every communications day folder, big / open-only copy (reference)" "reference" "$runs" \
        "$stat_floor $big/communications $bench_dir/comm-days-big.txt" \
        "$stat_floor $open_only/communications $bench_dir/comm-days-open.txt"
    bench "comm list --patient / rg -c communications/" "<= 0.1 s" "$runs" \
        "$fd --records $big comm list --patient $comm_pid" "rg -c $absent $big/communications"
else missing "comm due" "<= 1.2"; fi

# Issue 18: `resource find` over a directory of 1,000 services (imported through the shipped
# HSDS map), against listing them.
resources="$bench_dir/resources-1000"
if ! want resource; then :
elif available resource find; then
    if [ ! -f "$resources.complete" ]; then
        rm -rf "$resources" && "$fd" init "$resources" --quiet --name "Resource bench" --timezone America/New_York
        csv1000="$bench_dir/resources-1000.csv"
        head -1 "$here/examples/hsds-services.csv" > "$csv1000"
        awk -F, 'NR>1' "$here/examples/hsds-services.csv" > "$bench_dir/resources-rows.csv"
        rows=$(wc -l < "$bench_dir/resources-rows.csv")
        for i in $(seq 1 $(( (1000 + rows - 1) / rows ))); do
            sed "s/^\([^,]*\),\([^,]*\)/\1-$i,\2 $i/" "$bench_dir/resources-rows.csv"
        done | head -1000 >> "$csv1000"
        "$fd" --records "$resources" resource import "$csv1000" --map "$here/examples/hsds-services.map.toml" --quiet
        touch "$resources.complete"
    fi
    bench "resource find --need transport over 1,000 resources / resource list --all" "<= 0.05 s" "$runs" \
        "$fd --records $resources resource find --need transport --zip 02139 --language es" \
        "$fd --records $resources resource list --all"
else missing "resource find" "<= 0.05 s"; fi

# Issue 19: the nightly report set against reading the records it reads; one day's report on
# both clinics; the aging report against reading the ledger.
if ! want reports; then :
elif available report nightly; then
    nightly="$bench_dir/nightly"
    bench "report nightly / rg -c over appointments/ and ledger/" "<= 1.5" "$slow_runs" \
        "$fd --records $big report nightly --out $nightly" "rg -c $absent $big/appointments $big/ledger" "rm -rf $nightly"
    bench "report daily $bench_day: big / small clinic" "<= 1.2" "$runs" \
        "$fd --records $big report daily $bench_day" "$fd --records $small report daily $bench_day"
    bench "report aging / rg -c over ledger/" "<= 1.0" "$slow_runs" \
        "$fd --records $big report aging" "rg -c $absent $big/ledger"
else missing "report nightly" "<= 1.5"; fi

# Issue 20: the satisfaction report over all ~200,000 responses, ten years (added to a generated clinic by
# `survey demo --share 22` when it has none), against reading the responses and the visits
# they join (one appointment file each).
if ! want satisfaction; then :
elif available report satisfaction; then
    if [ ! -d "$big/surveys" ]; then
        echo "adding survey responses to $big …" >&2
        /usr/bin/time -f "  added in %e s, peak %M KB" "$fd" --records "$big" survey demo --share 22 --seed 1 --quiet >/dev/null
    fi
    joined="$bench_dir/survey-visits.txt"
    if [ ! -s "$joined" ]; then
        find "$big/surveys" -name '*.toml' -print0 | xargs -0 awk -F'"' '
            FNR == 1 { a = ""; v = ""; done = 0 }
            /^appointment = / { a = $2 }
            /^visit = / { v = $2 }
            a != "" && v != "" && !done { gsub("-", "/", v); print "appointments/" v "/" a ".toml"; done = 1 }' > "$joined"
    fi
    echo "== report satisfaction ($(wc -l < "$joined") responses about a visit)" >&2
    bench "report satisfaction --by provider / rg -c over surveys/ and the visits they join" "<= 1.5" "$slow_runs" \
        "$fd --records $big report satisfaction --by provider --from $(ls "$big/surveys" | head -1)-01-01 --to 2026-12-31" \
        "sh -c 'rg -c $absent $big/surveys; cd $big && xargs -a $joined rg -c $absent'"
else missing "report satisfaction" "<= 1.5"; fi

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
    available report nightly && rm -rf "$bench_dir/nightly" && peak "report nightly" "$fd" --records "$big" report nightly --out "$bench_dir/nightly"
    available comm due && peak "comm due" "$fd" --records "$big" comm due
    available report satisfaction && peak "report satisfaction --by provider" "$fd" --records "$big" report satisfaction --by provider
    available patient import && peak "patient import ($import_rows rows)" sh -c \
        "rm -rf $imp && $fd init $imp --quiet && $fd --records $imp patient import $csv --map $here/examples/synthea-patients.map.toml --quiet"
fi

echo
echo "frontdesk $(git -C "$here" rev-parse --short HEAD) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "big: $big_patients patients, $big_appts appointments; small: $small_patients patients, $small_appts appointments"
for n in "${notes[@]}"; do echo "$n"; done
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

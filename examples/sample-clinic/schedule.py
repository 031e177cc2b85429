#!/usr/bin/env python3
"""Builds the sample clinic's schedule in records/: three providers, rooms, appointment types,
and about five weeks of appointments around 2026-11-27 in every state of the visit flow.

Everything is written by the frontdesk binary itself (so every record is valid), with
FRONTDESK_NOW pinned to the moment each step happened. Deterministic apart from record IDs.

    cargo build && python3 examples/sample-clinic/schedule.py [records]
"""
import datetime as dt
import hashlib
import os
import random
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECORDS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "records")
BIN = os.path.join(ROOT, "target", "debug", "frontdesk")
TODAY = dt.date(2026, 11, 27)
rng = random.Random(20261127)


def run(args, now, check=True):
    env = dict(os.environ, FRONTDESK_USER="sample", FRONTDESK_NOW=now, NO_COLOR="1")
    p = subprocess.run([BIN, "--records", RECORDS, "--no-commit", *args], env=env,
                       capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SystemExit(f"{args}: {p.stderr}")
    return p


def at(day, hhmm):
    # America/New_York: EST from 2026-11-01 to 2027-03-14.
    return f"{day.isoformat()}T{hhmm}:00-05:00"


def npi(base9):
    digits = [int(c) for c in "80840" + base9]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return base9 + str((10 - total % 10) % 10)


def write(rel, text):
    path = os.path.join(RECORDS, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    for d in ("providers", "rooms", "appointments", "series", "waitlist"):
        shutil.rmtree(os.path.join(RECORDS, d), ignore_errors=True)
    setup_now = "2026-10-01T09:00:00-04:00"
    run(["provider", "add", "okafor", "--name", "Adaeze Okafor", "--credentials", "MD",
         "--specialty", "family medicine", "--npi", npi("123456789"),
         "--hours", "mon-fri 08:00-17:00 break 12:00-13:00"], setup_now)
    run(["provider", "add", "lindqvist", "--name", "Erik Lindqvist", "--credentials", "DO",
         "--specialty", "internal medicine", "--npi", npi("198765432"),
         "--hours", "mon,tue,thu 09:00-18:00 break 13:00-14:00",
         "--hours", "wed 08:00-12:00 at north"], setup_now)
    run(["provider", "add", "patel", "--name", "Priya Patel", "--credentials", "NP",
         "--specialty", "dermatology", "--npi", npi("176543210"),
         "--hours", "mon,wed,fri 08:30-16:30 break 12:30-13:00"], setup_now)
    run(["provider", "timeoff", "okafor", "--from", "2026-12-21", "--to", "2026-12-24",
         "--reason", "vacation"], setup_now)
    run(["provider", "timeoff", "patel", "--from", "2026-12-04 12:30", "--to", "2026-12-04 16:30",
         "--reason", "conference"], setup_now)
    for key, name, kind, loc, hours in [
        ("exam-1", "Exam room 1", "exam", "main", None),
        ("exam-2", "Exam room 2", "exam", "main", None),
        ("exam-3", "Exam room 3", "exam", "main", None),
        ("procedure-1", "Procedure room", "procedure", "main", None),
        ("ultrasound", "Ultrasound", "ultrasound", "main", "Tue,Thu 08:00-17:00"),
        ("north-exam", "North clinic exam room", "exam", "north", None),
    ]:
        text = f'schema = 1\nkey = "{key}"\nname = "{name}"\nkind = "{kind}"\nlocation = "{loc}"\n'
        if hours:
            text += f'hours = ["{hours}"]\n'
        write(f"rooms/{key}.toml", text)
    write("appointment-types.toml", TYPES)
    patients = sorted(f[:-5] for d in os.listdir(os.path.join(RECORDS, "patients"))
                      for f in os.listdir(os.path.join(RECORDS, "patients", d)) if f.endswith(".toml"))
    book_days(patients)
    extras(patients)


TYPES = """schema = 1

[[type]]
key = "new-patient"
name = "New patient visit"
minutes = 40
buffer_after = 10
new_patient = true
copay = "office"
instructions = "Arrive 15 minutes early with your insurance card, a photo ID and a list of your medicines."
needs = [{ kind = "exam" }]

[[type]]
key = "follow-up"
name = "Follow-up visit"
minutes = 20
buffer_after = 5
copay = "office"
needs = [{ kind = "exam" }]

[[type]]
key = "annual-physical"
name = "Annual physical"
minutes = 30
buffer_after = 5
copay = "none"
providers = ["okafor", "lindqvist"]
instructions = "Please fast for 8 hours before (water is fine) for blood work."
needs = [{ kind = "exam" }]

[[type]]
key = "procedure"
name = "Skin procedure"
minutes = 60
buffer_after = 15
copay = "specialist"
min_lead_hours = 48
providers = ["patel"]
instructions = "Do not take aspirin for 3 days before unless your doctor says so."
needs = [{ kind = "procedure", minutes = 45 }]

[[type]]
key = "ultrasound"
name = "Ultrasound"
minutes = 30
copay = "specialist"
providers = ["okafor", "lindqvist"]
instructions = "Drink 32 oz of water an hour before and do not empty your bladder."
needs = [{ kind = "ultrasound" }]

[[type]]
key = "urgent"
name = "Same-day sick visit"
minutes = 15
buffer_after = 5
copay = "urgent"
needs = [{ kind = "exam" }]

[[type]]
key = "telehealth"
name = "Video visit"
minutes = 20
copay = "office"
"""


def book_days(patients):
    day = TODAY - dt.timedelta(days=11)
    end = TODAY + dt.timedelta(days=21)
    kinds = {"okafor": ["follow-up", "follow-up", "new-patient", "annual-physical", "urgent", "telehealth", "ultrasound"],
             "lindqvist": ["follow-up", "follow-up", "annual-physical", "new-patient", "telehealth"],
             "patel": ["follow-up", "procedure", "new-patient", "follow-up"]}
    booked = []
    while day <= end:
        for prov, ks in kinds.items():
            for _ in range(rng.randint(4, 7)):
                kind = rng.choice(ks)
                patient = rng.choice(patients)
                p = run(["schedule", "find", "--patient", patient, "--provider", prov, "--type", kind,
                         "--after", day.isoformat(), "--before", day.isoformat(), "--limit", "12",
                         "--format", "csv"], "2026-10-01T09:00:00-04:00", check=False)
                rows = [r.split(",") for r in p.stdout.strip().splitlines()[1:]]
                if not rows:
                    continue
                start = rng.choice(rows)[1]
                b = run(["schedule", "book", "--patient", patient, "--provider", prov, "--type", kind,
                         "--at", f"{day.isoformat()} {start}", "--reason", rng.choice(REASONS)],
                        "2026-10-01T09:00:00-04:00", check=False)
                if b.returncode == 0:
                    booked.append((day, start, b.stdout.strip(), kind))
        day += dt.timedelta(days=1)
    # The visit flow for what has already happened by 10:30 on the sample "today".
    for day, start, aid, kind in booked:
        h, m = map(int, start.split(":"))
        begin = dt.datetime.combine(day, dt.time(h, m))
        now = dt.datetime.combine(TODAY, dt.time(10, 30))
        if begin > now:
            if day <= TODAY + dt.timedelta(days=3) and rng.random() < 0.5:
                run(["schedule", "confirm", aid, "--via", rng.choice(["phone", "sms", "email"])],
                    at(TODAY, "08:15"))
            continue
        fate = rng.random()
        if fate < 0.07:
            run(["schedule", "noshow", aid], at(day, stamp(begin, 20)))
        elif fate < 0.12:
            run(["schedule", "cancel", aid, "--reason", "patient request"], at(day, stamp(begin, -180)))
        else:
            run(["schedule", "checkin", aid], at(day, stamp(begin, -10)))
            if begin + dt.timedelta(minutes=5) > now:
                continue  # still in the waiting room
            room = rng.choice(["exam-1", "exam-2", "exam-3"])
            if kind == "telehealth":
                run(["schedule", "checkout", aid], at(day, stamp(begin, 25)), check=False)
                continue
            # Before today the wait varies by visit (for `report satisfaction --against wait`);
            # today's visits keep the 15-minute wait the waiting-room examples expect.
            wait = 15 if day >= TODAY else wait_for(aid)
            if run(["schedule", "room", aid, "--room", room], at(day, stamp(begin, wait - 10)), check=False).returncode:
                continue
            if begin + dt.timedelta(minutes=wait + 15) > now:
                continue  # with the provider now
            run(["schedule", "checkout", aid], at(day, stamp(begin, wait + 15)))


def wait_for(aid):
    """Minutes from arrival to rooming, from the appointment ID: about a quarter each under 10,
    10-19, 20-29 and 30-45 minutes."""
    h = int(hashlib.sha1(aid.encode()).hexdigest(), 16)
    band = h % 4
    return [4, 10, 20, 30][band] + (h >> 8) % [6, 10, 10, 16][band]


def stamp(t, minutes):
    return (t + dt.timedelta(minutes=minutes)).strftime("%H:%M")


REASONS = ["blood pressure check", "rash", "cough for two weeks", "medication review",
           "knee pain", "follow-up on lab results", "annual check", "headaches", "mole check"]


def extras(patients):
    now = at(TODAY, "08:00")
    # A weekly series, one occurrence moved.
    p = run(["schedule", "book", "--patient", patients[0], "--provider", "lindqvist", "--type", "follow-up",
             "--at", "2026-12-01 17:00", "--repeat", "weekly", "--count", "4", "--reason", "blood pressure check"],
            now, check=False)
    ids = p.stdout.split()
    if len(ids) == 4:
        run(["schedule", "move", ids[1], "--at", "2026-12-08 17:30"], now, check=False)
    # The waiting room at 10:30 on the sample "today": one waiting, one in a room.
    for prov, when, arrive, room in [("okafor", "10:40", "10:20", None), ("patel", "10:30", "10:12", "exam-2")]:
        for t in [when, "10:45", "11:00", "10:00", "09:50"]:
            b = run(["schedule", "book", "--patient", patients[3 if room else 4], "--provider", prov, "--type", "urgent",
                     "--at", f"{TODAY.isoformat()} {t}", "--reason", "fever"], now, check=False)
            if b.returncode == 0:
                break
        if b.returncode == 0:
            aid = b.stdout.strip()
            run(["schedule", "checkin", aid], at(TODAY, arrive))
            if room:
                run(["schedule", "room", aid, "--room", room], at(TODAY, "10:28"), check=False)
    run(["schedule", "waitlist", "add", "--patient", patients[1], "--type", "follow-up",
         "--provider", "okafor", "--window", "mornings", "--until", "2026-12-18"], now)
    run(["schedule", "waitlist", "add", "--patient", patients[2], "--type", "procedure",
         "--provider", "patel"], now)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Adds the sample clinic's community resources, intake needs and communications log to
records/: a dozen local services, needs on a few patients, and a few logged calls (one with a
neighbour who has no release, a payer call with its reference number, a voicemail to return,
a referral) with follow-ups coming due around 2026-12-01.

Everything is written by the frontdesk binary itself, with FRONTDESK_NOW pinned to the moment
each step happened. Run it once, after schedule.py and ledger.py:

    cargo build && python3 examples/sample-clinic/comms.py [records]
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECORDS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "records")
BIN = os.path.join(ROOT, "target", "debug", "frontdesk")


def run(args, now):
    env = dict(os.environ, FRONTDESK_USER="sample", FRONTDESK_NOW=now, NO_COLOR="1")
    p = subprocess.run([BIN, "--records", RECORDS, "--no-commit", *args], env=env,
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{args}: {p.stderr}")
    return p.stdout.strip()


# slug, verified on, flags
RESOURCES = [
    ("cambridge-senior-rides", "2026-11-02", [
        "--organization", "Cambridge Council on Aging", "--name", "Senior Ride Program",
        "--description", "Door-to-door rides to medical visits for residents 60 and over",
        "--need", "transport", "--area", "city:Cambridge", "--area", "02138", "--area", "02139",
        "--area", "02140", "--area", "02141", "--area", "02142",
        "--language", "en", "--language", "es", "--language", "pt", "--open", "mon,tue,wed,thu,fri",
        "--hours", "Mon-Fri 8:30-4:30; book two days ahead", "--phone", "617-555-0141",
        "--eligibility", "Cambridge residents 60+", "--fees", "Free",
        "--apply", "Call to register, then book each ride by phone",
        "--address", "806 Massachusetts Ave", "--city", "Cambridge", "--state", "MA", "--zip", "02139"]),
    ("the-ride-paratransit", "2026-09-15", [
        "--organization", "MBTA", "--name", "The RIDE paratransit",
        "--need", "transport", "--need", "mobility", "--area", "021", "--area", "022", "--area", "024",
        "--language", "en", "--language", "es", "--open", "mon,tue,wed,thu,fri,sat,sun",
        "--hours", "Every day 5 am-1 am", "--phone", "617-555-0151",
        "--eligibility", "People whose disability keeps them from using buses and trains",
        "--fees", "$3.35 a trip", "--apply", "Eligibility interview; the form needs a clinician's signature"]),
    ("health-rides-volunteer", "2026-10-20", [
        "--organization", "Neighbors Driving Neighbors", "--name", "Volunteer medical rides",
        "--need", "transport", "--area", "any", "--language", "en", "--language", "ht",
        "--open", "tue,thu", "--hours", "Tue and Thu 9-3", "--phone", "617-555-0152",
        "--fees", "Free", "--apply", "Call a week ahead"]),
    ("language-line-medical", "2026-11-10", [
        "--organization", "Language Bridge Interpreters", "--name", "Medical interpreting by phone",
        "--need", "interpreter", "--area", "any",
        "--language", "es", "--language", "pt", "--language", "zh", "--language", "vi",
        "--language", "ht", "--language", "ja", "--language", "ru", "--language", "ar",
        "--hours", "24/7", "--phone", "800-555-0143", "--fees", "Billed to the clinic",
        "--apply", "The desk calls the line and gives the clinic code"]),
    ("cambridge-interpreter-volunteers", "2026-08-05", [
        "--organization", "Cambridge Health Alliance Volunteers", "--name", "In-person interpreters",
        "--need", "interpreter", "--area", "city:Cambridge", "--language", "es", "--language", "pt",
        "--language", "ht", "--open", "mon,wed,fri", "--phone", "617-555-0153",
        "--apply", "Request three business days before the visit"]),
    ("food-for-free", "2026-10-01", [
        "--organization", "Food For Free", "--name", "Family food pantry",
        "--need", "food", "--area", "02138", "--area", "02139", "--area", "02141",
        "--language", "en", "--language", "es", "--open", "wed,sat", "--hours", "Wed 3-6 pm, Sat 10-1",
        "--phone", "617-555-0142", "--fees", "Free", "--apply", "Walk in with proof of address",
        "--address", "1 Fawcett St", "--city", "Cambridge", "--state", "MA", "--zip", "02138"]),
    ("gbfb-mobile-market", "2026-09-01", [
        "--organization", "Greater Boston Food Bank", "--name", "Mobile Market",
        "--need", "food", "--area", "021", "--area", "022", "--language", "en", "--language", "es",
        "--language", "ht", "--open", "sat", "--hours", "Sat 10-1", "--phone", "617-555-0144",
        "--fees", "Free", "--apply", "Walk in"]),
    ("riverside-sliding-scale-pharmacy", "2026-11-18", [
        "--organization", "Riverside Community Pharmacy", "--name", "Sliding-scale prescriptions",
        "--need", "financial", "--area", "021", "--language", "en", "--language", "es",
        "--open", "mon,tue,wed,thu,fri,sat", "--hours", "Mon-Sat 9-7", "--phone", "617-555-0145",
        "--eligibility", "Household income under 300% of the federal poverty level",
        "--fees", "Sliding scale", "--apply", "Bring a pay stub or benefit letter",
        "--address", "455 Cambridge St", "--city", "Cambridge", "--state", "MA", "--zip", "02141"]),
    ("cambridge-housing-help", "2026-07-22", [
        "--organization", "Cambridge Multi-Service Center", "--name", "Housing and utilities help",
        "--need", "housing", "--need", "utilities", "--area", "city:Cambridge", "--area", "02139",
        "--language", "en", "--language", "es", "--language", "pt", "--open", "mon,tue,wed,thu",
        "--phone", "617-555-0146", "--apply", "Call for an intake appointment"]),
    ("somerville-senior-centre", "2026-10-12", [
        "--organization", "Somerville Council on Aging", "--name", "Senior centre",
        "--need", "caregiver", "--need", "mobility", "--need", "transport",
        "--area", "city:Somerville", "--area", "02143", "--area", "02144", "--area", "02145",
        "--language", "en", "--language", "pt", "--language", "ht", "--open", "mon,tue,wed,thu,fri",
        "--hours", "Mon-Fri 8-4", "--phone", "617-555-0147",
        "--description", "Caregiver support group, wheelchair loans, shuttle to visits"]),
    ("mass-legal-help", "2026-06-30", [
        "--organization", "Community Legal Aid", "--name", "Benefits and housing legal help",
        "--need", "legal", "--need", "housing", "--area", "any", "--language", "en", "--language", "es",
        "--phone", "617-555-0148", "--fees", "Free for eligible clients"]),
    ("hearing-access-program", "2026-09-28", [
        "--organization", "Mass Commission for the Deaf and Hard of Hearing", "--name", "Hearing access",
        "--need", "hearing", "--area", "any", "--language", "en", "--phone", "617-555-0149",
        "--description", "CART and ASL interpreter referrals, loaner listening devices"]),
    ("riverside-childcare-drop-in", "2026-11-05", [
        "--organization", "Riverside Family Center", "--name", "Drop-in childcare during visits",
        "--need", "childcare", "--area", "02139", "--area", "02141", "--language", "en",
        "--language", "es", "--open", "mon,tue,wed,thu,fri", "--hours", "Mon-Fri 9-3",
        "--phone", "617-555-0150", "--apply", "Book with the desk when booking the visit"]),
]

for slug, verified, flags in RESOURCES:
    run(["resource", "add", slug, *flags], f"{verified}T10:00:00-04:00" if verified < "2026-11-01"
        else f"{verified}T10:00:00-05:00")

# Intake needs (patient IDs of the sample clinic).
ANA, CARLOS, ROSA, HIROSHI, PETER, SOFIA = (
    "PAR7QXJBF", "PBJBEJHWK", "PT5QMMSJV", "PQP8K64Y9", "P328Y2P1Y", "P98DJCXGG")
NEEDS = [
    (ANA, ["interpreter:es", "transport"], "needs a ride for every visit"),
    (CARLOS, ["interpreter:es", "financial"], None),
    (ROSA, ["interpreter:es", "food"], None),
    (HIROSHI, ["interpreter:ja"], None),
    (PETER, ["mobility", "transport"], "wheelchair van"),
    (SOFIA, ["childcare"], None),
]
for pid, needs, note in NEEDS:
    args = ["patient", "needs", pid]
    for n in needs:
        args += ["--add", n]
    if note:
        args += ["--note", note]
    run(args, "2026-11-23T09:15:00-05:00")

# The communications log of Monday 2026-11-30.
MON = "2026-11-30T{}:00-05:00"
run(["comm", "log", "--patient", ANA, "--with", "patient", "--channel", "phone",
     "--direction", "out", "--summary", "Left a message about booking the ride for Wednesday",
     "--follow-up", "2026-12-01", "--assign", "sample"], MON.format("09:10"))
run(["comm", "log", "--patient", SOFIA, "--with", "contact:parent", "--channel", "phone",
     "--direction", "in", "--summary", "Parent asked about the lab results; told them the provider will call",
     "--topic", "care"], MON.format("09:40"))
run(["comm", "log", "--patient", CARLOS, "--with", "payer:masshealth", "--ref", "MH-20261130-0042",
     "--channel", "phone", "--direction", "out",
     "--summary", "Checked pharmacy coverage; payer will mail a new card",
     "--follow-up", "2026-12-03"], MON.format("10:05"))
run(["comm", "log", "--patient", PETER, "--with", "patient", "--channel", "voicemail",
     "--direction", "in", "--summary", "Wants to move Thursday's visit to the afternoon",
     "--follow-up", "2026-11-30"], MON.format("11:20"))
done = run(["comm", "log", "--patient", HIROSHI, "--with", "patient", "--channel", "sms",
            "--direction", "out", "--summary", "Asked which day suits for the interpreter",
            "--follow-up", "2026-11-30"], MON.format("11:45"))
run(["comm", "done", done, "--note", "Tuesday morning"], MON.format("14:30"))
run(["comm", "log", "--with", "agency:State health department", "--channel", "fax",
     "--direction", "out", "--summary", "Sent the quarterly immunization report form"],
    MON.format("15:00"))
run(["resource", "refer", ROSA, "food-for-free", "--note", "Saturday hours suit her"],
    MON.format("15:30"))
print("sample resources, needs and communications added")

#!/usr/bin/env python3
"""Builds the sample clinic's fee schedule and ledger in records/: charges for the fulfilled
appointments of the sample schedule, co-pays at check-in, card/cash/check payments, one
insurance payment from an EOB, a write-off, a refund and a voided payment.

Everything is written by the frontdesk binary itself (so every entry is valid), with
FRONTDESK_NOW pinned to the moment each step happened. Deterministic apart from entry IDs.
Run it once, after examples/sample-clinic/schedule.py; it refuses to run over an existing ledger.

    cargo build && python3 examples/sample-clinic/ledger.py [records]
"""
import glob
import os
import subprocess
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECORDS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "records")
BIN = os.path.join(ROOT, "target", "debug", "frontdesk")

SERVICES = [
    ("99203", "New patient office visit, low complexity", "175.00"),
    ("99212", "Office visit, established patient, straightforward", "95.00"),
    ("99213", "Office visit, established patient, low complexity", "125.00"),
    ("99214", "Office visit, established patient, moderate complexity", "185.00"),
    ("99396", "Preventive visit, established patient, 40-64 years", "220.00"),
    ("11102", "Tangential biopsy of skin, single lesion", "150.00"),
    ("76700", "Ultrasound, abdominal, complete", "240.00"),
    ("36415", "Routine venipuncture", "15.00"),
    ("J1100", "Injection, dexamethasone sodium phosphate, 1 mg", "12.00"),
    ("99441", "Telephone evaluation and management, 5-10 minutes", "45.00"),
]

# The coverage field each type's co-pay comes from (as appointment-types.toml says).
COPAY_FIELD = {
    "new-patient": "copay_office",
    "follow-up": "copay_office",
    "procedure": "copay_specialist",
    "ultrasound": "copay_specialist",
    "urgent": "copay_urgent",
    "telehealth": "copay_office",
}

# What each appointment type is billed as.
BILLED = {
    "new-patient": ["99203"],
    "follow-up": ["99213"],
    "annual-physical": ["99396", "36415"],
    "procedure": ["11102"],
    "ultrasound": ["76700"],
    "urgent": ["99212", "J1100"],
    "telehealth": ["99213"],
}


def run(now, *args, user="maria"):
    env = dict(os.environ, FRONTDESK_NOW=now, FRONTDESK_USER=user)
    out = subprocess.run([BIN, "--records", RECORDS, "--quiet", *args], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)}: {out.stderr}")
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def fulfilled():
    out = []
    for path in sorted(glob.glob(os.path.join(RECORDS, "appointments", "*", "*", "*", "*.toml"))):
        with open(path, "rb") as f:
            a = tomllib.load(f)
        if a["status"] == "fulfilled":
            out.append(a)
    out.sort(key=lambda a: a["start"])
    return out


def insured(patient):
    path = os.path.join(RECORDS, "patients", patient[1:3], f"{patient}.toml")
    with open(path, "rb") as f:
        p = tomllib.load(f)
    return [c for c in p.get("insurance", []) if c.get("rank") == 1]


def main():
    if os.path.isdir(os.path.join(RECORDS, "ledger")):
        sys.exit("records/ already has a ledger; remove records/ledger, records/receipts and "
                 "records/services.toml first")
    for code, desc, fee in SERVICES:
        run("2026-10-01T08:00:00-04:00", "service", "add", code, "--description", desc, "--fee", fee)
    visits = fulfilled()[:24]
    charged = []
    for i, a in enumerate(visits):
        start = a["start"]
        day = start[:10]
        services = [x for code in BILLED.get(a["type"], ["99213"]) for x in ("--service", code)]
        t = run(start, "pay", "charge", "--appointment", a["id"], *services)
        cov = insured(a["patient"])
        charged.append((a, t, cov))
        # Co-pay at the desk, by card or cash, for insured patients whose type draws one.
        field = COPAY_FIELD.get(a["type"])
        copay = cov[0].get(field) if cov and field else None
        # Every fourth patient forgets their wallet: the co-pay goes on their statement.
        if copay and copay not in ("0", "0.00") and i % 4 != 3:
            method = ["--method", "card", "--ref", f"{4000 + i:04d}"] if i % 2 else ["--method", "cash"]
            run(start, "pay", "collect", "--patient", a["patient"], "--amount", copay, "--copay",
                "--appointment", a["id"], *method, "--idempotency-key", f"sample-copay-{a['id']}")
        elif not cov and not copay:
            # Self-pay: half pay in full by check, the rest leave a balance.
            if i % 2 == 0:
                run(f"{day}T17:00:00-05:00", "pay", "collect", "--patient", a["patient"],
                    "--amount", "50.00", "--method", "check", "--ref", f"{1100 + i}",
                    "--appointment", a["id"], user="dave")
    # One EOB: the payer settles the first insured visit's charge.
    for a, t, cov in charged:
        if cov:
            run("2026-11-26T11:00:00-05:00", "pay", "insurance", "--patient", a["patient"],
                "--payer", cov[0]["payer"], "--paid", "60.00", "--allowed", "85.00",
                "--patient-resp", "25.00", "--claim", "CLM-2026-0001", "--ref", "EOB-7781",
                "--charge", t)
            break
    # A payment keyed to the wrong amount, voided and taken again; a write-off; a refund.
    a, t, cov = charged[-1]
    wrong = run("2026-11-26T15:00:00-05:00", "pay", "collect", "--patient", a["patient"],
                "--amount", "500.00", "--method", "cash")
    run("2026-11-26T15:02:00-05:00", "pay", "void", wrong, "--reason", "keyed 500.00 for 50.00")
    run("2026-11-26T15:03:00-05:00", "pay", "collect", "--patient", a["patient"],
        "--amount", "50.00", "--method", "cash")
    a, t, cov = charged[1]
    run("2026-11-26T16:00:00-05:00", "pay", "adjust", "--patient", a["patient"], "--amount", "10.00",
        "--kind", "hardship", "--reason", "sliding-scale discount approved by the office manager")
    a, t, cov = charged[2]
    run("2026-11-26T16:30:00-05:00", "pay", "collect", "--patient", a["patient"], "--amount", "40.00",
        "--method", "card", "--ref", "4242", "--prepayment")
    run("2026-11-27T09:15:00-05:00", "pay", "refund", "--patient", a["patient"], "--amount", "40.00",
        "--method", "card", "--ref", "4242", "--reason", "prepaid visit cancelled")
    print(f"charged {len(charged)} visits; ledger in {os.path.join(RECORDS, 'ledger')}")


main()

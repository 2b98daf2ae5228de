"""How schemathesis fares against Minga: the figures of docs/robustness.md.

Runs ``tests/test_schemathesis.py`` (every operation with every check of schemathesis, as the
platform admin and as a buyer's staff, then its stateful phase as each) with
``MINGA_SCHEMATHESIS_TALLY`` set, so that the test writes one line per request it sent, and
counts them: requests by phase, server errors, and the schema-valid ("positive") requests that
were answered 4xx — how many, and why, grouped by the reason each one remains:

- an id that does not exist (generated, or one a link carried to an object another step
  removed): 404, by design;
- who asks: 401/403, by design (a buyer's staff is refused the admin's operations);
- the state of the market: 409 (a cycle that is not open any more, an invitation taken…);
- a rule that JSON Schema cannot state (``RULES_BEYOND_THE_SCHEMA`` of the test, each with
  its reason) or that waits for app/accounts (``PENDING_IN_ACCOUNTS``);
- anything else, which the test itself fails on (positive_data_acceptance), so 0 here.

Negative requests (schema-invalid on purpose) are counted too, with those answered 2xx.

    .venv/bin/python -m bench.robustness                   # run the test, print the tables
    .venv/bin/python -m bench.robustness --tally FILE      # only count an earlier run's lines

Under ``MINGA_TEST_DATABASE_URL`` the test runs on that PostgreSQL database, as in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/test_schemathesis.py"


def run_test(tally: Path, extra: list[str]) -> int:
    env = {**os.environ, "MINGA_SCHEMATHESIS_TALLY": str(tally)}
    command = [sys.executable, "-m", "pytest", TEST, "-p", "no:xdist", "-q", *extra]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode  # noqa: S603


def load(tally: Path) -> list[dict[str, Any]]:
    with tally.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def rules() -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    sys.path.insert(0, str(ROOT))
    from tests.test_schemathesis import PENDING_IN_ACCOUNTS, RULES_BEYOND_THE_SCHEMA

    return RULES_BEYOND_THE_SCHEMA, PENDING_IN_ACCOUNTS


CREDENTIALS = "POST /api/v1/auth/token"


def reason(row: dict[str, Any], beyond: dict[str, str], pending: set[tuple[str, str]]) -> str:
    status, code = row["status"], row.get("code")
    if status == 404:
        return "an id that does not exist (404)"
    if status in (401, 403):
        return "who asks (401/403)"
    if status == 409:
        return "the state of the market (409)"
    if code in beyond:
        return "a rule beyond JSON Schema (4xx)"
    fields = row.get("fields") or []
    if fields and all((row["operation"], f) in pending for f in fields):
        return "waiting for app/accounts (422)"
    if row["operation"] == CREDENTIALS:
        return "credentials that do not exist (auth/token)"
    return "unexplained (the test fails on these)"


def table(header: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def report(rows: list[dict[str, Any]]) -> str:
    beyond, pending_map = rules()
    pending = set(pending_map)
    out = []
    phases = Counter((r["phase"], r["as"]) for r in rows)
    out.append(f"Requests sent: {len(rows)}")
    out.append(
        table(("phase", "as", "requests"), sorted((p, a, n) for (p, a), n in phases.items()))
    )
    errors = [r for r in rows if r["status"] >= 500]
    out.append(f"\nServer errors (5xx): {len(errors)}")
    out.extend(f"- {r['operation']} {r['status']} {r.get('code')}" for r in errors[:20])

    positive = [r for r in rows if r["mode"] == "positive"]
    rejected = [r for r in positive if 400 <= r["status"] < 500]
    out.append(f"\nSchema-valid requests rejected: {len(rejected)} of {len(positive)}")
    for who in ("admin", "buyer"):
        mine = [r for r in positive if r["as"] == who]
        no = sum(400 <= r["status"] < 500 for r in mine)
        out.append(f"- as {who}: {no} of {len(mine)}")
    by_reason = Counter(reason(r, beyond, pending) for r in rejected)
    out.append("\n" + table(("why", "requests"), by_reason.most_common()))
    by_ids = Counter((r["ids"], r["status"] == 404) for r in rejected)
    out.append(
        "\n"
        + table(
            ("ids in the path", "404", "other 4xx"),
            [
                (ids, by_ids[(ids, True)], by_ids[(ids, False)])
                for ids in sorted({i for i, _ in by_ids})
            ],
        )
    )
    codes = Counter((r["status"], r.get("code")) for r in rejected)
    out.append(
        "\n"
        + table(
            ("status", "code", "requests", "why"),
            [
                (status, code, n, beyond.get(code or "", ""))
                for (status, code), n in codes.most_common()
            ],
        )
    )
    details = Counter(
        (r["status"], r.get("code"), r.get("detail"))
        for r in rejected
        if r["status"] in (400, 415, 422)
    )
    out.append("\nRejected as invalid (400/415/422), by detail:")
    out.append(
        table(
            ("status", "code", "detail", "requests"),
            [(s, c, (d or "")[:90], n) for (s, c, d), n in details.most_common()],
        )
    )
    operations = Counter(r["operation"] for r in rejected)
    totals = Counter(r["operation"] for r in positive)
    out.append("\nBy operation (the 25 with most rejections):")
    out.append(
        table(
            ("operation", "rejected", "of"),
            [(op, n, totals[op]) for op, n in operations.most_common(25)],
        )
    )

    negative = [r for r in rows if r["mode"] == "negative"]
    accepted = [r for r in negative if r["status"] < 400]
    out.append(f"\nSchema-invalid requests: {len(negative)}; answered 2xx/3xx: {len(accepted)}")
    out.append(
        table(
            ("operation", "status", "requests"),
            [
                (op, s, n)
                for (op, s), n in Counter(
                    (r["operation"], r["status"]) for r in accepted
                ).most_common()
            ],
        )
    )
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tally", type=Path, help="count this file instead of running the test")
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest")
    args = parser.parse_args()
    if args.tally is not None:
        print(report(load(args.tally)))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        tally = Path(folder) / "tally.jsonl"
        code = run_test(tally, args.pytest_args)
        print(report(load(tally)))
    return code


if __name__ == "__main__":
    raise SystemExit(main())

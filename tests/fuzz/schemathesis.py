#!/usr/bin/env python3
"""Fuzzes the running API against its own OpenAPI document with Schemathesis.

Starts `target/debug/lianxi serve` (built by `tests/run`, or by
`cargo build -p lianxi-gateway --bin lianxi`) on a free 127.0.0.1 port over
a fresh embedded store in a temporary directory, registers a xiaoqu and one
account per role with the `lianxi admin` CLI, files a few grievances, then
runs Schemathesis against /api/v1/openapi.json once per role, signed in with
that role's bearer token, over every operation of the document:

- every check of Schemathesis (`--checks all`): no server error (5xx), each
  answer's status code, content type, headers and body as documented,
  schema-valid requests accepted and schema-invalid ones refused, methods
  and auth as documented, created resources available, deleted ones gone;
- positive data acceptance, held tighter than Schemathesis holds it: a
  schema-valid request the service refuses (any 4xx) must be one of the
  refusals of `EXPLAINED`, each keyed by operation, status, problem type and
  field, with the reason no schema can state it (a resource that does not
  exist, a stale If-Match, a lifecycle rule, a role that may not). Every
  other rule is stated in the document (patterns, lengths, enums, list
  bounds), so that generated valid data is accepted. Schemathesis's own
  check is configured (`schemathesis.toml`, written per run) to accept per
  operation only the statuses `EXPLAINED` lists for it;
- the operations that end the caller's own session or standing (logout,
  revoking an account's tokens or roles, erasing a person) run last, in a
  pass of their own with fresh tokens, so that the other passes keep a
  working token throughout.

Fails on any failure or error Schemathesis reports, on any 5xx answer, on
any refusal of schema-valid data not in `EXPLAINED`, when an operation of
the document went untested, or when fewer than
LIANXI_FUZZ_MIN_REQUESTS (2000) requests were made. Prints the number of
requests and operations. Schemathesis is installed from PyPI at the pinned
version into a virtual environment under target/.

Environment: LIANXI_FUZZ_EXAMPLES (examples per operation and pass, default
20), LIANXI_FUZZ_SEED (default 1; `random` for a new one each run),
LIANXI_FUZZ_MIN_REQUESTS, LIANXI_FUZZ_DATABASE_URL (an empty database to
use instead of the embedded store). Reports (NDJSON, JUnit) are kept in
target/fuzz/reports, the server's log in target/fuzz/serve.log.
"""

from __future__ import annotations

import base64
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
import urllib.error
import urllib.request
from pathlib import Path

SCHEMATHESIS_VERSION = "4.32.5"

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "target"
LIANXI = TARGET / "debug" / "lianxi"
WORK = TARGET / "fuzz"
VENV = WORK / f"venv-schemathesis-{SCHEMATHESIS_VERSION}"
REPORTS = WORK / "reports"
HOOKS = Path(__file__).resolve().parent / "hooks.py"

EXAMPLES = int(os.environ.get("LIANXI_FUZZ_EXAMPLES", "20"))
SEED = os.environ.get("LIANXI_FUZZ_SEED", "1")
MIN_REQUESTS = int(os.environ.get("LIANXI_FUZZ_MIN_REQUESTS", "2000"))
# Another store than the embedded one (an empty PostgreSQL database, say).
DATABASE_URL = os.environ.get("LIANXI_FUZZ_DATABASE_URL", "")
# One pass must not hang the suite.
PASS_TIMEOUT = 300

# The operations that end the caller's session or standing: fuzzed last,
# with their own tokens (see the module's documentation).
SESSION_ENDING = [
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/admin/accounts/{id}/revocation"),
    ("POST", "/api/v1/admin/accounts/{id}/roles/revocation"),
    ("POST", "/api/v1/admin/people/{id}/erasure"),
]

XIAOQU = "幸福里"
COMMUNITY = "东苑社区"


class Refusal:
    """A refusal of a schema-valid request that no schema can state: the
    operations it may come from (a regular expression over `METHOD /path`),
    its status, its problem type (the slug of `urn:lianxi:problem:<slug>`),
    the field it names (`None`: any or none; list indices read `[]`), and
    why the document cannot rule it out."""

    def __init__(self, operations: str, status: int, problem: str, field: str | None,
                 reason: str) -> None:
        self.operations = re.compile(operations)
        self.status = status
        self.problem = problem
        self.field = field
        self.reason = reason

    def covers(self, operation: str, status: int, problem: str, field: str | None) -> bool:
        return (self.status == status and self.problem == problem
                and self.operations.fullmatch(operation) is not None
                and (self.field is None or self.field == field))

    def label(self) -> str:
        field = f" {self.field}" if self.field else ""
        return f"{self.operations.pattern} {self.status} {self.problem}{field}"


ANY = r".*"
LISTS = r"GET /api/v1/(grievances|meetings|mediation-cases)"
POSITIONED = (r"GET /api/v1/(grievances|meetings|mediation-cases|escalation-queue|figures"
              r"|registry|registry/xiaoqu/\{id\}|xiaoqu/\{id\}/agenda)")
UPLOADS = r"POST /api/v1/(files|grievances/\{id\}/attachments)"
ACCOUNTS = r"POST /api/v1/admin/accounts(/\{id\}/roles)?"

# Every refusal of schema-valid data the fuzzer may meet, with its reason.
# A refusal not listed here fails the run: state the rule in the document
# instead, or list it with the reason no schema can state it.
EXPLAINED = [
    # Who asks, and what exists: the same document serves every role.
    Refusal(ANY, 401, "unauthorized", None,
            "a coverage case sends an empty bearer token (`Bearer `), which the scheme admits"),
    Refusal(ANY, 401, "token-revoked", None,
            "a closing pass ended its own session or standing; its later requests carry that token"),
    Refusal(ANY, 403, "forbidden", None,
            "the pass's role may not do this (each role fuzzes every operation)"),
    Refusal(ANY, 404, "not-found", None,
            "the generated id names nothing the caller may see"),
    Refusal(ANY, 409, "invalid-transition", None,
            "the aggregate's lifecycle does not allow the command in its current status"),
    Refusal(ANY, 412, "stale-version", None,
            "If-Match names another version than the current one"),
    Refusal(r"POST /api/v1/admin/(accounts(/\{id\}/roles)?|xiaoqu(/\{id\}/(parties|rename|move))?)",
            409, "already-exists", None,
            "the login, xiaoqu name, role or party is taken already"),
    Refusal(r"POST /api/v1/auth/login", 401, "invalid-credentials", None,
            "no account has this login and password"),
    Refusal(r"POST /api/v1/auth/login", 422, "invalid-field", "role",
            "the role asked for must be one the account holds"),
    Refusal(r"POST /api/v1/auth/login", 429, "too-many-attempts", None,
            "sign-in is throttled after repeated failures from one address"),
    # Values that must name something that exists, or a position reached.
    Refusal(LISTS, 400, "invalid-query", "cursor",
            "a cursor is an opaque token the service issued with an earlier page"),
    Refusal(POSITIONED, 400, "invalid-query", "min_position",
            "a read-model position from an earlier answer; left a free string so that "
            "generated reads do not each wait 2 s for a position never reached"),
    Refusal(r"GET /api/v1/notifications/stream", 400, "invalid-query", "after",
            "a feed position from an earlier event; free for the same reason"),
    Refusal(r"GET /api/v1/notifications/stream", 400, "invalid-header", "Last-Event-ID",
            "a feed position from an earlier event; free for the same reason"),
    Refusal(r"GET /api/v1/(grievances|meetings|mediation-cases|figures)", 400,
            "invalid-query", "xiaoqu", "must name a registered xiaoqu (an id or a name)"),
    Refusal(r"GET /api/v1/(meetings|mediation-cases)", 422, "invalid-field", "xiaoqu",
            "an account outside one xiaoqu (tier, auditor) must name which"),
    Refusal(r"GET /api/v1/audit/consistency", 400, "invalid-query", "to",
            "`to` must be at least `from` and within the events committed so far"),
    Refusal(r"POST /api/v1/(meetings|auth/login)", 422, "invalid-field", "xiaoqu",
            "must name a registered xiaoqu; a tier convening must name one"),
    Refusal(r"POST /api/v1/grievances", 422, "invalid-field", "attachments[].sha256",
            "a file is attached by the digest of an earlier upload of the same account"),
    Refusal(r"POST /api/v1/grievances/\{id\}/(duplicates|merge)", 422, "invalid-field", None,
            "the grievances named must exist in the same xiaoqu (`duplicates[]`, `primary`)"),
    Refusal(r"POST /api/v1/mediation-cases", 422, "invalid-field", "grievances[]",
            "the grievances named must exist, triaged, in the caller's reach"),
    Refusal(r"POST /api/v1/(meetings|meetings/\{id\}/agenda)", 422, "invalid-field",
            "agenda[].subject", "a subject other than `other` names an existing grievance, "
            "case or action item of the xiaoqu"),
    Refusal(r"POST /api/v1/meetings", 422, "invalid-field", "invited_people[].account",
            "an invitee is an account id; the same type carries pseudonyms in views"),
    Refusal(r"POST /api/v1/(meetings|mediation-cases/\{id\}/sessions)", 422, "invalid-field",
            "scheduled_for", "a meeting or session is scheduled in the future, which a schema "
            "cannot date"),
    Refusal(r"POST /api/v1/meetings/\{id\}/open", 422, "invalid-field", "present_people",
            "a person present must have been invited"),
    Refusal(r"POST /api/v1/meetings", 422, "invalid-field", "agenda",
            "an urgent meeting needs an item; at most so many items, each subject once"),
    Refusal(r"POST /api/v1/meetings", 422, "invalid-field", "invited_people",
            "each person is invited once, whatever the capacity; at most so many"),
    Refusal(r"POST /api/v1/meetings/\{id\}/items/\{item\}/decision", 422, "invalid-field",
            "positions", "exactly one position per party present, which the meeting's state says"),
    Refusal(r"POST /api/v1/meetings/\{id\}/items/\{item\}/decision", 422, "invalid-field",
            "action_items", "action items are due in the future, each once, at most so many"),
    Refusal(r"POST /api/v1/meetings/\{id\}/items/\{item\}/decision", 422, "invalid-field",
            "vote", "a decision cites an existing, closed owners' vote of the meeting's xiaoqu"),
    Refusal(r"POST /api/v1/meetings/\{id\}/open", 422, "quorum-not-met", None,
            "the party branch and (by default) three of the other four parties must be present"),
    Refusal(r"POST /api/v1/mediation-cases/\{id\}/sessions", 422, "invalid-field", "meeting",
            "a session held at a joint meeting names an existing meeting of the xiaoqu"),
    Refusal(r"POST /api/v1/mediation-cases/\{id\}/sessions", 422, "invalid-field", "place",
            "a session needs a place or a joint meeting (one of two optional fields)"),
    Refusal(r"POST /api/v1/grievances", 422, "invalid-field", "location",
            "a location needs a building or a common area (one of two optional fields)"),
    Refusal(ACCOUNTS, 422, "invalid-field", "xiaoqu",
            "a role's scope: a xiaoqu for xiaoqu roles, a unit for tiers, none for others"),
    Refusal(ACCOUNTS, 422, "invalid-field", "unit", "a role's scope, as for `xiaoqu`"),
    Refusal(ACCOUNTS, 422, "invalid-field", "organization", "a role's scope, as for `xiaoqu`"),
    Refusal(r"POST /api/v1/admin/accounts", 422, "invalid-field", "login",
            "a login and a password come together, or neither"),
    Refusal(r"POST /api/v1/admin/accounts", 422, "invalid-field", "password",
            "a login and a password come together, or neither"),
    Refusal(r"POST /api/v1/mediation-cases(/\{id\}/proposal(/acceptance|/decline)?)?", 422,
            "invalid-field", None, "a case party's `id` is a person's account or one of the "
            "five parties, as its `kind` says; the caller names the party it acts for"),
    Refusal(r"POST /api/v1/mediation-cases/\{id\}/sessions/\{session\}/record", 422,
            "invalid-field", None, "attendance and statements name parties of the case"),
    Refusal(r"POST /api/v1/admin/xiaoqu/\{id\}/parties(/retirement)?", 422, "invalid-field",
            "organization", "the organization must exist, and to retire act as that party there"),
    Refusal(r"POST /api/v1/webhooks", 422, "invalid-field", "url",
            "the host must be one the deployment allows (LIANXI_WEBHOOK_ALLOWED_HOSTS)"),
    Refusal(r"POST /api/v1/audit/verify", 422, "invalid-field", None,
            "a checkpoint's signature, key and root must be those the log signed"),
    # Ledgers: one place of three optional parameters, a period of two dates.
    Refusal(r"GET /api/v1/ledgers", 400, "invalid-query", "xiaoqu",
            "exactly one of `xiaoqu`, `community` and `street` names the place (three optional "
            "parameters), and a xiaoqu must be registered"),
    Refusal(r"GET /api/v1/ledgers", 400, "invalid-query", "community",
            "a place name is trimmed text without control characters, as the registry keeps it"),
    Refusal(r"GET /api/v1/ledgers", 400, "invalid-query", "street",
            "a place name is trimmed text without control characters, as the registry keeps it"),
    Refusal(r"GET /api/v1/ledgers", 422, "invalid-field", "to",
            "the period ends on or after its first day, and at most ten years later"),
    Refusal(r"GET /api/v1/ledgers", 422, "invalid-field", "ledger",
            "a CSV file holds one ledger: `format=csv` needs a `ledger` other than `all`"),
    # Owners' votes: a register imported first, a window in the future.
    Refusal(r"GET /api/v1/owners-votes", 400, "invalid-query", "xiaoqu",
            "must name a registered xiaoqu in the caller's scope; an account outside one "
            "xiaoqu must name which"),
    Refusal(r"POST /api/v1/owners-votes", 422, "invalid-field", "xiaoqu",
            "a vote counts from the xiaoqu's owners' register, which must be imported first; "
            "an account outside one xiaoqu must name a xiaoqu of its scope"),
    Refusal(r"POST /api/v1/owners-votes", 422, "invalid-field", "closes_at",
            "the voting window closes after it opens and in the future, which a schema cannot date"),
    Refusal(r"POST /api/v1/owners-votes", 422, "invalid-field", "online",
            "a vote takes ballots online, on paper or both: two booleans, one of them true"),
    Refusal(r"POST /api/v1/owners-votes", 422, "invalid-field", "thresholds",
            "a threshold is a share of more than nothing and at most all (numerator at most "
            "the denominator), which relates two fields"),
    Refusal(r"POST /api/v1/owners-votes/\{id\}/(paper-)?ballots", 422, "invalid-field", "unit",
            "the unit must be one of the vote's register"),
    Refusal(r"POST /api/v1/owners-votes/\{id\}/(paper-)?ballots", 422, "rule-violated", None,
            "ballots are taken while the voting window is open, by the channels the vote offers"),
    Refusal(r"PUT /api/v1/xiaoqu/\{id\}/owners-register", 422, "invalid-field", "file",
            "a register is UTF-8 CSV whose header names the required columns, with at least one "
            "row that registers (areas, owners' logins of the xiaoqu)"),
    # Micro-funds and micro-projects: places in scope, funds that serve, a lifecycle in time.
    Refusal(r"GET /api/v1/micro-(funds|projects)", 400, "invalid-query", "xiaoqu",
            "must name a registered xiaoqu in the caller's scope; an account outside one "
            "xiaoqu must name which"),
    Refusal(r"GET /api/v1/micro-funds", 400, "invalid-query", "community",
            "a community in the caller's scope, and not with `xiaoqu` (two optional parameters)"),
    Refusal(r"POST /api/v1/micro-funds", 422, "invalid-field", "xiaoqu",
            "the fund's place: a registered xiaoqu in the caller's scope, or the caller's own"),
    Refusal(r"POST /api/v1/micro-funds", 422, "invalid-field", "community",
            "a community in the caller's scope, and not with `xiaoqu` (two optional fields)"),
    Refusal(r"POST /api/v1/micro-funds", 422, "invalid-field", "donor",
            "a named fund names its donor and a crowd-funded one does not, as `kind` says"),
    Refusal(r"POST /api/v1/micro-funds/\{id\}/income", 422, "invalid-field", "name",
            "named donations and grants name who gave, anonymous ones nobody, as `source` says"),
    Refusal(r"POST /api/v1/micro-funds/\{id\}/income", 422, "invalid-field", "project",
            "earmarked money names an existing project of this fund"),
    Refusal(r"POST /api/v1/micro-funds/\{id\}/spending", 422, "invalid-field", "project",
            "spending pays for an existing project of this fund"),
    Refusal(r"POST /api/v1/micro-funds/\{id\}/spending", 422, "invalid-field", "receipt.sha256",
            "a receipt names an earlier upload of the same account by its digest, size and type"),
    Refusal(r"POST /api/v1/micro-funds/\{id\}/spending", 422, "invalid-field", "receipt.size",
            "a receipt names an earlier upload of the same account by its digest, size and type"),
    Refusal(r"POST /api/v1/micro-funds/\{id\}/spending", 422, "invalid-field", "receipt.media_type",
            "a receipt names an earlier upload of the same account by its digest, size and type"),
    Refusal(r"POST /api/v1/micro-funds/\{id\}/spending", 422, "rule-violated", None,
            "a fund pays only for its projects under way, and never more than it holds"),
    Refusal(r"POST /api/v1/micro-projects", 422, "invalid-field", "fund",
            "the fund must exist and be the xiaoqu's or its community's"),
    Refusal(r"POST /api/v1/micro-projects", 422, "invalid-field", "xiaoqu",
            "a registered xiaoqu in the proposer's scope, or the proposer's own"),
    Refusal(r"POST /api/v1/micro-projects/\{id\}/publish", 422, "invalid-field", "comments_until",
            "the comment period ends in the future, which a schema cannot date"),
    Refusal(r"POST /api/v1/micro-projects/\{id\}/(comments|start)", 422, "rule-violated", None,
            "comments are taken during the public notice, and a project starts after it"),
    Refusal(r"POST /api/v1/micro-projects/\{id\}/reports", 422, "invalid-field", "receipts[].sha256",
            "a receipt names an earlier upload of the same account by its digest, size and type"),
    Refusal(r"POST /api/v1/micro-projects/\{id\}/reports", 422, "invalid-field", "receipts[].size",
            "a receipt names an earlier upload of the same account by its digest, size and type"),
    Refusal(r"POST /api/v1/micro-projects/\{id\}/reports", 422, "invalid-field", "receipts[].media_type",
            "a receipt names an earlier upload of the same account by its digest, size and type"),
    # Files: the content decides, not the form.
    Refusal(UPLOADS, 422, "invalid-field", "file[]",
            "a file's content must read as a JPEG, PNG or WebP photo or a PDF document"),
    Refusal(UPLOADS, 422, "invalid-field", "file",
            "a file already attached to the grievance is not attached again"),
    Refusal(UPLOADS, 400, "malformed-body", None,
            "an extra part the form admits, named with control characters, makes a part "
            "header the multipart reader cannot read"),
]


def say(message: str) -> None:
    print(f"[fuzz] {message}", file=sys.stderr, flush=True)


def fail(message: str) -> None:
    say(f"FAILED: {message}")
    sys.exit(1)


def schemathesis_binary() -> Path:
    """The pinned Schemathesis, installed into its own venv when missing."""
    binary = VENV / "bin" / "schemathesis"
    if binary.exists():
        out = subprocess.run([binary, "--version"], capture_output=True, text=True)
        if out.returncode == 0 and SCHEMATHESIS_VERSION in out.stdout:
            return binary
    say(f"installing schemathesis=={SCHEMATHESIS_VERSION} into {VENV}")
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run(
        [VENV / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check",
         f"schemathesis=={SCHEMATHESIS_VERSION}"],
        check=True,
    )
    return binary


def lianxi_env() -> dict[str, str]:
    """The environment of `lianxi`: none of the caller's LIANXI_* settings,
    but LIANXI_FUZZ_DATABASE_URL as its store when set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXI_")}
    if DATABASE_URL:
        env["LIANXI_DATABASE_URL"] = DATABASE_URL
    return env


def cli(cwd: Path, *args: str) -> dict[str, str]:
    """Runs `lianxi <args>` in `cwd`; its `key=value` lines."""
    env = lianxi_env()
    out = subprocess.run([LIANXI, *args], cwd=cwd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"lianxi {' '.join(args[:2])} failed: {out.stderr.strip()}")
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def account(cwd: Path, role: str, name: str) -> str:
    """A new account of `role` (in the xiaoqu or its community); its token."""
    args = ["admin", "add-account", "--name", name, "--role", role]
    if role in ("resident", "party_branch", "property_company", "owners_committee"):
        args += ["--xiaoqu", XIAOQU]
    elif role == "community":
        args += ["--unit", COMMUNITY]
    return cli(cwd, *args)["token"]


def request(base: str, method: str, path: str, token: str, body: object | None = None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def grievance(n: int) -> dict:
    return {
        "category": "repairs",
        "title": f"{n}栋电梯停运",
        "description": "电梯从周一起停运,老人上下楼困难。",
        "location": {"building": f"{n}栋", "unit": "2单元"},
        "respondent": "property_company",
        "urgency": "normal",
        "channel": "wechat",
    }


def seed(base: str, tokens: dict[str, str]) -> None:
    """Grievances in several states, a convened and an opened joint meeting
    and a mediation case, so that reads and commands of every role find
    something of their own to act on besides what the fuzzer makes."""

    def call(who: str, path: str, body: dict, want: int = 200) -> dict:
        status, answer = request(base, "POST", path, tokens[who], body)
        if status != want:
            fail(f"seeding: {who} POST {path} answered {status}: {answer}")
        return answer

    steps = [
        ("party_branch", "accept", {}),
        ("party_branch", "triage", {"matter_class": "minor", "party": "property_company"}),
        ("party_branch", "assign", {"note": "三天内修复"}),
        ("property_company", "respond", {"response": "已安排维修"}),
        ("party_branch", "resolve", {"summary": "已修复"}),
    ]
    ids = []
    for n in range(6):
        ids.append(call("resident", "/api/v1/grievances", grievance(n + 1), 201)["id"])
    # Filed, accepted, triaged, assigned, responded to, resolved.
    for i, id in enumerate(ids[1:]):
        for who, action, body in steps[: i + 1]:
            call(who, f"/api/v1/grievances/{id}/{action}", body)
    when = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
    meeting = {"kind": "regular", "scheduled_for": when, "place": "党群服务站",
               "agenda": [{"subject": {"kind": "other"}, "title": "公共区域绿化"}]}
    call("party_branch", "/api/v1/meetings", meeting, 201)
    opened = call("party_branch", "/api/v1/meetings", meeting, 201)["id"]
    call("party_branch", f"/api/v1/meetings/{opened}/open",
         {"present_parties": ["party_branch", "owners_committee", "supervisory_committee",
                              "property_company"]})
    call("party_branch", "/api/v1/mediation-cases",
         {"matter": "车位纠纷", "grievances": [ids[4]],
          "respondents": [{"kind": "party", "id": "property_company"}]}, 201)


def start_server(cwd: Path, log: Path) -> tuple[subprocess.Popen, str]:
    env = lianxi_env()
    env.update({
        "LIANXI_LISTEN": "127.0.0.1:0",
        "LIANXI_FILINGS_PER_ACCOUNT_HOUR": "0",
        "LIANXI_FILINGS_PER_ADDRESS_HOUR": "0",
        # An event stream answers for its whole lifetime: keep each short.
        "LIANXI_SSE_MAX_SECONDS": "1",
        # Generated webhook URLs must not send anything off this machine.
        "LIANXI_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "RUST_LOG": env.get("RUST_LOG", "info"),
    })
    server = subprocess.Popen(
        [LIANXI, "serve"], cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=log.open("wb"), text=True,
    )
    deadline = time.monotonic() + 30
    assert server.stdout is not None
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            break
        if line.startswith("lianxi listening on "):
            # Keep draining stdout so that the server never blocks on it.
            threading.Thread(target=server.stdout.read, daemon=True).start()
            return server, line.removeprefix("lianxi listening on ").strip()
    server.kill()
    fail(f"lianxi serve did not start; see {log}")
    raise AssertionError


def write_config(everything: set[str]) -> Path:
    """`schemathesis.toml`: positive data acceptance expects, per operation,
    a success, or one of the statuses `EXPLAINED` lists for it (5xx are
    the server-error check's)."""
    def statuses(refusals: list[Refusal]) -> list[str]:
        listed = sorted({str(r.status) for r in refusals})
        return ["2xx", "3xx", *listed, "5xx"]

    lines = ["[checks.positive_data_acceptance]",
             f"expected-statuses = {json.dumps(statuses([]))}", ""]
    for operation in sorted(everything):
        method, path = operation.split(" ", 1)
        refusals = [r for r in EXPLAINED if r.operations.fullmatch(operation)]
        lines += ["[[operations]]", f"include-name = {json.dumps(operation)}",
                  "[operations.checks.positive_data_acceptance]",
                  f"expected-statuses = {json.dumps(statuses(refusals))}", ""]
    config = WORK / "schemathesis.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def run_pass(st: Path, base: str, name: str, token: str, selection: list[str],
             config: Path) -> dict:
    """One Schemathesis run; what its NDJSON report says."""
    out_dir = REPORTS / name
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    command = [
        str(st), "--config-file", str(config), "run", f"{base}/api/v1/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--checks", "all",
        "--max-examples", str(EXAMPLES),
        # One worker: several threads trip a race in CPython 3.11's parser
        # that Hypothesis reaches when it describes strategies.
        "--workers", "1",
        "--generation-database", "none",
        "--request-timeout", "30",
        "--report", "ndjson,junit",
        "--report-dir", str(out_dir),
        "--no-color",
        *selection,
    ]
    if SEED != "random":
        command += ["--seed", SEED]
    say(f"pass {name}: schemathesis run ... {' '.join(selection) or '(every operation)'}")
    started = time.monotonic()
    try:
        env = dict(os.environ, SCHEMATHESIS_HOOKS=str(HOOKS))
        result = subprocess.run(command, cwd=out_dir, env=env, timeout=PASS_TIMEOUT,
                                capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        fail(f"pass {name} took longer than {PASS_TIMEOUT} s")
        raise
    elapsed = time.monotonic() - started
    (out_dir / "output.txt").write_text(result.stdout + result.stderr)
    stats = summarize(out_dir)
    stats["seconds"] = elapsed
    stats["exit"] = result.returncode
    stats["output"] = result.stdout + result.stderr
    say(f"pass {name}: {stats['requests']} requests over {len(stats['operations'])} operations "
        f"in {elapsed:.0f} s; statuses {dict(sorted(stats['statuses'].items()))}")
    return stats


def problem_of(response: dict) -> tuple[str, list[str | None]]:
    """The problem type's slug of an answer, and the fields it names
    (list indices as `[]`; `[None]` when it names none)."""
    try:
        body = json.loads(base64.b64decode((response.get("content") or {}).get("$base64", ""))
                          or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return "", [None]
    slug = str(body.get("type", "")).rsplit(":", 1)[-1]
    fields = [re.sub(r"\[\d+\]", "[]", str(e.get("field")))
              for e in body.get("errors") or [] if isinstance(e, dict)]
    return slug, fields or [None]


def classify(operation: str, status: int, response: dict) -> tuple[list[Refusal], str | None]:
    """The refusals of `EXPLAINED` that explain an answer; else what is not."""
    slug, fields = problem_of(response)
    found = []
    for field in fields:
        match = next((r for r in EXPLAINED if r.covers(operation, status, slug, field)), None)
        if match is None:
            return [], f"{operation} {status} {slug or '(no problem)'} {field or ''}".rstrip()
        found.append(match)
    return found, None


def summarize(out_dir: Path) -> dict:
    requests = 0
    statuses: collections.Counter = collections.Counter()
    operations: set[str] = set()
    server_errors = []
    refusals: collections.Counter = collections.Counter()
    unexplained: dict[str, str] = {}
    for report in glob.glob(str(out_dir / "ndjson-*.ndjson")):
        with open(report, encoding="utf-8") as lines:
            for line in lines:
                event = json.loads(line)
                finished = event.get("ScenarioFinished")
                if not finished:
                    continue
                recorder = finished.get("recorder") or {}
                cases = recorder.get("cases") or {}
                for case_id, interaction in (recorder.get("interactions") or {}).items():
                    response = interaction.get("response")
                    if response is None:
                        continue
                    requests += 1
                    status = response["status_code"]
                    statuses[status] += 1
                    if status >= 500:
                        req = interaction["request"]
                        server_errors.append(f"{status} {req['method']} {req['uri']}")
                    case = (cases.get(case_id) or {}).get("value") or {}
                    mode = ((case.get("meta") or {}).get("generation") or {}).get("mode")
                    if mode == "positive" and 400 <= status < 500:
                        operation = f"{case.get('method')} {case.get('path')}"
                        found, missing = classify(operation, status, response)
                        refusals.update(r.label() for r in found)
                        if missing is not None:
                            unexplained.setdefault(missing, json.dumps(
                                {k: case.get(k) for k in ("path_parameters", "query", "body")
                                 if case.get(k) is not None}, ensure_ascii=False)[:300])
                    # Stateful sequences come under one label of their own.
                    if " /" in recorder["label"]:
                        operations.add(recorder["label"])
    return {"requests": requests, "statuses": statuses, "operations": operations,
            "server_errors": server_errors, "refusals": refusals, "unexplained": unexplained}


def document_operations(base: str) -> set[str]:
    with urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=30) as answer:
        document = json.load(answer)
    return {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "put", "post", "patch", "delete", "head", "options")
    }


def main() -> None:
    if not LIANXI.exists():
        fail(f"{LIANXI} is missing: cargo build -p lianxi-gateway --bin lianxi")
    st = schemathesis_binary()
    WORK.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(REPORTS, ignore_errors=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lianxi-fuzz-") as tmp:
        cwd = Path(tmp)
        cli(cwd, "init")
        cli(cwd, "admin", "add-xiaoqu", "--name", XIAOQU, "--community", COMMUNITY,
            "--street", "城厢街道", "--district", "涪城区")
        roles = ["resident", "party_branch", "property_company", "community", "auditor", "admin"]
        tokens = {role: account(cwd, role, f"fuzz-{role}") for role in roles}
        # Fresh tokens for the session-ending operations.
        closing = {role: account(cwd, role, f"fuzz-{role}-2") for role in ("resident", "admin")}
        log = WORK / "serve.log"
        server, base = start_server(cwd, log)
        try:
            seed(base, tokens)
            everything = document_operations(base)
            ending = {f"{m} {p}" for m, p in SESSION_ENDING}
            missing = ending - everything
            if missing:
                fail(f"not in the document: {sorted(missing)}")
            config = write_config(everything)
            keep = []
            for method, path in SESSION_ENDING:
                keep += ["--exclude-path", path] if method == "POST" else []
            passes = [(role, tokens[role], keep) for role in roles]
            only = []
            for _, path in SESSION_ENDING:
                only += ["--include-path", path]
            passes += [(f"{role}-closing", token, only) for role, token in closing.items()]
            results = [(name, run_pass(st, base, name, token, sel, config))
                       for name, token, sel in passes]
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    problems = []
    total = 0
    tested: set[str] = set()
    statuses: collections.Counter = collections.Counter()
    refusals: collections.Counter = collections.Counter()
    unexplained: dict[str, str] = {}
    for name, stats in results:
        total += stats["requests"]
        tested |= stats["operations"]
        statuses.update(stats["statuses"])
        refusals.update(stats["refusals"])
        for key, example in stats["unexplained"].items():
            unexplained.setdefault(f"pass {name}: {key}", example)
        if stats["exit"] != 0:
            print(stats["output"], file=sys.stderr)
            problems.append(f"pass {name}: schemathesis reported failures (exit {stats['exit']}); "
                            f"see above and {REPORTS / name}")
        for error in stats["server_errors"]:
            problems.append(f"pass {name}: {error}")
    tested &= everything
    untested = everything - tested
    if untested:
        problems.append(f"operations never tested: {sorted(untested)}")
    if total < MIN_REQUESTS:
        problems.append(f"only {total} requests; at least {MIN_REQUESTS} wanted")
    for key, example in sorted(unexplained.items()):
        problems.append(f"schema-valid request refused, not in EXPLAINED: {key}; e.g. {example}")
    say(f"{sum(refusals.values())} refusals of schema-valid requests, each explained, "
        f"in {len(refusals)} of the {len(EXPLAINED)} listed classes:")
    for label, count in sorted(refusals.items()):
        say(f"  {count:6}  {label}")
    say(f"{total} requests over {len(tested)} of {len(everything)} operations in "
        f"{time.monotonic() - started:.0f} s; statuses {dict(sorted(statuses.items()))}")
    if problems:
        for p in problems:
            say(p)
        fail(f"{len(problems)} problem(s); the server's log is {log}")
    say("no server error, every answer as documented, every refusal of valid data explained")


if __name__ == "__main__":
    main()

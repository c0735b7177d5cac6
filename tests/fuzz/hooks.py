"""Schemathesis hooks for tests/fuzz/schemathesis.py (SCHEMATHESIS_HOOKS).

The fuzzer draws `Idempotency-Key` values from a small space ("0", "a", …)
and sends the same key with many different requests; the service rightly
answers those 422 `idempotency-key-reused` before the command runs, which
would hide most commands from the fuzzer. A well-formed key is therefore
replaced by a fresh one for every call; a malformed one is sent as drawn, so
that its refusal is still exercised. Cases made invalid in a header (a
missing Authorization, say) are sent as drawn too: any edit makes
Schemathesis check the case again, and it would take it for a valid one.
"""

import uuid

import schemathesis
from schemathesis.core.parameters import ParameterLocation

HEADER = "idempotency-key"


def well_formed(value: object) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 255
        and all("!" <= c <= "~" for c in value)
    )


@schemathesis.hook
def before_call(context, case, kwargs):
    meta = case.meta
    if meta is not None and meta.generation.mode.is_negative:
        if getattr(meta.phase.data, "parameter_location", None) == ParameterLocation.HEADER:
            return
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == HEADER and well_formed(headers[name]):
            headers[name] = str(uuid.uuid4())

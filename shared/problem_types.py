"""The problem types the services answer with (RFC 9457 ``type``), one entry each.

A problem's ``type`` is ``/problems/<slug>``; ``GET /problems/<slug>`` on every service answers
the entry below, so a developer who meets a problem can follow its link to what it means and
what to do. The OpenAPI documents take their examples from here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

PREFIX = "/problems/"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int | None  # None: the status varies (``http-error`` passes on what the framework said)
    title: str
    meaning: str
    what_to_do: str
    example_detail: str

    @property
    def uri(self) -> str:
        return PREFIX + self.slug


class ProblemTypeDoc(BaseModel):
    """What ``GET /problems/{slug}`` answers."""

    type: str
    slug: str
    status: int | None
    title: str
    meaning: str
    what_to_do: str


_ALL = [
    ProblemType("bad-request", 400, "Bad request",
                "The body could not be read at all: bytes that are not UTF-8 where JSON was expected, a "
                "multipart form that breaks off.",
                "Send a well-formed request; nothing was done.",
                "There was an error parsing the body"),
    ProblemType("unauthenticated", 401, "Unauthenticated",
                "There is no bearer token, or it is expired, badly signed, or for another issuer or audience.",
                "Send `Authorization: Bearer <token>` with a fresh token from the identity provider.",
                "the bearer token is missing, expired or invalid"),
    ProblemType("forbidden", 403, "Forbidden",
                "The token is valid, but its role may not use this route (see the route's `x-baoxue-access`).",
                "Use an account with one of the roles the route allows; retrying will not help.",
                "the head_teacher role may not do this"),
    ProblemType("leave-needs-school-office", 403, "Leave this long is the school office's to decide",
                "A head teacher decides leave of up to `BAOXUE_HEAD_TEACHER_LEAVE_MAX_DAYS` school days (1 by "
                "default) for a child of their class, counted together with the child's approved leave "
                "consecutive with it. `school_days` is what this leave makes, `allowance` the limit.",
                "Pass the request to the school office (the principal or school staff), who decide it.",
                "this leave makes 3 school days with the child's consecutive leave; a head teacher decides up to 1"),
    ProblemType("not-found", 404, "Not found",
                "There is no such resource, or it lies outside the caller's region: the two look the same, so "
                "ids cannot be probed.",
                "Check the id or code, and that the record belongs to your org or below it.",
                "no student abc"),
    ProblemType("method-not-allowed", 405, "Method Not Allowed",
                "The path exists, but not with this method.",
                "Use one of the methods in the `Allow` header.",
                "Method Not Allowed"),
    ProblemType("conflict", 409, "Conflict",
                "The request is valid but clashes with the record's state: an illegal status change, a duplicate "
                "active record, a transfer already settled, the same request still in flight.",
                "Read the record again; `detail` names the state and, where there are any, the moves allowed.",
                "a dropped_out record cannot move to graduated"),
    ProblemType("reorganisation-not-supported", 409, "Moving an org under another parent is not supported",
                "An org stays under the parent it was registered under: every service files children, cases, "
                "reports and audit rows by their place in the tree, and figures are kept by place.",
                "To reorganise (行政区划调整), register the new unit under its new parent with a new code, create "
                "its classes, and transfer each school's students there; the old unit's history stays.",
                "organisation 4101221001 stays where it was registered"),
    ProblemType("request-in-flight", 409, "The same request is still in flight",
                "A request with this `Idempotency-Key` is still running (the first send, on a link that "
                "dropped its answer). It is not a conflict with the record's state.",
                "Wait the seconds in `Retry-After` and send it again with the same key: you get the first "
                "request's answer once it has one.",
                "a request with this Idempotency-Key is still running; retry in 35 s for its answer"),
    ProblemType("too-large", 413, "Request body too large",
                "The body is larger than this service accepts (JSON and uploads have separate limits).",
                "Send less at once: split the spreadsheet or the batch.",
                "the body may be at most 1048576 bytes"),
    ProblemType("validation", 422, "Invalid request",
                "A field is missing, of the wrong type or out of range, or the request breaks a rule (an ID "
                "checksum, a class of another school). `errors[]` names each one with a JSON pointer into the "
                "request (`\"\"` is the body as a whole, e.g. JSON that does not parse) and a message.",
                "Correct the fields `errors[]` points at and send again; nothing was written.",
                "national_id: checksum digit does not match"),
    ProblemType("idempotency-key-reused", 422, "Idempotency key reused",
                "This `Idempotency-Key` came with another request (another body or query) to the same path "
                "within 24 hours. Nothing was done.",
                "Use a new key for a new request; send the same key only to retry the very same request.",
                "this Idempotency-Key was sent with another request to /v1/leaves"),
    ProblemType("rate-limited", 429, "Too many requests",
                "The client wrote faster than its budget (per bearer token, else per address).",
                "Wait the seconds in `Retry-After`, then send again.",
                "write budget spent; retry in 3 s"),
    ProblemType("internal", 500, "Internal error",
                "The server failed; it is a bug, and it is logged.",
                "Report it with the `X-Request-ID` header of the response; the request id identifies the log lines.",
                "The server failed; the request id identifies the log lines."),
    ProblemType("unavailable", 503, "Service unavailable",
                "The service's database is unreachable for the moment (a restart, a failover).",
                "Wait the seconds in `Retry-After`, then send again; nothing was written.",
                "The database is unreachable; try again shortly."),
    ProblemType("documents-unavailable", 503, "Documents cannot be written",
                "Cases cannot write a legal step's PDF: no CJK font is installed, and a PDF without one "
                "would show boxes where the Chinese is.",
                "Install Debian's fonts-noto-cjk on the cases host, or set BAOXUE_CJK_FONT to a TTF, OTF or "
                "TTC file, then serve the step again; nothing was stored.",
                "no CJK font to write the document's PDF with: install Debian's fonts-noto-cjk"),
    ProblemType("not-ready", 503, "Not ready",
                "`/readyz`: the database or the broker is unreachable, so the service should get no traffic; "
                "`checks` says which.",
                "For orchestrators: keep the instance out of rotation until it answers 200.",
                "broker unreachable"),
    ProblemType("timeout", 504, "Request timed out",
                "The request ran longer than the service's time limit and was abandoned.",
                "Narrow the request (a smaller page, a shorter range) or try again later.",
                "the request took longer than 30 s and was abandoned"),
    ProblemType("http-error", None, "HTTP error",
                "An error the HTTP framework raised with no more specific type; `status` and `detail` say which.",
                "Read `detail`.",
                "Unsupported Media Type"),
]
TYPES: dict[str, ProblemType] = {t.slug: t for t in _ALL}
# The problem type a service answers most often with each status: the OpenAPI examples use it.
BY_STATUS: dict[int, ProblemType] = {}
for _t in _ALL:
    if _t.status is not None:
        BY_STATUS.setdefault(_t.status, _t)


def doc(problem_type: ProblemType) -> ProblemTypeDoc:
    t = problem_type
    return ProblemTypeDoc(type=t.uri, slug=t.slug, status=t.status, title=t.title, meaning=t.meaning,
                          what_to_do=t.what_to_do)

"""Who is calling, and what they may see: bearer JWTs checked against the org tree.

Tokens are signed (HS256 with a shared key, or RS256/ES256 with a JWKS file of public keys);
the accepted algorithms are pinned (RFC 8725) and issuer, audience, expiry and subject are
required. A token names one role and one org: the caller sees that org and everything below it
(a head teacher only the classes the token lists). An object outside the caller's scope answers
404, exactly as a missing one does, so ids cannot be probed (OWASP API1:2023).

Every route declares its rule with ``access(...)``: the dependency enforces the role, and the
rule is written into the OpenAPI operation as ``x-baoxue-access`` so the authorization matrix
test can find any route that has none.
"""

from __future__ import annotations

import enum
import json
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

import jwt
import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import Problem
from shared.paths import decode, encode, within
from shared.settings import ServiceSettings
from shared.types import ORG_CODE_PATTERN

log = structlog.get_logger("baoxue.auth")


class Role(str, enum.Enum):
    head_teacher = "head_teacher"            # 班主任: own classes
    school_staff = "school_staff"            # principal and school office: own school
    township_official = "township_official"  # region and everything below it
    county_official = "county_official"
    city_official = "city_official"
    province_official = "province_official"
    recipient = "recipient"                  # an external dual-report recipient: its own reports only
    ops = "ops"                              # health, metrics, replay; no personal data


OFFICIALS = frozenset({Role.township_official, Role.county_official, Role.city_official, Role.province_official})
SCHOOL = frozenset({Role.head_teacher, Role.school_staff})
# Roles that work with children's records.
PEOPLE = SCHOOL | OFFICIALS
EVERYONE = frozenset(Role)


class Unauthenticated(Problem):
    status, slug, title = 401, "unauthenticated", "Unauthenticated"
    headers = {"WWW-Authenticate": 'Bearer realm="baoxue"'}


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Forbidden"


# The one encoding of a place ("/410000/410100/410122/"): see shared/paths.py.
path_key = encode
path_codes = decode


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    org: str
    classes: frozenset[str] = field(default_factory=frozenset)
    # The caller's org and its ancestors, province first, as this service's org tree knows them
    # (filled in at authentication, ``authenticate``); empty: an org the service does not know,
    # which sees nothing in a list.
    path: tuple[str, ...] = ()

    def sees_org(self, org_path: Sequence[str]) -> bool:
        """An org (a school, a township) at or below the caller's org; a head teacher sees their school."""
        return self.role is not Role.ops and self.org in org_path

    def sees(self, org_path: Sequence[str], class_id: str | None = None) -> bool:
        """Whether an object at this place in the org tree is within the caller's scope."""
        if self.role is Role.ops or self.org not in org_path:
            return False
        if self.role is Role.head_teacher:
            return class_id is not None and class_id in self.classes
        return True

    def scope_filter(self, org_path_column: Any, class_column: Any) -> list[Any]:
        """SQL conditions for a list: rows whose place lies under the caller's full path (a
        prefix range an index serves, ``shared.paths.within``), and, for a head teacher, only
        the classes the token names. Apply before any other filter."""
        conditions = [self.within(org_path_column)]
        if self.role is Role.head_teacher:
            conditions.append(class_column.in_(sorted(self.classes)))
        return conditions

    def within(self, org_path_column: Any) -> Any:
        """SQL: rows at or under the caller's org (none when the service does not know the org)."""
        return within(org_path_column, self.path if self.role is not Role.ops else None)

    @property
    def place(self) -> str:
        """The caller's own place as stored ("/410000/410100/410122/"): where a request that
        reached no record is filed in the audit log. An org the service does not know: "/org/"."""
        return encode(self.path or (self.org,))


# A verified token is remembered by its exact string for a short while: a device posts many
# requests with one token, and each write checked it twice (the rate limiter, then the route),
# about a twentieth of a roll call's CPU. Only a token that passed is remembered, and never past
# the moment the check itself would start refusing it (its exp plus the leeway); a token's
# other checks (signature, issuer, audience, nbf, iat, the claims' shape) cannot turn false later
# for the same string and the keys loaded at start.
_REMEMBERED_S = 60.0
_REMEMBERED_MAX = 4096
_LEEWAY_S = 30


class TokenVerifier:
    def __init__(self, settings: ServiceSettings) -> None:
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self._verified_until: dict[str, tuple[float, Principal]] = {}
        self._keys: dict[str | None, Any] = {}
        if settings.jwt_jwks_file is not None:
            jwks = jwt.PyJWKSet.from_dict(json.loads(settings.jwt_jwks_file.read_text()))
            self._keys = {k.key_id: k for k in jwks.keys}
            self.algorithms = sorted({k.algorithm_name for k in jwks.keys if k.algorithm_name in ("RS256", "ES256")})
        elif settings.jwt_secret is not None:
            self._keys = {None: settings.jwt_secret.get_secret_value()}
            self.algorithms = ["HS256"]
        else:
            self.algorithms = []

    @property
    def configured(self) -> bool:
        return bool(self._keys and self.algorithms)

    def verify(self, token: str) -> Principal:
        if not self.configured:
            raise Unauthenticated("this service has no token verification key configured (BAOXUE_JWT_SECRET)")
        try:
            return self._verified(token)
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            # The reason is logged for the operator; the caller learns only that it failed.
            log.info("auth.rejected", reason=type(exc).__name__)
            raise Unauthenticated("the bearer token is missing, expired or invalid") from None

    def subject_of(self, token: str) -> str | None:
        """The subject of a valid token, else None, without a log line (the rate limiter asks
        for every write, before the route authenticates)."""
        try:
            return self._verified(token).subject if self.configured else None
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            return None

    def _verified(self, token: str) -> Principal:
        now = time.time()  # PyJWT's own clock for exp
        remembered = self._verified_until.get(token)
        if remembered is not None:
            if now < remembered[0]:
                return remembered[1]
            del self._verified_until[token]
        principal, exp = self._checked(token)
        if len(self._verified_until) >= _REMEMBERED_MAX:
            del self._verified_until[next(iter(self._verified_until))]  # the oldest
        self._verified_until[token] = (min(now + _REMEMBERED_S, exp + _LEEWAY_S), principal)
        return principal

    def _checked(self, token: str) -> tuple[Principal, float]:
        """The caller the token names and its exp, or an exception: the full check."""
        kid = jwt.get_unverified_header(token).get("kid")
        key = self._keys.get(kid) if kid in self._keys else self._keys.get(None)
        if key is None:
            raise jwt.InvalidKeyError(f"unknown key id {kid!r}")
        claims = jwt.decode(
            token, key.key if isinstance(key, jwt.PyJWK) else key, algorithms=self.algorithms,
            audience=self.audience, issuer=self.issuer, options={"require": ["exp", "iss", "aud", "sub"]},
            leeway=_LEEWAY_S,
        )
        return principal_from(claims), float(claims["exp"])


_SUBJECT = re.compile(r"^[^\x00-\x20\x7f-\x9f][^\x00-\x1f\x7f-\x9f]{0,199}$")
_CLASS_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
MAX_CLASSES = 500


def principal_from(claims: dict[str, Any]) -> Principal:
    """The caller a signed token names, or ValueError: a signature proves who issued the claims,
    not that they make sense. ``sub`` is a non-empty line of text, ``org`` a code in the org
    tree's alphabet, ``classes`` a list of class ids, and the role fits the org (``role_fits``)."""
    subject, org, classes = claims["sub"], claims["org"], claims.get("classes", [])
    if not isinstance(subject, str) or not _SUBJECT.match(subject):
        raise ValueError("sub must be a non-empty line of text")
    if not isinstance(org, str) or not re.match(ORG_CODE_PATTERN, org):
        raise ValueError("org must be an org code")
    if (not isinstance(classes, list) or len(classes) > MAX_CLASSES
            or not all(isinstance(c, str) and _CLASS_ID.match(c) for c in classes)):
        raise ValueError("classes must be a list of class ids")
    role = Role(claims["role"])
    if not role_fits(role, org):
        raise ValueError(f"a {role.value} cannot belong to org {org}")
    return Principal(subject=subject, role=role, org=org, classes=frozenset(classes))


def role_fits(role: Role, org: str) -> bool:
    """What the org code itself says about its kind, checked without asking the org tree (the
    token is checked in every service, most of which hold no org tree). Division codes (GB/T
    2260) end in 0000 for a province and 00 for a city, otherwise name a county-level unit;
    townships have nine digits; a school's code is never a six-digit division code. A code of
    another shape (letters, an office's "-GOV") is not judged here: the scope checks still apply."""
    if not org.isdigit():
        return True
    division = len(org) == 6
    if role is Role.province_official:
        return division and org.endswith("0000")
    if role is Role.city_official:
        return division and org.endswith("00") and not org.endswith("0000")
    if role is Role.county_official:
        return division and not org.endswith("00")
    if role is Role.township_official:
        return len(org) == 9
    if role in SCHOOL:
        return not division
    return True


def mint(secret: str, *, subject: str, role: Role | str, org: str, classes: Iterable[str] = (),
         issuer: str = "baoxue", audience: str = "baoxue", ttl_s: int = 3600) -> str:
    """An HS256 token (for development and tests; production tokens come from the identity provider)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "role": Role(role).value, "org": org, "iss": issuer, "aud": audience,
              "iat": now, "exp": now + ttl_s, "jti": uuid.uuid4().hex}
    if classes:
        claims["classes"] = sorted(classes)
    return jwt.encode(claims, secret, algorithm="HS256")


_bearer = HTTPBearer(auto_error=False, description="A JWT naming the caller's role and org")


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise Unauthenticated("send Authorization: Bearer <token>")
    runtime = request.app.state.runtime
    principal: Principal = runtime.verifier.verify(credentials.credentials)
    if principal.role is not Role.ops:
        principal = replace(principal, path=await runtime.places.path_of(principal.org))
    request.state.principal = principal  # for the audit log, written after the response
    structlog.contextvars.bind_contextvars(caller_role=principal.role.value, caller_org=principal.org)
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def access(*roles: Role | frozenset[Role], scope: str, audit: bool = False,
           responses: dict[int | str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Route keyword arguments declaring who may call it. ``scope`` says how the org tree is
    applied: "object" (outside: 404), "list" (filtered), "create" (the target must be in scope),
    "own" (the caller's own objects only), or "none" (no personal data). Writes are always
    audited; ``audit=True`` audits reads too (a full record, an export)."""
    allowed: set[Role] = set()
    for r in roles:
        allowed |= set(r) if isinstance(r, frozenset) else {r}

    async def require_role(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"the {principal.role.value} role may not do this")
        return principal

    return {
        "dependencies": [Depends(require_role)],
        "openapi_extra": {"x-baoxue-access": {"roles": sorted(r.value for r in allowed), "scope": scope,
                                              "audit": audit}},
        "responses": {401: {"description": "No valid bearer token"}, 403: {"description": "Role not allowed"},
                      **(responses or {})},
    }


def public() -> dict[str, Any]:
    """Route keyword arguments for a route anyone may call (health checks for orchestrators)."""
    return {"openapi_extra": {"x-baoxue-access": {"roles": ["anonymous"], "scope": "none"}}}

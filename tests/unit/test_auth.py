"""Token verification: pinned algorithms, required claims, JWKS keys, production key rules."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from shared.auth import Principal, Role, TokenVerifier, Unauthenticated, mint
from shared.settings import ServiceSettings

SECRET = "k" * 48


def verifier(**values) -> TokenVerifier:
    return TokenVerifier(ServiceSettings(jwt_secret=SECRET, **values))


def claims(**extra) -> dict:
    now = int(time.time())
    return {"sub": "u1", "role": "county_official", "org": "410122", "iss": "baoxue", "aud": "baoxue",
            "exp": now + 60, **extra}


def test_a_minted_token_verifies_to_its_principal():
    p = verifier().verify(mint(SECRET, subject="u1", role=Role.head_teacher, org="S1", classes=["c2", "c1"]))
    assert p == Principal(subject="u1", role=Role.head_teacher, org="S1", classes=frozenset({"c1", "c2"}))


@pytest.mark.parametrize("token", [
    jwt.encode(claims(exp=int(time.time()) - 120), SECRET, algorithm="HS256"),      # expired
    jwt.encode(claims(aud="someone-else"), SECRET, algorithm="HS256"),               # wrong audience
    jwt.encode(claims(iss="evil"), SECRET, algorithm="HS256"),                       # wrong issuer
    jwt.encode({k: v for k, v in claims().items() if k != "exp"}, SECRET, algorithm="HS256"),  # no expiry
    jwt.encode(claims(), "another-key-of-sufficient-length-000000", algorithm="HS256"),  # wrong key
    jwt.encode(claims(), SECRET, algorithm="HS512"),                                 # algorithm not pinned
    jwt.encode(claims(), None, algorithm="none"),                                    # unsigned
    jwt.encode(claims(role="janitor"), SECRET, algorithm="HS256"),                   # unknown role
    jwt.encode({k: v for k, v in claims().items() if k != "org"}, SECRET, algorithm="HS256"),  # no org
    "not.a.token",
    # Signed, but the claims make no sense (issue 14): each was a 500 or a wildcard before.
    jwt.encode(claims(sub=""), SECRET, algorithm="HS256"),                           # empty subject
    jwt.encode(claims(sub="   "), SECRET, algorithm="HS256"),                        # blank subject
    jwt.encode(claims(sub=7), SECRET, algorithm="HS256"),                            # not text
    jwt.encode(claims(sub="u\x00"), SECRET, algorithm="HS256"),                      # a control character
    jwt.encode(claims(org="410122/410100"), SECRET, algorithm="HS256"),              # outside the alphabet
    jwt.encode(claims(org="%"), SECRET, algorithm="HS256"),                          # a LIKE wildcard
    jwt.encode(claims(org=410122), SECRET, algorithm="HS256"),                       # not text
    jwt.encode(claims(role="head_teacher", org="4101221001", classes="c1"), SECRET, algorithm="HS256"),
    jwt.encode(claims(role="head_teacher", org="4101221001", classes=[{"id": 1}]), SECRET, algorithm="HS256"),
    jwt.encode(claims(role="head_teacher", org="4101221001", classes=["c/%"]), SECRET, algorithm="HS256"),
    jwt.encode(claims(role="province_official", org="410122"), SECRET, algorithm="HS256"),  # a county's code
    jwt.encode(claims(role="county_official", org="410000"), SECRET, algorithm="HS256"),    # a province's
    jwt.encode(claims(role="school_staff", org="410122"), SECRET, algorithm="HS256"),       # a school is no county
    jwt.encode(claims(role="township_official", org="410122"), SECRET, algorithm="HS256"),
])
def test_bad_tokens_are_401_without_saying_why(token):
    with pytest.raises(Unauthenticated) as err:
        verifier().verify(token)
    assert err.value.detail == "the bearer token is missing, expired or invalid"


def test_rs256_tokens_verify_against_a_jwks_file_and_hs256_is_then_refused(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]}))
    v = TokenVerifier(ServiceSettings(jwt_jwks_file=tmp_path / "jwks.json"))
    good = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"})
    assert v.verify(good).org == "410122"
    with pytest.raises(Unauthenticated):  # HS256 "signed" with the public key: algorithm confusion
        v.verify(_forge_hs256(claims(), json.dumps(public).encode(), kid="k1"))
    with pytest.raises(Unauthenticated):
        v.verify(jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "unknown"}))


def test_without_a_key_every_token_is_refused():
    with pytest.raises(Unauthenticated, match="no token verification key"):
        TokenVerifier(ServiceSettings()).verify(mint(SECRET, subject="u", role="ops", org="x"))


@pytest.mark.parametrize("secret", [None, "", "changeme", "short-but-not-a-placeholder"])
def test_production_refuses_a_missing_placeholder_or_short_key(secret):
    with pytest.raises(ValidationError, match="BAOXUE_JWT_SECRET"):
        ServiceSettings(environment="production", database_url="postgresql+asyncpg://x/y", jwt_secret=secret)


def test_production_accepts_a_strong_key():
    assert ServiceSettings(environment="production", database_url="postgresql+asyncpg://x/y", jwt_secret=SECRET)


def test_scope_is_the_org_and_below_and_a_head_teachers_classes():
    path = ["410000", "410100", "410122", "410122100", "S1"]
    assert Principal("u", Role.county_official, "410122").sees(path)
    assert not Principal("u", Role.county_official, "420102").sees(path)
    assert Principal("u", Role.head_teacher, "S1", frozenset({"c1"})).sees(path, "c1")
    assert not Principal("u", Role.head_teacher, "S1", frozenset({"c1"})).sees(path, "c2")
    assert not Principal("u", Role.ops, "410000").sees(path)


def _forge_hs256(payload: dict, key: bytes, kid: str) -> str:
    """What an attacker builds by hand (PyJWT itself refuses to sign with a public key)."""
    import base64
    import hashlib
    import hmac

    def b64(raw: bytes) -> bytes:
        return base64.urlsafe_b64encode(raw).rstrip(b"=")

    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()) + b"." + \
        b64(json.dumps(payload).encode())
    return (signing_input + b"." + b64(hmac.new(key, signing_input, hashlib.sha256).digest())).decode()


@pytest.mark.parametrize("role,org", [
    ("province_official", "410000"), ("city_official", "410100"), ("city_official", "441900"),  # 东莞: no counties
    ("county_official", "410122"), ("county_official", "419001"),  # 济源, a county-level city under the province
    ("county_official", "110101"), ("township_official", "410122100"), ("school_staff", "4101221001"),
    ("head_teacher", "S1"), ("recipient", "410122-GOV"), ("ops", "410000"),
])
def test_roles_that_fit_their_org_codes_pass(role, org):
    assert verifier().verify(jwt.encode(claims(role=role, org=org), SECRET, algorithm="HS256")).org == org


def test_the_rate_limit_key_is_the_verified_subject():
    v = verifier()
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    assert v.subject_of(token) == "u1"
    assert v.subject_of(token.upper()) is None and v.subject_of("junk") is None


def test_a_remembered_token_is_refused_from_the_moment_the_check_would_refuse_it(monkeypatch):
    """A verified token is remembered by its string (each write checked it twice), never past its
    exp plus the leeway: there, remembered or not, it is refused as the full check refuses it."""
    import datetime as dt
    import types

    import jwt.api_jwt

    import shared.auth

    v = verifier()
    exp = int(time.time()) + 5
    token = jwt.encode(claims(exp=exp), SECRET, algorithm="HS256")
    assert v.verify(token) == v.verify(token) == Principal(subject="u1", role=Role.county_official, org="410122")
    at = {"t": exp + 30 - 0.5}  # inside the leeway: still accepted, by either path

    class Later(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime.fromtimestamp(at["t"], tz)

    monkeypatch.setattr(shared.auth, "time", types.SimpleNamespace(time=lambda: at["t"]))
    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)
    assert v.verify(token).subject == "u1"
    at["t"] = exp + 30 + 0.5
    with pytest.raises(Unauthenticated):
        v.verify(token)
    assert v.subject_of(token) is None

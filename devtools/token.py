"""Mint a development token: python -m devtools.token --role county_official --org 410122

The key is BAOXUE_JWT_SECRET, else the one `make run` generated in var/dev-jwt-secret.
Production tokens come from the identity provider, signed with the production key or JWKS.
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

from shared.auth import Role, mint

ROOT = Path(__file__).resolve().parents[1]
DEV_SECRET_FILE = ROOT / "var" / "dev-jwt-secret"


def dev_secret(create: bool = False) -> str:
    """The development signing key: from the environment, else var/, created on first use."""
    if os.environ.get("BAOXUE_JWT_SECRET"):
        return os.environ["BAOXUE_JWT_SECRET"]
    if not DEV_SECRET_FILE.exists():
        if not create:
            raise SystemExit(f"no key: set BAOXUE_JWT_SECRET or run `make run` once to create {DEV_SECRET_FILE}")
        DEV_SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
        DEV_SECRET_FILE.write_text(secrets.token_urlsafe(48))
        DEV_SECRET_FILE.chmod(0o600)
    return DEV_SECRET_FILE.read_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--org", required=True, help="the org code the caller's scope starts at")
    parser.add_argument("--classes", default="", help="comma-separated class ids (head teachers)")
    parser.add_argument("--subject", default="dev-user")
    parser.add_argument("--ttl", type=int, default=8 * 3600, help="seconds until it expires")
    args = parser.parse_args()
    print(mint(dev_secret(), subject=args.subject, role=args.role, org=args.org,
               classes=[c for c in args.classes.split(",") if c], ttl_s=args.ttl,
               issuer=os.environ.get("BAOXUE_JWT_ISSUER", "baoxue"),
               audience=os.environ.get("BAOXUE_JWT_AUDIENCE", "baoxue")))


if __name__ == "__main__":
    main()

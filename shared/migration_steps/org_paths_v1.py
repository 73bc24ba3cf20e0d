"""Org paths and flags to their one encoding ("/a/b/c/", see shared/paths.py), for every service.

A JSON list (``["410000", "410100"]``) becomes "/410000/410100/" in SQL, on both backends, by
textual replacement: codes and flags never hold a quote, a comma, a space or a "/" (the org code
alphabet), so the JSON text of a list of them is "[", quoted codes joined by commas, and "]".
Path columns are made byte-ordered on PostgreSQL (``COLLATE "C"``), so the prefix range the
scope filter uses is served by their B-tree index. Frozen once released, like every step here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

LENGTH = 400


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _key_of_json(sql: str) -> str:
    """SQL turning the JSON text of a list of codes into "/a/b/" ("/" for an empty list)."""
    out = f"replace({sql}, ' ', '')"
    for old, new in (('","', "/"), ('["', "/"), ('"]', "/"), ("[]", "/")):
        out = f"replace({out}, '{old}', '{new}')"
    return out


def _json_of_key(sql: str) -> str:
    """SQL turning "/a/b/" back into the JSON text ["a", "b"] ("[]" for "/")."""
    return (f"CASE WHEN {sql} = '/' OR {sql} = '//' THEN '[]' "
            f"ELSE '[\"' || replace(substr({sql}, 2, length({sql}) - 2), '/', '\", \"') || '\"]' END")


def path_type(collate: bool = True) -> sa.String:
    return sa.String(LENGTH, collation="C") if collate and _pg() else sa.String(LENGTH)


def json_to_key(table: str, column: str, *, new_name: str | None = None, collate: bool = True,
                nullable: bool = False) -> None:
    """A JSON-list column becomes an encoded string column (renamed to ``new_name`` if given)."""
    name = new_name or column
    if _pg():
        op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar({LENGTH})'
                   f'{" COLLATE " + chr(34) + "C" + chr(34) if collate else ""} USING {_key_of_json(column + "::text")}')
        if name != column:
            op.alter_column(table, column, new_column_name=name)
        return
    with op.batch_alter_table(table) as batch:
        batch.alter_column(column, new_column_name=name, type_=sa.String(LENGTH), existing_nullable=nullable)
    op.execute(f"UPDATE {table} SET {name} = {_key_of_json(name)} WHERE {name} IS NOT NULL")


def key_to_json(table: str, column: str, *, old_name: str | None = None, nullable: bool = False) -> None:
    """The reverse of ``json_to_key``: ``column`` back to a JSON list named ``old_name``."""
    name = old_name or column
    if _pg():
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE json USING ({_json_of_key(column)})::json")
        if name != column:
            op.alter_column(table, column, new_column_name=name)
        return
    op.execute(f"UPDATE {table} SET {column} = {_json_of_key(column)} WHERE {column} IS NOT NULL")
    with op.batch_alter_table(table) as batch:
        batch.alter_column(column, new_column_name=name, type_=sa.JSON(), existing_nullable=nullable)


def collate_c(table: str, column: str, *, nullable: bool = False) -> None:
    """An encoded path column made byte-ordered on PostgreSQL (nothing to do on SQLite)."""
    if _pg():
        op.alter_column(table, column, type_=sa.String(LENGTH, collation="C"), existing_nullable=nullable)


def collate_default(table: str, column: str) -> None:
    if _pg():
        op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar({LENGTH}) COLLATE "default"')


def empty_as_slash(table: str, column: str) -> None:
    """"//" (an empty list as once written) becomes "/"."""
    op.execute(f"UPDATE {table} SET {column} = '/' WHERE {column} = '//'")


def bars_to_slashes(table: str, column: str) -> None:
    """"|a|b|" flags become "/a/b/" ("||" becomes "/")."""
    op.execute(f"UPDATE {table} SET {column} = replace({column}, '|', '/') WHERE {column} IS NOT NULL")
    empty_as_slash(table, column)


def slashes_to_bars(table: str, column: str) -> None:
    op.execute(f"UPDATE {table} SET {column} = replace({column}, '/', '|') WHERE {column} IS NOT NULL")
    op.execute(f"UPDATE {table} SET {column} = '||' WHERE {column} = '|'")


def audit_upgrade() -> None:
    """The audit log's place column, byte-ordered for the prefix range."""
    collate_c("audit_log", "scope_path")


def audit_downgrade() -> None:
    collate_default("audit_log", "scope_path")

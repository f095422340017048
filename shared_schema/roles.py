"""The roles a user has (角色), written once for the server, the phone and the
office console. Which role may do what is decided by each side's rules
(``sync_server/domain/sync/rules.py``, ``shared_schema.cases``); these are
the names and the groups every side means by them."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["grid_officer", "sector_inspector", "office", "leader", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
#: The roles that walk the sites with a phone (网格员, 行业部门巡查员).
FIELD_ROLES: tuple[str, ...] = ("grid_officer", "sector_inspector")
#: The labour office and the township leaders: the office console's users.
OFFICE_ROLES: tuple[str, ...] = ("office", "leader")

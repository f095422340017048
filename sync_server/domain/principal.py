"""Who a request acts as: the user, their role and scope, and the device.

A module of its own (not in ``auth``): every domain package asks for the
principal, and the auth service (which makes it from a token) needs the
registry, which needs the sync records; here it depends on nothing of theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync_server.store.base import Visibility

#: Roles that see the whole township, not only their villages or departments.
WHOLE_TOWNSHIP = frozenset({"office", "leader", "admin"})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: the user, their role and scope, and the device."""

    user_id: str
    username: str
    role: str
    village_ids: frozenset[str]
    department_ids: frozenset[str]
    device_id: str
    scope_version: int

    @property
    def all_scope(self) -> bool:
        return self.role in WHOLE_TOWNSHIP

    def sees(self, village_id: str | None, department_id: str | None,
             created_by: str | None = None) -> bool:
        return (
            self.all_scope
            or (village_id is not None and village_id in self.village_ids)
            or (department_id is not None and department_id in self.department_ids)
            or (created_by is not None and created_by == self.user_id)
        )

    def visibility(self) -> Visibility:
        return Visibility(
            all=self.all_scope, village_ids=tuple(sorted(self.village_ids)),
            department_ids=tuple(sorted(self.department_ids)), user_id=self.user_id,
        )

"""``sync-server user …``: add, list, scope, disable users; revoke devices."""

from __future__ import annotations

import argparse

from shared_schema.hlc import system_now_ms
from shared_schema.roles import FIELD_ROLES
from sync_server.cli.common import (
    EXIT_OK,
    PROG,
    CliError,
    UsageError,
    _actor,
    _check_scope,
    _known,
    _out,
    _password,
    _resolve,
    _settings,
    _warn,
    scope_words,
    store_at,
    table,
)
from sync_server.domain.auth import lifecycle
from sync_server.domain.auth.policy import check_password
from sync_server.domain.auth.service import WHOLE_TOWNSHIP, create_user, set_scope


def cmd_user_add(args: argparse.Namespace) -> int:
    with store_at(args.db, must_exist=False) as store:
        if store.get_user_by_username(args.username):
            raise CliError(f"user {args.username!r} already exists")
        villages = _resolve(store, "village", args.village) or []
        departments = _resolve(store, "department", args.department) or []
        if args.role in WHOLE_TOWNSHIP and (villages or departments):
            _warn(f"a {args.role} sees the whole township; --village/--department ignored")
            villages, departments = [], []
        _check_scope(args.role, villages, departments)
        password = _password(args)
        check_password(password, args.username)
        now = system_now_ms()
        user = create_user(store, args.username, password, args.role,
                           display_name=args.display_name, village_ids=villages,
                           department_ids=departments, now_ms=now,
                           scrypt_n=_settings().scrypt_n)
        _out(f"added user {user.username} ({user.role}; {scope_words(store, user)})")
    return EXIT_OK


def cmd_user_list(args: argparse.Namespace) -> int:
    with store_at(args.db) as store:
        rows = []
        for u in store.list_users():
            devices = ", ".join(
                d.device_id + (" (revoked)" if store.device_blocked(d.device_id) else "")
                for d in store.list_devices(u.id)) or "—"
            role = u.role if u.active else f"{u.role} (disabled)"
            rows.append([u.username, role, u.display_name, scope_words(store, u), devices])
    if not rows:
        _out("no users")
    else:
        _out(table(["username", "role", "display name", "scope", "devices"], rows))
    return EXIT_OK


def cmd_user_revoke_device(args: argparse.Namespace) -> int:
    with store_at(args.db) as store:
        device = store.get_device(args.device_id)
        if device is None:
            raise CliError(f"no device {args.device_id!r} (see: {PROG} user list)")
        user = store.get_user(device.user_id)
        count = lifecycle.revoke_device(store, _actor(), args.device_id, device.user_id,
                                        system_now_ms())
    who = user.username if user else device.user_id
    _out(f"revoked {count} login token(s) of device {args.device_id} (user {who}); "
         f"it may not log in again until: {PROG} user enable-device {args.device_id}")
    return EXIT_OK


def cmd_user_enable_device(args: argparse.Namespace) -> int:
    with store_at(args.db) as store:
        if store.get_device(args.device_id) is None and \
                store.device_blocked(args.device_id) is None:
            raise CliError(f"no device {args.device_id!r} (see: {PROG} user list)")
        lifted = lifecycle.enable_device(store, _actor(), args.device_id, system_now_ms())
    if lifted:
        _out(f"device {args.device_id} may log in again")
    else:
        _out(f"device {args.device_id} was not revoked; nothing changed")
    return EXIT_OK


def cmd_user_disable(args: argparse.Namespace) -> int:
    with store_at(args.db) as store:
        _known(store, args.username)
        done = lifecycle.disable_user(store, _actor(), args.username, system_now_ms())
    _out(f"disabled {args.username}: {done.tokens_revoked} login token(s) revoked; "
         "their devices are logged out at their next request")
    return EXIT_OK


def cmd_user_enable(args: argparse.Namespace) -> int:
    with store_at(args.db) as store:
        _known(store, args.username)
        lifecycle.enable_user(store, _actor(), args.username, system_now_ms())
    _out(f"enabled {args.username}: they may log in again")
    return EXIT_OK


def cmd_user_set_password(args: argparse.Namespace) -> int:
    with store_at(args.db) as store:
        _known(store, args.username)
        password = _password(args)
        done = lifecycle.set_password(store, _actor(), args.username, password,
                                      system_now_ms(), _settings().scrypt_n)
    _out(f"new password set for {args.username}; {done.tokens_revoked} login token(s) "
         "revoked, they log in again with it")
    return EXIT_OK


def cmd_user_set_role(args: argparse.Namespace) -> int:
    with store_at(args.db) as store:
        user = _known(store, args.username)
        if args.role in FIELD_ROLES:
            _check_scope(args.role, user.village_ids, user.department_ids)
        before = user.role
        user = lifecycle.set_role(store, _actor(), args.username, args.role,
                                  system_now_ms()).user
        _out(f"{user.username}: {before} -> {user.role} ({scope_words(store, user)})")
    if before != args.role:
        _out("their devices must pull again from the start (410 resync_required on next pull)")
    return EXIT_OK


def cmd_user_set_scope(args: argparse.Namespace) -> int:
    if (args.village is None and args.department is None
            and not args.no_villages and not args.no_departments):
        raise UsageError("give --village, --department, --no-villages or --no-departments")
    if args.village is not None and args.no_villages:
        raise UsageError("--village and --no-villages contradict each other")
    if args.department is not None and args.no_departments:
        raise UsageError("--department and --no-departments contradict each other")
    with store_at(args.db) as store:
        user = store.get_user_by_username(args.username)
        if user is None:
            raise CliError(f"no user {args.username!r}")
        if user.role in WHOLE_TOWNSHIP:
            raise CliError(f"{args.username} is a {user.role} and sees the whole township; "
                           "scope not changed")
        villages = [] if args.no_villages else _resolve(store, "village", args.village)
        departments = ([] if args.no_departments
                       else _resolve(store, "department", args.department))
        _check_scope(user.role,
                     user.village_ids if villages is None else villages,
                     user.department_ids if departments is None else departments)
        user = set_scope(store, args.username, village_ids=villages, department_ids=departments)
        _out(f"{user.username} now covers: {scope_words(store, user)}")
    _out("their devices must pull again from the start (410 resync_required on next pull)")
    return EXIT_OK

"""Login back-off: per username and per client address, exponential, kept in
the database (``login_failures``, m008_logins) so that it survives a restart
and holds across server processes.

After ``free`` failures under a key, the next attempt under it waits
``login_backoff_ms · 2^(failures − free)`` from the last failure (1 s, then
2 s, 4 s, … with the defaults), at most ``login_backoff_max_ms``. An attempt while a key waits is
answered 429 ``too_many_attempts`` with ``Retry-After`` and its password is
not checked; it does not count as a failure (so it does not lengthen the
wait). A successful login forgets its username's failures, never the
address's (logging into one's own account must not reset an attacker's
address). Failures are forgotten after ``login_failure_memory_ms`` without
one. Usernames count whether they exist or not: the answers for an unknown
user and a wrong password are the same, 401 or 429, at the same moments.
"""

from __future__ import annotations

from sync_server.settings import Settings
from sync_server.store.base import StoreTx, SyncStore

#: Longest username or address kept as a key (longer ones share a key).
KEY_CHARS = 128


def user_key(username: str) -> str:
    return "user:" + username[:KEY_CHARS]


def client_key(client: str) -> str:
    return "client:" + client[:KEY_CHARS]


def delay_ms(settings: Settings, failures: int, free: int) -> int:
    """How long the next attempt waits after ``failures`` failures (0: free)."""
    if failures < free:
        return 0
    step = min(failures - free, 40)
    return min(settings.login_backoff_max_ms, settings.login_backoff_ms * 2**step)


def wait_ms(store: SyncStore, settings: Settings, username: str, client: str,
            now_ms: int) -> int:
    """How long an attempt for ``username`` from ``client`` must still wait (0: go)."""
    return waiting(store, settings, username, client, now_ms)[0]


def waiting(store: SyncStore, settings: Settings, username: str, client: str,
            now_ms: int) -> tuple[int, str]:
    """``wait_ms`` and the wait it is: the key with the longest wait and its
    last failure (the same string for every attempt refused during one wait)."""
    keys = {user_key(username): settings.login_free_failures}
    if client:
        keys[client_key(client)] = settings.login_free_failures_per_client
    forget = now_ms - settings.login_failure_memory_ms
    wait, which = 0, ""
    for key, row in store.login_failures(list(keys)).items():
        if row.last_failure_at < forget:
            continue
        until = row.last_failure_at + delay_ms(settings, row.failures, keys[key])
        if until - now_ms > wait:
            wait, which = until - now_ms, f"{key}@{row.last_failure_at}"
    return wait, which


#: The waits (per database) whose first refused attempt was audited; bounded.
_AUDITED: dict[tuple[str, str], None] = {}
_AUDITED_MAX = 10_000


def first_of_wait(settings: Settings, wait: str) -> bool:
    """Is this the first refused attempt of ``wait`` in this process? Only
    that one is audited: the others of the wait are answered the same 429
    without a row, so a client that keeps trying cannot grow the audit log
    faster than its back-off (one row per wait and key and server process)."""
    marker = (str(settings.database), wait)
    if marker in _AUDITED:
        return False
    if len(_AUDITED) >= _AUDITED_MAX:
        _AUDITED.clear()  # at worst one more row for waits already audited
    _AUDITED[marker] = None
    return True


def note_failure(tx: StoreTx, settings: Settings, username: str, client: str,
                 now_ms: int) -> None:
    """Count a failed attempt under its username and its client address, and
    drop the keys nobody failed under for ``login_failure_memory_ms``."""
    forget = now_ms - settings.login_failure_memory_ms
    tx.add_login_failure(user_key(username), now_ms, forget)
    if client:
        tx.add_login_failure(client_key(client), now_ms, forget)
    tx.forget_login_failures(forget)


def note_success(tx: StoreTx, username: str) -> None:
    tx.clear_login_failures(user_key(username))


def forget_user(tx: StoreTx, username: str) -> None:
    """An admin set a new password: the username starts afresh."""
    tx.clear_login_failures(user_key(username))

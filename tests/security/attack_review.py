"""The issue #14 review's attack, rerun against a live server on loopback.

    sync-server seed-demo --db /tmp/atk/server.db
    sync-server serve --db /tmp/atk/server.db --host 127.0.0.1 --port 8765 &
    python tests/security/attack_review.py --url http://127.0.0.1:8765

It replays the issue's nine findings as written, then the review's own probes,
prints each request and its answer, and the totals: requests sent, refused
(by status code) and 5xx answers (must be 0). Bounded: about 250 requests,
loopback only (any other host is refused), a 60 s timeout per request. Not
collected by pytest (the name does not start with ``test_``); the regression
tests are ``tests/security/test_review.py``.
"""

from __future__ import annotations

import argparse
import base64
import collections
import concurrent.futures
import datetime as dt
import hashlib
import json
import secrets
import sys
import time
import urllib.parse
from typing import Any

import httpx

PASSWORD = "demo1234"
DAY = 24 * 3600 * 1000
LOCAL = dt.timezone(dt.timedelta(hours=8))

codes: collections.Counter[int] = collections.Counter()
lines: list[str] = []


def note(finding: str, what: str, answer: str) -> None:
    line = f"{finding:>4} | {what} | {answer}"
    lines.append(line)
    print(line, flush=True)


class Client(httpx.Client):
    def request(self, *a: Any, **kw: Any) -> httpx.Response:  # type: ignore[override]
        r = super().request(*a, **kw)
        codes[r.status_code] += 1
        return r


def code_of(r: httpx.Response) -> str:
    try:
        return f"{r.status_code} {r.json()['error']['code']}"
    except Exception:  # a success or a non-JSON body
        return str(r.status_code)


def uuid7() -> str:
    from shared_schema.ids import uuid7 as make
    return make()


class Dev:
    def __init__(self, c: Client, username: str, device_id: str) -> None:
        self.c, self.username, self.device_id = c, username, device_id
        self.secret = hashlib.sha256(b"atk:" + device_id.encode()).hexdigest()
        self.seq, self.cursor = 0, 0
        from shared_schema.hlc import HybridClock
        self.clock = HybridClock(device_id)
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.revs: dict[tuple[str, str], dict[str, int]] = {}
        r = self.login()
        assert r.status_code == 200, r.text
        self.h = {"Authorization": "Bearer " + r.json()["token"]}

    def login(self, password: str = PASSWORD, **extra: Any) -> httpx.Response:
        return self.c.post("/api/v1/auth/login", json={
            "username": self.username, "password": password, "device_id": self.device_id,
            "device_secret": self.secret, "device_name": "attack", **extra})

    def mutation(self, op: str, entity: str, eid: str, fields: dict[str, Any],
                 base: dict[str, int] | None = None) -> dict[str, Any]:
        self.seq += 1
        hlc = str(self.clock.tick())
        m = {"op": op, "id": uuid7(), "seq": self.seq, "hlc": hlc, "entity": entity,
             "entity_id": eid, "fields": fields}
        if op == "upsert":
            revs = self.revs.get((entity, eid), {})
            m["base"] = base if base is not None else {k: revs.get(k, 0) for k in fields}
        return m

    def push(self, *ms: dict[str, Any]) -> httpx.Response:
        return self.c.post("/api/v1/sync/push", headers=self.h, json={
            "protocol": 1, "device_id": self.device_id,
            "client_time_ms": int(time.time() * 1000), "mutations": list(ms)})

    def pull(self) -> None:
        while True:
            r = self.c.get("/api/v1/sync/pull", params={"since": self.cursor}, headers=self.h)
            assert r.status_code == 200, r.text
            page = r.json()
            for ch in page["changes"]:
                self.records[(ch["entity"], ch["id"])] = ch["data"]
                self.revs[(ch["entity"], ch["id"])] = ch["field_revs"]
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return

    def of(self, entity: str) -> dict[str, dict[str, Any]]:
        return {i: d for (e, i), d in self.records.items() if e == entity}


def month(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, LOCAL).strftime("%Y-%m")


def result(r: httpx.Response) -> str:
    if r.status_code != 200:
        return code_of(r)
    res = r.json()["results"][0]
    return res["status"] + (f" {res['error']['code']}" if res.get("error") else "")


def findings(c: Client) -> None:
    now = int(time.time() * 1000)
    # 1. device takeover
    for dev_id in ("demo-office-pc", "demo-grid1-phone"):
        r = c.post("/api/v1/auth/login", json={
            "username": "grid2", "password": PASSWORD, "device_id": dev_id,
            "device_secret": secrets.token_urlsafe(32), "device_name": "x"})
        note("1", f"grid2 login as {dev_id} (right password, own secret)", code_of(r))
    r = c.post("/api/v1/auth/login", json={"username": "grid2", "password": PASSWORD,
                                           "device_id": "demo-office-pc", "device_name": "x"})
    note("1", "grid2 login as demo-office-pc without a secret", code_of(r))

    grid1, grid2 = Dev(c, "grid1", "atk-grid1"), Dev(c, "grid2", "atk-grid2")
    office = Dev(c, "office1", "atk-office")
    grid1.pull()
    site = next(i for i, d in grid1.of("site").items() if not d.get("deleted"))
    village = grid1.of("site")[site]["village_id"]

    # 2. backdating
    case = uuid7()
    r = grid1.push(grid1.mutation("upsert", "case", case, {
        "village_id": village, "site_id": site, "sector": "construction",
        "title": "攻击复现", "employer": "某公司", "workers_owed": 1, "amount_owed": 1000}))
    grid1.push(grid1.mutation("insert", "case_event", uuid7(), {"case_id": case,
                                                                 "kind": "accept"}))
    old = month(now - 400 * DAY)
    before = c.get("/api/v1/reports/summary", params={"month": old}, headers=office.h).json()
    r = grid1.push(grid1.mutation("insert", "case_event", uuid7(), {
        "case_id": case, "kind": "payment", "amount_recovered": 1e9, "workers_paid": 1,
        "created_at": now - 400 * DAY}))
    after = c.get("/api/v1/reports/summary", params={"month": old}, headers=office.h).json()
    note("2", f"payment 1e9 created_at -400 d: push {result(r)}; {old} amount_recovered",
         f"{before['totals']['amount_recovered']} -> {after['totals']['amount_recovered']}")
    case2 = uuid7()
    grid1.push(grid1.mutation("upsert", "case", case2, {
        "village_id": village, "site_id": site, "sector": "construction", "title": "早开",
        "opened_at": now - 200 * DAY}))
    grid1.push(grid1.mutation("insert", "case_event", uuid7(), {
        "case_id": case2, "kind": "accept", "created_at": now - 200 * DAY}))
    grid1.push(grid1.mutation("insert", "case_event", uuid7(), {
        "case_id": case2, "kind": "resolve", "note": "已付", "created_at": now - 195 * DAY}))
    d = c.get(f"/api/v1/cases/{case2}", headers=office.h).json()
    assert "deadlines" in d, d
    note("2", "opened -200 d, resolved 5 d later by device clock: on_time",
         f"{d['deadlines'].get('on_time')} (opened_at counted from receipt)")
    case3 = uuid7()
    grid1.push(grid1.mutation("upsert", "case", case3, {
        "village_id": village, "site_id": site, "sector": "construction", "title": "2100",
        "opened_at": int(dt.datetime(2100, 1, 1, tzinfo=LOCAL).timestamp() * 1000)}))
    d = c.get(f"/api/v1/cases/{case3}", headers=office.h).json()
    note("2", "opened_at 2100: accept deadline", str(d["deadlines"].get("accept_due")
                                                      or d["deadlines"]))

    # 3. 50 wrong passwords (a user of its own; the demo users stay usable)
    victim = "atkvictim" + secrets.token_hex(3)
    admin = Dev(c, "admin", "atk-admin")
    r = c.post("/api/v1/admin/users", headers=admin.h, json={
        "username": victim, "password": "Wage-Patrol-2026!", "role": "grid_officer",
        "village_ids": [village]})
    assert r.status_code == 201, r.text
    t0, seen = time.monotonic(), collections.Counter()
    retry = None
    for _ in range(50):
        r = c.post("/api/v1/auth/login", json={
            "username": victim, "password": "wrong-" + secrets.token_hex(4),
            "device_id": "atk-bf", "device_secret": "b" * 40, "device_name": "x"})
        seen[code_of(r)] += 1
        retry = r.headers.get("Retry-After", retry)
    audit = c.get("/api/v1/office/audit", params={"action": "login_failed", "limit": 500},
                  headers=office.h).json()
    mine = [a for a in audit["items"] if a["username"] == victim]
    note("3", f"50 wrong passwords for {victim} in {time.monotonic() - t0:.1f} s",
         f"{dict(seen)}, Retry-After {retry}, {len(mine)} audit rows")

    # 4. life cycle
    r = c.post("/api/v1/admin/users", headers=admin.h, json={
        "username": "weak" + secrets.token_hex(3), "password": "1", "role": "grid_officer"})
    note("4", "admin creates a user with password \"1\"", code_of(r))
    r = c.post(f"/api/v1/admin/users/{victim}/password", headers=admin.h,
               json={"password": "1"})
    note("4", "admin sets password \"1\"", code_of(r))
    u = c.post("/api/v1/admin/users", headers=admin.h, json={
        "username": "life" + secrets.token_hex(3), "password": "Wage-Patrol-2026!",
        "role": "grid_officer", "village_ids": [village]}).json()
    life = u.get("username") or u.get("user", {}).get("username")
    ld = c.post("/api/v1/auth/login", json={
        "username": life, "password": "Wage-Patrol-2026!", "device_id": "atk-life",
        "device_secret": "l" * 40, "device_name": "x"})
    lh = {"Authorization": "Bearer " + ld.json()["token"]}
    r = c.post("/api/v1/admin/devices/atk-life/revoke", headers=admin.h)
    r2 = c.post("/api/v1/auth/login", json={
        "username": life, "password": "Wage-Patrol-2026!", "device_id": "atk-life",
        "device_secret": "l" * 40, "device_name": "x"})
    note("4", "revoked device logs straight back in", f"revoke {code_of(r)}, login {code_of(r2)}")
    c.post("/api/v1/admin/devices/atk-life/enable", headers=admin.h)
    ld = c.post("/api/v1/auth/login", json={
        "username": life, "password": "Wage-Patrol-2026!", "device_id": "atk-life",
        "device_secret": "l" * 40, "device_name": "x"})
    lh = {"Authorization": "Bearer " + ld.json()["token"]}
    r = c.post(f"/api/v1/admin/users/{life}/disable", headers=admin.h)
    r2 = c.get("/api/v1/sync/pull", params={"since": 0}, headers=lh)
    note("4", "disable user; their token", f"{code_of(r)}; pull {code_of(r2)}")
    for path, body in (("enable", None), ("role", {"role": "sector_inspector"}),
                       ("password", {"password": "Another-Pass-77"})):
        r = c.post(f"/api/v1/admin/users/{life}/{path}", headers=admin.h, json=body)
        note("4", f"admin {path}", code_of(r))
    ld = c.post("/api/v1/auth/login", json={
        "username": life, "password": "Another-Pass-77", "device_id": "atk-life",
        "device_secret": "l" * 40, "device_name": "x"})
    lh = {"Authorization": "Bearer " + ld.json()["token"]}
    r = c.post("/api/v1/auth/logout", headers=lh)
    r2 = c.get("/api/v1/sync/pull", params={"since": 0}, headers=lh)
    note("4", "logout; the token after", f"{code_of(r)}; pull {code_of(r2)}")

    # 5. 100 unfinished 20 MiB uploads
    seen, expires = collections.Counter(), None
    for i in range(100):
        r = c.post("/api/v1/uploads", headers={
            **grid2.h, "Tus-Resumable": "1.0.0", "Upload-Length": str(20 * 1024 * 1024),
            "Upload-Metadata": "sha256 " + base64.b64encode(
                hashlib.sha256(b"%d" % i).hexdigest().encode()).decode()})
        seen[code_of(r)] += 1
        expires = r.headers.get("Upload-Expires") or expires
    note("5", "100 POST /uploads of 20 MiB, none finished", f"{dict(seen)}; "
         f"Upload-Expires {expires}")

    # 6. masked phone pushed back; registry facts from a grid officer
    r = c.post("/api/v1/cases", headers=office.h, json={
        "source": "12333", "sector": "construction", "title": "复现6", "village_id": village,
        "complainant_name": "张三", "complainant_phone": "13701231111",
        "complainant_id_number": "500101199001011234"})
    case6 = r.json()["case"]["id"]
    grid1.pull()
    shown = grid1.records[("case", case6)]["complainant_phone"]
    r = grid1.push(grid1.mutation("upsert", "case", case6, {"complainant_phone": shown}))
    note("6", f"grid1 pushes back the mask {shown}", result(r))
    r = grid1.push(grid1.mutation("upsert", "case", case6, {"complainant_phone": None}))
    note("6", "grid1 pushes null over the phone", result(r))
    for fld, val in (("six_systems", {"wage_account": True}), ("headcount_on_site", 99),
                     ("last_inspected_at", now)):
        r = grid1.push(grid1.mutation("upsert", "site", site, {fld: val}))
        note("6", f"grid1 upserts site.{fld}", result(r))

    # 7. unknown field
    r = grid1.push(grid1.mutation("upsert", "site", site, {"contractr": "某公司"}))
    note("7", "grid1 upserts site.contractr", result(r) + " " + json.dumps(
        (r.json()["results"][0].get("error") or {}).get("details", {}).get("path")))

    # 8. three parallel PATCHes at offset 0
    data = bytes(range(256)) * 8192
    digest = hashlib.sha256(data).hexdigest()
    r = c.post("/api/v1/uploads", headers={
        **grid1.h, "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
        "Upload-Metadata": "sha256 " + base64.b64encode(digest.encode()).decode()})
    loc = r.headers["Location"]

    def send(_: int) -> int:
        def body() -> Any:
            for i in range(0, len(data), 64 * 1024):
                yield data[i:i + 64 * 1024]
        with Client(base_url=str(c.base_url), timeout=60) as c2:
            return c2.patch(loc, content=body(), headers={
                **grid1.h, "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(len(data))}).status_code

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        got = sorted(pool.map(send, range(3)))
    head = c.head(loc, headers={**grid1.h, "Tus-Resumable": "1.0.0"})
    blob = c.get(f"/api/v1/blobs/{digest}", headers=grid1.h)
    note("8", "3 parallel PATCH offset 0 (2 MiB)", f"{got}; HEAD offset "
         f"{head.headers.get('Upload-Offset')}; GET blob {blob.status_code} "
         f"{'same bytes' if blob.content == data else 'DIFFERENT'}")

    # 9. bad input
    raw = b'{"username":"grid1","password":"\xff\xfe","device_id":"x","device_secret":"' \
        + b"s" * 40 + b'","device_name":"x"}'
    r = c.post("/api/v1/auth/login", content=raw, headers={"Content-Type": "application/json"})
    note("9", "login with invalid UTF-8 in a string", code_of(r))
    deep = b"[" * 1000 + b"]" * 1000
    r = c.post("/api/v1/sync/push", content=deep, headers={
        **grid1.h, "Content-Type": "application/json"})
    note("9", "push of JSON 1000 deep", code_of(r))
    for path in ("/api/v1/cases", "/api/v1/office/sites", "/api/v1/office/audit",
                 "/api/v1/office/inspections", "/api/v1/office/conflicts"):
        r = c.get(path, params={"offset": 2**63}, headers=office.h)
        note("9", f"GET {path}?offset=2**63", code_of(r))
    r = c.get("/api/v1/sync/pull", params={"since": 2**63}, headers=grid1.h)
    note("9", "pull since=2**63", code_of(r))
    big = grid1.mutation("upsert", "site", site, {"address": "长" * 7_000_000})
    r = grid1.push(big)
    note("9", "site address of 7,000,000 characters", result(r))
    r = grid1.push(grid1.mutation("upsert", "site", site, {"address": "长" * 501}))
    note("9", "site address of 501 characters", result(r))
    r = c.post("/api/v1/sync/push", content=json.dumps({
        "protocol": 1, "device_id": grid1.device_id, "client_time_ms": now,
        "mutations": []}).encode(),
        headers={**grid1.h, "Content-Type": "application/json", "Content-Encoding": "br"})
    note("9", "push with Content-Encoding: br", code_of(r))
    note("9", "phone mask as grid1 sees it", shown)


def probes(c: Client) -> None:
    """The review's own probes (part 2 of the brief)."""
    grid1, grid2 = Dev(c, "grid1", "atk-grid1"), Dev(c, "grid2", "atk-grid2")
    office = Dev(c, "office1", "atk-office")
    leader = Dev(c, "leader1", "atk-leader")
    grid1.pull()
    site = next(i for i, d in grid1.of("site").items() if not d.get("deleted"))
    village = grid1.of("site")[site]["village_id"]

    # Login: order of checks, what each answer tells.
    def login(user: str, pw: str, dev: str, secret: str) -> httpx.Response:
        return c.post("/api/v1/auth/login", json={"username": user, "password": pw,
                                                   "device_id": dev, "device_secret": secret,
                                                   "device_name": "x"})
    fresh = "probe" + secrets.token_hex(3)
    admin = Dev(c, "admin", "atk-admin")
    c.post("/api/v1/admin/users", headers=admin.h, json={
        "username": fresh, "password": "Wage-Patrol-2026!", "role": "grid_officer",
        "village_ids": [village]})
    r1 = login(fresh, "wrong-pass-x", "demo-office-pc", "z" * 40)
    r2 = login("nobody" + secrets.token_hex(3), "wrong-pass-x", "demo-office-pc", "z" * 40)
    note("P", "wrong password on a taken device id; unknown user",
         f"{code_of(r1)}; {code_of(r2)}")
    r1 = login(fresh, "wrong", "x", "short")
    r2 = login(fresh, "wrong", "", "z" * 40)
    note("P", "short secret / empty device id (before the password)",
         f"{code_of(r1)}; {code_of(r2)}")

    # Unauthenticated endpoints.
    for path in ("/healthz", "/readyz", "/schema", "/schema/openapi.json", "/metrics",
                 "/api/v1/blobs/" + "0" * 64, "/api/v1/office/audit", "/api/v1/cases"):
        r = c.get(path)
        note("P", f"GET {path} without a token", f"{code_of(r)} {len(r.content)} bytes")

    # Field roles on office paths.
    for path in ("/api/v1/cases", "/api/v1/office/audit", "/api/v1/office/conflicts",
                 "/api/v1/office/sites", "/api/v1/reports/summary",
                 "/api/v1/reports/monthly.xlsx", "/api/v1/office/calendar",
                 f"/api/v1/office/sites/{site}/history"):
        r = c.get(path, headers=grid1.h)
        note("P", f"grid1 GET {path}", code_of(r))

    # Personal data for leader / office through console paths.
    r = c.post("/api/v1/cases", headers=office.h, json={
        "source": "12333", "sector": "construction", "title": "探查", "village_id": village,
        "complainant_name": "李四", "complainant_phone": "13912345678",
        "complainant_id_number": "500101199001019999"})
    case = r.json()["case"]["id"]
    r = c.get("/api/v1/cases", params={"q": "1391234"}, headers=leader.h)
    note("P", "leader search q=<part of a phone>", f"{code_of(r)} {r.json().get('total')}")

    # Audit details as seen by field roles / leader.
    r = c.get("/api/v1/office/audit", params={"limit": 5}, headers=leader.h)
    note("P", "leader reads the audit log", code_of(r))

    # Pull as grid2: complainant data of a village-1 case (not in scope: absent).
    grid2.pull()
    note("P", "grid2 pulls village-1 office case", str(("case", case) in grid2.records))

    # received_at on an office intake; server-only fields through office writes.
    r = c.post("/api/v1/cases", headers=office.h, json={
        "source": "12333", "sector": "construction", "title": "探查2", "village_id": village,
        "received_at": 0})
    note("P", "office intake with received_at 0", code_of(r))
    r = c.post("/api/v1/cases", headers=office.h, json={
        "source": "12333", "sector": "construction", "title": "探查3", "village_id": village,
        "status": "closed", "amount_recovered": 5e9})
    note("P", "office intake with status/amount_recovered", code_of(r))
    r = c.post(f"/api/v1/cases/{case}/events", headers=office.h, json={
        "kind": "note", "note": "x", "author_role": "leader", "received_at": 0})
    note("P", "office event with author_role/received_at", code_of(r))

    r = c.post("/api/v1/cases", headers=office.h, json={
        "source": "12333", "sector": "construction", "title": "探查4", "village_id": village,
        "complainant_phon": "13912345678"})
    note("P", "office intake with a misspelt field complainant_phon", code_of(r))

    # A formula typed on a phone, in the office's CSV.
    r = grid1.push(grid1.mutation("upsert", "case", uuid7(), {
        "village_id": village, "site_id": site, "sector": "construction",
        "title": "=HYPERLINK(\"http://x.invalid\",\"y\")", "employer": "@SUM(1)"}))
    r2 = c.get("/api/v1/reports/monthly.csv", params={"sheet": "cases"}, headers=office.h)
    note("P", "grid1 case titled =HYPERLINK(...): office CSV cell",
         f"push {result(r)}; csv {r2.status_code} "
         f"{'quoted' if chr(39) + '=HYPERLINK' in r2.text else 'FORMULA'}")

    # Error messages echoing secrets.
    r = login("grid1", "x" * 300, "d" * 101, "S" * 40)
    note("P", "login error echoes the secret?", f"{code_of(r)} echo="
         f"{'SSSS' in r.text or 'xxxx' in r.text}")

    # Blobs after a hand-over: grid2 on grid1's phone id with grid1's secret.
    r = login("grid2", PASSWORD, grid1.device_id, grid1.secret)
    note("P", "hand-over grid1's phone to grid2", code_of(r))
    if r.status_code == 200:
        h = {"Authorization": "Bearer " + r.json()["token"]}
        r2 = c.get("/api/v1/sync/receipt", params={"device_id": grid1.device_id}, headers=h)
        note("P", "after hand-over, receipt of the phone", code_of(r2))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8765")
    args = ap.parse_args()
    host = urllib.parse.urlsplit(args.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        print("loopback only", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    with Client(base_url=args.url, timeout=60) as c:
        findings(c)
        probes(c)
    total = sum(codes.values())
    refused = {k: v for k, v in sorted(codes.items()) if k >= 400}
    fives = sum(v for k, v in codes.items() if k >= 500)
    print(f"\nrequests {total}, refused {sum(refused.values())} {refused}, "
          f"5xx {fives}, {time.monotonic() - t0:.0f} s")
    return 1 if fives else 0


if __name__ == "__main__":
    sys.exit(main())

"""The minimum password policy (NIST SP 800-63B, 3.1.1.2): length, not one
character repeated, not the username, not one of the most common passwords.
No composition rules and no forced changes, as the guideline says.

Checked wherever a person sets a password: ``sync-server user add`` and
``user set-password``, ``POST /api/v1/admin/users`` and
``POST /api/v1/admin/users/{username}/password``. ``seed-demo`` alone is
exempt: its demo users share the published password ``demo1234``, which is
on the list below so that no real account can have it.
"""

from __future__ import annotations

from sync_server.domain.errors import DomainError

MIN_LENGTH = 8
#: Long enough for any passphrase; a bound on what is hashed.
MAX_LENGTH = 256

#: The most common passwords of the published leak lists (English and
#: Chinese sites), 8 characters or longer (shorter ones fail the length rule),
#: plus the demo password printed in README. Compared case-insensitively.
COMMON = frozenset("""
12345678 123456789 1234567890 0123456789 12345678910 87654321 987654321 11223344
12341234 12344321 11112222 123123123 123456abc 1234abcd abcd1234 abc12345 abc123456
a12345678 a1234567 a123456789 aa123456 aa12345678 qq123456 qq12345678 q1w2e3r4
1qaz2wsx 1q2w3e4r 1q2w3e4r5t qwertyui qwerty12 qwerty123 qwer1234 asdf1234 asdfghjk
zxcvbnm1 zxcvbnm123 password password1 password123 passw0rd p@ssw0rd p@ssword
iloveyou iloveyou1 woaini1314 woaini520 5201314520 1314520520 520520520 wangyang
admin123 admin1234 admin12345 administrator root1234 test1234 welcome1 sunshine
princess football baseball superman trustno1 letmein1 whatever dragon123 monkey123
computer internet michelle jennifer 147258369 159357456 741852963 789456123 123654789
123456qq 123456aa 5201314a zhang123 li123456 wang1234 woaini123 iloveyou520
demo1234 wagepatrol
""".split())

REASONS = {
    "too_short": ("密码至少需要 {n} 个字符", "at least {n} characters"),
    "too_long": ("密码不能超过 {n} 个字符", "at most {n} characters"),
    "one_character": ("密码不能由同一个字符重复组成", "not one character repeated"),
    "is_username": ("密码不能与用户名相同", "not the username"),
    "common": ("这是最常见的密码之一，请换一个", "one of the most common passwords"),
}


def weakness(password: str, username: str = "") -> str | None:
    """Why ``password`` is refused (a key of ``REASONS``), or None."""
    if len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    if len(set(password)) == 1:
        return "one_character"
    low = password.casefold()
    if username and low == username.casefold():
        return "is_username"
    if low in COMMON:
        return "common"
    return None


def check_password(password: str, username: str = "") -> None:
    """Raise 400 ``weak_password`` (reason in Chinese and English,
    ``details.reason``) when ``password`` breaks the policy."""
    reason = weakness(password, username)
    if reason is None:
        return
    zh, en = REASONS[reason]
    n = MAX_LENGTH if reason == "too_long" else MIN_LENGTH
    raise DomainError("weak_password", f"密码太弱：{zh.format(n=n)} (weak password: "
                      f"{en.format(n=n)})", reason=reason, path="$.password")

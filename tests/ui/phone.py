"""Driving the Flet web app through Flutter's accessibility tree: stable hooks
are ``ft.Semantics(identifier=…)`` → ``[flt-semantics-identifier=…]``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .conftest import ARTIFACTS


def sel(identifier: str) -> str:
    return f'[flt-semantics-identifier="{identifier}"]'


class Phone:
    def __init__(self, page: Any, url: str, shots: Path = ARTIFACTS) -> None:
        self.page = page
        self.url = url
        self.shots = shots
        shots.mkdir(parents=True, exist_ok=True)

    def open(self) -> None:
        self.page.goto(self.url)
        self.page.wait_for_selector("#loading", state="detached", timeout=60_000)
        self.enable_semantics()

    def enable_semantics(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            placeholder = self.page.locator("flt-semantics-placeholder")
            if placeholder.count():
                placeholder.evaluate("el => el.click()")
                return
            time.sleep(0.2)

    def wait(self, identifier: str, timeout: float = 20_000) -> Any:
        loc = self.page.locator(sel(identifier)).first
        loc.wait_for(state="attached", timeout=timeout)
        return loc

    FIXED = ("inspection-submit", "wizard-next", "wizard-prev", "sync-status",
             "login-submit", "login-server", "login-username", "login-password")

    def find(self, identifier: str, scrolls: int = 25) -> Any:
        """The hook's element, scrolling the page's list down (then up) until
        Flutter puts it in the semantics tree, clear of the app and bottom bars."""
        loc = self.page.locator(sel(identifier)).first
        if identifier in self.FIXED:
            loc.wait_for(state="attached")
            return loc
        for direction in (1, -1):
            for _ in range(scrolls):
                if loc.count():
                    box = loc.bounding_box()
                    if box and self.hittable(loc):
                        return loc
                    if box and 0 <= box["y"] <= 860:  # on screen but covered: nudge
                        self.page.mouse.move(206, 430)
                        self.page.mouse.wheel(0, 120 if box["y"] > 430 else -120)
                        time.sleep(0.25)
                        if self.hittable(loc):
                            return loc
                        continue
                self.page.mouse.move(206, 430)
                self.page.mouse.wheel(0, 500 * direction)
                time.sleep(0.25)
        self.shot(f"zz-missing-{identifier}", 0)
        raise AssertionError(f"hook {identifier!r} never appeared")

    def hittable(self, loc: Any) -> bool:
        """Whether a click at the element's centre reaches it (not a bar above it)."""
        return bool(loc.evaluate("""el => {
            const r = el.getBoundingClientRect();
            if (r.height === 0) return false;
            const x = r.left + r.width / 2, y = r.top + Math.min(r.height / 2, 20);
            if (y < 0 || y > window.innerHeight) return false;
            const hit = document.elementFromPoint(x, y);
            return !!hit && (hit === el || el.contains(hit));
        }"""))

    def click(self, identifier: str) -> None:
        self.find(identifier).click()

    def fill(self, identifier: str, text: str) -> None:
        """Type into a text field; checked, because Flutter may drop an edit that
        arrives while it moves the focus."""
        for _ in range(4):
            loc = self.find(identifier)
            field = loc.locator("input, textarea").first
            target = field if field.count() else loc
            target.click()
            target.fill(text)
            time.sleep(0.3)
            try:
                if target.input_value() == text:
                    return
            except Exception:  # re-found on the next round
                pass
        raise AssertionError(f"could not type into {identifier!r}")

    def text(self, identifier: str) -> str:
        return self.wait(identifier).inner_text()

    def click_text(self, text: str) -> None:
        self.page.get_by_text(text, exact=False).first.click()

    def shot(self, name: str, pause: float = 1.0) -> Path:
        time.sleep(pause)
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def wait_text(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.page.get_by_text(text, exact=False).count():
                return
            time.sleep(0.2)
        raise AssertionError(f"text {text!r} never appeared")

"""What the headless Chromium walks of the editions service share
(editions_walk.py, piste_walk.py): a failed check, the screenshots, what a
page shows or must not show, the log-in form."""
import os
import struct
import sys


def fail(why):
    print(f"FAIL: {why}", file=sys.stderr)
    sys.exit(1)


class Shots:
    """Numbered screenshots in SHOTS_DIR (NN-name.png), with each page's
    HTML beside them in WORK_DIR (NN-name.html). Call it as shot(b, name).
    Each must be a PNG of the window's width, at least the window's height
    (a blank or cut capture fails the walk)."""

    def __init__(self, shots, work):
        self.shots, self.work, self.taken = shots, work, 0

    def __call__(self, b, name, full=False):
        self.taken += 1
        path = os.path.join(self.shots, f"{self.taken:02d}-{name}.png")
        b.screenshot(path, full_page=full)
        with open(path, "rb") as f:
            head = f.read(24)
        if head[:8] != b"\x89PNG\r\n\x1a\n" or len(head) < 24:
            fail(f"{name}: {path} is not a PNG")
        width, height = struct.unpack(">II", head[16:24])
        if width != b.width or height < b.height:
            fail(f"{name}: {path} is {width}x{height}, the window {b.width}x{b.height}")
        with open(os.path.join(self.work, f"{self.taken:02d}-{name}.html"), "w",
                  encoding="utf-8") as f:
            f.write(b.html())
        return path


def has(b, text, where):
    if text not in b.text():
        fail(f"{where}: the page does not show '{text}' ({b.url()})")


def lacks(b, text, where):
    if text in b.text():
        fail(f"{where}: the page shows '{text}' ({b.url()})")


def submit_login(b, who, password, where):
    """Fills and sends the log-in form on the page; fails unless it leads
    to the list of reports."""
    b.fill("#login", who)
    b.fill("#password", password)
    b.click("button[type=submit]")
    if not b.url().endswith("/editions.html"):
        fail(f"{where}: after logging in, {b.url()}")

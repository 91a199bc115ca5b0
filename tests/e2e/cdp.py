#!/usr/bin/env python3
"""Drives headless Chromium over the Chrome DevTools Protocol, with Python's
standard library only (no npm, no pip): what a person does in the browser,
for the end-to-end tests of the editions service.

    with Browser(user_data_dir, log) as b:
        b.goto("http://127.0.0.1:8080/login")
        b.fill("#login", "agent"); b.fill("#password", "secret")
        b.click("button[type=submit]")            # waits for the next page
        b.screenshot("list.png")
        html = b.html()

The WebSocket client is the minimum the protocol needs (RFC 6455: text
frames, masked from the client, fragmented or large frames from Chromium).
"""
import base64
import hashlib
import json
import os
import socket
import struct
import subprocess
import time
import urllib.request

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--remote-debugging-port=0", "--remote-allow-origins=*",
]


class WebSocket:
    def __init__(self, url, timeout=30):
        assert url.startswith("ws://"), url
        hostport, path = url[5:].split("/", 1)
        host, port = hostport.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(f"websocket handshake refused: {head[:200]!r}")
        want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                             .encode()).digest())
        if want not in head:
            raise ConnectionError("websocket handshake: bad Sec-WebSocket-Accept")

    def send(self, text):
        data = text.encode()
        n = len(data)
        if n < 126:
            header = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(header + mask + masked)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            if b1 & 0x80:
                mask = self._read(4)
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read(n)))
            else:
                payload = self._read(n)
            if opcode == 0x8:
                raise ConnectionError("websocket closed by Chromium")
            if opcode == 0x9:  # ping: pong
                continue
            message += payload
            if b0 & 0x80:
                return message.decode()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Browser:
    """One headless Chromium with one tab, a fresh profile in user_data_dir."""

    def __init__(self, user_data_dir, log_path, width=1280, height=900):
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            ["chromium"] + CHROMIUM_FLAGS + [f"--user-data-dir={user_data_dir}",
                                            f"--window-size={width},{height}", "about:blank"],
            stdout=self.log, stderr=self.log)
        port_file = os.path.join(user_data_dir, "DevToolsActivePort")
        deadline = time.time() + 60
        while not (os.path.exists(port_file) and open(port_file).read().count("\n") >= 1):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"chromium did not start (see {log_path})")
            time.sleep(0.05)
        port = int(open(port_file).read().split("\n")[0])
        pages = []
        while not pages:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                pages = [t for t in json.load(r) if t["type"] == "page"]
            if not pages:
                time.sleep(0.05)
        self.ws = WebSocket(pages[0]["webSocketDebuggerUrl"])
        self.next_id = 0
        self.events = []
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        self.width, self.height = width, height

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()

    def call(self, method, params=None, timeout=60):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params or {}}))
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)
        raise TimeoutError(method)

    def wait_event(self, name, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, ev in enumerate(self.events):
                if ev.get("method") == name:
                    del self.events[i]
                    return ev
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(name)

    def _loaded(self, action):
        """Runs action(), then waits until the page it leads to has loaded."""
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        action()
        self.wait_event("Page.loadEventFired")

    def goto(self, url):
        self._loaded(lambda: self.call("Page.navigate", {"url": url}))

    def eval(self, js):
        r = self.call("Runtime.evaluate", {"expression": js, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"{js}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def fill(self, selector, value):
        ok = self.eval(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                       f" if (!e) return false; e.focus(); e.value = {json.dumps(value)};"
                       " e.dispatchEvent(new Event('input', {bubbles: true})); return true; })()")
        if not ok:
            raise LookupError(f"no element {selector} on {self.url()}")

    def click(self, selector):
        """Clicks what leads to another page, and waits for it."""
        def act():
            ok = self.eval(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                           " if (!e) return false; e.click(); return true; })()")
            if not ok:
                raise LookupError(f"no element {selector} on {self.url()}")
        self._loaded(act)

    def click_link(self, text):
        """Clicks the first link whose text contains text, and waits."""
        def act():
            ok = self.eval("(() => { const a = [...document.querySelectorAll('a')].find("
                           f"a => a.textContent.includes({json.dumps(text)})); if (!a) return false;"
                           " a.click(); return true; })()")
            if not ok:
                raise LookupError(f"no link '{text}' on {self.url()}")
        self._loaded(act)

    def url(self):
        return self.eval("location.href")

    def text(self):
        return self.eval("document.body.innerText")

    def html(self):
        return self.eval("document.documentElement.outerHTML")

    def screenshot(self, path, full_page=False, max_height=4000):
        params = {"format": "png"}
        if full_page:
            h = min(int(self.eval("document.documentElement.scrollHeight")), max_height)
            params["clip"] = {"x": 0, "y": 0, "width": self.width, "height": h, "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

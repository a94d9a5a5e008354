#!/usr/bin/env python3
"""Headless check of the admin page, standard library only: drives Chromium over the DevTools
protocol (a minimal WebSocket client below), signs in with the admin token like a user, switches a
provider off, checks plugins.json changed, and saves a full-page screenshot.

usage: admin_check.py BASE_URL ADMIN_TOKEN PLUGINS_JSON PROVIDER SCREENSHOT.png
"""
import base64, json, os, shutil, socket, struct, subprocess, sys, tempfile, time, urllib.parse, urllib.request


def fail(message):
    print(f"admin-check: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


class DevTools:
    """One page target over a WebSocket: `call` sends a command and returns its result; events are kept."""

    def __init__(self, url):
        parts = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                fail("DevTools closed the WebSocket handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            fail(f"DevTools refused the WebSocket: {head[:200]!r}")
        self.next_id = 0
        self.events = []

    def _read(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                fail("DevTools closed the connection")
            data += chunk
        return data

    def _send(self, text):
        payload = text.encode()
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _receive(self):
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                fail("DevTools closed the WebSocket")
            if opcode in (0x1, 0x0):
                message += payload
                if first & 0x80:
                    return json.loads(message)

    def call(self, method, **params):
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = self._receive()
            if message.get("id") == self.next_id:
                if "error" in message:
                    fail(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            fail(f"script error in {expression[:80]!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, what, expression, seconds=20):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.evaluate(expression):
                return
            time.sleep(0.1)
        fail(f"timed out waiting for {what}")


def main():
    base, token, plugins_path, provider, screenshot = sys.argv[1:6]
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or fail("chromium is not installed")
    profile = tempfile.mkdtemp(prefix="admin-check-")
    chrome = subprocess.Popen([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                               "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1280,900", "about:blank"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            if time.time() > deadline or chrome.poll() is not None:
                fail("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = open(port_file).read().split()[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next((t for t in targets if t.get("type") == "page"), None) or fail("no page target")
        tools = DevTools(page["webSocketDebuggerUrl"])
        tools.call("Runtime.enable")
        tools.call("Log.enable")
        tools.call("Page.enable")
        tools.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
        tools.call("Page.navigate", url=base + "/admin")
        tools.wait_for("the sign-in form", "document.readyState === 'complete' && !!document.getElementById('login-form')")

        # Sign in as a user would: type the token and submit.
        tools.evaluate(f"document.getElementById('token').value = {json.dumps(token)}; document.getElementById('login-form').requestSubmit(); true")
        selector = f"input[data-provider={json.dumps(provider)}]"
        tools.wait_for("the providers table", f"document.body.dataset.ready === 'true' && !!document.querySelector({json.dumps(selector)})")
        if not tools.evaluate(f"document.querySelector({json.dumps(selector)}).checked"):
            fail(f"{provider} is not shown as enabled")

        before = open(plugins_path).read()
        tools.evaluate(f"document.querySelector({json.dumps(selector)}).click(); true")
        deadline = time.time() + 15
        while time.time() < deadline:
            document = json.load(open(plugins_path))
            if document["providers"].get(provider, {}).get("enabled") is False:
                break
            time.sleep(0.1)
        else:
            fail(f"plugins.json still enables {provider} after the switch was turned off")
        if open(plugins_path).read() == before:
            fail("plugins.json did not change")
        tools.wait_for(f"{provider} shown as disabled",
                       f"(() => {{ const box = document.querySelector({json.dumps(selector)}); return box && !box.checked && "
                       f"box.closest('tr').textContent.includes('disabled'); }})()")
        tools.wait_for("the audit row of the switch", "document.getElementById('audit').textContent.includes('provider_toggled')")

        problems = [e for e in tools.events if e.get("method") == "Runtime.exceptionThrown"
                    or (e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") == "error"
                        and e["params"]["entry"].get("source") != "network")]  # 404s of routes not on this hub are expected.
        if problems:
            fail(f"the page logged errors (CSP violations or exceptions): {json.dumps(problems)[:800]}")

        height = tools.evaluate("Math.ceil(document.documentElement.scrollHeight)")
        tools.call("Emulation.setDeviceMetricsOverride", width=1280, height=height, deviceScaleFactor=1, mobile=False)
        shot = tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        with open(screenshot, "wb") as file:
            file.write(base64.b64decode(shot["data"]))
        print(f"admin-check: signed in, switched {provider} off (plugins.json changed), no page errors; screenshot {screenshot}")
    finally:
        chrome.terminate()
        try:
            chrome.wait(10)
        except subprocess.TimeoutExpired:
            chrome.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()

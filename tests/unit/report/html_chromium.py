#!/usr/bin/env python3
"""The HTML report in a real headless Chromium (Debian's chromium package):

- the page makes NO request but its own: Chromium runs with a proxy on
  loopback (this script) that every request of the browser goes through,
  loopback included (--proxy-bypass-list=<-loopback>), and the only request
  allowed is the page itself. Two controls prove the harness: a page with a
  remote image must show up at the proxy, and the same image slipped into
  the report (as an escaping bug would) must be stopped by its
  Content-Security-Policy;
- the DOM after load holds the targets and the defanged indicators, and no
  element the documents tried to inject (script, img, iframe);
- a full-page screenshot is written to the build tree
  (report-html-*.png) for people to look at; its PNG header is checked.

usage: html_chromium.py REPORT_TOOL FIXTURES_DIR OUT_DIR
Needs chromium (scripts/install-deps.sh); runs as root with --no-sandbox.
"""

import http.server
import os
import re
import shutil
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import unittest

TOOL, FIXTURES, OUT = sys.argv[1:4] if len(sys.argv) >= 4 else (None, None, None)


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Recorder(http.server.BaseHTTPRequestHandler):
    """Origin and proxy at once: serves /report.html, records everything."""

    pages = {}
    seen = []
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def record(self):
        with self.lock:
            self.seen.append(f"{self.command} {self.path}")

    def do_GET(self):
        self.record()
        path = self.path
        if path.startswith("http://"):  # absolute form: through the proxy
            path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
        body = self.pages.get(path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_HEAD = do_GET

    def do_CONNECT(self):  # https: recorded, never tunnelled
        self.record()
        self.send_response(403)
        self.end_headers()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


# Chromium's own background traffic (component updates, network time,
# sign-in), which the flags above reduce but do not stop in every version.
# None of the documents names these hosts, so nothing the page asks for can
# hide among them; every other host counts.
BROWSER_SERVICES = (".google.com", ".googleapis.com", ".gstatic.com", ".gvt1.com")


def browser_service(request):
    target = request.split(" ", 1)[1]
    host = target.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return any(("." + host).endswith(d) for d in BROWSER_SERVICES)


def report(fmt, fixture, *opts):
    return subprocess.run([TOOL, fmt, os.path.join(FIXTURES, fixture), *opts],
                          capture_output=True, check=True, timeout=60).stdout


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


class Chromium(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.chrome = chromium_binary()
        if not cls.chrome:
            raise unittest.SkipTest("chromium is not installed (scripts/install-deps.sh)")
        cls.server = Server(("127.0.0.1", 0), Recorder)
        cls.port = cls.server.server_address[1]
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.tmp = tempfile.mkdtemp(prefix="vigil-chromium-")

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def browse(self, name, html, *mode):
        """Loads `html` as http://127.0.0.1:PORT/<name>; returns (stdout,
        requests the browser made)."""
        Recorder.pages = {f"/{name}": html}
        with Recorder.lock:
            Recorder.seen.clear()
        profile = tempfile.mkdtemp(dir=self.tmp)
        args = [self.chrome, "--headless", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps",
                "--disable-extensions", "--disable-client-side-phishing-detection",
                "--disable-domain-reliability", "--disable-breakpad", "--no-service-autorun",
                "--disable-features=OptimizationHints,MediaRouter,Translate,"
                "AutofillServerCommunication,CertificateTransparencyComponentUpdater,"
                "NetworkTimeServiceQuerying",
                "--metrics-recording-only", "--no-pings", f"--user-data-dir={profile}",
                f"--proxy-server=http://127.0.0.1:{self.port}", "--proxy-bypass-list=<-loopback>",
                "--hide-scrollbars", *mode, f"http://127.0.0.1:{self.port}/{name}"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses root without it
        r = subprocess.run(args, capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace")[-2000:])
        with Recorder.lock:
            seen = list(Recorder.seen)
        own = f"GET http://127.0.0.1:{self.port}/{name}"
        others = [s for s in seen if s != own and not browser_service(s)]
        return r.stdout.decode("utf-8", errors="replace"), others, [s for s in seen if s == own]

    def test_control_a_remote_image_is_seen_by_the_harness(self):
        page = b"<!DOCTYPE html><title>x</title><img src=\"http://tracker.invalid/pixel.gif\">"
        _, others, _ = self.browse("control.html", page, "--dump-dom")
        self.assertTrue(any("tracker.invalid/pixel.gif" in s for s in others), others)

    def test_control_the_policy_stops_an_injected_image(self):
        html = report("html", "campaign-recon.json")
        bug = html.replace(b"<h3>Targets</h3>",
                           b"<h3>Targets</h3><img src=\"http://tracker.invalid/pixel.gif\">"
                           b"<div style=\"background:url(http://tracker.invalid/bg.gif)\">x</div>",
                           1)
        self.assertNotEqual(bug, html)
        _, others, _ = self.browse("bug.html", bug, "--dump-dom")
        self.assertEqual(others, [])
        # ...and it is the policy that stops it: without the meta tag the
        # same page asks for the image.
        no_csp = re.sub(rb'<meta http-equiv="Content-Security-Policy"[^>]*>', b"", bug)
        self.assertNotEqual(no_csp, bug)
        _, others, _ = self.browse("nocsp.html", no_csp, "--dump-dom")
        self.assertTrue(any("tracker.invalid/pixel.gif" in s for s in others), others)

    def check_page(self, fixture, name, height, must_show, *opts):
        html = report("html", fixture, *opts)
        dom, others, seen = self.browse(name, html, "--dump-dom")
        self.assertEqual(others, [], "the report made requests")
        self.assertEqual(len(seen), 1, seen)
        low = dom.lower()
        self.assertIn("<svg", low)
        for tag in ("<script", "<img", "<iframe", "<object", "<embed"):
            self.assertNotIn(tag, low)
        for text in must_show:
            self.assertIn(text, dom)
        shot = os.path.join(OUT, f"report-html-{name}.png")
        if os.path.exists(shot):
            os.remove(shot)
        _, others, _ = self.browse(name, html, f"--screenshot={shot}",
                                   f"--window-size=1280,{height}")
        self.assertEqual(others, [])
        w, h = png_size(shot)
        self.assertEqual((w, h), (1280, height))
        self.assertGreater(os.path.getsize(shot), 20000)  # a page, not a blank

    def test_recon_report_renders_offline_with_targets_and_indicators(self):
        self.check_page("campaign-recon.json", "recon", 3300, [
            "marie.martin32@parliament.example", "Inès Laurent", "tom.david@parliament.example",
            "img[.]news-cdn-analytics[.]com",
            "hxxp://img[.]news-cdn-analytics[.]com/open/{token}.gif",
            "redaction[@]lemonde-info[.]fr", "203[.]0[.]113[.]7", "Madame la Députée",
            "TLP:AMBER", "Timeline", "Messages received"])

    def test_hostile_report_shows_attacks_as_text(self):
        self.check_page("campaign-hostile.json", "hostile", 2600, [
            "&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;",
            "&lt;iframe src=\"hxxp://evil.example/\"&gt;&lt;/iframe&gt;",
            "a@victim.example", "t[.]evil[.]example", "[U+202E]", "TLP:RED"],
            "--tlp", "red")


if __name__ == "__main__":
    if not TOOL:
        sys.exit(__doc__)
    os.makedirs(OUT, exist_ok=True)
    if not chromium_binary() and os.environ.get("CI") == "true":
        sys.exit("html_chromium: chromium is missing and CI=true: install it "
                 "(scripts/install-deps.sh)")
    result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    if result.skipped and not (result.failures or result.errors):
        sys.exit(77)
    sys.exit(0 if result.wasSuccessful() else 1)

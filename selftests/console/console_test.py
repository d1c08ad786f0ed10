#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The web console in a real browser: Debian's headless Chromium, driven over
WebDriver (chromium-driver), against a real meshnetd with three nodes whose
benchmarks the real meshnet-agent submitted. Signs in with the admin token,
checks what the page shows (verdicts, reasons, the score plot against the
threshold, the quarantine timeline, the epoch and audit head), pins a node
after the in-page confirmation (and not after a cancel), follows a verdict
change live, refuses a wrong token, and checks the strict CSP. Screenshots go
to BUILD/console/. Prints kselftest TAP.

Usage: console_test.py BUILD
"""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
SHOTS = os.path.join(BUILD, "console")
results = []


def tap(ok, name, why=""):
    results.append(ok)
    print(("ok %d %s" if ok else "not ok %d %s") % (len(results), name), flush=True)
    if not ok and why:
        for line in str(why).splitlines()[:20]:
            print("#   " + line, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else body.encode(),
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def wait_for(fn, timeout=30.0, step=0.25):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # the page may be mid-render
            last = e
        time.sleep(step)
    return None


class WebDriver:
    def __init__(self, port, profile):
        self.base = "http://127.0.0.1:%d" % port
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": shutil.which("chromium") or "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                         "--window-size=1280,900", "--user-data-dir=" + profile]}}}}
        v = self.cmd("POST", "/session", caps)
        self.sid = v["sessionId"]

    def cmd(self, method, path, body=None):
        st, _, text = http(method, self.base + path, None if body is None else json.dumps(body),
                           {"Content-Type": "application/json"})
        v = json.loads(text)["value"]
        if st != 200:
            raise RuntimeError("webdriver %s %s: %s" % (method, path, v))
        return v

    def s(self, method, path, body=None):
        return self.cmd(method, "/session/%s%s" % (self.sid, path), body)

    def go(self, url):
        self.s("POST", "/url", {"url": url})

    def find(self, css):
        v = self.s("POST", "/element", {"using": "css selector", "value": css})
        return list(v.values())[0]

    def finds(self, css):
        return [list(e.values())[0] for e in
                self.s("POST", "/elements", {"using": "css selector", "value": css})]

    def click(self, css):
        self.s("POST", "/element/%s/click" % self.find(css), {})

    def type(self, css, text):
        e = self.find(css)
        self.s("POST", "/element/%s/clear" % e, {})
        self.s("POST", "/element/%s/value" % e, {"text": text})

    def text(self, css):
        return self.s("GET", "/element/%s/text" % self.find(css))

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def shot(self, name):
        png = base64.b64decode(self.s("GET", "/screenshot"))
        path = os.path.join(SHOTS, name)
        with open(path, "wb") as f:
            f.write(png)
        return path, len(png)

    def quit(self):
        try:
            self.cmd("DELETE", "/session/" + self.sid)
        except Exception:
            pass


def main():
    print("TAP version 13", flush=True)
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        print("1..1\nok 1 console in Chromium # SKIP chromium or chromium-driver not installed")
        print("# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0")
        return 0
    os.makedirs(SHOTS, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="meshnet-console.")
    procs = []
    try:
        port = free_port()
        url = "http://127.0.0.1:%d" % port
        token = os.urandom(32).hex()
        with open(os.path.join(tmp, "token"), "w") as f:
            f.write(token + "\n")
        os.chmod(os.path.join(tmp, "token"), 0o600)
        agent = os.path.join(BUILD, "meshnet-agent")
        recs = []
        for n in ("node-a", "node-b", "node-c"):
            out = subprocess.run([agent, "keygen", "--node-id", n, "--state-dir", os.path.join(tmp, n),
                                  "--overlay-ips", "10.10.0.%d/32" % (len(recs) + 2)],
                                 capture_output=True, text=True, check=True).stdout
            recs.append(json.loads(out))
        with open(os.path.join(tmp, "nodes.json"), "w") as f:
            json.dump({"nodes": recs}, f)
        log = open(os.path.join(tmp, "meshnetd.log"), "w")
        procs.append(subprocess.Popen(
            [os.path.join(BUILD, "meshnetd"), "--listen", "127.0.0.1:%d" % port,
             "--state-dir", os.path.join(tmp, "state"), "--nodes-file", os.path.join(tmp, "nodes.json"),
             "--admin-token-file", os.path.join(tmp, "token"), "--allow-demo-scores", "1",
             "--deny-rotate-interval", "0"], stdout=log, stderr=log))
        wait_for(lambda: http("GET", url + "/health")[0] == 200, 20)

        def submit(node, score):
            return subprocess.run([agent, "bench", "--submit", "--node-id", node, "--controller", url,
                                   "--plain-http", "--state-dir", os.path.join(tmp, node), "--demo-scores",
                                   "--score-mean", str(score), "--score-jitter", "0"],
                                  capture_output=True, text=True).returncode == 0
        auth = {"Authorization": "Bearer " + token}

        def signed_ack(node):
            """POST /v1/ack/NODE at the head revision, signed with the node's own key (as its agent does)."""
            seed = base64.b64decode(open(os.path.join(tmp, node, "ed25519.key")).read().strip())
            der = bytes.fromhex("302e020100300506032b657004220420") + seed
            pem = os.path.join(tmp, node + ".pem")
            with open(pem, "w") as f:
                f.write("-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n" %
                        base64.b64encode(der).decode())
            os.chmod(pem, 0o600)
            head = json.loads(http("GET", url + "/health")[2])["revision"]
            path = "/v1/ack/" + node
            body = json.dumps({"node_id": node, "revision": head, "epoch": 1, "table_digest": "0" * 64,
                               "applied_unix": int(time.time()), "agent_version": "meshnet-agent console-test"})
            ts, nonce = str(int(time.time())), os.urandom(16).hex()
            import hashlib
            msg = "meshnet-v2\nmeshnet\nPOST\n%s\n%s\n%s\n%s\n" % (path, ts, nonce,
                                                                hashlib.sha256(body.encode()).hexdigest())
            with open(os.path.join(tmp, "ack.msg"), "w") as f:
                f.write(msg)
            sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", pem, "-in",
                                  os.path.join(tmp, "ack.msg")], capture_output=True, check=True).stdout
            st, _, reply = http("POST", url + path, body, {"Content-Type": "application/json",
                                "X-Meshnet-Node": node, "X-Meshnet-Timestamp": ts, "X-Meshnet-Nonce": nonce,
                                "X-Meshnet-Signature": base64.b64encode(sig).decode()})
            return st == 200, reply

        def verdicts():
            st, _, body = http("GET", url + "/v1/admin/nodes", headers=auth)
            return {n["node_id"]: n["verdict"] for n in json.loads(body)["nodes"]} if st == 200 else {}
        ok = all([submit("node-a", 0.91), submit("node-b", 0.85), submit("node-c", 0.80)])
        # admission comes with the next epoch: ask for it, wait for all three
        http("POST", url + "/v1/rotate", "", auth)
        admitted = wait_for(lambda: set(verdicts().values()) == {"ALLOWED"}, 60)
        ok = ok and bool(admitted) and submit("node-c", 0.75) and submit("node-c", 0.30)
        tap(ok and verdicts().get("node-c") == "DENIED",
            "three nodes benchmarked by the real agent, admitted; node-c falls to 0.30", verdicts())

        st, hdr, body = http("GET", url + "/console")
        csp = hdr.get("Content-Security-Policy", "")
        tap(st == 200 and "script-src 'self'" in csp and "default-src 'none'" in csp and
            "frame-ancestors 'none'" in csp, "GET /console: 200 with a strict CSP", csp)
        tap("http://" not in body.replace("http://www.w3.org", "") and "https://" not in body and
            "<script>" not in body and " on" + "click" not in body,
            "the page loads no external asset and has no inline script")
        st, hdr, js = http("GET", url + "/console/app.js")
        tap(st == 200 and hdr.get("Content-Type", "").startswith("text/javascript") and
            "innerHTML" not in js, "app.js served as JavaScript, renders without innerHTML")
        st, _, body = http("GET", url + "/v1/admin/nodes")
        tap(st == 401, "the data needs the admin token (401 without it)", body)

        dport = free_port()
        procs.append(subprocess.Popen(["chromedriver", "--port=%d" % dport],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(lambda: http("GET", "http://127.0.0.1:%d/status" % dport)[0] == 200, 30)
        wd = WebDriver(dport, os.path.join(tmp, "profile"))
        try:
            wd.go(url + "/console")
            wd.type("#token", "0" * 64)
            wd.click("#login-button")
            err = wait_for(lambda: wd.text("#login-error"), 20)
            tap(bool(err) and "unauthorized" in err, "a wrong token is refused on the page", err)
            tap(wd.js("return document.getElementById('app').hidden;") is True,
                "nothing of the mesh is shown with a wrong token")
            p, size = wd.shot("console-login-refused.png")
            tap(size > 1000, "screenshot %s" % p)

            wd.type("#token", token)
            wd.click("#login-button")
            rows = wait_for(lambda: len(wd.finds("#nodes tbody tr")) == 3, 30)
            tap(bool(rows), "signed in: three node rows")
            row_c = wd.js("const r=[...document.querySelectorAll('#nodes tbody tr')]"
                          ".find(r=>r.dataset.node==='node-c'); return r ? r.innerText : '';")
            tap("DENIED" in row_c and "threshold" in row_c and "0.30" in row_c and "yes" in row_c,
                "node-c: DENIED, its reason, its scores, marked demo", row_c)
            tap("ALLOWED" in wd.js("return document.querySelector('#nodes tbody tr').innerText;"),
                "node-a: ALLOWED")
            summary = wait_for(lambda: "2 allowed, 1 denied" in wd.text("#summary") and wd.text("#summary"), 10)
            tap(bool(summary), "header: 2 allowed, 1 denied", wd.text("#summary"))
            epoch = wd.text("#epoch")
            tap("audit head" in epoch and "sha256:" in epoch, "epoch and audit checkpoint shown", epoch)
            tl = wait_for(lambda: "node-c" in wd.text("#timeline") and "DENIED" in wd.text("#timeline")
                          and wd.text("#timeline"), 10)
            tap(bool(tl), "quarantine timeline: node-c DENIED", tl)
            p, size = wd.shot("console-nodes.png")
            tap(size > 5000, "screenshot %s" % p)

            # which peers confirmed node-c's quarantine: from their acks (POST /v1/ack)
            def conf_c():
                return wd.js("const l=[...document.querySelectorAll('#confirmations li')]"
                             ".find(l=>l.dataset.node==='node-c'); return l ? l.innerText : '';")
            first = wait_for(lambda: "quarantined at revision" in conf_c() and conf_c(), 15)
            tap(bool(first) and "0 of 2 peers confirmed" in first and "waiting for: node-a, node-b" in first,
                "node-c's quarantine: 0 of 2 peers confirmed, waiting for node-a and node-b", first)
            ok_a, why = signed_ack("node-a")
            tap(ok_a, "node-a acknowledges the head revision (signed ack)", why)
            one = wait_for(lambda: "1 of 2 peers confirmed" in conf_c() and conf_c(), 30)
            tap(bool(one) and "confirmed by: node-a; waiting for: node-b" in one,
                "live: 1 of 2, confirmed by node-a, waiting for node-b", conf_c())
            ok_b, why = signed_ack("node-b")
            both = wait_for(lambda: "2 of 2 peers confirmed" in conf_c() and conf_c(), 30)
            tap(ok_b and bool(both) and "confirmed by: node-a, node-b" in both and "all within" in both,
                "live: 2 of 2, confirmed by node-a and node-b", conf_c())
            applied = wd.js("const r=[...document.querySelectorAll('#nodes tbody tr')]"
                            ".find(r=>r.dataset.node==='node-a'); return r ? r.innerText : '';")
            tap("rev " in applied and "meshnet-agent console-test" in applied,
                "node-a's row: applied revision and agent version", applied)
            tap("TABLE DRIFT" in applied, "its all-zero table digest is shown as a drift", applied)
            p, size = wd.shot("console-confirmations.png")
            tap(size > 5000, "screenshot %s" % p)

            wd.js("[...document.querySelectorAll('#nodes tbody tr')].find(r=>r.dataset.node==='node-c').click();")
            pts = wait_for(lambda: len(wd.finds("#plot circle.sample")) == 3, 20)
            tap(bool(pts), "node-c's plot: its 3 benchmarks")
            colours = wd.js("return [...document.querySelectorAll('#plot circle.sample')].map(c=>c.getAttribute('fill'));")
            tap(colours == ["#11722f", "#11722f", "#b3261e"], "above the threshold green, below red", colours)
            tap(len(wd.finds("#threshold-line")) == 1 and "0.70" in wd.text("#plot"),
                "the threshold line (0.70)")
            why = wait_for(lambda: "Decided by rule" in wd.text("#detail-why") and wd.text("#detail-why"), 10)
            tap(bool(why) and "rule v1-threshold (built-in v1 threshold rule): score 0.30 < threshold 0.70" in why,
                "node-c's detail: the rule that decided and why", why)
            tap(bool(why) and "self / benchmark: overall 0.30" in why and "Attestations used (1)" in why,
                "... the report it rests on (evaluator, suite, scores, age)", why)
            tap(bool(why) and "Missing (1)" in why and
                wd.js("return document.querySelectorAll('#detail-why ul.why-missing li').length;") == 1,
                "... and what is missing, one item", why)
            p, size = wd.shot("console-node-c.png")
            tap(size > 5000, "screenshot %s" % p)

            def btn(node, cls):
                wd.js("[...document.querySelectorAll('#nodes tbody tr')].find(r=>r.dataset.node===arguments[0])"
                      ".querySelector('button.' + arguments[1]).click();", node, cls)
            btn("node-c", "pin-allow")
            tap(wd.js("return !document.getElementById('confirm').hidden;") and
                "Pin node-c ALLOWED" in wd.text("#confirm-text"), "pin asks for confirmation first")
            wd.click("#confirm-no")
            time.sleep(1)
            st, _, body = http("GET", url + "/v1/admin/nodes/node-c", headers={"Authorization": "Bearer " + token})
            tap('"pin":null' in body and '"verdict":"DENIED"' in body, "cancel: nothing changed", body[:300])
            btn("node-c", "pin-allow")
            wd.click("#confirm-yes")
            pinned = wait_for(lambda: "ALLOWED" in wd.js(
                "const r=[...document.querySelectorAll('#nodes tbody tr')].find(r=>r.dataset.node==='node-c');"
                "return r ? r.innerText : '';"), 20)
            st, _, body = http("GET", url + "/v1/admin/nodes/node-c", headers={"Authorization": "Bearer " + token})
            tap(bool(pinned) and '"pin":"ALLOWED"' in body, "confirmed: node-c pinned ALLOWED (page and API)",
                body[:300])
            p, size = wd.shot("console-pinned.png")
            tap(size > 5000, "screenshot %s" % p)

            # live updates: the page holds a long-poll on /v1/admin/changes
            tap(wd.text("#live") == "live (long-poll)", "the page says it is live (long-poll)", wd.text("#live"))

            def waiters():
                m = http("GET", url + "/metrics")[2]
                line = [l for l in m.splitlines() if l.startswith("meshnet_longpoll_waiters ")]
                return int(line[0].split()[1]) if line else 0
            tap(bool(wait_for(lambda: waiters() >= 1, 10)),
                "meshnetd holds the console's long-poll (meshnet_longpoll_waiters >= 1)", waiters())
            st, _, body = http("GET", url + "/v1/admin/changes?after=0&wait=-1", headers=auth)
            tap(st == 400 and '"bad_request"' in body, "changes: wait=-1 refused (400)", body)
            st, _, body = http("GET", url + "/v1/admin/changes?after=x", headers=auth)
            tap(st == 400 and '"bad_request"' in body, "changes: after=x refused (400)", body)
            st, _, body = http("GET", url + "/v1/admin/changes")
            tap(st == 401, "changes: the admin token is needed (401)", body)
            st, _, body = http("GET", url + "/v1/admin/changes", headers=auth)
            head = json.loads(body)["revision"] if st == 200 else -1
            t0 = time.time()
            st, _, body = http("GET", url + "/v1/admin/changes?after=%d&wait=2" % head, headers=auth)
            tap(st == 200 and json.loads(body)["changed"] is False and time.time() - t0 >= 1.5,
                "changes: nothing new is held for wait= seconds, then changed:false", body)
            submit("node-b", 0.20)
            live = wait_for(lambda: "DENIED" in wd.js(
                "const r=[...document.querySelectorAll('#nodes tbody tr')].find(r=>r.dataset.node==='node-b');"
                "return r ? r.innerText : '';"), 20)
            tap(bool(live), "live: node-b's new benchmark shows it DENIED without a reload")
            st, _, body = http("GET", url + "/v1/admin/changes", headers=auth)
            now_rev = json.loads(body)["revision"] if st == 200 else -1
            shown = wait_for(lambda: ("revision %d," % now_rev) in wd.text("#updated") and wd.text("#updated"), 10)
            tap(now_rev > head and bool(shown), "the page shows the new head revision (%d > %d)" % (now_rev, head),
                wd.text("#updated"))
            tap(wd.js("return document.querySelectorAll('script:not([src])').length;") == 0,
                "no inline script in the live page")
            p, size = wd.shot("console-live.png")
            tap(size > 5000, "screenshot %s" % p)
        finally:
            wd.quit()
    except Exception as e:
        tap(False, "console test ran to its end", repr(e))
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(results)
    print("1..%d" % len(results))
    print("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0" % (passed, len(results) - passed))
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())

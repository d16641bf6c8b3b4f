//! A real headless Chromium driven over WebDriver (Debian's chromium and chromedriver): one
//! browser a person, with its own profile, talking to nodes on loopback only. Screenshots go to
//! the test artefacts folder.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where screenshots are kept: `$TOCSIN_ARTEFACTS`, else `screenshots/` in the target folder.
pub fn artefacts() -> PathBuf {
    let dir =
        std::env::var_os("TOCSIN_ARTEFACTS").map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots"), PathBuf::from);
    std::fs::create_dir_all(&dir).expect("artefacts folder");
    dir
}

/// chromedriver on a loopback port, and what it drives.
pub struct Driver {
    child: Child,
    base: String,
    _profiles: tempfile::TempDir,
}

impl Driver {
    pub fn start() -> Driver {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().expect("addr").port()
        };
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts (Debian package chromium-driver; scripts/test installs it)");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not answer within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, base, _profiles: tempfile::tempdir().expect("profiles") }
    }

    /// A new browser window with its own profile (its own cookies): one person.
    pub fn browser(&self, name: &str) -> Browser {
        let profile = self._profiles.path().join(name);
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-quic", "--disable-features=Translate,OptimizationHints,MediaRouter",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let answer = post(&format!("{}/session", self.base), &capabilities);
        let session = answer["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no browser session: {answer}")).to_owned();
        Browser { base: format!("{}/session/{session}", self.base), name: name.to_owned() }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn post(url: &str, body: &Value) -> Value {
    let answer = ureq::post(url).config().http_status_as_error(false).build().send_json(body).expect("WebDriver answers");
    answer.into_body().read_json().expect("WebDriver JSON")
}

fn get(url: &str) -> Value {
    let answer = ureq::get(url).config().http_status_as_error(false).build().call().expect("WebDriver answers");
    answer.into_body().read_json().expect("WebDriver JSON")
}

/// One person's browser window.
pub struct Browser {
    base: String,
    name: String,
}

impl Browser {
    fn command(&self, path: &str, body: Value) -> Value {
        let answer = post(&format!("{}{path}", self.base), &body);
        if answer["value"].get("error").is_some() {
            panic!("{}: WebDriver {path} {body}: {}\n--- page ---\n{}", self.name, answer["value"], self.source());
        }
        answer["value"].clone()
    }

    pub fn open(&self, url: &str) {
        self.command("/url", json!({ "url": url }));
    }

    pub fn source(&self) -> String {
        get(&format!("{}/source", self.base))["value"].as_str().unwrap_or("").to_owned()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and gives its result.
    pub fn eval(&self, script: &str, args: Value) -> Value {
        self.command("/execute/sync", json!({ "script": script, "args": args }))
    }

    fn find(&self, css: &str) -> String {
        let value = self.command("/element", json!({ "using": "css selector", "value": css }));
        value[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no element {css}: {value}\n--- page ---\n{}", self.name, self.source()))
            .to_owned()
    }

    pub fn has(&self, css: &str) -> bool {
        self.eval("return document.querySelector(arguments[0]) !== null;", json!([css])) == json!(true)
    }

    pub fn count(&self, css: &str) -> usize {
        self.eval("return document.querySelectorAll(arguments[0]).length;", json!([css])).as_u64().unwrap_or(0) as usize
    }

    pub fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.command_get(&format!("/element/{id}/text"))
    }

    fn command_get(&self, path: &str) -> String {
        get(&format!("{}{path}", self.base))["value"].as_str().unwrap_or("").to_owned()
    }

    /// Types into a field, as a person would (after clearing it).
    pub fn fill(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.command(&format!("/element/{id}/clear"), json!({}));
        self.command(&format!("/element/{id}/value"), json!({ "text": text }));
    }

    /// Clicks an element with the pointer.
    pub fn click(&self, css: &str) {
        let id = self.find(css);
        self.command(&format!("/element/{id}/click"), json!({}));
    }

    /// Presses Enter on an element (a button reached from the keyboard).
    pub fn press_enter(&self, css: &str) {
        let id = self.find(css);
        self.command(&format!("/element/{id}/value"), json!({ "text": "\u{E007}" }));
    }

    /// What would keep a person using a screen reader or the keyboard out: form controls
    /// without a label, images without a text alternative, a page without a language, a form
    /// control that cannot take focus.
    pub fn accessibility_problems(&self) -> Vec<String> {
        let found = self.eval(
            "const out = []; \
             if (!document.documentElement.lang) out.push('no lang on <html>'); \
             for (const c of document.querySelectorAll('input:not([type=hidden]), select, textarea')) { \
               if (c.labels.length === 0 && !c.getAttribute('aria-label')) out.push('unlabelled ' + c.outerHTML.slice(0, 80)); \
               if (c.tabIndex < 0) out.push('not focusable ' + c.outerHTML.slice(0, 80)); } \
             for (const i of document.querySelectorAll('img')) if (!i.hasAttribute('alt')) out.push('no alt ' + i.outerHTML.slice(0, 80)); \
             for (const b of document.querySelectorAll('button')) if (!b.textContent.trim()) out.push('empty button'); \
             if (!document.querySelector('h1')) out.push('no h1'); \
             return out;",
            json!([]),
        );
        found.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
    }

    /// Picks the `<option>` of a `<select>` with this value.
    pub fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]"));
    }

    /// Waits (at most 30 s) until `script` returns true, reloading the page between tries when
    /// `reload` is set.
    pub fn wait_until(&self, what: &str, script: &str, reload: bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.eval(script, json!([])) == json!(true) {
                return;
            }
            assert!(Instant::now() < deadline, "{}: not within 30 s: {what}\n--- page ---\n{}", self.name, self.source());
            std::thread::sleep(Duration::from_millis(250));
            if reload {
                self.command("/refresh", json!({}));
            }
        }
    }

    /// Saves a screenshot of the whole page (beyond the window) as `NAME.png` in the artefacts
    /// folder.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let metrics = self.command("/goog/cdp/execute", json!({ "cmd": "Page.getLayoutMetrics", "params": {} }));
        let size = &metrics["cssContentSize"];
        let (width, height) = (size["width"].as_f64().unwrap_or(1280.0), size["height"].as_f64().unwrap_or(1000.0).min(8000.0));
        let shot = self.command(
            "/goog/cdp/execute",
            json!({ "cmd": "Page.captureScreenshot", "params": {
                "format": "png", "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 },
            }}),
        );
        let png = shot["data"].as_str().expect("a screenshot");
        let urlsafe: String = png
            .trim_end_matches('=')
            .chars()
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                c => c,
            })
            .collect();
        let bytes = tocsin_wire::base64url_decode(&urlsafe).expect("a base64 PNG");
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        let path = artefacts().join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("screenshot written");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&self.base).call();
    }
}

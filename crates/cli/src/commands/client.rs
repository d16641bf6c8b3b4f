//! How node-management commands reach a running node: `--server URL --token T` (or
//! `TOCSIN_SERVER` / `TOCSIN_TOKEN`), JSON in and out, and a node's problem answers turned into
//! one readable error.

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Sends one request to the node at `server` (with `token`, if given), and returns the status
/// and text of a successful answer; a problem answer becomes one error line: the method and
/// path, the status, the problem's title and detail.
fn request(server: &str, token: Option<&str>, method: &str, path: &str, body: Option<serde_json::Value>) -> anyhow::Result<(u16, String)> {
    let url = format!("{}{path}", server.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut response = match (method, body) {
        ("GET", _) => with_auth(agent.get(&url), auth.as_deref()).call(),
        ("DELETE", _) => with_auth(agent.delete(&url), auth.as_deref()).call(),
        ("PUT", Some(body)) => with_auth(agent.put(&url), auth.as_deref()).send_json(body),
        (_, Some(body)) => with_auth(agent.post(&url), auth.as_deref()).send_json(body),
        (_, None) => with_auth(agent.post(&url), auth.as_deref()).send_empty(),
    }
    .with_context(|| format!("{method} {url}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().with_context(|| format!("{method} {url}: reading the answer"))?;
    if status >= 400 {
        return Err(failure(method, path, status, text));
    }
    Ok((status, text))
}

fn with_auth<B>(request: ureq::RequestBuilder<B>, auth: Option<&str>) -> ureq::RequestBuilder<B> {
    match auth {
        Some(auth) => request.header("Authorization", auth),
        None => request,
    }
}

/// A problem answer as one error line.
fn failure(method: &str, path: &str, status: u16, text: String) -> anyhow::Error {
    let detail = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|p| {
            let title = p["title"].as_str()?.to_owned();
            Some(match p["detail"].as_str() {
                Some(detail) => format!("{title}: {detail}"),
                None => title,
            })
        })
        .unwrap_or(text);
    anyhow::anyhow!("{method} {path}: {status}: {detail}")
}

/// `GET path` from the node at `server`, with `token` when the path needs one: its JSON answer.
/// For commands that read a node's public documents as well as its API (`tocsin log verify`).
pub fn get_json<T: DeserializeOwned>(server: &str, path: &str, token: Option<&str>) -> anyhow::Result<T> {
    let (_, text) = request(server, token, "GET", path, None)?;
    serde_json::from_str(&text).with_context(|| format!("GET {path}: not the JSON expected"))
}

/// Where the node is and who is asking.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The node's base URL.
    #[arg(long, env = "TOCSIN_SERVER", value_name = "URL", default_value = "http://127.0.0.1:8080")]
    server: String,

    /// An API token of an account allowed to do this.
    #[arg(long, env = "TOCSIN_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    token: String,
}

impl ServerArgs {
    fn request(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> anyhow::Result<(u16, String)> {
        request(&self.server, Some(&self.token), method, path, body)
    }

    /// `GET path`, its JSON answer.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let (_, text) = self.request("GET", path, None)?;
        serde_json::from_str(&text).with_context(|| format!("GET {path}: not the JSON expected"))
    }

    /// `POST path` with a JSON body, its JSON answer.
    pub fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> anyhow::Result<T> {
        let (_, text) = self.request("POST", path, Some(serde_json::to_value(body)?))?;
        serde_json::from_str(&text).with_context(|| format!("POST {path}: not the JSON expected"))
    }

    /// `POST path` with a JSON body, for an answer without a body (204).
    pub fn post_unit(&self, path: &str, body: &impl Serialize) -> anyhow::Result<()> {
        self.request("POST", path, Some(serde_json::to_value(body)?)).map(|_| ())
    }

    /// `PUT path` with a JSON body, for an answer without a body (204).
    pub fn put_unit(&self, path: &str, body: &impl Serialize) -> anyhow::Result<()> {
        self.request("PUT", path, Some(serde_json::to_value(body)?)).map(|_| ())
    }

    /// `PUT path` with the file at `file` as the body, streamed: its JSON answer.
    pub fn put_file<T: DeserializeOwned>(&self, path: &str, file: &std::path::Path) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.server.trim_end_matches('/'));
        let body = std::fs::File::open(file).with_context(|| format!("{}", file.display()))?;
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut response = agent
            .put(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Content-Type", "application/octet-stream")
            .send(body)
            .with_context(|| format!("PUT {url}"))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().with_context(|| format!("PUT {url}: reading the answer"))?;
        if status >= 400 {
            return Err(failure("PUT", path, status, text));
        }
        serde_json::from_str(&text).with_context(|| format!("PUT {path}: not the JSON expected"))
    }

    /// `GET path`, its body streamed into `out`: the bytes written.
    pub fn download(&self, path: &str, out: &mut impl std::io::Write) -> anyhow::Result<u64> {
        let url = format!("{}{path}", self.server.trim_end_matches('/'));
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut response =
            agent.get(&url).header("Authorization", &format!("Bearer {}", self.token)).call().with_context(|| format!("GET {url}"))?;
        let status = response.status().as_u16();
        if status >= 400 {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            return Err(failure("GET", path, status, text));
        }
        let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
        std::io::copy(&mut reader, out).with_context(|| format!("GET {path}: reading the answer"))
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.request("DELETE", path, None).map(|_| ())
    }
}

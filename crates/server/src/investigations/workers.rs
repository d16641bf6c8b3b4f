//! The investigations' background work: at an authority, fetching each answer package's files
//! from the platform's node and checking them against the signed manifest; at a platform,
//! answering production requests from the configured data provider, and lapsing preservation
//! requests at their 60 (or 90) days, telling the platform's systems to release the hold.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tocsin_model::RequestInability;
use tocsin_store::RequestFile;
use tocsin_wire::Body;
use tocsin_wire::body::PackageFetchBody;

use super::package;
use crate::State;
use crate::node::time::{backoff, now_ms};
use crate::node::{new_id, seal};

/// The most a data provider's answer may hold, in bytes of JSON.
const MAX_PROVIDER_ANSWER: u64 = 512 << 20;

/// Failed attempts by key, and when to try again (Unix ms).
#[derive(Default)]
struct Retries(HashMap<String, (i64, u64)>);

impl Retries {
    fn due(&self, key: &str, now: u64) -> bool {
        self.0.get(key).is_none_or(|(_, at)| *at <= now)
    }

    fn failed(&mut self, key: &str, now: u64) {
        let attempts = self.0.get(key).map_or(0, |(n, _)| *n) + 1;
        self.0.insert(key.to_owned(), (attempts, now + backoff(attempts).as_millis() as u64));
    }

    fn next(&self) -> Option<u64> {
        self.0.values().map(|(_, at)| *at).min()
    }
}

/// Runs until the process ends (an authority): fetches every file of the answers that came in.
pub async fn run_package_fetcher(state: Arc<State>) {
    let mut retries = Retries::default();
    loop {
        match state.store.package_files_to_fetch().await {
            Ok(files) => {
                retries.0.retain(|key, _| files.iter().any(|(id, _, f)| *key == format!("{id}/{}", f.name)));
                for (id, peer, file) in files {
                    let key = format!("{id}/{}", file.name);
                    if !retries.due(&key, now_ms()) {
                        continue;
                    }
                    match fetch(&state, &id, &peer, &file).await {
                        Ok(()) => {
                            retries.0.remove(&key);
                            match state.store.package_file_stored(&id, &file.name).await {
                                Ok(true) => tracing::info!(request = %id, "answer package received and checked"),
                                Ok(false) => {}
                                Err(e) => tracing::warn!(error = %e, "recording a package file"),
                            }
                        }
                        Err(e) => {
                            tracing::warn!(request = %id, error = %e, "fetching a package file; will retry");
                            retries.failed(&key, now_ms());
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "package fetcher"),
        }
        let wait = retries.next().map_or(60_000, |at| at.saturating_sub(now_ms()).clamp(0, 60_000));
        let _ = tokio::time::timeout(Duration::from_millis(wait), state.investigations.fetcher.notified()).await;
    }
}

/// Fetches one age file from the platform's node, signed as `package_fetch`, into the package
/// store, kept only if its SHA-256 is the manifest's.
async fn fetch(state: &Arc<State>, id: &str, peer: &str, file: &RequestFile) -> Result<(), String> {
    let peer = state.store.peer_by_fingerprint(peer).await.map_err(|e| e.to_string())?.ok_or("the platform is no longer a peer")?;
    let request_id = id.parse().map_err(|_| "a stored request id does not read".to_owned())?;
    let message_id = new_id().map_err(|_| "no id")?;
    let header = seal(state, message_id, &peer.fingerprint, &Body::PackageFetch(PackageFetchBody { request_id, file: file.name.clone() }));
    let url = format!("{}/v1/packages/{id}/{}", peer.url.trim_end_matches('/'), file.name);
    let data = state.config.data.clone();
    let expected = file.age_sha256.clone();
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_body(None)
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent.get(&url).header(super::FETCH_HEADER, &header).call().map_err(|e| format!("GET {url}: {e}"))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(format!("GET {url}: {status}"));
        }
        let mut incoming = package::Incoming::new(&data).map_err(|e| e.to_string())?;
        let mut reader = response.body_mut().with_config().limit(package::MAX_FILE_BYTES + (1 << 20)).reader();
        std::io::copy(&mut reader, &mut incoming).map_err(|e| format!("GET {url}: {e}"))?;
        incoming.keep(Some(&expected)).map(|_| ()).map_err(|e| format!("{url}: {e}"))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// What a data provider answers.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderAnswer {
    /// The files, when it has the data.
    #[serde(default)]
    files: Vec<ProviderFile>,
    /// Why not, when it has not (an Annex III ground).
    #[serde(default)]
    refusal: Option<ProviderRefusal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderFile {
    name: String,
    /// The content, base64url (RFC 4648 section 5; padding allowed).
    content_base64url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderRefusal {
    ground: RequestInability,
    explanation: String,
}

/// Runs until the process ends: lapses preservation requests when their time comes (both
/// sides), and on a platform with a data provider, answers the production requests that wait.
pub async fn run_requests(state: Arc<State>) {
    super::threats::recount(&state).await;
    let mut retries = Retries::default();
    loop {
        if let Err(e) = lapse_due(&state).await {
            tracing::warn!(error = %e, "lapsing preservation requests");
        }
        if let Some(provider) = state.config.data_provider.clone() {
            match state.store.open_production_requests().await {
                Ok(rows) => {
                    for row in rows {
                        if !retries.due(&row.id, now_ms()) {
                            continue;
                        }
                        if let Err(e) = provide(&state, &provider, &row).await {
                            tracing::warn!(request = %row.id, error = %e, "data provider; will retry");
                            retries.failed(&row.id, now_ms());
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "data provider"),
            }
        }
        let lapse = state.store.next_lapse().await.ok().flatten().map(|at| at.max(0) as u64);
        let next = [lapse, retries.next()].into_iter().flatten().min();
        let wait = next.map_or(60_000, |at| at.saturating_sub(now_ms()).clamp(0, 60_000));
        let _ = tokio::time::timeout(Duration::from_millis(wait), state.investigations.requests.notified()).await;
    }
}

async fn lapse_due(state: &State) -> Result<(), tocsin_store::StoreError> {
    for row in state.store.lapsing_requests(now_ms() as i64).await? {
        let webhook = state
            .config
            .preservation_webhook
            .as_deref()
            .filter(|_| row.side == "received")
            .and_then(|url| state.webhook_call(url, serde_json::json!({ "event": "data_request.release", "request_id": row.id })));
        let call = webhook.as_ref().map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str()));
        if state.store.lapse_request(&row.id, call).await? {
            tracing::info!(request = %row.id, "preservation request lapsed");
            state.webhooks.notify_one();
        }
    }
    Ok(())
}

/// Asks the data provider for a request's data and answers with what it gives.
async fn provide(state: &Arc<State>, provider: &str, row: &tocsin_store::RequestRow) -> Result<(), String> {
    let request: serde_json::Value = serde_json::from_str(&row.body).map_err(|e| e.to_string())?;
    let event = serde_json::json!({
        "event": "data_request.produce", "request_id": row.id, "categories": request["categories"],
        "identifiers": request["identifiers"], "emergency": request.get("emergency").is_some(), "deadline_at": row.deadline_at,
    });
    let (delivery, url, body, signature) = state.webhook_call(provider, event).ok_or("no id")?;
    let answer = tokio::task::spawn_blocking(move || -> Result<ProviderAnswer, String> {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(60))).http_status_as_error(false).build().into();
        let mut response = agent
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Tocsin-Delivery", &delivery)
            .header("Tocsin-Signature", &signature)
            .send(body.as_bytes())
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(format!("POST {url}: {status}"));
        }
        let mut text = Vec::new();
        response.body_mut().with_config().limit(MAX_PROVIDER_ANSWER).reader().read_to_end(&mut text).map_err(|e| e.to_string())?;
        serde_json::from_slice(&text).map_err(|e| format!("POST {url}: not a data provider's answer: {e}"))
    })
    .await
    .map_err(|e| e.to_string())??;
    if let Some(refusal) = answer.refusal {
        return super::send_refusal(state, &row.id, refusal.ground, &refusal.explanation).await.map_err(|e| format!("{e:?}"));
    }
    if answer.files.is_empty() {
        return Err("the data provider answered neither files nor a refusal".to_owned());
    }
    let recipient = super::recipient_of(row).map_err(|_| "the request's recipient does not read".to_owned())?;
    for file in answer.files {
        if !tocsin_wire::manifest::is_safe_name(&file.name) {
            return Err(format!("the data provider named a file {:?}", file.name));
        }
        let bytes = tocsin_wire::base64url_decode(file.content_base64url.trim_end_matches('='))
            .map_err(|e| format!("{}: not base64url: {e}", file.name))?;
        let data = state.config.data.clone();
        let sealed = tokio::task::spawn_blocking(move || package::seal_file(&data, &recipient, bytes.as_slice()))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let file =
            RequestFile { name: file.name, size: sealed.size as i64, sha256: sealed.sha256, age_sha256: sealed.age_sha256, stored: true };
        state.store.stage_request_file(&row.id, &file).await.map_err(|e| e.to_string())?;
    }
    super::send_answer(state, &row.id).await.map_err(|e| format!("{e:?}"))?;
    tracing::info!(request = %row.id, "answered from the data provider");
    Ok(())
}

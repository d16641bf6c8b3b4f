//! Calls to the platform's own systems: the action webhook is POSTed a JSON event for each URL
//! the platform blocks, with `Tocsin-Delivery` (an id, so repeats can be dropped) and
//! `Tocsin-Signature` (the node's compact JWS over the same bytes). Queued in the transaction of
//! the block and retried with backoff until the receiver answers 2xx.

use std::sync::Arc;
use std::time::Duration;

use crate::State;
use crate::node::time::{backoff, now_ms, wait_until_due};

fn call(hook: &tocsin_store::WebhookCall) -> Result<(), String> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(10))).http_status_as_error(false).build().into();
    let response = agent
        .post(&hook.url)
        .header("Content-Type", "application/json")
        .header("Tocsin-Delivery", &hook.id)
        .header("Tocsin-Signature", &hook.signature)
        .send(hook.body.as_bytes())
        .map_err(|e| format!("POST {}: {e}", hook.url))?;
    let status = response.status().as_u16();
    if (200..300).contains(&status) { Ok(()) } else { Err(format!("POST {}: {status}", hook.url)) }
}

/// Runs until the process ends: makes due calls, sleeps until the next is due or new ones are
/// queued.
pub async fn run_webhooks(state: Arc<State>) {
    loop {
        if let Err(e) = call_due(&state).await {
            tracing::warn!(error = %e, "webhooks");
        }
        wait_until_due(state.store.next_webhook_due().await, &state.webhooks).await;
    }
}

async fn call_due(state: &Arc<State>) -> Result<(), tocsin_store::StoreError> {
    for hook in state.store.due_webhooks(now_ms() as i64, 16).await? {
        let call_input = hook.clone();
        let outcome = tokio::task::spawn_blocking(move || call(&call_input)).await.unwrap_or_else(|e| Err(e.to_string()));
        let next = now_ms() as i64 + backoff(hook.attempts + 1).as_millis() as i64;
        if let Err(error) = &outcome {
            tracing::warn!(delivery = %hook.id, %error, "webhook call failed; will retry");
        }
        state.store.webhook_attempted(&hook.id, outcome.as_ref().err().map(String::as_str), next).await?;
    }
    Ok(())
}

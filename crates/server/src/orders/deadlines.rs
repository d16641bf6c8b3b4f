//! Deadline warnings on the platform: a removal order must be answered within one hour of
//! receipt (TCO Art. 3(3)). When one has 30 and then 10 minutes left, and when it is overdue,
//! the node records a warning on the order and calls the escalation webhook (signed, retried),
//! once per level.

use std::sync::Arc;
use std::time::Duration;

use crate::State;
use crate::node::time::now_ms;
use crate::orders::DEADLINE_MS;

/// The warning levels, each with the time left (ms) at which it is due.
const LEVELS: [(&str, i64); 3] = [("30", 30 * 60_000), ("10", 10 * 60_000), ("overdue", 0)];

/// Runs until the process ends, looking every second.
pub async fn run_deadlines(state: Arc<State>) {
    loop {
        if let Err(e) = warn_due(&state).await {
            tracing::warn!(error = %e, "deadline warnings");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn warn_due(state: &Arc<State>) -> Result<(), tocsin_store::StoreError> {
    let now = now_ms() as i64;
    for (order, warned) in state.store.open_removal_orders().await? {
        let Some(received_at) = order.received_at else { continue };
        let deadline = received_at + DEADLINE_MS;
        for (level, left) in LEVELS {
            if now < deadline - left || warned.iter().any(|w| w == level) {
                continue;
            }
            let webhook = state.config.escalation_webhook.as_deref().and_then(|url| {
                let event = serde_json::json!({
                    "event": "deadline.warning", "level": level, "order_id": order.id,
                    "reference": order.reference, "received_at": received_at, "deadline_at": deadline,
                });
                state.webhook_call(url, event)
            });
            state.store.deadline_warning(&order.id, level, webhook).await?;
            state.webhooks.notify_one();
            tracing::warn!(order = %order.id, level, "removal order deadline warning");
        }
    }
    Ok(())
}

//! Data requests of an investigation (the e-Evidence Regulation (EU) 2023/1543): the requests an
//! authority issued and a platform received, their clocks from the platform's receipt, the files
//! of an answer package, and every step in the Merkle log with hashes and counts only (never an
//! identifier, which is personal data, nor a file's content).

use sqlx::Row;
use tocsin_model::DataRequest;

use crate::node::record::{json_entry, now_ms, queue_message_due, queue_webhook};
use crate::{Store, StoreError};

/// A data request as this node holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    /// The request's id (its message's).
    pub id: String,
    /// `issued` (this node is the authority) or `received` (the platform).
    pub side: String,
    /// The other node's key fingerprint.
    pub peer: String,
    /// `production` or `preservation`.
    pub kind: String,
    /// The issuing authority's file reference.
    pub reference: String,
    /// The request's fields, JSON.
    pub body: String,
    /// On a platform: the authority's package recipient.
    pub recipient: Option<String>,
    /// Issued: `awaiting_validation`, `issued`, `delivered`, `receiving_answer`, `answered`,
    /// `refused`, `lapsed`. Received: `received`, `answered`, `refused`, `lapsed`.
    pub state: String,
    /// Issued: the investigator's account.
    pub issued_by: Option<String>,
    /// The validator's account, where the request needed one.
    pub validated_by: Option<String>,
    /// When this node recorded it, Unix ms.
    pub created_at: i64,
    /// When the platform received it, by its clock (the authority learns it from the receipt).
    pub received_at: Option<i64>,
    /// When the answer is due (production requests).
    pub deadline_at: Option<i64>,
    /// Until when the enforcing authority may object (Art. 10), when one is notified.
    pub objection_until: Option<i64>,
    /// When a preservation request lapses (Art. 11).
    pub lapses_at: Option<i64>,
    /// Whether a preservation request was extended (once).
    pub extended: bool,
    /// When the answer was sent (platform) or the whole package was in (authority).
    pub answered_at: Option<i64>,
    /// The signed manifest of the answer package.
    pub manifest: Option<String>,
    /// The refusal, JSON (`{ground, explanation}`).
    pub refusal: Option<String>,
    /// When an investigator last read the package in clear.
    pub fetched_at: Option<i64>,
    /// When the enforcing authority said it raises no ground (Art. 10(2)).
    pub no_grounds_at: Option<i64>,
    /// On a platform: when its systems answered the preservation webhook call.
    pub preserved_at: Option<i64>,
    /// The last change, Unix ms.
    pub updated_at: i64,
}

/// One file of an answer package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFile {
    /// Its name in the manifest.
    pub name: String,
    /// Its size in clear.
    pub size: i64,
    /// The SHA-256 of its content in clear, hex.
    pub sha256: String,
    /// The SHA-256 of its age file, hex (the name it is stored under).
    pub age_sha256: String,
    /// Whether this node holds the age file.
    pub stored: bool,
}

/// A message to queue with a change: (id, the peer's URL, the signed message).
pub type Sending<'a> = (&'a str, &'a str, &'a str);

/// A request this node issues.
#[derive(Debug, Clone, Copy)]
pub struct NewRequest<'a> {
    /// Its id.
    pub id: &'a str,
    /// The platform's key fingerprint.
    pub peer: &'a str,
    /// `production` or `preservation`.
    pub kind: &'a str,
    /// The file reference.
    pub reference: &'a str,
    /// Its fields, JSON.
    pub body: &'a str,
    /// The investigator's account.
    pub issued_by: &'a str,
}

/// What a received message changes in the data requests, applied with the message.
#[derive(Debug, Clone, Copy)]
pub enum RequestEffect<'a> {
    /// A platform receives a request: kept with its clocks, and its preservation webhook call
    /// queued in the same transaction (so a crash after the receipt still preserves).
    Received {
        /// `production` or `preservation`.
        kind: &'a str,
        /// The file reference.
        reference: &'a str,
        /// The request's fields, JSON.
        body: &'a str,
        /// The authority's package recipient.
        recipient: &'a str,
        /// When the answer is due.
        deadline_at: Option<i64>,
        /// Until when the enforcing authority may object.
        objection_until: Option<i64>,
        /// When a preservation request lapses.
        lapses_at: Option<i64>,
        /// The preservation webhook call: (id, URL, body, signature).
        webhook: Option<(&'a str, &'a str, &'a str, &'a str)>,
    },
    /// An authority receives the answer's manifest (already verified): the files to fetch.
    Answered {
        /// The request.
        request_id: &'a str,
        /// The signed manifest.
        manifest: &'a str,
        /// Its files.
        files: &'a [RequestFile],
    },
    /// An authority receives a refusal: `{ground, explanation}`, JSON.
    Refused {
        /// The request.
        request_id: &'a str,
        /// The refusal, JSON.
        refusal: &'a str,
        /// The ground's name, for the log.
        ground: &'a str,
    },
    /// A platform receives an extension of a preservation request.
    Extended {
        /// The request.
        request_id: &'a str,
    },
    /// An enforcing authority is notified of a request (Art. 8): kept as `notified`.
    Notified {
        /// The request's id.
        request_id: &'a str,
        /// `production` or `preservation`.
        kind: &'a str,
        /// The file reference.
        reference: &'a str,
        /// The request's fields, JSON.
        body: &'a str,
    },
    /// The enforcing authority raises no ground (Art. 10(2)): the objection window closes, and a
    /// held answer leaves now.
    NoGrounds {
        /// The request.
        request_id: &'a str,
    },
    /// An authority receives a threat report (TCO Art. 14(5)): kept unacknowledged, and the
    /// escalation webhook call queued in the same transaction, so it fires once.
    Threat {
        /// The report, JSON.
        body: &'a str,
        /// The escalation webhook call: (id, URL, body, signature).
        webhook: Option<(&'a str, &'a str, &'a str, &'a str)>,
    },
}

/// A threat report as this node holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreatRow {
    /// The message's id.
    pub id: String,
    /// `sent` or `received`.
    pub side: String,
    /// The other node's fingerprint.
    pub peer: String,
    /// The report, JSON.
    pub body: String,
    /// When it was sent or received, Unix ms.
    pub created_at: i64,
    /// Who sent it (a platform's account).
    pub sent_by: Option<String>,
    /// When it was acknowledged.
    pub acknowledged_at: Option<i64>,
    /// By whom.
    pub acknowledged_by: Option<String>,
}

const COLUMNS: &str = "id, side, peer, kind, reference, body, recipient, state, issued_by, validated_by, created_at, received_at, \
     deadline_at, objection_until, lapses_at, extended, answered_at, manifest, refusal, fetched_at, no_grounds_at, preserved_at, updated_at";

fn row(r: &sqlx::any::AnyRow) -> Result<RequestRow, StoreError> {
    Ok(RequestRow {
        id: r.try_get(0)?,
        side: r.try_get(1)?,
        peer: r.try_get(2)?,
        kind: r.try_get(3)?,
        reference: r.try_get(4)?,
        body: r.try_get(5)?,
        recipient: r.try_get(6)?,
        state: r.try_get(7)?,
        issued_by: r.try_get(8)?,
        validated_by: r.try_get(9)?,
        created_at: r.try_get(10)?,
        received_at: r.try_get(11)?,
        deadline_at: r.try_get(12)?,
        objection_until: r.try_get(13)?,
        lapses_at: r.try_get(14)?,
        extended: r.try_get::<i64, _>(15)? != 0,
        answered_at: r.try_get(16)?,
        manifest: r.try_get(17)?,
        refusal: r.try_get(18)?,
        fetched_at: r.try_get(19)?,
        no_grounds_at: r.try_get(20)?,
        preserved_at: r.try_get(21)?,
        updated_at: r.try_get(22)?,
    })
}

const THREAT_COLUMNS: &str = "id, side, peer, body, created_at, sent_by, acknowledged_at, acknowledged_by";

fn threat_row(r: &sqlx::any::AnyRow) -> Result<ThreatRow, StoreError> {
    Ok(ThreatRow {
        id: r.try_get(0)?,
        side: r.try_get(1)?,
        peer: r.try_get(2)?,
        body: r.try_get(3)?,
        created_at: r.try_get(4)?,
        sent_by: r.try_get(5)?,
        acknowledged_at: r.try_get(6)?,
        acknowledged_by: r.try_get(7)?,
    })
}

fn sha256_hex(text: &str) -> String {
    crate::node::record::url_digest(text)
}

/// Queues `message` of `kind` to `peer`, first tried at `due`.
async fn queue(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    peer: &str,
    kind: &str,
    message: Sending<'_>,
    due: i64,
) -> Result<(), StoreError> {
    let (id, url, jws) = message;
    queue_message_due(tx, (id, peer, url, kind, jws), now_ms(), due).await
}

impl Store {
    /// Records a request this node issues. With `sending` (its sealed message) it leaves at once,
    /// validated by `validated_by` where it needed it; without, it waits for a validator and
    /// does not leave the node.
    /// With `notify`, the enforcing authority's notification (its fingerprint and message) is
    /// queued with the request.
    pub async fn issue_request(
        &self,
        new: NewRequest<'_>,
        validated_by: Option<&str>,
        sending: Option<Sending<'_>>,
        notify: Option<(&str, Sending<'_>)>,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let state = if sending.is_some() { "issued" } else { "awaiting_validation" };
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO data_requests (id, side, peer, kind, reference, body, state, issued_by, validated_by, created_at, updated_at) \
             VALUES ($1, 'issued', $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(new.id)
        .bind(new.peer)
        .bind(new.kind)
        .bind(new.reference)
        .bind(new.body)
        .bind(state)
        .bind(new.issued_by)
        .bind(validated_by)
        .bind(at)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Refused(format!("a data request {} exists already", new.id)));
            }
            other => other?,
        };
        let entry = serde_json::json!({
            "type": "request.issued", "id": new.id, "kind": new.kind, "to": new.peer, "by": new.issued_by,
            "awaiting_validation": sending.is_none(), "at": at,
        });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        if let Some(message) = sending {
            if let Some(validator) = validated_by {
                let entry = serde_json::json!({ "type": "request.validated", "id": new.id, "by": validator, "at": at });
                self.append_in(&mut tx, &json_entry(entry)).await?;
            }
            queue(&mut tx, new.peer, "data_request", message, at).await?;
            if let Some((peer, message)) = notify {
                queue(&mut tx, peer, "request_notification", message, at).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// A validator approves a request that waited for one: its fields become `body` (now naming
    /// the validator) and its message is queued. Refused unless it is waiting.
    pub async fn validate_request(
        &self,
        id: &str,
        validator: &str,
        body: &str,
        message: Sending<'_>,
        notify: Option<(&str, Sending<'_>)>,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let peer = sqlx::query("SELECT peer FROM data_requests WHERE id = $1 AND side = 'issued' AND state = 'awaiting_validation'")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Refused(format!("data request {id} is not waiting for validation")))?;
        let peer: String = peer.try_get(0)?;
        sqlx::query("UPDATE data_requests SET state = 'issued', validated_by = $1, body = $2, updated_at = $3 WHERE id = $4")
            .bind(validator)
            .bind(body)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let entry = serde_json::json!({ "type": "request.validated", "id": id, "by": validator, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        queue(&mut tx, &peer, "data_request", message, at).await?;
        if let Some((peer, message)) = notify {
            queue(&mut tx, peer, "request_notification", message, at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The enforcing authority raises no ground on a request it was notified of: its messages to
    /// the platform and to the issuing authority (each a fingerprint and a message), once.
    pub async fn raise_no_grounds(&self, id: &str, by: &str, messages: [(&str, Sending<'_>); 2]) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE data_requests SET state = 'no_grounds', no_grounds_at = $1, updated_at = $1 WHERE id = $2 AND side = 'notified' AND state = 'notified'",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Refused(format!("data request {id} is not one this node was notified of and has not answered")));
        }
        for (peer, message) in messages {
            queue(&mut tx, peer, "no_grounds", message, at).await?;
        }
        let entry = serde_json::json!({ "type": "request.no_grounds_raised", "id": id, "by": by, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every data request on `side` (or both), newest first.
    pub async fn data_requests(&self, side: Option<&str>) -> Result<Vec<RequestRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM data_requests WHERE ($1 = '' OR side = $1) ORDER BY created_at DESC, id DESC LIMIT 1000"
        ))
        .bind(side.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row).collect()
    }

    /// One data request and its package's files.
    pub async fn data_request(&self, id: &str) -> Result<Option<(RequestRow, Vec<RequestFile>)>, StoreError> {
        let found = sqlx::query(&format!("SELECT {COLUMNS} FROM data_requests WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        let Some(found) = found else { return Ok(None) };
        let files = sqlx::query("SELECT name, size, sha256, age_sha256, stored FROM request_files WHERE request_id = $1 ORDER BY name")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        let files = files
            .iter()
            .map(|f| {
                Ok(RequestFile {
                    name: f.try_get(0)?,
                    size: f.try_get(1)?,
                    sha256: f.try_get(2)?,
                    age_sha256: f.try_get(3)?,
                    stored: f.try_get::<i64, _>(4)? != 0,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some((row(&found)?, files)))
    }

    /// A file for the answer to request `id`, sealed and held by this node: listed for the
    /// answer (a file of the same name replaces the earlier one). Only while the request is open.
    pub async fn stage_request_file(&self, id: &str, file: &RequestFile) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let open =
            sqlx::query("SELECT 1 FROM data_requests WHERE id = $1 AND side = 'received' AND kind = 'production' AND state = 'received'")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if open.is_none() {
            return Err(StoreError::Refused(format!("data request {id} is no open production request received here")));
        }
        let count: i64 =
            sqlx::query("SELECT COUNT(*) FROM request_files WHERE request_id = $1").bind(id).fetch_one(&mut *tx).await?.try_get(0)?;
        if count >= tocsin_wire::manifest::MAX_FILES as i64 {
            return Err(StoreError::Refused(format!("a package holds at most {} files", tocsin_wire::manifest::MAX_FILES)));
        }
        sqlx::query("DELETE FROM request_files WHERE request_id = $1 AND name = $2").bind(id).bind(&file.name).execute(&mut *tx).await?;
        insert_files(&mut tx, id, std::slice::from_ref(file), true).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The platform answers a request it received with the package of its staged files: the
    /// signed manifest, and its message, due at `due` (after the enforcing authority's objection
    /// window, when one runs). Only once.
    pub async fn answer_request(&self, id: &str, manifest: &str, files: usize, message: Sending<'_>, due: i64) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let peer = self.take_received(&mut tx, id, "answered", at).await?;
        sqlx::query("UPDATE data_requests SET manifest = $1, answered_at = $2, answer_message = $3 WHERE id = $4")
            .bind(manifest)
            .bind(at)
            .bind(message.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // The enforcing authority may have said it raises no ground before the answer was ready.
        let no_grounds = sqlx::query("SELECT no_grounds_at FROM data_requests WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        let due = if no_grounds.try_get::<Option<i64>, _>(0)?.is_some() { at } else { due };
        let entry = serde_json::json!({
            "type": "request.answered", "id": id, "manifest_sha256": sha256_hex(manifest), "files": files,
            "sent_after": due, "at": at,
        });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        queue(&mut tx, &peer, "data_answer", message, due.max(at)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The platform refuses a request it received on an Annex III ground: `refusal` is
    /// `{ground, explanation}`, JSON. Only once.
    pub async fn refuse_request(&self, id: &str, refusal: &str, ground: &str, message: Sending<'_>) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let peer = self.take_received(&mut tx, id, "refused", at).await?;
        sqlx::query("UPDATE data_requests SET refusal = $1 WHERE id = $2").bind(refusal).bind(id).execute(&mut *tx).await?;
        let entry = serde_json::json!({ "type": "request.refused", "id": id, "ground": ground, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        queue(&mut tx, &peer, "data_refusal", message, at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves a received request still open to `to`; its peer.
    async fn take_received(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: &str, to: &str, at: i64) -> Result<String, StoreError> {
        let found = sqlx::query("SELECT peer, state FROM data_requests WHERE id = $1 AND side = 'received'")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no data request {id} was received")))?;
        let (peer, state): (String, String) = (found.try_get(0)?, found.try_get(1)?);
        let moved = sqlx::query("UPDATE data_requests SET state = $1, updated_at = $2 WHERE id = $3 AND state = 'received'")
            .bind(to)
            .bind(at)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Refused(format!("data request {id} is {state}: it was answered or has lapsed")));
        }
        Ok(peer)
    }

    /// The files of answer packages this node (an authority) still has to fetch: request id,
    /// the platform's fingerprint, and the file.
    pub async fn package_files_to_fetch(&self) -> Result<Vec<(String, String, RequestFile)>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.request_id, r.peer, f.name, f.size, f.sha256, f.age_sha256 FROM request_files f \
             JOIN data_requests r ON r.id = f.request_id \
             WHERE r.side = 'issued' AND r.state = 'receiving_answer' AND f.stored = 0 ORDER BY f.request_id, f.name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    RequestFile {
                        name: r.try_get(2)?,
                        size: r.try_get(3)?,
                        sha256: r.try_get(4)?,
                        age_sha256: r.try_get(5)?,
                        stored: false,
                    },
                ))
            })
            .collect()
    }

    /// An age file of request `id`'s package is held (checked against the manifest); once all
    /// are, the request is `answered`. True when this completed the package.
    pub async fn package_file_stored(&self, id: &str, name: &str) -> Result<bool, StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE request_files SET stored = 1 WHERE request_id = $1 AND name = $2")
            .bind(id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let missing: i64 = sqlx::query("SELECT COUNT(*) FROM request_files WHERE request_id = $1 AND stored = 0")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if missing > 0 {
            tx.commit().await?;
            return Ok(false);
        }
        let done = sqlx::query(
            "UPDATE data_requests SET state = 'answered', answered_at = $1, updated_at = $1 \
             WHERE id = $2 AND side = 'issued' AND state = 'receiving_answer'",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            let entry = serde_json::json!({ "type": "request.package_received", "id": id, "at": at });
            self.append_in(&mut tx, &json_entry(entry)).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// An investigator read the package of request `id` in clear: logged.
    pub async fn request_fetched(&self, id: &str, by: &str) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE data_requests SET fetched_at = $1 WHERE id = $2").bind(at).bind(id).execute(&mut *tx).await?;
        let entry = serde_json::json!({ "type": "request.fetched", "id": id, "by": by, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The authority extends a preservation request it issued, once (Art. 11): its own clock
    /// moves 30 days, and the message is queued.
    pub async fn extend_request(&self, id: &str, by: &str, message: Sending<'_>) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let found = sqlx::query(
            "SELECT peer FROM data_requests WHERE id = $1 AND side = 'issued' AND kind = 'preservation' AND extended = 0 \
             AND state IN ('issued', 'delivered')",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Refused(format!("data request {id} is no preservation request in force that was not extended")))?;
        let peer: String = found.try_get(0)?;
        sqlx::query("UPDATE data_requests SET extended = 1, lapses_at = lapses_at + $1, updated_at = $2 WHERE id = $3")
            .bind(tocsin_model::EXTENSION_MS as i64)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let entry = serde_json::json!({ "type": "request.extended", "id": id, "by": by, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        queue(&mut tx, &peer, "request_extension", message, at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Preservation requests past their lapse at `now`, still in force: id and side.
    pub async fn lapsing_requests(&self, now: i64) -> Result<Vec<RequestRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM data_requests WHERE kind = 'preservation' AND lapses_at <= $1 \
             AND state IN ('received', 'delivered') ORDER BY lapses_at LIMIT 100"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row).collect()
    }

    /// When the next preservation request lapses, if any is in force.
    pub async fn next_lapse(&self) -> Result<Option<i64>, StoreError> {
        let found =
            sqlx::query("SELECT MIN(lapses_at) FROM data_requests WHERE kind = 'preservation' AND state IN ('received', 'delivered')")
                .fetch_one(&self.pool)
                .await?;
        Ok(found.try_get::<Option<i64>, _>(0)?)
    }

    /// A preservation request lapsed: `lapsed`, logged, and on a platform its release webhook
    /// call queued (the platform's systems may delete what they kept). False if it had moved on.
    pub async fn lapse_request(&self, id: &str, webhook: Option<(&str, &str, &str, &str)>) -> Result<bool, StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let moved =
            sqlx::query("UPDATE data_requests SET state = 'lapsed', updated_at = $1 WHERE id = $2 AND state IN ('received', 'delivered')")
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(call) = webhook {
            queue_webhook(&mut tx, call, at).await?;
        }
        let entry = serde_json::json!({ "type": "request.lapsed", "id": id, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        tx.commit().await?;
        Ok(true)
    }
}

impl Store {
    /// A platform sends a threat report: kept, logged and queued in one transaction.
    pub async fn send_threat_report(&self, id: &str, peer: &str, body: &str, by: &str, message: Sending<'_>) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO threat_reports (id, side, peer, body, created_at, sent_by) VALUES ($1, 'sent', $2, $3, $4, $5)")
            .bind(id)
            .bind(peer)
            .bind(body)
            .bind(at)
            .bind(by)
            .execute(&mut *tx)
            .await?;
        let entry = serde_json::json!({ "type": "threat.sent", "id": id, "to": peer, "by": by, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        queue(&mut tx, peer, "threat_report", message, at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every threat report, unacknowledged first, then newest first.
    pub async fn threat_reports(&self) -> Result<Vec<ThreatRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {THREAT_COLUMNS} FROM threat_reports \
             ORDER BY CASE WHEN side = 'received' AND acknowledged_at IS NULL THEN 0 ELSE 1 END, created_at DESC LIMIT 1000"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(threat_row).collect()
    }

    /// One threat report.
    pub async fn threat_report(&self, id: &str) -> Result<Option<ThreatRow>, StoreError> {
        let row =
            sqlx::query(&format!("SELECT {THREAT_COLUMNS} FROM threat_reports WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(threat_row).transpose()
    }

    /// The production requests this node (a platform) received and has neither answered nor
    /// refused, oldest first: what its data provider is asked for.
    pub async fn open_production_requests(&self) -> Result<Vec<RequestRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM data_requests WHERE side = 'received' AND kind = 'production' AND state = 'received' \
             ORDER BY created_at, id LIMIT 100"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row).collect()
    }

    /// How many received threat reports wait for acknowledgement.
    pub async fn open_threat_reports(&self) -> Result<i64, StoreError> {
        let found = sqlx::query("SELECT COUNT(*) FROM threat_reports WHERE side = 'received' AND acknowledged_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(found.try_get(0)?)
    }

    /// Someone at the authority has taken a threat report in hand. Once.
    pub async fn acknowledge_threat(&self, id: &str, by: &str) -> Result<(), StoreError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE threat_reports SET acknowledged_at = $1, acknowledged_by = $2 WHERE id = $3 AND side = 'received' AND acknowledged_at IS NULL",
        )
        .bind(at)
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Refused(format!("no unacknowledged threat report {id}")));
        }
        let entry = serde_json::json!({ "type": "threat.acknowledged", "id": id, "by": by, "at": at });
        self.append_in(&mut tx, &json_entry(entry)).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The platform's systems answered webhook call `delivery`: if it was a data request's
/// preservation call, the request is preserved from `at`, and the log says so.
pub(crate) async fn preserved(store: &Store, tx: &mut sqlx::Transaction<'_, sqlx::Any>, delivery: &str, at: i64) -> Result<(), StoreError> {
    let found = sqlx::query("SELECT id FROM data_requests WHERE preserve_delivery = $1 AND preserved_at IS NULL")
        .bind(delivery)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(found) = found else { return Ok(()) };
    let id: String = found.try_get(0)?;
    sqlx::query("UPDATE data_requests SET preserved_at = $1 WHERE id = $2").bind(at).bind(&id).execute(&mut **tx).await?;
    let entry = serde_json::json!({ "type": "request.preserved", "id": id, "at": at });
    store.append_in(tx, &json_entry(entry)).await?;
    Ok(())
}

async fn insert_files(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: &str, files: &[RequestFile], stored: bool) -> Result<(), StoreError> {
    for f in files {
        sqlx::query("INSERT INTO request_files (request_id, name, size, sha256, age_sha256, stored) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id)
            .bind(&f.name)
            .bind(f.size)
            .bind(&f.sha256)
            .bind(&f.age_sha256)
            .bind(i64::from(stored))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Applies what a received message changes, in the transaction that keeps it.
pub(crate) async fn apply(
    store: &Store,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    peer: &str,
    id: &str,
    effect: &RequestEffect<'_>,
    received_at: i64,
) -> Result<(), StoreError> {
    match *effect {
        RequestEffect::Received { kind, reference, body, recipient, deadline_at, objection_until, lapses_at, webhook } => {
            let inserted = sqlx::query(
                "INSERT INTO data_requests (id, side, peer, kind, reference, body, recipient, state, created_at, received_at, \
                 deadline_at, objection_until, lapses_at, preserve_delivery, updated_at) \
                 VALUES ($1, 'received', $2, $3, $4, $5, $6, 'received', $7, $7, $8, $9, $10, $11, $7)",
            )
            .bind(id)
            .bind(peer)
            .bind(kind)
            .bind(reference)
            .bind(body)
            .bind(recipient)
            .bind(received_at)
            .bind(deadline_at)
            .bind(objection_until)
            .bind(lapses_at)
            .bind(webhook.map(|call| call.0))
            .execute(&mut **tx)
            .await;
            match inserted {
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    return Err(StoreError::Refused(format!("a data request {id} exists already")));
                }
                other => other?,
            };
            if let Some(call) = webhook {
                queue_webhook(tx, call, received_at).await?;
            }
            let entry = serde_json::json!({
                "type": "request.received", "id": id, "kind": kind, "from": peer, "deadline_at": deadline_at,
                "lapses_at": lapses_at, "preservation_called": webhook.is_some(), "at": received_at,
            });
            store.append_in(tx, &json_entry(entry)).await?;
        }
        RequestEffect::Answered { request_id, manifest, files } => {
            let moved = sqlx::query(
                "UPDATE data_requests SET state = 'receiving_answer', manifest = $1, updated_at = $2 \
                 WHERE id = $3 AND side = 'issued' AND peer = $4 AND kind = 'production' AND state IN ('issued', 'delivered')",
            )
            .bind(manifest)
            .bind(received_at)
            .bind(request_id)
            .bind(peer)
            .execute(&mut **tx)
            .await?;
            if moved.rows_affected() != 1 {
                return Err(StoreError::Refused(format!("no production request {request_id} to this peer is waiting for an answer")));
            }
            insert_files(tx, request_id, files, false).await?;
            let entry = serde_json::json!({
                "type": "request.answer_received", "id": request_id, "manifest_sha256": sha256_hex(manifest),
                "files": files.len(), "at": received_at,
            });
            store.append_in(tx, &json_entry(entry)).await?;
        }
        RequestEffect::Refused { request_id, refusal, ground } => {
            let moved = sqlx::query(
                "UPDATE data_requests SET state = 'refused', refusal = $1, updated_at = $2 \
                 WHERE id = $3 AND side = 'issued' AND peer = $4 AND state IN ('issued', 'delivered')",
            )
            .bind(refusal)
            .bind(received_at)
            .bind(request_id)
            .bind(peer)
            .execute(&mut **tx)
            .await?;
            if moved.rows_affected() != 1 {
                return Err(StoreError::Refused(format!("no open data request {request_id} to this peer")));
            }
            let entry = serde_json::json!({ "type": "request.refusal_received", "id": request_id, "ground": ground, "at": received_at });
            store.append_in(tx, &json_entry(entry)).await?;
        }
        RequestEffect::Extended { request_id } => {
            let moved = sqlx::query(
                "UPDATE data_requests SET extended = 1, lapses_at = lapses_at + $1, updated_at = $2 \
                 WHERE id = $3 AND side = 'received' AND peer = $4 AND kind = 'preservation' AND extended = 0 AND state = 'received'",
            )
            .bind(tocsin_model::EXTENSION_MS as i64)
            .bind(received_at)
            .bind(request_id)
            .bind(peer)
            .execute(&mut **tx)
            .await?;
            if moved.rows_affected() != 1 {
                return Err(StoreError::Refused(format!("no preservation request {request_id} from this peer is in force unextended")));
            }
            let entry = serde_json::json!({ "type": "request.extended", "id": request_id, "from": peer, "at": received_at });
            store.append_in(tx, &json_entry(entry)).await?;
        }
        RequestEffect::Notified { request_id, kind, reference, body } => {
            sqlx::query(
                "INSERT INTO data_requests (id, side, peer, kind, reference, body, state, created_at, received_at, updated_at) \
                 VALUES ($1, 'notified', $2, $3, $4, $5, 'notified', $6, $6, $6)",
            )
            .bind(request_id)
            .bind(peer)
            .bind(kind)
            .bind(reference)
            .bind(body)
            .bind(received_at)
            .execute(&mut **tx)
            .await?;
            let entry = serde_json::json!({ "type": "request.notified", "id": request_id, "from": peer, "at": received_at });
            store.append_in(tx, &json_entry(entry)).await?;
        }
        RequestEffect::NoGrounds { request_id } => {
            let found = sqlx::query("SELECT answer_message FROM data_requests WHERE id = $1 AND side IN ('received', 'issued')")
                .bind(request_id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or_else(|| StoreError::Refused(format!("no data request {request_id}")))?;
            let answer: Option<String> = found.try_get(0)?;
            sqlx::query(
                "UPDATE data_requests SET no_grounds_at = $1, updated_at = $1, \
                 objection_until = CASE WHEN objection_until > $1 THEN $1 ELSE objection_until END \
                 WHERE id = $2 AND no_grounds_at IS NULL",
            )
            .bind(received_at)
            .bind(request_id)
            .execute(&mut **tx)
            .await?;
            if let Some(answer) = answer {
                sqlx::query("UPDATE outbox SET next_attempt_at = $1 WHERE id = $2 AND delivered_at IS NULL AND next_attempt_at > $1")
                    .bind(received_at)
                    .bind(answer)
                    .execute(&mut **tx)
                    .await?;
            }
            let entry = serde_json::json!({ "type": "request.no_grounds", "id": request_id, "from": peer, "at": received_at });
            store.append_in(tx, &json_entry(entry)).await?;
        }
        RequestEffect::Threat { body, webhook } => {
            sqlx::query("INSERT INTO threat_reports (id, side, peer, body, created_at) VALUES ($1, 'received', $2, $3, $4)")
                .bind(id)
                .bind(peer)
                .bind(body)
                .bind(received_at)
                .execute(&mut **tx)
                .await?;
            if let Some(call) = webhook {
                queue_webhook(tx, call, received_at).await?;
            }
            let entry = serde_json::json!({ "type": "threat.received", "id": id, "from": peer, "at": received_at });
            store.append_in(tx, &json_entry(entry)).await?;
        }
    }
    Ok(())
}

/// The authority's copy learns the platform's time of receipt from its receipt, and its clocks
/// run from it, as the platform's do.
pub(crate) async fn date_by_receipt(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: &str, received_at: i64) -> Result<(), StoreError> {
    let found = sqlx::query("SELECT body FROM data_requests WHERE id = $1 AND side = 'issued' AND state = 'issued'")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(found) = found else { return Ok(()) };
    let body: String = found.try_get(0)?;
    let request: DataRequest = serde_json::from_str(&body).map_err(|_| StoreError::Inconsistent("a stored data request does not read"))?;
    let at = received_at.max(0) as u64;
    let clock = |t: Option<u64>| t.map(|t| t.min(i64::MAX as u64) as i64);
    sqlx::query(
        "UPDATE data_requests SET state = 'delivered', received_at = $1, deadline_at = $2, objection_until = $3, lapses_at = $4, \
         updated_at = $5 WHERE id = $6",
    )
    .bind(received_at)
    .bind(clock(request.answer_due(at)))
    .bind(clock(request.objection_until(at)))
    .bind(clock(request.lapses_at(at, false)))
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

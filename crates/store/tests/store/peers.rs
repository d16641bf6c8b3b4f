//! Peers: added once per name and per key, found by fingerprint, removed; each change logged.

use tocsin_store::{Store, StoreError};
use tocsin_wire::Jwk;

use crate::helpers::Fresh;

fn key(seed: u8) -> Jwk {
    Jwk::ed25519(&ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key().to_bytes())
}

async fn peers_are_kept_by_name_and_key_and_every_change_is_logged(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    let authority = key(1);
    let made = store.add_peer("police-nl", "http://127.0.0.1:9001", &authority, &["authority".to_owned()], "auto").await.expect("added");
    assert_eq!(made.fingerprint, authority.thumbprint());
    assert_eq!(store.peer_by_fingerprint(&authority.thumbprint()).await.expect("query"), Some(made.clone()));
    assert_eq!(store.peer_by_fingerprint(&key(2).thumbprint()).await.expect("query"), None);

    for (name, jwk) in [("police-nl", key(2)), ("another-name", authority.clone()), ("bad name", key(3))] {
        let refused = store.add_peer(name, "http://127.0.0.1:9002", &jwk, &[], "auto").await;
        assert!(matches!(refused, Err(StoreError::Refused(_))), "{name}: {refused:?}");
    }
    assert!(matches!(store.add_peer("other", "http://127.0.0.1:9003", &key(4), &[], "sometimes").await, Err(StoreError::Refused(_))));
    assert_eq!(store.peers().await.expect("list"), [made]);

    store.remove_peer("police-nl").await.expect("removed");
    assert!(matches!(store.remove_peer("police-nl").await, Err(StoreError::Refused(_))));
    assert_eq!(store.peer_by_fingerprint(&authority.thumbprint()).await.expect("query"), None);
    let (size, _) = store.log_head().await.expect("head");
    let entries: Vec<String> =
        store.log_entries(0, size).await.expect("entries").into_iter().map(|e| String::from_utf8(e).expect("text")).collect();
    assert_eq!(entries.len(), 2, "added and removed, no refusal: {entries:?}");
    assert!(entries[0].contains(r#""type":"peer.added""#) && entries[0].contains(&authority.thumbprint()), "{}", entries[0]);
    assert!(entries[1].contains(r#""type":"peer.removed""#), "{}", entries[1]);
    store.close().await;
}

mod keeping_peers {
    use super::*;
    crate::on_both!(peers_are_kept_by_name_and_key_and_every_change_is_logged);
}

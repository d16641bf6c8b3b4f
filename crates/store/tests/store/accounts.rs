//! Accounts and tokens: made, found, refused, revoked; every change a log entry, no secret in
//! the log, and bad requests change nothing.

use tocsin_store::{PasswordHash, Store, StoreError};

use crate::helpers::Fresh;

async fn accounts_are_made_once_and_bad_ones_change_nothing(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    let made = store.create_account("duty-officer", &["issuer", "reviewer"], None).await.expect("made");
    assert_eq!(made.roles, ["issuer", "reviewer"]);
    let (size, head) = store.log_head().await.expect("head");
    assert_eq!(size, 1, "the account's creation is a log entry");

    for (name, roles) in [
        ("duty-officer", &["admin"][..]),
        ("", &["admin"][..]),
        ("two words", &["admin"][..]),
        ("ok-name", &["police"][..]),
        ("no-role", &[][..]),
    ] {
        let err = store.create_account(name, roles, None).await.expect_err("refused");
        assert!(matches!(err, StoreError::Refused(_)), "{name:?}: {err}");
    }
    assert_eq!(store.log_head().await.expect("head"), (size, head), "refusals leave no trace");
    let names: Vec<String> = store.accounts().await.expect("list").into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["duty-officer"]);
    store.close().await;
}

mod making_accounts {
    use super::*;
    crate::on_both!(accounts_are_made_once_and_bad_ones_change_nothing);
}

async fn tokens_work_until_revoked_or_expired_and_never_reach_the_log(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    store.create_account("auditor-1", &["auditor"], None).await.expect("made");
    let token = store.create_token("auditor-1", 3600).await.expect("token");
    assert!(token.secret.starts_with("tocsin_") && token.secret.len() > 40);
    assert!(!format!("{token:?}").contains(&token.secret), "Debug hides the secret");
    let who = store.authenticate(&token.secret).await.expect("query").expect("known token");
    assert_eq!((who.name.as_str(), who.roles.as_slice()), ("auditor-1", &["auditor".to_owned()][..]));
    assert_eq!(store.authenticate("tocsin_not-a-token").await.expect("query"), None);

    let expired = store.create_token("auditor-1", -1).await.expect("token");
    assert_eq!(store.authenticate(&expired.secret).await.expect("query"), None, "expired");

    store.revoke_token(&token.secret).await.expect("revoked");
    assert_eq!(store.authenticate(&token.secret).await.expect("query"), None, "revoked");
    assert!(matches!(store.revoke_token(&token.secret).await, Err(StoreError::Refused(_))));
    assert!(matches!(store.create_token("nobody", 60).await, Err(StoreError::Refused(_))));

    let (size, _) = store.log_head().await.expect("head");
    assert_eq!(size, 4, "account, two tokens, one revocation");

    // A disabled account's live tokens stop working; disabling twice is refused.
    let live = store.create_token("auditor-1", 3600).await.expect("token");
    assert!(store.authenticate(&live.secret).await.expect("query").is_some());
    store.disable_account("auditor-1").await.expect("disabled");
    assert_eq!(store.authenticate(&live.secret).await.expect("query"), None);
    assert!(matches!(store.disable_account("auditor-1").await, Err(StoreError::Refused(_))));
    assert!(store.accounts().await.expect("list")[0].disabled);
    let (size, _) = store.log_head().await.expect("head");
    assert_eq!(size, 6, "and a token, and the disabling");
    for entry in store.log_entries(0, size).await.expect("entries") {
        let text = String::from_utf8(entry).expect("text");
        assert!(!text.contains(&token.secret) && !text.contains(&expired.secret), "a secret in the log: {text}");
    }
    store.close().await;
}

mod tokens {
    use super::*;
    crate::on_both!(tokens_work_until_revoked_or_expired_and_never_reach_the_log);
}

async fn racing_requests_for_one_name_make_one_account_and_refuse_the_rest(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.create_account("contested", &["issuer"], None).await }));
    }
    let mut made = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => made += 1,
            Err(StoreError::Refused(_)) => {}
            Err(other) => panic!("a race must be refused, not fail: {other}"),
        }
    }
    assert_eq!(made, 1);
    assert_eq!(store.log_head().await.expect("head").0, 1, "one log entry");
    store.close().await;
}

mod racing {
    use super::*;
    crate::on_both!(racing_requests_for_one_name_make_one_account_and_refuse_the_rest);
}

async fn passwords_are_kept_as_argon2id_and_bad_names_reach_no_database(fresh: &Fresh) {
    let store = Store::open(fresh.url()).await.expect("opens");
    let first = PasswordHash::new("night shift passphrase").expect("hashed");
    store.create_account("desk-1", &["issuer"], Some(&first)).await.expect("made");
    let (account, stored) = store.sign_in_lookup("desk-1").await.expect("query").expect("found");
    assert_eq!(account.name, "desk-1");
    let stored = stored.expect("a password");
    assert!(stored.as_str().starts_with("$argon2id$"));
    assert!(stored.verify("night shift passphrase") && !stored.verify("day shift passphrase"));

    let session = store.create_token("desk-1", 3600).await.expect("a session");
    let other = store.create_token("desk-1", 3600).await.expect("another");
    let second = PasswordHash::new("day shift passphrase").expect("hashed");
    store.set_password("desk-1", &second).await.expect("set");
    let stored = store.sign_in_lookup("desk-1").await.expect("query").expect("found").1.expect("a password");
    assert!(stored.verify("day shift passphrase") && !stored.verify("night shift passphrase"));
    // Whoever knew the old password keeps nothing it gave them.
    for token in [&session, &other] {
        assert_eq!(store.authenticate(&token.secret).await.expect("query"), None, "a token outlived the password change");
    }

    // Names PostgreSQL would choke on (a NUL byte) or that are simply wrong are refused or not
    // found before any query runs.
    for bad in ["", "nul\0byte", "two words", &"x".repeat(65)] {
        assert_eq!(store.sign_in_lookup(bad).await.expect("no query error"), None, "{bad:?}");
        assert!(matches!(store.set_password(bad, &second).await, Err(StoreError::Refused(_))), "{bad:?}");
        assert!(matches!(store.disable_account(bad).await, Err(StoreError::Refused(_))), "{bad:?}");
        assert!(matches!(store.create_token(bad, 60).await, Err(StoreError::Refused(_))), "{bad:?}");
    }
    assert!(matches!(store.set_password("nobody", &second).await, Err(StoreError::Refused(_))));

    store.disable_account("desk-1").await.expect("disabled");
    assert_eq!(store.sign_in_lookup("desk-1").await.expect("query"), None, "a disabled account cannot sign in");

    let (size, _) = store.log_head().await.expect("head");
    assert_eq!(size, 5, "made, two tokens, password set, disabled");
    for entry in store.log_entries(0, size).await.expect("entries") {
        let text = String::from_utf8(entry).expect("text");
        assert!(!text.contains("argon2") && !text.contains("passphrase"), "a password or its hash in the log: {text}");
    }
    store.close().await;
}

mod passwords {
    use super::*;
    crate::on_both!(passwords_are_kept_as_argon2id_and_bad_names_reach_no_database);
}

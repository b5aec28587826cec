//! Behaviour of [`LoginStore`]: dashboard logins are found by their token's hash until they
//! expire or are deleted, and a deleted login stays deleted.

use std::sync::Arc;

use sightline_store::{Engine, StoredLogin};

pub async fn logins_expire_and_end_at_logout(store: Arc<dyn Engine>) {
    let login = StoredLogin {
        public_key: "pk-1".into(),
        created_ns: 1_000,
        expires_ns: 5_000,
    };
    assert_eq!(store.login("h1", 1_000).await.unwrap(), None);
    store.create_login("h1", &login).await.unwrap();
    assert_eq!(store.login("h1", 1_000).await.unwrap(), Some(login.clone()));
    assert_eq!(store.login("h1", 4_999).await.unwrap(), Some(login.clone()));
    assert_eq!(store.login("h1", 5_000).await.unwrap(), None, "expired");
    assert_eq!(store.login("h2", 1_000).await.unwrap(), None, "other token");
    assert!(
        store.create_login("h1", &login).await.is_err(),
        "a token is used once"
    );

    let other = StoredLogin {
        public_key: "pk-2".into(),
        created_ns: 2_000,
        expires_ns: 9_000,
    };
    store.create_login("h2", &other).await.unwrap();
    assert!(store.delete_login("h2", 3_000).await.unwrap());
    assert_eq!(store.login("h2", 3_000).await.unwrap(), None, "logged out");
    assert!(
        !store.delete_login("h2", 3_001).await.unwrap(),
        "already ended"
    );
    assert!(
        !store.delete_login("h3", 3_001).await.unwrap(),
        "never made"
    );
    assert!(!store.delete_login("h1", 6_000).await.unwrap(), "expired");
    assert_eq!(store.login("h1", 3_000).await.unwrap(), Some(login));
}

//! Keys with roles, listed per project and revoked for good; and short trace ids resolved to
//! the traces they start.

use std::sync::Arc;

use sightline_core::{ObservationKind, ProjectId, TraceId};
use sightline_store::{Engine, TraceIdPrefix};

use super::{batch, span};

/// Keys keep their role; a list shows a project's keys (or every project's) oldest first; a
/// revocation is stored once, with its first time, and shows on every read of the key.
pub async fn keys_have_roles_and_revocations_stick(store: Arc<dyn Engine>) {
    let admin = store
        .insert_key("team-a", "pk-a1", "hash-a1", "admin", 10)
        .await
        .unwrap();
    let viewer = store
        .insert_key("team-a", "pk-a2", "hash-a2", "viewer", 20)
        .await
        .unwrap();
    let other = store
        .insert_key("team-b", "pk-b1", "hash-b1", "member", 15)
        .await
        .unwrap();
    assert_eq!((viewer.role.as_str(), viewer.created_ns), ("viewer", 20));
    assert_eq!(viewer.revoked_ns, None);

    let listed = store.list_keys(Some(admin.project)).await.unwrap();
    assert_eq!(listed, vec![admin.clone(), viewer.clone()]);
    let everyone = store.list_keys(None).await.unwrap();
    let order: Vec<&str> = everyone.iter().map(|k| k.public_key.as_str()).collect();
    assert_eq!(
        order,
        ["pk-a1", "pk-b1", "pk-a2"],
        "oldest first, across projects"
    );
    assert_eq!(everyone[1], other);
    assert!(store
        .list_keys(Some(ProjectId(999_999)))
        .await
        .unwrap()
        .is_empty());

    let revoked = store.revoke_key("pk-a2", 30).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_ns, Some(30));
    assert_eq!(revoked.role, "viewer");
    let again = store.revoke_key("pk-a2", 40).await.unwrap().unwrap();
    assert_eq!(again.revoked_ns, Some(30), "the first revocation counts");
    assert!(store.revoke_key("pk-none", 50).await.unwrap().is_none());

    let by_hash = store.key_by_secret_hash("hash-a2").await.unwrap().unwrap();
    assert_eq!(by_hash.revoked_ns, Some(30));
    let by_public = store.key_by_public("pk-a2").await.unwrap().unwrap();
    assert_eq!(by_public.revoked_ns, Some(30));
    let listed = store.list_keys(Some(admin.project)).await.unwrap();
    assert_eq!(listed[1].revoked_ns, Some(30));
    assert_eq!(listed[0].revoked_ns, None, "only that key");
    let untouched = store.key_by_secret_hash("hash-b1").await.unwrap().unwrap();
    assert_eq!(untouched.revoked_ns, None);

    for key in ["pk-a1", "pk-b1"] {
        store.revoke_key(key, 60).await.unwrap();
    }
    assert!(
        store.has_keys().await.unwrap(),
        "revoking every key does not make the store keyless"
    );
}

fn trace(hex: &str) -> TraceId {
    TraceId::from_hex(hex).unwrap()
}

/// A prefix finds the project's traces whose id starts with it, in id order, up to the limit;
/// another project's traces are never found.
pub async fn short_trace_ids_resolve_in_their_project(store: Arc<dyn Engine>) {
    let ids = [
        "abcd0000000000000000000000000001",
        "abcd1000000000000000000000000002",
        "abcd1fffffffffffffffffffffffffff",
        "abce0000000000000000000000000000",
        "0bcd1000000000000000000000000000",
    ];
    let (p1, p2) = (ProjectId(1), ProjectId(2));
    let mut spans = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let mut s = span(1, i as u8 + 1, None, ObservationKind::Span);
        s.trace_id = trace(id);
        spans.push(s);
    }
    store.write(p1, batch(spans)).await.unwrap();
    let mut theirs = span(1, 9, None, ObservationKind::Span);
    theirs.trace_id = trace("abcd1234000000000000000000000000");
    store.write(p2, batch(vec![theirs])).await.unwrap();

    let find = |prefix: &'static str, limit: usize| {
        let store = store.clone();
        async move {
            let p = TraceIdPrefix::parse(prefix).unwrap();
            let found = store.trace_ids_with_prefix(p1, &p, limit).await.unwrap();
            found.iter().map(|t| t.to_hex()).collect::<Vec<_>>()
        }
    };
    assert_eq!(find("abcd1", 10).await, [ids[1], ids[2]]);
    assert_eq!(find("ABCD1", 10).await, [ids[1], ids[2]], "either case");
    assert_eq!(find("abcd", 10).await, [ids[0], ids[1], ids[2]]);
    assert_eq!(find("abcd", 2).await, [ids[0], ids[1]], "at most the limit");
    assert_eq!(find("abc", 10).await.len(), 4);
    assert_eq!(
        find("abcd1f", 10).await,
        [ids[2]],
        "the highest id in the range"
    );
    assert_eq!(find(ids[3], 10).await, [ids[3]], "a whole id");
    assert!(find("abcd12", 10).await.is_empty(), "project 2's trace");
    assert!(find("ff", 10).await.is_empty());
}

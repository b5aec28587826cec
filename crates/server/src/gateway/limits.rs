//! Rate limits at admission: the project's stored rules (for every key, or for one) and the
//! policy a request names in `Sightline-RateLimit-Policy` (Helicone's header too), decided by
//! core's `ratelimit` on fixed windows counted in memory on this node. Requests are counted as
//! they are admitted; tokens and cents when the call's usage is known.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sightline_core::gateway::ratelimit::{Counter, Decision, Policy, Unit};
use sightline_core::gateway::CallTags;
use sightline_core::ProjectId;
use sightline_store::{RateLimitRule, RateLimitStore, StoreError};

use super::project_cache::ProjectCache;

const RULES_MAX_AGE: Duration = Duration::from_secs(5);
/// Counters kept before those of finished windows are dropped.
const MAX_COUNTERS: usize = 100_000;

type CounterKey = (ProjectId, Policy, String);

/// The policies a call was admitted under, to count its usage against later.
#[derive(Debug, Clone, Default)]
pub struct Admitted {
    counted: Vec<(Policy, String)>,
    /// The `RateLimit-*` fields of the tightest policy.
    pub headers: Vec<(&'static str, String)>,
}

/// A refusal: the policy, its fields and how long to wait.
#[derive(Debug, Clone)]
pub struct Limited {
    pub policy: Policy,
    pub retry_after_secs: u64,
    pub headers: Vec<(&'static str, String)>,
}

pub struct Limits {
    store: Arc<dyn RateLimitStore>,
    rules: ProjectCache<Vec<RateLimitRule>>,
    counters: Mutex<HashMap<CounterKey, Counter>>,
}

impl Limits {
    pub fn new(store: Arc<dyn RateLimitStore>) -> Self {
        Limits {
            store,
            rules: ProjectCache::new(RULES_MAX_AGE),
            counters: Mutex::new(HashMap::new()),
        }
    }

    pub async fn rules(&self, project: ProjectId) -> Result<Arc<Vec<RateLimitRule>>, StoreError> {
        self.rules
            .get(project, || self.store.rate_limits(project))
            .await
    }

    pub fn invalidate(&self, project: ProjectId) {
        self.rules.invalidate(project);
    }

    /// Decides a call of `project` with `tags` (its `key` the Sightline key used) under the
    /// stored rules and the request's own policy, counting it as one request where admitted.
    pub async fn admit(
        &self,
        project: ProjectId,
        tags: &CallTags<'_>,
        requested: Option<&Policy>,
        now_ns: i64,
    ) -> Result<Result<Admitted, Limited>, StoreError> {
        let rules = self.rules(project).await?;
        let mut policies: Vec<Policy> = rules
            .iter()
            .filter(|r| r.for_key.is_none() || r.for_key.as_deref() == tags.key)
            .filter_map(|r| Policy::parse(&r.policy).ok())
            .collect();
        policies.extend(requested.cloned());
        if policies.is_empty() {
            return Ok(Ok(Admitted::default()));
        }
        let Ok(mut counters) = self.counters.lock() else {
            return Ok(Ok(Admitted::default()));
        };
        let mut applying = Vec::new();
        let mut tightest: Option<(u64, Vec<(&'static str, String)>)> = None;
        for p in policies {
            let Some(segment) = p.segment_of(tags) else {
                continue;
            };
            let key = (project, p.clone(), segment.to_owned());
            match p.check(counters.get(&key).copied(), now_ns) {
                Decision::Deny { retry_after_secs } => {
                    let headers = p.headers(0, retry_after_secs).to_vec();
                    return Ok(Err(Limited {
                        policy: p,
                        retry_after_secs,
                        headers,
                    }));
                }
                Decision::Allow {
                    remaining,
                    reset_secs,
                } => {
                    if tightest.as_ref().is_none_or(|(r, _)| remaining < *r) {
                        tightest = Some((remaining, p.headers(remaining, reset_secs).to_vec()));
                    }
                    applying.push(key);
                }
            }
        }
        if counters.len() > MAX_COUNTERS {
            counters.retain(|(_, p, _), c| c.window_start_ns == p.window_start(now_ns));
        }
        let mut admitted = Admitted {
            headers: tightest.map(|(_, h)| h).unwrap_or_default(),
            ..Admitted::default()
        };
        for key in applying {
            if key.1.unit == Unit::Requests {
                let c = counters.entry(key.clone()).or_default();
                *c = c.add(&key.1, now_ns, 1);
            }
            admitted.counted.push((key.1, key.2));
        }
        Ok(Ok(admitted))
    }

    /// Counts a finished call's tokens and cost against the token and cent policies it was
    /// admitted under.
    pub fn spend(
        &self,
        project: ProjectId,
        admitted: &Admitted,
        tokens: u64,
        cost_nano_usd: u64,
        now_ns: i64,
    ) {
        let Ok(mut counters) = self.counters.lock() else {
            return;
        };
        for (policy, segment) in &admitted.counted {
            if policy.unit == Unit::Requests {
                continue;
            }
            let amount = policy.usage_of(tokens, cost_nano_usd);
            let c = counters
                .entry((project, policy.clone(), segment.clone()))
                .or_default();
            *c = c.add(policy, now_ns, amount);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000_000_000;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stored_rules_and_request_policies_limit_their_segments() {
        let (store, _dir) = crate::gateway::test_store::temp_store();
        let p = ProjectId(1);
        store
            .put_rate_limit(
                p,
                &RateLimitRule {
                    id: "r".into(),
                    policy: "2;w=60;s=user".into(),
                    for_key: None,
                    updated_ns: 1,
                },
            )
            .await
            .unwrap();
        store
            .put_rate_limit(
                p,
                &RateLimitRule {
                    id: "k".into(),
                    policy: "1;w=60".into(),
                    for_key: Some("pk-other".into()),
                    updated_ns: 2,
                },
            )
            .await
            .unwrap();
        let limits = Limits::new(store);
        let user = |u: &'static str| CallTags {
            user: Some(u),
            key: Some("pk-1"),
            ..CallTags::default()
        };
        let first = limits
            .admit(p, &user("a"), None, T0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.headers[1], ("ratelimit-remaining", "1".into()));
        limits
            .admit(p, &user("a"), None, T0)
            .await
            .unwrap()
            .unwrap();
        let denied = limits
            .admit(p, &user("a"), None, T0)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(denied.policy.to_text(), "2;w=60;u=request;s=user");
        assert!(denied.retry_after_secs > 0 && denied.retry_after_secs <= 60);
        // Another user has a counter of their own; a call without a user is not limited by it.
        assert!(limits.admit(p, &user("b"), None, T0).await.unwrap().is_ok());
        assert!(limits
            .admit(p, &CallTags::default(), None, T0)
            .await
            .unwrap()
            .is_ok());
        // A request's own token policy: checked at admission, counted when usage is known.
        let tokens = Policy::parse("100;w=60;u=token").unwrap();
        let none = CallTags::default();
        let a = limits
            .admit(p, &none, Some(&tokens), T0)
            .await
            .unwrap()
            .unwrap();
        limits.spend(p, &a, 150, 0, T0);
        assert!(limits
            .admit(p, &none, Some(&tokens), T0)
            .await
            .unwrap()
            .is_err());
        assert!(limits
            .admit(p, &none, Some(&tokens), T0 + 60_000_000_000)
            .await
            .unwrap()
            .is_ok());
    }
}

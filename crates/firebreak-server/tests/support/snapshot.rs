//! What the API can see of the database — incidents, their timelines, users, tokens and the
//! audit log — captured through the API as an admin, so a test can prove that a refused
//! request changed nothing.

use crate::common::TestApp;
use axum::http::StatusCode;
use firebreak_domain::AuditVerification;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub incidents: Vec<Value>,
    /// One timeline per incident, in the order of `incidents`.
    pub timelines: Vec<Value>,
    pub users: Value,
    /// Tokens without `last_used_at`, which is usage bookkeeping, not a change.
    pub tokens: Vec<Value>,
    pub audit: Vec<Value>,
}

/// Follows `next_cursor` until the last page; returns every item.
pub async fn all_pages(app: &TestApp, path: &str, token: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=200&cursor={c}"),
            None => format!("{path}{sep}limit=200"),
        };
        let r = app.get(&url, token).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.text);
        items.extend(r.body["items"].as_array().cloned().unwrap_or_default());
        match r.body.get("next_cursor").and_then(Value::as_str) {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
    panic!("{path}: more than 1000 pages");
}

impl Snapshot {
    pub async fn capture(app: &TestApp) -> Snapshot {
        let admin = &app.admin.token;
        let incidents = all_pages(app, "/api/v1/incidents", admin).await;
        let mut timelines = Vec::new();
        for i in &incidents {
            let id = i["id"].as_str().unwrap_or_else(|| panic!("incident without id: {i}"));
            let r = app.get(&format!("/api/v1/incidents/{id}/timeline"), admin).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            timelines.push(r.body["items"].clone());
        }
        let r = app.get("/api/v1/users", admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let users = r.body["items"].clone();
        let r = app.get("/api/v1/tokens", admin).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let tokens = r.body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut t| {
                if let Some(o) = t.as_object_mut() {
                    o.remove("last_used_at");
                }
                t
            })
            .collect();
        let audit = all_pages(app, "/api/v1/audit", admin).await;
        Snapshot { incidents, timelines, users, tokens, audit }
    }

    /// Asserts that nothing visible changed since `self` was captured, and that the audit
    /// chain is still intact.
    pub async fn assert_unchanged(&self, app: &TestApp, context: &str) {
        let now = Snapshot::capture(app).await;
        assert_eq!(now.incidents, self.incidents, "{context}: incidents changed");
        assert_eq!(now.timelines, self.timelines, "{context}: a timeline changed");
        assert_eq!(now.users, self.users, "{context}: users changed");
        assert_eq!(now.tokens, self.tokens, "{context}: tokens changed");
        assert_eq!(now.audit, self.audit, "{context}: the audit log changed");
        assert_audit_intact(app).await;
    }
}

/// The hash chain of the audit log verifies.
pub async fn assert_audit_intact(app: &TestApp) {
    let v = app.store.verify_audit().await.unwrap_or_else(|e| panic!("verify_audit: {e}"));
    assert!(matches!(v, AuditVerification::Intact { .. }), "audit chain broken: {v:?}");
}

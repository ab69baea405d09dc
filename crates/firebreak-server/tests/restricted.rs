//! Restricted incidents: security incidents (and any marked restricted) are visible only to
//! their participants and admins — in the incident and alert lists, on every API route under
//! the incident or its alerts (read or write: 404, and nothing changes), on the web pages and
//! their live feeds. Participants are who declared or acted, role holders, those paged and
//! those added. On both backends.

mod common;

use axum::http::{Method, StatusCode};
use common::{Member, TestApp, assert_error, page, sign_in};
use firebreak_domain::{Actor, UserRole, Via};
use firebreak_server::app::access::{create_account, issue_token};
use serde_json::{Value, json};

/// A responder who takes part in nothing.
async fn outsider(app: &TestApp) -> Member {
    let setup = Actor::system("test setup", Via::Admin);
    let email = "outsider@example.com";
    let (user, _) =
        create_account(&app.store, &setup, email, "Outsider", UserRole::Responder, Some(common::PASSWORD.into()))
            .await
            .unwrap_or_else(|e| panic!("{}", e.message));
    let (_, token) = issue_token(&app.store, &setup, user.id, "test").await.unwrap_or_else(|e| panic!("{}", e.message));
    Member { user, token }
}

async fn labels(app: &TestApp, token: &str) -> Vec<String> {
    let r = app.get("/api/v1/incidents?limit=200", token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().into_iter().flatten().filter_map(|i| i["label"].as_str().map(str::to_owned)).collect()
}

async fn alert_ids(app: &TestApp, token: &str) -> Vec<String> {
    let r = app.get("/api/v1/alerts?limit=200", token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().into_iter().flatten().filter_map(|i| i["id"].as_str().map(str::to_owned)).collect()
}

async fn timeline_len(app: &TestApp, label: &str) -> usize {
    let r = app.get(&format!("/api/v1/incidents/{label}/timeline"), &app.admin.token).await;
    r.body["items"].as_array().map(Vec::len).unwrap_or_default()
}

/// Every API route under one incident, with a body where it takes one.
fn incident_routes(label: &str, someone: &str) -> Vec<(Method, String, Option<Value>)> {
    let p = |s: &str| format!("/api/v1/incidents/{label}{s}");
    vec![
        (Method::GET, p(""), None),
        (Method::PATCH, p(""), Some(json!({"title": "renamed"}))),
        (Method::GET, p("/timeline"), None),
        (Method::GET, p("/timeline?kind=note_added"), None),
        (Method::GET, p("/timeline/export?format=markdown"), None),
        (Method::GET, p("/timeline/export?format=json"), None),
        (Method::POST, p("/notes"), Some(json!({"body": "peek"}))),
        (Method::POST, p("/acknowledge"), None),
        (Method::POST, p("/resolve"), None),
        (Method::PUT, p("/roles/commander"), Some(json!({"user_id": someone}))),
        (Method::GET, p("/triage"), None),
        (Method::POST, p("/triage"), Some(json!({"answers": []}))),
        (Method::GET, p("/checklist"), None),
        (Method::POST, p("/playbook"), Some(json!({"name": "x"}))),
        (Method::POST, p("/checklist/0"), Some(json!({"state": "done"}))),
        (Method::POST, p("/checklist/0/run"), Some(json!({"confirm": true}))),
        (Method::GET, p("/escalation"), None),
        (Method::POST, p("/escalate"), None),
        (Method::POST, p("/reassign"), Some(json!({"user_id": someone}))),
        (Method::GET, p("/notifications"), None),
        (Method::GET, p("/participants"), None),
        (Method::POST, p("/participants"), Some(json!({"user_id": someone}))),
        (Method::PUT, p("/restricted"), Some(json!({"restricted": false}))),
        (Method::POST, p("/evidence"), Some(json!({"url": "https://example.com/x"}))),
        (Method::GET, p("/changes"), None),
        (Method::GET, p("/alerts"), None),
        (Method::GET, p("/updates"), None),
        (Method::POST, p("/updates/preview"), Some(json!({"template": "x"}))),
        (Method::POST, p("/updates"), Some(json!({"template": "x"}))),
        (Method::POST, p("/merge"), Some(json!({"into": "INC-1"}))),
    ]
}

async fn a_security_incident_is_seen_only_by_participants_and_admins(app: TestApp) {
    let outsider = outsider(&app).await;
    // An alert whose rule makes it a security incident: opened by monitoring, nobody takes part.
    let s = app.post("/api/v1/services", &app.admin.token, json!({"name": "vault"})).await;
    let sid = s.body["id"].as_str().unwrap_or_default().to_owned();
    let i = app
        .post(
            &format!("/api/v1/services/{sid}/integrations"),
            &app.admin.token,
            json!({"type": "pagerduty", "name": "ids"}),
        )
        .await;
    let key = i.body["key"].as_str().unwrap_or_default().to_owned();
    let r = app
        .post(
            "/api/v1/rules",
            &app.admin.token,
            json!({"name": "intrusions are security incidents", "conditions": [{"field": "summary", "op": "regex", "value": "(?i)intrusion"}],
                   "actions": {"type": "security", "severity": "critical"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let body = json!({"routing_key": key, "event_action": "trigger", "dedup_key": "ids-1",
        "payload": {"summary": "Intrusion detected on vault-2", "source": "ids", "severity": "critical"}});
    assert_eq!(app.raw(Method::POST, "/v2/enqueue", None, Some(body.to_string())).await.status, StatusCode::ACCEPTED);
    let all = labels(&app, &app.admin.token).await;
    assert_eq!(all.len(), 1, "admins see the incident the alert opened");
    let secret = all[0].clone();
    let incident = app.get(&format!("/api/v1/incidents/{secret}"), &app.admin.token).await.body;
    assert_eq!((incident["type"].as_str(), incident["restricted"].as_bool()), (Some("security"), Some(true)));
    let alert = alert_ids(&app, &app.admin.token).await.first().cloned().unwrap_or_default();

    // An ordinary incident everyone sees.
    let open = app.declare("Checkout slow").await["label"].as_str().unwrap_or_default().to_owned();
    for m in [&outsider, &app.viewer, &app.responder] {
        assert_eq!(
            labels(&app, &m.token).await,
            std::slice::from_ref(&open),
            "{} sees only the open incident",
            m.user.email
        );
        assert!(alert_ids(&app, &m.token).await.is_empty(), "nor its alerts");
    }

    // Every route under the incident and its alert: not found, and nothing changes.
    let before = timeline_len(&app, &secret).await;
    let someone = outsider.user.id.to_string();
    for m in [&outsider, &app.viewer] {
        for (method, path, body) in incident_routes(&secret, &someone) {
            let r = app.call(method.clone(), &path, &m.token, body).await;
            assert_error(&r, StatusCode::NOT_FOUND, "not_found");
            assert!(!r.text.contains("vault"), "{method} {path} leaks: {}", r.text);
        }
        for (method, path) in [
            (Method::GET, format!("/api/v1/alerts/{alert}")),
            (Method::POST, format!("/api/v1/alerts/{alert}/acknowledge")),
            (Method::POST, format!("/api/v1/alerts/{alert}/resolve")),
            (Method::POST, format!("/api/v1/alerts/{alert}/detach")),
        ] {
            assert_error(&app.call(method, &path, &m.token, None).await, StatusCode::NOT_FOUND, "not_found");
        }
        let attach = format!("/api/v1/alerts/{alert}/attach");
        let r = app.call(Method::POST, &attach, &m.token, Some(json!({"incident": open}))).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    }
    // Naming the hidden incident in a body is the same as naming none, and says nothing of it.
    let r = app.post(&format!("/api/v1/incidents/{open}/merge"), &app.responder.token, json!({"into": secret})).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(!r.text.contains("Intrusion") && !r.text.contains("restricted"), "{}", r.text);
    // Even an admin may not merge a restricted incident into one everyone sees.
    let r = app.post(&format!("/api/v1/incidents/{secret}/merge"), &app.admin.token, json!({"into": open})).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(r.text.contains("restricted"), "{}", r.text);
    let r = app.post(&format!("/api/v1/alerts/{alert}/attach"), &app.admin.token, json!({"incident": open})).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(timeline_len(&app, &open).await, 1, "nothing reached the open incident");
    assert_eq!(timeline_len(&app, &secret).await, before, "refused calls change nothing");
    let by_number = secret.trim_start_matches("INC-");
    let by_id = incident["id"].as_str().unwrap_or_default();
    for r in [by_number, by_id] {
        assert_error(
            &app.get(&format!("/api/v1/incidents/{r}"), &outsider.token).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }

    // The web pages and feeds, for a signed-in outsider.
    let cookie = sign_in(&app, "outsider@example.com").await;
    let list = app.send(page("/incidents", &cookie)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text.contains("Checkout slow") && !list.text.contains("Intrusion") && !list.text.contains(&secret));
    for path in [
        format!("/incidents/{secret}"),
        format!("/incidents/{secret}/live"),
        format!("/incidents/{secret}/events"),
        format!("/incidents/{secret}/triage"),
        format!("/incidents/{secret}/updates"),
        format!("/alerts/{alert}"),
    ] {
        let r = app.send(page(&path, &cookie)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
        assert!(!r.text.contains("Intrusion"), "{path} leaks");
    }
    let alerts_page = app.send(page("/alerts", &cookie)).await;
    assert!(!alerts_page.text.contains("Intrusion"), "the alert list leaves it out");
    let filtered = app.send(page(&format!("/alerts?incident={secret}"), &cookie)).await;
    assert_eq!(filtered.status, StatusCode::NOT_FOUND, "{}", filtered.text);
    assert!(!filtered.text.contains("Intrusion"), "filtering by the incident does not name it");

    // Admins add someone: they take part from then on, and see it everywhere.
    let r = app
        .post(
            &format!("/api/v1/incidents/{secret}/participants"),
            &app.admin.token,
            json!({"email": "outsider@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.body["items"].as_array().into_iter().flatten().any(|p| p["name"] == "Outsider"), "{}", r.text);
    assert!(labels(&app, &outsider.token).await.contains(&secret));
    assert_eq!(alert_ids(&app, &outsider.token).await, std::slice::from_ref(&alert));
    assert_eq!(app.get(&format!("/api/v1/incidents/{secret}/timeline"), &outsider.token).await.status, StatusCode::OK);
    assert_eq!(app.send(page(&format!("/incidents/{secret}"), &cookie)).await.status, StatusCode::OK);
    // Whoever a participant makes commander takes part too.
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/incidents/{secret}/roles/commander"),
            &outsider.token,
            Some(json!({"email": "responder@example.com"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(labels(&app, &app.responder.token).await.contains(&secret));
    // A type that is restricted stays so without the mark.
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/incidents/{secret}/restricted"),
            &outsider.token,
            Some(json!({"restricted": false})),
        )
        .await;
    assert_eq!((r.status, r.body["restricted"].as_bool()), (StatusCode::OK, Some(true)), "{}", r.text);
    assert!(!labels(&app, &app.viewer.token).await.contains(&secret));
}

async fn marking_an_incident_restricted_hides_it_from_others(app: TestApp) {
    let outsider = outsider(&app).await;
    let label = app.declare("Payroll export wrong").await["label"].as_str().unwrap_or_default().to_owned();
    assert!(labels(&app, &outsider.token).await.contains(&label));
    // Outsiders may not mark what they see? They may: anyone who may respond and sees it.
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/incidents/{label}/restricted"),
            &app.responder.token,
            Some(json!({"restricted": true})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["restricted"].as_bool(), r.body["marked_restricted"].as_bool()),
        (StatusCode::OK, Some(true), Some(true)),
        "{}",
        r.text
    );
    assert!(!labels(&app, &outsider.token).await.contains(&label));
    assert!(!labels(&app, &app.viewer.token).await.contains(&label));
    assert!(labels(&app, &app.responder.token).await.contains(&label), "who declared it takes part");
    assert!(labels(&app, &app.admin.token).await.contains(&label));
    assert_error(
        &app.get(&format!("/api/v1/incidents/{label}"), &outsider.token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // Viewers may not mark; bad bodies are refused and change nothing.
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/incidents/{label}/restricted"),
            &app.viewer.token,
            Some(json!({"restricted": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "a viewer who cannot see it is told it does not exist");
    for bad in [json!({"restricted": "no"}), json!({}), json!({"restricted": false, "x": 1})] {
        let r = app
            .call(Method::PUT, &format!("/api/v1/incidents/{label}/restricted"), &app.responder.token, Some(bad))
            .await;
        assert!(r.status.is_client_error(), "{}", r.text);
    }
    let timeline =
        app.get(&format!("/api/v1/incidents/{label}/timeline?kind=restriction_changed"), &app.admin.token).await;
    assert_eq!(timeline.body["items"].as_array().map(Vec::len), Some(1), "{}", timeline.text);
    // Taking the mark away shows it again.
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/incidents/{label}/restricted"),
            &app.responder.token,
            Some(json!({"restricted": false})),
        )
        .await;
    assert_eq!(r.body["restricted"].as_bool(), Some(false), "{}", r.text);
    assert!(labels(&app, &outsider.token).await.contains(&label));
    // Unknown people cannot be added.
    let r = app
        .post(
            &format!("/api/v1/incidents/{label}/participants"),
            &app.responder.token,
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = app
        .post(
            &format!("/api/v1/incidents/{label}/participants"),
            &app.responder.token,
            json!({"user_id": "0194f3c1-7a2b-7c3d-8e4f-0123456789ab"}),
        )
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

on_both_backends!(
    a_security_incident_is_seen_only_by_participants_and_admins,
    marking_an_incident_restricted_hides_it_from_others
);

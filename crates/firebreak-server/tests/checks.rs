//! Built-in checks against real local servers (HTTP and TCP), driven by an injected clock:
//! an alert opens after N failures in a row and resolves on recovery; history is kept.

mod common;

use axum::http::StatusCode;
use common::{TestApp, assert_error};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

/// A local HTTP server whose /health answers with a status the test sets.
async fn target() -> (String, Arc<AtomicU16>) {
    let status = Arc::new(AtomicU16::new(200));
    let s = status.clone();
    let app = axum::Router::new()
        .route(
            "/health",
            axum::routing::get(move || {
                let s = s.clone();
                async move {
                    (StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK), "all systems nominal")
                }
            }),
        )
        .route("/loop", axum::routing::get(|| async { axum::response::Redirect::temporary("/loop") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), status)
}

async fn service(app: &TestApp) -> String {
    let s = app.post("/api/v1/services", &app.responder.token, json!({"name": "web"})).await;
    s.body["id"].as_str().unwrap_or_default().to_owned()
}

async fn run_due(app: &TestApp) -> usize {
    firebreak_server::engine::tick(&app.state).await
}

async fn open_alerts(app: &TestApp) -> usize {
    app.get("/api/v1/alerts?status=open", &app.viewer.token).await.body["items"].as_array().map(Vec::len).unwrap_or(0)
}

async fn http_check_alerts_after_n_failures_and_resolves(app: TestApp) {
    let (base, status) = target().await;
    let sid = service(&app).await;
    let c = app
        .post(
            &format!("/api/v1/services/{sid}/checks"),
            &app.responder.token,
            json!({
                "name": "health", "probe": {"kind": "http", "url": format!("{base}/health"), "keyword": "nominal"},
                "interval_secs": 30, "timeout_ms": 2000, "failure_threshold": 2
            }),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    let id = c.body["id"].as_str().unwrap_or_default().to_owned();

    assert_eq!(run_due(&app).await, 1, "due at creation");
    assert_eq!(run_due(&app).await, 0, "next run is one interval later");
    status.store(503, Ordering::SeqCst);
    app.clock.advance(chrono::TimeDelta::seconds(30));
    assert_eq!(run_due(&app).await, 1);
    assert_eq!(open_alerts(&app).await, 0, "one failure is not enough");
    app.clock.advance(chrono::TimeDelta::seconds(30));
    run_due(&app).await;
    assert_eq!(open_alerts(&app).await, 1, "two failures in a row open the alert");
    let alert = &app.get("/api/v1/alerts?status=open", &app.viewer.token).await.body["items"][0];
    assert!(alert["summary"].as_str().is_some_and(|s| s.contains("HTTP 503 (expected 200)")), "{alert}");
    app.clock.advance(chrono::TimeDelta::seconds(30));
    run_due(&app).await;
    assert_eq!(open_alerts(&app).await, 1, "still one alert while it keeps failing");

    status.store(200, Ordering::SeqCst);
    app.clock.advance(chrono::TimeDelta::seconds(30));
    run_due(&app).await;
    assert_eq!(open_alerts(&app).await, 0, "recovery resolves it");
    assert_eq!(app.get("/api/v1/incidents/1", &app.viewer.token).await.body["status"], "resolved");

    let history = app.get(&format!("/api/v1/checks/{id}/history"), &app.viewer.token).await;
    let oks: Vec<bool> =
        history.body["items"].as_array().map(|a| a.iter().map(|r| r["ok"] == true).collect()).unwrap_or_default();
    assert_eq!(oks, vec![true, false, false, false, true], "newest first");
    let list = app.get(&format!("/api/v1/checks?service_id={sid}"), &app.viewer.token).await;
    assert_eq!(
        (list.body["items"][0]["down"].as_bool(), list.body["items"][0]["consecutive_failures"].as_i64()),
        (Some(false), Some(0))
    );
}

async fn tcp_checks_and_failure_details(app: TestApp) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let open = listener.local_addr().unwrap_or_else(|e| panic!("{e}")).to_string();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        l.local_addr().unwrap_or_else(|e| panic!("{e}")).to_string()
    };
    let (base, _) = target().await;
    let sid = service(&app).await;
    for (name, probe) in [
        ("tcp-open", json!({"kind": "tcp", "address": open})),
        ("tcp-closed", json!({"kind": "tcp", "address": closed})),
        ("keyword-missing", json!({"kind": "http", "url": format!("{base}/health"), "keyword": "catastrophe"})),
        ("redirect-loop", json!({"kind": "http", "url": format!("{base}/loop")})),
    ] {
        let r = app
            .post(
                &format!("/api/v1/services/{sid}/checks"),
                &app.responder.token,
                json!({"name": name, "probe": probe, "failure_threshold": 1}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    assert_eq!(run_due(&app).await, 4);
    let list = app.get("/api/v1/checks", &app.viewer.token).await;
    let by_name = |n: &str| {
        list.body["items"].as_array().and_then(|a| a.iter().find(|c| c["name"] == n).cloned()).unwrap_or_default()
    };
    assert_eq!(by_name("tcp-open")["down"], false);
    assert_eq!(by_name("tcp-closed")["down"], true);
    assert!(
        by_name("keyword-missing")["last_error"].as_str().is_some_and(|e| e.contains("does not contain")),
        "{}",
        by_name("keyword-missing")
    );
    assert_eq!(by_name("redirect-loop")["last_error"], "too many redirects");
    assert_eq!(open_alerts(&app).await, 3);
    drop(listener);
}

async fn bad_checks_are_refused(app: TestApp) {
    let sid = service(&app).await;
    for probe in [
        json!({"kind": "http", "url": "file:///etc/passwd"}),
        json!({"kind": "http", "url": "gopher://example.com/"}),
        json!({"kind": "http", "url": "http://x/", "method": "DELETE"}),
        json!({"kind": "tcp", "address": "nohost"}),
    ] {
        let r = app
            .post(
                &format!("/api/v1/services/{sid}/checks"),
                &app.responder.token,
                json!({"name": "bad", "probe": probe}),
            )
            .await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    let r = app
        .post(
            &format!("/api/v1/services/{sid}/checks"),
            &app.responder.token,
            json!({"name": "bad", "probe": {"kind": "icmp", "host": "x"}}),
        )
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let r = app
        .post(
            &format!("/api/v1/services/{sid}/checks"),
            &app.responder.token,
            json!({"name": "bad", "probe": {"kind": "tcp", "address": "a:1"}, "interval_secs": 1}),
        )
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = app
        .post(
            &format!("/api/v1/services/{sid}/checks"),
            &app.viewer.token,
            json!({"name": "x", "probe": {"kind": "tcp", "address": "a:1"}}),
        )
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app
        .post(
            &format!("/api/v1/services/{}/checks", uuid::Uuid::new_v4()),
            &app.responder.token,
            json!({"name": "x", "probe": {"kind": "tcp", "address": "a:1"}}),
        )
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.get("/api/v1/checks", &app.viewer.token).await.body["items"].as_array().map(Vec::len), Some(0));
    let r = app.get(&format!("/api/v1/checks/{}/history", uuid::Uuid::new_v4()), &app.viewer.token).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
}

/// A test CA and a local HTTPS server whose certificate (for 127.0.0.1) expires on
/// `expires`; answers every request with 200 "ok".
async fn https_target(expires: chrono::NaiveDate) -> (String, reqwest::Certificate) {
    use chrono::Datelike;
    let ca_key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "firebreak test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap_or_else(|e| panic!("{e}"));
    let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let mut leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap_or_else(|e| panic!("{e}"));
    leaf.not_before = rcgen::date_time_ymd(2020, 1, 1);
    leaf.not_after = rcgen::date_time_ymd(expires.year(), expires.month() as u8, expires.day() as u8);
    let leaf_cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap_or_else(|e| panic!("{e}"));
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| panic!("{e}"))
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf_cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
                let _ = tls.shutdown().await;
            });
        }
    });
    let ca_pem = reqwest::Certificate::from_der(ca_cert.der()).unwrap_or_else(|e| panic!("{e}"));
    (format!("https://{addr}/"), ca_pem)
}

/// An https check warns — a separate alert of severity warning — while the certificate
/// expires within `cert_warn_days`, and not when it is far from expiry or the warning is off.
async fn https_checks_warn_before_the_certificate_expires(app: TestApp) {
    let today = chrono::Utc::now().date_naive();
    let (soon, ca_soon) = https_target(today + chrono::Days::new(5)).await;
    let (later, ca_later) = https_target(today + chrono::Days::new(200)).await;
    let sid = service(&app).await;
    for (name, url, days) in [("soon", &soon, 14), ("later", &later, 14), ("soon-off", &soon, 0)] {
        let c = app
            .post(
                &format!("/api/v1/services/{sid}/checks"),
                &app.responder.token,
                json!({
                    "name": name, "probe": {"kind": "http", "url": url, "cert_warn_days": days},
                    "interval_secs": 60, "timeout_ms": 5000, "failure_threshold": 1
                }),
            )
            .await;
        assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    }
    let mut state = app.state.clone();
    state.http = firebreak_server::engine::check_client_builder()
        .add_root_certificate(ca_soon)
        .add_root_certificate(ca_later)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(firebreak_server::engine::tick(&state).await, 3);
    let checks = app.get("/api/v1/checks", &app.viewer.token).await;
    let items = checks.body["items"].as_array().cloned().unwrap_or_default();
    assert!(items.iter().all(|c| c["down"] == false && c["last_error"].is_null()), "all pass: {items:?}");
    let open = app.get("/api/v1/alerts?status=open", &app.viewer.token).await.body["items"].clone();
    let open = open.as_array().cloned().unwrap_or_default();
    assert_eq!(open.len(), 1, "only the certificate that expires in 5 days warns: {open:?}");
    let summary = open[0]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("\"soon\"") && summary.contains("TLS certificate") && summary.contains("expires"),
        "{summary}"
    );
    assert_eq!(open[0]["severity"], "warning");
    assert!(open[0]["dedup_key"].as_str().is_some_and(|k| k.ends_with("-certificate")), "{}", open[0]);
    // The history says how long the certificate is valid.
    let id = items.iter().find(|c| c["name"] == "later").map(|c| c["id"].as_str().unwrap_or_default().to_owned());
    let history = app.get(&format!("/api/v1/checks/{}/history", id.unwrap_or_default()), &app.viewer.token).await;
    assert!(history.text.contains("certificate valid until"), "{}", history.text);

    // Runs while it lasts fold into the same alert; the count goes up.
    app.clock.advance(chrono::TimeDelta::seconds(60));
    firebreak_server::engine::tick(&state).await;
    let open = app.get("/api/v1/alerts?status=open", &app.viewer.token).await.body["items"].clone();
    assert_eq!(open.as_array().map(Vec::len), Some(1));
    assert_eq!(open[0]["count"], 2);
}

#[test]
fn certificate_expiry_is_read_from_der() {
    let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let mut params = rcgen::CertificateParams::new(vec!["example.test".to_owned()]).unwrap_or_else(|e| panic!("{e}"));
    params.not_after = rcgen::date_time_ymd(2031, 7, 9);
    let cert = params.self_signed(&key).unwrap_or_else(|e| panic!("{e}"));
    let expiry = firebreak_server::engine::certificate_expiry(cert.der());
    assert_eq!(expiry.map(firebreak_domain::time::canonical).as_deref(), Some("2031-07-09T00:00:00.000000Z"));
    assert_eq!(firebreak_server::engine::certificate_expiry(b"not a certificate"), None);
}

on_both_backends!(
    http_check_alerts_after_n_failures_and_resolves,
    tcp_checks_and_failure_details,
    bad_checks_are_refused,
    https_checks_warn_before_the_certificate_expires
);

//! Status page subscribers on both backends: a reader signs up on the page, confirms by the
//! emailed link (a real SMTP conversation), gets the published updates with one-click
//! unsubscribe headers, and unsubscribes in one click; a webhook subscriber receives the
//! updates signed the Standard Webhooks way; bad links, bad input, cross-site forms,
//! anonymous readers of private pages and non-admins are refused and change nothing.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine as _;
use common::receiver::HttpReceiver;
use common::smtp::{Mail, SmtpServer};
use common::{Backend, TestApp, WEB_HOST, assert_error, urlencode};
use firebreak_domain::status_page::{Impact, NoticeKind, NoticeStatus};
use firebreak_domain::{Actor, Via};
use firebreak_server::ServerConfig;
use firebreak_server::app::status_pages::subscribers::message_for;
use firebreak_server::notify::NotifyConfig;
use firebreak_store::NewNotice;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

const BASE: &str = "http://firebreak.example.com";

async fn app(backend: Backend, smtp: &SmtpServer, allow_private: bool) -> Option<TestApp> {
    let config = ServerConfig {
        public_url: Some(BASE.to_owned()),
        notify: NotifyConfig {
            smtp: Some(smtp.config()),
            allow_private_addresses: allow_private,
            ..NotifyConfig::default()
        },
        ..ServerConfig::default()
    };
    TestApp::with_config(backend, config).await
}

/// A page `slug` with one component; returns the component's id.
async fn page_with_component(app: &TestApp, slug: &str, name: &str, public: bool) -> String {
    let admin = &app.admin.token;
    let r = app.post("/api/v1/status-pages", admin, json!({"slug": slug, "name": name, "public": public})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app.post(&format!("/api/v1/status-pages/{slug}/components"), admin, json!({"name": "API"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["components"][0]["id"].as_str().unwrap_or_default().to_owned()
}

/// The sign-up form posted by an anonymous reader, from `origin` (or no `Origin` header).
fn sign_up(slug: &str, origin: Option<&str>, fields: &[(&str, &str)]) -> Request<Body> {
    let body: String = fields.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&");
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(format!("/status/{slug}/subscribe"))
        .header(header::HOST, WEB_HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    req.body(Body::from(body)).unwrap_or_else(|e| panic!("{e}"))
}

fn get(path: &str) -> Request<Body> {
    Request::builder().uri(path).header(header::HOST, WEB_HOST).body(Body::empty()).unwrap_or_else(|e| panic!("{e}"))
}

/// The RFC 8058 one-click POST a mail provider sends.
fn one_click(path: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("List-Unsubscribe=One-Click"))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs the engine's communications round (the outbox is due at the store's clock).
async fn comms_round(app: &TestApp) -> usize {
    firebreak_server::engine::comms::run_once(&app.state, chrono::Utc::now() + chrono::TimeDelta::seconds(1)).await
}

/// Runs a round and collects the mail that arrived (`expected` of them; waits briefly).
async fn mail(app: &TestApp, smtp: &mut SmtpServer, expected: usize) -> Vec<Mail> {
    comms_round(app).await;
    let mut got = smtp.drain();
    for _ in 0..50 {
        if got.len() >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        got.extend(smtp.drain());
    }
    got
}

/// The decoded plain-text part of a mail (7bit or quoted-printable).
fn text_of(mail: &Mail) -> String {
    let raw = &mail.data;
    let start = raw.find("Content-Type: text/plain").unwrap_or_else(|| panic!("no text part in {raw}"));
    let (headers, rest) = raw[start..].split_once("\r\n\r\n").unwrap_or_else(|| panic!("no part body"));
    let body = rest.split("\r\n--").next().unwrap_or_default();
    if !headers.contains("quoted-printable") {
        return body.to_owned();
    }
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("3F");
            out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The path of the first link in `text` that starts with `BASE{prefix}`.
fn link(text: &str, prefix: &str) -> String {
    let start = format!("{BASE}{prefix}");
    let at = text.find(&start).unwrap_or_else(|| panic!("no {start} link in {text}"));
    let url = text[at..].split(|c: char| c.is_whitespace()).next().unwrap_or_default();
    url.strip_prefix(BASE).unwrap_or_default().to_owned()
}

async fn subscribers(app: &TestApp, slug: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/status-pages/{slug}/subscribers"), &app.admin.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

/// Publishes an update of a new public incident on page `slug` through the store.
async fn publish(app: &TestApp, slug: &str, title: &str, body: &str) {
    let page = app.store.status_page(slug).await.unwrap_or_else(|e| panic!("{e}"));
    let new = NewNotice {
        page_id: page.id,
        notice_id: None,
        kind: NoticeKind::Incident,
        incident_id: None,
        title: title.to_owned(),
        impact: Impact::Major,
        component_ids: Vec::new(),
        scheduled_for: None,
        scheduled_until: None,
    };
    firebreak_server::app::status_pages::subscribers::ready(&app.state)
        .await
        .unwrap_or_else(|e| panic!("{}", e.message));
    let actor = Actor::system("test", Via::Api);
    app.store
        .post_status_update(new, NoticeStatus::Investigating, body, true, &message_for(&app.state), &actor)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Checks a Standard Webhooks signature: `v1,` base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`
/// under the secret's key (the base64 after `whsec_`).
fn signature_is_valid(secret: &str, id: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some(key) = secret.strip_prefix("whsec_").and_then(|k| b64.decode(k).ok()) else { return false };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&key) else { return false };
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
    signature.split(' ').any(|s| s == expected)
}

async fn readers_opt_in_get_updates_and_unsubscribe_in_one_click(backend: Backend) {
    let mut smtp = SmtpServer::start().await;
    let Some(app) = app(backend, &smtp, true).await else { return };
    let component = page_with_component(&app, "acme", "Acme <b>status</b>", true).await;
    let mut hook = HttpReceiver::start(200, "{}").await;

    // Sign up from the page (same origin), about the API component.
    let fields = [("email", "Reader@Example.com"), ("component", component.as_str())];
    let r = app.send(sign_up("acme", Some(BASE), &fields)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("Check your inbox"), "{}", r.text);
    assert!(r.text.contains("Acme &#60;b&#62;status&#60;/b&#62;") && !r.text.contains("<b>status"), "{}", r.text);
    let listed = subscribers(&app, "acme").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0]["address"].as_str(), &listed[0]["confirmed_at"]), (Some("reader@example.com"), &Value::Null));
    assert_eq!(listed[0]["components"], json!([component]));

    // The confirmation email, and its link.
    let got = mail(&app, &mut smtp, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].to, vec!["reader@example.com".to_owned()]);
    assert!(got[0].header("Subject").contains("Confirm"), "{}", got[0].data);
    assert_eq!(got[0].header("List-Unsubscribe"), "", "no list yet");
    let confirm = link(&text_of(&got[0]), "/status/acme/subscribe/confirm/");
    let r = app.send(get(&confirm)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("Subscribed"), "{}", r.text);
    assert!(subscribers(&app, "acme").await[0]["confirmed_at"].is_string());
    // Again: still fine, and a second sign-up sends nothing to a confirmed address (and
    // answers as for a new one).
    assert_eq!(app.send(get(&confirm)).await.status, StatusCode::OK);
    let again = app.send(sign_up("acme", None, &[("email", "reader@example.com")])).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let fresh = app.send(sign_up("acme", Some(BASE), &[("email", "new@example.com")])).await;
    assert_eq!(again.text, fresh.text, "the same answer whether the address was known or not");
    let got = mail(&app, &mut smtp, 1).await;
    assert_eq!(got.iter().map(|m| m.to.clone()).collect::<Vec<_>>(), vec![vec!["new@example.com".to_owned()]]);

    // A webhook subscriber, added by an admin: its secret is shown once.
    let r = app
        .post(
            "/api/v1/status-pages/acme/subscribers",
            &app.admin.token,
            json!({"kind": "webhook", "url": format!("{}/hook", hook.url)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let secret = r.body["secret"].as_str().unwrap_or_default().to_owned();
    assert!(secret.starts_with("whsec_"), "{}", r.text);
    assert!(r.body["subscriber"]["confirmed_at"].is_string(), "{}", r.text);
    let listed = subscribers(&app, "acme").await;
    assert!(!listed.iter().any(|s| s.to_string().contains(&secret)), "the secret is not shown again");
    let export = app.get("/api/v1/status-pages/acme/subscribers/export", &app.admin.token).await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text);
    let disposition = export.headers.get(header::CONTENT_DISPOSITION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let rows = export.body.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 3, "{}", export.text);
    let kinds: Vec<&str> = rows.iter().filter_map(|s| s["kind"].as_str()).collect();
    assert_eq!(kinds, vec!["email", "email", "webhook"]);
    for key in ["id", "kind", "address", "components", "confirmed_at", "created_at"] {
        assert!(rows.iter().all(|s| s.get(key).is_some()), "{key}: {}", export.text);
    }

    // An update: the confirmed reader is emailed with one-click unsubscribe headers; the
    // unconfirmed address gets nothing; the webhook gets it signed.
    publish(&app, "acme", "Checkout <errors>", "We are looking into failed payments.").await;
    let got = mail(&app, &mut smtp, 1).await;
    assert_eq!(got.len(), 1, "only the confirmed reader: {got:?}");
    let update = &got[0];
    assert_eq!(update.to, vec!["reader@example.com".to_owned()]);
    assert_eq!(update.header("Subject"), "Checkout <errors>: Investigating", "{}", update.data);
    let header_link = update.header("List-Unsubscribe");
    assert!(
        header_link.starts_with(&format!("<{BASE}/status/unsubscribe/")) && header_link.ends_with('>'),
        "{header_link}"
    );
    assert_eq!(update.header("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
    let text = text_of(update);
    assert!(text.contains("We are looking into failed payments."), "{text}");
    let unsubscribe = link(&text, "/status/unsubscribe/");
    assert_eq!(format!("<{BASE}{unsubscribe}>"), header_link, "the body and the header agree");
    // The page link leads to the page.
    let r = app.send(get(&link(&text, "/status/pages/"))).await;
    assert_eq!((r.status, common::location(&r)), (StatusCode::SEE_OTHER, "/status/acme".to_owned()));

    let delivery = tokio::time::timeout(std::time::Duration::from_secs(10), hook.next())
        .await
        .unwrap_or_else(|_| panic!("no webhook delivery"));
    assert_eq!(delivery.path, "/hook");
    let (id, ts, sig) =
        (delivery.header("webhook-id"), delivery.header("webhook-timestamp"), delivery.header("webhook-signature"));
    assert!(signature_is_valid(&secret, id, ts, &delivery.body, sig), "{id} {ts} {sig}");
    assert!(!signature_is_valid(&secret, id, ts, b"{\"tampered\":true}", sig));
    let payload = delivery.json();
    assert_eq!(payload["data"]["subject"], "Checkout <errors>: Investigating", "{payload}");
    assert!(payload["data"]["text"].as_str().is_some_and(|t| t.contains("failed payments")), "{payload}");

    // The unsubscribe link opens a page with a button (a GET changes nothing) …
    let r = app.send(get(&unsubscribe)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("data-testid=\"unsubscribe\""), "{}", r.text);
    assert_eq!(subscribers(&app, "acme").await.len(), 3);
    // … and the one-click POST unsubscribes; doing it again is no error.
    let r = app.send(one_click(&unsubscribe)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("Unsubscribed"), "{}", r.text);
    let left = subscribers(&app, "acme").await;
    assert!(!left.iter().any(|s| s["address"] == "reader@example.com"), "{left:?}");
    assert_eq!(app.send(one_click(&unsubscribe)).await.status, StatusCode::OK);

    // A later update reaches the webhook only.
    publish(&app, "acme", "Checkout", "Fixed.").await;
    let got = mail(&app, &mut smtp, 0).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let got: Vec<Mail> = got.into_iter().chain(smtp.drain()).collect();
    assert!(got.is_empty(), "nothing for the unsubscribed reader: {got:?}");
    let delivery = tokio::time::timeout(std::time::Duration::from_secs(10), hook.next())
        .await
        .unwrap_or_else(|_| panic!("no second webhook delivery"));
    assert!(String::from_utf8_lossy(&delivery.body).contains("Fixed."));

    // Admins delete a subscriber.
    let webhook_id = subscribers(&app, "acme")
        .await
        .iter()
        .find(|s| s["kind"] == "webhook")
        .and_then(|s| s["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let path = format!("/api/v1/status-pages/acme/subscribers/{webhook_id}");
    assert_eq!(app.call(Method::DELETE, &path, &app.admin.token, None).await.status, StatusCode::NO_CONTENT);
    assert_error(&app.call(Method::DELETE, &path, &app.admin.token, None).await, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(subscribers(&app, "acme").await.len(), 1);
}

async fn bad_links_input_and_callers_are_refused(backend: Backend) {
    let mut smtp = SmtpServer::start().await;
    let Some(app) = app(backend, &smtp, false).await else { return };
    page_with_component(&app, "acme", "Acme", true).await;
    page_with_component(&app, "inside", "Inside", false).await;
    let r = app.send(sign_up("acme", Some(BASE), &[("email", "reader@example.com")])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let got = mail(&app, &mut smtp, 1).await;
    let confirm = link(&text_of(&got[0]), "/status/acme/subscribe/confirm/");
    let id = subscribers(&app, "acme").await[0]["id"].as_str().unwrap_or_default().to_owned();

    // Bad tokens, another page's link, ids that are not ids: 404, and nothing changes.
    let (prefix, token) = confirm.rsplit_once('/').unwrap_or_default();
    let mut flipped = token.to_owned();
    let last = if flipped.ends_with('A') { "B" } else { "A" };
    flipped.replace_range(flipped.len() - 1.., last);
    for bad in [
        format!("{prefix}/{flipped}"),
        format!("{prefix}/"),
        format!("{prefix}/not-base64!"),
        confirm.replace("/status/acme/", "/status/inside/"),
        format!("/status/acme/subscribe/confirm/nope/{token}"),
        format!("/status/unsubscribe/{id}/{token}"),
    ] {
        let r = app.send(get(&bad)).await;
        assert!(matches!(r.status, StatusCode::NOT_FOUND), "{bad}: {} {}", r.status, r.text);
    }
    for bad in [format!("/status/unsubscribe/{id}/{token}"), format!("/status/unsubscribe/{id}/{flipped}")] {
        assert_eq!(app.send(one_click(&bad)).await.status, StatusCode::NOT_FOUND, "{bad}");
    }
    let listed = subscribers(&app, "acme").await;
    assert_eq!((listed.len(), &listed[0]["confirmed_at"]), (1, &Value::Null), "{listed:?}");

    // Malformed addresses and unknown components: 422, nothing stored or sent.
    for email in ["", "reader", "a@b@c", "<script>@x.io", "reader@example.com\r\nBcc: x@y.z"] {
        let r = app.send(sign_up("acme", Some(BASE), &[("email", email)])).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{email:?}: {}", r.text);
        assert!(!r.text.contains("<script>"), "{}", r.text);
    }
    let r = app.send(sign_up("acme", None, &[("email", "x@example.com"), ("component", "nope")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let other = uuid::Uuid::now_v7().to_string();
    let r = app.send(sign_up("acme", None, &[("email", "x@example.com"), ("component", &other)])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    // From another site's form: refused.
    for origin in ["https://evil.example", "null"] {
        let r = app.send(sign_up("acme", Some(origin), &[("email", "victim@example.com")])).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{origin}: {}", r.text);
    }
    // A private page is for signed-in readers; an unknown page is not found.
    let r = app.send(sign_up("inside", Some(BASE), &[("email", "x@example.com")])).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let r = app.send(sign_up("nowhere", Some(BASE), &[("email", "x@example.com")])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(subscribers(&app, "acme").await.len(), 1);
    assert_eq!(subscribers(&app, "inside").await.len(), 0);
    assert!(mail(&app, &mut smtp, 0).await.is_empty());

    // Admin routes: admins only; bad webhooks refused.
    let routes = [
        (Method::GET, "/api/v1/status-pages/acme/subscribers".to_owned(), None),
        (Method::GET, "/api/v1/status-pages/acme/subscribers/export".to_owned(), None),
        (
            Method::POST,
            "/api/v1/status-pages/acme/subscribers".to_owned(),
            Some(json!({"kind": "webhook", "url": "https://hooks.example.com/x"})),
        ),
        (Method::DELETE, format!("/api/v1/status-pages/acme/subscribers/{id}"), None),
    ];
    for token in [&app.responder.token, &app.viewer.token] {
        for (method, path, body) in &routes {
            let r = app.call(method.clone(), path, token, body.clone()).await;
            assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
        }
    }
    for (method, path, body) in &routes {
        let r = app.raw(method.clone(), path, None, body.as_ref().map(Value::to_string)).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let add = "/api/v1/status-pages/acme/subscribers";
    for bad in [
        json!({"kind": "webhook", "url": "ftp://hooks.example.com/x"}),
        json!({"kind": "webhook", "url": "http://127.0.0.1:9/hook"}),
        json!({"kind": "webhook", "url": "http://[::1]/hook"}),
        json!({"kind": "webhook", "url": "http://10.1.2.3/hook"}),
        json!({"kind": "email", "email": "nope"}),
        json!({"kind": "sms", "to": "+15550100"}),
        json!({"kind": "webhook", "url": "https://hooks.example.com/x", "secret": "mine"}),
    ] {
        let r = app.post(add, &app.admin.token, bad.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", r.text);
    }
    assert_error(
        &app.post(
            "/api/v1/status-pages/nowhere/subscribers",
            &app.admin.token,
            json!({"kind": "email", "email": "a@b.io"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(subscribers(&app, "acme").await.len(), 1, "nothing was added");
    // Another page's subscriber is not this page's to delete.
    let r = app
        .call(Method::DELETE, &format!("/api/v1/status-pages/inside/subscribers/{id}"), &app.admin.token, None)
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = app.call(Method::DELETE, "/api/v1/status-pages/acme/subscribers/nope", &app.admin.token, None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(subscribers(&app, "acme").await.len(), 1);

    // A signed-in reader may subscribe to a private page.
    let cookie = common::sign_in(&app, "viewer@example.com").await;
    let mut req = sign_up("inside", Some(BASE), &[("email", "viewer@example.com")]);
    req.headers_mut().insert(header::COOKIE, cookie.parse().unwrap_or_else(|e| panic!("{e}")));
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(subscribers(&app, "inside").await.len(), 1);
}

macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )+
        }
    };
}

on_both!(readers_opt_in_get_updates_and_unsubscribe_in_one_click, bad_links_input_and_callers_are_refused);

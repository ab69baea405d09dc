//! Test harness: the whole app in process on a fresh database — a temporary SQLite file, or a
//! fresh PostgreSQL schema when `FIREBREAK_TEST_POSTGRES_URL` is set — with an admin, a
//! responder and a viewer, each holding an API token. Requests go through
//! `tower::ServiceExt::oneshot`; `serve()` gives a real socket when one matters.

#![allow(dead_code)]

pub mod receiver;
pub mod smtp;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use firebreak_domain::{Actor, UserRole, Via};
use firebreak_server::app::access::{create_account, issue_token};
use firebreak_server::{AppState, ServerConfig};
use firebreak_store::{DynStore, User};
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const PASSWORD: &str = "correct horse battery staple";

pub struct Member {
    pub user: User,
    pub token: String,
}

pub struct TestApp {
    pub app: Router,
    pub state: AppState,
    pub store: DynStore,
    pub admin: Member,
    pub responder: Member,
    pub viewer: Member,
    /// The app's clock; tests move it forward.
    pub clock: Arc<firebreak_server::ManualClock>,
    _dir: Option<tempfile::TempDir>,
    _shutdown: tokio::sync::watch::Sender<bool>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestApp {
    /// A fresh app, or `None` when the backend is not available here (PostgreSQL without
    /// `FIREBREAK_TEST_POSTGRES_URL`).
    pub async fn new(backend: Backend) -> Option<TestApp> {
        let (store, dir): (DynStore, _) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
                let url = format!("sqlite://{}/firebreak.db", dir.path().display());
                let store = firebreak_store_sqlite::SqliteStore::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
                (Arc::new(store), Some(dir))
            }
            Backend::Postgres => (Arc::new(firebreak_store_postgres::testing::fresh_store().await?), None),
        };
        let (tx, rx) = tokio::sync::watch::channel(false);
        let clock = Arc::new(firebreak_server::ManualClock::default());
        let state = AppState::new(store.clone(), ServerConfig::default(), rx).with_clock(clock.clone());
        let app = firebreak_server::app(state.clone());
        let setup = Actor::system("test setup", Via::Admin);
        let member = async |email: &str, role: UserRole| {
            let (user, _) = create_account(&store, &setup, email, email, role, Some(PASSWORD.into()))
                .await
                .unwrap_or_else(|e| panic!("{}", e.message));
            let (_, token) =
                issue_token(&store, &setup, user.id, "test").await.unwrap_or_else(|e| panic!("{}", e.message));
            Member { user, token }
        };
        let admin = member("admin@example.com", UserRole::Admin).await;
        let responder = member("responder@example.com", UserRole::Responder).await;
        let viewer = member("viewer@example.com", UserRole::Viewer).await;
        Some(TestApp { app, state, store, admin, responder, viewer, clock, _dir: dir, _shutdown: tx })
    }

    /// A fresh app as [`TestApp::new`] builds it, but running with `config` (rate limits,
    /// queue sizes, …).
    pub async fn with_config(backend: Backend, config: ServerConfig) -> Option<TestApp> {
        let mut t = TestApp::new(backend).await?;
        let state = AppState::new(t.store.clone(), config, t._shutdown.subscribe()).with_clock(t.clock.clone());
        t.app = firebreak_server::app(state.clone());
        t.state = state;
        Some(t)
    }

    /// Sends a request built by the caller.
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.app.clone().oneshot(req).await.unwrap_or_else(|e| match e {});
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, body, text }
    }

    /// A JSON API call with a bearer token (or none) and an optional raw body.
    pub async fn raw(&self, method: Method, path: &str, token: Option<&str>, body: Option<String>) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b)),
            None => req.body(Body::empty()),
        };
        self.send(req.unwrap_or_else(|e| panic!("{e}"))).await
    }

    /// A JSON API call as `token`.
    pub async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
        self.raw(method, path, Some(token), body.map(|b| b.to_string())).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Declares an incident as the responder and returns its JSON.
    pub async fn declare(&self, title: &str) -> Value {
        let r = self
            .post(
                "/api/v1/incidents",
                &self.responder.token,
                serde_json::json!({"title": title, "severity": "high", "type": "outage"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body
    }

    /// A catalog service with a PagerDuty integration, made by the admin: its id and its
    /// routing key.
    pub async fn pagerduty_service(&self, name: &str) -> (String, String) {
        let s = self.post("/api/v1/services", &self.admin.token, serde_json::json!({"name": name})).await;
        assert_eq!(s.status, StatusCode::CREATED, "{}", s.text);
        let id = s.body["id"].as_str().unwrap_or_default().to_owned();
        let body = serde_json::json!({"type": "pagerduty", "name": "pd"});
        let i = self.post(&format!("/api/v1/services/{id}/integrations"), &self.admin.token, body).await;
        assert_eq!(i.status, StatusCode::CREATED, "{}", i.text);
        (id, i.body["key"].as_str().unwrap_or_default().to_owned())
    }

    /// Sends a PagerDuty trigger (severity error) to the integration with `key`; it is accepted.
    pub async fn trigger(&self, key: &str, dedup: &str, summary: &str) {
        let body = serde_json::json!({"routing_key": key, "event_action": "trigger", "dedup_key": dedup,
            "payload": {"summary": summary, "source": "test", "severity": "error"}});
        let r = self.raw(Method::POST, "/v2/enqueue", None, Some(body.to_string())).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    }

    /// Serves the app on a real socket on 127.0.0.1:0; returns its base URL.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let app = self.app.clone();
        let mut shutdown = self.state.shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .with_graceful_shutdown(async move {
                    let _ = shutdown.wait_for(|s| *s).await;
                })
                .await;
        });
        format!("http://{addr}")
    }
}

// ---------------------------------------------------------------- web pages and forms

/// The `Host` every web request carries, so pages that print URLs print this one.
pub const WEB_HOST: &str = "firebreak.example.com";

/// Percent-encodes a form value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A URL-encoded form submission with the session `cookie`.
pub fn form(method: Method, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let body: String = fields.iter().map(|(k, v)| format!("{}={}", k, urlencode(v))).collect::<Vec<_>>().join("&");
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, WEB_HOST)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A page request with the session `cookie`.
pub fn page(path: &str, cookie: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header(header::HOST, WEB_HOST)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Gets a page as the signed-in user (it must answer 200); returns it with its CSRF token.
pub async fn get_page(app: &TestApp, path: &str, cookie: &str) -> (Reply, String) {
    let r = app.send(page(path, cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    let csrf = csrf_of(&r.text);
    (r, csrf)
}

/// The first `name="csrf" value="…"` on a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    html.find(marker)
        .map(|i| &html[i + marker.len()..])
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
        .to_owned()
}

/// Every `Set-Cookie` of a reply.
pub fn set_cookies(r: &Reply) -> Vec<String> {
    r.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
}

/// The value a reply sets for cookie `name`.
pub fn cookie_value(r: &Reply, name: &str) -> Option<String> {
    set_cookies(r)
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap_or("").to_owned()))
}

/// One sign-in through the form, with the login page's CSRF token and cookie.
pub async fn login_attempt(app: &TestApp, email: &str, password: &str) -> Reply {
    let r = app.send(page("/login", "")).await;
    let csrf = csrf_of(&r.text);
    let pre = cookie_value(&r, "fb_login_csrf").unwrap_or_default();
    app.send(form(
        Method::POST,
        "/login",
        &format!("fb_login_csrf={pre}"),
        &[("email", email), ("password", password), ("csrf", &csrf), ("next", "/incidents")],
    ))
    .await
}

/// Signs in and returns the `Cookie` header value for the session.
pub async fn sign_in(app: &TestApp, email: &str) -> String {
    let r = login_attempt(app, email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let session = cookie_value(&r, "fb_session").unwrap_or_else(|| panic!("no session cookie: {:?}", set_cookies(&r)));
    format!("fb_session={session}")
}

/// Where a redirect points.
pub fn location(r: &Reply) -> String {
    r.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// The text of the element carrying `data-testid="ID"` (up to the next tag).
pub fn testid(html: &str, id: &str) -> Option<String> {
    let marker = format!("data-testid=\"{id}\">");
    let start = html.find(&marker)? + marker.len();
    let rest = &html[start..];
    let rest = rest.strip_prefix("<code>").unwrap_or(rest);
    rest.split('<').next().map(str::to_owned)
}

/// Undoes askama's HTML escaping.
pub fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// Asserts the documented error envelope with `code`.
pub fn assert_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["error"]["code"], code, "{}", r.text);
    assert!(r.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.text);
}

/// Declares each test twice: on SQLite, and on PostgreSQL (skipped without a server).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = $crate::common::TestApp::new($crate::common::Backend::Sqlite).await else { return };
                    super::$name(app).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = $crate::common::TestApp::new($crate::common::Backend::Postgres).await else { return };
                    super::$name(app).await;
                }
            )+
        }
    };
}

/// Runs each `async fn name(backend: Backend)` on SQLite and on PostgreSQL (for tests that
/// build their app themselves, with their own settings).
#[macro_export]
macro_rules! for_each_backend {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )+
        }
    };
}

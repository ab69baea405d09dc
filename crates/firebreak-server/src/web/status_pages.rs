//! The status pages as their readers fetch them: the page itself (`/status/{slug}`,
//! server-rendered HTML, no JavaScript, its own small stylesheet) and the Atlassian Statuspage v2 public JSON
//! (`/status/{slug}/api/v2/summary.json`, `status.json`, `components.json`) with the field
//! names and values Statuspage clients read. Public pages need no sign-in; a private page
//! answers 401 unless the reader is signed in. Answers carry an `ETag` (a repeat with
//! `If-None-Match` gets 304) and a short `max-age` (`private, no-store` for private pages).

use crate::AppState;
use crate::app::status_pages::{self, Derived};
use crate::auth;
use crate::error::{ApiError, ApiResult};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use firebreak_domain::status_page::ComponentStatus;
use firebreak_domain::time::canonical;
use firebreak_store::StatusComponent;
use serde_json::{Value, json};
use sha2::Digest;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status/{slug}", get(status_page))
        .route("/status/{slug}/api/v2/{document}", get(status_json))
        .route("/static/status.css", get(stylesheet))
}

async fn stylesheet() -> Response {
    let css = include_str!("../../static/status.css");
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")], css)
        .into_response()
}

/// One line of the page: a component, or a group with its members.
struct Row {
    name: String,
    status: &'static str,
    label: &'static str,
    members: Vec<Row>,
}

#[derive(askama::Template)]
#[template(path = "status_page.html")]
struct StatusPageView {
    name: String,
    slug: String,
    indicator: &'static str,
    description: &'static str,
    rows: Vec<Row>,
    updated: String,
    updated_iso: String,
}

/// The page `slug`, as its readers see it.
async fn status_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, super::WebError> {
    let reader = auth::session_principal(&headers, &state).await?;
    let derived = match status_pages::read(&state, &slug, reader.as_ref()).await {
        Ok(d) => d,
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            return Err(super::WebError::new(StatusCode::NOT_FOUND, "There is no such status page."));
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            return Err(super::WebError::SignIn { next: format!("/status/{slug}") });
        }
        Err(e) => return Err(e.into()),
    };
    let row = |name: &str, status: ComponentStatus| Row {
        name: name.to_owned(),
        status: status.as_str(),
        label: status.label(),
        members: Vec::new(),
    };
    let groups = groups(&derived);
    let mut rows: Vec<Row> = Vec::new();
    for (c, status) in &derived.components {
        match groups.iter().find(|g| g.name == c.group_name) {
            None => rows.push(row(&c.name, *status)),
            // A group stands where its first member does.
            Some(g) if g.members[0].0.id == c.id => rows.push(Row {
                members: g.members.iter().map(|(m, s)| row(&m.name, *s)).collect(),
                ..row(g.name, g.status)
            }),
            Some(_) => {}
        }
    }
    let view = StatusPageView {
        name: derived.page.name.clone(),
        slug: derived.page.slug.clone(),
        indicator: derived.indicator.0.as_str(),
        description: derived.indicator.1,
        rows,
        updated: super::show_time(&derived.updated_at),
        updated_iso: canonical(derived.updated_at),
    };
    let html = askama::Template::render(&view).map_err(|_| super::WebError::from(ApiError::internal()))?;
    Ok(cached(&headers, derived.page.public, "text/html; charset=utf-8", html))
}

/// `summary.json`, `status.json` or `components.json` of the page `slug`.
async fn status_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((slug, document)): Path<(String, String)>,
) -> ApiResult<Response> {
    let reader = auth::session_principal(&headers, &state).await?;
    let derived = status_pages::read(&state, &slug, reader.as_ref()).await?;
    let body = match document.as_str() {
        "summary.json" => json!({
            "page": page_json(&derived),
            "components": components_json(&derived),
            "incidents": [],
            "scheduled_maintenances": [],
            "status": status_of(&derived),
        }),
        "status.json" => json!({ "page": page_json(&derived), "status": status_of(&derived) }),
        "components.json" => json!({ "page": page_json(&derived), "components": components_json(&derived) }),
        _ => return Err(ApiError::not_found("status page document")),
    };
    Ok(cached(&headers, derived.page.public, "application/json", body.to_string()))
}

fn page_json(d: &Derived) -> Value {
    json!({
        "id": d.page.id,
        "name": d.page.name,
        "url": format!("/status/{}", d.page.slug),
        "time_zone": "Etc/UTC",
        "updated_at": canonical(d.updated_at),
    })
}

fn status_of(d: &Derived) -> Value {
    json!({ "indicator": d.indicator.0.as_str(), "description": d.indicator.1 })
}

/// Components shown under one group name; Statuspage shows it as a component of its own.
struct Group<'a> {
    /// Its first member's id, marked, so it stays put while that one does.
    id: String,
    name: &'a str,
    members: Vec<&'a (StatusComponent, ComponentStatus)>,
    position: i64,
    /// The worst of its members'.
    status: ComponentStatus,
}

/// The page's groups, in the order of their first members.
fn groups(d: &Derived) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    for member in d.components.iter().filter(|(c, _)| !c.group_name.is_empty()) {
        let (c, status) = member;
        match groups.iter_mut().find(|g| g.name == c.group_name) {
            Some(g) => {
                g.members.push(member);
                if status.rank() > g.status.rank() {
                    g.status = *status;
                }
            }
            None => groups.push(Group {
                id: format!("group-{}", c.id),
                name: &c.group_name,
                members: vec![member],
                position: c.position,
                status: *status,
            }),
        }
    }
    groups
}

/// The components in Statuspage's shape: each group is a component with `group: true` and
/// the ids of its `components`, whose members point back with `group_id`.
fn components_json(d: &Derived) -> Vec<Value> {
    let page_id = d.page.id.to_string();
    let groups = groups(d);
    let component = |id: &str, name: &str, status: ComponentStatus, position: i64, group_id: Option<&str>| {
        json!({
            "id": id, "name": name, "status": status.as_str(),
            "created_at": canonical(d.page.created_at), "updated_at": canonical(d.updated_at),
            "position": position, "description": null, "showcase": true, "start_date": null,
            "group_id": group_id, "page_id": page_id, "group": false, "only_show_if_degraded": false,
        })
    };
    let mut out = Vec::new();
    for (c, status) in &d.components {
        let group = groups.iter().find(|g| g.name == c.group_name).map(|g| g.id.as_str());
        out.push(component(&c.id.to_string(), &c.name, *status, c.position, group));
    }
    for g in &groups {
        let mut shown = component(&g.id, g.name, g.status, g.position, None);
        shown["group"] = json!(true);
        shown["components"] = json!(g.members.iter().map(|(m, _)| m.id.to_string()).collect::<Vec<_>>());
        out.push(shown);
    }
    out
}

/// The answer with its validator: 304 when the reader already has this body.
fn cached(headers: &HeaderMap, public: bool, content_type: &'static str, body: String) -> Response {
    let etag = format!("\"{}\"", hex::encode(&sha2::Sha256::digest(body.as_bytes())[..16]));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let cache = if public { "public, max-age=10" } else { "private, no-store" };
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if public {
        // Anyone's dashboard may read a public page's JSON.
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    res
}

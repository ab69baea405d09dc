//! The status pages as their readers fetch them: the page itself (`/status/{slug}`,
//! server-rendered HTML, no JavaScript, its own small stylesheet), the Atlassian Statuspage
//! v2 public JSON and the Atom and RSS feeds ([`super::status_feeds`]). Public pages need no
//! sign-in; a private page answers 401 unless the reader is signed in or brings the page's
//! shared token (`?token=`, kept in a cookie for the page's path). Answers come from the page
//! cache (cleared on every change) and carry an `ETag` (a repeat with `If-None-Match` gets
//! 304) and a short `max-age` (`private, no-store` for private pages). A page with a custom
//! domain is also served at that host: `/`, `/api/v2/…`, `/history.atom`, `/history.rss`.

use super::status_feeds;
use crate::AppState;
use crate::app::status_pages::cache::Cached;
use crate::app::status_pages::history;
use crate::app::status_pages::{self, Derived};
use crate::auth;
use crate::error::{ApiError, ApiResult};
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use firebreak_domain::Timestamp;
use firebreak_domain::status_page::ComponentStatus;
use firebreak_domain::time::canonical;
use firebreak_store::{StatusComponent, StatusNotice};
use serde::Deserialize;
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status/{slug}", get(status_page))
        .route("/status/{slug}/api/v2/{document}", get(status_json))
        .route("/status/{slug}/api/v2/{folder}/{document}", get(status_json_in))
        .route("/status/{slug}/{feed}", get(status_feed))
        .route("/static/status.css", get(stylesheet))
}

async fn stylesheet() -> Response {
    let css = include_str!("../../static/status.css");
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")], css)
        .into_response()
}

/// The shared token a reader of a private page may bring.
#[derive(Debug, Default, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// The cookie that keeps a page's shared token for its other documents.
fn token_cookie(slug: &str) -> String {
    format!("status_token_{slug}")
}

/// What readers fetch: one document of one page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Doc {
    Page,
    Json(status_feeds::Json),
    Atom,
    Rss,
}

impl Doc {
    fn key(self) -> &'static str {
        match self {
            Doc::Page => "page",
            Doc::Json(j) => j.name(),
            Doc::Atom => "history.atom",
            Doc::Rss => "history.rss",
        }
    }
}

/// The page `slug`, as its readers see it.
async fn status_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(q): Query<TokenQuery>,
) -> Result<Response, super::WebError> {
    match serve(&state, &headers, &slug, q.token.as_deref(), Doc::Page).await {
        Ok(r) => Ok(r),
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            Err(super::WebError::new(StatusCode::NOT_FOUND, "There is no such status page."))
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            Err(super::WebError::SignIn { next: format!("/status/{slug}") })
        }
        Err(e) => Err(e.into()),
    }
}

/// `summary.json`, `status.json`, `components.json`, `incidents.json` or
/// `scheduled-maintenances.json` of the page `slug`.
async fn status_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((slug, document)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
) -> ApiResult<Response> {
    let doc = status_feeds::Json::named(&document).ok_or_else(|| ApiError::not_found("status page document"))?;
    serve(&state, &headers, &slug, q.token.as_deref(), Doc::Json(doc)).await
}

/// `incidents/unresolved.json`, `scheduled-maintenances/upcoming.json` and `…/active.json`.
async fn status_json_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((slug, folder, document)): Path<(String, String, String)>,
    Query(q): Query<TokenQuery>,
) -> ApiResult<Response> {
    let doc = status_feeds::Json::named(&format!("{folder}/{document}"))
        .ok_or_else(|| ApiError::not_found("status page document"))?;
    serve(&state, &headers, &slug, q.token.as_deref(), Doc::Json(doc)).await
}

/// `history.atom` and `history.rss`.
async fn status_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((slug, feed)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
) -> ApiResult<Response> {
    let doc = match feed.as_str() {
        "history.atom" => Doc::Atom,
        "history.rss" => Doc::Rss,
        _ => return Err(ApiError::not_found("status page document")),
    };
    serve(&state, &headers, &slug, q.token.as_deref(), doc).await
}

/// One document of a page for this reader: from the cache when nothing changed since it was
/// made, else made from the page as it is now.
async fn serve(
    state: &AppState,
    headers: &HeaderMap,
    slug: &str,
    token: Option<&str>,
    doc: Doc,
) -> ApiResult<Response> {
    if slug.len() > 63 {
        return Err(ApiError::not_found("status page"));
    }
    let token = token.or(auth::cookie(headers, &token_cookie(slug))).filter(|t| t.len() <= 128);
    let key = format!("{slug}|{}", doc.key());
    state.status_cache.settle(state).await?;
    let answer = match state.status_cache.get(&key) {
        Some(hit) => {
            if !hit.public && !may_read_private(state, headers, token, hit.token_hash.as_deref()).await? {
                return Err(ApiError::unauthorized());
            }
            hit
        }
        None => {
            // Readers who miss together wait for one answer instead of each making it.
            let maker = state.status_cache.maker(&key);
            let _making = maker.lock().await;
            state.status_cache.settle(state).await?;
            match state.status_cache.get(&key) {
                Some(hit) if hit.public => hit,
                _ => {
                    let generation = state.status_cache.generation();
                    let reader = auth::session_principal(headers, state).await?;
                    let derived = status_pages::read(state, slug, reader.as_ref(), token).await?;
                    let made = make(state, &derived, doc).await?;
                    state.status_cache.put(key, generation, made)
                }
            }
        }
    };
    let mut res = respond(headers, &answer);
    // A token that opened a private page is kept for its other documents.
    if let (false, Some(t), Doc::Page) = (answer.public, token, doc)
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{}={t}; Path=/status/{slug}; HttpOnly; SameSite=Lax; Max-Age=2592000",
            token_cookie(slug)
        ))
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

async fn may_read_private(
    state: &AppState,
    headers: &HeaderMap,
    token: Option<&str>,
    hash: Option<&str>,
) -> ApiResult<bool> {
    if token.zip(hash).is_some_and(|(t, h)| status_pages::settings::token_matches(t, h)) {
        return Ok(true);
    }
    Ok(auth::session_principal(headers, state).await?.is_some())
}

async fn make(state: &AppState, d: &Derived, doc: Doc) -> ApiResult<Cached> {
    let (body, content_type) = match doc {
        Doc::Page => (render_page(state, d).await?, "text/html; charset=utf-8"),
        Doc::Json(j) => (status_feeds::json(d, j, state.public_base()).to_string(), "application/json"),
        Doc::Atom => (status_feeds::atom(state, d), "application/atom+xml; charset=utf-8"),
        Doc::Rss => (status_feeds::rss(state, d), "application/rss+xml; charset=utf-8"),
    };
    Ok(Cached::new(body, content_type, d.page.public, d.page.token_hash.clone()))
}

/// The answer with its validator: 304 when the reader already has this body; gzipped for
/// readers who accept it (its own validator, as it is another body).
fn respond(headers: &HeaderMap, c: &Arc<Cached>) -> Response {
    let gzip = c.gzip.as_ref().filter(|_| {
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.split(';').next().is_some_and(|name| name.trim() == "gzip")))
    });
    let etag = match gzip {
        Some(_) => format!("{}-gz\"", c.etag.trim_end_matches('"')),
        None => c.etag.clone(),
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let cache = if c.public { "public, max-age=10" } else { "private, no-store" };
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if let Some(body) = gzip {
        ([(header::CONTENT_TYPE, c.content_type), (header::CONTENT_ENCODING, "gzip")], body.clone()).into_response()
    } else {
        ([(header::CONTENT_TYPE, c.content_type)], c.body.clone()).into_response()
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if c.content_type.starts_with("text/html") {
        // The page's logo may be on the team's own image host.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data: https:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            ),
        );
    }
    if c.public {
        // Anyone's dashboard may read a public page's JSON.
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    res
}

/// Serves pages at their custom domains: a request whose `Host` is a page's custom domain has
/// `/`, `/api/v2/…` and the feeds mapped to that page's paths; anything else there but the
/// page's own paths and its stylesheet is not found.
pub async fn custom_domains(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            h.rsplit_once(':').map_or(h, |(name, port)| if port.bytes().all(|b| b.is_ascii_digit()) { name } else { h })
        })
        .map(str::to_ascii_lowercase);
    let Some(host) = host.filter(|h| h.contains('.') && h.parse::<std::net::IpAddr>().is_err()) else {
        return next.run(req).await;
    };
    if own_host(&state).is_some_and(|own| own == host) {
        return next.run(req).await;
    }
    let slug = match state.status_cache.domain(&host) {
        Some(known) => known,
        None => {
            let found = match state.store.status_page_by_domain(&host).await {
                Ok(p) => Some(p.slug),
                Err(firebreak_store::StoreError::NotFound(_)) => None,
                Err(e) => return ApiError::from(e).into_response(),
            };
            state.status_cache.put_domain(&host, found.clone());
            found
        }
    };
    let Some(slug) = slug else { return next.run(req).await };
    let path = req.uri().path();
    let mapped = if path == "/" {
        format!("/status/{slug}")
    } else if path.starts_with("/api/v2/") || path == "/history.atom" || path == "/history.rss" {
        format!("/status/{slug}{path}")
    } else if path == "/static/status.css"
        || path == format!("/status/{slug}")
        || path.starts_with(&format!("/status/{slug}/"))
    {
        path.to_owned()
    } else {
        return ApiError::not_found("page").into_response();
    };
    let with_query = match req.uri().query() {
        Some(q) => format!("{mapped}?{q}"),
        None => mapped,
    };
    if let Ok(uri) = with_query.parse() {
        *req.uri_mut() = uri;
    }
    next.run(req).await
}

/// The host name of the server's own public address.
fn own_host(state: &AppState) -> Option<String> {
    url::Url::parse(state.public_base()).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase))
}

/// One line of the page: a component, or a group with its members.
struct Row {
    name: String,
    status: &'static str,
    label: &'static str,
    members: Vec<Row>,
    /// A component's uptime over the shown days, as the page writes it (empty for a group).
    percent: String,
    bars: Vec<Bar>,
}

/// One day of a component's history: its worst status as a colour, the rest in words.
struct Bar {
    class: &'static str,
    tip: String,
}

fn bars(u: Option<&history::ComponentUptime>) -> (String, Vec<Bar>) {
    let Some(u) = u else { return (String::new(), Vec::new()) };
    let percent = u.percent.map(|p| format!("{p:.2} % uptime")).unwrap_or_else(|| "no data yet".into());
    let bars = u
        .days
        .iter()
        .map(|d| {
            let m = &d.minutes;
            let mut parts: Vec<String> = [
                (m.major, "major outage"),
                (m.partial, "partial outage"),
                (m.degraded, "degraded performance"),
                (m.maintenance, "maintenance"),
            ]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{} {what}", duration(n)))
            .collect();
            if parts.is_empty() {
                parts.push(if m.total() == 0 { "no data".into() } else { "no downtime".into() });
            }
            let mut tip = format!("{}: {}", d.date, parts.join(", "));
            for n in &d.notices {
                tip.push_str(" · ");
                tip.push_str(n);
            }
            let class = if m.total() == 0 { "none" } else { d.worst.as_str() };
            Bar { class, tip }
        })
        .collect();
    (percent, bars)
}

/// `95 min` → `1 h 35 min`.
fn duration(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// A notice as the page shows it.
struct NoticeRow {
    id: String,
    title: String,
    impact: &'static str,
    status_label: &'static str,
    /// The maintenance window, as the page's time zone writes it.
    window: String,
    components: String,
    updates: Vec<UpdateRow>,
}

struct UpdateRow {
    status_label: &'static str,
    /// Markdown rendered safely.
    html: String,
    at: String,
    at_iso: String,
}

struct Link {
    label: String,
    url: String,
}

#[derive(askama::Template)]
#[template(path = "status_page.html")]
struct StatusPageView {
    name: String,
    slug: String,
    indicator: &'static str,
    description: &'static str,
    logo_url: String,
    accent: String,
    rows: Vec<Row>,
    active: Vec<NoticeRow>,
    maintenance: Vec<NoticeRow>,
    past: Vec<NoticeRow>,
    footer_links: Vec<Link>,
    updated: String,
    updated_iso: String,
    time_zone: String,
    /// The whole page's uptime over the shown days.
    uptime: String,
    days: u32,
}

async fn render_page(state: &AppState, d: &Derived) -> ApiResult<String> {
    let tz = time_zone(d);
    let components: Vec<StatusComponent> = d.components.iter().map(|(c, _)| c.clone()).collect();
    let (uptimes, overall) =
        history::uptime(state, &d.page, &components, &d.notices, state.clock.now(), history::DAYS).await?;
    let row = |name: &str, status: ComponentStatus| Row {
        name: name.to_owned(),
        status: status.as_str(),
        label: status.label(),
        members: Vec::new(),
        percent: String::new(),
        bars: Vec::new(),
    };
    let component_row = |c: &StatusComponent, status: ComponentStatus| {
        let (percent, bars) = bars(uptimes.iter().find(|u| u.component_id == c.id));
        Row { percent, bars, ..row(&c.name, status) }
    };
    let groups = groups(d);
    let mut rows: Vec<Row> = Vec::new();
    for (c, status) in &d.components {
        match groups.iter().find(|g| g.name == c.group_name) {
            None => rows.push(component_row(c, *status)),
            // A group stands where its first member does.
            Some(g) if g.members[0].0.id == c.id => rows.push(Row {
                members: g.members.iter().map(|(m, s)| component_row(m, *s)).collect(),
                ..row(g.name, g.status)
            }),
            Some(_) => {}
        }
    }
    let notice_row = |n: &StatusNotice| NoticeRow {
        id: n.id.to_string(),
        title: n.title.clone(),
        impact: n.impact.as_str(),
        status_label: n.status.label(),
        window: match (n.scheduled_for, n.scheduled_until) {
            (Some(from), Some(to)) => format!("{} – {}", show(from, &tz), show(to, &tz)),
            _ => String::new(),
        },
        components: d
            .components
            .iter()
            .filter(|(c, _)| n.component_ids.contains(&c.id))
            .map(|(c, _)| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        updates: n
            .updates
            .iter()
            .rev()
            .map(|u| {
                let at = u.published_at.unwrap_or(u.created_at);
                UpdateRow {
                    status_label: u.status.label(),
                    html: crate::views::markdown::render(&u.body),
                    at: show(at, &tz),
                    at_iso: canonical(at),
                }
            })
            .collect(),
    };
    let view = StatusPageView {
        name: d.page.name.clone(),
        slug: d.page.slug.clone(),
        indicator: d.indicator.0.as_str(),
        description: d.indicator.1,
        logo_url: d.page.branding.logo_url.clone().unwrap_or_default(),
        accent: d.page.branding.accent.clone().unwrap_or_default(),
        rows,
        active: d.unresolved().map(notice_row).collect(),
        maintenance: d.upcoming_maintenance().map(notice_row).collect(),
        past: d.notices.iter().filter(|n| n.status.is_final()).take(20).map(notice_row).collect(),
        footer_links: d
            .page
            .branding
            .footer_links
            .iter()
            .map(|l| Link { label: l.label.clone(), url: l.url.clone() })
            .collect(),
        updated: show(d.updated_at, &tz),
        updated_iso: canonical(d.updated_at),
        time_zone: tz.iana_name().unwrap_or("UTC").to_owned(),
        uptime: overall.map(|p| format!("{p:.2} %")).unwrap_or_default(),
        days: history::DAYS,
    };
    askama::Template::render(&view).map_err(|_| ApiError::internal())
}

/// The page's time zone (UTC unless set).
pub fn time_zone(d: &Derived) -> jiff::tz::TimeZone {
    d.page
        .branding
        .time_zone
        .as_deref()
        .and_then(|z| jiff::tz::TimeZone::get(z).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC)
}

/// An instant as a page in `tz` writes it: `3 Dec 2026, 17:05 CET`.
pub fn show(at: Timestamp, tz: &jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_second(at.timestamp()) {
        Ok(t) => t.to_zoned(tz.clone()).strftime("%-d %b %Y, %H:%M %Z").to_string(),
        Err(_) => canonical(at),
    }
}

/// Components shown under one group name; Statuspage shows it as a component of its own.
pub struct Group<'a> {
    /// Its first member's id, marked, so it stays put while that one does.
    pub id: String,
    pub name: &'a str,
    pub members: Vec<&'a (StatusComponent, ComponentStatus)>,
    pub position: i64,
    /// The worst of its members'.
    pub status: ComponentStatus,
}

/// The page's groups, in the order of their first members.
pub fn groups(d: &Derived) -> Vec<Group<'_>> {
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

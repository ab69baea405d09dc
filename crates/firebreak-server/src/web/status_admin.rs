//! The status page screens of the app: every page with what its components show and why;
//! responders set a component's status by hand (or give it back to its services), post public
//! incidents and their updates, publish drafts and schedule maintenance; admins create pages,
//! add components and change a page's settings (look, access, custom domain). The forms call
//! `app::status_pages`, as the API does.

use super::{Chrome, Submitted, WebPrincipal, WebResult, answer, render, see};
use crate::AppState;
use crate::app::status_pages::notices::{self, AddUpdate, NoticeView, PostNotice, ScheduleMaintenance};
use crate::app::status_pages::settings::{self, SettingsBody};
use crate::app::status_pages::{self, CreateComponent, CreatePage, PageView, SetStatus};
use crate::auth::Principal;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use firebreak_domain::status_page::{ComponentStatus, NoticeKind, NoticeStatus};
use firebreak_store::{FooterLink, PageBranding};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/status-pages", get(list_status_pages).post(create_status_page))
        .route("/admin/status-pages/{slug}/components", post(create_status_component))
        .route("/admin/status-pages/{slug}/components/{id}/status", post(set_component_status))
        .route("/admin/status-pages/{slug}/incidents", post(post_incident))
        .route("/admin/status-pages/{slug}/incidents/{id}/updates", post(add_update))
        .route("/admin/status-pages/{slug}/publish", post(publish_update))
        .route("/admin/status-pages/{slug}/maintenance", post(schedule_maintenance))
        .route("/admin/status-pages/{slug}/settings", post(update_settings))
}

#[derive(Template)]
#[template(path = "status_pages_admin.html")]
struct StatusPagesPage {
    chrome: Chrome,
    pages: Vec<PageView>,
    /// Each page's public incidents and maintenance (drafts included), by slug.
    notices: Vec<(String, Vec<NoticeView>)>,
    /// A token just issued, shown once.
    token: String,
    statuses: Vec<&'static str>,
    /// The statuses a public incident's update may take.
    notice_statuses: Vec<&'static str>,
    /// Catalog services (id, name), offered to drive a new component.
    services: Vec<(String, String)>,
    error: String,
}

async fn view(state: &AppState, p: &Principal, error: String) -> WebResult<StatusPagesPage> {
    p.require_responder()?;
    let pages = status_pages::list_pages(state).await?;
    let mut all = Vec::new();
    for pg in &pages {
        all.push((pg.slug.clone(), notices::list(state, p, &pg.slug).await?));
    }
    Ok(StatusPagesPage {
        chrome: Chrome::for_user(p, "status-pages"),
        pages,
        notices: all,
        token: String::new(),
        statuses: ComponentStatus::ALL.iter().map(|s| s.as_str()).collect(),
        notice_statuses: NoticeStatus::ALL
            .iter()
            .filter(|s| s.fits(NoticeKind::Incident))
            .map(|s| s.as_str())
            .collect(),
        services: state.store.list_services().await?.into_iter().map(|s| (s.id.to_string(), s.name)).collect(),
        error,
    })
}

async fn list_status_pages(State(state): State<AppState>, WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    Ok(render(&view(&state, &p, String::new()).await?))
}

impl StatusPagesPage {
    /// The notices of the page `slug`.
    fn notices_of(&self, slug: &str) -> &[NoticeView] {
        self.notices.iter().find(|(s, _)| s == slug).map(|(_, n)| n.as_slice()).unwrap_or_default()
    }
}

/// After a form: back to the list, or the list with the error.
async fn after<T>(state: &AppState, p: &Principal, outcome: crate::error::ApiResult<T>) -> WebResult<Response> {
    answer(outcome, async |_| Ok(see("/admin/status-pages")), async |error| Ok(render(&view(state, p, error).await?)))
        .await
}

#[derive(Deserialize)]
struct PageForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    /// The "signed-in readers only" checkbox: `on` when ticked.
    #[serde(default)]
    private: String,
}

async fn create_status_page(
    State(state): State<AppState>,
    Submitted(p, form): Submitted<PageForm>,
) -> WebResult<Response> {
    let body = CreatePage { slug: form.slug, name: form.name, public: form.private != "on" };
    let outcome = status_pages::create_page(&state, &p, body).await;
    after(&state, &p, outcome).await
}

async fn create_status_component(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Submitted(p, form): Submitted<Vec<(String, String)>>,
) -> WebResult<Response> {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let services = form.iter().filter(|(k, _)| k == "service").map(|(_, v)| v.clone()).collect();
    let body = CreateComponent { name: field("name"), group: field("group"), services };
    let outcome = status_pages::add_component(&state, &p, &slug, body).await;
    after(&state, &p, super::unless_missing(outcome, "There is no such status page.")?).await
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    status: String,
}

async fn set_component_status(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    Submitted(p, form): Submitted<StatusForm>,
) -> WebResult<Response> {
    let status = if form.status == "auto" { None } else { Some(form.status) };
    let outcome = status_pages::set_status(&state, &p, &slug, &id, SetStatus { status }).await;
    after(&state, &p, super::unless_missing(outcome, "There is no such status page or component.")?).await
}

/// A form's repeated `component` fields and its single fields.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> String {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).take(100).collect()
    }
}

async fn post_incident(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Submitted(p, form): Submitted<Vec<(String, String)>>,
) -> WebResult<Response> {
    let f = Fields(form);
    let body = PostNotice {
        title: f.get("title"),
        status: Some(f.get("status")),
        body: f.get("body"),
        impact: Some(f.get("impact")),
        components: f.all("component"),
        publish: f.get("draft") != "on",
    };
    let outcome = notices::post(&state, &p, &slug, body).await;
    after(&state, &p, super::unless_missing(outcome, "There is no such status page.")?).await
}

#[derive(Deserialize)]
struct UpdateForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    draft: String,
}

async fn add_update(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    Submitted(p, form): Submitted<UpdateForm>,
) -> WebResult<Response> {
    let body = AddUpdate { status: form.status, body: form.body, publish: form.draft != "on" };
    let outcome = notices::add_update(&state, &p, &slug, &id, body).await;
    after(&state, &p, super::unless_missing(outcome, "There is no such status page or notice.")?).await
}

#[derive(Deserialize)]
struct PublishForm {
    #[serde(default)]
    update: String,
}

async fn publish_update(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Submitted(p, form): Submitted<PublishForm>,
) -> WebResult<Response> {
    let outcome = notices::publish(&state, &p, &slug, &form.update).await;
    after(&state, &p, super::unless_missing(outcome, "There is no such status page or update.")?).await
}

async fn schedule_maintenance(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Submitted(p, form): Submitted<Vec<(String, String)>>,
) -> WebResult<Response> {
    let f = Fields(form);
    let body = ScheduleMaintenance {
        title: f.get("title"),
        body: f.get("body"),
        starts_at: f.get("starts_at"),
        ends_at: f.get("ends_at"),
        components: f.all("component"),
    };
    let outcome = notices::schedule(&state, &p, &slug, body).await;
    after(&state, &p, super::unless_missing(outcome, "There is no such status page.")?).await
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    private: String,
    #[serde(default)]
    logo_url: String,
    #[serde(default)]
    accent: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    custom_domain: String,
    /// One link per line: `label | address`.
    #[serde(default)]
    footer_links: String,
    /// `issue`, `withdraw` or empty.
    #[serde(default)]
    token: String,
}

async fn update_settings(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Submitted(p, form): Submitted<SettingsForm>,
) -> WebResult<Response> {
    let footer_links = form
        .footer_links
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(11)
        .map(|l| match l.split_once('|') {
            Some((label, url)) => FooterLink { label: label.trim().to_owned(), url: url.trim().to_owned() },
            None => FooterLink { label: l.trim().to_owned(), url: String::new() },
        })
        .collect();
    let some = |v: String| Some(v).filter(|v| !v.trim().is_empty());
    let body = SettingsBody {
        name: Some(form.name),
        public: Some(form.private != "on"),
        branding: Some(PageBranding {
            logo_url: some(form.logo_url),
            accent: some(form.accent),
            footer_links,
            time_zone: some(form.time_zone),
        }),
        custom_domain: Some(form.custom_domain),
        new_token: form.token == "issue",
        withdraw_token: form.token == "withdraw",
    };
    let outcome =
        super::unless_missing(settings::update(&state, &p, &slug, body).await, "There is no such status page.")?;
    match outcome {
        // A new token is shown once, on the page itself.
        Ok(answer) if answer.token.is_some() => {
            let mut page = view(&state, &p, String::new()).await?;
            page.token = answer.token.unwrap_or_default();
            Ok(super::no_store(render(&page)))
        }
        other => after(&state, &p, other).await,
    }
}

//! The status page screens of the app: every page with what its components show and why;
//! responders set a component's status by hand (or give it back to its services), admins
//! create pages and add components. The forms call `app::status_pages`, as the API does.

use super::{Chrome, Submitted, WebPrincipal, WebResult, answer, render, see};
use crate::AppState;
use crate::app::status_pages::{self, CreateComponent, CreatePage, PageView, SetStatus};
use crate::auth::Principal;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use firebreak_domain::status_page::ComponentStatus;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/status-pages", get(list_status_pages).post(create_status_page))
        .route("/admin/status-pages/{slug}/components", post(create_status_component))
        .route("/admin/status-pages/{slug}/components/{id}/status", post(set_component_status))
}

#[derive(Template)]
#[template(path = "status_pages_admin.html")]
struct StatusPagesPage {
    chrome: Chrome,
    pages: Vec<PageView>,
    statuses: Vec<&'static str>,
    /// Catalog services (id, name), offered to drive a new component.
    services: Vec<(String, String)>,
    error: String,
}

async fn view(state: &AppState, p: &Principal, error: String) -> WebResult<StatusPagesPage> {
    p.require_responder()?;
    Ok(StatusPagesPage {
        chrome: Chrome::for_user(p, "status-pages"),
        pages: status_pages::list_pages(state).await?,
        statuses: ComponentStatus::ALL.iter().map(|s| s.as_str()).collect(),
        services: state.store.list_services().await?.into_iter().map(|s| (s.id.to_string(), s.name)).collect(),
        error,
    })
}

async fn list_status_pages(State(state): State<AppState>, WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    Ok(render(&view(&state, &p, String::new()).await?))
}

/// After a form: back to the list, or the list with the error.
async fn after(state: &AppState, p: &Principal, outcome: crate::error::ApiResult<PageView>) -> WebResult<Response> {
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

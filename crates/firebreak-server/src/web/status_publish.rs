//! An incident's public updates: write one for a status page from a customer template,
//! preview it, keep it as a draft, and publish it — the only way anything of the incident
//! reaches a page. The work is `app::status_pages::notices`'s.

use super::{Chrome, Submitted, WebError, WebPrincipal, WebResult, render};
use crate::AppState;
use crate::app::status_pages::notices::{self, FromIncident, NoticeView, Preview};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use firebreak_domain::Incident;
use firebreak_domain::procedures::template::Audience;
use firebreak_domain::status_page::{NoticeKind, NoticeStatus};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents/{id}/status-page", get(public_updates).post(write_update))
        .route("/incidents/{id}/status-page/publish", post(publish_update))
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "status_publish.html")]
struct PublicUpdatesPage {
    chrome: Chrome,
    label: String,
    title: String,
    restricted: bool,
    pages: Vec<Choice>,
    templates: Vec<Choice>,
    statuses: Vec<Choice>,
    public_title: String,
    message: String,
    preview: Option<Preview>,
    notices: Vec<(String, NoticeView)>,
    error: String,
    notice: String,
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: String,
}

#[derive(Deserialize, Default)]
struct WriteForm {
    #[serde(default)]
    page: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    action: String,
}

#[derive(Deserialize)]
struct PublishForm {
    page: String,
    update: String,
}

async fn incident(state: &AppState, id: &str) -> WebResult<Incident> {
    super::form::unless_missing(crate::app::incidents::get(state, id).await, "There is no such incident.")?
        .map_err(WebError::from)
}

async fn screen(
    state: &AppState,
    p: &crate::auth::Principal,
    i: &Incident,
    form: &WriteForm,
) -> WebResult<PublicUpdatesPage> {
    let pages = state.store.list_status_pages().await?;
    let procedures = state.procedures.current();
    let notices = super::form::unless_missing(notices::for_incident(state, p, i).await, "There is no such incident.")??;
    let status = if form.status.is_empty() { "investigating" } else { form.status.as_str() };
    Ok(PublicUpdatesPage {
        chrome: Chrome::for_user(p, "incidents"),
        label: i.label(),
        title: i.title.clone(),
        restricted: crate::app::visibility::is_restricted(state, i),
        pages: pages
            .iter()
            .map(|pg| Choice { value: pg.slug.clone(), label: pg.name.clone(), selected: pg.slug == form.page })
            .collect(),
        templates: procedures
            .templates
            .values()
            .filter(|t| t.audience == Audience::Customer)
            .map(|t| Choice { value: t.name.clone(), label: t.name.clone(), selected: t.name == form.template })
            .collect(),
        statuses: NoticeStatus::ALL
            .iter()
            .filter(|s| s.fits(NoticeKind::Incident))
            .map(|s| Choice {
                value: s.as_str().to_owned(),
                label: s.label().to_owned(),
                selected: s.as_str() == status,
            })
            .collect(),
        public_title: form.title.clone(),
        message: form.message.clone(),
        preview: None,
        notices,
        error: String::new(),
        notice: String::new(),
    })
}

async fn public_updates(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> WebResult<Response> {
    let i = incident(&state, &id).await?;
    let mut page = screen(&state, &p, &i, &WriteForm::default()).await?;
    page.notice = match q.done.as_str() {
        "drafted" => "Saved the draft. Readers see nothing until you publish it.".into(),
        "published" => "Published: it is on the status page now.".into(),
        _ => String::new(),
    };
    Ok(render(&page))
}

async fn write_update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<WriteForm>,
) -> WebResult<Response> {
    let i = incident(&state, &id).await?;
    let mut page = screen(&state, &p, &i, &form).await?;
    let body = FromIncident {
        page: form.page.clone(),
        template: form.template.clone(),
        message: form.message.clone(),
        status: Some(form.status.clone()),
        title: Some(form.title.clone()),
        components: None,
    };
    let outcome = if form.action == "draft" {
        notices::draft(&state, &p, &id, &body).await.map(|_| None)
    } else {
        notices::preview(&state, &p, &id, &body).await.map(Some)
    };
    match outcome {
        Ok(None) => Ok(Redirect::to(&format!("/incidents/{}/status-page?done=drafted", i.label())).into_response()),
        Ok(Some(preview)) => {
            if page.public_title.trim().is_empty() {
                page.public_title = preview.title.clone();
            }
            page.preview = Some(preview);
            Ok(render(&page))
        }
        Err(e) if e.status.is_client_error() => {
            page.error = e.message;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn publish_update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<PublishForm>,
) -> WebResult<Response> {
    let i = incident(&state, &id).await?;
    match notices::publish(&state, &p, &form.page, &form.update).await {
        Ok(_) => Ok(Redirect::to(&format!("/incidents/{}/status-page?done=published", i.label())).into_response()),
        Err(e) if e.status.is_client_error() => {
            let mut page = screen(&state, &p, &i, &WriteForm::default()).await?;
            page.error = e.message;
            Ok((e.status, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

//! Post-incident review in the web UI: an incident's postmortem (draft from the record, the
//! Markdown editor with its preview, revisions and their diff, review, sign-off, publishing,
//! the Markdown export and a printable page), key-event stars on the timeline, action items
//! (per incident and the list across incidents), and the Analytics page with its charts drawn
//! as SVG on the server. The work is `app::review`'s.

use super::{Chrome, CsrfOnly, Submitted, WebError, WebPrincipal, WebResult, render, show_time};
use crate::AppState;
use crate::app::incidents;
use crate::app::review::actions::{self, ActionItemChange, ActionQuery, NewActionItem};
use crate::app::review::analytics::{self, ReportParams};
use crate::app::review::{self, DiffLine, PostmortemView, RequestReview, SavePostmortem};
use crate::auth::Principal;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use firebreak_domain::Incident;
use firebreak_domain::analytics::{GroupMetrics, Report, Stat};
use firebreak_domain::review::{ActionKind, ActionPriority, ActionStatus, PostmortemState};
use firebreak_store::review::{ActionItem, PostmortemRevision};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents/{id}/postmortem", get(postmortem_page).post(save_postmortem))
        .route("/incidents/{id}/postmortem/new", post(create_postmortem))
        .route("/incidents/{id}/postmortem/preview", post(preview_postmortem))
        .route("/incidents/{id}/postmortem/review", post(request_review))
        .route("/incidents/{id}/postmortem/sign-off", post(sign_off))
        .route("/incidents/{id}/postmortem/publish", post(publish))
        .route("/incidents/{id}/postmortem/diff", get(diff_page))
        .route("/incidents/{id}/postmortem/print", get(print_page))
        .route("/incidents/{id}/postmortem.md", get(export_markdown))
        .route("/incidents/{id}/timeline/{seq}/star", post(star_entry))
        .route("/incidents/{id}/action-items", post(add_action_item))
        .route("/action-items", get(action_items_page))
        .route("/action-items/{number}", post(change_action_item))
        .route("/analytics", get(analytics_page))
}

pub(super) struct Choice {
    pub(super) value: String,
    pub(super) label: String,
    pub(super) selected: bool,
}

/// What the incident page shows of the review: the postmortem's state and the action items,
/// with the form to add one.
pub(super) struct ReviewCard {
    /// `draft`, `in review`, `published`, or empty when there is none.
    pub(super) state: String,
    pub(super) late: bool,
    /// Closing waits for the published postmortem.
    pub(super) blocks_close: bool,
    pub(super) due: String,
    pub(super) actions: Vec<ActionRow>,
    pub(super) owners: Vec<Choice>,
    pub(super) priorities: Vec<Choice>,
    pub(super) back: String,
}

impl ReviewCard {
    pub(super) async fn load(state: &AppState, _p: &Principal, i: &Incident) -> WebResult<ReviewCard> {
        let procedures = state.procedures.current();
        let pm = match state.store.postmortem(i.id).await {
            Ok(pm) => Some(PostmortemView::new(state, i, pm)),
            Err(firebreak_store::StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let published = pm.as_ref().is_some_and(|v| v.postmortem.state == PostmortemState::Published);
        let mut users = state.store.list_users().await?;
        users.retain(|u| !u.disabled);
        users.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(ReviewCard {
            state: pm.as_ref().map(|v| show_state(v.postmortem.state)).unwrap_or_default(),
            late: pm
                .as_ref()
                .map(|v| v.late)
                .unwrap_or_else(|| review::due_at(&procedures, i).is_some_and(|d| d <= state.clock.now())),
            blocks_close: review::required(&procedures, i) && !published,
            due: review::due_at(&procedures, i).map(|d| show_time(&d)).unwrap_or_default(),
            actions: action_rows(actions::of_incident(state, i.id).await?, analytics::today(state)),
            owners: std::iter::once(Choice { value: String::new(), label: "nobody yet".into(), selected: true })
                .chain(users.iter().map(|u| Choice { value: u.id.to_string(), label: u.name.clone(), selected: false }))
                .collect(),
            priorities: choices(ActionPriority::ALL.iter().map(|p| (p.as_str(), p.as_str().to_owned())), "medium"),
            back: format!("/incidents/{}#actions", i.label()),
        })
    }
}

fn choices<'a>(all: impl IntoIterator<Item = (&'a str, String)>, current: &str) -> Vec<Choice> {
    all.into_iter().map(|(v, l)| Choice { value: v.to_owned(), selected: v == current, label: l }).collect()
}

struct ReviewerRow {
    name: String,
    signed: String,
    current: bool,
}

struct RevisionRow {
    number: i64,
    author: String,
    at: String,
    hash: String,
}

pub(super) struct ActionRow {
    pub(super) number: i64,
    pub(super) incident: String,
    pub(super) title: String,
    pub(super) owner: String,
    pub(super) due: String,
    pub(super) overdue: bool,
    pub(super) priority: &'static str,
    pub(super) status: &'static str,
    pub(super) link: String,
    pub(super) procedure_file: String,
    /// Where the procedures file it changes is edited.
    pub(super) procedure_link: String,
    pub(super) statuses: Vec<Choice>,
}

fn action_rows(items: Vec<ActionItem>, today: chrono::NaiveDate) -> Vec<ActionRow> {
    items
        .into_iter()
        .map(|i| ActionRow {
            number: i.number,
            incident: firebreak_domain::incident::label(i.incident_number),
            overdue: !i.status.is_closed() && i.due_on.is_some_and(|d| d < today),
            title: i.title,
            owner: i.owner_name.unwrap_or_default(),
            due: i.due_on.map(|d| d.to_string()).unwrap_or_default(),
            priority: i.priority.as_str(),
            status: i.status.as_str(),
            link: i.link.unwrap_or_default(),
            procedure_link: i
                .procedure_file
                .as_deref()
                .map(|f| format!("/procedures/edit?path={}", super::urlencode(f)))
                .unwrap_or_default(),
            procedure_file: i.procedure_file.unwrap_or_default(),
            statuses: ActionStatus::ALL
                .iter()
                .map(|s| Choice {
                    value: s.as_str().into(),
                    label: s.as_str().replace('_', " "),
                    selected: *s == i.status,
                })
                .collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "postmortem.html")]
struct PostmortemPage {
    chrome: Chrome,
    label: String,
    title: String,
    resolved: bool,
    templates: Vec<Choice>,
    pm: Option<PostmortemView>,
    state: String,
    published: bool,
    html: String,
    short_hash: String,
    due_text: String,
    edit_title: String,
    edit_body: String,
    impact_started: String,
    preview: String,
    reviewers: Vec<ReviewerRow>,
    people: Vec<Choice>,
    can_sign: bool,
    can_publish: bool,
    revisions: Vec<RevisionRow>,
    actions: Vec<ActionRow>,
    owners: Vec<Choice>,
    priorities: Vec<Choice>,
    due: String,
    back: String,
    error: String,
    notice: String,
}

async fn incident(state: &AppState, id: &str) -> WebResult<Incident> {
    super::form::unless_missing(incidents::get(state, id).await, "There is no such incident.")?.map_err(WebError::from)
}

fn show_state(s: PostmortemState) -> String {
    s.as_str().replace('_', " ")
}

async fn screen(state: &AppState, p: &Principal, i: &Incident) -> WebResult<PostmortemPage> {
    let procedures = state.procedures.current();
    let chosen = review::template_for(&procedures, i).unwrap_or("blameless").to_owned();
    let pm = match state.store.postmortem(i.id).await {
        Ok(pm) => Some(PostmortemView::new(state, i, pm)),
        Err(firebreak_store::StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let users = state.store.list_users().await?;
    let mut enabled: Vec<_> = users.iter().filter(|u| !u.disabled).collect();
    enabled.sort_by(|a, b| a.name.cmp(&b.name));
    let revisions = match &pm {
        Some(_) => state.store.postmortem_revisions(i.id).await?,
        None => Vec::new(),
    };
    let today = analytics::today(state);
    let items = actions::of_incident(state, i.id).await?;
    let (mut page, reviewers) = (
        PostmortemPage {
            chrome: Chrome::for_user(p, "incidents"),
            label: i.label(),
            title: i.title.clone(),
            resolved: i.resolved_at.is_some(),
            templates: procedures
                .postmortems
                .values()
                .map(|t| Choice {
                    value: t.name.clone(),
                    label: if t.description.is_empty() {
                        t.name.clone()
                    } else {
                        format!("{} — {}", t.name, t.description)
                    },
                    selected: t.name == chosen,
                })
                .collect(),
            pm: None,
            state: String::new(),
            published: false,
            html: String::new(),
            short_hash: String::new(),
            due_text: String::new(),
            edit_title: String::new(),
            edit_body: String::new(),
            impact_started: String::new(),
            preview: String::new(),
            reviewers: Vec::new(),
            people: Vec::new(),
            can_sign: false,
            can_publish: false,
            revisions: revisions.iter().rev().map(revision_row).collect(),
            actions: action_rows(items, today),
            owners: std::iter::once(Choice { value: String::new(), label: "nobody yet".into(), selected: true })
                .chain(enabled.iter().map(|u| Choice {
                    value: u.id.to_string(),
                    label: u.name.clone(),
                    selected: false,
                }))
                .collect(),
            priorities: choices(ActionPriority::ALL.iter().map(|p| (p.as_str(), p.as_str().to_owned())), "medium"),
            due: String::new(),
            back: format!("/incidents/{}/postmortem#actions", i.label()),
            error: String::new(),
            notice: String::new(),
        },
        pm.as_ref().map(|v| v.postmortem.reviewers.clone()).unwrap_or_default(),
    );
    if let Some(view) = pm {
        let pm = &view.postmortem;
        page.state = show_state(pm.state);
        page.published = pm.state == PostmortemState::Published;
        page.html = crate::views::markdown::render(&pm.body);
        page.short_hash = pm.revision_hash.chars().take(12).collect();
        page.due_text = view.due_at.map(|d| show_time(&d)).unwrap_or_default();
        page.edit_title = pm.title.clone();
        page.edit_body = pm.body.clone();
        page.impact_started = pm.impact_started_at.map(|t| t.format("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default();
        page.reviewers = reviewers
            .iter()
            .map(|r| {
                let current = r.signed_hash.as_deref() == Some(pm.revision_hash.as_str());
                ReviewerRow {
                    name: r.name.clone(),
                    current,
                    signed: match (r.signed_off_at, current) {
                        (Some(at), true) => format!("signed off {}", show_time(&at)),
                        (Some(at), false) => {
                            format!(
                                "signed off revision {} at {} — not the current one",
                                r.signed_revision.unwrap_or(0),
                                show_time(&at)
                            )
                        }
                        (None, _) => "not signed off".into(),
                    },
                }
            })
            .collect();
        page.people = enabled
            .iter()
            .map(|u| Choice {
                value: u.id.to_string(),
                label: u.name.clone(),
                selected: reviewers.iter().any(|r| r.user_id == u.id),
            })
            .collect();
        page.can_sign = pm.state == PostmortemState::InReview
            && reviewers
                .iter()
                .any(|r| r.user_id == p.user.id && r.signed_hash.as_deref() != Some(pm.revision_hash.as_str()));
        page.can_publish = pm.state == PostmortemState::InReview && !reviewers.is_empty() && view.awaiting.is_empty();
        page.pm = Some(view);
    }
    Ok(page)
}

fn revision_row(r: &PostmortemRevision) -> RevisionRow {
    RevisionRow {
        number: r.number,
        author: r.author_name.clone(),
        at: show_time(&r.created_at),
        hash: r.hash[..12.min(r.hash.len())].to_owned(),
    }
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: String,
}

fn notice_for(done: &str) -> String {
    match done {
        "drafted" => "Drafted from the record. Edit it, then ask for a review.",
        "saved" => "Saved a new revision.",
        "review" => "Sent to review. Each reviewer signs off the current revision.",
        "signed" => "Signed off.",
        "published" => "Published. It is read-only now; a new revision reopens the review.",
        "action" => "Added the action item.",
        _ => "",
    }
    .to_owned()
}

async fn postmortem_page(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> WebResult<Response> {
    let i = incident(&state, &id).await?;
    let mut page = screen(&state, &p, &i).await?;
    page.notice = notice_for(&q.done);
    Ok(render(&page))
}

/// Shows a client error on the page (422 or the error's own 4xx), or fails the request.
async fn or_error(
    state: &AppState,
    p: &Principal,
    i: &Incident,
    outcome: Result<String, crate::error::ApiError>,
    keep: impl FnOnce(&mut PostmortemPage),
) -> WebResult<Response> {
    match outcome {
        Ok(done) => Ok(Redirect::to(&format!("/incidents/{}/postmortem?done={done}", i.label())).into_response()),
        Err(e) if e.status.is_client_error() => {
            let mut page = screen(state, p, i).await?;
            keep(&mut page);
            page.error = e.message;
            Ok((e.status, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
struct NewForm {
    #[serde(default)]
    template: String,
}

async fn create_postmortem(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<NewForm>,
) -> WebResult<Response> {
    let i = incident(&state, &id).await?;
    let outcome = review::create(&state, &p, &id, Some(&form.template)).await.map(|_| "drafted".to_owned());
    or_error(&state, &p, &i, outcome, |_| {}).await
}

#[derive(Deserialize, Default)]
struct EditForm {
    #[serde(default)]
    base_revision: i64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    impact_started_at: String,
    #[serde(default)]
    action: String,
}

async fn save_postmortem(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<EditForm>,
) -> WebResult<Response> {
    let i = incident(&state, &id).await?;
    let keep = |page: &mut PostmortemPage, form: &EditForm| {
        page.edit_title = form.title.clone();
        page.edit_body = form.body.clone();
        page.impact_started = form.impact_started_at.clone();
    };
    if form.action == "preview" {
        let mut page = screen(&state, &p, &i).await?;
        keep(&mut page, &form);
        match firebreak_domain::review::parse_postmortem_body(&form.body) {
            Ok(text) => page.preview = crate::views::markdown::render(&text),
            Err(e) => page.error = e.to_string(),
        }
        return Ok(render(&page));
    }
    let body = SavePostmortem {
        base_revision: form.base_revision,
        title: form.title.clone(),
        body: form.body.clone(),
        impact_started_at: Some(form.impact_started_at.clone()),
    };
    let outcome = review::save(&state, &p, &id, body).await.map(|_| "saved".to_owned());
    or_error(&state, &p, &i, outcome, |page| keep(page, &form)).await
}

#[derive(Deserialize)]
struct PreviewForm {
    #[serde(default)]
    body: String,
}

/// The editor's live preview: the Markdown as safe HTML (a fragment the page script shows).
async fn preview_postmortem(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(_p, form): Submitted<PreviewForm>,
) -> WebResult<Response> {
    incident(&state, &id).await?;
    let text = firebreak_domain::review::parse_postmortem_body(&form.body)?;
    Ok(super::no_store(Html(crate::views::markdown::render(&text)).into_response()))
}

async fn request_review(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<Vec<(String, String)>>,
) -> WebResult<Response> {
    let i = incident(&state, &id).await?;
    let reviewers = form.into_iter().filter(|(k, _)| k == "reviewer").map(|(_, v)| v).collect();
    let outcome =
        review::request_review(&state, &p, &id, RequestReview { reviewers }).await.map(|_| "review".to_owned());
    or_error(&state, &p, &i, outcome, |_| {}).await
}

#[derive(Deserialize)]
struct SignForm {
    #[serde(default)]
    revision_hash: String,
}

async fn sign_off(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<SignForm>,
) -> WebResult<Response> {
    let i = incident(&state, &id).await?;
    let outcome = review::sign_off(&state, &p, &id, &form.revision_hash).await.map(|_| "signed".to_owned());
    or_error(&state, &p, &i, outcome, |_| {}).await
}

async fn publish(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, _): Submitted<CsrfOnly>,
) -> WebResult<Response> {
    let i = incident(&state, &id).await?;
    let outcome = review::publish(&state, &p, &id).await.map(|_| "published".to_owned());
    or_error(&state, &p, &i, outcome, |_| {}).await
}

#[derive(Template)]
#[template(path = "postmortem_diff.html")]
struct DiffPage {
    chrome: Chrome,
    label: String,
    from: i64,
    to: i64,
    lines: Vec<DiffLine>,
}

#[derive(Deserialize)]
struct DiffQuery {
    from: i64,
    to: i64,
}

async fn diff_page(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
    Query(q): Query<DiffQuery>,
) -> WebResult<Response> {
    let i = incident(&state, &id).await?;
    let lines = review::diff_revisions(&state, &id, q.from, q.to).await?;
    Ok(render(&DiffPage { chrome: Chrome::for_user(&p, "incidents"), label: i.label(), from: q.from, to: q.to, lines }))
}

#[derive(Template)]
#[template(path = "postmortem_print.html")]
struct PrintPage {
    label: String,
    title: String,
    state: String,
    revision: i64,
    hash: String,
    html: String,
    reviewers: Vec<ReviewerRow>,
    actions: Vec<ActionRow>,
    printed: String,
}

async fn print_page(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let i = incident(&state, &id).await?;
    let page = screen(&state, &p, &i).await?;
    let Some(view) = page.pm else {
        return Err(WebError::new(StatusCode::NOT_FOUND, "This incident has no postmortem yet."));
    };
    Ok(render(&PrintPage {
        label: page.label,
        title: view.postmortem.title.clone(),
        state: page.state,
        revision: view.postmortem.revision,
        hash: view.postmortem.revision_hash.clone(),
        html: page.html,
        reviewers: page.reviewers,
        actions: page.actions,
        printed: show_time(&state.clock.now()),
    }))
}

async fn export_markdown(
    State(state): State<AppState>,
    WebPrincipal(_p): WebPrincipal,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let (i, pm) = super::form::unless_missing(review::get(&state, &id).await, "This incident has no postmortem yet.")??;
    let md = review::export_markdown(&state, &i, &pm).await?;
    let disposition = format!("attachment; filename=\"{}-postmortem.md\"", i.label());
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        md,
    )
        .into_response())
}

#[derive(Deserialize)]
struct StarForm {
    #[serde(default)]
    starred: String,
}

async fn star_entry(
    State(state): State<AppState>,
    Path((id, seq)): Path<(String, i64)>,
    Submitted(p, form): Submitted<StarForm>,
) -> WebResult<Response> {
    let i = incident(&state, &id).await?;
    review::star(&state, &p, &id, seq, form.starred != "0").await?;
    Ok(Redirect::to(&format!("/incidents/{}#timeline", i.label())).into_response())
}

#[derive(Deserialize, Default)]
struct ActionForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    link: String,
    #[serde(default)]
    procedure_file: String,
    #[serde(default)]
    back: String,
}

async fn add_action_item(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<ActionForm>,
) -> WebResult<Response> {
    let i = incident(&state, &id).await?;
    let body = NewActionItem {
        title: form.title.clone(),
        kind: Some(if form.procedure_file.trim().is_empty() { ActionKind::Task } else { ActionKind::ProcedureChange }),
        owner: Some(form.owner.clone()),
        due_on: Some(form.due_on.clone()),
        priority: Some(form.priority.parse().unwrap_or(ActionPriority::Medium)),
        status: None,
        link: Some(form.link.clone()),
        procedure_file: Some(form.procedure_file.clone()),
        from_postmortem: form.back == "postmortem",
    };
    match actions::create(&state, &p, &id, body).await {
        Ok(_) if form.back == "postmortem" => {
            Ok(Redirect::to(&format!("/incidents/{}/postmortem?done=action#actions", i.label())).into_response())
        }
        Ok(_) => Ok(Redirect::to(&format!("/incidents/{}#actions", i.label())).into_response()),
        Err(e) if e.status.is_client_error() => {
            let mut page = screen(&state, &p, &i).await?;
            page.error = e.message;
            page.due = form.due_on;
            Ok((e.status, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
struct ChangeForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    back: String,
}

async fn change_action_item(
    State(state): State<AppState>,
    Path(number): Path<String>,
    Submitted(p, form): Submitted<ChangeForm>,
) -> WebResult<Response> {
    let status: ActionStatus = form.status.parse()?;
    actions::update(&state, &p, &number, ActionItemChange { status: Some(status), ..Default::default() }).await?;
    // Only a path on this site is followed back.
    let back =
        if form.back.starts_with('/') && !form.back.starts_with("//") { form.back } else { "/action-items".into() };
    Ok(Redirect::to(&back).into_response())
}

#[derive(Template)]
#[template(path = "action_items.html")]
struct ActionItemsPage {
    chrome: Chrome,
    items: Vec<ActionRow>,
    mine: bool,
    overdue: bool,
    statuses: Vec<Choice>,
    services: Vec<Choice>,
    back: String,
    next: String,
}

#[derive(Deserialize, Default)]
struct ActionsQuery {
    #[serde(default)]
    mine: String,
    #[serde(default)]
    overdue: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    cursor: String,
}

async fn action_items_page(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Query(q): Query<ActionsQuery>,
) -> WebResult<Response> {
    let query = ActionQuery {
        owner: (!q.mine.is_empty()).then(|| "mine".to_owned()),
        overdue: (!q.overdue.is_empty()).then_some(true),
        service: Some(q.service.clone()),
        status: Some(q.status.clone()),
        cursor: Some(q.cursor.clone()),
        ..ActionQuery::default()
    };
    let page = actions::list(&state, &p, &query).await?;
    let services = state.store.list_services().await?;
    let back = format!(
        "/action-items?mine={}&overdue={}&status={}&service={}",
        super::urlencode(&q.mine),
        super::urlencode(&q.overdue),
        super::urlencode(&q.status),
        super::urlencode(&q.service)
    );
    let next = page.next_before.map(|n| format!("{back}&cursor={n}")).unwrap_or_default();
    let status_words = std::iter::once(("", "any status".to_owned()))
        .chain(std::iter::once(("open", "open or in progress".to_owned())))
        .chain(ActionStatus::ALL.iter().map(|s| (s.as_str(), s.as_str().replace('_', " "))));
    Ok(render(&ActionItemsPage {
        chrome: Chrome::for_user(&p, "action-items"),
        items: action_rows(page.items, analytics::today(&state)),
        mine: !q.mine.is_empty(),
        overdue: !q.overdue.is_empty(),
        statuses: choices(status_words, &q.status),
        services: std::iter::once(Choice {
            value: String::new(),
            label: "any service".into(),
            selected: q.service.is_empty(),
        })
        .chain(services.iter().map(|s| Choice {
            value: s.id.to_string(),
            label: s.name.clone(),
            selected: s.id.to_string() == q.service,
        }))
        .collect(),
        back,
        next,
    }))
}

/// One bar of a chart, placed on the server.
struct Bar {
    label: String,
    value: String,
    /// Width in the chart's units (0..=CHART_WIDTH).
    width: u32,
    y: u32,
}

/// A horizontal bar chart drawn as SVG, with a text label on every bar.
struct Chart {
    id: &'static str,
    title: String,
    /// What the chart shows, for screen readers.
    summary: String,
    bars: Vec<Bar>,
    height: u32,
}

const CHART_WIDTH: u32 = 360;
const BAR_STEP: u32 = 26;

fn chart(id: &'static str, title: &str, rows: Vec<(String, f64, String)>) -> Chart {
    let max = rows.iter().map(|r| r.1).fold(0.0_f64, f64::max);
    let summary = rows.iter().map(|(l, _, v)| format!("{l}: {v}")).collect::<Vec<_>>().join("; ");
    let bars: Vec<Bar> = rows
        .into_iter()
        .enumerate()
        .map(|(n, (label, v, value))| Bar {
            label,
            value,
            width: if max > 0.0 {
                ((v / max) * f64::from(CHART_WIDTH)).round().clamp(0.0, f64::from(CHART_WIDTH)) as u32
            } else {
                0
            },
            y: n as u32 * BAR_STEP,
        })
        .collect();
    Chart {
        id,
        title: title.to_owned(),
        summary: if summary.is_empty() { "no data".into() } else { summary },
        height: (bars.len() as u32).max(1) * BAR_STEP,
        bars,
    }
}

/// `4m 10s`, `1h 05m`, `2d 3h`.
fn show_seconds(s: Option<f64>) -> String {
    let Some(s) = s else { return "—".into() };
    let s = s.round().max(0.0) as i64;
    match s {
        s if s >= 86_400 => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
        s if s >= 3600 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

fn show_rate(r: Option<f64>) -> String {
    r.map(|r| format!("{:.0}%", r * 100.0)).unwrap_or_else(|| "—".into())
}

struct GroupRow {
    key: String,
    incidents: u32,
    resolved: u32,
    reopened: u32,
    mtta: String,
    mtta_p90: String,
    mttc: String,
    mttr: String,
    mttr_p90: String,
    mttd: String,
    ack_target: String,
    contain_target: String,
    postmortems: String,
}

fn group_row(g: &GroupMetrics) -> GroupRow {
    GroupRow {
        key: g.key.clone(),
        incidents: g.incidents,
        resolved: g.resolved,
        reopened: g.reopened,
        mtta: show_seconds(g.mtta.median),
        mtta_p90: show_seconds(g.mtta.p90),
        mttc: show_seconds(g.mttc.median),
        mttr: show_seconds(g.mttr.median),
        mttr_p90: show_seconds(g.mttr.p90),
        mttd: show_seconds(g.mttd.median),
        ack_target: show_rate(g.acknowledged_within_target.rate),
        contain_target: show_rate(g.contained_within_target.rate),
        postmortems: show_rate(g.postmortems_published.rate),
    }
}

#[derive(Template)]
#[template(path = "analytics.html")]
struct AnalyticsPage {
    chrome: Chrome,
    from: String,
    to: String,
    tz: String,
    group_by: Vec<Choice>,
    severities: Vec<Choice>,
    services: Vec<Choice>,
    csv: String,
    period: String,
    report: Option<Report>,
    rows: Vec<GroupRow>,
    total: Option<GroupRow>,
    charts: Vec<Chart>,
    error: String,
}

async fn analytics_page(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Query(q): Query<ReportParams>,
) -> WebResult<Response> {
    let services = state.store.list_services().await?;
    let today = analytics::today(&state);
    let from =
        q.from.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| (today - chrono::TimeDelta::days(30)).to_string());
    let to = q.to.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| (today + chrono::TimeDelta::days(1)).to_string());
    let params = ReportParams { from: Some(from.clone()), to: Some(to.clone()), ..q.clone() };
    let group = q.group_by.clone().unwrap_or_else(|| "week".into());
    let params = ReportParams { group_by: Some(group.clone()), ..params };
    let csv = format!(
        "/api/v1/analytics.csv?from={}&to={}&group_by={}&service={}&severity={}&tz={}",
        super::urlencode(&from),
        super::urlencode(&to),
        super::urlencode(&group),
        super::urlencode(params.service.as_deref().unwrap_or("")),
        super::urlencode(params.severity.as_deref().unwrap_or("")),
        super::urlencode(params.tz.as_deref().unwrap_or("UTC")),
    );
    let mut page = AnalyticsPage {
        chrome: Chrome::for_user(&p, "analytics"),
        from,
        to,
        tz: params.tz.clone().unwrap_or_else(|| "UTC".into()),
        group_by: choices(
            ["none", "day", "week", "month", "service", "team", "severity", "type"].map(|g| (g, g.to_owned())),
            &group,
        ),
        severities: std::iter::once(("", "every severity".to_owned()))
            .chain(firebreak_domain::Severity::ALL.iter().map(|s| (s.as_str(), s.as_str().to_owned())))
            .map(|(v, l)| Choice {
                selected: params.severity.as_deref().unwrap_or("") == v,
                value: v.to_owned(),
                label: l,
            })
            .collect(),
        services: std::iter::once(Choice {
            value: String::new(),
            label: "every service".into(),
            selected: params.service.as_deref().unwrap_or("").is_empty(),
        })
        .chain(services.iter().map(|s| Choice {
            value: s.id.to_string(),
            label: s.name.clone(),
            selected: params.service.as_deref() == Some(s.id.to_string().as_str()),
        }))
        .collect(),
        csv,
        period: String::new(),
        report: None,
        rows: Vec::new(),
        total: None,
        charts: Vec::new(),
        error: String::new(),
    };
    match analytics::report(&state, &p, &params).await {
        Ok(report) => {
            let groups: Vec<&GroupMetrics> =
                if report.groups.is_empty() { vec![&report.total] } else { report.groups.iter().collect() };
            let stat = |s: &Stat| s.median.unwrap_or(0.0);
            page.charts = vec![
                chart(
                    "incidents",
                    "Incidents",
                    groups.iter().map(|g| (g.key.clone(), f64::from(g.incidents), g.incidents.to_string())).collect(),
                ),
                chart(
                    "mtta",
                    "Time to acknowledge (median)",
                    groups.iter().map(|g| (g.key.clone(), stat(&g.mtta), show_seconds(g.mtta.median))).collect(),
                ),
                chart(
                    "mttr",
                    "Time to resolve (median)",
                    groups.iter().map(|g| (g.key.clone(), stat(&g.mttr), show_seconds(g.mttr.median))).collect(),
                ),
                chart(
                    "load",
                    "Pages per person (off-hours in brackets)",
                    report
                        .on_call_load
                        .iter()
                        .take(10)
                        .map(|l| (l.name.clone(), f64::from(l.pages), format!("{} ({})", l.pages, l.off_hours)))
                        .collect(),
                ),
            ];
            page.rows = report.groups.iter().map(group_row).collect();
            page.total = Some(group_row(&report.total));
            page.period = format!("from {} to {}", show_time(&report.from), show_time(&report.to));
            page.report = Some(report);
            Ok(render(&page))
        }
        Err(e) if e.status.is_client_error() => {
            page.error = e.message;
            Ok((e.status, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

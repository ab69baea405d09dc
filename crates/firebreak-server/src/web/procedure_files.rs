//! Editing the procedures directory in the browser (admins): the files, and an editor that
//! shows the diff and the whole directory's problems before anything is saved
//! (`crate::app::procedures::files`).

use super::{Chrome, Submitted, WebError, WebPrincipal, WebResult, render, urlencode};
use crate::AppState;
use crate::app::procedures::files::{ChangeOutcome, FileInfo};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/procedures/files", get(files_page)).route("/procedures/edit", get(edit_page).post(save))
}

#[derive(Template)]
#[template(path = "procedure_files.html")]
struct FilesPage {
    chrome: Chrome,
    dir: String,
    files: Vec<FileInfo>,
    notice: String,
    error: String,
}

#[derive(Deserialize)]
struct FilesQuery {
    #[serde(default)]
    saved: String,
}

fn admin_only(p: &crate::auth::Principal) -> WebResult<()> {
    if p.user.role.can_administer() {
        Ok(())
    } else {
        Err(WebError::new(StatusCode::FORBIDDEN, "Only admins may edit the procedures."))
    }
}

async fn files_page(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Query(q): Query<FilesQuery>,
) -> WebResult<Response> {
    admin_only(&p)?;
    let Some(dir) = state.procedures.dir().map(std::path::Path::to_path_buf) else {
        return Err(WebError::new(
            StatusCode::CONFLICT,
            "This server has no procedures directory: start it with --procedures DIR to edit procedures here.",
        ));
    };
    let shown = dir.display().to_string();
    let listed = tokio::task::spawn_blocking(move || crate::app::procedures::files::list(&dir))
        .await
        .map_err(|_| WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "The directory could not be read."))?;
    let (files, error) = match listed {
        Ok(f) => (f, String::new()),
        Err(problems) => (Vec::new(), problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")),
    };
    let notice =
        if q.saved.is_empty() { String::new() } else { format!("Saved {} — the procedures reloaded.", q.saved) };
    Ok(render(&FilesPage { chrome: Chrome::for_user(&p, "procedures"), dir: shown, files, notice, error }))
}

#[derive(Template)]
#[template(path = "procedure_edit.html")]
struct EditPage {
    chrome: Chrome,
    path: String,
    content: String,
    base_hash: String,
    new_file: bool,
    checked: Option<ChangeOutcome>,
    error: String,
}

#[derive(Deserialize)]
struct EditQuery {
    #[serde(default)]
    path: String,
}

async fn edit_page(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Query(q): Query<EditQuery>,
) -> WebResult<Response> {
    admin_only(&p)?;
    let path = q.path.trim().to_owned();
    crate::app::procedures::files::check_path(&path).map_err(|m| WebError::new(StatusCode::UNPROCESSABLE_ENTITY, m))?;
    let Some(dir) = state.procedures.dir().map(std::path::Path::to_path_buf) else {
        return Err(WebError::new(StatusCode::CONFLICT, "This server has no procedures directory (--procedures DIR)."));
    };
    let rel = path.clone();
    let text = tokio::task::spawn_blocking(move || crate::app::procedures::files::read(&dir, &rel))
        .await
        .map_err(|_| WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "The file could not be read."))?
        .map_err(|m| WebError::new(StatusCode::CONFLICT, m))?;
    let page = EditPage {
        chrome: Chrome::for_user(&p, "procedures"),
        new_file: text.is_none(),
        base_hash: text.as_deref().map(crate::app::procedures::files::hash).unwrap_or_default(),
        content: text.unwrap_or_default(),
        path,
        checked: None,
        error: String::new(),
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
struct EditForm {
    path: String,
    content: String,
    #[serde(default)]
    base_hash: String,
    #[serde(default)]
    action: String,
}

async fn save(State(state): State<AppState>, Submitted(p, form): Submitted<EditForm>) -> WebResult<Response> {
    admin_only(&p)?;
    let dry_run = form.action != "save";
    let path = form.path.trim().to_owned();
    let mut page = EditPage {
        chrome: Chrome::for_user(&p, "procedures"),
        path: path.clone(),
        content: form.content.clone(),
        base_hash: form.base_hash.clone(),
        new_file: form.base_hash.is_empty(),
        checked: None,
        error: String::new(),
    };
    match crate::app::procedures::files::change(&state, &path, form.content, &form.base_hash, dry_run, &p.actor()).await
    {
        Ok(outcome) if outcome.saved => {
            Ok(Redirect::to(&format!("/procedures/files?saved={}", urlencode(&outcome.path))).into_response())
        }
        Ok(outcome) => {
            let status = if !dry_run && !outcome.problems.is_empty() {
                page.error = "Nothing was saved: fix the problems below first.".into();
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            page.checked = Some(outcome);
            Ok((status, render(&page)).into_response())
        }
        Err(e) if e.status.is_client_error() => {
            page.error = e.message;
            Ok((e.status, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// One line of a diff, with how it changed (`add`, `del`, `hunk`, `ctx`).
pub struct DiffLine {
    pub class: &'static str,
    pub text: String,
}

/// Splits a unified diff into lines the page colours.
pub fn diff_lines(diff: &str) -> Vec<DiffLine> {
    diff.lines()
        .map(|l| DiffLine {
            class: if l.starts_with("+++") || l.starts_with("---") {
                "head"
            } else if l.starts_with('+') {
                "add"
            } else if l.starts_with('-') {
                "del"
            } else if l.starts_with("@@") {
                "hunk"
            } else {
                "ctx"
            },
            text: l.to_owned(),
        })
        .collect()
}

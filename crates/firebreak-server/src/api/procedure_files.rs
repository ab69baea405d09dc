//! The procedures directory's files over the API (admins): list, read, and change with a
//! check of the whole directory and a diff first (`dry_run`), then save.

use super::Ctx;
use crate::AppState;
use crate::api::ItemsBody;
use crate::app::procedures::files::{ChangeOutcome, FileInfo};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/procedures/files", get(list_files))
        .route("/procedures/files/{*path}", get(get_file).put(put_file))
}

fn dir(state: &AppState) -> ApiResult<std::path::PathBuf> {
    state.procedures.dir().map(std::path::Path::to_path_buf).ok_or_else(|| {
        ApiError::new(StatusCode::CONFLICT, "conflict", "this server has no procedures directory (--procedures DIR)")
    })
}

#[utoipa::path(get, path = "/api/v1/procedures/files", tag = "procedures",
    responses((status = 200, body = ItemsBody<FileInfo>), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn list_files(Ctx { state, p }: Ctx) -> ApiResult<Json<ItemsBody<FileInfo>>> {
    p.require_admin()?;
    let dir = dir(&state)?;
    let items = tokio::task::spawn_blocking(move || crate::app::procedures::files::list(&dir))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|problems| {
            let first = problems.first().map(ToString::to_string).unwrap_or_default();
            ApiError::new(StatusCode::CONFLICT, "conflict", format!("the directory cannot be read: {first}"))
        })?;
    Ok(Json(ItemsBody { items }))
}

/// One file and the hash to send back when saving it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileBody {
    pub path: String,
    pub content: String,
    pub hash: String,
}

#[utoipa::path(get, path = "/api/v1/procedures/files/{path}", tag = "procedures",
    params(("path" = String, Path, description = "e.g. playbooks/major-outage.md")),
    responses((status = 200, body = FileBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_file(Ctx { state, p }: Ctx, ApiPath(path): ApiPath<String>) -> ApiResult<Json<FileBody>> {
    p.require_admin()?;
    let dir = dir(&state)?;
    crate::app::procedures::files::check_path(&path).map_err(|m| firebreak_domain::DomainError::invalid("path", m))?;
    let rel = path.clone();
    let text = tokio::task::spawn_blocking(move || crate::app::procedures::files::read(&dir, &rel))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|m| ApiError::new(StatusCode::CONFLICT, "conflict", m))?
        .ok_or_else(|| ApiError::not_found("procedures file"))?;
    Ok(Json(FileBody { hash: crate::app::procedures::files::hash(&text), path, content: text }))
}

/// A new version of a file.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutFile {
    pub content: String,
    /// The `hash` of the version this change was made to (`""` for a new file): a file changed
    /// on disk since is a 409 and nothing is written.
    pub base_hash: String,
    /// Only check and show the diff.
    #[serde(default)]
    pub dry_run: bool,
}

#[utoipa::path(put, path = "/api/v1/procedures/files/{path}", tag = "procedures", request_body = PutFile,
    params(("path" = String, Path, description = "e.g. playbooks/major-outage.md")),
    responses((status = 200, body = ChangeOutcome, description = "checked (dry run, or nothing changed) or saved"),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "changed on disk since, or no directory"),
        (status = 422, body = ErrorBody, description = "a bad path, or the change has problems (nothing written)")))]
pub async fn put_file(
    Ctx { state, p }: Ctx,
    ApiPath(path): ApiPath<String>,
    ApiJson(body): ApiJson<PutFile>,
) -> ApiResult<Json<ChangeOutcome>> {
    p.require_admin()?;
    let outcome =
        crate::app::procedures::files::change(&state, &path, body.content, &body.base_hash, body.dry_run, &p.actor())
            .await?;
    if !body.dry_run && !outcome.problems.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "procedures_invalid",
            format!("nothing was saved; the change has problems: {}", outcome.problems.join("; ")),
        ));
    }
    Ok(Json(outcome))
}

//! Editing the procedures directory from the UI and the API: a change is checked with the
//! whole directory (as `firebreak procedures validate` would) and shown as a diff before it
//! is saved; saving writes the file atomically, only when it has not changed on disk since it
//! was opened, and reloads the procedures at once. The directory stays plain files, so a team
//! that keeps it in Git commits what was edited here like any other change.

use crate::app::procedures::{FOLDERS, MAX_FILE_BYTES, check_templates, read_dir};
use firebreak_domain::procedures::ProcedureError;
use firebreak_domain::procedures::directory::{Procedures, SourceFile};
use sha2::{Digest, Sha256};
use std::path::Path;

/// A file of the procedures directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FileInfo {
    /// Relative to the directory, e.g. `playbooks/major-outage.md`.
    pub path: String,
    pub bytes: usize,
    /// SHA-256 of the content: send it back when saving.
    pub hash: String,
}

/// The hash of a file's content (of nothing, for a file that does not exist yet).
pub fn hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Checks a path a file may be saved at: `config.yaml`, or `FOLDER/NAME` in a known folder,
/// with a plain name and the folder's kind of file.
pub fn check_path(rel: &str) -> Result<(), String> {
    if rel == "config.yaml" {
        return Ok(());
    }
    let Some((folder, name)) = rel.split_once('/') else {
        return Err(format!(
            "{rel:?}: a procedures file is config.yaml or lives in one of {} (e.g. playbooks/db-failover.md)",
            FOLDERS.join(", ")
        ));
    };
    if !FOLDERS.contains(&folder) {
        return Err(format!("{rel:?}: the folder is one of {}", FOLDERS.join(", ")));
    }
    let plain = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.contains("..");
    if !plain {
        return Err(format!("{rel:?}: a file name is letters, digits, `-`, `_` and `.`, not starting with `.`"));
    }
    let ext_ok = match folder {
        "templates" => name.ends_with(".j2"),
        "postmortems" => name.ends_with(".md"),
        "playbooks" => name.ends_with(".md") || name.ends_with(".yaml") || name.ends_with(".yml"),
        _ => name.ends_with(".yaml") || name.ends_with(".yml"),
    };
    if !ext_ok {
        let want = match folder {
            "templates" => ".j2 (e.g. internal.md.j2)",
            "postmortems" => ".md",
            "playbooks" => ".md or .yaml",
            _ => ".yaml",
        };
        return Err(format!("{rel:?}: files in {folder}/ end in {want}"));
    }
    Ok(())
}

/// The files of the directory (empty when it does not exist yet).
pub fn list(dir: &Path) -> Result<Vec<FileInfo>, Vec<ProcedureError>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    Ok(read_dir(dir)?
        .into_iter()
        .map(|f| FileInfo { bytes: f.text.len(), hash: hash(&f.text), path: f.path })
        .collect())
}

/// A file's current text, or `None` when there is none at that path.
pub fn read(dir: &Path, rel: &str) -> Result<Option<String>, String> {
    check_path(rel)?;
    let path = dir.join(rel);
    match std::fs::metadata(&path) {
        Ok(m) if m.len() > MAX_FILE_BYTES => Err(format!("{rel}: larger than {} KiB", MAX_FILE_BYTES / 1024)),
        Ok(_) => std::fs::read_to_string(&path).map(Some).map_err(|e| format!("{rel}: cannot read: {e}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{rel}: cannot read: {e}")),
    }
}

/// What the directory would say with `rel` holding `content`: its problems (none: it loads).
pub fn check_change(dir: &Path, rel: &str, content: &str) -> Vec<String> {
    let mut files: Vec<SourceFile> = if dir.exists() {
        match read_dir(dir) {
            Ok(f) => f,
            Err(problems) => return problems.iter().map(ToString::to_string).collect(),
        }
    } else {
        Vec::new()
    };
    files.retain(|f| f.path != rel);
    files.push(SourceFile { path: rel.to_owned(), text: content.to_owned() });
    match Procedures::load(&files) {
        Ok(p) => check_templates(&p, &files).iter().map(ToString::to_string).collect(),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

/// A unified diff of `before` → `after` (with three lines of context).
pub fn diff(rel: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{rel}"), &format!("b/{rel}"))
        .to_string()
}

/// Writes `content` to `rel` atomically (a temporary file renamed over it), creating its
/// folder when needed.
pub fn write(dir: &Path, rel: &str, content: &str) -> Result<(), String> {
    check_path(rel)?;
    let path = dir.join(rel);
    let parent = path.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let tmp = parent.join(format!(".{}.firebreak-tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("file")));
    let result = (|| {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {rel}: {e}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_in_known_folders() {
        for ok in [
            "config.yaml",
            "playbooks/db.md",
            "playbooks/db.yaml",
            "trees/severity.yaml",
            "contacts/exec.yml",
            "templates/internal.md.j2",
        ] {
            assert_eq!(check_path(ok), Ok(()), "{ok}");
        }
        for bad in [
            "../etc/passwd",
            "playbooks/../../x.md",
            "/etc/passwd",
            "playbooks/.hidden.md",
            "playbooks/a/b.md",
            "secrets/x.yaml",
            "templates/x.md",
            "trees/x.md",
            "playbooks/x y.md",
            "config.yml.bak",
            "",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_change_is_checked_with_the_whole_directory_and_written_atomically() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let playbook = "---\nname: db\nsteps:\n  containment:\n    - task: Fail over\n---\n";
        assert!(check_change(dir.path(), "playbooks/db.md", playbook).is_empty());
        let bad = "---\nname: db\nsteps:\n  containment:\n    - notify: nobody\n---\n";
        let problems = check_change(dir.path(), "playbooks/db.md", bad);
        assert_eq!(problems, ["playbooks/db.md:5: unknown contact list \"nobody\""]);
        write(dir.path(), "playbooks/db.md", playbook).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(dir.path(), "playbooks/db.md"), Ok(Some(playbook.to_owned())));
        assert_eq!(read(dir.path(), "playbooks/none.md"), Ok(None));
        let listed = list(dir.path()).unwrap_or_default();
        assert_eq!(listed, [FileInfo { path: "playbooks/db.md".into(), bytes: playbook.len(), hash: hash(playbook) }]);
        let d = diff("playbooks/db.md", playbook, &playbook.replace("Fail over", "Fail over now"));
        assert!(
            d.contains("--- a/playbooks/db.md") && d.contains("-    - task: Fail over\n+    - task: Fail over now"),
            "{d}"
        );
        assert!(write(dir.path(), "../x.md", "x").is_err());
    }
}

/// What checking (and perhaps saving) a change came to.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ChangeOutcome {
    pub path: String,
    /// A unified diff of the file on disk → the new content (empty: no change).
    pub diff: String,
    /// Problems of the whole directory with this change (`file:line: message`).
    pub problems: Vec<String>,
    /// The file did not exist before.
    pub new_file: bool,
    pub saved: bool,
    /// The hash of the content now on disk.
    pub hash: String,
}

/// Largest content accepted for one file.
pub const CONTENT_MAX: usize = 256 * 1024;

/// Checks a change of `rel` to `content` made against the version `base_hash` (`""` for a new
/// file); saves it unless `dry_run`. A change with problems, or against a file that changed on
/// disk since, is refused and writes nothing.
pub async fn change(
    state: &crate::AppState,
    rel: &str,
    content: String,
    base_hash: &str,
    dry_run: bool,
    actor: &firebreak_domain::Actor,
) -> Result<ChangeOutcome, crate::error::ApiError> {
    use crate::error::ApiError;
    use axum::http::StatusCode;
    let dir = state.procedures.dir().map(Path::to_path_buf).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "this server has no procedures directory; start it with --procedures DIR to edit procedures",
        )
    })?;
    check_path(rel).map_err(|m| ApiError::from(firebreak_domain::DomainError::invalid("path", m)))?;
    if content.len() > CONTENT_MAX {
        return Err(
            firebreak_domain::DomainError::invalid("content", format!("at most {} KiB", CONTENT_MAX / 1024)).into()
        );
    }
    let content = content.replace("\r\n", "\n");
    let (dir2, rel2, content2) = (dir.clone(), rel.to_owned(), content.clone());
    let (before, problems) = tokio::task::spawn_blocking(move || {
        let before = read(&dir2, &rel2);
        let problems = check_change(&dir2, &rel2, &content2);
        (before, problems)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "checking a procedures change failed");
        ApiError::internal()
    })?;
    let before = before.map_err(|m| ApiError::new(StatusCode::CONFLICT, "conflict", m))?;
    let current_hash = before.as_deref().map(hash).unwrap_or_default();
    if base_hash != current_hash {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "changed_on_disk",
            format!(
                "{rel} changed on disk since it was opened (or was created meanwhile); open it again and redo the change"
            ),
        ));
    }
    let mut outcome = ChangeOutcome {
        path: rel.to_owned(),
        diff: diff(rel, before.as_deref().unwrap_or(""), &content),
        problems,
        new_file: before.is_none(),
        saved: false,
        hash: current_hash,
    };
    if dry_run || !outcome.problems.is_empty() || outcome.diff.is_empty() {
        return Ok(outcome);
    }
    let (dir2, rel2, content2) = (dir.clone(), rel.to_owned(), content.clone());
    tokio::task::spawn_blocking(move || write(&dir2, &rel2, &content2))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "saving a procedures file failed");
            ApiError::internal()
        })?
        // The directory is the operator's: say what the file system refused.
        .map_err(|m| ApiError::new(StatusCode::CONFLICT, "cannot_write", m))?;
    let details = serde_json::json!({ "before": outcome.hash, "after": hash(&content), "bytes": content.len() });
    state.store.append_audit(actor, "procedures.edit", &format!("procedures:{rel}"), details).await?;
    let handle = state.procedures.clone();
    let _ = tokio::task::spawn_blocking(move || handle.reload_if_changed()).await;
    outcome.saved = true;
    outcome.hash = hash(&content);
    Ok(outcome)
}

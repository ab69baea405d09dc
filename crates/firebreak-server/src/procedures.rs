//! The procedures directory on disk: reads the files a team keeps in Git, checks them as a
//! whole (see `firebreak_domain::procedures`) and the update templates' syntax (minijinja).

use firebreak_domain::procedures::ProcedureError;
use firebreak_domain::procedures::directory::{Procedures, SourceFile};
use std::path::Path;

/// Folders of a procedures directory that are read (with `config.yaml` at the top).
pub const FOLDERS: &[&str] = &["trees", "playbooks", "contacts", "templates"];
/// Files larger than this are refused (procedures are small text files).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads `config.yaml` and the files of the known folders (not hidden ones, not deeper).
pub fn read_dir(dir: &Path) -> Result<Vec<SourceFile>, Vec<ProcedureError>> {
    let problem = |path: &str, message: String| ProcedureError { file: path.to_owned(), line: 0, message };
    if !dir.is_dir() {
        return Err(vec![problem(&dir.display().to_string(), "not a directory".into())]);
    }
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut read = |rel: String, path: &Path| {
        match std::fs::metadata(path) {
            Ok(m) if m.len() > MAX_FILE_BYTES => {
                errors.push(problem(&rel, format!("larger than {} KiB", MAX_FILE_BYTES / 1024)));
                return;
            }
            Ok(_) => {}
            Err(e) => {
                errors.push(problem(&rel, format!("cannot read: {e}")));
                return;
            }
        }
        match std::fs::read_to_string(path) {
            Ok(text) => files.push(SourceFile { path: rel, text }),
            Err(e) => errors.push(problem(&rel, format!("cannot read as UTF-8 text: {e}"))),
        }
    };
    for name in ["config.yaml", "config.yml"] {
        let p = dir.join(name);
        if p.is_file() {
            read(name.to_owned(), &p);
        }
    }
    for folder in FOLDERS {
        let Ok(entries) = std::fs::read_dir(dir.join(folder)) else { continue };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !e.path().is_file() {
                continue;
            }
            read(format!("{folder}/{name}"), &e.path());
        }
    }
    if errors.is_empty() { Ok(files) } else { Err(errors) }
}

/// Checks the templates' syntax; problems name the template file and line.
pub fn check_templates(procedures: &Procedures, files: &[SourceFile]) -> Vec<ProcedureError> {
    let env = minijinja::Environment::new();
    let mut errors = Vec::new();
    for name in procedures.templates.keys() {
        let Some(file) = files.iter().find(|f| f.path.starts_with("templates/") && stem(&f.path) == name) else {
            continue;
        };
        if let Err(e) = env.template_from_str(&file.text) {
            errors.push(ProcedureError {
                file: file.path.clone(),
                line: e.line().unwrap_or(0),
                message: e.detail().map(str::to_owned).unwrap_or_else(|| e.kind().to_string()),
            });
        }
    }
    errors
}

fn stem(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split('.').next().unwrap_or(file)
}

/// Reads and checks a whole procedures directory.
pub fn load_dir(dir: &Path) -> Result<Procedures, Vec<ProcedureError>> {
    let files = read_dir(dir)?;
    let procedures = Procedures::load(&files)?;
    let errors = check_templates(&procedures, &files);
    if errors.is_empty() { Ok(procedures) } else { Err(errors) }
}

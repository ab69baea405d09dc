//! Procedures and updates: the procedures directory on disk (read from the files a team keeps
//! in Git, checked as a whole — see `firebreak_domain::procedures` — with the update
//! templates' syntax), editing its files, and stakeholder updates.
//!
//! This file reads and reloads the directory; `files` edits it; `render` renders update
//! templates in the sandbox; `updates` composes and sends stakeholder updates; `checklist`
//! attaches playbooks and works their steps; `triage` walks the decision trees.

pub mod files;
pub mod notices;
pub mod playbooks;
pub mod render;
pub mod updates;

use firebreak_domain::procedures::ProcedureError;
use firebreak_domain::procedures::directory::{Procedures, SourceFile};
use std::path::Path;

/// Folders of a procedures directory that are read (with `config.yaml` at the top).
pub const FOLDERS: &[&str] = &["trees", "playbooks", "contacts", "templates", "postmortems", "drills"];
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

/// Renders every update template against a made-up incident; problems name the template
/// file and line.
pub fn check_templates(procedures: &Procedures, files: &[SourceFile]) -> Vec<ProcedureError> {
    crate::app::procedures::render::check_all(procedures, files)
}

/// A file's name without its folder and extensions.
pub(crate) fn stem(path: &str) -> &str {
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

/// The procedures in force: loaded from the directory (or built in), reloaded when its files
/// change. A change with problems keeps the last good procedures and reports the problems.
pub struct ProceduresHandle {
    dir: Option<std::path::PathBuf>,
    current: std::sync::RwLock<std::sync::Arc<Procedures>>,
    problems: std::sync::RwLock<Vec<ProcedureError>>,
    fingerprint: std::sync::Mutex<Option<Fingerprint>>,
}

impl ProceduresHandle {
    /// Loads `dir` now; without one (or while it does not exist) the built-in procedures serve.
    pub fn new(dir: Option<std::path::PathBuf>) -> Self {
        let handle = ProceduresHandle {
            dir,
            current: std::sync::RwLock::new(std::sync::Arc::new(Procedures::builtin())),
            problems: std::sync::RwLock::new(Vec::new()),
            fingerprint: std::sync::Mutex::new(None),
        };
        handle.reload_if_changed();
        handle
    }

    /// The procedures in force.
    pub fn current(&self) -> std::sync::Arc<Procedures> {
        self.current.read().map(|c| c.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Problems of the directory as it is on disk now (empty when it loaded).
    pub fn problems(&self) -> Vec<ProcedureError> {
        self.problems.read().map(|p| p.clone()).unwrap_or_default()
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Reloads when a file was added, removed or changed since the last look. Returns whether
    /// it reloaded.
    pub fn reload_if_changed(&self) -> bool {
        let Some(dir) = &self.dir else { return false };
        let print = fingerprint(dir);
        {
            let Ok(mut last) = self.fingerprint.lock() else { return false };
            if last.as_ref() == Some(&print) {
                return false;
            }
            *last = Some(print.clone());
        }
        if print.is_empty() && !dir.exists() {
            self.set(Ok(Procedures::builtin()));
            return true;
        }
        let loaded = load_dir(dir);
        match &loaded {
            Ok(p) => {
                tracing::info!(dir = %dir.display(), trees = p.trees.len(), playbooks = p.playbooks.len(), "procedures loaded")
            }
            Err(problems) => tracing::warn!(
                dir = %dir.display(),
                problems = problems.len(),
                first = %problems.first().map(ToString::to_string).unwrap_or_default(),
                "procedures have problems; the last good ones stay in force (see GET /api/v1/procedures)"
            ),
        }
        self.set(loaded);
        true
    }

    fn set(&self, loaded: Result<Procedures, Vec<ProcedureError>>) {
        match loaded {
            Ok(p) => {
                if let Ok(mut c) = self.current.write() {
                    *c = std::sync::Arc::new(p);
                }
                if let Ok(mut e) = self.problems.write() {
                    e.clear();
                }
            }
            Err(problems) => {
                if let Ok(mut e) = self.problems.write() {
                    *e = problems;
                }
            }
        }
    }
}

/// Names, sizes and modification times of the files a load would read.
type Fingerprint = Vec<(String, u64, Option<std::time::SystemTime>)>;

fn fingerprint(dir: &Path) -> Fingerprint {
    let mut out = Vec::new();
    let mut add = |rel: String, path: &Path| {
        if let Ok(m) = std::fs::metadata(path) {
            out.push((rel, m.len(), m.modified().ok()));
        }
    };
    for name in ["config.yaml", "config.yml"] {
        add(name.to_owned(), &dir.join(name));
    }
    for folder in FOLDERS {
        let Ok(entries) = std::fs::read_dir(dir.join(folder)) else { continue };
        for e in entries.flatten() {
            add(format!("{folder}/{}", e.file_name().to_string_lossy()), &e.path());
        }
    }
    out.sort();
    out
}

/// How often the directory is looked at for changes.
pub const RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Reloads the procedures when their files change, until the server shuts down.
pub fn spawn_reloader(state: crate::AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut shutdown = state.shutdown.clone();
        let mut interval = tokio::time::interval(RELOAD_EVERY);
        loop {
            tokio::select! {
                _ = interval.tick() => {
                    let handle = state.procedures.clone();
                    let _ = tokio::task::spawn_blocking(move || handle.reload_if_changed()).await;
                }
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
            }
        }
    })
}

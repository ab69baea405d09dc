//! The layering of `firebreak-server` (docs/architecture.md), checked on the source: the
//! application layer names no transport, and the JSON API and the web UI never name each other.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Lines of code under `layer` (comments left out) that name `crate::<other>` for any of `others`.
fn crossings(layer: &str, others: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(layer);
    let files = sources(&root);
    assert!(!files.is_empty(), "no sources under {}", root.display());
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source file");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for other in others {
                let needle = format!("crate::{other}::");
                let needle_brace = format!("crate::{other}::{{");
                let needle_bare = format!("crate::{other};");
                if code.contains(&needle) || code.contains(&needle_brace) || code.contains(&needle_bare) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn the_application_layer_names_no_transport() {
    let found = crossings("app", &["api", "web", "ingest"]);
    assert!(found.is_empty(), "app/ must not import a transport:\n{}", found.join("\n"));
}

#[test]
fn the_application_layer_does_not_call_the_engine() {
    // The engine calls the application layer; operations wake it through the `AppState`.
    let found = crossings("app", &["engine"]);
    assert!(found.is_empty(), "app/ must not import engine/:\n{}", found.join("\n"));
}

#[test]
fn the_api_does_not_use_the_web_ui() {
    let found = crossings("api", &["web"]);
    assert!(found.is_empty(), "api/ must not import web/:\n{}", found.join("\n"));
}

#[test]
fn the_web_ui_does_not_use_the_api() {
    let found = crossings("web", &["api"]);
    assert!(found.is_empty(), "web/ must not import api/:\n{}", found.join("\n"));
}

#[test]
fn shared_views_name_no_layer_above_them() {
    let found = crossings("views", &["api", "web", "app", "ingest", "engine"]);
    assert!(found.is_empty(), "views/ must stay below both transports and app/:\n{}", found.join("\n"));
}

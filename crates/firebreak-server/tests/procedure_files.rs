//! Editing the procedures directory through the API and the web pages (admins only): the
//! change is checked with the whole directory and shown as a diff first; saving writes the
//! file back, reloads the procedures and is audited; a change with problems, a file changed on
//! disk meanwhile, or a path outside the known folders writes nothing. On both backends.

mod common;

use axum::http::{Method, StatusCode};
use common::{Backend, TestApp, assert_error, csrf_of, form, location, page, sign_in, testid};
use firebreak_server::ServerConfig;
use serde_json::json;

const PLAYBOOK: &str = "---\nname: db\ntitle: Database down\nsteps:\n  containment:\n    - task: Fail over\n---\n";

async fn app(backend: Backend) -> Option<(TestApp, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("playbooks")).expect("mkdir");
    std::fs::write(dir.path().join("playbooks/db.md"), PLAYBOOK).expect("write");
    let config = ServerConfig { procedures_dir: Some(dir.path().to_path_buf()), ..ServerConfig::default() };
    let app = TestApp::with_config(backend, config).await?;
    Some((app, dir))
}

async fn post(app: &TestApp, cookie: &str, fields: Vec<(&str, String)>) -> common::Reply {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.send(form(Method::POST, "/procedures/edit", cookie, &pairs)).await
}

fn hash(text: &str) -> String {
    firebreak_server::app::procedures::files::hash(text)
}

async fn files_are_checked_diffed_and_saved_through_the_api(backend: Backend) {
    let Some((app, dir)) = app(backend).await else { return };
    let url = "/api/v1/procedures/files/playbooks/db.md";
    // Admins only.
    assert_error(&app.get("/api/v1/procedures/files", &app.responder.token).await, StatusCode::FORBIDDEN, "forbidden");
    assert_error(&app.get(url, &app.viewer.token).await, StatusCode::FORBIDDEN, "forbidden");
    let r = app.get("/api/v1/procedures/files", &app.admin.token).await;
    assert_eq!(r.body["items"], json!([{"path": "playbooks/db.md", "bytes": PLAYBOOK.len(), "hash": hash(PLAYBOOK)}]));
    let r = app.get(url, &app.admin.token).await;
    assert_eq!((r.body["content"].as_str(), r.body["hash"].as_str()), (Some(PLAYBOOK), Some(hash(PLAYBOOK).as_str())));

    // A dry run: the diff and the directory's problems, nothing written.
    let changed = PLAYBOOK.replace("Fail over", "Fail over to the replica");
    let put =
        |content: &str, base: &str, dry_run: bool| json!({"content": content, "base_hash": base, "dry_run": dry_run});
    let r = app.call(Method::PUT, url, &app.admin.token, Some(put(&changed, &hash(PLAYBOOK), true))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let diff = r.body["diff"].as_str().unwrap_or_default();
    assert!(diff.contains("-    - task: Fail over\n+    - task: Fail over to the replica"), "{diff}");
    assert_eq!((r.body["saved"].as_bool(), r.body["problems"].clone()), (Some(false), json!([])));
    assert_eq!(std::fs::read_to_string(dir.path().join("playbooks/db.md")).expect("read"), PLAYBOOK);

    // Problems: reported with file:line; saving them is refused.
    let broken = PLAYBOOK.replace("task: Fail over", "notify: nobody");
    let r = app.call(Method::PUT, url, &app.admin.token, Some(put(&broken, &hash(PLAYBOOK), true))).await;
    assert_eq!(r.body["problems"], json!(["playbooks/db.md:6: unknown contact list \"nobody\""]), "{}", r.text);
    let r = app.call(Method::PUT, url, &app.admin.token, Some(put(&broken, &hash(PLAYBOOK), false))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "procedures_invalid");
    // Made against an old version: refused.
    let r = app.call(Method::PUT, url, &app.admin.token, Some(put(&changed, &hash("older"), false))).await;
    assert_error(&r, StatusCode::CONFLICT, "changed_on_disk");
    // Paths outside the known folders, and bad bodies.
    for bad in ["../etc/passwd", "playbooks/../../x.md", "secrets/x.yaml", "playbooks/.x.md", "templates/x.txt"] {
        let r = app
            .call(Method::PUT, &format!("/api/v1/procedures/files/{bad}"), &app.admin.token, Some(put("x", "", false)))
            .await;
        assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY || r.status == StatusCode::NOT_FOUND, "{bad}: {}", r.text);
    }
    let r = app.raw(Method::PUT, url, Some(&app.admin.token), Some("{\"content\": 5}".into())).await;
    assert!(r.status.is_client_error(), "{}", r.text);
    assert_eq!(std::fs::read_to_string(dir.path().join("playbooks/db.md")).expect("read"), PLAYBOOK, "nothing written");
    assert!(!dir.path().join("secrets").exists() && !dir.path().parent().expect("parent").join("x.md").exists());

    // Saved: on disk, in force at once, audited.
    let r = app.call(Method::PUT, url, &app.admin.token, Some(put(&changed, &hash(PLAYBOOK), false))).await;
    assert_eq!((r.status, r.body["saved"].as_bool()), (StatusCode::OK, Some(true)), "{}", r.text);
    assert_eq!(r.body["hash"].as_str(), Some(hash(&changed).as_str()));
    assert_eq!(std::fs::read_to_string(dir.path().join("playbooks/db.md")).expect("read"), changed);
    let r = app.get("/api/v1/procedures", &app.viewer.token).await;
    assert_eq!(r.body["playbooks"][0]["version"].as_str(), Some(hash(&changed).as_str()), "reloaded: {}", r.text);
    let audit = app.get("/api/v1/audit", &app.admin.token).await;
    assert!(
        audit.text.contains("procedures.edit") && audit.text.contains("procedures:playbooks/db.md"),
        "{}",
        audit.text
    );

    // A new file (base hash empty) in a new folder.
    let list = "name: dba\nmembers:\n  - email: dba@example.com\n";
    let r = app
        .call(Method::PUT, "/api/v1/procedures/files/contacts/dba.yaml", &app.admin.token, Some(put(list, "", false)))
        .await;
    assert_eq!((r.status, r.body["new_file"].as_bool()), (StatusCode::OK, Some(true)), "{}", r.text);
    assert_eq!(app.get("/api/v1/procedures", &app.viewer.token).await.body["contact_lists"], json!(["dba"]));
}

async fn files_are_edited_in_the_browser_with_a_diff_first(backend: Backend) {
    let Some((app, dir)) = app(backend).await else { return };
    let cookie = sign_in(&app, "admin@example.com").await;
    let r = app.send(page("/procedures", &cookie)).await;
    assert!(testid(&r.text, "edit-files").is_some(), "{}", r.text);
    let r = app.send(page("/procedures/files", &cookie)).await;
    assert!(r.text.contains("href=\"/procedures/edit?path=playbooks/db.md\""), "{}", r.text);
    let r = app.send(page("/procedures/edit?path=playbooks/db.md", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let csrf = csrf_of(&r.text);
    assert!(!r.text.contains("value=\"save\""), "no save before a check");
    let changed = PLAYBOOK.replace("Fail over", "Fail over <now>");
    let fields = |action: &'static str, content: String| {
        vec![
            ("csrf", csrf.clone()),
            ("path", "playbooks/db.md".into()),
            ("base_hash", hash(PLAYBOOK)),
            ("content", content),
            ("action", action.into()),
        ]
    };
    let r = post(&app, &cookie, fields("check", changed.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(testid(&r.text, "valid").is_some(), "{}", r.text);
    assert!(
        r.text.contains("<span class=\"diff-add\">+    - task: Fail over &#60;now&#62;</span>"),
        "escaped diff: {}",
        r.text
    );
    assert!(r.text.contains("value=\"save\""));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("playbooks/db.md")).expect("read"),
        PLAYBOOK,
        "checking writes nothing"
    );
    let r = post(&app, &cookie, fields("save", PLAYBOOK.replace("task: Fail over", "notify: ghosts"))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(testid(&r.text, "problem").is_some_and(|p| p.contains("unknown contact list")), "{}", r.text);
    let r = post(&app, &cookie, fields("save", changed.clone())).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = app.send(page(&location(&r), &cookie)).await;
    assert_eq!(testid(&r.text, "notice").as_deref(), Some("Saved playbooks/db.md — the procedures reloaded."));
    assert_eq!(std::fs::read_to_string(dir.path().join("playbooks/db.md")).expect("read"), changed);
    // The same form again: the file changed since it was opened.
    let r = post(&app, &cookie, fields("save", PLAYBOOK.to_owned())).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(std::fs::read_to_string(dir.path().join("playbooks/db.md")).expect("read"), changed);
    // Others may not.
    let responder = sign_in(&app, "responder@example.com").await;
    assert_eq!(app.send(page("/procedures/files", &responder)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.send(page("/procedures/edit?path=playbooks/db.md", &responder)).await.status, StatusCode::FORBIDDEN);
    let r = app.send(page("/procedures/edit?path=../../etc/passwd", &cookie)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

for_each_backend!(
    files_are_checked_diffed_and_saved_through_the_api,
    files_are_edited_in_the_browser_with_a_diff_first
);

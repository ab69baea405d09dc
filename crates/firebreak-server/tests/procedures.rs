//! Procedures in the server: triaging an incident through the API with the decision tree
//! (one question at a time, the outcome applied and recorded with every answer), and a
//! procedures directory that reloads when it changes and keeps the last good version while it
//! has problems. On both backends.

mod common;

use axum::http::StatusCode;
use common::{Backend, TestApp, assert_error};
use firebreak_server::ServerConfig;
use serde_json::{Value, json};

async fn timeline(app: &TestApp, n: &Value) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/incidents/{n}/timeline"), &app.viewer.token).await;
    r.body["items"].as_array().cloned().expect("items")
}

async fn triage_walks_the_tree_and_applies_the_outcome(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else { return };
    let incident = app.declare("Checkout is down").await;
    let n = incident["number"].clone();
    let before = timeline(&app, &n).await.len();

    let r = app.get(&format!("/api/v1/incidents/{n}/triage"), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["state"].clone(), r.body["tree"].clone()), (json!("ask"), json!("severity")));
    assert!(r.body["question"]["text"].as_str().expect("text").contains("security exposure"), "{}", r.text);

    // Part of the way: the next question, nothing changes (viewers may look).
    let r = app.post(&format!("/api/v1/incidents/{n}/triage"), &app.viewer.token, json!({"answers": ["No"]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["question"]["id"], "impact");
    assert_eq!(r.body["path"][0]["answer"], "No");
    assert_eq!(timeline(&app, &n).await.len(), before, "asking changes nothing");

    // The whole way, by index: No / cannot use a core feature / All or most → critical outage.
    let r = app.post(&format!("/api/v1/incidents/{n}/triage"), &app.viewer.token, json!({"answers": [1, 0, 0]})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r =
        app.post(&format!("/api/v1/incidents/{n}/triage"), &app.responder.token, json!({"answers": [1, 0, 0]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["state"], "done");
    assert_eq!(
        (r.body["outcome"]["severity"].clone(), r.body["outcome"]["type"].clone()),
        (json!("critical"), json!("outage"))
    );
    assert_eq!(r.body["incident"]["severity"], "critical");
    let events = timeline(&app, &n).await;
    let triaged = events.iter().find(|e| e["kind"] == "triaged").expect("a triaged entry");
    assert_eq!(triaged["steps"].as_array().map(Vec::len), Some(3));
    assert_eq!(triaged["steps"][2]["answer"], "All or most");
    assert_eq!(triaged["outcome"], "critical-outage");
    assert!(events.iter().any(|e| e["kind"] == "severity_changed" && e["to"] == "critical"), "{events:?}");

    // By text, to a different outcome.
    let r = app
        .post(
            &format!("/api/v1/incidents/{n}/triage"),
            &app.responder.token,
            json!({"answers": ["no", "No, only internal users or systems", "yes"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.body["incident"]["severity"].clone(), r.body["incident"]["type"].clone()),
        (json!("low"), json!("other"))
    );

    // Bad answers change nothing.
    for bad in [
        json!({"answers": ["maybe"]}),
        json!({"answers": [0, "No"]}),
        json!({"answers": [7]}),
        json!({"answers": [1, 0, 0, 0]}),
    ] {
        let r = app.post(&format!("/api/v1/incidents/{n}/triage"), &app.responder.token, bad.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", r.text);
    }
    let r = app
        .post(&format!("/api/v1/incidents/{n}/triage"), &app.responder.token, json!({"answers": [], "tree": "nope"}))
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = app.post(&format!("/api/v1/incidents/{n}/triage"), &app.responder.token, json!({"answerz": []})).await;
    assert!(r.status.is_client_error(), "{}", r.text);
    let r = app.post("/api/v1/incidents/9999/triage", &app.responder.token, json!({"answers": []})).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = app.get(&format!("/api/v1/incidents/{n}"), &app.viewer.token).await;
    assert_eq!(r.body["severity"], "low", "unchanged by the refused requests");
}

async fn the_procedures_directory_reloads_and_keeps_the_last_good_version(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "trees/quick.yaml",
        "start: q\nquestions:\n  q:\n    text: Is it on fire?\n    answers:\n      - answer: Yes\n        outcome: hot\n      - answer: No\n        outcome: cold\noutcomes:\n  hot: { severity: critical, type: outage }\n  cold: { severity: low, type: other }\n",
    );
    write("config.yaml", "triage_tree: quick\n");
    let config = ServerConfig { procedures_dir: Some(dir.path().to_path_buf()), ..ServerConfig::default() };
    let Some(app) = TestApp::with_config(backend, config).await else { return };
    let r = app.get("/api/v1/procedures", &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["triage_tree"], "quick");
    assert_eq!(r.body["problems"], json!([]));
    let r = app.get("/api/v1/procedures/trees/quick", &app.viewer.token).await;
    assert_eq!(r.body["questions"]["q"]["text"], "Is it on fire?");
    let n = app.declare("smoke").await["number"].clone();
    let r = app.post(&format!("/api/v1/incidents/{n}/triage"), &app.responder.token, json!({"answers": ["Yes"]})).await;
    assert_eq!(r.body["incident"]["severity"], "critical", "{}", r.text);

    // A broken edit: reported, and the last good tree stays in force.
    write("trees/quick.yaml", "start: q\nquestions: {}\noutcomes: {}\n");
    assert!(app.state.procedures.reload_if_changed());
    let r = app.get("/api/v1/procedures", &app.viewer.token).await;
    let problems = r.body["problems"].as_array().cloned().expect("problems");
    assert!(
        problems.iter().any(|p| p
            .as_str()
            .is_some_and(|p| p.starts_with("trees/quick.yaml:1: `start` names an unknown question"))),
        "{problems:?}"
    );
    assert_eq!(
        app.get("/api/v1/procedures/trees/quick", &app.viewer.token).await.body["questions"]["q"]["text"],
        "Is it on fire?"
    );
    assert!(!app.state.procedures.reload_if_changed(), "nothing changed since");

    // Fixed: the new version is in force and the problems are gone.
    write(
        "trees/quick.yaml",
        "start: q\nquestions:\n  q:\n    text: Is it smoking?\n    answers:\n      - answer: Yes\n        outcome: hot\noutcomes:\n  hot: { severity: high, type: outage }\n",
    );
    assert!(app.state.procedures.reload_if_changed());
    let r = app.get("/api/v1/procedures", &app.viewer.token).await;
    assert_eq!(r.body["problems"], json!([]));
    assert_eq!(
        app.get("/api/v1/procedures/trees/quick", &app.viewer.token).await.body["questions"]["q"]["text"],
        "Is it smoking?"
    );
}

fn example_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/procedures-example")
}

async fn triage_attaches_the_playbook_whose_checklist_is_worked(backend: Backend) {
    let config = ServerConfig { procedures_dir: Some(example_dir()), ..ServerConfig::default() };
    let Some(app) = TestApp::with_config(backend, config).await else { return };
    assert_eq!(app.get("/api/v1/procedures", &app.viewer.token).await.body["problems"], json!([]));
    let incident = app.declare("Checkout is down").await;
    let n = incident["number"].clone();
    let r = app.get(&format!("/api/v1/incidents/{n}/checklist"), &app.viewer.token).await;
    assert_eq!((r.status, r.body["playbook"].clone()), (StatusCode::OK, Value::Null));

    let answers = json!({"answers": ["No", "Yes, they cannot use a core feature", "All or most"]});
    let r = app.post(&format!("/api/v1/incidents/{n}/triage"), &app.responder.token, answers).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["playbook"], "major-outage", "the outcome's playbook attaches");
    let r = app.get(&format!("/api/v1/incidents/{n}/checklist"), &app.viewer.token).await;
    assert_eq!(r.body["playbook"]["name"], "major-outage");
    let text = std::fs::read(example_dir().join("playbooks/major-outage.md")).expect("read");
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&text))
    };
    assert_eq!(r.body["playbook"]["version"], hash, "the incident records the version it ran");
    let items = r.body["items"].as_array().cloned().expect("items");
    assert_eq!(items[0]["phase"], "containment");
    assert_eq!(items[0]["state"], "open");
    let detected: chrono::DateTime<chrono::Utc> = incident["detected_at"].as_str().expect("t").parse().expect("time");
    let due: chrono::DateTime<chrono::Utc> = items[0]["due_at"].as_str().expect("due").parse().expect("time");
    assert_eq!(due - detected, chrono::TimeDelta::minutes(10), "due 10 minutes after detection");
    let action = items.iter().find(|i| i["kind"]["kind"] == "action").expect("an action step");
    assert_eq!(action["kind"]["request"]["headers"]["Authorization"], "Bearer ${secret:OPS_API_TOKEN}");

    // Working the checklist.
    let r = app.post(&format!("/api/v1/incidents/{n}/checklist/0"), &app.viewer.token, json!({"state": "done"})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r =
        app.post(&format!("/api/v1/incidents/{n}/checklist/0"), &app.responder.token, json!({"state": "done"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["state"].clone(), r.body["done_by"].clone()), (json!("done"), json!(app.responder.user.id)));
    let r = app
        .post(&format!("/api/v1/incidents/{n}/checklist/1"), &app.responder.token, json!({"state": "skipped"}))
        .await;
    assert_eq!(r.body["state"], "skipped");
    for (pos, body, status) in [
        ("0", json!({"state": "finished"}), StatusCode::UNPROCESSABLE_ENTITY),
        ("99", json!({"state": "done"}), StatusCode::NOT_FOUND),
        ("x", json!({"state": "done"}), StatusCode::NOT_FOUND),
    ] {
        let r = app.post(&format!("/api/v1/incidents/{n}/checklist/{pos}"), &app.responder.token, body).await;
        assert_eq!(r.status, status, "{pos}: {}", r.text);
    }
    let events = timeline(&app, &n).await;
    assert!(events.iter().any(|e| e["kind"] == "playbook_attached" && e["version"] == hash), "{events:?}");
    assert!(events.iter().any(|e| e["kind"] == "checklist_item_changed" && e["state"] == "done"), "{events:?}");

    // By hand: once per incident; unknown names are 404.
    let m = app.declare("Security alert").await["number"].clone();
    let r = app.post(&format!("/api/v1/incidents/{m}/playbook"), &app.responder.token, json!({"name": "nope"})).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = app
        .post(&format!("/api/v1/incidents/{m}/playbook"), &app.responder.token, json!({"name": "security-incident"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(6));
    let r = app
        .post(&format!("/api/v1/incidents/{m}/playbook"), &app.responder.token, json!({"name": "major-outage"}))
        .await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");

    // An outcome without a playbook: the best match for the new type and severity attaches.
    let k = app.declare("Internal only").await["number"].clone();
    let answers = json!({"answers": ["Yes", "No, internal data only"]});
    let r = app.post(&format!("/api/v1/incidents/{k}/triage"), &app.responder.token, answers).await;
    assert_eq!(r.body["playbook"], "security-incident", "{}", r.text);
}

async fn action_steps_run_only_when_confirmed_and_record_the_answer(backend: Backend) {
    let mut ops = common::receiver::HttpReceiver::start(200, r#"{"failover": "started"}"#).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("playbooks")).expect("mkdir");
    let playbook = format!(
        "---\nname: db\nsteps:\n  containment:\n    - action: Fail over\n      request:\n        method: POST\n        url: {url}/failover\n        headers:\n          Authorization: Bearer ${{secret:OPS}}\n        body: '{{\"cluster\": \"main\"}}'\n    - action: Flush caches\n      request:\n        url: {url}/flush\n    - action: Page the vendor\n      request:\n        url: {url}/vendor\n        headers:\n          X-Api-Key: ${{secret:VENDOR}}\n    - task: Watch the graphs\n---\n",
        url = ops.url
    );
    std::fs::write(dir.path().join("playbooks/db.md"), playbook).expect("write");
    let mut secrets = std::collections::BTreeMap::new();
    secrets.insert("OPS".to_owned(), firebreak_server::notify::config::Secret("s3cret-token".into()));
    let config = ServerConfig {
        procedures_dir: Some(dir.path().to_path_buf()),
        action_secrets: secrets,
        ..ServerConfig::default()
    };
    let Some(app) = TestApp::with_config(backend, config).await else { return };
    assert_eq!(app.get("/api/v1/procedures", &app.viewer.token).await.body["problems"], json!([]));
    let n = app.declare("Database down").await["number"].clone();
    let r = app.post(&format!("/api/v1/incidents/{n}/playbook"), &app.responder.token, json!({"name": "db"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let run = async |pos: u32, confirm: bool| {
        let path = format!("/api/v1/incidents/{n}/checklist/{pos}/run");
        app.post(&path, &app.responder.token, json!({"confirm": confirm})).await
    };

    // Refused: not confirmed, or not allowed; nothing is sent.
    let r = run(0, false).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r =
        app.post(&format!("/api/v1/incidents/{n}/checklist/0/run"), &app.viewer.token, json!({"confirm": true})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = run(2, true).await;
    assert!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.text.contains("FIREBREAK_SECRET_VENDOR"), "{}", r.text);
    let r = run(3, true).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    assert!(ops.nothing_arrived(), "no request went out");

    // Confirmed: the request goes out with the secret filled in; the answer is recorded.
    let r = run(0, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["succeeded"].clone(), r.body["status"].clone()), (json!(true), json!(200)));
    assert_eq!(r.body["item"]["state"], "done");
    assert!(r.body["response"].as_str().expect("response").contains("failover"));
    let got = ops.next().await;
    assert_eq!((got.method.as_str(), got.path.as_str()), ("POST", "/failover"));
    assert_eq!(got.header("authorization"), "Bearer s3cret-token");
    assert_eq!(got.body, br#"{"cluster": "main"}"#);
    let r = run(0, true).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");

    // Failed: the target answers 500; the item stays open and the failure is on the timeline.
    ops.answer_with(500);
    let r = run(1, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["succeeded"].clone(), r.body["status"].clone()), (json!(false), json!(500)));
    assert_eq!(r.body["item"]["state"], "open");
    let events = timeline(&app, &n).await;
    let runs: Vec<&Value> = events.iter().filter(|e| e["kind"] == "action_run").collect();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["url"], format!("{}/failover", ops.url));
    assert_eq!(runs[1]["succeeded"], false);
    let all = serde_json::to_string(&events).expect("json");
    assert!(!all.contains("s3cret-token"), "secrets never reach the timeline");
    let audit = app.get("/api/v1/audit", &app.admin.token).await;
    assert!(!audit.text.contains("s3cret-token"), "nor the audit log");
}

async fn the_timeline_exports_as_markdown_and_json(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else { return };
    let n = app.declare("Pipes | and <b>tags</b>").await["number"].clone();
    let r = app
        .post(&format!("/api/v1/incidents/{n}/notes"), &app.responder.token, json!({"body": "line one\nline | two"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .post(
            &format!("/api/v1/incidents/{n}/triage"),
            &app.responder.token,
            json!({"answers": ["No", "No, only internal users or systems", "Yes"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let md = app.get(&format!("/api/v1/incidents/{n}/timeline/export"), &app.viewer.token).await;
    assert_eq!(md.status, StatusCode::OK, "{}", md.text);
    assert_eq!(md.headers["content-type"], "text/markdown; charset=utf-8");
    assert_eq!(md.headers["content-disposition"], format!("attachment; filename=\"INC-{n}-timeline.md\""));
    assert!(md.text.starts_with(&format!("# INC-{n}: Pipes \\| and <b>tags</b>\n")), "{}", md.text);
    let rows: Vec<&str> = md.text.lines().filter(|l| l.starts_with("| 20")).collect();
    assert!(rows.len() >= 4, "{}", md.text);
    assert!(rows.iter().all(|r| r.replace("\\|", "").matches('|').count() == 5), "four cells a row: {rows:?}");
    assert!(md.text.contains("> line one\n> line | two"), "notes quoted whole: {}", md.text);
    assert!(md.text.contains("> Is there a security exposure"), "triage answers quoted: {}", md.text);

    let js = app.get(&format!("/api/v1/incidents/{n}/timeline/export?format=json"), &app.viewer.token).await;
    assert_eq!(js.status, StatusCode::OK, "{}", js.text);
    assert_eq!(js.body["incident"]["number"], n);
    let kinds: Vec<&str> =
        js.body["timeline"].as_array().expect("timeline").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"created"));
    assert!(kinds.contains(&"note_added") && kinds.contains(&"triaged"), "{kinds:?}");

    let bad = app.get(&format!("/api/v1/incidents/{n}/timeline/export?format=pdf"), &app.viewer.token).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_format");
    let missing = app.get("/api/v1/incidents/9999/timeline/export", &app.viewer.token).await;
    assert_error(&missing, StatusCode::NOT_FOUND, "not_found");
}

for_each_backend!(
    the_timeline_exports_as_markdown_and_json,
    action_steps_run_only_when_confirmed_and_record_the_answer,
    triage_attaches_the_playbook_whose_checklist_is_worked,
    triage_walks_the_tree_and_applies_the_outcome,
    the_procedures_directory_reloads_and_keeps_the_last_good_version,
);

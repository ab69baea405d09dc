//! Real-browser tests in headless Chromium (through chromedriver), run when
//! `FIREBREAK_TEST_BROWSER` is set (`.ci/run` sets it). One person signs in, declares an
//! incident, acknowledges it, writes a note and resolves it; a second person watching the
//! incident page sees the timeline and status change without reloading.

mod common;

use common::{Backend, PASSWORD, TestApp};
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the browser tests run here (`FIREBREAK_TEST_BROWSER` set); says so when they do
/// not. Picks the TLS provider the WebDriver client uses (ring and aws-lc are both linked).
fn browser_tests_on() -> bool {
    if std::env::var_os("FIREBREAK_TEST_BROWSER").is_none() {
        eprintln!("skipped: browser tests need FIREBREAK_TEST_BROWSER=1 and Debian's chromium and chromium-driver");
        return false;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    true
}

async fn start_chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let child = Command::new(&bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin} (install Debian's chromium-driver): {e}"));
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "chromedriver did not start listening");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Driver { child, url: format!("http://127.0.0.1:{port}") }
}

async fn browser(driver: &Driver, profile: &std::path::Path, width: u32, height: u32) -> Client {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.display()),
                format!("--window-size={width},{height}"),
            ]
        }
    });
    let serde_json::Value::Object(caps) = caps else { unreachable!() };
    ClientBuilder::rustls()
        .unwrap_or_else(|e| panic!("{e}"))
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("cannot start a Chromium session: {e}"))
}

async fn sign_in(c: &Client, base: &str, email: &str) {
    c.goto(&format!("{base}/login")).await.unwrap_or_else(|e| panic!("{e}"));
    c.find(Locator::Id("email"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .send_keys(email)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    c.find(Locator::Id("password"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .send_keys(PASSWORD)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    c.find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The sign-in page has a heading too: wait for the address to change, not for an element.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let url = c.current_url().await.unwrap_or_else(|e| panic!("{e}"));
        if url.path() != "/login" {
            assert_eq!(url.path(), "/incidents", "signed in and sent to the incident list");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still on the sign-in page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.wait().at_most(WAIT).for_element(Locator::Css("main h1")).await.unwrap_or_else(|e| panic!("{e}"));
}

async fn click(c: &Client, css: &str) {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
}

async fn status_text(c: &Client) -> String {
    match c.find(Locator::Css("[data-testid=status]")).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn wait_for_status(c: &Client, want: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if status_text(c).await == want {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "status never became {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn timeline_text(c: &Client) -> String {
    match c.find(Locator::Css("[data-testid=timeline]")).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declare_work_and_watch_an_incident_live() {
    if !browser_tests_on() {
        return;
    }
    let Some(app) = TestApp::new(Backend::Sqlite).await else { return };
    let base = app.serve().await;
    let driver = start_chromedriver().await;
    let profiles = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // The responder works on a phone-sized screen; the watcher on a desktop one.
    let responder = browser(&driver, &profiles.path().join("a"), 390, 844).await;
    let watcher = browser(&driver, &profiles.path().join("b"), 1280, 900).await;

    sign_in(&responder, &base, "responder@example.com").await;
    click(&responder, "a.button.primary[href='/incidents/new']").await;
    let title =
        responder.wait().at_most(WAIT).for_element(Locator::Id("title")).await.unwrap_or_else(|e| panic!("{e}"));
    title.send_keys("Checkout returns 500s").await.unwrap_or_else(|e| panic!("{e}"));
    responder
        .find(Locator::Id("severity"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_value("critical")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    responder
        .find(Locator::Id("services"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .send_keys("checkout")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    click(&responder, "form[action='/incidents'] button[type=submit]").await;
    wait_for_status(&responder, "triggered").await;
    assert_eq!(responder.current_url().await.map(|u| u.path().to_owned()).unwrap_or_default(), "/incidents/INC-1");

    // The watcher opens the same incident and marks the page, to prove it is never reloaded.
    sign_in(&watcher, &base, "viewer@example.com").await;
    watcher.goto(&format!("{base}/incidents/INC-1")).await.unwrap_or_else(|e| panic!("{e}"));
    wait_for_status(&watcher, "triggered").await;
    let connected = async {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let v = watcher
                .execute("return document.getElementById('live').getAttribute('data-connected')", vec![])
                .await
                .unwrap_or_default();
            if v == serde_json::json!("true") {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "live updates never connected");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    connected.await;
    watcher.execute("window.__notReloaded = true; return true", vec![]).await.unwrap_or_else(|e| panic!("{e}"));

    click(&responder, "button.action-acknowledge").await;
    wait_for_status(&responder, "acknowledged").await;
    wait_for_status(&watcher, "acknowledged").await;

    // The 3 a.m. note, by keyboard: `n` to the note box, Ctrl+Enter to post.
    let body = responder.find(Locator::Css("body")).await.unwrap_or_else(|e| panic!("{e}"));
    body.send_keys("n").await.unwrap_or_else(|e| panic!("{e}"));
    let focused = responder
        .execute("return document.activeElement && document.activeElement.id", vec![])
        .await
        .unwrap_or_default();
    assert_eq!(focused, serde_json::json!("note-body"), "n focuses the note box");
    let note =
        responder.wait().at_most(WAIT).for_element(Locator::Id("note-body")).await.unwrap_or_else(|e| panic!("{e}"));
    note.send_keys("Rolled back deploy 1234; error rate falling").await.unwrap_or_else(|e| panic!("{e}"));
    // Control held (WebDriver's U+E009), Enter (U+E007), then every key released (U+E000).
    note.send_keys("\u{E009}\u{E007}\u{E000}").await.unwrap_or_else(|e| panic!("{e}"));
    let deadline = tokio::time::Instant::now() + WAIT;
    while !timeline_text(&watcher).await.contains("Rolled back deploy 1234") {
        assert!(tokio::time::Instant::now() < deadline, "the note never reached the watcher's timeline");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    click(&responder, "button.action-contain").await;
    wait_for_status(&responder, "contained").await;
    wait_for_status(&watcher, "contained").await;
    screenshots(&watcher, "incident").await;

    click(&responder, "button.action-resolve").await;
    wait_for_status(&responder, "resolved").await;
    wait_for_status(&watcher, "resolved").await;
    let still_same_page = watcher.execute("return window.__notReloaded === true", vec![]).await.unwrap_or_default();
    assert_eq!(still_same_page, serde_json::json!(true), "the watcher's page was reloaded instead of updated live");
    let timeline = timeline_text(&watcher).await;
    assert!(timeline.contains("changed status from acknowledged to contained"), "{timeline}");
    assert!(timeline.contains("changed status from contained to resolved"), "{timeline}");

    if let Ok(png) = watcher.screenshot().await {
        let _ = std::fs::write(std::env::temp_dir().join("firebreak-watcher.png"), png);
    }
    if let Ok(png) = responder.screenshot().await {
        let _ = std::fs::write(std::env::temp_dir().join("firebreak-responder.png"), png);
    }
    let _ = responder.close().await;
    let _ = watcher.close().await;
}

/// Screenshots of the page at 1,400 and 390 px wide, kept as test artefacts in
/// `target/tmp/browser/NAME-WIDTH.png`; at either width nothing runs off the side.
async fn screenshots(c: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    for width in [1400u32, 390] {
        c.set_window_size(width, 1000).await.unwrap_or_else(|e| panic!("{e}"));
        let overflow = c
            .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth", vec![])
            .await
            .unwrap_or_default();
        assert!(overflow.as_i64().is_some_and(|o| o <= 1), "{name} at {width} px runs off the side by {overflow} px");
        let png = c.screenshot().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap_or_else(|e| panic!("{e}"));
    }
    c.set_window_size(1400, 1000).await.unwrap_or_else(|e| panic!("{e}"));
}

/// Runs the paging engine until the receiver gets a message: the browser's form post may
/// still be on its way when the click returns.
async fn delivered(app: &TestApp, hook: &mut common::receiver::HttpReceiver, what: &str) -> common::receiver::Received {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        firebreak_server::engine::paging::drain(&app.state).await;
        if let Some(r) = hook.drain().into_iter().next() {
            return r;
        }
        assert!(tokio::time::Instant::now() < deadline, "no {what} arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text_of(c: &Client, css: &str) -> String {
    let e = c.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    e.text().await.unwrap_or_default()
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let e = c.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    e.send_keys(text).await.unwrap_or_else(|e| panic!("{css}: {e}"));
}

/// A responder sets up paging on the profile page — a webhook contact method verified with the
/// code that arrives at it, a rule, a test message — and then acknowledges a real page from
/// its one-click link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_up_paging_on_the_profile_and_acknowledge_from_a_page() {
    if !browser_tests_on() {
        return;
    }
    let config = firebreak_server::ServerConfig {
        paging: firebreak_server::PagingConfig { bundle: chrono::TimeDelta::zero(), ..Default::default() },
        notify: firebreak_server::notify::NotifyConfig { allow_private_addresses: true, ..Default::default() },
        ..Default::default()
    };
    let Some(app) = TestApp::with_config(Backend::Sqlite, config).await else { return };
    let base = app.serve().await;
    let mut hook = common::receiver::HttpReceiver::start(200, "{}").await;
    let driver = start_chromedriver().await;
    let profiles = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let c = browser(&driver, &profiles.path().join("p"), 1280, 900).await;
    sign_in(&c, &base, "responder@example.com").await;

    c.goto(&format!("{base}/profile")).await.unwrap_or_else(|e| panic!("{e}"));
    c.find(Locator::Id("cm-kind"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_value("webhook")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    type_into(&c, "#cm-address", &format!("{}/pager", hook.url)).await;
    type_into(&c, "#cm-label", "my pager").await;
    type_into(&c, "#cm-password", PASSWORD).await;
    click(&c, "form[action='/profile/contact-methods'] button[type=submit]").await;
    assert!(text_of(&c, "[data-testid=webhook-secret]").await.starts_with("whsec_"), "the secret is shown once");
    assert_eq!(text_of(&c, "[data-testid=method-state]").await, "not verified");

    let text = delivered(&app, &mut hook, "verification code").await.json()["data"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let chars: Vec<char> = text.chars().collect();
    let code: String = chars
        .windows(6)
        .find(|w| w.iter().all(|ch| ch.is_ascii_digit()))
        .map(|w| w.iter().collect())
        .unwrap_or_else(|| panic!("no code in {text}"));
    c.goto(&format!("{base}/profile")).await.unwrap_or_else(|e| panic!("{e}"));
    type_into(&c, "input[name=code]", &code).await;
    click(&c, "form[action$='/verify'] button[type=submit]").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while text_of(&c, "[data-testid=method-state]").await != "verified" {
        assert!(tokio::time::Instant::now() < deadline, "the method never showed as verified");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    type_into(&c, "#rule-delay", "").await;
    click(&c, "form[action='/profile/notification-rules'] button[type=submit]").await;
    assert_eq!(text_of(&c, "[data-testid=rule-delay]").await, "at once");
    click(&c, "form[action$='/test'] button[type=submit]").await;
    assert_eq!(delivered(&app, &mut hook, "test message").await.json()["type"], "notification.test");

    // A page for an incident of a service whose policy pages the responder.
    let levels = serde_json::json!([{"targets": [{"type": "user", "id": app.responder.user.id}], "delay_minutes": 30}]);
    let r = app
        .post("/api/v1/escalation-policies", &app.admin.token, serde_json::json!({"name": "web", "levels": levels}))
        .await;
    let r = app
        .post(
            "/api/v1/services",
            &app.admin.token,
            serde_json::json!({"name": "web", "escalation_policy_id": r.body["id"]}),
        )
        .await;
    let r = app
        .post(
            "/api/v1/incidents",
            &app.responder.token,
            serde_json::json!({"title": "Pager test", "severity": "high", "type": "outage", "service_id": r.body["id"]}),
        )
        .await;
    assert_eq!(r.status, axum::http::StatusCode::CREATED, "{}", r.text);
    let page = delivered(&app, &mut hook, "page").await.json();
    let ack = page["data"]["incidents"][0]["ack_url"].as_str().unwrap_or_default().to_owned();
    let path = ack.split_once("/a/").map(|(_, t)| format!("{base}/a/{t}")).unwrap_or_else(|| panic!("{ack}"));
    c.goto(&path).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(text_of(&c, "main h1").await.starts_with("Acknowledge INC-1"), "a confirmation page first");
    click(&c, "main form button[type=submit]").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !text_of(&c, "main").await.contains("INC-1 is acknowledged") {
        assert!(tokio::time::Instant::now() < deadline, "the link did not acknowledge");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = c.close().await;
}

/// Waits until the page's address has the path `path`.
async fn wait_for_path(c: &Client, path: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = c.current_url().await.unwrap_or_else(|e| panic!("{e}")).path().to_owned();
        if now == path {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "still at {now}, not at {path}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The path of the page's address.
async fn path_now(c: &Client) -> String {
    c.current_url().await.unwrap_or_else(|e| panic!("{e}")).path().to_owned()
}

async fn choose(c: &Client, css: &str, value: &str) {
    let e = c.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    e.select_by_value(value).await.unwrap_or_else(|e| panic!("{css} {value}: {e}"));
}

/// Waits until the element with the id `id` has the focus.
async fn wait_for_focus(c: &Client, id: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = c.execute("return document.activeElement && document.activeElement.id", vec![]).await;
        let now = now.ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        if now == id {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{now:?} has the focus, not {id}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A responder creates a schedule in the form — previewing its shifts before saving — and then
/// an escalation policy that pages that schedule, previewing its plan before saving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_a_schedule_and_a_policy_with_previews() {
    if !browser_tests_on() {
        return;
    }
    let Some(app) = TestApp::new(Backend::Sqlite).await else { return };
    let base = app.serve().await;
    let driver = start_chromedriver().await;
    let profiles = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let c = browser(&driver, &profiles.path().join("p"), 1280, 900).await;
    sign_in(&c, &base, "responder@example.com").await;
    let count = async |path: &str| {
        let r = app.get(path, &app.viewer.token).await;
        r.body["items"].as_array().map(Vec::len).unwrap_or_default()
    };

    c.goto(&format!("{base}/schedules")).await.unwrap_or_else(|e| panic!("{e}"));
    click(&c, "[data-testid=new-schedule]").await;
    wait_for_path(&c, "/schedules/new").await;
    type_into(&c, "#sf-name", "databases").await;
    let zone = c.find(Locator::Id("sf-time-zone")).await.unwrap_or_else(|e| panic!("{e}"));
    zone.clear().await.unwrap_or_else(|e| panic!("{e}"));
    zone.send_keys("Europe/Berlin").await.unwrap_or_else(|e| panic!("{e}"));
    type_into(&c, "#sf-layer-1-name", "primary").await;
    choose(&c, "#sf-layer-1-members-1", &app.responder.user.id.to_string()).await;
    choose(&c, "#sf-layer-1-members-2", &app.admin.user.id.to_string()).await;
    choose(&c, "#sf-layer-1-unit", "days").await;
    screenshots(&c, "schedule-form").await;

    click(&c, "[data-testid=preview-button]").await;
    let preview = text_of(&c, "[data-testid=preview]").await;
    assert!(preview.contains("Preview: the next 14 days"), "{preview}");
    assert!(preview.contains("responder@example.com") && preview.contains("admin@example.com"), "{preview}");
    wait_for_focus(&c, "preview").await;
    let shifts = c.find_all(Locator::Css("[data-testid=preview] [data-testid=shift]")).await.unwrap_or_default();
    assert!(shifts.len() >= 14, "a shift a day for 14 days: {}", shifts.len());
    assert_eq!(count("/api/v1/schedules").await, 0, "a preview saves nothing");
    screenshots(&c, "schedule-preview").await;

    click(&c, "[data-testid=save-button]").await;
    // Saved, the schedule's own page: its title, and its id in the address.
    assert_eq!(text_of(&c, "[data-testid=schedule-title]").await, "databases");
    let schedule = path_now(&c).await.trim_start_matches("/schedules/").to_owned();
    assert_eq!(text_of(&c, "[data-testid=time-zone]").await, "Europe/Berlin");
    assert_eq!(count("/api/v1/schedules").await, 1);

    c.goto(&format!("{base}/schedules")).await.unwrap_or_else(|e| panic!("{e}"));
    click(&c, "[data-testid=policies-link]").await;
    wait_for_path(&c, "/policies").await;
    click(&c, "[data-testid=new-policy]").await;
    wait_for_path(&c, "/policies/new").await;
    type_into(&c, "#pf-name", "databases").await;
    choose(&c, "#pf-level-1-targets-1", &format!("schedule:{schedule}")).await;
    click(&c, "[data-testid=preview-button]").await;
    let plan = text_of(&c, "[data-testid=preview] [data-testid=plan]").await;
    assert!(plan.contains("(on call on databases)"), "{plan}");
    assert_eq!(count("/api/v1/escalation-policies").await, 0, "a preview saves nothing");

    click(&c, "[data-testid=save-button]").await;
    assert_eq!(text_of(&c, "[data-testid=policy-title]").await, "databases");
    let policy = path_now(&c).await;
    assert!(policy.starts_with("/policies/") && policy != "/policies/new", "the new policy's page: {policy}");
    assert_eq!(text_of(&c, "[data-testid=level-targets]").await, "whoever is on call on databases");
    assert!(text_of(&c, "[data-testid=plan]").await.contains("(on call on databases)"));
    assert_eq!(count("/api/v1/escalation-policies").await, 1);
    screenshots(&c, "policy").await;
    let _ = c.close().await;
}

/// Clicks the answer button with this text on the triage page and waits for the next page.
async fn answer(c: &Client, text: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(buttons) = c.find_all(Locator::Css("button[data-testid=answer]")).await {
            for b in buttons {
                if b.text().await.unwrap_or_default() == text {
                    b.click().await.unwrap_or_else(|e| panic!("{text}: {e}"));
                    return;
                }
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "no answer button {text:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A responder triages an incident with the example procedures' decision tree, one question
/// at a time (going back once), and works the playbook checklist the outcome attached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_an_incident_and_work_its_checklist() {
    if !browser_tests_on() {
        return;
    }
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/procedures-example");
    let config = firebreak_server::ServerConfig { procedures_dir: Some(example), ..Default::default() };
    let Some(app) = TestApp::with_config(Backend::Sqlite, config).await else { return };
    let base = app.serve().await;
    let r = app
        .post(
            "/api/v1/incidents",
            &app.responder.token,
            serde_json::json!({"title": "Checkout is down", "severity": "low", "type": "other"}),
        )
        .await;
    assert_eq!(r.status, axum::http::StatusCode::CREATED, "{}", r.text);
    let driver = start_chromedriver().await;
    let profiles = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let c = browser(&driver, &profiles.path().join("t"), 1280, 900).await;
    sign_in(&c, &base, "responder@example.com").await;

    c.goto(&format!("{base}/incidents/INC-1")).await.unwrap_or_else(|e| panic!("{e}"));
    click(&c, "a[data-testid=triage-link]").await;
    assert!(text_of(&c, "[data-testid=question]").await.contains("security exposure"));
    answer(&c, "No").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !text_of(&c, "[data-testid=question]").await.contains("Are customers affected") {
        assert!(tokio::time::Instant::now() < deadline, "the second question never came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    answer(&c, "Yes, it is slow or partly broken").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !text_of(&c, "[data-testid=question]").await.contains("How many customers notice it") {
        assert!(tokio::time::Instant::now() < deadline, "the third question never came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Back: the answer was wrong; it is a full outage.
    click(&c, "a[data-testid=back]").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !text_of(&c, "[data-testid=question]").await.contains("Are customers affected") {
        assert!(tokio::time::Instant::now() < deadline, "Back did not go back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    answer(&c, "Yes, they cannot use a core feature").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !text_of(&c, "[data-testid=question]").await.contains("How many customers are affected") {
        assert!(tokio::time::Instant::now() < deadline, "the scope question never came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    answer(&c, "All or most").await;

    // Back on the incident page: critical outage, the major-outage checklist attached.
    let deadline = tokio::time::Instant::now() + WAIT;
    while text_of(&c, "main").await.contains("Triage INC-1")
        || c.find(Locator::Css("[data-testid=playbook-title]")).await.is_err()
    {
        assert!(tokio::time::Instant::now() < deadline, "the incident page with its playbook never came");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(text_of(&c, "[data-testid=playbook-title]").await, "Major outage");
    let incident = app.get("/api/v1/incidents/1", &app.viewer.token).await.body;
    assert_eq!((incident["severity"].as_str(), incident["type"].as_str()), (Some("critical"), Some("outage")));
    assert_eq!(text_of(&c, "[data-testid=state-0]").await, "open");
    click(&c, "[data-testid=item-0] form button[type=submit]").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while text_of(&c, "[data-testid=state-0]").await != "done" {
        assert!(tokio::time::Instant::now() < deadline, "the first step was never checked off");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let timeline = app.get("/api/v1/incidents/1/timeline", &app.viewer.token).await.body;
    let kinds: Vec<&str> =
        timeline["items"].as_array().into_iter().flatten().filter_map(|e| e["kind"].as_str()).collect();
    assert!(
        kinds.contains(&"triaged") && kinds.contains(&"playbook_attached") && kinds.contains(&"checklist_item_changed"),
        "{kinds:?}"
    );

    // The playbook's executive update: written in the composer, previewed, then sent; its step
    // is checked off.
    let items = app.get("/api/v1/incidents/1/checklist", &app.viewer.token).await.body["items"].clone();
    let step = items
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["title"] == "Send the executive update")
        .map(|i| i["position"].clone())
        .unwrap_or_else(|| panic!("no executive update step: {items}"));
    click(&c, &format!("a[data-testid=write-{step}]")).await;
    type_into(&c, "#update-message", "Failing over to the standby <b>now</b>.").await;
    click(&c, "button[value=preview]").await;
    let subject = text_of(&c, "[data-testid=preview-subject]").await;
    assert_eq!(subject, "[critical] INC-1: Checkout is down");
    assert!(
        text_of(&c, "[data-testid=preview-body]").await.contains("Failing over to the standby <b>now</b>."),
        "shown as text"
    );
    assert_eq!(app.get("/api/v1/incidents/1/updates", &app.viewer.token).await.body["sent"], serde_json::json!([]));
    click(&c, "button[value=send]").await;
    assert_eq!(text_of(&c, "[data-testid=notice]").await, "Sent the executive update to executives.");
    let items = app.get("/api/v1/incidents/1/checklist", &app.viewer.token).await.body["items"].clone();
    let done = items.as_array().into_iter().flatten().find(|i| i["position"] == step).cloned().unwrap_or_default();
    assert_eq!(done["state"], "done", "{items}");
    let _ = c.close().await;
}

/// Alerts and incidents meet in the browser: a PagerDuty event for `checkout` joins the
/// incident a responder declared for `checkout` (its timeline shows it live), and the duplicate
/// declared a minute later is merged into it from its page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_joins_the_declared_incident_and_a_duplicate_is_merged() {
    if !browser_tests_on() {
        return;
    }
    let Some(app) = TestApp::new(Backend::Sqlite).await else { return };
    let base = app.serve().await;
    let (_, key) = app.pagerduty_service("checkout").await;
    let driver = start_chromedriver().await;
    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let c = browser(&driver, profile.path(), 1280, 900).await;

    sign_in(&c, &base, "responder@example.com").await;
    c.goto(&format!("{base}/incidents/new")).await.unwrap_or_else(|e| panic!("{e}"));
    type_into(&c, "#title", "Checkout errors").await;
    type_into(&c, "#services", "checkout").await;
    click(&c, "form[action='/incidents'] button[type=submit]").await;
    wait_for_status(&c, "triggered").await;
    assert_eq!(text_of(&c, "[data-testid=services] a").await, "checkout", "the catalog service, linked");

    app.trigger(&key, "lb/5xx", "5xx above 2% on the checkout LB").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !timeline_text(&c).await.contains("5xx above 2% on the checkout LB") {
        assert!(tokio::time::Instant::now() < deadline, "the alert never showed on the declared incident's timeline");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.get("/api/v1/incidents", &app.viewer.token).await.body["items"].as_array().map(Vec::len), Some(1));

    // A colleague declares the same problem again; it is merged into the first.
    app.declare("Checkout is failing").await;
    c.goto(&format!("{base}/incidents/INC-2")).await.unwrap_or_else(|e| panic!("{e}"));
    click(&c, "[data-testid=merge] > summary").await;
    c.find(Locator::Id("merge-into"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .select_by_value("INC-1")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    click(&c, "[data-testid=merge-form] button[type=submit]").await;
    c.accept_alert().await.unwrap_or_else(|e| panic!("the merge asks first: {e}"));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let path = c.current_url().await.map(|u| u.path().to_owned()).unwrap_or_default();
        if path == "/incidents/INC-1" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not sent to the incident merged into (at {path})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let timeline = timeline_text(&c).await;
    assert!(timeline.contains("merged INC-2 “Checkout is failing” into this incident"), "{timeline}");
    assert!(timeline.contains("from INC-2"), "{timeline}");
    c.goto(&format!("{base}/incidents/INC-2")).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(text_of(&c, "[data-testid=merged-into]").await.starts_with("Merged into INC-1"));
    assert_eq!(status_text(&c).await, "resolved");
    let _ = c.close().await;
}

/// A responder writes a public update from an incident with a customer template, previews it,
/// saves it as a draft (the public page shows nothing yet), publishes it, and an anonymous
/// reader's browser shows it on the status page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_an_update_from_an_incident_and_see_it_on_the_status_page() {
    if !browser_tests_on() {
        return;
    }
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/procedures-example");
    let config = firebreak_server::ServerConfig { procedures_dir: Some(example), ..Default::default() };
    let Some(app) = TestApp::with_config(Backend::Sqlite, config).await else { return };
    let base = app.serve().await;
    app.pagerduty_service("checkout").await;
    let admin = &app.admin.token;
    let r = app.post("/api/v1/status-pages", admin, serde_json::json!({"slug": "acme", "name": "Acme status"})).await;
    assert_eq!(r.status, axum::http::StatusCode::CREATED, "{}", r.text);
    let r = app
        .post(
            "/api/v1/status-pages/acme/components",
            admin,
            serde_json::json!({"name": "Checkout", "services": ["checkout"]}),
        )
        .await;
    assert_eq!(r.status, axum::http::StatusCode::CREATED, "{}", r.text);
    let r = app
        .post(
            "/api/v1/incidents",
            &app.responder.token,
            serde_json::json!({"title": "db-7 lost quorum", "severity": "critical", "type": "outage", "services": ["checkout"]}),
        )
        .await;
    assert_eq!(r.status, axum::http::StatusCode::CREATED, "{}", r.text);

    let driver = start_chromedriver().await;
    let profiles = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let c = browser(&driver, &profiles.path().join("responder"), 1280, 900).await;
    sign_in(&c, &base, "responder@example.com").await;
    c.goto(&format!("{base}/incidents/INC-1")).await.unwrap_or_else(|e| panic!("{e}"));
    click(&c, "a[data-testid=status-page-link]").await;
    wait_for_path(&c, "/incidents/INC-1/status-page").await;
    choose(&c, "#sp-template", "customer-initial").await;
    type_into(&c, "#sp-title", "Checkout is failing").await;
    type_into(&c, "#sp-message", "Card payments fail for some customers.").await;
    click(&c, "button[value=preview]").await;
    let preview = text_of(&c, "[data-testid=public-preview]").await;
    assert!(preview.contains("Checkout is failing") && preview.contains("Card payments fail"), "{preview}");
    click(&c, "button[value=draft]").await;
    assert!(text_of(&c, "[data-testid=notice]").await.contains("Saved the draft"));
    assert!(text_of(&c, "[data-testid=public-notice]").await.contains("not published"));

    // An anonymous reader (another browser profile) sees nothing of the draft…
    let reader = browser(&driver, &profiles.path().join("reader"), 390, 844).await;
    reader.goto(&format!("{base}/status/acme")).await.unwrap_or_else(|e| panic!("{e}"));
    let page = text_of(&reader, "main").await;
    assert!(page.contains("Major outage") && !page.contains("Checkout is failing"), "{page}");

    // …until it is published.
    click(&c, "button[data-testid=publish]").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !text_of(&c, "[data-testid=notice]").await.contains("Published") {
        assert!(tokio::time::Instant::now() < deadline, "publishing never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The page may be kept for 10 s (`max-age`); a reload asks again (with its ETag).
    reader.refresh().await.unwrap_or_else(|e| panic!("{e}"));
    let incident = text_of(&reader, "[data-testid=active-incident]").await;
    assert!(
        incident.contains("Checkout is failing")
            && incident.contains("Card payments fail")
            && incident.contains("Investigating"),
        "{incident}"
    );
    assert!(!text_of(&reader, "main").await.contains("db-7 lost"), "the internal title never reaches the page");
    screenshots(&reader, "status-page-published").await;
    reader.close().await.unwrap_or_else(|e| panic!("{e}"));
    c.close().await.unwrap_or_else(|e| panic!("{e}"));
}

/// A responder stars a key event, drafts the postmortem, writes in the editor and sees the
/// live preview (hostile HTML shown as text), asks the viewer for a review; the viewer signs
/// off in another browser; the responder publishes it (read-only now) and adds an action item;
/// the Analytics page draws its charts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_review_and_publish_a_postmortem_and_see_the_analytics() {
    if !browser_tests_on() {
        return;
    }
    let Some(app) = TestApp::new(Backend::Sqlite).await else { return };
    let base = app.serve().await;
    let r = app
        .post(
            "/api/v1/incidents",
            &app.responder.token,
            serde_json::json!({"title": "Search is slow", "severity": "high", "type": "degradation"}),
        )
        .await;
    assert_eq!(r.status, axum::http::StatusCode::CREATED, "{}", r.text);
    for action in ["acknowledge", "resolve"] {
        let r =
            app.post(&format!("/api/v1/incidents/INC-1/{action}"), &app.responder.token, serde_json::json!({})).await;
        assert_eq!(r.status, axum::http::StatusCode::OK, "{}", r.text);
    }

    let driver = start_chromedriver().await;
    let profiles = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let c = browser(&driver, &profiles.path().join("responder"), 1280, 900).await;
    sign_in(&c, &base, "responder@example.com").await;
    c.goto(&format!("{base}/incidents/INC-1")).await.unwrap_or_else(|e| panic!("{e}"));
    // Star the first timeline entry (the declaration) as a key event.
    let star = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=timeline] button.star"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    star.click().await.unwrap_or_else(|e| panic!("{e}"));
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=timeline] button.star.on"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    click(&c, "a[data-testid=postmortem-link]").await;
    wait_for_path(&c, "/incidents/INC-1/postmortem").await;
    click(&c, "button[data-testid=pm-create]").await;
    wait_for_notice(&c, "Drafted from the record").await;
    let draft = c.find(Locator::Id("pm-body")).await.unwrap_or_else(|e| panic!("{e}"));
    let text = draft.prop("value").await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_default();
    assert!(text.contains("## Contributing factors") && text.contains("declared “Search is slow”"), "{text}");
    // Typing shows the preview without a page load; raw HTML stays text.
    draft.clear().await.unwrap_or_else(|e| panic!("{e}"));
    draft
        .send_keys("# Search was slow\n\nThe index rebuilt at noon. <script>window.pwned=1</script>")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let shown = text_of(&c, "[data-testid=pm-preview]").await;
        if shown.contains("The index rebuilt at noon.") {
            assert!(shown.contains("<script>window.pwned=1</script>"), "shown as text: {shown}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the live preview never showed: {shown}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let heading = c.find(Locator::Css("[data-testid=pm-preview] h1")).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(heading.text().await.unwrap_or_default(), "Search was slow");
    let pwned = c.execute("return window.pwned === undefined", vec![]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pwned, serde_json::json!(true), "the preview ran no script");
    click(&c, "button[data-testid=pm-save]").await;
    wait_for_notice(&c, "Saved a new revision").await;

    // Ask the viewer for a review.
    click(&c, &format!("input[name=reviewer][value='{}']", app.viewer.user.id)).await;
    click(&c, "button[data-testid=request-review-button]").await;
    wait_for_notice(&c, "Sent to review").await;
    assert!(text_of(&c, "[data-testid=pm-state]").await.contains("in review"));

    let v = browser(&driver, &profiles.path().join("viewer"), 1280, 900).await;
    sign_in(&v, &base, "viewer@example.com").await;
    v.goto(&format!("{base}/incidents/INC-1/postmortem")).await.unwrap_or_else(|e| panic!("{e}"));
    click(&v, "button[data-testid=sign-off]").await;
    wait_for_notice(&v, "Signed off").await;
    v.close().await.unwrap_or_else(|e| panic!("{e}"));

    c.refresh().await.unwrap_or_else(|e| panic!("{e}"));
    click(&c, "button[data-testid=publish]").await;
    wait_for_notice(&c, "Published").await;
    let published = text_of(&c, "[data-testid=pm-published]").await;
    assert!(published.contains("Search was slow") && published.contains("The index rebuilt at noon."), "{published}");

    type_into(&c, "#ai-title", "Alert on index rebuild time").await;
    click(&c, "button[data-testid=add-action-button]").await;
    wait_for_text(&c, "[data-testid=action-items]", "Alert on index rebuild time").await;

    c.goto(&format!("{base}/analytics?group_by=severity")).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text_of(&c, "[data-testid=total-incidents]").await, "1");
    for chart in ["incidents", "mtta", "mttr"] {
        let svg = c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(&format!("[data-testid=chart-{chart}] svg[role=img]")))
            .await
            .unwrap_or_else(|e| panic!("{chart}: {e}"));
        let bars = svg.find_all(Locator::Css("rect")).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bars.len(), 1, "{chart}: one bar, for high");
        let label = svg.attr("aria-labelledby").await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_default();
        assert!(label.contains(&format!("chart-{chart}-t")), "{label}");
    }
    let bar_width = c
        .execute("return document.querySelector('[data-testid=chart-incidents] rect').getBBox().width", vec![])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(bar_width.as_f64().is_some_and(|w| w > 100.0), "the bar is drawn: {bar_width}");
    screenshots(&c, "analytics").await;
    c.close().await.unwrap_or_else(|e| panic!("{e}"));
}

/// Waits until the element `css` (on the page after a form's navigation) contains `want`.
async fn wait_for_text(c: &Client, css: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = match c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if now.contains(want) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{css} never showed {want:?} (shows {now:?})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for_notice(c: &Client, want: &str) {
    wait_for_text(c, "[data-testid=notice]", want).await;
}

use super::*;
use firebreak_domain::procedures::template::UpdateTemplate;

fn template(text: &str) -> UpdateTemplate {
    UpdateTemplate::parse("templates/t.md.j2", "t", text).unwrap_or_else(|e| panic!("{e:?}"))
}

fn hostile() -> UpdateContext {
    let mut ctx = UpdateContext::sample();
    ctx.incident.title = "<script>alert(1)</script> {{ 7*7 }} {% include '/etc/passwd' %}".into();
    ctx.message = "<img src=x onerror=alert(2)> [x](javascript:alert(3))".into();
    ctx
}

#[test]
fn fields_render_and_hostile_values_stay_data() {
    let t = template(
        "---\nsubject: \"{{ incident.label }} {{ incident.title }}\"\n---\n**{{ incident.label }}** ({{ incident.severity }}, {{ incident.type }}): {{ incident.title }}\n\n{{ message }}\n\nNext update by {{ next_update }}. {{ audience }}",
    );
    let out = render(&t, &hostile()).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.body.contains("{{ 7*7 }}") && !out.body.contains("49"), "values are never evaluated: {}", out.body);
    assert!(out.body.contains("{% include '/etc/passwd' %}"), "{}", out.body);
    assert!(out.body.starts_with("**INC-1** (critical, outage): <script>"), "{}", out.body);
    assert!(out.body.ends_with("internal"), "{}", out.body);
    assert!(out.subject.starts_with("INC-1 <script>alert(1)</script>"), "{}", out.subject);
    // Where it becomes HTML, raw HTML is text and script links are not links.
    let html = crate::views::markdown::render(&out.body);
    assert!(!html.contains("<script") && !html.contains("<img") && !html.contains("javascript:"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
}

#[test]
fn the_sandbox_has_no_files_and_no_runaway_work() {
    for (text, what) in [
        ("{% include '/etc/passwd' %}", "include"),
        ("{% import 'x.j2' as x %}", "import"),
        ("{% extends 'base.html' %}", "extends"),
        ("{{ incident.nope }}", "unknown field"),
        ("{{ env }}", "no environment"),
        ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "fuel"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursion"),
        ("{% for i in range(9000) %}{{ incident.summary }}{{ incident.summary }}{% endfor %}", "output size"),
    ] {
        assert!(render(&template(text), &UpdateContext::sample()).is_err(), "{what}: {text}");
    }
}

#[test]
fn errors_name_the_file_line() {
    let t = template("---\naudience: executive\n---\nline one\n{{ incident.owner }}\n");
    let e = render(&t, &UpdateContext::sample()).err().unwrap_or_else(|| panic!("renders"));
    assert_eq!((e.file.as_str(), e.line), ("templates/t", 5), "{e}");
    let t = template("ok {% if %}");
    let e = render(&t, &UpdateContext::sample()).err().unwrap_or_else(|| panic!("renders"));
    assert_eq!(e.line, 1, "{e}");
}

#[test]
fn messages_are_checked() {
    assert!(parse_message(&"x".repeat(MESSAGE_MAX + 1)).is_err());
    assert!(parse_message("bell \u{7}").is_err());
    assert_eq!(parse_message("  line\nnext  ").ok().as_deref(), Some("line\nnext"));
}

//! Notes in Markdown, rendered safely: raw HTML is shown as text, links only go to http(s),
//! mailto or relative addresses, and images become their description (pages load nothing from
//! elsewhere).

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

/// Whether a link target may be followed.
fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    match lower.split_once(':') {
        // A colon before any slash, query or fragment is a scheme.
        Some((scheme, _)) if !scheme.contains(['/', '?', '#']) => {
            matches!(scheme, "http" | "https" | "mailto")
        }
        _ => true,
    }
}

/// `text` as HTML, safe to put in a page as is.
pub fn render(text: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    let events = Parser::new_ext(text, options).filter_map(|event| match event {
        // Raw HTML is shown, not interpreted.
        Event::Html(html) | Event::InlineHtml(html) => Some(Event::Text(html)),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            let dest_url = if safe_url(&dest_url) { dest_url } else { CowStr::Borrowed("#") };
            Some(Event::Start(Tag::Link { link_type, dest_url, title, id }))
        }
        // The image's description (its text events) stays; the image does not.
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        other => Some(other),
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_renders() {
        let html = render("**bold** _it_ `code`\n\n- one\n- two\n\n[docs](https://example.com/x?a=1&b=2)");
        assert!(
            html.contains("<strong>bold</strong>")
                && html.contains("<em>it</em>")
                && html.contains("<code>code</code>")
        );
        assert!(html.contains("<li>one</li>"));
        assert!(html.contains(r#"<a href="https://example.com/x?a=1&amp;b=2">docs</a>"#), "{html}");
    }

    #[test]
    fn hostile_input_stays_text() {
        let html = render("<script>alert(1)</script>\n\nhi <img src=x onerror=alert(1)> there");
        assert!(!html.contains("<script") && !html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        for bad in
            ["[x](javascript:alert(1))", "[x](JavaScript:alert(1))", "[x]( data:text/html,<b>)", "[x](vbscript:x)"]
        {
            let html = render(bad);
            assert!(html.contains(r##"href="#""##), "{bad}: {html}");
        }
        let html = render("![secret tracker](https://evil.example/pixel.png)");
        assert!(!html.contains("<img") && html.contains("secret tracker"), "{html}");
        let html = render("[relative](/incidents/42) [mail](mailto:a@example.com)");
        assert!(html.contains(r#"href="/incidents/42""#) && html.contains(r#"href="mailto:a@example.com""#), "{html}");
        let html = render("\"quotes\" & <b>tags</b>");
        assert!(html.contains("&lt;b&gt;tags&lt;/b&gt;"), "{html}");
    }
}

//! The mails' words and shapes: a plain-text and an HTML part, in English
//! or French, from the web app's own catalogues (`web/i18n/{en,fr}.js`,
//! the `email.*` keys), so that one file per language holds every word.
//! No images, no remote content, no per-recipient link other than the
//! invitation's own token: nothing that tells anyone a mail was opened.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::model::MailKind;

type Catalogue = HashMap<String, String>;

fn catalogue(locale: &str) -> &'static Catalogue {
    static EN: OnceLock<Catalogue> = OnceLock::new();
    static FR: OnceLock<Catalogue> = OnceLock::new();
    let (cell, text) = match locale {
        "fr" => (&FR, include_str!("../../web/i18n/fr.js")),
        _ => (&EN, include_str!("../../web/i18n/en.js")),
    };
    cell.get_or_init(|| parse_catalogue(text))
}

/// Reads the `email.*` entries of a web catalogue: an ES module whose entries
/// are one per line, `  'key': 'value',` (its own header says so; the unit
/// tests check every key the mails need is found in both languages).
fn parse_catalogue(js: &str) -> Catalogue {
    js.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("'email.")?;
            let (key, value) = rest.split_once("': '")?;
            let value = value
                .strip_suffix("',")
                .or_else(|| value.strip_suffix('\''))?;
            Some((format!("email.{key}"), value.to_string()))
        })
        .collect()
}

/// What a message says, before the words are looked up.
pub struct Context<'a> {
    pub kind: MailKind,
    pub locale: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub from: &'a str,
    pub title: &'a str,
    pub closes_at: Option<String>,
    /// The one link of the message.
    pub link: String,
    pub invitation_days: i64,
}

/// A rendered message.
#[derive(Debug)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One catalogue entry with its `{placeholders}` filled in a single pass, so
/// that a value (a title an admin typed) is never itself expanded.
fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let key = &after[..end];
                match vars.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Renders a message in its language.
pub fn render(ctx: &Context<'_>) -> Rendered {
    let cat = catalogue(ctx.locale);
    let t = |key: &str| cat.get(key).map(String::as_str).unwrap_or(key).to_string();
    let vars = |html: bool| {
        let v = |s: &str| if html { escape(s) } else { s.to_string() };
        vec![
            ("name", v(ctx.name)),
            ("email", v(ctx.email)),
            ("from", v(ctx.from)),
            ("title", v(ctx.title)),
            ("closes_at", v(ctx.closes_at.as_deref().unwrap_or(""))),
            ("days", ctx.invitation_days.to_string()),
        ]
    };
    let (subject_key, body_key, action_key) = match ctx.kind {
        MailKind::Invitation => (
            "email.invitation.subject",
            "email.invitation.body",
            "email.invitation.action",
        ),
        MailKind::Reminder => (
            "email.reminder.subject",
            "email.reminder.body",
            "email.vote.action",
        ),
        MailKind::ElectionOpened => (
            "email.election_opened.subject",
            "email.election_opened.body",
            "email.vote.action",
        ),
        MailKind::ResultsPublished => (
            "email.results_published.subject",
            "email.results_published.body",
            "email.results.action",
        ),
    };
    // Paragraphs after the link.
    let mut notes: Vec<&str> = Vec::new();
    match ctx.kind {
        MailKind::Invitation => notes.extend(["email.invitation.expiry", "email.ignore"]),
        MailKind::Reminder | MailKind::ElectionOpened => {
            if ctx.closes_at.is_some() {
                notes.push("email.closes_at");
            }
            notes.push("email.unsubscribe");
        }
        MailKind::ResultsPublished => notes.push("email.unsubscribe"),
    }
    notes.push("email.signature");

    let plain = vars(false);
    let subject = fill(&t(subject_key), &plain);
    let mut text = format!(
        "{}\n\n{}\n\n{}\n{}\n",
        fill(&t("email.greeting"), &plain),
        fill(&t(body_key), &plain),
        fill(&t(action_key), &plain),
        ctx.link
    );
    for n in &notes {
        text.push('\n');
        text.push_str(&fill(&t(n), &plain));
        text.push('\n');
    }

    let h = vars(true);
    let link = escape(&ctx.link);
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;line-height:1.5\">\n<p>{greeting}</p>\n<p>{body}</p>\n\
         <p><a href=\"{link}\">{action}</a></p>\n<p style=\"font-size:small\">{link}</p>\n",
        lang = if ctx.locale == "fr" { "fr" } else { "en" },
        title = escape(&subject),
        greeting = fill(&t("email.greeting"), &h),
        body = fill(&t(body_key), &h),
        action = fill(&t(action_key), &h),
    );
    for n in &notes {
        html.push_str(&format!(
            "<p style=\"font-size:small\">{}</p>\n",
            fill(&t(n), &h)
        ));
    }
    html.push_str("</body></html>\n");
    Rendered {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(kind: MailKind, locale: &'static str) -> Context<'static> {
        Context {
            kind,
            locale,
            name: "Ada <script>",
            email: "ada@example.org",
            from: "elections@example.org",
            title: "Board {name} & co",
            closes_at: Some("2026-12-24 18:00".into()),
            link: "https://vote.example.org/#/activate?token=abc".into(),
            invitation_days: 7,
        }
    }

    #[test]
    fn both_catalogues_have_every_key_of_the_other() {
        let (en, fr) = (catalogue("en"), catalogue("fr"));
        assert_eq!(en.len(), 17, "every email.* key of web/i18n/en.js");
        let mut a: Vec<_> = en.keys().collect();
        let mut b: Vec<_> = fr.keys().collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn values_are_escaped_in_html_and_never_expanded() {
        for kind in MailKind::ALL {
            for locale in ["en", "fr"] {
                let r = render(&ctx(kind, locale));
                assert!(!r.html.contains("<script>"), "{}", r.html);
                assert!(r.html.contains("Ada &lt;script&gt;"));
                assert!(r.text.contains("Ada <script>"));
                assert!(r
                    .text
                    .contains("https://vote.example.org/#/activate?token=abc"));
                assert!(!r.subject.contains("email."), "{}", r.subject);
                assert!(!r.text.contains("email."), "every key found: {}", r.text);
                assert!(!r.html.contains("<img"));
            }
        }
        let r = render(&ctx(MailKind::ElectionOpened, "en"));
        assert!(r.subject.contains("Board {name} & co"), "{}", r.subject);
        let fr = render(&ctx(MailKind::Invitation, "fr"));
        assert!(fr.text.starts_with("Bonjour Ada"), "{}", fr.text);
    }
}

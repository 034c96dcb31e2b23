//! The mails' words and shapes: a plain-text and an HTML part from one
//! catalogue per language (`src/mail/i18n/{en,fr}.json`, flat keys such as
//! `mail.invitation.subject`, the same shape as the web app's catalogues).
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
        "fr" => (&FR, include_str!("i18n/fr.json")),
        _ => (&EN, include_str!("i18n/en.json")),
    };
    // The catalogues are compiled in and checked by a unit test.
    cell.get_or_init(|| serde_json::from_str(text).unwrap_or_default())
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
            "mail.invitation.subject",
            "mail.invitation.body",
            "mail.invitation.action",
        ),
        MailKind::Reminder => (
            "mail.reminder.subject",
            "mail.reminder.body",
            "mail.vote.action",
        ),
        MailKind::ElectionOpened => (
            "mail.election_opened.subject",
            "mail.election_opened.body",
            "mail.vote.action",
        ),
        MailKind::ResultsPublished => (
            "mail.results_published.subject",
            "mail.results_published.body",
            "mail.results.action",
        ),
    };
    // Paragraphs after the link.
    let mut notes: Vec<&str> = Vec::new();
    match ctx.kind {
        MailKind::Invitation => notes.extend(["mail.invitation.expiry", "mail.ignore"]),
        MailKind::Reminder | MailKind::ElectionOpened => {
            if ctx.closes_at.is_some() {
                notes.push("mail.closes_at");
            }
            notes.push("mail.unsubscribe");
        }
        MailKind::ResultsPublished => notes.push("mail.unsubscribe"),
    }
    notes.push("mail.signature");

    let plain = vars(false);
    let subject = fill(&t(subject_key), &plain);
    let mut text = format!(
        "{}\n\n{}\n\n{}\n{}\n",
        fill(&t("mail.greeting"), &plain),
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
        greeting = fill(&t("mail.greeting"), &h),
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
        assert!(en.len() > 10);
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
                assert!(!r.subject.contains("mail."), "{}", r.subject);
                assert!(!r.html.contains("<img"));
            }
        }
        let r = render(&ctx(MailKind::ElectionOpened, "en"));
        assert!(r.subject.contains("Board {name} & co"), "{}", r.subject);
        let fr = render(&ctx(MailKind::Invitation, "fr"));
        assert!(fr.text.starts_with("Bonjour Ada"), "{}", fr.text);
    }
}

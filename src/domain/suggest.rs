//! "Did you mean `okafor`?": the office's own key closest to a mistyped one.

/// The candidate closest to `typed`, when it is close enough to be what was meant: at most a
/// third of its letters differ (one for short keys), or one starts with the other.
pub fn closest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let typed = typed.trim().to_lowercase();
    if typed.is_empty() {
        return None;
    }
    let limit = (typed.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(&typed, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= limit || (typed.len() >= 3 && c.to_lowercase().starts_with(&typed)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A hint naming the closest key (if any) and every key, or how to add the first one.
pub fn hint(typed: &str, what: &str, keys: &[String], add: &str) -> String {
    if keys.is_empty() {
        return format!("there are no {what}s yet; add one with `{add}`");
    }
    let list = keys.join(", ");
    match closest(typed, keys.iter().map(String::as_str)) {
        Some(k) => format!("did you mean `{k}`? ({what}s: {list})"),
        None => format!("{what}s: {list}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_finds_its_key_and_a_stranger_finds_none() {
        let keys = ["okafor", "lindqvist", "patel"];
        assert_eq!(closest("okafr", keys), Some("okafor"));
        assert_eq!(closest("OKAFOR", keys), Some("okafor"));
        assert_eq!(closest("lind", keys), Some("lindqvist"));
        assert_eq!(closest("patle", keys), Some("patel"));
        assert_eq!(closest("smith", keys), None);
        assert_eq!(closest("", keys), None);
    }

    #[test]
    fn the_hint_never_repeats_what_was_typed() {
        let keys = vec!["okafor".to_string()];
        let h = hint("Zyqxwvette", "provider", &keys, "frontdesk provider add");
        assert!(!h.contains("Zyqxwvette"));
        assert_eq!(h, "providers: okafor");
    }
}

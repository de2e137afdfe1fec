//! The pages' links: every docs page reachable from the README, and every relative link and
//! `#anchor` resolved.

use std::path::Path;

use crate::{pages, read, repository};

/// GitHub's anchor for a heading: lower case, spaces to hyphens, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' | '-' => Some('-'),
            '_' => Some('_'),
            c if c.is_alphanumeric() => Some(c.to_lowercase().next().unwrap_or(c)),
            _ => None,
        })
        .collect()
}

/// The lines of a page outside its code blocks.
fn prose_lines(markdown: &str) -> impl Iterator<Item = &str> {
    let mut in_code = false;
    markdown.lines().filter(move |line| {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            return false;
        }
        !in_code
    })
}

/// The anchors of a page's headings (outside code blocks).
fn anchors(markdown: &str) -> Vec<String> {
    prose_lines(markdown)
        .filter_map(|line| {
            let hashes = line.bytes().take_while(|&b| b == b'#').count();
            (hashes > 0 && line[hashes..].starts_with(' ')).then(|| anchor(line[hashes..].trim()))
        })
        .collect()
}

/// The targets of a page's inline links `[text](target)`, outside code blocks.
fn links(markdown: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in prose_lines(markdown) {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            found.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    found
}

#[test]
fn every_docs_page_is_linked_from_the_readme_and_every_link_resolves() {
    let pages = pages();
    let readme = &pages[0].1;
    for (name, _) in &pages[1..] {
        assert!(
            readme.contains(&format!("]({name})")),
            "README.md does not link {name}"
        );
    }
    let mut checked = pages.clone();
    checked.push((
        "ARCHITECTURE.md".into(),
        read(&repository().join("ARCHITECTURE.md")),
    ));
    for (name, text) in &checked {
        let dir = Path::new(name).parent().unwrap_or(Path::new(""));
        for target in links(text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = match target.split_once('#') {
                Some((file, fragment)) => (file, Some(fragment)),
                None => (target.as_str(), None),
            };
            let linked = if file.is_empty() {
                repository().join(name)
            } else {
                repository().join(dir).join(file)
            };
            assert!(linked.exists(), "{name} links {target}: no such file");
            if let Some(fragment) = fragment {
                let heads = anchors(&read(&linked));
                assert!(
                    heads.iter().any(|a| a == fragment),
                    "{name} links {target}: no such heading in {}",
                    linked.display()
                );
            }
        }
    }
}

//! A page's command lines ([`Line`]): every `vnpop …` line of its `sh` and `console` blocks,
//! split as a shell would, with its `&`, `> FILE` and `| head -N`.

/// One command of the README.
#[derive(Debug)]
pub(crate) struct Line {
    /// The line as written, for messages.
    pub(crate) text: String,
    /// The arguments after `vnpop`.
    pub(crate) args: Vec<String>,
    /// Started in the background (`&`).
    pub(crate) background: bool,
    /// `> FILE`.
    pub(crate) redirect: Option<String>,
    /// `| head -N`: read N lines, then close the pipe.
    pub(crate) head: Option<usize>,
}

/// The text before an unquoted ` #` comment.
pub(crate) fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && previous.is_whitespace() => return &line[..i],
            _ => {}
        }
        previous = c;
    }
    line
}

/// The README's `vnpop` command lines, in order.
pub(crate) fn readme_commands(markdown: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    // `sh` blocks are all commands; in `console` blocks, the lines after a `$ ` prompt.
    let mut block: Option<&str> = None;
    let mut pending = String::new();
    for raw in markdown.lines() {
        if let Some(fence) = raw.trim_start().strip_prefix("```") {
            block = match (block, fence.trim()) {
                (None, kind @ ("sh" | "console")) => Some(kind),
                (None, _) => Some("other"),
                (Some(_), _) => None,
            };
            continue;
        }
        let text = match block {
            Some("sh") => raw.trim(),
            Some("console") => match raw.trim().strip_prefix("$ ") {
                Some(command) => command.trim(),
                None => continue,
            },
            _ => continue,
        };
        // A line ending in `\` goes on on the next line, as in a shell.
        if let Some(head) = text.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        let joined = std::mem::take(&mut pending) + text;
        let text = joined.as_str();
        // `NAME=$(vnpop …)`: the command inside.
        let text = match text.split_once("=$(") {
            Some((name, rest)) if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                rest.trim_end_matches(')')
            }
            _ => text,
        };
        let command = strip_comment(text).trim();
        let rest = if let Some(rest) = command.strip_prefix("vnpop ") {
            rest
        } else if let Some(rest) = command.strip_prefix("cargo run --release -- ") {
            rest
        } else {
            continue;
        };
        let mut words = shlex::split(rest).unwrap_or_else(|| panic!("cannot split {raw:?}"));
        let mut line = Line {
            text: command.to_owned(),
            args: Vec::new(),
            background: false,
            redirect: None,
            head: None,
        };
        if words.last().map(String::as_str) == Some("&") {
            words.pop();
            line.background = true;
        }
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            match word.as_str() {
                ">" => line.redirect = words.next(),
                "|" => {
                    let rest: Vec<String> = words.by_ref().collect();
                    assert_eq!(rest.first().map(String::as_str), Some("head"), "{raw}");
                    let n = rest.get(1).map_or("-10", String::as_str);
                    line.head = Some(n.trim_start_matches('-').parse().expect("head -N"));
                }
                _ => line.args.push(word),
            }
        }
        lines.push(line);
    }
    lines
}

#[test]
fn readme_lines_are_split_as_a_shell_would() {
    let lines = readme_commands(
        "```sh\nvnpop serve &   # the server\n```\n\
         ```console\n$ vnpop chip read 1 > an.chip\nvnpop output, not a command\n```\n```sh\n\
         vnpop audit export --district \"Huyện Đà Bắc\" | head -3\n\
         CHIP=$(vnpop chip read 1 --format json)\ngrpcurl x\n```\n\
         ```rust\nvnpop not this\n```\n",
    );
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines[0].background);
    assert_eq!(lines[0].args, ["serve"]);
    assert_eq!(lines[1].redirect.as_deref(), Some("an.chip"));
    assert_eq!(
        lines[2].args,
        ["audit", "export", "--district", "Huyện Đà Bắc"]
    );
    assert_eq!(lines[2].head, Some(3));
    assert_eq!(lines[3].args, ["chip", "read", "1", "--format", "json"]);
}

//! Text agents wrote is shown safely everywhere: no control character,
//! bidirectional override or zero-width character reaches a terminal or a
//! page raw, and multi-line text is shown as indented lines.

mod common;
use common::Repo;

/// Characters that reorder or hide text: an override, an isolate, and the
/// zero-width family.
const HIDDEN: [char; 7] =
    ['\u{202e}', '\u{2066}', '\u{2069}', '\u{200b}', '\u{200d}', '\u{2060}', '\u{feff}'];

fn hostile(word: &str) -> String {
    format!("{word} \u{202e}txt.exe\u{202c} \u{2066}x\u{2069} a\u{200b}b\u{200d}c\u{2060}d\u{feff}")
}

/// The hidden characters `shown` holds raw.
fn raw_hidden(shown: &str) -> Vec<String> {
    HIDDEN
        .iter()
        .chain(&['\u{202c}'])
        .filter(|c| shown.contains(**c))
        .map(|c| format!("U+{:04X}", *c as u32))
        .collect()
}

#[test]
fn bidi_and_zero_width_characters_are_escaped_in_every_display() {
    let repo = Repo::new();
    std::fs::create_dir(repo.path().join("docs")).unwrap();
    let id = repo.add(&hostile("title"), &["--label", &hostile("label")]);
    repo.ok_as("alice", &["session", "start", "alice", "--no-worktree"]);
    repo.ok_as("bob", &["session", "start", "bob", "--no-worktree"]);
    repo.ok_as("alice", &["task", "claim", &id]);
    repo.ok_as("alice", &["task", "note", &id, &hostile("note")]);
    repo.ok_as("alice", &["heartbeat", "--doing", &hostile("doing")]);
    let path = format!("docs/{}", hostile("file").replace(' ', "_"));
    repo.ok_as("alice", &["claim", &path, "--reason", &hostile("reason")]);
    repo.ok_as("alice", &["send", "bob", &hostile("subject"), &hostile("body")]);

    let claimed = repo.ok_as("bob", &["claim", "docs/other.md"]);
    let check = repo.run_as("bob", &["check", &path]);
    assert_eq!(check.code, 1, "{check:?}");
    let shown = [
        ("task list", repo.ok(&["task", "list"])),
        ("task show", repo.ok(&["task", "show", &id])),
        ("inbox", repo.ok_as("bob", &["inbox", "--all"])),
        ("board", repo.ok(&["board"])),
        ("board --markdown", repo.ok(&["board", "--markdown"])),
        ("log", repo.ok(&["log"])),
        ("session list", repo.ok(&["session", "list"])),
        ("session show", repo.ok(&["session", "show", "alice"])),
        ("claims", repo.ok(&["claims"])),
        ("claim", claimed),
        ("check", check.stderr),
        ("refs' commit subjects", repo.git(&["log", "--format=%s", "--all"])),
    ];
    let leaks: Vec<String> = shown
        .iter()
        .filter(|(_, text)| !raw_hidden(text).is_empty())
        .map(|(what, text)| format!("{what} shows {:?} raw:\n{text}", raw_hidden(text)))
        .collect();
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    // Escaped, not dropped: the reader sees that something was there.
    let (_, list) = &shown[0];
    assert!(list.contains("title \\u{202e}txt.exe\\u{202c}"), "{list}");
    let (_, inbox) = &shown[2];
    assert!(inbox.contains("a\\u{200b}b\\u{200d}c\\u{2060}d\\u{feff}"), "{inbox}");

    // Stored as written: JSON is for programs, which do their own escaping.
    let task = repo.json(&["task", "show", &id]);
    assert_eq!(task["title"], hostile("title"), "{task}");
}

#[test]
fn a_multi_line_note_is_shown_as_indented_lines_with_controls_still_escaped() {
    let repo = Repo::new();
    let id = repo.add("work", &[]);
    repo.ok_as("alice", &["task", "claim", &id]);
    repo.ok_as("alice", &["task", "note", &id, "agent failed; its log:\nline one\n\tline\u{202e}two"]);
    let shown = repo.ok(&["task", "show", &id]);
    let notes = &shown[shown.find("notes:").expect("a notes section")..shown.find("history:").unwrap()];
    let lines: Vec<&str> = notes.lines().collect();
    assert!(lines[1].ends_with("alice: agent failed; its log:"), "{notes}");
    assert_eq!(lines[2], "      line one", "{notes}");
    assert_eq!(lines[3], "      \\tline\\u{202e}two", "{notes}");
    assert!(!notes.contains("\\n"), "no literal \\n: {notes}");
}

#[test]
fn file_names_in_the_conflict_radar_are_escaped_in_its_text_and_on_the_board() {
    let repo = Repo::new();
    repo.ok(&["session", "start", "alice"]);
    repo.ok(&["session", "start", "bob"]);
    // A file name that displays as "txt.exe" reversed, changed by both.
    let name = "invoice\u{202e}fdp.exe";
    for who in ["alice", "bob"] {
        let dir = std::path::PathBuf::from(format!("{}.worktrees/{who}", repo.path().display()));
        std::fs::write(dir.join(name), format!("{who}\n")).unwrap();
        let git = |args: &[&str]| {
            let run = common::Run::of(repo.command("git").current_dir(&dir).args(args));
            assert_eq!(run.code, 0, "{run:?}");
        };
        git(&["add", "--", name]);
        git(&["commit", "-q", "-m", "both change it"]);
    }
    let radar = repo.ok(&["conflicts"]);
    assert!(radar.contains("invoice\\u{202e}fdp.exe"), "{radar}");
    let shown = [
        ("conflicts", radar),
        ("board", repo.ok(&["board"])),
        ("board --markdown", repo.ok(&["board", "--markdown"])),
    ];
    for (what, text) in &shown {
        assert!(raw_hidden(text).is_empty(), "{what} shows {:?} raw:\n{text}", raw_hidden(text));
    }
}

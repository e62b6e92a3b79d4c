//! Checks the book's pages (`book/src/**/*.md`) against the code they show.
//!
//! `mdbook build` only *warns* about an `{{#include}}` whose file or anchor is missing, and
//! then renders an empty listing. This test makes that a failure, and checks the rules that keep
//! every listing honest:
//!
//! 1. every `{{#include PATH}}` / `{{#include PATH:anchor}}` names a file that exists and, if it
//!    names an anchor, that file has exactly one `ANCHOR: anchor` line followed by one
//!    `ANCHOR_END: anchor` line with code between them (line ranges are refused: they drift
//!    silently when the file changes);
//! 2. an included `.rs` file is one CI compiles and runs: an example (`examples/*.rs`, run by
//!    the examples step), a listing (`book/listings/tests/*.rs`, run by `cargo test`), an
//!    application's code (`apps/*/{src,tests,examples}/`), or a compile-fail case
//!    (`otp/tests/ui/`, compiled by the trybuild suite, which checks its errors);
//! 3. a ```` ```rust ```` block holds nothing but includes: no Rust is written in a page;
//! 4. every code block names its language (`text`, `sh`, `elixir`, ...), so Rust cannot hide in
//!    an unlabelled block;
//! 5. `cargo run --release --example NAME` in a page names an example that exists;
//! 6. relative links point at pages that exist (and at headings that exist, for `page.md#id`),
//!    and every page is in `SUMMARY.md`.

use std::{
    collections::BTreeSet,
    fs,
    path::{Component, Path, PathBuf},
};

/// The repository's root.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.md` file under `dir`, sorted.
fn pages(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// An `{{#include ...}}` found in a page.
#[derive(Debug, PartialEq)]
struct Include {
    /// 1-based line of the page.
    line: usize,
    /// The path as written.
    path: String,
    /// What follows the path's first `:`, if anything.
    selector: Option<String>,
}

/// The includes in `text`, in order. An include escaped with a backslash is literal text.
fn includes(text: &str) -> Vec<Include> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("{{#") {
            let escaped = rest[..at].ends_with('\\');
            let body = &rest[at + 3..];
            let Some(end) = body.find("}}") else { break };
            let directive = body[..end].trim();
            rest = &body[end + 2..];
            if escaped {
                continue;
            }
            let (kind, arg) = directive
                .split_once(char::is_whitespace)
                .unwrap_or((directive, ""));
            let arg = arg.trim();
            let (path, selector) = match arg.split_once(':') {
                Some((p, s)) => (p.to_owned(), Some(s.to_owned())),
                None => (arg.to_owned(), None),
            };
            out.push(Include {
                line: i + 1,
                path: format!("{kind} {path}"),
                selector,
            });
        }
    }
    out
}

/// Checks that `source` defines `anchor` once, with code in it.
fn check_anchor(source: &str, anchor: &str) -> Result<(), String> {
    let marker = |line: &str, tag: &str| -> bool {
        line.find(tag).is_some_and(|at| {
            let name = line[at + tag.len()..].trim_start();
            let name: String = name
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            name == anchor
        })
    };
    let starts: Vec<usize> = source
        .lines()
        .enumerate()
        .filter(|(_, l)| marker(l, "ANCHOR:"))
        .map(|(i, _)| i)
        .collect();
    let ends: Vec<usize> = source
        .lines()
        .enumerate()
        .filter(|(_, l)| marker(l, "ANCHOR_END:"))
        .map(|(i, _)| i)
        .collect();
    match (starts.as_slice(), ends.as_slice()) {
        ([], _) => Err(format!("no `ANCHOR: {anchor}`")),
        (_, []) => Err(format!("no `ANCHOR_END: {anchor}`")),
        ([s], [e]) if s < e => {
            let lines: Vec<&str> = source.lines().collect();
            let code = lines[s + 1..*e]
                .iter()
                .filter(|l| !l.contains("ANCHOR:") && !l.contains("ANCHOR_END:"))
                .any(|l| !l.trim().is_empty());
            if code {
                Ok(())
            } else {
                Err(format!("anchor `{anchor}` is empty"))
            }
        }
        ([_], [_]) => Err(format!("`ANCHOR_END: {anchor}` comes before its start")),
        _ => Err(format!("anchor `{anchor}` is defined more than once")),
    }
}

/// Whether CI compiles and runs the Rust file at `path` (relative to the repository root).
fn is_compiled_and_run(path: &Path) -> bool {
    let parts: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    match parts.as_slice() {
        ["examples", file] => file.ends_with(".rs"),
        ["book", "listings", "tests", file] => file.ends_with(".rs"),
        ["apps", _app, dir, .., file] => {
            matches!(*dir, "src" | "tests" | "examples") && file.ends_with(".rs")
        }
        // Compile-fail cases: the trybuild suite compiles each and compares its errors.
        ["otp", "tests", "ui", .., file] => file.ends_with(".rs"),
        _ => false,
    }
}

/// The ids mdBook gives the headings of a page: lower case, letters, digits, `-` and `_`
/// kept, spaces turned into `-`, everything else dropped (code blocks are skipped).
fn heading_ids(text: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut in_code = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
            continue;
        }
        if in_code || !trimmed.starts_with('#') {
            continue;
        }
        let title = trimmed.trim_start_matches('#');
        if !title.starts_with(' ') {
            continue;
        }
        let id: String = title
            .trim()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c.to_ascii_lowercase()),
                _ => None,
            })
            .collect();
        ids.insert(id);
    }
    ids
}

/// Every problem with one page. `page` is the page's path relative to `root`.
fn check_page(root: &Path, page: &Path, text: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let dir = page.parent().unwrap_or(Path::new(""));
    let at = |line: usize| format!("{}:{line}", page.display());

    // 1 and 2: the includes.
    for inc in includes(text) {
        let (kind, path) = inc.path.split_once(' ').unwrap_or((&inc.path, ""));
        if kind != "include" {
            errors.push(format!(
                "{}: `{{{{#{kind}}}}}`: only `{{{{#include}}}}` is used in this book",
                at(inc.line)
            ));
            continue;
        }
        let target = normalize(&dir.join(path));
        let full = root.join(&target);
        let Ok(source) = fs::read_to_string(&full) else {
            errors.push(format!(
                "{}: no such file `{}`",
                at(inc.line),
                target.display()
            ));
            continue;
        };
        if target.extension().is_some_and(|e| e == "rs") && !is_compiled_and_run(&target) {
            errors.push(format!(
                "{}: `{}` is not run by CI (use examples/, book/listings/tests/, apps/*/src/ or otp/tests/ui/)",
                at(inc.line),
                target.display()
            ));
        }
        match inc.selector.as_deref() {
            None => {}
            Some(s) if s.split(':').all(|p| p.chars().all(|c| c.is_ascii_digit())) => {
                errors.push(format!(
                    "{}: `{path}:{s}` is a line range; use an anchor",
                    at(inc.line)
                ));
            }
            Some(anchor) => {
                if let Err(e) = check_anchor(&source, anchor) {
                    errors.push(format!("{}: `{}`: {e}", at(inc.line), target.display()));
                }
            }
        }
    }

    // 3 and 4: the code blocks.
    let mut fence: Option<(usize, String, String, bool)> = None; // line, marker, lang, has include
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker: String = trimmed
            .chars()
            .take_while(|c| *c == '`' || *c == '~')
            .collect();
        match &mut fence {
            None if marker.len() >= 3 => {
                let info = trimmed[marker.len()..].trim();
                let lang = info.split([',', ' ']).next().unwrap_or("").to_owned();
                if lang.is_empty() {
                    errors.push(format!(
                        "{}: a code block without a language (say `text` for diagrams)",
                        at(i + 1)
                    ));
                }
                fence = Some((i + 1, marker, lang, false));
            }
            None => {}
            Some((start, open, lang, has_include)) => {
                let closes = marker.len() >= open.len()
                    && marker.starts_with(&open[..1])
                    && trimmed[marker.len()..].trim().is_empty();
                if closes {
                    if lang == "rust" && !*has_include {
                        errors.push(format!("{}: a rust block without an include", at(*start)));
                    }
                    fence = None;
                } else if lang == "rust" {
                    let t = line.trim();
                    if t.starts_with("{{#include ") && t.ends_with("}}") {
                        *has_include = true;
                    } else if !t.is_empty() {
                        errors.push(format!(
                            "{}: Rust written in the page (`{t}`); include it from a listing",
                            at(i + 1)
                        ));
                    }
                }
            }
        }
    }
    if let Some((start, ..)) = fence {
        errors.push(format!("{}: a code block that is never closed", at(start)));
    }

    // 5: examples named in commands.
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(p) = rest.find("--example ") {
            let name: String = rest[p + 10..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[p + 10..];
            if name.is_empty() || name == "NAME" {
                continue;
            }
            if !root.join("examples").join(format!("{name}.rs")).exists() {
                errors.push(format!("{}: no example `{name}`", at(i + 1)));
            }
        }
    }

    // 6: relative links to pages.
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(p) = rest.find("](") {
            let after = &rest[p + 2..];
            let Some(end) = after.find(')') else { break };
            let target = &after[..end];
            rest = &after[end..];
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = match target.split_once('#') {
                Some((f, frag)) => (f, Some(frag)),
                None => (target, None),
            };
            let resolved = if file.is_empty() {
                page.to_path_buf()
            } else {
                normalize(&dir.join(file))
            };
            if !resolved.starts_with("book/src") {
                errors.push(format!(
                    "{}: link `{target}` leaves the book (it breaks in the HTML); name the path in code instead",
                    at(i + 1)
                ));
                continue;
            }
            let linked = if file.is_empty() {
                text.to_owned()
            } else {
                match fs::read_to_string(root.join(&resolved)) {
                    Ok(linked) => linked,
                    Err(_) => {
                        errors.push(format!("{}: broken link `{target}`", at(i + 1)));
                        continue;
                    }
                }
            };
            if let Some(fragment) = fragment {
                if !heading_ids(&linked).contains(fragment) {
                    errors.push(format!(
                        "{}: link `{target}`: no heading with the id `{fragment}`",
                        at(i + 1)
                    ));
                }
            }
        }
    }
    errors
}

#[test]
fn every_include_resolves_and_every_listing_is_compiled() {
    let root = repo_root();
    let src = root.join("book/src");
    let all = pages(&src);
    assert!(
        all.len() > 5,
        "found only {} pages in {}",
        all.len(),
        src.display()
    );
    let mut errors = Vec::new();
    let mut included = 0;
    for page in &all {
        let rel = page.strip_prefix(&root).unwrap_or(page).to_path_buf();
        let text = fs::read_to_string(page).unwrap();
        included += includes(&text).len();
        errors.extend(check_page(&root, &rel, &text));
    }
    assert!(included > 20, "only {included} includes in the whole book?");
    assert!(
        errors.is_empty(),
        "the book has problems:\n{}",
        errors.join("\n")
    );
}

#[test]
fn every_page_is_in_the_summary() {
    let src = repo_root().join("book/src");
    let summary = fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let mut linked = BTreeSet::new();
    let mut rest = summary.as_str();
    while let Some(p) = rest.find("](") {
        let after = &rest[p + 2..];
        let end = after.find(')').unwrap_or(after.len());
        linked.insert(normalize(&src.join(&after[..end])));
        rest = &after[end..];
    }
    let missing: Vec<String> = pages(&src)
        .into_iter()
        .filter(|p| !p.ends_with("SUMMARY.md") && !linked.contains(&normalize(p)))
        .map(|p| p.display().to_string())
        .collect();
    assert!(missing.is_empty(), "pages not in SUMMARY.md: {missing:?}");
}

/// The checker itself: it must catch what mdbook only warns about.
mod checker {
    use super::*;

    /// A scratch repository with one example and one listing.
    fn scratch() -> PathBuf {
        static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        DIR.get_or_init(make_scratch).clone()
    }

    fn make_scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("book-check-{}", std::process::id()));
        fs::create_dir_all(dir.join("examples")).unwrap();
        fs::create_dir_all(dir.join("book/src")).unwrap();
        fs::create_dir_all(dir.join("notes")).unwrap();
        fs::write(
            dir.join("examples/hello.rs"),
            "fn main() {\n    // ANCHOR: body\n    println!(\"hi\");\n    // ANCHOR_END: body\n    // ANCHOR: empty\n    // ANCHOR_END: empty\n}\n",
        )
        .unwrap();
        fs::write(dir.join("notes/loose.rs"), "fn main() {}\n").unwrap();
        dir
    }

    fn check(text: &str) -> Vec<String> {
        check_page(&scratch(), Path::new("book/src/page.md"), text)
    }

    #[test]
    fn a_good_page_passes() {
        let page = "# Hi\n\n```rust,ignore\n{{#include ../../examples/hello.rs:body}}\n```\n\n```text\ndiagram\n```\n\n`cargo run --release --example hello`\n";
        assert_eq!(check(page), Vec::<String>::new());
    }

    #[test]
    fn missing_files_anchors_and_ranges_fail() {
        let errors = check(
            "```rust\n{{#include ../../examples/nope.rs}}\n```\n```rust\n{{#include ../../examples/hello.rs:nothere}}\n```\n```rust\n{{#include ../../examples/hello.rs:2:4}}\n```\n```rust\n{{#include ../../examples/hello.rs:empty}}\n```\n",
        );
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(errors[0].contains("no such file"));
        assert!(errors[1].contains("no `ANCHOR: nothere`"));
        assert!(errors[2].contains("line range"));
        assert!(errors[3].contains("is empty"));
    }

    #[test]
    fn inline_rust_and_unlabelled_blocks_fail() {
        let errors = check("```rust\nfn main() {}\n```\n\n```\nlet x = 1;\n```\n");
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(errors[0].contains("Rust written in the page"));
        assert!(errors[1].contains("without an include"));
        assert!(errors[2].contains("without a language"));
    }

    #[test]
    fn files_ci_does_not_run_fail() {
        let errors = check("```rust\n{{#include ../../notes/loose.rs}}\n```\n");
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(errors[0].contains("not run by CI"));
    }

    #[test]
    fn unknown_examples_and_broken_links_fail() {
        let errors = check(
            "Run `cargo run --release --example nope`. See [there](missing.md), [out](../../README.md) and [web](https://example.com).\n",
        );
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(errors[0].contains("no example `nope`"));
        assert!(errors[1].contains("broken link"));
        assert!(errors[2].contains("leaves the book"));
    }

    #[test]
    fn links_to_headings_are_checked() {
        let dir = scratch();
        fs::write(
            dir.join("book/src/other.md"),
            "# Other\n\n## The key-value store, step 4: a tree\n\n```text\n# not a heading\n```\n",
        )
        .unwrap();
        let page = "# Page\n\n## `receive!`, Elixir's receive\n\n[a](other.md#the-key-value-store-step-4-a-tree) [b](#receive-elixirs-receive) [c](other.md#not-a-heading) [d](#nope)\n";
        let errors = check_page(&dir, Path::new("book/src/page.md"), page);
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors[0].contains("`not-a-heading`"));
        assert!(errors[1].contains("`nope`"));
    }

    #[test]
    fn escaped_includes_are_text() {
        assert!(includes("\\{{#include nothing.rs}}").is_empty());
        assert_eq!(
            includes("{{#include a.rs:x}}"),
            [Include {
                line: 1,
                path: "include a.rs".into(),
                selector: Some("x".into())
            }]
        );
    }
}

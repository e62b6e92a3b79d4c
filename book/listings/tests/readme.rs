//! The README's first screen stays true: its Rust example is exactly the `readme` anchor of
//! `examples/readme.rs` (which CI compiles and runs), and the two commands it gives are the
//! demo and the test command CI runs.

use std::{fs, path::PathBuf};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The text between `// ANCHOR: name` and `// ANCHOR_END: name`.
fn anchored(source: &str, name: &str) -> String {
    let start = format!("// ANCHOR: {name}\n");
    let end = format!("// ANCHOR_END: {name}");
    let after = source.split_once(&start).expect("the anchor starts").1;
    after
        .split_once(&end)
        .expect("the anchor ends")
        .0
        .to_owned()
}

#[test]
fn the_readme_example_is_the_compiled_one() {
    let readme = fs::read_to_string(repo_root().join("README.md")).unwrap();
    let example = fs::read_to_string(repo_root().join("examples/readme.rs")).unwrap();
    let block = readme
        .split_once("```rust\n")
        .and_then(|(_, rest)| rest.split_once("```\n"))
        .expect("the README has a rust block")
        .0;
    assert_eq!(
        block,
        anchored(&example, "readme"),
        "README.md's example drifted from examples/readme.rs"
    );
}

#[test]
fn the_readme_commands_are_the_ones_ci_runs() {
    let readme = fs::read_to_string(repo_root().join("README.md")).unwrap();
    let ci = fs::read_to_string(repo_root().join(".ci/run")).unwrap();
    let first_screen: String = readme.lines().take(12).collect::<Vec<_>>().join("\n");
    assert!(
        first_screen.contains("cargo test --workspace"),
        "{first_screen}"
    );
    assert!(
        ci.contains("\ncargo test --workspace\n"),
        "CI runs the README's test command"
    );
    assert!(
        first_screen.contains("cargo run --release -p kv"),
        "{first_screen}"
    );
}

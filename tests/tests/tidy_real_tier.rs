//! Keeps the real-tier convention honest: `cargo xtask test` selects real-backend tests by the `real_`
//! name prefix among ignored tests, so a real test without the prefix or the ignore reason would either
//! be run by plain `cargo test` without a server or never be run at all.

use std::fs;
use std::path::Path;

use forge_tests::IGNORE_REASON;

/// A test function declared in a file, with the attributes written above it.
struct DeclaredTest {
    file: String,
    name: String,
    attributes: Vec<String>,
}

fn declared_tests(source: &str, file: &str) -> Vec<DeclaredTest> {
    let mut tests = Vec::new();
    let mut attributes = Vec::new();
    for line in source.lines().map(str::trim) {
        if line.starts_with("#[") {
            attributes.push(line.to_owned());
            continue;
        }
        let signature = line
            .strip_prefix("async fn ")
            .or_else(|| line.strip_prefix("fn "));
        if let Some(signature) = signature {
            let is_test = attributes
                .iter()
                .any(|attribute| attribute == "#[test]" || attribute.starts_with("#[tokio::test"));
            if is_test {
                let name = signature
                    .split(['(', '<'])
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                tests.push(DeclaredTest {
                    file: file.to_owned(),
                    name,
                    attributes: std::mem::take(&mut attributes),
                });
            }
        }
        if !line.starts_with("///") {
            attributes.clear();
        }
    }
    tests
}

fn workspace_test_files() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files: Vec<(String, String)> = fs::read_dir(&dir)
        .expect("the crate's tests folder is readable")
        .map(|entry| entry.expect("a tests folder entry is readable").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| {
            let source = fs::read_to_string(&path).expect("a test source file is readable UTF-8");
            (path.display().to_string(), source)
        })
        .collect();
    files.sort();
    files
}

/// The problems with one test's real-tier marking, if any.
fn convention_violation(test: &DeclaredTest) -> Option<String> {
    let expected_ignore = format!("#[ignore = \"{IGNORE_REASON}\"]");
    let has_real_ignore = test.attributes.contains(&expected_ignore);
    let is_real = test.name.starts_with("real_");
    match (is_real, has_real_ignore) {
        (true, false) => Some(format!(
            "{}: {} is a real-tier test but lacks {expected_ignore}",
            test.file, test.name
        )),
        (false, true) => Some(format!(
            "{}: {} needs a real server but its name does not start with real_, so the xtask never runs it",
            test.file, test.name
        )),
        _ => None,
    }
}

#[test]
fn every_real_tier_test_is_named_real_and_ignored_with_the_reason() {
    let violations: Vec<String> = workspace_test_files()
        .iter()
        .flat_map(|(file, source)| declared_tests(source, file))
        .filter_map(|test| convention_violation(&test))
        .collect();
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_convention_check_flags_each_kind_of_mistake() {
    // Each example line starts with `|` so that the scan of this very file does not read them as tests.
    let source = format!(
        r#"
|#[tokio::test]
|#[ignore = "{IGNORE_REASON}"]
|async fn real_marked_properly() {{}}
|
|#[tokio::test]
|async fn real_missing_ignore() {{}}
|
|#[test]
|#[ignore = "{IGNORE_REASON}"]
|fn unprefixed_but_real() {{}}
|
|#[test]
|fn ordinary() {{}}
|
|fn helper_not_a_test() {{}}
"#
    )
    .replace("\n|", "\n");
    let tests = declared_tests(&source, "example.rs");
    let names: Vec<&str> = tests.iter().map(|test| test.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "real_marked_properly",
            "real_missing_ignore",
            "unprefixed_but_real",
            "ordinary"
        ]
    );
    let flagged: Vec<bool> = tests
        .iter()
        .map(|test| convention_violation(test).is_some())
        .collect();
    assert_eq!(flagged, [false, true, true, false]);
}

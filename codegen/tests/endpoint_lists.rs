//! Lists kept by hand that must name every operation of `spec/`: the README's
//! method table, the decoder property test, the fuzz targets. A new endpoint
//! that one of them forgets fails here, naming the file to update.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn operations() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("spec/endpoints"))
        .unwrap()
        .filter_map(|entry| {
            let text = std::fs::read_to_string(entry.unwrap().path()).ok()?;
            text.lines().find_map(|line| line.strip_prefix("operation:").map(|name| name.trim().to_owned()))
        })
        .collect();
    names.sort();
    names
}

fn read(path: &str) -> String {
    let path = root().join(path);
    if path.is_dir() {
        let mut all = String::new();
        for entry in std::fs::read_dir(&path).unwrap() {
            all.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
        }
        return all;
    }
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn every_operation_is_in_every_hand_kept_list() {
    let operations = operations();
    assert!(operations.len() >= 10, "{operations:?}");
    let lists = [
        ("README.md (method table)", read("README.md"), "`{}()`"),
        ("tests/decoders_never_panic.rs", read("tests/decoders_never_panic.rs"), ".{}()"),
        ("fuzz/fuzz_targets/", read("fuzz/fuzz_targets"), ".{}()"),
    ];
    let mut missing = Vec::new();
    for (file, text, pattern) in &lists {
        for op in &operations {
            if !text.contains(&pattern.replace("{}", op)) {
                missing.push(format!("{file} does not name `{op}`"));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

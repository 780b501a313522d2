//! docs/SPEC.md documents every key the spec accepts: each YAML key of
//! `codegen/src/spec.rs` (a field's name, or its `#[serde(rename)]`) must
//! head a table row (`` | `key` | ``) in SPEC.md.

#[test]
fn every_spec_key_is_documented() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let source = std::fs::read_to_string(root.join("codegen/src/spec.rs")).unwrap();
    let reference = std::fs::read_to_string(root.join("docs/SPEC.md")).unwrap();
    let mut keys = Vec::new();
    let mut rename: Option<String> = None;
    for line in source.lines().map(str::trim) {
        if let Some(at) = line.find("rename = \"") {
            let rest = &line[at + 10..];
            rename = rest.split('"').next().map(str::to_owned);
            continue;
        }
        if let Some(field) = line.strip_prefix("pub ").and_then(|rest| rest.split_once(':')).map(|(name, _)| name) {
            if !field.contains(' ') && !field.contains('(') {
                keys.push(rename.take().unwrap_or_else(|| field.to_owned()));
            }
        }
        if line.starts_with("pub struct") {
            rename = None;
        }
    }
    assert!(keys.len() > 30, "found only {keys:?}");
    // A key is documented when a table row starts with it (`| `key` |` or `| `a`, `b` |`).
    let rows: Vec<&str> = reference.lines().filter(|line| line.starts_with("| `")).collect();
    let documented =
        |key: &str| rows.iter().any(|row| row.split('|').nth(1).is_some_and(|cell| cell.contains(&format!("`{key}`"))));
    let missing: Vec<&String> = keys.iter().filter(|key| !documented(key)).collect();
    assert!(missing.is_empty(), "docs/SPEC.md does not document {missing:?}");
}

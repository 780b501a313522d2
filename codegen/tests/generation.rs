//! The generator run on the real `spec/`: deterministic, up to date with the
//! committed `generated/`, every file headed "do not edit", and a spec edit
//! reaching exactly the code it should. The committed `generated/` itself is
//! the snapshot of the output (`cargo run -p codegen -- --check` pins it), so
//! there are no per-file snapshots here to duplicate it.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn generate() -> Vec<codegen::GeneratedFile> {
    codegen::generate(root()).unwrap_or_else(|err| panic!("spec/ does not generate:\n{err}"))
}

#[test]
fn generation_is_deterministic_and_matches_the_committed_crate() {
    let first = generate();
    assert_eq!(first, generate(), "two runs must give identical bytes");
    let stale = codegen::stale_files(&root().join("generated"), &first);
    assert!(stale.is_empty(), "generated/ is stale, run `cargo run -p codegen`: {stale:?}");
}

#[test]
fn every_generated_file_starts_with_the_do_not_edit_header() {
    for file in generate() {
        let first = file.contents.lines().next().unwrap_or_default();
        let names_its_source = first.contains("spec/") || first.contains("inlineable/");
        assert!(first.contains("@generated") && names_its_source, "{}: {first}", file.path);
    }
}

/// Reads the real spec, applies `edit` to one endpoint file, generates.
fn generate_with(endpoint: &str, edit: impl Fn(&str) -> String) -> Vec<codegen::GeneratedFile> {
    let read = |p: &str| std::fs::read_to_string(root().join(p)).unwrap();
    let api = codegen::SpecSource { path: "spec/api.yaml".into(), text: read("spec/api.yaml") };
    let mut endpoints = Vec::new();
    for entry in std::fs::read_dir(root().join("spec/endpoints")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let path = format!("spec/endpoints/{name}");
        let text = if name == endpoint { edit(&read(&path)) } else { read(&path) };
        endpoints.push(codegen::SpecSource { path, text });
    }
    endpoints.sort_by(|a, b| a.path.cmp(&b.path));
    let templates = codegen::Templates {
        cargo_toml: read("templates/Cargo.toml.tera"),
        readme: read("templates/README.md.tera"),
        inlineable: vec![("join.rs".to_owned(), read("inlineable/join.rs"))],
    };
    codegen::generate_from_sources(&api, &endpoints, &templates).unwrap_or_else(|err| panic!("{err}"))
}

#[test]
fn a_changed_default_in_the_spec_changes_the_generated_code() {
    let before = generate_with("here_now.yaml", str::to_owned);
    let after = generate_with("here_now.yaml", |s| s.replace("default: 1000", "default: 100"));
    let pick = |files: &[codegen::GeneratedFile]| {
        files.iter().find(|f| f.path == "src/operations/here_now.rs").unwrap().contents.clone()
    };
    let (before, after) = (pick(&before), pick(&after));
    let changed: Vec<(&str, &str)> = before.lines().zip(after.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(
        changed,
        [
            ("            limit: 1000,", "            limit: 100,"),
            ("    /// Default: `1000`. Allowed: `0..=1000`.", "    /// Default: `100`. Allowed: `0..=1000`."),
        ]
    );
}

/// A plain `//` comment inside `quote!` is dropped by the tokenizer: it would
/// read as if it reached the generated code, and silently not. Comments for
/// the output go in as `///`/`//!` docs; comments for the emitter's reader
/// stand outside the macro.
#[test]
fn no_comment_inside_quote_is_silently_dropped() {
    let emit = root().join("codegen/src/emit");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&emit).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        let bytes = source.as_bytes();
        let mut from = 0;
        while let Some(at) = source[from..].find("quote!") {
            let open = from + at + "quote!".len();
            let Some(delimiter) = source[open..].trim_start().chars().next() else { break };
            let close = match delimiter {
                '(' => ')',
                '{' => '}',
                '[' => ']',
                _ => {
                    from = open;
                    continue;
                }
            };
            let start = open + source[open..].find(delimiter).unwrap() + 1;
            let (mut depth, mut end) = (1, start);
            while depth > 0 && end < bytes.len() {
                match bytes[end] as char {
                    c if c == delimiter => depth += 1,
                    c if c == close => depth -= 1,
                    _ => {}
                }
                end += 1;
            }
            for line in source[start..end].lines().map(str::trim) {
                if line.starts_with("//") && !line.starts_with("///") && !line.starts_with("//!") {
                    found.push(format!("{}: {line}", path.display()));
                }
            }
            from = end;
        }
    }
    assert!(found.is_empty(), "comments that vanish inside quote!: {found:#?}");
}

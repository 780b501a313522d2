//! Lists kept by hand that must name every operation of `spec/`: the README's
//! method table, the decoder property test, the fuzz targets. A new endpoint
//! that one of them forgets fails here, naming the file to update.
//!
//! Each list is read as what it is, so that a comment or a string cannot
//! stand in for it: the Rust files are tokenized (comments are dropped,
//! strings and docs are literals) and must call `.<operation>()`; the README
//! must name `` `<operation>()` `` in the first cell of a table row, outside
//! code blocks and HTML comments.

use std::path::Path;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The operations of the real spec, as the generator loads it.
fn operations() -> Vec<String> {
    let (api, endpoints) = codegen::spec_sources(root()).unwrap_or_else(|err| panic!("{err}"));
    let model = codegen::load(&api, &endpoints).unwrap_or_else(|err| panic!("spec/ does not load: {err:?}"));
    model.operations.into_iter().map(|op| op.name).collect()
}

/// The `.rs` files at `path` (a file, or every `.rs` file of a directory).
fn rust_files(path: &str) -> Vec<(String, String)> {
    let full = root().join(path);
    if !full.is_dir() {
        return vec![(path.to_owned(), std::fs::read_to_string(full).unwrap())];
    }
    let mut files: Vec<(String, String)> = std::fs::read_dir(&full)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|file| file.extension().is_some_and(|e| e == "rs"))
        .map(|file| (file.display().to_string(), std::fs::read_to_string(&file).unwrap()))
        .collect();
    files.sort();
    files
}

/// Every method called in `tokens` (`.name(`), macro bodies included.
fn method_calls(tokens: TokenStream, out: &mut Vec<String>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        if let TokenTree::Group(group) = tree {
            method_calls(group.stream(), out);
        }
        if let [TokenTree::Punct(dot), TokenTree::Ident(name), TokenTree::Group(args), ..] = &trees[i..]
            && dot.as_char() == '.'
            && args.delimiter() == Delimiter::Parenthesis
        {
            out.push(name.to_string());
        }
    }
}

/// The methods the Rust files at `path` call.
fn methods_called(path: &str) -> Vec<String> {
    let mut calls = Vec::new();
    for (file, text) in rust_files(path) {
        let tokens: TokenStream = text.parse().unwrap_or_else(|err| panic!("{file} does not tokenize: {err:?}"));
        method_calls(tokens, &mut calls);
    }
    calls
}

/// The code spans (`` `x` ``) in the first cell of each table row of a
/// Markdown text, outside fenced code blocks and HTML comments.
fn first_cell_code_spans(markdown: &str) -> Vec<String> {
    let mut text = String::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("<!--") {
        text.push_str(&rest[..start]);
        rest = rest[start..].find("-->").map_or("", |end| &rest[start + end + 3..]);
    }
    text.push_str(rest);
    let mut spans = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let Some(cells) = line.strip_prefix('|').filter(|_| !in_code) else { continue };
        let first = cells.split('|').next().unwrap_or_default();
        spans.extend(first.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    spans
}

#[test]
fn every_operation_is_in_every_hand_kept_list() {
    let operations = operations();
    assert!(operations.len() >= 10, "{operations:?}");
    let readme = first_cell_code_spans(&std::fs::read_to_string(root().join("README.md")).unwrap());
    let decoders = methods_called("tests/decoders_never_panic.rs");
    let fuzz = methods_called("fuzz/fuzz_targets");
    let mut missing = Vec::new();
    for op in &operations {
        if !readme.contains(&format!("{op}()")) {
            missing.push(format!("README.md: no method-table row names `{op}()`"));
        }
        for (file, calls) in [("tests/decoders_never_panic.rs", &decoders), ("fuzz/fuzz_targets/", &fuzz)] {
            if !calls.contains(op) {
                missing.push(format!("{file} never calls `.{op}()`"));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

/// The readers above see code, not comments or strings.
#[test]
fn comments_strings_and_code_blocks_do_not_count() {
    let code = "// p.here_now()\n/// p.where_now()\nfn f() { let _ = \"p.leave()\"; assert!(p.heartbeat().is_ok()); }";
    let mut calls = Vec::new();
    method_calls(code.parse().unwrap(), &mut calls);
    assert_eq!(calls, ["heartbeat", "is_ok"]);
    let markdown = "<!-- | `a()` | -->\n```\n| `b()` |\n```\n| `c()`, `d()` | `e()` |\n`f()`\n";
    assert_eq!(first_cell_code_spans(markdown), ["c()", "d()"]);
}

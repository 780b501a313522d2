//! The recorded answers in this directory, for the tests that replay them
//! (`tests/conformance.rs`, `server/tests/recorded_shapes.rs`), which include
//! this file with `#[path]`. Both crates sit one level below the workspace
//! root, so `CARGO_MANIFEST_DIR/../tests/recorded` is this directory for each.

#![allow(dead_code)]

use std::path::PathBuf;

/// This directory, found from the including crate's manifest: no environment
/// variable, nothing outside the checkout.
pub fn dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/recorded"))
}

/// Every recorded answer (`*.json`), sorted by file name.
pub fn all() -> Vec<PathBuf> {
    starting_with("")
}

/// The recorded answers whose file name starts with `prefix`, sorted.
pub fn starting_with(prefix: &str) -> Vec<PathBuf> {
    let dir = dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .filter(|path| path.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    files.sort();
    files
}

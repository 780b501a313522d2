//! `cargo run -p codegen` regenerates `generated/` from `spec/`, and each
//! fixture crate under `codegen/fixtures/`; `cargo run -p codegen -- --check`
//! only reports stale files (exit 1).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: codegen [--check] [--root DIR]
       codegen diff [GIT-REF] [--changelog] [--root DIR]

Regenerates generated/ (the Rust crate) and bindings/python/ (its Python bindings) from
spec/, inlineable/ and templates/ (DIR defaults to the workspace root), and each fixture's
codegen/fixtures/<name>/generated/ and bindings/python/ from its spec/.
  --check      write nothing; list stale files and exit 1 if there are any

diff compares spec/ with its state at GIT-REF (default: the last tag, else HEAD) and
classifies each change (breaking, additive, wire-only, docs-only) with the version bump
it needs; exit 1 only for a breaking change without that bump.
  --changelog  also write the entry for the new version into CHANGELOG.md";

fn main() -> ExitCode {
    let mut check = false;
    let mut diff: Option<Option<String>> = None;
    let mut changelog = false;
    let mut root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "diff" if diff.is_none() => diff = Some(None),
            "--changelog" => changelog = true,
            reference if matches!(diff, Some(None)) && !reference.starts_with('-') => {
                diff = Some(Some(reference.to_owned()))
            }
            "--root" => match args.next() {
                Some(dir) => root = PathBuf::from(dir),
                None => return usage_error("--root needs a directory"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage_error(&format!("unknown argument `{other}`")),
        }
    }
    if let Some(reference) = diff {
        return run_diff(&root, reference, changelog);
    }
    if changelog {
        return usage_error("--changelog goes with `diff`");
    }
    let mut targets = vec![PathBuf::new()];
    targets.extend(codegen::fixtures(&root));
    let mut failed = false;
    for target in targets {
        let spec_root = root.join(&target);
        let files = match codegen::generate_in(&spec_root, &root) {
            Ok(files) => files,
            Err(err) => {
                eprintln!(
                    "{}{err}",
                    if target.as_os_str().is_empty() { String::new() } else { format!("{}: ", target.display()) }
                );
                return ExitCode::FAILURE;
            }
        };
        let out = target.join("generated");
        let ok = if check { report_stale(&root, &out, &files) } else { write(&root, &out, &files) };
        failed |= !ok;
        let python = match codegen::generate_python_in(&spec_root, &root) {
            Ok(files) => files,
            Err(err) => {
                eprintln!("{}: python bindings: {err}", target.display());
                return ExitCode::FAILURE;
            }
        };
        let out = target.join("bindings/python");
        let ok = if check { report_stale(&root, &out, &python) } else { write(&root, &out, &python) };
        failed |= !ok;
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// `--check`: lists the files of `out` that differ; true when none do.
fn report_stale(root: &Path, out: &Path, files: &[codegen::GeneratedFile]) -> bool {
    let stale = codegen::stale_files(&root.join(out), files);
    if stale.is_empty() {
        println!("{}/ is up to date ({} files)", out.display(), files.len());
        return true;
    }
    eprintln!("{}/ is stale; run `cargo run -p codegen` to update:", out.display());
    for path in stale {
        eprintln!("  {}/{path}", out.display());
    }
    false
}

/// Writes the files that changed and removes leftovers; true on success.
fn write(root: &Path, out: &Path, files: &[codegen::GeneratedFile]) -> bool {
    let out_dir = root.join(out);
    let mut written = 0;
    for file in files {
        let path = out_dir.join(&file.path);
        if std::fs::read_to_string(&path).is_ok_and(|existing| existing == file.contents) {
            continue;
        }
        if let Some(parent) = path.parent()
            && let Err(err) = std::fs::create_dir_all(parent)
        {
            eprintln!("{}: {err}", parent.display());
            return false;
        }
        if let Err(err) = std::fs::write(&path, &file.contents) {
            eprintln!("{}: {err}", path.display());
            return false;
        }
        println!("wrote {}/{}", out.display(), file.path);
        written += 1;
    }
    for leftover in codegen::leftovers(&out_dir, files) {
        if let Err(err) = std::fs::remove_file(out_dir.join(&leftover)) {
            eprintln!("{}/{leftover}: {err}", out.display());
            return false;
        }
        println!("removed {}/{leftover}", out.display());
    }
    println!("{}/: {} files generated, {written} changed", out.display(), files.len());
    true
}

/// `codegen diff`: the report, the verdict, and with `--changelog` the entry.
fn run_diff(root: &Path, reference: Option<String>, changelog: bool) -> ExitCode {
    let reference = reference.unwrap_or_else(|| {
        git(root, &["describe", "--tags", "--abbrev=0"])
            .map(|tag| tag.trim().to_owned())
            .unwrap_or_else(|_| "HEAD".to_owned())
    });
    let old = match spec_at(root, &reference).and_then(codegen::diff::Revision::load) {
        Ok(old) => old,
        Err(err) => {
            eprintln!("the spec at `{reference}` does not load:\n{err}");
            return ExitCode::FAILURE;
        }
    };
    let new = match codegen::spec_sources(root) {
        Ok((api, endpoints)) => codegen::diff::Revision::load(std::iter::once(api).chain(endpoints).collect()),
        Err(err) => Err(err.to_string()),
    };
    let new = match new {
        Ok(new) => new,
        Err(err) => {
            eprintln!("spec/ does not load:\n{err}");
            return ExitCode::FAILURE;
        }
    };
    let changes = codegen::diff::compare(&old, &new);
    let (report, held) = codegen::diff::report(&old, &new, &changes);
    println!("spec/ compared with `{reference}`:\n\n{report}");
    if changelog && !changes.is_empty() {
        let version = codegen::diff::changelog_version(&old, &new, &changes);
        let path = root.join("CHANGELOG.md");
        let existing = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Changelog\n".to_owned());
        let entry = codegen::diff::changelog_entry(&version, &changes);
        let unreleased = |heading: &str| codegen::diff::is_unreleased(heading, &old);
        if let Err(err) = std::fs::write(&path, codegen::diff::insert_entry(&existing, &version, &entry, unreleased)) {
            eprintln!("{}: {err}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote the {version} entry of CHANGELOG.md");
        if version != new.api.version && version != "Unreleased" {
            println!("set `version: {version}` in spec/api.yaml when releasing");
        }
    }
    if held { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// The spec files as they are at `reference`.
fn spec_at(root: &Path, reference: &str) -> Result<Vec<codegen::SpecSource>, String> {
    let show = |path: &str| git(root, &["show", &format!("{reference}:{path}")]);
    let mut sources = vec![codegen::SpecSource { path: "spec/api.yaml".to_owned(), text: show("spec/api.yaml")? }];
    let listing = git(root, &["ls-tree", "--name-only", reference, "spec/endpoints/"])?;
    let mut paths: Vec<&str> = listing.lines().filter(|p| p.ends_with(".yaml")).collect();
    paths.sort_unstable();
    for path in paths {
        sources.push(codegen::SpecSource { path: path.to_owned(), text: show(path)? });
    }
    Ok(sources)
}

fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .map_err(|err| format!("git {}: {err}", args.join(" ")))?;
    if !output.status.success() {
        return Err(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()));
    }
    String::from_utf8(output.stdout).map_err(|err| format!("git {}: {err}", args.join(" ")))
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("{message}\n\n{USAGE}");
    ExitCode::from(2)
}

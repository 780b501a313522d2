//! `cargo run -p codegen` regenerates `generated/` from `spec/`, and each
//! fixture crate under `codegen/fixtures/`; `cargo run -p codegen -- --check`
//! only reports stale files (exit 1).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: codegen [--check] [--root DIR]

Regenerates generated/ from spec/, inlineable/ and templates/ (DIR defaults to the
workspace root), and each fixture crate codegen/fixtures/<name>/generated/ from its spec/.
  --check   write nothing; list stale files and exit 1 if there are any";

fn main() -> ExitCode {
    let mut check = false;
    let mut root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
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

fn usage_error(message: &str) -> ExitCode {
    eprintln!("{message}\n\n{USAGE}");
    ExitCode::from(2)
}

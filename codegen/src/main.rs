//! `cargo run -p codegen` regenerates `generated/` from `spec/`;
//! `cargo run -p codegen -- --check` only reports stale files (exit 1).

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: codegen [--check] [--root DIR]

Regenerates generated/ from spec/ and templates/ (DIR defaults to the workspace root).
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
    let files = match codegen::generate(&root) {
        Ok(files) => files,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    let out_dir = root.join("generated");
    if check {
        let stale = codegen::stale_files(&out_dir, &files);
        if stale.is_empty() {
            println!("generated/ is up to date ({} files)", files.len());
            return ExitCode::SUCCESS;
        }
        eprintln!("generated/ is stale; run `cargo run -p codegen` to update:");
        for path in stale {
            eprintln!("  generated/{path}");
        }
        return ExitCode::FAILURE;
    }
    let mut written = 0;
    for file in &files {
        let path = out_dir.join(&file.path);
        if std::fs::read_to_string(&path).is_ok_and(|existing| existing == file.contents) {
            continue;
        }
        if let Some(parent) = path.parent()
            && let Err(err) = std::fs::create_dir_all(parent)
        {
            eprintln!("{}: {err}", parent.display());
            return ExitCode::FAILURE;
        }
        if let Err(err) = std::fs::write(&path, &file.contents) {
            eprintln!("{}: {err}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote generated/{}", file.path);
        written += 1;
    }
    for leftover in codegen::leftovers(&out_dir, &files) {
        if let Err(err) = std::fs::remove_file(out_dir.join(&leftover)) {
            eprintln!("generated/{leftover}: {err}");
            return ExitCode::FAILURE;
        }
        println!("removed generated/{leftover}");
    }
    println!("{} files generated, {written} changed", files.len());
    ExitCode::SUCCESS
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("{message}\n\n{USAGE}");
    ExitCode::from(2)
}

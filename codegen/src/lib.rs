//! The generator: `spec/` (YAML) → [`spec`] (serde mirror) → [`ir`]
//! (validated model) → [`emit`] (Rust via `quote!` + `prettyplease`,
//! Cargo.toml and README via `tera`).
//!
//! `cargo run -p codegen` regenerates `generated/`; `-- --check` reports
//! stale files without writing.

pub mod diagnostics;
pub mod diff;
pub mod emit;
pub mod ir;
pub mod spec;

use std::path::{Path, PathBuf};

pub use diagnostics::Diagnostic;
pub use emit::{GeneratedFile, Templates};

/// A spec file's path (relative to the repository root) and text.
#[derive(Debug, Clone)]
pub struct SpecSource {
    /// e.g. `spec/endpoints/here_now.yaml`.
    pub path: String,
    /// The YAML text.
    pub text: String,
}

/// Everything that can stop generation.
#[derive(Debug)]
pub enum GenerateError {
    /// The spec has problems; each names its file:line:column.
    Spec(Vec<Diagnostic>),
    /// Reading or writing files, or rendering a template, failed.
    Other(String),
}

impl std::fmt::Display for GenerateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GenerateError::Spec(diagnostics) => {
                for d in diagnostics {
                    writeln!(f, "{d}")?;
                }
                write!(f, "{} error(s) in the spec", diagnostics.len())
            }
            GenerateError::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for GenerateError {}

/// Parses and validates spec sources: `api` is `spec/api.yaml`, `endpoints`
/// the files under `spec/endpoints/`.
pub fn load(api: &SpecSource, endpoints: &[SpecSource]) -> Result<ir::Api, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    let api_spec = parse::<spec::ApiSpec>(api, 0, &mut diagnostics);
    let mut parsed = Vec::new();
    for (i, source) in endpoints.iter().enumerate() {
        if let Some(spec) = parse::<spec::EndpointSpec>(source, i + 1, &mut diagnostics) {
            parsed.push(ir::SourceFile { path: source.path.clone(), spec });
        }
    }
    let Some(api_spec) = api_spec else { return Err(diagnostics) };
    let api_file = ir::SourceFile { path: api.path.clone(), spec: api_spec };
    match ir::lower(&api_file, &parsed) {
        Ok(model) if diagnostics.is_empty() => Ok(model),
        Ok(_) => Err(diagnostics),
        Err(more) => {
            diagnostics.extend(more);
            Err(diagnostics)
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(source: &SpecSource, id: usize, out: &mut Vec<Diagnostic>) -> Option<T> {
    use marked_yaml::{FromYamlError, LoadError, LoaderOptions};
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    match marked_yaml::from_yaml_with_options::<T>(id, &source.text, options) {
        Ok(value) => Some(value),
        Err(err) => {
            let (marker, message) = match &err {
                FromYamlError::ParseYaml(load) => {
                    let marker = match load {
                        LoadError::TopLevelMustBeMapping(m)
                        | LoadError::TopLevelMustBeSequence(m)
                        | LoadError::UnexpectedAnchor(m)
                        | LoadError::MappingKeyMustBeScalar(m)
                        | LoadError::UnexpectedTag(m)
                        | LoadError::ScanError(m, _) => Some(*m),
                        LoadError::DuplicateKey(inner) => inner.key.span().start().copied(),
                    };
                    let text = load.to_string();
                    // LoadError's Display repeats the position; keep just the message.
                    let message = match text.split_once(": ") {
                        Some((position, rest))
                            if position.contains(':') && !matches!(load, LoadError::DuplicateKey(_)) =>
                        {
                            rest.to_owned()
                        }
                        _ => text,
                    };
                    (marker, format!("invalid YAML: {message}"))
                }
                FromYamlError::FromNode(node) => {
                    let message = match node.path() {
                        Some(path) => format!("at `{path}`: {}", &**node),
                        None => node.to_string(),
                    };
                    (node.start_mark(), message)
                }
            };
            let (line, column) = marker
                .map(|m| (m.line(), m.column()))
                .or_else(|| unknown_field_position(&source.text, &message))
                .unwrap_or((1, 1));
            out.push(Diagnostic { file: source.path.clone(), line, column, context: String::new(), message });
            None
        }
    }
}

/// marked-yaml reports unknown fields without a position; find the key.
fn unknown_field_position(text: &str, message: &str) -> Option<(usize, usize)> {
    let rest = message.split("Unknown field `").nth(1)?;
    let field = &rest[..rest.find('`')?];
    text.lines().enumerate().find_map(|(i, line)| {
        let indent = line.len() - line.trim_start_matches([' ', '-']).len();
        line[indent..].strip_prefix(field)?.starts_with(':').then_some((i + 1, indent + 1))
    })
}

/// Generates every file of the crate from in-memory sources.
pub fn generate_from_sources(
    api: &SpecSource,
    endpoints: &[SpecSource],
    templates: &Templates,
) -> Result<Vec<GeneratedFile>, GenerateError> {
    let model = load(api, endpoints).map_err(GenerateError::Spec)?;
    emit::emit(&model, templates).map_err(GenerateError::Other)
}

/// The spec files under `root` as the loader takes them: `spec/api.yaml`
/// first, then `spec/endpoints/*.yaml` sorted by name.
pub fn spec_sources(root: &Path) -> Result<(SpecSource, Vec<SpecSource>), GenerateError> {
    let api = SpecSource { path: "spec/api.yaml".to_owned(), text: read(&root.join("spec/api.yaml"))? };
    let dir = root.join("spec/endpoints");
    let names = files_ending(&dir, ".yaml").map_err(|err| GenerateError::Other(format!("{}: {err}", dir.display())))?;
    let mut endpoints = Vec::new();
    for name in names {
        endpoints.push(SpecSource { path: format!("spec/endpoints/{name}"), text: read(&dir.join(&name))? });
    }
    Ok((api, endpoints))
}

/// Reads `spec/`, `inlineable/` and `templates/` under `root` and generates every file.
pub fn generate(root: &Path) -> Result<Vec<GeneratedFile>, GenerateError> {
    generate_in(root, root)
}

/// The fixture crates: each directory under `codegen/fixtures/` with a
/// `spec/`, generated into its own `generated/` with the workspace's
/// templates (repository-relative paths).
pub fn fixtures(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root.join("codegen/fixtures")) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.join("spec/api.yaml").is_file())
        .filter_map(|path| path.strip_prefix(root).ok().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs
}

/// Reads `spec/` and `inlineable/` under `spec_root` and `templates/` under
/// `templates_root`, and generates every file.
pub fn generate_in(spec_root: &Path, templates_root: &Path) -> Result<Vec<GeneratedFile>, GenerateError> {
    let (api, endpoints) = spec_sources(spec_root)?;
    let templates = Templates {
        cargo_toml: read(&templates_root.join("templates/Cargo.toml.tera"))?,
        readme: read(&templates_root.join("templates/README.md.tera"))?,
        inlineable: inlineable_sources(spec_root)?,
    };
    generate_from_sources(&api, &endpoints, &templates)
}

/// The Python bindings of the spec under `spec_root` (paths relative to
/// its `bindings/python/`): templates from `templates_root/templates/python/`,
/// the hand-written support from `templates_root/inlineable/python/`.
pub fn generate_python_in(spec_root: &Path, templates_root: &Path) -> Result<Vec<GeneratedFile>, GenerateError> {
    let (api, endpoints) = spec_sources(spec_root)?;
    let model = load(&api, &endpoints).map_err(GenerateError::Spec)?;
    let dir = templates_root.join("templates/python");
    let mut templates = Vec::new();
    for name in files_ending(&dir, ".tera").map_err(|err| GenerateError::Other(format!("{}: {err}", dir.display())))? {
        let text = read(&dir.join(&name))?;
        templates.push((name.trim_end_matches(".tera").to_owned(), text));
    }
    let sources = |dir: &Path, ending: &str| -> Result<Vec<(String, String)>, GenerateError> {
        let names =
            files_ending(dir, ending).map_err(|err| GenerateError::Other(format!("{}: {err}", dir.display())))?;
        names.into_iter().map(|name| Ok((name.clone(), read(&dir.join(&name))?))).collect()
    };
    let support_dir = templates_root.join("inlineable/python");
    let python = emit::python::PythonTemplates {
        templates,
        support: sources(&support_dir, ".rs")?,
        extras: sources(&support_dir.join("extras"), ".rs")?,
        extra_stubs: sources(&support_dir.join("extras"), ".pyi")?,
    };
    emit::python::emit(&model, &python).map_err(GenerateError::Other)
}

/// A file the generator reads; the error names it.
fn read(path: &Path) -> Result<String, GenerateError> {
    std::fs::read_to_string(path).map_err(|err| GenerateError::Other(format!("{}: {err}", path.display())))
}

/// The `.rs` files under `root/inlineable/` (none when it does not exist):
/// (file name, text), sorted by name.
pub fn inlineable_sources(root: &Path) -> Result<Vec<(String, String)>, GenerateError> {
    let Ok(names) = files_ending(&root.join("inlineable"), ".rs") else { return Ok(Vec::new()) };
    let mut sources = Vec::new();
    for name in names {
        let text = read(&root.join("inlineable").join(&name))?;
        sources.push((name, text));
    }
    Ok(sources)
}

/// The names of the files in `dir` ending in `suffix`, sorted.
fn files_ending(dir: &Path, suffix: &str) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(suffix))
        .collect();
    names.sort();
    Ok(names)
}

/// Compares generated files with `out_dir`: returns the paths (relative to
/// `out_dir`) that differ, are missing, or are generated-looking leftovers.
pub fn stale_files(out_dir: &Path, files: &[GeneratedFile]) -> Vec<String> {
    let mut stale = Vec::new();
    for file in files {
        match std::fs::read_to_string(out_dir.join(&file.path)) {
            Ok(existing) if existing == file.contents => {}
            Ok(_) => stale.push(format!("{} (differs)", file.path)),
            Err(_) => stale.push(format!("{} (missing)", file.path)),
        }
    }
    for leftover in leftovers(out_dir, files) {
        stale.push(format!("{leftover} (no longer generated)"));
    }
    stale
}

/// `.rs` files under `out_dir/src` that the generator no longer produces.
pub fn leftovers(out_dir: &Path, files: &[GeneratedFile]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![out_dir.join("src")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && let Ok(relative) = path.strip_prefix(out_dir)
            {
                let relative = relative.to_string_lossy().replace('\\', "/");
                if !files.iter().any(|f| f.path == relative) {
                    found.push(relative);
                }
            }
        }
    }
    found.sort();
    found
}

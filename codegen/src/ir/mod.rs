//! Layer 2: the validated model. `lower` checks every cross-reference and
//! value in the spec and resolves it into explicit, typed facts; `emit`
//! reads only the model.
//!
//! `model` holds the types; [`naming`] the naming rules; each pass lowers
//! one part of an endpoint: `params`, `paths`, `types`, `results` (with
//! `envelope`), `paging`, `stream`. This file runs them in order.

use crate::diagnostics::{Diagnostic, Reporter};
use crate::spec;

mod envelope;
mod model;
pub mod naming;
mod paging;
mod params;
mod paths;
mod results;
mod stream;
mod types;

pub use envelope::ERROR_KEYS;
pub use model::*;
use naming::{
    PYTHON_SUPPORT_CLASSES, RESERVED_OPERATIONS, RESERVED_PYTHON_NAMES, RESERVED_TYPES, RUNTIME_CONFIG_VALUES,
    check_name, is_package_name, is_pascal_case, is_snake_case,
};

/// A parsed spec file: its repository-relative path and contents.
pub struct SourceFile<T> {
    /// e.g. `spec/endpoints/here_now.yaml`.
    pub path: String,
    /// Parsed YAML.
    pub spec: T,
}

/// Validates the parsed spec and lowers it into the model, or returns every
/// problem found.
pub fn lower(
    api: &SourceFile<spec::ApiSpec>,
    endpoints: &[SourceFile<spec::EndpointSpec>],
) -> Result<Api, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    let config_values: Vec<String> = api.spec.config_values.iter().map(|c| c.name.to_string()).collect();
    {
        let mut r = Reporter::new(&api.path, &mut diagnostics);
        check_name(
            &mut r,
            &api.spec.package,
            "package",
            is_package_name,
            "lowercase letters, digits, `-` and `_`, starting with a letter",
        );
        check_name(&mut r, &api.spec.client.name, "client", is_pascal_case, "PascalCase");
        for file in &api.spec.inlineable {
            let module = file.strip_suffix(".rs").unwrap_or_default();
            if !is_snake_case(module) || module == "operations" || module == "lib" {
                r.error(
                    file.span(),
                    "",
                    format!("inlineable `{}` must be `<snake_case>.rs` (not lib or operations)", file.as_str()),
                );
            }
        }
        for value in &api.spec.config_values {
            if check_name(&mut r, &value.name, "config value", is_snake_case, "snake_case")
                && !RUNTIME_CONFIG_VALUES.contains(&value.name.as_str())
            {
                r.error(
                    value.name.span(),
                    "",
                    format!(
                        "config value `{}` has no `{}_value()` getter in the runtime's Config (known: {})",
                        value.name.as_str(),
                        value.name.as_str(),
                        RUNTIME_CONFIG_VALUES.join(", ")
                    ),
                );
            }
        }
    }

    let mut operations = Vec::new();
    let mut seen_ops: Vec<(String, String)> = Vec::new();
    // Builders and result types share the crate root's namespace, with the client.
    let mut seen_types: Vec<(String, String)> = vec![(api.spec.client.name.to_string(), api.path.clone())];
    let mut seen_python: Vec<PythonName> = Vec::new();
    for file in endpoints {
        let mut r = Reporter::new(&file.path, &mut diagnostics);
        let name = file.spec.operation.as_str();
        if let Some((_, other)) = seen_ops.iter().find(|(n, _)| n == name) {
            r.error(
                file.spec.operation.span(),
                "",
                format!("duplicate operation `{name}`, already defined in {other}"),
            );
        }
        if RESERVED_OPERATIONS.contains(&name) {
            r.error(
                file.spec.operation.span(),
                "",
                format!("operation name `{name}` is taken by the client's own `{name}` method"),
            );
        }
        seen_ops.push((name.to_owned(), file.path.clone()));
        let type_names =
            std::iter::once((&file.spec.builder, "builder")).chain(file.spec.types.iter().map(|ty| (&ty.name, "type")));
        for (type_name, what) in type_names {
            if let Some((_, other)) = seen_types.iter().find(|(n, _)| *n == **type_name) {
                r.error(
                    type_name.span(),
                    &format!("operation `{name}`"),
                    format!("duplicate {what} name `{}`, already used in {other}", **type_name),
                );
            } else if RESERVED_TYPES.contains(&type_name.as_str()) {
                r.error(
                    type_name.span(),
                    &format!("operation `{name}`"),
                    format!(
                        "{what} name `{}` would shadow the prelude's or the crate's own `{}`",
                        **type_name, **type_name
                    ),
                );
            }
            seen_types.push((type_name.to_string(), file.path.clone()));
        }
        check_python_names(&mut r, file, &mut seen_python);
        if let Some(op) = lower_endpoint(&mut r, &file.path, &file.spec, &config_values) {
            operations.push(op);
        }
    }
    if !diagnostics.is_empty() {
        diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        return Err(diagnostics);
    }
    operations.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Api {
        package: api.spec.package.to_string(),
        version: api.spec.version.to_string(),
        description: api.spec.description.clone(),
        docs: api.spec.docs.clone(),
        client_name: api.spec.client.name.to_string(),
        client_docs: api.spec.client.docs.clone(),
        operations,
        inlineable: api.spec.inlineable.iter().map(|f| f.trim_end_matches(".rs").to_owned()).collect(),
        publish: api.spec.publish.unwrap_or(true),
    })
}

/// A name in the Python bindings' module, and what holds it.
struct PythonName {
    name: String,
    what: String,
    path: String,
}

/// The Python bindings export every builder, every result class (a union's
/// variants are flattened into the union's class, so they are not) and
/// every alias from one module: a name may hold one of them only. The
/// support's own classes and Python's constants are taken too.
fn check_python_names(r: &mut Reporter<'_>, file: &SourceFile<spec::EndpointSpec>, seen: &mut Vec<PythonName>) {
    let ctx = format!("operation `{}`", file.spec.operation.as_str());
    let variants: Vec<&str> = file
        .spec
        .types
        .iter()
        .filter_map(|ty| ty.union.as_ref())
        .flat_map(|u| u.variants.iter().map(|v| v.ty.as_str()))
        .collect();
    // (name, what holds it, whether to check it here: a Rust name was checked already).
    let mut names: Vec<(&str, Option<marked_yaml::Span>, String)> =
        vec![(file.spec.builder.as_str(), None, "the builder".to_owned())];
    for ty in &file.spec.types {
        let flattened = variants.contains(&ty.name.as_str());
        if !flattened {
            let class = python_class_name(ty.python.as_deref(), &ty.name);
            let span = (class != ty.name.as_str()).then(|| *ty.name.span());
            names.push((class, span, format!("the Python class of type `{}`", *ty.name)));
        }
        for alias in &ty.python_aliases {
            if flattened {
                r.error(
                    alias.span(),
                    &ctx,
                    format!(
                        "python alias `{}`: type `{}` is a union variant, flattened into its union's Python class; \
                         give the alias to the union's type",
                        alias.as_str(),
                        *ty.name
                    ),
                );
            }
            names.push((alias.as_str(), Some(*alias.span()), format!("an alias of type `{}`", *ty.name)));
        }
    }
    for (name, span, what) in names {
        if let Some(span) = span {
            let taken = seen
                .iter()
                .find(|s| s.name == name)
                .map(|s| format!("is already {} ({}): the bindings export every name from one module", s.what, s.path));
            let taken = taken.or_else(|| {
                let reserved = PYTHON_SUPPORT_CLASSES.contains(&name) || RESERVED_PYTHON_NAMES.contains(&name);
                reserved.then(|| "is reserved: the bindings' support or Python has it".to_owned())
            });
            if let Some(taken) = taken {
                r.error(&span, &ctx, format!("Python name `{name}` ({what}) {taken}"));
            }
        }
        seen.push(PythonName { name: name.to_owned(), what, path: file.path.clone() });
    }
}

/// Lowers one endpoint, pass by pass; `None` when anything was reported
/// (the caller stops before emit).
fn lower_endpoint(
    r: &mut Reporter<'_>,
    source: &str,
    spec: &spec::EndpointSpec,
    config_values: &[String],
) -> Option<Operation> {
    let op = spec.operation.as_str();
    let ctx = format!("operation `{op}`");
    let before = r.count();
    check_name(r, &spec.operation, "operation", is_snake_case, "snake_case");
    check_name(r, &spec.builder, "builder", is_pascal_case, "PascalCase");
    if spec.method.as_str() != "GET" {
        r.error(
            spec.method.span(),
            &ctx,
            format!("method `{}` is not supported; the Presence API uses GET", spec.method.as_str()),
        );
    }
    let params = params::lower_params(r, &ctx, &spec.params, config_values);
    let paths = paths::lower_paths(r, &ctx, spec, &params, config_values);
    let rules = spec
        .rules
        .iter()
        .map(|rule| {
            let names =
                rule.required_one_of.iter().filter_map(|n| params.list_param(r, &ctx, n, "required_one_of")).collect();
            Rule::RequiredOneOf(names)
        })
        .collect();
    let mut types = types::lower_types(r, &ctx, &spec.types);
    let result = spec.result.as_ref().and_then(|res| results::lower_result(r, &ctx, res, &types, &params));
    let pagination = spec
        .pagination
        .as_ref()
        .and_then(|p| paging::lower_pagination(r, &ctx, p, &params.list, result.as_ref(), &types));
    let stream = match &spec.stream {
        Some(stream_spec) => {
            if let Some(res) = &spec.result {
                r.error(res.ty.span(), &ctx, "a `stream` operation yields items; it has no `result`");
            }
            stream::plan(r, &ctx, stream_spec, &spec.types, &mut types)
        }
        None => {
            for (t, ts) in types.iter().zip(&spec.types) {
                if let (Some(_), Some(u)) = (&t.union, &ts.union) {
                    r.error(u.other.span(), &ctx, format!("union `{}` is only for `stream` items", t.name));
                }
            }
            None
        }
    };

    if r.count() > before {
        return None;
    }
    Some(Operation {
        source: source.to_owned(),
        name: op.to_owned(),
        builder: spec.builder.to_string(),
        summary: spec.summary.trim().to_owned(),
        docs: spec.docs.as_ref().map(|d| d.trim().to_owned()),
        python: spec.python.clone(),
        idempotent: spec.idempotent,
        paths,
        params: params.list,
        rules,
        result,
        types,
        pagination,
        stream,
        example: spec.example.trim_end().to_owned(),
    })
}

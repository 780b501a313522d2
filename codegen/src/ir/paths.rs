//! Lowers `paths`: each template split into literal text, config values and
//! path parameters, the `when_empty` conditions resolved, and every path
//! parameter placed in some template.

use std::collections::BTreeSet;

use marked_yaml::Spanned;

use super::model::{Location, PathPart, PathTemplate};
use super::params::Params;
use crate::diagnostics::Reporter;
use crate::spec;

/// The operation's path templates, in the order they are tried.
pub(super) fn lower_paths(
    r: &mut Reporter<'_>,
    ctx: &str,
    spec: &spec::EndpointSpec,
    params: &Params,
    config_values: &[String],
) -> Vec<PathTemplate> {
    let mut paths = Vec::new();
    let mut used_in_path = BTreeSet::new();
    if spec.paths.is_empty() {
        r.error(spec.operation.span(), ctx, "at least one path template is required");
    }
    for (i, path) in spec.paths.iter().enumerate() {
        let last = i + 1 == spec.paths.len();
        if last && !path.when_empty.is_empty() {
            r.error(
                path.template.span(),
                ctx,
                "the last path template must not have `when_empty` (it is the fallback)",
            );
        }
        if !last && path.when_empty.is_empty() {
            r.error(path.template.span(), ctx, "only the last path template may omit `when_empty`");
        }
        let when_empty = path.when_empty.iter().filter_map(|n| params.list_param(r, ctx, n, "when_empty")).collect();
        let Some(raw_parts) = parse_template(r, ctx, &path.template) else { continue };
        let mut parts = Vec::new();
        for part in raw_parts {
            let PathPart::Param(name) = part else {
                parts.push(part);
                continue;
            };
            match params.find(&name) {
                Some(p) if p.location == Location::Path => {
                    used_in_path.insert(name.clone());
                    parts.push(PathPart::Param(name));
                }
                Some(_) => r.error(
                    path.template.span(),
                    ctx,
                    format!("placeholder `{{{name}}}` names a parameter that is not `in: path`"),
                ),
                // Declared but invalid: already reported, don't cascade.
                None if params.is_declared(&name) => {}
                None if config_values.contains(&name) => parts.push(PathPart::Config(name)),
                None => unknown_placeholder(r, ctx, &path.template, &name, config_values),
            }
        }
        paths.push(PathTemplate { parts, when_empty });
    }
    for p in &params.list {
        if p.location == Location::Path && !used_in_path.contains(&p.name) {
            let span =
                spec.params.iter().find(|ps| *ps.name == p.name).map_or(spec.operation.span(), |ps| ps.name.span());
            r.error(
                span,
                ctx,
                format!("parameter `{}` is `in: path` but no path template uses `{{{}}}`", p.name, p.name),
            );
        }
    }
    paths
}

/// A placeholder naming neither a parameter nor a config value.
fn unknown_placeholder(
    r: &mut Reporter<'_>,
    ctx: &str,
    template: &Spanned<String>,
    name: &str,
    config_values: &[String],
) {
    let config = if config_values.is_empty() { "none".to_owned() } else { config_values.join(", ") };
    r.error(
        template.span(),
        ctx,
        format!(
            "path template `{}`: placeholder `{{{name}}}` is neither a parameter of this operation nor a config value (config values: {config})",
            template.as_str()
        ),
    );
}

fn parse_template(r: &mut Reporter<'_>, ctx: &str, template: &Spanned<String>) -> Option<Vec<PathPart>> {
    let mut parts = Vec::new();
    let mut rest = template.as_str();
    if !rest.starts_with('/') {
        r.error(template.span(), ctx, "path template must start with `/`");
        return None;
    }
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(PathPart::Literal(rest[..open].to_owned()));
        }
        let Some(close) = rest[open..].find('}') else {
            r.error(template.span(), ctx, "unclosed `{` in path template");
            return None;
        };
        let name = &rest[open + 1..open + close];
        // Placeholders resolve later; config names win only when no parameter has the name.
        parts.push(PathPart::Param(name.to_owned()));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        parts.push(PathPart::Literal(rest.to_owned()));
    }
    Some(parts)
}

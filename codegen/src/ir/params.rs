//! Lowers `params`: each parameter's kind, location and default, checked
//! against one another; and resolves the names other parts of the spec give
//! to list parameters.

use std::collections::BTreeSet;

use marked_yaml::Spanned;

use super::model::{DefaultValue, Location, NameKind, Param, ParamKind};
use super::naming::{RESERVED_PARAMS, check_name, is_snake_case};
use crate::diagnostics::Reporter;
use crate::spec;

/// An operation's parameters once lowered, in setter order, with every name
/// the spec declares (a declared parameter that did not lower has been
/// reported already; naming it again is not).
pub(super) struct Params {
    /// The parameters that lowered.
    pub(super) list: Vec<Param>,
    /// Every declared name, lowered or not.
    declared: BTreeSet<String>,
}

impl Params {
    /// The lowered parameter called `name`.
    pub(super) fn find(&self, name: &str) -> Option<&Param> {
        self.list.iter().find(|p| p.name == name)
    }

    /// Whether the spec declares a parameter called `name`.
    pub(super) fn is_declared(&self, name: &str) -> bool {
        self.declared.contains(name)
    }

    /// Resolves a name the spec gives as a list parameter (`what` says where),
    /// reporting when it is not one.
    pub(super) fn list_param(
        &self,
        r: &mut Reporter<'_>,
        ctx: &str,
        name: &Spanned<String>,
        what: &str,
    ) -> Option<String> {
        match self.find(name) {
            Some(Param { kind: ParamKind::Names { .. }, .. }) => Some(name.to_string()),
            Some(_) => {
                r.error(name.span(), ctx, format!("{what} `{}` must be a `names` parameter", name.as_str()));
                None
            }
            None if self.is_declared(name) => None,
            None => {
                r.error(name.span(), ctx, format!("{what} `{}` is not a parameter of this operation", name.as_str()));
                None
            }
        }
    }
}

/// Lowers every parameter: names unique, snake_case and not taken by the
/// builder, then each one on its own.
pub(super) fn lower_params(
    r: &mut Reporter<'_>,
    ctx: &str,
    specs: &[spec::ParamSpec],
    config_values: &[String],
) -> Params {
    let mut list = Vec::new();
    let mut declared = BTreeSet::new();
    for p in specs {
        let pctx = format!("{ctx}, parameter `{}`", p.name.as_str());
        if !declared.insert(p.name.to_string()) {
            r.error(p.name.span(), &pctx, "duplicate parameter name");
            continue;
        }
        if check_name(r, &p.name, "parameter", is_snake_case, "snake_case")
            && RESERVED_PARAMS.contains(&p.name.as_str())
        {
            r.error(
                p.name.span(),
                &pctx,
                format!(
                    "`{}` is taken by the builder or the code generated around parameters; choose another name",
                    p.name.as_str()
                ),
            );
            continue;
        }
        if let Some(param) = lower_param(r, &pctx, p, config_values) {
            list.push(param);
        }
    }
    Params { list, declared }
}

fn lower_param(r: &mut Reporter<'_>, ctx: &str, p: &spec::ParamSpec, config_values: &[String]) -> Option<Param> {
    let before = r.count();
    let suffix = p.suffix.as_ref().map(|s| s.to_string()).unwrap_or_default();
    if let Some(given) = &p.suffix
        && !matches!(p.ty.as_str(), "names" | "group_names")
    {
        r.error(given.span(), ctx, "`suffix` applies only to `names` and `group_names` parameters");
    }
    let refuse_presence_names = p.refuse_presence_names.as_ref().is_some_and(|flag| **flag);
    if let Some(given) = &p.refuse_presence_names
        && !matches!(p.ty.as_str(), "names" | "group_names")
    {
        r.error(given.span(), ctx, "`refuse_presence_names` applies only to `names` and `group_names` parameters");
    }
    let kind = match p.ty.as_str() {
        // A list in the query is joined with `,`, so its names cannot hold one.
        "names" if p.location.as_str() == "query" => {
            ParamKind::Names { kind: NameKind::ListedChannel, suffix, refuse_presence_names }
        }
        "names" => ParamKind::Names { kind: NameKind::Channel, suffix, refuse_presence_names },
        "group_names" => ParamKind::Names { kind: NameKind::ChannelGroup, suffix, refuse_presence_names },
        "name" => ParamKind::Name { kind: NameKind::Channel },
        "group_name" => ParamKind::Name { kind: NameKind::ChannelGroup },
        "uuid" => ParamKind::Name { kind: NameKind::Uuid },
        "bool" => {
            let send_when = match p.encoding.as_ref().map(|e| e.as_str()) {
                Some("flag_if_true") => true,
                Some("flag_if_false") => false,
                Some(other) => {
                    r.error(
                        p.encoding.as_ref().map(Spanned::span).unwrap_or(p.ty.span()),
                        ctx,
                        format!("unknown bool encoding `{other}`; expected flag_if_true or flag_if_false"),
                    );
                    true
                }
                None => {
                    r.error(p.ty.span(), ctx, "a `bool` parameter needs `encoding: flag_if_true` or `flag_if_false`");
                    true
                }
            };
            ParamKind::Flag { send_when }
        }
        "u32" => ParamKind::U32 {
            min: parse_u32(r, ctx, p.min.as_ref(), "min"),
            max: parse_u32(r, ctx, p.max.as_ref(), "max"),
        },
        "json_object" => ParamKind::JsonObject { of_objects: false },
        "json_object_of_objects" => ParamKind::JsonObject { of_objects: true },
        other => {
            r.error(
                p.ty.span(),
                ctx,
                format!(
                    "unknown parameter type `{other}`; expected names, group_names, name, group_name, uuid, bool, u32, json_object or json_object_of_objects"
                ),
            );
            // Still check the location; kind-specific checks would only cascade.
            if !matches!(p.location.as_str(), "path" | "query") {
                r.error(
                    p.location.span(),
                    ctx,
                    format!("unknown location `{}`; expected path or query", p.location.as_str()),
                );
            }
            return None;
        }
    };
    if p.encoding.is_some() && !matches!(kind, ParamKind::Flag { .. }) {
        r.error(
            p.encoding.as_ref().map(Spanned::span).unwrap_or(p.ty.span()),
            ctx,
            "`encoding` applies only to `bool` parameters",
        );
    }
    if !matches!(kind, ParamKind::U32 { .. }) {
        for bound in [&p.min, &p.max].into_iter().flatten() {
            r.error(bound.span(), ctx, "`min`/`max` apply only to `u32` parameters");
        }
    }
    if let ParamKind::U32 { min: Some(min), max: Some(max) } = kind
        && min > max
    {
        r.error(
            p.min.as_ref().map(Spanned::span).unwrap_or(p.name.span()),
            ctx,
            format!("`min` {min} is greater than `max` {max}"),
        );
    }

    let location = match p.location.as_str() {
        "path" => {
            if let Some(w) = &p.wire_name {
                r.error(w.span(), ctx, "`wire_name` applies only to query parameters");
            }
            if !matches!(kind, ParamKind::Names { .. } | ParamKind::Name { .. }) {
                r.error(
                    p.location.span(),
                    ctx,
                    "only name parameters (`names`, `group_names`, `name`, `group_name`, `uuid`) can go in the path",
                );
            }
            Location::Path
        }
        "query" => Location::Query(p.wire_name.as_ref().map(|w| w.to_string()).unwrap_or_else(|| p.name.to_string())),
        other => {
            r.error(p.location.span(), ctx, format!("unknown location `{other}`; expected path or query"));
            Location::Path
        }
    };

    let given = [p.default.is_some(), p.default_from_config.is_some(), p.required].iter().filter(|b| **b).count();
    if given > 1 {
        r.error(p.name.span(), ctx, "use only one of `default`, `default_from_config` and `required`");
    }
    let default = if let Some(d) = &p.default {
        match &kind {
            ParamKind::Flag { .. } => match d.as_str() {
                "true" => DefaultValue::Bool(true),
                "false" => DefaultValue::Bool(false),
                other => {
                    r.error(d.span(), ctx, format!("default `{other}` is not a bool (true or false)"));
                    DefaultValue::Unset
                }
            },
            ParamKind::U32 { min, max } => match d.as_str().parse::<u32>() {
                Ok(v) => {
                    if min.is_some_and(|m| v < m) || max.is_some_and(|m| v > m) {
                        r.error(d.span(), ctx, format!("default {v} is outside `min`..=`max`"));
                    }
                    DefaultValue::U32(v)
                }
                Err(_) => {
                    r.error(d.span(), ctx, format!("default `{}` is not a u32", d.as_str()));
                    DefaultValue::Unset
                }
            },
            // Listed, not `_`: a new kind must decide here whether it takes a literal default.
            ParamKind::Names { .. } | ParamKind::Name { .. } | ParamKind::JsonObject { .. } => {
                r.error(d.span(), ctx, format!("a `{}` parameter cannot have a literal `default`", p.ty.as_str()));
                DefaultValue::Unset
            }
        }
    } else if let Some(c) = &p.default_from_config {
        if !config_values.iter().any(|v| v == c.as_str()) {
            r.error(
                c.span(),
                ctx,
                format!("unknown config value `{}`; expected one of {}", c.as_str(), config_values.join(", ")),
            );
        }
        if !matches!(kind, ParamKind::Name { .. }) {
            r.error(c.span(), ctx, "`default_from_config` applies only to `name`, `group_name` and `uuid` parameters");
        }
        DefaultValue::FromConfig(c.to_string())
    } else if p.required {
        DefaultValue::Required
    } else if matches!(kind, ParamKind::Names { .. }) {
        DefaultValue::EmptyList
    } else {
        if matches!(kind, ParamKind::Flag { .. }) {
            r.error(p.ty.span(), ctx, "a `bool` parameter needs a `default`");
        }
        if location == Location::Path {
            r.error(p.name.span(), ctx, "a path parameter needs `required: true` or `default_from_config`");
        }
        DefaultValue::Unset
    };
    if r.count() > before {
        return None;
    }
    Some(Param { name: p.name.to_string(), docs: p.docs.trim().to_owned(), kind, location, default })
}

fn parse_u32(r: &mut Reporter<'_>, ctx: &str, value: Option<&Spanned<String>>, what: &str) -> Option<u32> {
    let value = value?;
    match value.as_str().parse() {
        Ok(v) => Some(v),
        Err(_) => {
            r.error(value.span(), ctx, format!("`{what}` `{}` is not a u32", value.as_str()));
            None
        }
    }
}

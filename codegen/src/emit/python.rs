//! The second target: Python asyncio bindings (a PyO3 extension crate and
//! its `.pyi` stubs) over the generated Rust crate, from the same IR.
//!
//! Per operation, a builder class whose setters wrap the Rust builder's and
//! whose `future()` / `result()` (or `subscribe()` for a stream) hand the
//! Rust future to the shared support code; per result type, a frozen class
//! with the seed's name and a `ToPython` conversion. What is the same for
//! every operation lives in the hand-written `inlineable/python/`, copied
//! into the crate's `src/support/`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ir::{Api, Operation, ParamKind, TypeModel, TypeRef};

use super::{GeneratedFile, copy_of, header, render, rust_file};

/// Templates and hand-written sources of the Python target.
#[derive(Debug, Clone)]
pub struct PythonTemplates {
    /// `templates/python/*.tera`: (file name without `.tera`, text).
    pub templates: Vec<(String, String)>,
    /// `inlineable/python/*.rs`: support copied into `src/support/`.
    pub support: Vec<(String, String)>,
    /// `inlineable/python/extras/*.rs`: the Python face of each inlineable
    /// Rust module, copied into `src/` when the spec lists that module.
    pub extras: Vec<(String, String)>,
    /// `inlineable/python/extras/*.pyi`: each extra's type stubs, put into
    /// `_native.pyi`; a `# client: def …` line is the client's method.
    pub extra_stubs: Vec<(String, String)>,
}

/// One extra's stubs, read from its `.pyi` fragment.
#[derive(serde::Serialize)]
struct ExtraStubs {
    /// The classes it defines (exported by the package), sorted.
    classes: Vec<String>,
    /// The client's method stub (`def join(self) -> Join: ...`).
    client: String,
    /// The stubs, without the fragment's leading comment lines.
    stubs: String,
}

impl ExtraStubs {
    fn parse(module: &str, templates: &PythonTemplates) -> Result<Self, String> {
        let file = format!("{module}.pyi");
        let at = format!("inlineable/python/extras/{file}");
        let (_, text) = templates
            .extra_stubs
            .iter()
            .find(|(name, _)| *name == file)
            .ok_or_else(|| format!("{at}: missing (extras/{module}.rs needs its type stubs)"))?;
        let header_lines = text.lines().take_while(|line| line.starts_with('#')).count();
        let client = text
            .lines()
            .take(header_lines)
            .find_map(|line| line.strip_prefix("# client: "))
            .ok_or_else(|| format!("{at}: no `# client: def {module}(self) -> …` line among its first comments"))?
            .to_owned();
        let stubs: String = text.lines().skip(header_lines).flat_map(|line| [line, "\n"]).collect();
        let mut classes: Vec<String> = stubs
            .lines()
            .filter_map(|line| line.strip_prefix("class "))
            .map(|rest| rest.split([':', '(']).next().unwrap_or(rest).trim().to_owned())
            .collect();
        classes.sort();
        Ok(ExtraStubs { classes, client, stubs })
    }
}

/// The Python package (`pubnub_presence` for `pubnub-presence`).
fn package(api: &Api) -> String {
    api.package.replace('-', "_")
}

/// The Python client class: the seed's `PubNubAsyncio` for `PubNub`.
fn client_class(api: &Api) -> String {
    format!("{}Asyncio", api.client_name)
}

/// A result type's Python class ([`TypeModel::python_class`]).
fn class_name(ty: &TypeModel) -> String {
    ty.python_class().to_owned()
}

/// Types that become no class of their own: a union's variant structs are
/// flattened into the union's class.
fn flattened(op: &Operation) -> Vec<&str> {
    op.types.iter().filter_map(|t| t.union.as_ref()).flat_map(|u| u.variants.iter().map(|v| v.ty.as_str())).collect()
}

/// The operation's types that are Python classes: all but the flattened variants.
fn class_types(op: &Operation) -> impl Iterator<Item = &TypeModel> {
    let skip = flattened(op);
    op.types.iter().filter(move |t| !skip.contains(&t.name.as_str()))
}

fn find_type<'a>(api: &'a Api, name: &str) -> Option<&'a TypeModel> {
    api.operations.iter().flat_map(|op| &op.types).find(|t| t.name == name)
}

/// A `map<T>` of a type keyed by one of its own fields is a list in Python
/// (the seed's `PNHereNowResult.channels`); any other map is a dict.
fn map_is_list(api: &Api, inner: &TypeRef) -> bool {
    matches!(inner, TypeRef::Named(name) if find_type(api, name).is_some_and(|t| t.map_key_field().is_some()))
}

/// The stub's annotation for a field.
fn py_type(api: &Api, ty: &TypeRef) -> String {
    match ty {
        TypeRef::String => "str".to_owned(),
        TypeRef::U64 => "int".to_owned(),
        TypeRef::Bool => "bool".to_owned(),
        TypeRef::Json => "Any".to_owned(),
        TypeRef::List(inner) => format!("list[{}]", py_type(api, inner)),
        TypeRef::Map(inner) if map_is_list(api, inner) => format!("list[{}]", py_type(api, inner)),
        TypeRef::Map(inner) => format!("dict[str, {}]", py_type(api, inner)),
        TypeRef::Option(inner) => format!("{} | None", py_type(api, inner)),
        TypeRef::Named(name) => find_type(api, name).map_or_else(|| name.clone(), class_name),
    }
}

/// The value of `value` (a Rust field of type `ty`) handed to `ToPython`.
fn to_python(api: &Api, ty: &TypeRef, value: TokenStream) -> TokenStream {
    match ty {
        TypeRef::Map(inner) if map_is_list(api, inner) => {
            quote!(ToPython::to_python(#value.into_values().collect::<Vec<_>>(), py)?)
        }
        _ => quote!(ToPython::to_python(#value, py)?),
    }
}

/// Every file of the bindings crate, paths relative to `bindings/python/`.
pub fn emit(api: &Api, templates: &PythonTemplates) -> Result<Vec<GeneratedFile>, String> {
    let all_sources = "spec/api.yaml and spec/endpoints/*.yaml";
    let extras = extras(api, templates);
    let mut files = vec![rust_file("src/lib.rs", all_sources, lib_rs(api, &extras))?];
    files.push(rust_file("src/client.rs", all_sources, client_rs(api, &extras))?);
    files.push(rust_file("src/operations/mod.rs", all_sources, operations_mod(api))?);
    for op in &api.operations {
        files.push(rust_file(&format!("src/operations/{}.rs", op.name), &op.source, operation(api, op))?);
    }
    for (name, text) in &templates.support {
        files.push(copy_of(&format!("inlineable/python/{name}"), &format!("src/support/{name}"), text));
    }
    for (name, text) in &templates.extras {
        if extras.iter().any(|m| name.strip_suffix(".rs") == Some(*m)) {
            files.push(copy_of(&format!("inlineable/python/extras/{name}"), &format!("src/{name}"), text));
        }
    }
    let stubs = extras.iter().map(|m| ExtraStubs::parse(m, templates)).collect::<Result<Vec<_>, _>>()?;
    exported_once(api, &stubs)?;
    let context = context(api, &stubs);
    let pkg = package(api);
    for (name, text) in &templates.templates {
        // Every one of them takes `#` comments.
        let path = match name.as_str() {
            "Cargo.toml" | "pyproject.toml" => name.clone(),
            "__init__.py" | "_native.pyi" | "testing.py" => format!("python/{pkg}/{name}"),
            other => return Err(format!("templates/python/{other}.tera: no place for this file")),
        };
        let body = render(&format!("python/{name}"), text, &context)?;
        files.push(GeneratedFile { path, contents: format!("{}{body}", header("#", all_sources)) });
    }
    // PEP 561's marker: type checkers read only whether it says `partial`.
    files.push(GeneratedFile { path: format!("python/{pkg}/py.typed"), contents: header("#", all_sources) });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Every name the package exports is one class: the spec's names are
/// checked with their places in the IR, this adds the extras' classes.
fn exported_once(api: &Api, extras: &[ExtraStubs]) -> Result<(), String> {
    let mut names: Vec<&str> = crate::ir::naming::PYTHON_SUPPORT_CLASSES.to_vec();
    for op in &api.operations {
        names.push(&op.builder);
        for ty in class_types(op) {
            names.push(ty.python_class());
            names.extend(ty.python_aliases.iter().map(String::as_str));
        }
    }
    for extra in extras {
        for class in &extra.classes {
            if names.contains(&class.as_str()) {
                return Err(format!(
                    "inlineable/python/extras/: class `{class}` has the name of one the spec or the support gives the bindings"
                ));
            }
            names.push(class);
        }
    }
    Ok(())
}

/// The hand-written Rust modules the spec lists that have a Python face:
/// a file `inlineable/python/extras/<module>.rs`, which gives `Builder`,
/// `builder(client, config)` (the client's method of the module's name) and
/// `register(module)`.
fn extras<'a>(api: &'a Api, templates: &PythonTemplates) -> Vec<&'a str> {
    api.inlineable
        .iter()
        .map(String::as_str)
        .filter(|m| templates.extras.iter().any(|(file, _)| file.strip_suffix(".rs") == Some(*m)))
        .collect()
}

/// `src/lib.rs`: the modules. `#[rustfmt::skip]`: prettyplease formatted
/// them (and `--check` pins them); rustfmt would format them otherwise.
fn lib_rs(api: &Api, extras: &[&str]) -> TokenStream {
    let extras = extras.iter().map(|m| {
        let m = format_ident!("{}", m);
        quote!(#[rustfmt::skip] mod #m;)
    });
    let doc = format!(
        " Python asyncio bindings over `{}`: one class per operation builder and result type (generated), on the \
         hand-written `support` module. Built by maturin into the `{}._native` module.",
        api.package,
        package(api)
    );
    quote! {
        #![doc = #doc]

        #[rustfmt::skip]
        mod client;
        #[rustfmt::skip]
        mod operations;
        #[rustfmt::skip]
        mod support;
        #(#extras)*
    }
}

/// `src/client.rs`: the client class and the module that registers every class.
fn client_rs(api: &Api, extras: &[&str]) -> TokenStream {
    let sdk = format_ident!("{}", package(api));
    let client = format_ident!("{}", api.client_name);
    let class = client_class(api);
    let pkg = package(api);
    let methods = api.operations.iter().map(|op| {
        let name = format_ident!("{}", op.name);
        let builder = format_ident!("{}", op.builder);
        let summary = &op.summary;
        quote! {
            #[doc = #summary]
            fn #name(&self) -> operations::#name::#builder {
                operations::#name::#builder::new(self.client.#name())
            }
        }
    });
    // Each hand-written module (inlineable/python/extras/) gives the
    // client a method of its name: `builder(client, config)`.
    let extra_methods = extras.iter().map(|m| {
        let doc = format!("`{m}()`: see inlineable/python/extras/{m}.rs.");
        let m = format_ident!("{}", m);
        quote! {
            #[doc = #doc]
            fn #m(&self) -> crate::#m::Builder {
                crate::#m::builder(&self.client, &self.config)
            }
        }
    });
    let mut classes: Vec<TokenStream> = Vec::new();
    let mut aliases: Vec<TokenStream> = Vec::new();
    // The hand-written modules register their own classes.
    let extra_registers = extras.iter().map(|m| {
        let m = format_ident!("{}", m);
        quote!(crate::#m::register(module)?;)
    });
    for op in &api.operations {
        let module = format_ident!("{}", op.name);
        let builder = format_ident!("{}", op.builder);
        classes.push(quote!(operations::#module::#builder));
        for ty in class_types(op) {
            let ident = format_ident!("{}", ty.name);
            classes.push(quote!(operations::#module::#ident));
            for alias in &ty.python_aliases {
                aliases.push(quote!(module.add(#alias, module.py().get_type::<operations::#module::#ident>())?;));
            }
        }
    }
    // The configuration is kept only for the hand-written modules' builders.
    let (config_field, config_init) = if extras.is_empty() {
        (quote!(), quote!())
    } else {
        (quote!(config: support::config::Configuration,), quote!(config: config.clone()))
    };
    let class_doc = format!("The {class} client: one HTTP client, shared by every call made through it.");
    quote! {
        //! The client class, and the module that registers every class.

        use pyo3::prelude::*;

        use crate::{operations, support};

        #[doc = #class_doc]
        #[pyclass(module = #pkg, name = #class)]
        struct Client {
            client: #sdk::#client,
            #config_field
        }

        #[pymethods]
        impl Client {
            #[new]
            fn new(config: PyRef<'_, support::config::Configuration>) -> Self {
                Client { client: #sdk::#client::new(config.to_config()), #config_init }
            }

            #(#methods)*
            #(#extra_methods)*

            /// Closes the client (for the seed's `await pubnub.stop()`): its
            /// connections close once no call holds them.
            fn stop<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                support::bridge::spawn(py, async {}, |py, ()| Ok(py.None()))
            }
        }

        /// The `_native` module of the package.
        #[pymodule(name = "_native")]
        fn native(module: &Bound<'_, PyModule>) -> PyResult<()> {
            support::register(module)?;
            #(#extra_registers)*
            module.add_class::<Client>()?;
            #(module.add_class::<#classes>()?;)*
            #(#aliases)*
            Ok(())
        }
    }
}

fn operations_mod(api: &Api) -> TokenStream {
    let mods = api.operations.iter().map(|op| {
        let name = format_ident!("{}", op.name);
        quote!(pub mod #name;)
    });
    quote! {
        //! One module per operation: its builder class and result classes.
        #(#mods)*
    }
}

/// One operation's builder class and result classes.
fn operation(api: &Api, op: &Operation) -> TokenStream {
    let sdk = format_ident!("{}", package(api));
    let builder = format_ident!("{}", op.builder);
    let pkg = package(api);
    let op_name = &op.name;
    let doc = format!("`{}()`: {}", op.name, op.summary);
    let setters = op.params.iter().map(|p| {
        let name = format_ident!("{}", p.name);
        let docs = &p.docs;
        let (arg, value) = match &p.kind {
            ParamKind::Names { .. } => (quote!(support::convert::Names), quote!(#name.0)),
            ParamKind::Name { .. } => (quote!(String), quote!(#name)),
            ParamKind::Flag { .. } => (quote!(bool), quote!(#name)),
            ParamKind::U32 { .. } => (quote!(u32), quote!(#name)),
            ParamKind::JsonObject { .. } => (quote!(support::convert::Json), quote!(#name.0)),
        };
        // A setter named like its builder (heartbeat's `heartbeat`) is not a constructor.
        let allow = (p.name == op.name).then(|| quote!(#[allow(clippy::self_named_constructors)]));
        quote! {
            #[doc = #docs]
            #allow
            fn #name(mut slf: PyRefMut<'_, Self>, #name: #arg) -> PyRefMut<'_, Self> {
                slf.inner = slf.inner.clone().#name(#value);
                slf
            }
        }
    });
    let send = match &op.stream {
        Some(_) => quote! {
            /// Starts watching: an async iterator of events (`async for
            /// event in builder.subscribe()`). Bad input raises here.
            fn subscribe(&self) -> PyResult<support::stream::Subscription> {
                support::future::check(self.inner.build_request())?;
                Ok(support::stream::Subscription::new(self.inner.clone().subscribe()))
            }
        },
        None => quote! {
            /// Sends the call: awaits to an envelope with `result` and
            /// `status` (`status.is_error()` when it failed). Bad input
            /// raises here, before anything is sent.
            fn future<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                support::future::check(self.inner.build_request())?;
                let builder = self.inner.clone();
                support::future::envelope(py, #op_name, builder.send())
            }

            /// Sends the call: awaits to the result, or raises `PubNubError`.
            /// Bad input raises here, before anything is sent.
            fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                support::future::check(self.inner.build_request())?;
                let builder = self.inner.clone();
                support::future::result(py, builder.send())
            }
        },
    };
    let classes = class_types(op).map(|t| result_class(api, t));
    let module_doc = format!("`{}`: {}", op.name, op.summary);
    quote! {
        #![doc = #module_doc]

        use pyo3::prelude::*;

        use crate::support;
        #[allow(unused_imports)]
        use crate::support::convert::ToPython;

        #[doc = #doc]
        #[pyclass(module = #pkg)]
        pub struct #builder {
            inner: #sdk::#builder,
        }

        impl #builder {
            pub(crate) fn new(inner: #sdk::#builder) -> Self {
                #builder { inner }
            }
        }

        #[pymethods]
        impl #builder {
            #(#setters)*
            #send
        }

        #(#classes)*
    }
}

/// The attributes of a type's Python class: (attribute, Rust field, type);
/// for a union, its discriminator attribute comes first and every variant's
/// own fields follow the common ones, each once.
fn attributes<'a>(api: &'a Api, ty: &'a TypeModel) -> Vec<(&'a str, &'a str, TypeRef)> {
    let mut out: Vec<(&str, &str, TypeRef)> =
        ty.fields.iter().map(|f| (f.python_name.as_str(), f.name.as_str(), f.ty.clone())).collect();
    if let Some(union) = &ty.union {
        for variant in &union.variants {
            for f in find_type(api, &variant.ty).map(|t| t.fields.as_slice()).unwrap_or_default() {
                if !out.iter().any(|(py, _, _)| *py == f.python_name) {
                    out.push((f.python_name.as_str(), f.name.as_str(), f.ty.clone()));
                }
            }
        }
    }
    out
}

/// How a class keeps an attribute: a scalar as a plain Rust value (made a
/// Python object only when read: a result of 1,000 occupants does not make
/// 1,000 `str`s nobody reads), anything else as a Python object made at
/// conversion. `None` for the latter. In a flattened union every attribute
/// may be absent, so scalars are `Option`s there.
fn native_storage(ty: &TypeRef, in_union: bool) -> Option<TokenStream> {
    let scalar = |ty: &TypeRef| match ty {
        TypeRef::String => Some(quote!(String)),
        TypeRef::U64 => Some(quote!(u64)),
        TypeRef::Bool => Some(quote!(bool)),
        _ => None,
    };
    match ty {
        TypeRef::Option(inner) => scalar(inner).map(|t| quote!(Option<#t>)),
        _ if in_union => scalar(ty).map(|t| quote!(Option<#t>)),
        _ => scalar(ty),
    }
}

fn result_class(api: &Api, ty: &TypeModel) -> TokenStream {
    let sdk = format_ident!("{}", package(api));
    let ident = format_ident!("{}", ty.name);
    let pkg = package(api);
    let class = class_name(ty);
    let docs = &ty.docs;
    let in_union = ty.union.is_some();
    let attrs = attributes(api, ty);
    let discriminator = ty.union.as_ref().map(|u| format_ident!("{}", u.python_field));
    let field_idents: Vec<_> = attrs.iter().map(|(py, _, _)| format_ident!("{}", py)).collect();
    let fields = attrs.iter().map(|(py, rust, fty)| {
        let doc = ty
            .fields
            .iter()
            .chain(
                ty.union.iter().flat_map(|u| &u.variants).filter_map(|v| find_type(api, &v.ty)).flat_map(|t| &t.fields),
            )
            .find(|f| f.name == *rust && f.python_name == *py)
            .map_or_else(String::new, |f| f.docs.clone());
        let name = format_ident!("{}", py);
        let storage = native_storage(fty, in_union).unwrap_or_else(|| quote!(Py<PyAny>));
        quote!(#[doc = #doc] pub #name: #storage,)
    });
    let discriminator_field = discriminator.as_ref().map(|d| {
        let doc = format!("The kind of {}, as sent (`{}`).", class, ty.union.as_ref().map_or("", |u| &u.discriminator));
        quote!(#[doc = #doc] pub #d: String,)
    });
    let repr_fields = discriminator.iter().chain(&field_idents).map(|f| {
        let name = f.to_string();
        quote!((#name, #f))
    });
    let discriminator_repr =
        discriminator.as_ref().map(|d| quote!(let #d: &Py<PyAny> = &ToPython::to_python(self.#d.clone(), py)?;));
    let field_bindings = attrs.iter().zip(&field_idents).map(|((_, _, fty), f)| {
        let copy = matches!(fty, TypeRef::U64 | TypeRef::Bool)
            || matches!(fty, TypeRef::Option(inner) if matches!(**inner, TypeRef::U64 | TypeRef::Bool));
        match native_storage(fty, in_union) {
            Some(_) if copy => quote!(let #f: &Py<PyAny> = &ToPython::to_python(self.#f, py)?;),
            Some(_) => quote!(let #f: &Py<PyAny> = &ToPython::to_python(self.#f.clone(), py)?;),
            None => quote!(let #f = &self.#f;),
        }
    });
    // An attribute's value when the item has no such field.
    let absent = |fty: &TypeRef| match native_storage(fty, in_union) {
        Some(_) => quote!(None),
        None => quote!(py.None()),
    };
    let conversion = match &ty.union {
        None => {
            let values = attrs.iter().map(|(py, rust, fty)| {
                let py = format_ident!("{}", py);
                let rust = format_ident!("{}", rust);
                let value = match native_storage(fty, false) {
                    Some(_) => quote!(value.#rust),
                    None => to_python(api, fty, quote!(value.#rust)),
                };
                quote!(#py: #value)
            });
            quote!(#ident { #(#values),* })
        }
        Some(union) => {
            let d = discriminator.clone().expect("a union has a discriminator attribute");
            let arms = union.variants.iter().map(|variant| {
                let name = format_ident!("{}", variant.name);
                let wire = &variant.value;
                let own: Vec<&str> = find_type(api, &variant.ty)
                    .map(|t| t.fields.iter().map(|f| f.name.as_str()).collect())
                    .unwrap_or_default();
                let values = attrs.iter().map(|(py, rust, fty)| {
                    let py = format_ident!("{}", py);
                    if !own.contains(rust) {
                        let value = absent(fty);
                        return quote!(#py: #value);
                    }
                    let rust = format_ident!("{}", rust);
                    let value = match (native_storage(fty, true), fty) {
                        (Some(_), TypeRef::Option(_)) => quote!(item.#rust),
                        (Some(_), _) => quote!(Some(item.#rust)),
                        (None, _) => to_python(api, fty, quote!(item.#rust)),
                    };
                    quote!(#py: #value)
                });
                quote!(#sdk::#ident::#name(item) => #ident { #d: #wire.to_owned(), #(#values),* },)
            });
            let other = format_ident!("{}", union.other);
            let other_field = format_ident!("{}", union.other_field);
            let nones: Vec<_> = attrs
                .iter()
                .zip(&field_idents)
                .map(|((_, _, fty), f)| {
                    let value = absent(fty);
                    quote!(#f: #value)
                })
                .collect();
            // The `_` arm: a variant a newer Rust crate added, whose kind is unknown here.
            quote! {
                match value {
                    #(#arms)*
                    #sdk::#ident::#other { #other_field: other_value, .. } => #ident { #d: other_value, #(#nones),* },
                    _ => #ident { #d: String::new(), #(#nones),* },
                }
            }
        }
    };
    quote! {
        #[doc = #docs]
        #[pyclass(module = #pkg, name = #class, get_all, frozen)]
        pub struct #ident {
            #discriminator_field
            #(#fields)*
        }

        #[pymethods]
        impl #ident {
            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                #discriminator_repr
                #(#field_bindings)*
                support::convert::repr(py, #class, &[#(#repr_fields),*])
            }
        }

        impl ToPython for #sdk::#ident {
            fn to_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                let value = self;
                let class = #conversion;
                Ok(Py::new(py, class)?.into_any())
            }
        }
    }
}

/// What the Cargo.toml, pyproject and stub templates read.
fn context(api: &Api, extras: &[ExtraStubs]) -> tera::Context {
    use std::collections::BTreeMap;
    let mut context = tera::Context::new();
    context.insert("package", &package(api));
    context.insert("rust_package", &api.package);
    context.insert("version", &api.version);
    context.insert("description", &api.description);
    context.insert("client_class", &client_class(api));
    context.insert("extras", extras);
    context.insert("support_classes", crate::ir::naming::PYTHON_SUPPORT_CLASSES);
    let mut operations = Vec::new();
    let mut classes = Vec::new();
    for op in &api.operations {
        let setters: Vec<BTreeMap<&str, String>> = op
            .params
            .iter()
            .map(|p| {
                let ty = match &p.kind {
                    ParamKind::Names { .. } => "str | list[str] | tuple[str, ...]",
                    ParamKind::Name { .. } => "str",
                    ParamKind::Flag { .. } => "bool",
                    ParamKind::U32 { .. } => "int",
                    ParamKind::JsonObject { .. } => "Any",
                };
                BTreeMap::from([("name", p.name.clone()), ("type", ty.to_owned()), ("docs", one_line(&p.docs))])
            })
            .collect();
        let result = match (&op.stream, &op.result) {
            (Some(stream), _) => find_type(api, &stream.item).map_or_else(|| stream.item.clone(), class_name),
            (None, Some(result)) => find_type(api, &result.ty).map_or_else(|| result.ty.clone(), class_name),
            (None, None) => "None".to_owned(),
        };
        let mut entry = tera::Context::new();
        entry.insert("name", &op.name);
        entry.insert("builder", &op.builder);
        entry.insert("summary", &one_line(&op.summary));
        entry.insert("docs", &op.docs.as_deref().map(str::trim).unwrap_or_default());
        entry.insert("stream", &op.stream.is_some());
        entry.insert("result", &result);
        entry.insert("setters", &setters);
        operations.push(entry.into_json());
        for ty in class_types(op) {
            let mut fields: Vec<BTreeMap<&str, String>> = Vec::new();
            if let Some(union) = &ty.union {
                fields.push(BTreeMap::from([
                    ("name", union.python_field.clone()),
                    ("type", "str".to_owned()),
                    (
                        "docs",
                        format!(
                            "The kind, as sent ({}).",
                            union.variants.iter().map(|v| format!("`{}`", v.value)).collect::<Vec<_>>().join(", ")
                        ),
                    ),
                ]));
            }
            for (py, rust, fty) in attributes(api, ty) {
                // A flattened union's variant fields may be absent.
                let optional = ty.union.is_some() && !ty.fields.iter().any(|f| f.name == rust);
                let mut annotation = py_type(api, &fty);
                if (optional || ty.union.is_some()) && !annotation.ends_with("| None") {
                    annotation.push_str(" | None");
                }
                let docs = ty
                    .fields
                    .iter()
                    .chain(
                        ty.union
                            .iter()
                            .flat_map(|u| &u.variants)
                            .filter_map(|v| find_type(api, &v.ty))
                            .flat_map(|t| &t.fields),
                    )
                    .find(|f| f.name == rust)
                    .map_or_else(String::new, |f| one_line(&f.docs));
                fields.push(BTreeMap::from([("name", py.to_owned()), ("type", annotation), ("docs", docs)]));
            }
            let mut class = tera::Context::new();
            class.insert("name", &class_name(ty));
            class.insert("docs", &one_line(&ty.docs));
            class.insert("fields", &fields);
            class.insert("aliases", &ty.python_aliases);
            classes.push(class.into_json());
        }
    }
    context.insert("operations", &operations);
    context.insert("classes", &classes);
    context
}

/// Docs on one line (stubs' docstrings stay short; the spec's are prose).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace('\\', "\\\\").replace("\"\"\"", "'''")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_stubs(stubs: &[(&str, &str)]) -> PythonTemplates {
        PythonTemplates {
            templates: Vec::new(),
            support: Vec::new(),
            extras: Vec::new(),
            extra_stubs: stubs.iter().map(|(name, text)| ((*name).to_owned(), (*text).to_owned())).collect(),
        }
    }

    #[test]
    fn an_extras_stubs_give_its_classes_and_the_clients_method() {
        let text = "# Stubs.\n# client: def walk(self) -> Walk: ...\n@final\nclass Walk:\n    x: int\n\nclass Step(Walk): ...\n";
        let stubs = ExtraStubs::parse("walk", &with_stubs(&[("walk.pyi", text)])).unwrap();
        assert_eq!(stubs.classes, ["Step", "Walk"]);
        assert_eq!(stubs.client, "def walk(self) -> Walk: ...");
        assert_eq!(stubs.stubs, "@final\nclass Walk:\n    x: int\n\nclass Step(Walk): ...\n");
    }

    #[test]
    fn an_extras_class_may_not_take_a_name_the_package_exports() {
        let api = Api {
            package: "demo".into(),
            version: "0.1.0".into(),
            description: String::new(),
            docs: String::new(),
            client_name: "Demo".into(),
            client_docs: String::new(),
            operations: Vec::new(),
            inlineable: Vec::new(),
            publish: false,
        };
        let extra =
            |class: &str| ExtraStubs { classes: vec![class.to_owned()], client: String::new(), stubs: String::new() };
        assert_eq!(exported_once(&api, &[extra("Walk")]), Ok(()));
        let clash = exported_once(&api, &[extra("PNStatus")]).unwrap_err();
        assert!(clash.contains("class `PNStatus`"), "{clash}");
        assert!(exported_once(&api, &[extra("Walk"), extra("Walk")]).is_err(), "two extras, one name");
    }

    #[test]
    fn an_extra_without_stubs_or_a_client_line_is_an_error_naming_the_file() {
        let missing = ExtraStubs::parse("walk", &with_stubs(&[])).err().unwrap();
        assert_eq!(missing, "inlineable/python/extras/walk.pyi: missing (extras/walk.rs needs its type stubs)");
        let no_client = ExtraStubs::parse("walk", &with_stubs(&[("walk.pyi", "# Stubs.\nclass Walk: ...\n")]));
        assert!(no_client.err().unwrap().starts_with("inlineable/python/extras/walk.pyi: no `# client: def walk"));
    }
}

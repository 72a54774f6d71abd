//! Checks the arguments against the function.

use syn::ItemFn;

use crate::args::{CachedArgs, Errors};
use crate::params::Param;

/// The longest namespace accepted, in bytes.
const MAX_NAMESPACE: usize = 128;

/// Every problem found, combined.
pub(crate) fn check(function: &ItemFn, args: &CachedArgs, params: &[Param], errors: &mut Errors) {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "#[cached] works on `async fn` only: make this function `async fn`",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "#[cached] does not support variadic functions",
        ));
    }
    if let syn::ReturnType::Type(_, ty) = &sig.output
        && let syn::Type::Path(path) = &**ty
        && path.qself.is_none()
        && let Some(ident) = path.path.get_ident()
        && sig.generics.type_params().any(|p| p.ident == *ident)
    {
        errors.push(syn::Error::new_spanned(
            ty,
            format!(
                "#[cached] cannot tell at compile time whether `{ident}` is a `Result` or an `Option` (whose `Err` and `None` must not be cached): return a concrete shape, e.g. `Result<{ident}, E>` or `Option<{ident}>`, or `Vec<{ident}>`"
            ),
        ));
    }
    for input in &sig.inputs {
        if let syn::FnArg::Typed(typed) = input {
            hidden_bindings(&typed.pat, errors);
        }
    }
    staleness(sig, args, errors);
    if let Some(namespace) = &args.namespace
        && let Err(message) = check_namespace(&namespace.value())
    {
        errors.push(syn::Error::new_spanned(namespace, message));
    }
    for (i, name) in args.skip.iter().enumerate() {
        if args.skip[..i].iter().any(|earlier| earlier == name) {
            errors.push(syn::Error::new_spanned(
                name,
                format!("`{name}` is already in skip(...)"),
            ));
        } else if !params.iter().any(|p| p.bindings.iter().any(|b| b == name)) {
            let known: Vec<String> = params
                .iter()
                .flat_map(|p| p.bindings.iter().map(ToString::to_string))
                .collect();
            let known = if known.is_empty() {
                "the function has no arguments".to_owned()
            } else {
                format!("its arguments are: {}", known.join(", "))
            };
            errors.push(syn::Error::new_spanned(
                name,
                format!(
                    "skip(...) names `{name}`, which is not an argument of this function; {known}"
                ),
            ));
        }
    }
}

/// The staleness arguments against the function: `stale_if_error` needs a result
/// that can fail, `early_refresh` a TTL written on the function.
fn staleness(sig: &syn::Signature, args: &CachedArgs, errors: &mut Errors) {
    // `stale_if_error = 0` turns a `CACHE_STALE_IF_ERROR` default off (a panic is
    // a failure too): accepted on any function.
    if let Some(written) = args.stale_if_error.as_ref().filter(|w| w.value > 0)
        && let Some(shown) = cannot_fail(&sig.output)
    {
        errors.push(syn::Error::new_spanned(
            &written.tokens,
            format!(
                "stale_if_error has nothing to act on: this function returns `{shown}`, which has no failure; only an `Err` (a `Result`), a `None` (an `Option`) or a 5xx response (a handler) counts as a failure, plus a panic. Return `Result<{shown}, E>` or `Option<{shown}>`, or remove stale_if_error"
            ),
        ));
    }
    if let Some(written) = args.early_refresh.as_ref().filter(|w| w.value)
        && args.expire.is_none()
    {
        errors.push(syn::Error::new_spanned(
            &written.tokens,
            "early_refresh needs a known TTL (it refreshes ahead of expiry by a share of it): set `expire = N` on this function",
        ));
    }
}

/// The return type as written, when it is obviously a plain value: `()`, a tuple,
/// an array, a number, `bool`, `char`, `String` or a standard collection. Anything
/// else (`Result`, `Option`, `impl IntoResponse`, `Response`, an alias or a type of
/// the crate, which may be a `Result`) is given the benefit of the doubt.
fn cannot_fail(output: &syn::ReturnType) -> Option<String> {
    use quote::ToTokens;
    const PLAIN: &[&str] = &[
        "u8",
        "u16",
        "u32",
        "u64",
        "u128",
        "usize",
        "i8",
        "i16",
        "i32",
        "i64",
        "i128",
        "isize",
        "f32",
        "f64",
        "bool",
        "char",
        "str",
        "String",
        "Vec",
        "VecDeque",
        "HashMap",
        "HashSet",
        "BTreeMap",
        "BTreeSet",
        "BinaryHeap",
        "LinkedList",
    ];
    const STD: &[&str] = &["std", "core", "alloc", "collections", "string", "vec"];
    let ty = match output {
        syn::ReturnType::Default => return Some("()".to_owned()),
        syn::ReturnType::Type(_, ty) => ty,
    };
    let mut inner = &**ty;
    loop {
        match inner {
            syn::Type::Paren(p) => inner = &p.elem,
            syn::Type::Group(g) => inner = &g.elem,
            _ => break,
        }
    }
    let plain = match inner {
        syn::Type::Tuple(_) | syn::Type::Array(_) => true,
        syn::Type::Path(path) if path.qself.is_none() => {
            let segments = &path.path.segments;
            let leading = segments.iter().take(segments.len().saturating_sub(1));
            segments
                .last()
                .is_some_and(|last| PLAIN.iter().any(|name| last.ident == name))
                && leading
                    .map(|s| s.ident.to_string())
                    .all(|s| STD.contains(&s.as_str()))
        }
        _ => false,
    };
    plain.then(|| compact(&inner.to_token_stream().to_string()))
}

/// A type as tokens print it (`Vec < u64 >`), as people write it (`Vec<u64>`).
fn compact(tokens: &str) -> String {
    tokens
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace(" ;", ";")
        .replace("( ", "(")
        .replace(" )", ")")
        .replace("[ ", "[")
        .replace(" ]", "]")
        .replace(" :: ", "::")
        .replace("& ", "&")
}

/// A pattern whose bindings the attribute cannot see (one written by a macro) could
/// leave values out of the key: refused.
fn hidden_bindings(pat: &syn::Pat, errors: &mut Errors) {
    use syn::Pat;
    match pat {
        Pat::Macro(_) | Pat::Verbatim(_) => errors.push(syn::Error::new_spanned(
            pat,
            "#[cached] cannot see the bindings of this pattern (written by a macro), so it cannot key them: write the pattern out, or take the parameter by a name (`arg: T`) and destructure it in the body",
        )),
        Pat::Ident(p) => {
            if let Some((_, sub)) = &p.subpat {
                hidden_bindings(sub, errors);
            }
        }
        Pat::Reference(p) => hidden_bindings(&p.pat, errors),
        Pat::Paren(p) => hidden_bindings(&p.pat, errors),
        Pat::Type(p) => hidden_bindings(&p.pat, errors),
        Pat::Tuple(p) => p.elems.iter().for_each(|e| hidden_bindings(e, errors)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|e| hidden_bindings(e, errors)),
        Pat::Slice(p) => p.elems.iter().for_each(|e| hidden_bindings(e, errors)),
        Pat::Struct(p) => p.fields.iter().for_each(|f| hidden_bindings(&f.pat, errors)),
        Pat::Or(p) => p.cases.iter().for_each(|c| hidden_bindings(c, errors)),
        _ => {}
    }
}

/// A namespace is data (any characters are fine in a Redis key), but its segments
/// must be real: `user:` or `a::b` would create keys no namespace can match.
fn check_namespace(ns: &str) -> Result<(), String> {
    if ns.is_empty() {
        return Err("namespace cannot be empty: leave it out for the default namespace".into());
    }
    if ns.len() > MAX_NAMESPACE {
        return Err(format!(
            "namespace is {} bytes long; at most {MAX_NAMESPACE} are accepted",
            ns.len()
        ));
    }
    if ns.starts_with(':') || ns.ends_with(':') || ns.contains("::") {
        return Err(format!(
            "namespace {ns:?} has an empty segment: segments are separated by a single `:` (e.g. \"products:featured\")"
        ));
    }
    if let Some(c) = ns.chars().find(|c| c.is_control()) {
        return Err(format!(
            "namespace contains the control character {c:?}; use printable characters"
        ));
    }
    Ok(())
}

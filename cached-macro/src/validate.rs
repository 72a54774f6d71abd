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

//! The function's parameters: their names, their bindings, and how the body and
//! the key get them.
//!
//! A parameter is either *whole* (`self`, `id: u64`, `mut name: String`): the key
//! renders its value; or a *pattern* (`Path(id): Path<u64>`,
//! `Ctx { db, tenant }: Ctx`, `(a, b): (u32, u32)`): the signature gets a plain name
//! instead (`__cachette_arg1`), the body destructures it again (so the function
//! means the same), and the key renders each of its bindings, named after them, by
//! matching the pattern against a reference (see [`by_reference`]). So `skip(db)`
//! leaves `tenant` in the key, and `KeyContext::arg("user_id")` reads the binding
//! `user_id` of `Query(ListQ { user_id, .. })`, not the whole query.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, Pat, Signature};

/// One parameter of the cached function.
pub(crate) struct Param {
    /// How the generated code refers to the value (`id`, `self`, `__cachette_arg1`).
    pub(crate) value: TokenStream,
    /// The name a key builder reads a whole parameter by (`KeyContext::arg`); for a
    /// pattern, the name of the whole when it is keyed as one (a user).
    pub(crate) name: String,
    /// Every binding its pattern introduces (what `skip(...)` may name).
    pub(crate) bindings: Vec<Ident>,
    /// Where errors about it point: its name.
    pub(crate) span: Span,
    /// `let <pattern> = <value>;` to run first inside the body, for destructuring
    /// patterns that the signature had to replace by a plain name.
    pub(crate) destructure: Option<TokenStream>,
    /// For a destructuring pattern: the same pattern, rewritten to match a reference
    /// to the value (every binding becomes a reference), for the key; and whether
    /// the value must be borrowed for it (not when the parameter is a shared
    /// reference already, `&(x, y): &(u32, u32)`).
    pub(crate) by_reference: Option<(Pat, bool)>,
}

/// Reads the parameters, replacing destructuring patterns in `sig` by plain names
/// (the body destructures them again, so the function means the same).
pub(crate) fn collect(sig: &mut Signature) -> Vec<Param> {
    let mut out = Vec::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                let self_token = &receiver.self_token;
                out.push(Param {
                    value: quote!(#self_token),
                    name: "self".to_owned(),
                    bindings: vec![Ident::new("self", self_token.span)],
                    span: self_token.span,
                    destructure: None,
                    by_reference: None,
                });
            }
            FnArg::Typed(typed) => {
                // Errors about the argument point at its name (one token, so the
                // whole name is underlined on stable Rust too).
                let span = typed.pat.span();
                match &*typed.pat {
                    Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => {
                        let ident = &p.ident;
                        out.push(Param {
                            value: quote!(#ident),
                            name: ident.unraw_string(),
                            bindings: vec![ident.clone()],
                            span,
                            destructure: None,
                            by_reference: None,
                        });
                    }
                    pat => {
                        let mut bindings = Vec::new();
                        collect_bindings(pat, &mut bindings);
                        let renamed = format_ident!("__cachette_arg{}", index);
                        let destructure = Some(quote!(let #pat = #renamed;));
                        // A shared reference is matched as it is: borrowing it again
                        // would be a needless borrow (and a clippy warning at the
                        // user's `&`). `&mut` is borrowed: matching it would move it.
                        let borrow = !matches!(pat, Pat::Reference(r) if r.mutability.is_none());
                        let by_reference = (by_reference(pat), borrow);
                        *typed.pat = syn::parse_quote!(#renamed);
                        out.push(Param {
                            value: quote!(#renamed),
                            name: format!("arg{index}"),
                            bindings,
                            span,
                            destructure,
                            by_reference: Some(by_reference),
                        });
                    }
                }
            }
        }
    }
    out
}

trait UnrawString {
    fn unraw_string(&self) -> String;
}

impl UnrawString for Ident {
    fn unraw_string(&self) -> String {
        let s = self.to_string();
        s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
    }
}

/// The name a binding is read by in `KeyContext::arg` (`r#type` is `type`).
pub(crate) fn binding_name(ident: &Ident) -> String {
    ident.unraw_string()
}

fn collect_bindings(pat: &Pat, out: &mut Vec<Ident>) {
    match pat {
        Pat::Ident(p) => {
            out.push(p.ident.clone());
            if let Some((_, sub)) = &p.subpat {
                collect_bindings(sub, out);
            }
        }
        Pat::Reference(p) => collect_bindings(&p.pat, out),
        Pat::Paren(p) => collect_bindings(&p.pat, out),
        Pat::Tuple(p) => p.elems.iter().for_each(|e| collect_bindings(e, out)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|e| collect_bindings(e, out)),
        Pat::Slice(p) => p.elems.iter().for_each(|e| collect_bindings(e, out)),
        Pat::Struct(p) => p.fields.iter().for_each(|f| collect_bindings(&f.pat, out)),
        Pat::Or(p) => {
            if let Some(first) = p.cases.first() {
                collect_bindings(first, out);
            }
        }
        Pat::Type(p) => collect_bindings(&p.pat, out),
        _ => {}
    }
}

/// `pat` rewritten to match `&value` without moving anything out of it: binding
/// modes (`ref`, `ref mut`, `mut`) and reference patterns (`&x`) are removed, so
/// default binding modes bind every name by reference, in every edition (Rust 2024
/// refuses explicit binding modes and `&` under a by-reference default mode).
fn by_reference(pat: &Pat) -> Pat {
    let mut pat = pat.clone();
    strip(&mut pat);
    pat
}

fn strip(pat: &mut Pat) {
    match pat {
        Pat::Ident(p) => {
            p.by_ref = None;
            p.mutability = None;
            if let Some((_, sub)) = &mut p.subpat {
                strip(sub);
            }
        }
        Pat::Reference(p) => {
            let mut inner = (*p.pat).clone();
            strip(&mut inner);
            *pat = inner;
        }
        Pat::Paren(p) => strip(&mut p.pat),
        Pat::Tuple(p) => p.elems.iter_mut().for_each(strip),
        Pat::TupleStruct(p) => p.elems.iter_mut().for_each(strip),
        Pat::Slice(p) => p.elems.iter_mut().for_each(strip),
        Pat::Struct(p) => p.fields.iter_mut().for_each(|f| strip(&mut f.pat)),
        Pat::Or(p) => p.cases.iter_mut().for_each(strip),
        Pat::Type(p) => strip(&mut p.pat),
        _ => {}
    }
}

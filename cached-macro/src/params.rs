//! The function's parameters: their names, and how the body gets them back.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, Pat, Signature};

/// One parameter of the cached function.
pub(crate) struct Param {
    /// How the generated code refers to the value (`id`, `self`, `__cachette_arg1`).
    pub(crate) value: TokenStream,
    /// The name a key builder reads it by (`KeyContext::arg`).
    pub(crate) name: String,
    /// Every binding its pattern introduces (what `skip(...)` may name).
    pub(crate) bindings: Vec<Ident>,
    /// Where errors about it point: its name.
    pub(crate) span: Span,
    /// `let <pattern> = <value>;` to run first inside the body, for destructuring
    /// patterns that the signature had to replace by a plain name.
    pub(crate) destructure: Option<TokenStream>,
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
                        });
                    }
                    pat => {
                        let mut bindings = Vec::new();
                        collect_bindings(pat, &mut bindings);
                        let name = match bindings.as_slice() {
                            [one] => one.unraw_string(),
                            _ => format!("arg{index}"),
                        };
                        let renamed = format_ident!("__cachette_arg{}", index);
                        let destructure = Some(quote!(let #pat = #renamed;));
                        *typed.pat = syn::parse_quote!(#renamed);
                        out.push(Param {
                            value: quote!(#renamed),
                            name,
                            bindings,
                            span,
                            destructure,
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

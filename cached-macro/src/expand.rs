//! Generating the cached function.
//!
//! ```text
//! #[cached(expire = 60, namespace = "user", skip(db))]
//! async fn get_user(Ctx { db, tenant }: Ctx, id: u64) -> Result<User, Error> { body }
//! ```
//! becomes, in essence,
//! ```text
//! async fn get_user(__cachette_arg0: Ctx, id: u64) -> Result<User, Error> {
//!     static __CACHETTE_SPEC: Spec = Spec::new("user", "get_user", module_path!(), Some(60), None, false);
//!     let __cachette_args = if active() {
//!         cold(|| {
//!             // The function's path as called: `Self`, trait and generic arguments
//!             // included (see `key::function` in the runtime).
//!             let mut args = KeyArgs::new(function_path(&|| ()));
//!             // A pattern: each binding not skipped, matched by reference.
//!             let Ctx { db, tenant } = &__cachette_arg0;
//!             key_binding(.., |args| KeyProbe(tenant).key_arg(args, "tenant"));
//!             KeyProbe(&id).key_arg(&mut args, "id");
//!             Some(Box::new(args))
//!         })
//!     } else {
//!         None
//!     };
//!     let __cachette_fut = async move { let Ctx { db, tenant } = __cachette_arg0; body };
//!     match __cachette_args {
//!         None => __cachette_fut.await,                  // disabled: one atomic load
//!         Some(args) => cached(&__CACHETTE_SPEC, args, strategy, put, __cachette_fut).await,
//!     }
//! }
//! ```
//!
//! `strategy` (what the return type stores) and `put` (whether the stored value may be
//! held across the store's await) are picked by type through the runtime's `probe`
//! module.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType, Type};

use crate::args::{self, CachedArgs, Errors, Expire};
use crate::params::{self, Param};
use crate::validate;

/// The whole expansion; on error, the errors plus the untouched function.
pub(crate) fn cached(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut function: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let span = first_token_after_attributes(&item);
            let error = syn::Error::new(
                span,
                "#[cached] goes on an `async fn` with a body (a free function or a method)",
            );
            let mut out = error.to_compile_error();
            out.extend(item);
            return out;
        }
    };
    let mut errors = Errors::default();
    let args = match args::parse(attr) {
        Ok(args) => Some(args),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let original = function.clone();
    let params = params::collect(&mut function.sig);
    if let Some(args) = &args {
        validate::check(&original, args, &params, &mut errors);
    } else if original.sig.asyncness.is_none() {
        validate::check(&original, &CachedArgs::default(), &params, &mut errors);
    }
    match (errors.finish(()), args) {
        (Ok(()), Some(args)) => generate(function, &args, &params),
        (result, _) => {
            let mut out = original.into_token_stream();
            if let Err(e) = result {
                out.extend(e.to_compile_error());
            }
            out
        }
    }
}

/// Where to point when the item is not a function: its first token after its
/// attributes (`struct`, `pub`, `fn`...).
fn first_token_after_attributes(item: &TokenStream) -> Span {
    let mut tokens = item.clone().into_iter();
    while let Some(token) = tokens.next() {
        match token {
            proc_macro2::TokenTree::Punct(p) if p.as_char() == '#' => {
                tokens.next();
            }
            other => return other.span(),
        }
    }
    Span::call_site()
}

fn generate(mut function: ItemFn, args: &CachedArgs, params: &[Param]) -> TokenStream {
    let spec = spec(&function, args);
    let key_args = key_args(args, params);
    let destructure = params.iter().filter_map(|p| p.destructure.as_ref());
    // The body's statements, not its block: `async move { { expr } }` would warn
    // (`unused_braces`) on a one-line body, at the user's braces.
    let body = &function.block.stmts;
    let (ret_span, fake_return) = match &function.sig.output {
        ReturnType::Default => {
            let span = function.sig.ident.span();
            (span, fake_return(&quote!(()), span))
        }
        ReturnType::Type(_, ty) if contains_impl_trait(ty) => (ty.span(), TokenStream::new()),
        ReturnType::Type(_, ty) => (ty.span(), fake_return(&ty.to_token_stream(), ty.span())),
    };
    let impl_trait =
        matches!(&function.sig.output, ReturnType::Type(_, ty) if contains_impl_trait(ty));
    let strategy = if impl_trait {
        // `-> impl IntoResponse`: callers can only use the value as a response, so it
        // is cached as one, whatever the concrete type behind it.
        quote_spanned! {ret_span=>
            ::cachette::__private::http_strategy(&__cachette_fut)
        }
    } else {
        quote_spanned! {ret_span=>
            {
                #[allow(unused_imports)]
                use ::cachette::__private::{
                    ReturnBorrowed as _, ReturnHttp as _, ReturnNone as _, ReturnOption as _,
                    ReturnResult as _, ReturnResultOption as _, ReturnValue as _,
                };
                (&&&&&&::cachette::__private::ReturnProbe::of(&__cachette_fut)).__cachette_strategy()
            }
        }
    };
    let run = quote_spanned! {ret_span=>
        {
            let __cachette_strategy =
                ::cachette::__private::check_strategy(&__cachette_fut, #strategy);
            // Whether what is stored may be held across the store's await (it is
            // `Send`), or the store finishes in the background, so that a `Send`
            // body keeps the function's future `Send` (see `probe::PutProbe`).
            let __cachette_put = {
                #[allow(unused_imports)]
                use ::cachette::__private::{PutAwait as _, PutSpawn as _};
                (&&::cachette::__private::PutProbe::of(&__cachette_strategy)).__cachette_put()
            };
            ::cachette::__private::cached(
                &__CACHETTE_SPEC,
                __cachette_args,
                __cachette_strategy,
                __cachette_put,
                __cachette_fut,
            )
            .await
        }
    };
    let new_body = quote! {
        {
            #spec
            let __cachette_args = if ::cachette::__private::active() {
                ::cachette::__private::cold(|| { #key_args })
            } else {
                ::core::option::Option::None
            };
            let __cachette_fut = async move {
                #(#destructure)*
                #fake_return
                #(#body)*
            };
            if let ::core::option::Option::Some(__cachette_args) = __cachette_args {
                #run
            } else {
                __cachette_fut.await
            }
        }
    };
    function.block = Box::new(syn::parse2(new_body).unwrap_or_else(|e| syn::Block {
        brace_token: Default::default(),
        stmts: vec![syn::Stmt::Expr(
            syn::Expr::Verbatim(e.to_compile_error()),
            None,
        )],
    }));
    function.into_token_stream()
}

/// tracing-attributes' "fake return edge": makes the async block's type the declared
/// return type, so type errors in the body point at it.
fn fake_return(ty: &TokenStream, span: Span) -> TokenStream {
    quote_spanned! {span=>
        #[allow(
            unknown_lints, unreachable_code, clippy::diverging_sub_expression,
            clippy::empty_loop, clippy::let_unit_value, clippy::let_with_type_underscore,
            clippy::needless_return, clippy::unreachable
        )]
        if false {
            let __cachette_ret: #ty = loop {};
            return __cachette_ret;
        }
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    syn::visit::Visit::visit_type(&mut finder, ty);
    finder.0
}

fn spec(function: &ItemFn, args: &CachedArgs) -> TokenStream {
    let name = function.sig.ident.to_string();
    let name = name.strip_prefix("r#").unwrap_or(&name);
    let namespace = args
        .namespace
        .as_ref()
        .map(|ns| ns.to_token_stream())
        .unwrap_or_else(|| quote!(""));
    let max = args::MAX_EXPIRE;
    let (expire, expire_check) = match &args.expire {
        None => (quote!(::core::option::Option::None), TokenStream::new()),
        Some(Expire::Seconds(s)) => (quote!(::core::option::Option::Some(#s)), TokenStream::new()),
        Some(Expire::Const(path)) => (
            quote_spanned!(path.span()=> ::core::option::Option::Some(#path)),
            quote_spanned! {path.span()=>
                const _: () = ::core::assert!(
                    #path > 0 && #path <= #max,
                    "expire must be from 1 second to one year",
                );
            },
        ),
    };
    let key_builder = match &args.key_builder {
        None => quote!(::core::option::Option::None),
        Some(path) => {
            let call = quote_spanned!(path.span()=> ::cachette::__private::into_key(#path(__cx)));
            quote! {
                ::core::option::Option::Some(
                    |__cx: &::cachette::__private::KeyContext<'_>| -> ::core::option::Option<::std::string::String> {
                        #call
                    }
                )
            }
        }
    };
    let shared = args.shared;
    quote! {
        #expire_check
        static __CACHETTE_SPEC: ::cachette::__private::Spec = ::cachette::__private::Spec::new(
            #namespace,
            #name,
            ::core::module_path!(),
            #expire,
            #key_builder,
            #shared,
        );
    }
}

fn key_args(args: &CachedArgs, params: &[Param]) -> TokenStream {
    let skipped = |ident: &syn::Ident| args.skip.contains(ident);
    let pushes = params.iter().map(|p| {
        let value = &p.value;
        match &p.by_reference {
            // A whole parameter: its value, unless skipped.
            None if p.bindings.iter().any(skipped) => TokenStream::new(),
            None => {
                let name = &p.name;
                quote_spanned! {p.span=>
                    ::cachette::__private::check_key_arg(
                        (&&&&&&::cachette::__private::KeyProbe(&#value))
                            .__cachette_key_arg(&mut __cachette_args, #name),
                    );
                }
            }
            // A pattern: each binding that is not skipped, by its own name; what the
            // whole is (a user, `State`, a `Path`/`Query`) decides how (see
            // `probe::PatternProbe`).
            Some(by_reference) => {
                let kept: Vec<_> = p.bindings.iter().filter(|b| !skipped(b)).collect();
                if kept.is_empty() {
                    return TokenStream::new();
                }
                let name = &p.name;
                let bindings = kept.iter().map(|binding| {
                    let binding_name = params::binding_name(binding);
                    quote_spanned! {binding.span()=>
                        ::cachette::__private::key_binding(
                            &__cachette_mode,
                            &mut __cachette_args,
                            |__cachette_args| {
                                (&&&&&&::cachette::__private::KeyProbe(#binding))
                                    .__cachette_key_arg(__cachette_args, #binding_name)
                            },
                        );
                    }
                });
                quote_spanned! {p.span=>
                    {
                        let __cachette_mode = (&&&::cachette::__private::PatternProbe(&#value))
                            .__cachette_pattern(&mut __cachette_args, #name);
                        #[allow(unused_variables, clippy::unused_unit)]
                        let #by_reference = &#value;
                        #(#bindings)*
                    }
                }
            }
        }
    });
    quote! {
        #[allow(unused_imports)]
        use ::cachette::__private::{
            ArgInnerValue as _, ArgNone as _, ArgOptionalUser as _, ArgSpecial as _,
            ArgUser as _, ArgValue as _, PatternDefault as _, PatternRuleProbe as _,
            PatternUserRule as _,
        };
        #[allow(unused_mut)]
        let mut __cachette_args = ::cachette::__private::KeyArgs::new(
            ::cachette::__private::function_path(&|| ()),
        );
        #(#pushes)*
        ::core::option::Option::Some(::std::boxed::Box::new(__cachette_args))
    }
}

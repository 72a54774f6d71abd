//! Generating the cached function.
//!
//! ```text
//! #[cached(expire = 60, namespace = "user", skip(db))]
//! async fn get_user(Ctx { db, tenant }: Ctx, id: u64) -> Result<User, Error> { body }
//! ```
//! becomes, in essence,
//! ```text
//! async fn get_user(__cachette_arg0: Ctx, id: u64) -> Result<User, Error> {
//!     static __CACHETTE_SPEC: Spec =
//!         Spec::new("user", "get_user", module_path!(), Some(60), None, false, 0x5eed /* definition */)
//!             /* .with_near(..), .with_stale_while_revalidate(N), ...: the arguments given */;
//!     let __cachette_args = if active() {
//!         cold(|| {
//!             // The function's path as called: `Self`, trait and generic arguments
//!             // included (see `key::function` in the runtime).
//!             let mut args = KeyArgs::new(function_path(&|| ()));
//!             // A pattern: each binding not skipped, matched by reference.
//!             let Ctx { db, tenant } = &__cachette_arg0;
//!             key_binding(.., |args| key_ladder(KeyProbe(tenant)).key_arg(args, "tenant"));
//!             key_ladder(KeyProbe(&id)).key_arg(&mut args, "id");
//!             Some(args)
//!         })
//!     } else {
//!         None
//!     };
//!     let __cachette_fut = async move { let Ctx { db, tenant } = __cachette_arg0; body };
//!     match __cachette_args {
//!         None => __cachette_fut.await,                  // disabled: one atomic load
//!         Some(args) => {
//!             // A hit the store holds in memory is answered here, never awaited.
//!             // `NoSpawn`, or with `stale_while_revalidate = N` / `early_refresh =
//!             // true`: `spawnable(&fut)`, an error on that argument unless the
//!             // future is `Send + 'static` (see `spawn`).
//!             let run = match cached(&__CACHETTE_SPEC, args, strategy, put, spawn, __cachette_fut) {
//!                 Ok(hit) => return hit,
//!                 Err(run) => run,
//!             };
//!             run.await
//!         }
//!     }
//! }
//! ```
//!
//! `strategy` (what the return type stores) and `put` (whether the stored value may be
//! held across the store's await) are picked by type through the runtime's `probe`
//! ladders (`return_ladder`, `put_ladder`, `key_ladder`, `pattern_ladder`, each with
//! its traits glob-imported): the order of the rungs lives only there.
//!
//! Every path starts at `{root}::__private`, the root being `::cachette` or the
//! attribute's `crate = "..."` (see `CachedArgs::private`).

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, ItemFn, ReturnType, Type};

use crate::args::{self, CachedArgs, CoderArg, Errors, Expire};
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
    let private = args.private(Span::call_site());
    let key = local("__cachette_args");
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
    // One token per variable, used at every occurrence (see `local`): errors about
    // the return type point at it.
    let fut = Ident::new("__cachette_fut", ret_span);
    let spec_static = Ident::new("__CACHETTE_SPEC", ret_span);
    let spec = spec(&function, args, &spec_static);
    // Paths in code that stands for the return type: spanned at it.
    let private_ret = args.private(ret_span);
    let impl_trait =
        matches!(&function.sig.output, ReturnType::Type(_, ty) if contains_impl_trait(ty));
    let strategy = if impl_trait {
        // `-> impl IntoResponse`: callers can only use the value as a response, so it
        // is cached as one, whatever the concrete type behind it.
        quote_spanned! {ret_span=>
            #private_ret::http_strategy(&#fut)
        }
    } else {
        // The runtime's return ladder picks the strategy (see `probe` there: the
        // order of its rungs lives only there).
        quote_spanned! {ret_span=>
            {
                #[allow(unused_imports)]
                use #private_ret::return_rungs::*;
                #private_ret::return_ladder(#private_ret::ReturnProbe::of(&#fut)).__cachette_strategy()
            }
        }
    };
    let spawn_var = Ident::new("__cachette_spawn", ret_span);
    // The entry's bounds include the spawn mode's (`'static` for a future that may
    // run in the background): spanned at the argument that asks for it, if any, so
    // that a borrowing future is reported there.
    let entry_span = args
        .spawn_requested_at()
        .map_or(ret_span, |name| name.span());
    let private_entry = args.private(entry_span);
    // Spanned at the return type, as `fut` (one token each, see `local`): the
    // entry's bounds on them repeat `check_strategy`'s, and an error there must
    // point where that one does, so that the compiler reports it once.
    let strategy_var = Ident::new("__cachette_strategy", ret_span);
    let put_var = Ident::new("__cachette_put", ret_span);
    let (bind_spawn, handed) = spawn(args, &fut, &spawn_var, ret_span);
    let entry_call = quote_spanned! {entry_span=>
        #private_entry::cached(
            &#spec_static,
            #key,
            #strategy_var,
            #put_var,
            #spawn_var,
            #handed,
        )
    };
    // Whether the output may be held across an await (`stale_if_error`'s check
    // of its fallback on Redis): by type, except for `impl Trait`, whose auto
    // traits are not known inside the function that defines it.
    let output_mode = if impl_trait {
        quote_spanned!(ret_span=> #private_ret::SpawnPut)
    } else {
        quote_spanned!(ret_span=> #private_ret::put_ladder(#private_ret::PutProbe::output_of(&#fut)).__cachette_put())
    };
    let run = quote_spanned! {ret_span=>
        {
            let #strategy_var = #private_ret::check_strategy(&#fut, #strategy);
            // Whether what is stored may be held across the store's await (it is
            // `Send`), or the store finishes in the background, so that a `Send`
            // body keeps the function's future `Send` (see `probe::PutProbe`).
            let #put_var = {
                #[allow(unused_imports)]
                use #private_ret::put_rungs::*;
                (
                    #private_ret::put_ladder(#private_ret::PutProbe::of(&#strategy_var)).__cachette_put(),
                    #output_mode,
                )
            };
            // Whether a refresh may run the future in a task of its own (see `spawn`).
            #bind_spawn
            // A hit the store answered at once is returned as it is, never held
            // across an await; any other call awaits the runtime's future.
            let __cachette_run = match #entry_call {
                ::core::result::Result::Ok(__cachette_hit) => return __cachette_hit,
                ::core::result::Result::Err(__cachette_run) => __cachette_run,
            };
            __cachette_run.await
        }
    };
    let root_alias = args.root_alias();
    let new_body = quote! {
        {
            #root_alias
            #spec
            let #key = if #private::active() {
                #private::cold(|| { #key_args })
            } else {
                ::core::option::Option::None
            };
            let #fut = async move {
                #(#destructure)*
                #fake_return
                #(#body)*
            };
            if let ::core::option::Option::Some(#key) = #key {
                #run
            } else {
                #fut.await
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

/// The spawn mode: whether a refresh may run the call's future in a task of its own.
/// Returns the statement that binds it to `spawn_var`, and the future to hand to the
/// runtime.
///
/// - `stale_while_revalidate = N` (N > 0) or `early_refresh = true` written: the
///   future must be `Send + 'static` (`spawnable`), an error spanned at that
///   argument otherwise. The future is moved into a variable spelled at the
///   argument first, so that a borrow that cannot outlive the call (a `&str`
///   argument) is reported there, not at the return type.
/// - Else `NoSpawn`: a refresh that a `CACHE_STALE_WHILE_REVALIDATE` default makes
///   due runs in the call that finds it. The runtime's spawn ladder cannot decide
///   here: an async block's auto traits are not known while the function that
///   defines it is type-checked, so the ladder's `Send` rung is taken for every
///   future, and a body holding an `Rc` across an await would stop compiling.
fn spawn(
    args: &CachedArgs,
    fut: &Ident,
    spawn_var: &Ident,
    ret_span: Span,
) -> (TokenStream, TokenStream) {
    match args.spawn_requested_at() {
        Some(name) => {
            let span = name.span();
            let private = args.private(span);
            let refreshable = Ident::new("__cachette_refreshable", span);
            let bind = quote_spanned! {span=>
                let #refreshable = #fut;
                let #spawn_var = #private::spawnable(&#refreshable);
            };
            (bind, refreshable.into_token_stream())
        }
        None => {
            let private = args.private(ret_span);
            let bind = quote_spanned!(ret_span=> let #spawn_var = #private::NoSpawn;);
            (bind, fut.into_token_stream())
        }
    }
}

/// A local variable of the expansion, with call-site hygiene.
///
/// Hygiene rule of this module: a variable is one token, used at every occurrence.
/// `quote_spanned!` gives its tokens the user's spans (so errors point at the user's
/// code), and a user token from a `macro_rules!` expansion carries that macro's
/// hygiene: a variable spelled once under `quote!` and once under `quote_spanned!`
/// would be two variables there. A variable used only inside one `quote_spanned!`
/// may be spelled there.
fn local(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
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

/// A fingerprint of the function's definition: FNV-1a (64 bits) of its signature and
/// body as tokens (attributes and comments aside). Two functions whose paths print
/// alike (same name in two blocks of one function, or in two `const _` blocks) but
/// whose code differs never read each other's values; and a function whose code
/// changed does not read what its former code stored.
fn definition(function: &ItemFn) -> u64 {
    let text = format!(
        "{} {}",
        function.sig.to_token_stream(),
        function.block.to_token_stream()
    );
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
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

fn spec(function: &ItemFn, args: &CachedArgs, spec_static: &Ident) -> TokenStream {
    let private = args.private(Span::call_site());
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
            let private = args.private(path.span());
            // The closure's parameter is spelled where it is used, in one span.
            quote_spanned! {path.span()=>
                ::core::option::Option::Some(
                    |__cx: &#private::KeyContext<'_>| -> ::core::option::Option<::std::string::String> {
                        #private::into_key(#path(__cx))
                    }
                )
            }
        }
    };
    let shared = args.shared;
    let near = args.near.map(|near| quote!(.with_near(#near)));
    let typed = args.typed.map(|typed| quote!(.with_typed(#typed)));
    let lock = args.lock.map(|lock| quote!(.with_lock(#lock)));
    let coder = args.coder.as_ref().map(|coder| match coder {
        CoderArg::MsgPack => quote!(.with_coder(#private::Coder::MsgPack)),
        CoderArg::Json => quote!(.with_coder(#private::Coder::Json)),
        // Spanned at the path: a static that does not implement `CustomCoder`
        // is an error there.
        CoderArg::Custom(path) => {
            let private = args.private(path.span());
            quote_spanned!(path.span()=> .with_coder(#private::Coder::Custom(&#path)))
        }
    });
    let stale_while_revalidate = args.stale_while_revalidate.as_ref().map(|written| {
        let seconds = written.value;
        quote!(.with_stale_while_revalidate(#seconds))
    });
    let stale_if_error = args.stale_if_error.as_ref().map(|written| {
        let seconds = written.value;
        quote!(.with_stale_if_error(#seconds))
    });
    let early_refresh = args.early_refresh.as_ref().map(|written| {
        let early = written.value;
        quote!(.with_early_refresh(#early))
    });
    let definition = definition(function);
    quote! {
        #expire_check
        static #spec_static: #private::Spec = #private::Spec::new(
            #namespace,
            #name,
            ::core::module_path!(),
            #expire,
            #key_builder,
            #shared,
            #definition,
        )#near #typed #lock #coder #stale_while_revalidate #stale_if_error #early_refresh;
    }
}

fn key_args(args: &CachedArgs, params: &[Param]) -> TokenStream {
    let private = args.private(Span::call_site());
    let (key, mode) = (local("__cachette_args"), local("__cachette_mode"));
    let skipped = |ident: &syn::Ident| args.skip.contains(ident);
    let pushes = params.iter().map(|p| {
        let value = &p.value;
        match &p.by_reference {
            // A whole parameter: its value, unless skipped.
            None if p.bindings.iter().any(skipped) => TokenStream::new(),
            None => {
                let name = &p.name;
                let private = args.private(p.span);
                quote_spanned! {p.span=>
                    #private::check_key_arg(
                        #private::key_ladder(#private::KeyProbe(&#value))
                            .__cachette_key_arg(&mut #key, #name),
                    );
                }
            }
            // A pattern: each binding that is not skipped, by its own name; what the
            // whole is (a user, `State`, a `Path`/`Query`) decides how (see
            // `probe::PatternProbe`).
            Some((by_reference, borrow)) => {
                let kept: Vec<_> = p.bindings.iter().filter(|b| !skipped(b)).collect();
                if kept.is_empty() {
                    return TokenStream::new();
                }
                let name = &p.name;
                let private_whole = args.private(p.span);
                let borrowed = if *borrow {
                    quote_spanned!(p.span=> &#value)
                } else {
                    quote_spanned!(p.span=> #value)
                };
                let bindings = kept.iter().map(|binding| {
                    let binding_name = params::binding_name(binding);
                    let private = args.private(binding.span());
                    quote_spanned! {binding.span()=>
                        #private::key_binding(
                            &#mode,
                            &mut #key,
                            |__cachette_binding_args, __cachette_binding_mode| {
                                #private::check_binding(
                                    __cachette_binding_mode,
                                    #private::key_ladder(#private::KeyProbe(#binding))
                                        .__cachette_key_arg(__cachette_binding_args, #binding_name),
                                );
                            },
                        );
                    }
                });
                quote_spanned! {p.span=>
                    {
                        let #mode = #private_whole::pattern_ladder(#private_whole::PatternProbe(&#value))
                            .__cachette_pattern(&mut #key, #name);
                        #[allow(unused_variables, clippy::unused_unit)]
                        let #by_reference = #borrowed;
                        #(#bindings)*
                    }
                }
            }
        }
    });
    quote! {
        #[allow(unused_imports)]
        use #private::key_rungs::*;
        #[allow(unused_imports)]
        use #private::pattern_rungs::*;
        #[allow(unused_mut)]
        let mut #key = #private::KeyArgs::new(
            #private::function_path(&|| ()),
        );
        #(#pushes)*
        ::core::option::Option::Some(#key)
    }
}

//! Parsing `#[cached(...)]`'s arguments into [`CachedArgs`].

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Meta, Path, Token};

/// The longest `expire` accepted: one year, in seconds.
pub(crate) const MAX_EXPIRE: u64 = 365 * 24 * 3600;

/// `expire = ...`: a literal, checked here, or a path to a `u64` constant, checked by
/// the compiler.
pub(crate) enum Expire {
    Seconds(u64),
    Const(Path),
}

/// A staleness argument's value (`stale_while_revalidate = 30`, `early_refresh =
/// true`) with the tokens it was written as (`name = value`), where errors about it
/// point: a check against the function, or a future that cannot run in the
/// background.
pub(crate) struct Written<T> {
    pub(crate) value: T,
    /// The argument's name: one token, so that an error spanned at it underlines
    /// the name on stable Rust too.
    pub(crate) name: Ident,
    /// The whole argument, `name = value`.
    pub(crate) tokens: TokenStream,
}

/// `coder = ...`: a built-in coder, or the path of a `static` implementing
/// `cachette::CustomCoder`.
pub(crate) enum CoderArg {
    MsgPack,
    Json,
    Custom(Path),
}

/// The parsed arguments.
#[derive(Default)]
pub(crate) struct CachedArgs {
    pub(crate) expire: Option<Expire>,
    pub(crate) namespace: Option<LitStr>,
    pub(crate) key_builder: Option<Path>,
    pub(crate) skip: Vec<Ident>,
    pub(crate) shared: bool,
    /// `near = true|false`: serve hits from the process's near cache (Redis mode),
    /// or keep them strict, whatever `REDIS_NEAR_CACHE` says.
    pub(crate) near: Option<bool>,
    /// `typed = false`: hits decode the stored bytes instead of cloning a kept
    /// value (for return types whose `Clone` shares state, e.g. `Arc<Mutex<_>>`).
    pub(crate) typed: Option<bool>,
    /// `lock = true|false`: whether concurrent misses across processes sharing the
    /// Redis compute once, whatever `REDIS_DISTRIBUTED_LOCK` says.
    pub(crate) lock: Option<bool>,
    /// `coder = msgpack|json|path::TO_STATIC`: what values are written with,
    /// whatever `CACHE_CODER` says.
    pub(crate) coder: Option<CoderArg>,
    /// `crate = "path"`: where the generated code finds cachette.
    pub(crate) krate: Option<Path>,
    /// `stale_while_revalidate = N`: for N seconds after expiry, a call gets the
    /// expired value at once while one refresh runs in the background, whatever
    /// `CACHE_STALE_WHILE_REVALIDATE` says (0: never).
    pub(crate) stale_while_revalidate: Option<Written<u64>>,
    /// `stale_if_error = N`: for N seconds after expiry, a failed recomputation
    /// returns the expired value, whatever `CACHE_STALE_IF_ERROR` says (0: never).
    pub(crate) stale_if_error: Option<Written<u64>>,
    /// `early_refresh = true|false`: XFetch, a hit before expiry may start one
    /// background refresh.
    pub(crate) early_refresh: Option<Written<bool>>,
}

impl CachedArgs {
    /// `{root}::__private`, where the generated code finds the runtime: the root is
    /// `::cachette`, or the alias [`CachedArgs::root_alias`] makes of `crate = "..."`.
    /// Every token gets `span`, so that an error about a generated call points at the
    /// user's code it stands for (the argument, the return type), not at the
    /// attribute.
    pub(crate) fn private(&self, span: Span) -> TokenStream {
        let root = match &self.krate {
            Some(_) => quote!(__cachette_root),
            None => quote!(::cachette),
        };
        quote!(#root::__private)
            .into_iter()
            .map(|mut token| {
                token.set_span(span);
                token
            })
            .collect()
    }

    /// The argument that makes the call's future run in the background, when one
    /// does: `stale_while_revalidate = N` with N > 0, else `early_refresh = true`.
    /// Its name is where an error points when the future cannot be spawned.
    pub(crate) fn spawn_requested_at(&self) -> Option<&Ident> {
        let window = self
            .stale_while_revalidate
            .as_ref()
            .filter(|written| written.value > 0);
        let early = self.early_refresh.as_ref().filter(|written| written.value);
        window.map(|w| &w.name).or_else(|| early.map(|e| &e.name))
    }

    /// For `crate = "path"`: `use path as __cachette_root;`, spanned at the string,
    /// so that a path that does not resolve is one error, on the string (rustc
    /// reports a failed import once and not at each use of its name).
    pub(crate) fn root_alias(&self) -> TokenStream {
        match &self.krate {
            Some(path) => quote!(use #path as __cachette_root;),
            None => TokenStream::new(),
        }
    }
}

/// What the attribute accepts, for error messages.
const ACCEPTED: &str = "#[cached] accepts `expire = <seconds>`, `namespace = \"...\"`, `key_builder = path::to::fn`, `skip(arg, ...)`, `shared`, `near = true|false`, `typed = true|false`, `lock = true|false`, `coder = msgpack|json|path::TO_STATIC`, `stale_while_revalidate = <seconds>`, `stale_if_error = <seconds>`, `early_refresh = true|false` and `crate = \"path::to::cachette\"`";

/// Parses `args`, collecting every error rather than stopping at the first.
pub(crate) fn parse(tokens: proc_macro2::TokenStream) -> Result<CachedArgs, syn::Error> {
    let metas: Punctuated<Meta, Token![,]> =
        syn::parse::Parser::parse2(Punctuated::parse_terminated, tokens)?;
    let mut out = CachedArgs::default();
    let mut errors = Errors::default();
    let mut seen: Vec<(String, Span)> = Vec::new();
    for meta in metas {
        let Some(name) = meta.path().get_ident().map(Ident::unraw) else {
            errors.push(syn::Error::new_spanned(
                meta.path(),
                format!("unknown argument; {ACCEPTED}"),
            ));
            continue;
        };
        let key = name.to_string();
        if seen.iter().any(|(k, _)| *k == key) {
            errors.push(syn::Error::new_spanned(
                meta.path(),
                format!("duplicate `{key}`: give each argument once"),
            ));
            continue;
        }
        seen.push((key.clone(), name.span()));
        match key.as_str() {
            "expire" => match name_value(&meta, &key) {
                Ok(expr) => match parse_expire(expr) {
                    Ok(e) => out.expire = Some(e),
                    Err(e) => errors.push(e),
                },
                Err(e) => errors.push(e),
            },
            "namespace" => match name_value(&meta, &key) {
                Ok(Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                })) => out.namespace = Some(s.clone()),
                Ok(other) => errors.push(syn::Error::new_spanned(
                    other,
                    "namespace takes a string literal, e.g. namespace = \"user\"",
                )),
                Err(e) => errors.push(e),
            },
            "key_builder" => match name_value(&meta, &key) {
                Ok(Expr::Path(p)) if p.qself.is_none() => out.key_builder = Some(p.path.clone()),
                Ok(other) => errors.push(syn::Error::new_spanned(
                    other,
                    "key_builder takes the path of a function `fn(&KeyContext<'_>) -> String`, e.g. key_builder = user_scoped_key_builder",
                )),
                Err(e) => errors.push(e),
            },
            "skip" => match &meta {
                Meta::List(list) => {
                    match list.parse_args_with(|input: ParseStream<'_>| {
                        Punctuated::<Ident, Token![,]>::parse_terminated_with(input, Ident::parse_any)
                    }) {
                        Ok(names) if names.is_empty() => errors.push(syn::Error::new_spanned(
                            list,
                            "skip(...) needs at least one argument name, e.g. skip(db)",
                        )),
                        Ok(names) => out.skip.extend(names),
                        Err(e) => errors.push(syn::Error::new(
                            e.span(),
                            "skip(...) takes argument names separated by commas, e.g. skip(db, state)",
                        )),
                    }
                }
                _ => errors.push(syn::Error::new_spanned(
                    &meta,
                    "skip takes a list of argument names, e.g. skip(db, state)",
                )),
            },
            "shared" => match &meta {
                Meta::Path(_) => out.shared = true,
                _ => errors.push(syn::Error::new_spanned(
                    &meta,
                    "shared takes no value: write `shared`",
                )),
            },
            "near" => match bool_value(&meta, &key, "near") {
                Ok(value) => out.near = Some(value),
                Err(e) => errors.push(e),
            },
            "typed" => match bool_value(&meta, &key, "typed") {
                Ok(value) => out.typed = Some(value),
                Err(e) => errors.push(e),
            },
            "lock" => match bool_value(&meta, &key, "lock") {
                Ok(value) => out.lock = Some(value),
                Err(e) => errors.push(e),
            },
            "stale_while_revalidate" | "stale_if_error" => {
                match name_value(&meta, &key).and_then(|expr| stale_seconds(expr, &key)) {
                    Ok(value) => {
                        let written = Some(Written {
                            value,
                            name: name.clone(),
                            tokens: meta.to_token_stream(),
                        });
                        if key == "stale_if_error" {
                            out.stale_if_error = written;
                        } else {
                            out.stale_while_revalidate = written;
                        }
                    }
                    Err(e) => errors.push(e),
                }
            }
            "early_refresh" => match bool_value(&meta, &key, "early_refresh") {
                Ok(value) => {
                    out.early_refresh = Some(Written {
                        value,
                        name: name.clone(),
                        tokens: meta.to_token_stream(),
                    })
                }
                Err(e) => errors.push(e),
            },
            "coder" => match name_value(&meta, &key).and_then(coder_value) {
                Ok(coder) => out.coder = Some(coder),
                Err(e) => errors.push(e),
            },
            "crate" => match name_value(&meta, &key) {
                Ok(Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                })) => match parse_crate(s) {
                    Ok(path) => out.krate = Some(path),
                    Err(e) => errors.push(e),
                },
                Ok(other) => errors.push(syn::Error::new_spanned(
                    other,
                    "crate takes the path of the cachette crate as a string, e.g. crate = \"my_lib::cachette\"",
                )),
                Err(e) => errors.push(e),
            },
            other => {
                let hint = match other {
                    "ttl" | "expiry" | "expires" | "expire_after" | "timeout" | "max_age" => {
                        " (did you mean `expire`?)"
                    }
                    "ns" | "name_space" | "prefix" => " (did you mean `namespace`?)",
                    "key" | "key_fn" | "keybuilder" | "key_func" => " (did you mean `key_builder`?)",
                    "local" | "near_cache" | "l1" | "in_process" => " (did you mean `near`?)",
                    "clone" | "decode" | "bytes" => " (did you mean `typed`?)",
                    "distributed_lock" | "single_flight" | "lease" | "locked" => {
                        " (did you mean `lock`?)"
                    }
                    "codec" | "format" | "serializer" | "encoder" => " (did you mean `coder`?)",
                    "ignore" | "exclude" | "skip_args" => " (did you mean `skip(...)`?)",
                    "swr" | "stale" | "stale_while_refresh" | "serve_stale" => {
                        " (did you mean `stale_while_revalidate`?)"
                    }
                    "stale_on_error" | "fail_safe" | "failsafe" | "stale_if_failed" => {
                        " (did you mean `stale_if_error`?)"
                    }
                    "xfetch" | "early_recompute" | "early_expire" | "refresh_ahead" => {
                        " (did you mean `early_refresh`?)"
                    }
                    _ => "",
                };
                errors.push(syn::Error::new_spanned(
                    meta.path(),
                    format!("unknown argument `{other}`{hint}; {ACCEPTED}"),
                ));
            }
        }
    }
    errors.finish(out)
}

/// `coder = msgpack | json | path::TO_STATIC`.
fn coder_value(value: &Expr) -> Result<CoderArg, syn::Error> {
    const EXPECTED: &str = "coder takes `msgpack`, `json`, or the path of a `static` implementing cachette::CustomCoder, e.g. `coder = json`";
    match value {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => Ok(
            match path.path.get_ident().map(Ident::to_string).as_deref() {
                Some("msgpack") => CoderArg::MsgPack,
                Some("json") => CoderArg::Json,
                _ => CoderArg::Custom(path.path.clone()),
            },
        ),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Err(syn::Error::new_spanned(
            s,
            format!(
                "coder takes a name, not a string: write `coder = {}` (without quotes)",
                s.value()
            ),
        )),
        other => Err(syn::Error::new_spanned(other, EXPECTED)),
    }
}

fn name_value<'m>(meta: &'m Meta, key: &str) -> Result<&'m Expr, syn::Error> {
    match meta {
        Meta::NameValue(nv) => Ok(&nv.value),
        _ => Err(syn::Error::new_spanned(
            meta,
            format!("`{key}` takes a value: `{key} = ...`"),
        )),
    }
}

/// `{name} = true|false`, for an argument `key` spelled `name`.
fn bool_value(meta: &Meta, key: &str, name: &str) -> Result<bool, syn::Error> {
    match name_value(meta, key) {
        Ok(Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        })) => Ok(b.value),
        Ok(other) => Err(syn::Error::new_spanned(
            other,
            format!("{name} takes `true` or `false`, e.g. {name} = true"),
        )),
        Err(_) => Err(syn::Error::new_spanned(
            meta,
            format!("{name} takes a value: write `{name} = true` or `{name} = false`"),
        )),
    }
}

/// `crate = "..."`: a path (`my_lib::cachette`, `::my_lib::cachette`), given the
/// literal's span so that errors in generated paths point at it.
fn parse_crate(lit: &LitStr) -> Result<Path, syn::Error> {
    let path: Path = lit.parse().map_err(|_| {
        syn::Error::new_spanned(
            lit,
            format!(
                "crate = {:?} is not a path; write the path of the cachette crate, e.g. crate = \"my_lib::cachette\"",
                lit.value()
            ),
        )
    })?;
    if path.segments.iter().any(|s| !s.arguments.is_none()) {
        return Err(syn::Error::new_spanned(
            lit,
            "crate takes a path without generic arguments, e.g. crate = \"my_lib::cachette\"",
        ));
    }
    Ok(path)
}

/// `stale_while_revalidate = N` / `stale_if_error = N`: whole seconds, 0 (never) to
/// [`MAX_EXPIRE`] (365 days, the most `CACHE_MAX_TTL` allows: a window longer than
/// any entry may live is a typo).
fn stale_seconds(expr: &Expr, key: &str) -> Result<u64, syn::Error> {
    let how = format!(
        "{key} takes a whole number of seconds, e.g. {key} = 30 (0 turns it off for this function)"
    );
    let negative = || {
        syn::Error::new_spanned(
            expr,
            format!(
                "{key} cannot be negative; it is a whole number of seconds, e.g. {key} = 30 (0 turns it off)"
            ),
        )
    };
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => {
            if int.base10_digits().starts_with('-') {
                return Err(negative());
            }
            let seconds: u64 = int.base10_parse().map_err(|_| {
                syn::Error::new_spanned(int, format!("{how}, at most {MAX_EXPIRE} (365 days)"))
            })?;
            if seconds > MAX_EXPIRE {
                return Err(syn::Error::new_spanned(
                    int,
                    format!(
                        "{key} = {seconds} is more than 365 days ({MAX_EXPIRE} seconds), the most CACHE_MAX_TTL allows an entry to live: an entry is never kept that long"
                    ),
                ));
            }
            Ok(seconds)
        }
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => Err(negative()),
        other => Err(syn::Error::new_spanned(other, how)),
    }
}

fn parse_expire(expr: &Expr) -> Result<Expire, syn::Error> {
    const HOW: &str = "expire takes a whole number of seconds, e.g. expire = 300";
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => {
            if int.base10_digits().starts_with('-') {
                return Err(syn::Error::new_spanned(
                    int,
                    "expire cannot be negative; it is a whole number of seconds, e.g. expire = 300",
                ));
            }
            let seconds: u64 = int.base10_parse().map_err(|_| {
                syn::Error::new_spanned(int, format!("{HOW} (at most {MAX_EXPIRE}, one year)"))
            })?;
            if seconds == 0 {
                return Err(syn::Error::new_spanned(
                    int,
                    "expire must be at least 1 second; to turn caching off, remove #[cached] or set CACHE_ENABLED=false",
                ));
            }
            if seconds > MAX_EXPIRE {
                return Err(syn::Error::new_spanned(
                    int,
                    format!("expire = {seconds} is more than one year ({MAX_EXPIRE} seconds)"),
                ));
            }
            Ok(Expire::Seconds(seconds))
        }
        Expr::Path(p) if p.qself.is_none() => Ok(Expire::Const(p.path.clone())),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => Err(syn::Error::new_spanned(
            expr,
            "expire cannot be negative; it is a whole number of seconds, e.g. expire = 300",
        )),
        other => Err(syn::Error::new(other.span(), HOW)),
    }
}

/// Collects errors; [`Errors::finish`] combines them into one.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish<T>(self, value: T) -> Result<T, syn::Error> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

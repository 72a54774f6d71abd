//! [`KeyArgs`]: the key-relevant arguments of one call, rendered.

use serde::Serialize;
use smallvec::SmallVec;

use super::encode::{escape_into, write_key_part};

/// The capacity `rendered` starts with: a typical default key (prefix, namespace,
/// a few arguments, function path) fits.
const INITIAL_CAPACITY: usize = 96;

/// The key-relevant arguments of one call, rendered into key segments.
///
/// Filled by the code `#[cached]` generates, read by key builders through
/// [`KeyContext`](super::KeyContext).
#[derive(Debug, Default)]
pub struct KeyArgs {
    /// The type name of the function's marker closure: its full path followed by
    /// `::{{closure}}`s (see `__private::function_path`).
    function: &'static str,
    rendered: String,
    /// Name, range in `rendered`, and whether the request URI already covers it;
    /// held inline for the first few arguments (no allocation per call).
    names: SmallVec<[(&'static str, usize, usize, bool); 4]>,
    user: Option<String>,
    needs_request: bool,
    /// An argument came from the request (an axum extractor): this call is a
    /// handler, or was handed a handler's arguments.
    extractor: bool,
    error: Option<String>,
    /// Bindings pushed now come from a `Path`/`Query` pattern (see
    /// `probe::key_binding`).
    covered: bool,
}

impl KeyArgs {
    /// An empty argument list for a call of the function at `function`: its full
    /// path, or the type name of a closure in its body (the path followed by
    /// `::{{closure}}`s, see `__private::function_path`).
    pub fn new(function: &'static str) -> Self {
        KeyArgs {
            function,
            // Room for the arguments and the rest of a typical default key, which
            // is built in this buffer (see `take_rendered`): one allocation.
            rendered: String::with_capacity(INITIAL_CAPACITY),
            ..Self::default()
        }
    }

    /// Takes the rendered arguments, leaving none: the buffer the default key is
    /// built in.
    pub(crate) fn take_rendered(&mut self) -> String {
        std::mem::take(&mut self.rendered)
    }

    /// The full path of the function called (`my_app::repo::UserRepo::count`).
    pub(crate) fn function(&self) -> &'static str {
        super::function::strip_closures(self.function)
    }

    /// What identifies the function called: the type name of its marker closure
    /// (compared by address on every call, see `Spec::function_id`).
    pub(crate) fn type_name(&self) -> &'static str {
        self.function
    }

    /// All arguments, `:`-separated, in declaration order.
    pub(crate) fn rendered(&self) -> &str {
        &self.rendered
    }

    /// The rendering of the argument called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|&(_, start, end, _)| &self.rendered[start..end])
    }

    /// Appends `:` and the arguments the request URI does not cover (not from
    /// `Path` / `Query`), `:`-separated, when they render to anything; nothing
    /// otherwise. Written in place: a key is built without intermediate strings.
    pub(crate) fn push_uncovered(&self, out: &mut String) {
        let mark = out.len();
        out.push(':');
        let base = out.len();
        for &(_, start, end, covered) in &self.names {
            if !covered {
                if out.len() > base {
                    out.push(':');
                }
                out.push_str(&self.rendered[start..end]);
            }
        }
        if out.len() == base {
            out.truncate(mark);
        }
    }

    /// The user id given by a [`CacheUser`](super::CacheUser) argument.
    pub(crate) fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// `true` when an argument can only be keyed by the HTTP request it came from.
    pub(crate) fn needs_request(&self) -> bool {
        self.needs_request
    }

    /// Why an argument could not be rendered, if one could not.
    pub(crate) fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    fn begin(&mut self) -> usize {
        if !self.names.is_empty() {
            self.rendered.push(':');
        }
        self.rendered.len()
    }

    pub(crate) fn push_value<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) {
        self.push_value_covered(name, value, self.covered);
    }

    /// Whether the values pushed from now on are covered by the request URI.
    pub(crate) fn set_covered(&mut self, covered: bool) {
        self.covered = covered;
    }

    /// Like [`KeyArgs::push_value`]; `covered` says the request URI already holds it.
    pub(crate) fn push_value_covered<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
        covered: bool,
    ) {
        let start = self.begin();
        if let Err(e) = write_key_part(&mut self.rendered, value) {
            self.rendered.truncate(start);
            self.rendered.push('?');
            self.error
                .get_or_insert_with(|| format!("argument `{name}` could not be rendered: {e}"));
        }
        let end = self.rendered.len();
        self.names.push((name, start, end, covered));
    }

    pub(crate) fn push_user(&mut self, name: &'static str, id: Option<String>) {
        let start = self.begin();
        match &id {
            Some(id) => escape_into(&mut self.rendered, id),
            None => self.rendered.push('~'),
        }
        let end = self.rendered.len();
        self.names.push((name, start, end, false));
        if self.user.is_none() {
            self.user = id;
        }
    }

    pub(crate) fn mark_needs_request(&mut self) {
        self.needs_request = true;
        self.extractor = true;
    }

    /// An argument is an extractor of the request (`State`, `Path`, `Query`, `Uri`,
    /// ...): this call may claim the request as its handler (see `cached::run`).
    pub(crate) fn mark_extractor(&mut self) {
        self.extractor = true;
    }

    /// Whether an argument is an extractor of the request.
    pub(crate) fn has_extractor(&self) -> bool {
        self.extractor
    }
}

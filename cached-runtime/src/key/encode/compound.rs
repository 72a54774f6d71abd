//! The compound states of the key serializer: sequences, tuples, structs and
//! variants write their elements as they come; maps render their entries apart and
//! sort them, so a map's key does not depend on its iteration order.

use serde::ser::{self, Serialize};

use super::{KeyEncodeError, KeySerializer, write_str_value};

/// State for sequences, tuples, structs and the tuple/struct variants:
/// elements are separated by `,` and the compound is closed by `close`.
#[derive(Debug)]
pub(super) struct Compound<'a> {
    /// Where the rendering goes.
    out: &'a mut String,
    /// No element has been written yet.
    first: bool,
    /// Closing bracket written by `end`.
    close: char,
}

impl<'a> Compound<'a> {
    /// Writes `open` and starts a compound closed by `close`.
    pub(super) fn open(out: &'a mut String, open: char, close: char) -> Self {
        out.push(open);
        Self {
            out,
            first: true,
            close,
        }
    }

    /// Writes the separator (if needed) before the next element.
    pub(super) fn separate(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    /// Appends one element.
    pub(super) fn element<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), KeyEncodeError> {
        self.separate();
        value.serialize(KeySerializer { out: self.out })
    }

    /// Appends one `name=value` field.
    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<(), KeyEncodeError> {
        self.separate();
        write_str_value(self.out, name);
        self.out.push('=');
        value.serialize(KeySerializer { out: self.out })
    }

    /// Closes the compound.
    pub(super) fn finish(self) {
        self.out.push(self.close);
    }
}

/// State for maps: entries are rendered separately, then sorted (by rendered
/// key, then rendered value) so iteration order does not matter.
#[derive(Debug)]
pub(super) struct MapCompound<'a> {
    /// Where the rendering goes.
    out: &'a mut String,
    /// Rendered `(key, value)` entries.
    entries: Vec<(String, String)>,
    /// A rendered key still waiting for its value.
    pending_key: Option<String>,
}

impl<'a> MapCompound<'a> {
    /// Starts a map of about `len` entries.
    pub(super) fn new(out: &'a mut String, len: Option<usize>) -> Self {
        Self {
            out,
            entries: Vec::with_capacity(len.unwrap_or(0)),
            pending_key: None,
        }
    }
}

/// Renders `value` on its own, into a fresh string.
fn render_alone<T: Serialize + ?Sized>(value: &T) -> Result<String, KeyEncodeError> {
    let mut rendered = String::new();
    value.serialize(KeySerializer { out: &mut rendered })?;
    Ok(rendered)
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = KeyEncodeError;

    fn serialize_element<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), KeyEncodeError> {
        self.element(value)
    }

    fn end(self) -> Result<(), KeyEncodeError> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = KeyEncodeError;

    fn serialize_element<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), KeyEncodeError> {
        self.element(value)
    }

    fn end(self) -> Result<(), KeyEncodeError> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = KeyEncodeError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyEncodeError> {
        self.element(value)
    }

    fn end(self) -> Result<(), KeyEncodeError> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = KeyEncodeError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyEncodeError> {
        self.element(value)
    }

    fn end(self) -> Result<(), KeyEncodeError> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = KeyEncodeError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), KeyEncodeError> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), KeyEncodeError> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = KeyEncodeError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), KeyEncodeError> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), KeyEncodeError> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeMap for MapCompound<'_> {
    type Ok = ();
    type Error = KeyEncodeError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), KeyEncodeError> {
        if self.pending_key.is_some() {
            return Err(KeyEncodeError(
                "map key serialized twice without a value in between".to_owned(),
            ));
        }
        let rendered = render_alone(key)
            .map_err(|e| KeyEncodeError(format!("map key could not be rendered: {}", e.0)))?;
        self.pending_key = Some(rendered);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyEncodeError> {
        let Some(key) = self.pending_key.take() else {
            return Err(KeyEncodeError(
                "map value serialized without a key".to_owned(),
            ));
        };
        let rendered = render_alone(value)?;
        self.entries.push((key, rendered));
        Ok(())
    }

    fn end(mut self) -> Result<(), KeyEncodeError> {
        if self.pending_key.is_some() {
            return Err(KeyEncodeError(
                "map ended with a key but no value".to_owned(),
            ));
        }
        // Sort on the full (key, value) pair: even entries whose keys render
        // alike (several NaN keys, say) end up in one deterministic order.
        self.entries.sort_unstable();
        let mut compound = Compound::open(self.out, '{', '}');
        for (key, value) in &self.entries {
            compound.separate();
            compound.out.push_str(key);
            compound.out.push('=');
            compound.out.push_str(value);
        }
        compound.finish();
        Ok(())
    }
}

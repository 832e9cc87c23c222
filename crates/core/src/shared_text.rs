//! [`SharedText`]: a span of a file's text that shares the text instead of copying it.
//!
//! A migration file is read once into one `String`; its sections and their statements are
//! spans of it. A file of 260 MB is then held once in memory, whatever is cut out of it
//! (issue 14: a copy per section made it twice, a `String` per statement three times).

use std::ops::{Deref, Range};
use std::sync::Arc;

/// `text[start..end]`, sharing `text`. Reads as a `&str` (it derefs to one).
#[derive(Clone)]
pub struct SharedText {
    text: Backing,
    start: usize,
    end: usize,
}

/// The whole text a span is cut from: read at run time, or compiled into the binary
/// (`embed_migrations!`), which needs no copy at all.
#[derive(Clone)]
enum Backing {
    Shared(Arc<String>),
    Static(&'static str),
}

impl Backing {
    fn as_str(&self) -> &str {
        match self {
            Backing::Shared(s) => s,
            Backing::Static(s) => s,
        }
    }
}

impl SharedText {
    /// The whole of `text`, taken over without a copy.
    pub fn whole(text: String) -> SharedText {
        let end = text.len();
        SharedText {
            text: Backing::Shared(Arc::new(text)),
            start: 0,
            end,
        }
    }

    /// The whole of a text compiled into the binary, without a copy.
    pub fn from_static(text: &'static str) -> SharedText {
        SharedText {
            text: Backing::Static(text),
            start: 0,
            end: text.len(),
        }
    }

    /// The length of the whole text this span was cut from.
    pub fn source_len(&self) -> usize {
        self.text.as_str().len()
    }

    /// Where this span lies in the whole text it was cut from (byte offsets).
    pub fn span(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The span `range` of this text (offsets into this span, not into the file), sharing
    /// it. Panics, as slicing a `str` does, when `range` is out of bounds or not on a
    /// character boundary.
    pub fn slice(&self, range: Range<usize>) -> SharedText {
        let _ = &self.as_str()[range.clone()];
        SharedText {
            text: self.text.clone(),
            start: self.start + range.start,
            end: self.start + range.end,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text.as_str()[self.start..self.end]
    }
}

impl Deref for SharedText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SharedText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// A text of its own (a copy of `s`): for SQL that does not come from a file.
impl From<&str> for SharedText {
    fn from(s: &str) -> SharedText {
        SharedText::whole(s.to_string())
    }
}

impl From<String> for SharedText {
    fn from(s: String) -> SharedText {
        SharedText::whole(s)
    }
}

impl PartialEq for SharedText {
    fn eq(&self, other: &SharedText) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SharedText {}

impl std::fmt::Debug for SharedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for SharedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_share_the_text_and_nest() {
        let text = SharedText::whole("-- h\nSELECT 1;\nSELECT 2;\n".to_string());
        let section = text.slice(5..25);
        assert_eq!(&*section, "SELECT 1;\nSELECT 2;\n");
        let second = section.slice(10..18);
        assert_eq!(second.as_str(), "SELECT 2");
        match (&text.text, &second.text) {
            (Backing::Shared(a), Backing::Shared(b)) => assert!(Arc::ptr_eq(a, b)),
            _ => panic!("a text read at run time is shared"),
        }
        assert_eq!(second, SharedText::from("SELECT 2"));
        assert_eq!(second.span(), 15..23);
    }

    #[test]
    fn a_static_text_is_sliced_in_place() {
        static TEXT: &str = "-- h\nSELECT 1;\n";
        let section = SharedText::from_static(TEXT).slice(5..14);
        assert_eq!(&*section, "SELECT 1;");
        assert_eq!(section.span(), 5..14);
        assert!(std::ptr::eq(section.as_str().as_ptr(), TEXT[5..].as_ptr()));
    }

    #[test]
    #[should_panic]
    fn a_slice_past_the_span_panics() {
        SharedText::from("abc").slice(1..2).slice(0..2);
    }
}

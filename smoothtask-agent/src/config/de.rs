//! A serde `Deserializer` over [`Node`]s: every error carries the key path and location of the
//! value it is about; unknown keys of a struct are collected (with the nearest known key) rather
//! than stopping the load; a key whose value is null is treated as absent (its default applies).

use std::{cell::RefCell, fmt};

use serde::de::{self, Visitor};

use super::{
    de_access::{MapDe, SeqDe, UnitVariant},
    error::{Location, Problem, ProblemKind},
    node::{Entry, KeyPath, Node, Value},
    suggest,
};

/// A deserialization error; the path and location are filled in by the innermost node that saw
/// it.
#[derive(Debug)]
pub(crate) struct DeError(Box<Located>);

#[derive(Debug)]
struct Located {
    path: Option<KeyPath>,
    loc: Option<Location>,
    kind: ProblemKind,
    /// For a missing field: its name, appended to the path when located.
    missing: Option<&'static str>,
}

impl DeError {
    fn new(kind: ProblemKind) -> DeError {
        DeError(Box::new(Located {
            path: None,
            loc: None,
            kind,
            missing: None,
        }))
    }

    pub(super) fn at(mut self, path: &KeyPath, loc: &Location) -> DeError {
        let e = &mut self.0;
        if e.path.is_none() {
            e.path = Some(match e.missing {
                Some(field) => path.key(field),
                None => path.clone(),
            });
            e.loc = Some(loc.clone());
        }
        self
    }

    pub fn path(&self) -> Option<&KeyPath> {
        self.0.path.as_ref()
    }

    pub fn into_problem(self) -> Problem {
        let e = *self.0;
        Problem {
            location: e.loc.unwrap_or(Location::Default),
            path: e.path.map(|p| p.to_string()).unwrap_or_default(),
            kind: e.kind,
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.kind.fmt(f)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::new(ProblemKind::Custom {
            message: msg.to_string(),
        })
    }

    fn invalid_type(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        DeError::new(ProblemKind::WrongType {
            expected: exp.to_string(),
            found: unexp.to_string(),
        })
    }

    fn invalid_length(len: usize, exp: &dyn de::Expected) -> Self {
        DeError::new(ProblemKind::WrongLength {
            expected: exp.to_string(),
            found: len,
        })
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(ProblemKind::UnknownVariant {
            value: variant.to_string(),
            expected: expected.iter().map(|s| s.to_string()).collect(),
            suggestion: suggest::nearest(variant, expected.iter().copied()).map(str::to_string),
        })
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(ProblemKind::UnknownKey {
            suggestion: suggest::nearest(field, expected.iter().copied()).map(str::to_string),
        })
    }

    fn missing_field(field: &'static str) -> Self {
        let mut e = DeError::new(ProblemKind::Missing);
        e.0.missing = Some(field);
        e
    }
}

/// Deserializes `T` from `root`; unknown keys go to `unknown`.
pub(crate) fn from_node<T: de::DeserializeOwned>(
    root: &Node,
    unknown: &RefCell<Vec<Problem>>,
) -> Result<T, DeError> {
    T::deserialize(De {
        node: root,
        path: KeyPath::root(),
        unknown,
    })
}

/// Deserializes `T` from `root`, collecting every problem: after an error the offending key is
/// removed (its default applies) and deserialization runs again, so one bad value does not hide
/// the next. Returns the value (if any run succeeded), the problems (unknown keys included) and
/// the paths removed. A bad value that is not under a key (the document itself) ends the runs.
pub(crate) fn from_node_collecting<T: de::DeserializeOwned>(
    root: &mut Node,
) -> (Option<T>, Vec<Problem>, Vec<KeyPath>) {
    const MAX_RUNS: usize = 100;
    let mut problems: Vec<Problem> = Vec::new();
    let mut removed = Vec::new();
    let push = |problems: &mut Vec<Problem>, p: Problem| {
        if !problems.contains(&p) {
            problems.push(p);
        }
    };
    for _ in 0..MAX_RUNS {
        let unknown = RefCell::new(Vec::new());
        let result = from_node::<T>(root, &unknown);
        for p in unknown.into_inner() {
            push(&mut problems, p);
        }
        match result {
            Ok(value) => return (Some(value), problems, removed),
            Err(err) => {
                let key = err.path().cloned().unwrap_or_default().to_key();
                push(&mut problems, err.into_problem());
                if key.0.is_empty() || !root.remove(&key) {
                    break;
                }
                removed.push(key);
            }
        }
    }
    (None, problems, removed)
}

/// A value for people: `the string "abc"`, `the integer 5`, `a list of 3 items`.
pub(crate) fn describe(node: &Node) -> String {
    match &node.value {
        Value::Scalar(s) if s.is_null() => "nothing (null)".into(),
        Value::Scalar(s) if s.quoted => format!("the string {:?}", s.text),
        Value::Scalar(s) => {
            if let Some(b) = s.as_bool() {
                format!("the boolean {b}")
            } else if let Some(i) = s.as_int() {
                format!("the integer {i}")
            } else if let Some(f) = s.as_float() {
                format!("the number {f}")
            } else {
                format!("the string {:?}", s.text)
            }
        }
        Value::Seq(items) if items.len() == 1 => "a list of 1 item".into(),
        Value::Seq(items) => format!("a list of {} items", items.len()),
        Value::Map(_) => "a mapping".into(),
    }
}

pub(super) struct De<'a> {
    pub(super) node: &'a Node,
    pub(super) path: KeyPath,
    pub(super) unknown: &'a RefCell<Vec<Problem>>,
}

impl<'a> De<'a> {
    fn wrong(&self, expected: &str) -> DeError {
        DeError::new(ProblemKind::WrongType {
            expected: expected.to_string(),
            found: describe(self.node),
        })
        .at(&self.path, &self.node.loc)
    }

    fn locate<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        r.map_err(|e| e.at(&self.path, &self.node.loc))
    }

    fn int(&self, lo: i128, hi: i128) -> Result<i128, DeError> {
        let Value::Scalar(s) = &self.node.value else {
            return Err(self.wrong("an integer"));
        };
        let v = s.as_int().ok_or_else(|| self.wrong("an integer"))?;
        if v < lo || v > hi {
            return Err(DeError::new(ProblemKind::OutOfRange {
                value: v.to_string(),
                expected: if hi == i64::MAX as i128 {
                    "a 64-bit integer".to_string()
                } else {
                    format!("between {lo} and {hi}")
                },
                hint: None,
            })
            .at(&self.path, &self.node.loc));
        }
        Ok(v)
    }

    fn seq(&self, expected: &str) -> Result<&'a [Node], DeError> {
        match &self.node.value {
            Value::Seq(items) => Ok(items),
            _ => Err(self.wrong(expected)),
        }
    }

    fn map<V: Visitor<'a>>(
        self,
        fields: Option<&'static [&'static str]>,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let entries: &'a [Entry] = match &self.node.value {
            Value::Map(entries) => entries,
            _ if self.node.is_null() => &[],
            _ => return Err(self.wrong("a mapping")),
        };
        let access = MapDe {
            entries: entries.iter(),
            pending: None,
            fields,
            path: self.path.clone(),
            unknown: self.unknown,
        };
        self.locate(visitor.visit_map(access))
    }
}

macro_rules! int_methods {
    ($($method:ident => $visit:ident: $ty:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let v = self.int(<$ty>::MIN as i128, <$ty>::MAX as i128)? as $ty;
            self.locate(visitor.$visit(v))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for De<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Seq(_) => return self.deserialize_seq(visitor),
            Value::Map(_) => return self.map(None, visitor),
            Value::Scalar(s) if s.is_null() => visitor.visit_unit(),
            Value::Scalar(s) => {
                if let Some(b) = s.as_bool() {
                    visitor.visit_bool(b)
                } else if let Some(i) = s.as_int().and_then(|i| i64::try_from(i).ok()) {
                    visitor.visit_i64(i)
                } else if let Some(i) = s.as_int().and_then(|i| u64::try_from(i).ok()) {
                    visitor.visit_u64(i)
                } else if let Some(f) = s.as_float() {
                    visitor.visit_f64(f)
                } else {
                    visitor.visit_str(&s.text)
                }
            }
        };
        self.locate(r)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Scalar(s) => match s.as_bool() {
                Some(b) => self.locate(visitor.visit_bool(b)),
                None => Err(self.wrong("true or false")),
            },
            _ => Err(self.wrong("true or false")),
        }
    }

    int_methods! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Scalar(s) => match s.as_float() {
                Some(f) => self.locate(visitor.visit_f64(f)),
                None => Err(self.wrong("a number")),
            },
            _ => Err(self.wrong("a number")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    /// Any non-null scalar reads as a string, as written (`token: 0123` is the string "0123").
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Scalar(s) if !s.is_null() => self.locate(visitor.visit_str(&s.text)),
            _ => Err(self.wrong("a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            self.locate(visitor.visit_none())
        } else {
            let (path, loc) = (self.path.clone(), self.node.loc.clone());
            visitor.visit_some(self).map_err(|e| e.at(&path, &loc))
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            self.locate(visitor.visit_unit())
        } else {
            Err(self.wrong("nothing (null)"))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let (path, loc) = (self.path.clone(), self.node.loc.clone());
        visitor
            .visit_newtype_struct(self)
            .map_err(|e| e.at(&path, &loc))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let items = self.seq("a list")?;
        let access = SeqDe {
            items: items.iter().enumerate(),
            path: self.path.clone(),
            unknown: self.unknown,
        };
        self.locate(visitor.visit_seq(access))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let expected = format!("a list of {len} values");
        let items = self.seq(&expected)?;
        if items.len() != len {
            return Err(DeError::new(ProblemKind::WrongLength {
                expected,
                found: items.len(),
            })
            .at(&self.path, &self.node.loc));
        }
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.map(None, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.map(Some(fields), visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Scalar(s) if !s.is_null() => {
                self.locate(visitor.visit_enum(UnitVariant { name: &s.text }))
            }
            _ => {
                let names: Vec<String> = variants.iter().map(|v| format!("`{v}`")).collect();
                Err(self.wrong(&format!("one of {}", names.join(", "))))
            }
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

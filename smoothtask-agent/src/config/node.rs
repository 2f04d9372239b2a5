//! YAML text to a tree of [`Node`]s that remember where each value and key was written, plus key
//! paths and the few tree edits loading needs (environment overrides, dropping a bad value).

use std::{collections::HashMap, fmt};

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::error::{ConfigError, Location, Problem, ProblemKind};

/// A YAML value with the location it was written at.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub value: Value,
    pub loc: Location,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A scalar as written; typed (YAML 1.2 core schema) only when read.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Scalar {
    pub text: String,
    /// Quoted, block or `!!str`-tagged: always a string.
    pub quoted: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_loc: Location,
    pub value: Node,
}

impl Scalar {
    pub fn is_null(&self) -> bool {
        !self.quoted && matches!(self.text.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }

    pub fn as_bool(&self) -> Option<bool> {
        match (self.quoted, self.text.as_str()) {
            (false, "true" | "True" | "TRUE") => Some(true),
            (false, "false" | "False" | "FALSE") => Some(false),
            _ => None,
        }
    }

    /// Decimal (`-12`), octal (`0o17`) or hexadecimal (`0x1f`) integers.
    pub fn as_int(&self) -> Option<i128> {
        if self.quoted {
            return None;
        }
        let t = self.text.as_str();
        if let Some(hex) = t.strip_prefix("0x") {
            return digits(hex, 16);
        }
        if let Some(oct) = t.strip_prefix("0o") {
            return digits(oct, 8);
        }
        let (neg, body) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let v = digits(body, 10)?;
        Some(if neg { -v } else { v })
    }

    pub fn as_float(&self) -> Option<f64> {
        if self.quoted {
            return None;
        }
        if let Some(i) = self.as_int() {
            return Some(i as f64);
        }
        let t = self.text.as_str();
        match t.trim_start_matches(['-', '+']) {
            ".inf" | ".Inf" | ".INF" => {
                return Some(if t.starts_with('-') {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                });
            }
            ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
            _ => {}
        }
        let ok = t.bytes().any(|b| b.is_ascii_digit())
            && t.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
        if ok { t.parse().ok() } else { None }
    }
}

fn digits(s: &str, radix: u32) -> Option<i128> {
    if s.is_empty() || !s.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    i128::from_str_radix(s, radix).ok()
}

impl Node {
    pub fn null(loc: Location) -> Node {
        Node {
            value: Value::Scalar(Scalar {
                text: String::new(),
                quoted: false,
            }),
            loc,
        }
    }

    pub fn empty_map(loc: Location) -> Node {
        Node {
            value: Value::Map(Vec::new()),
            loc,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(s) if s.is_null())
    }

    /// The value at `path`, if every step exists.
    pub fn get(&self, path: &KeyPath) -> Option<&Node> {
        let mut node = self;
        for seg in &path.0 {
            node = match (seg, &node.value) {
                (Seg::Key(k), Value::Map(entries)) => &entries.iter().find(|e| &e.key == k)?.value,
                (Seg::Index(i), Value::Seq(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Where the problem at `path` is best shown: the value there, else its nearest written
    /// ancestor, else the built-in default.
    pub fn locate(&self, path: &KeyPath) -> Location {
        let mut prefix = path.clone();
        loop {
            if let Some(node) = self.get(&prefix)
                && !prefix.0.is_empty()
            {
                return node.loc.clone();
            }
            if prefix.0.pop().is_none() {
                return Location::Default;
            }
        }
    }

    /// Removes the entry for the last key of `path`. Returns whether it was there.
    pub fn remove(&mut self, path: &KeyPath) -> bool {
        let Some((parent, Seg::Key(key))) = path.split_last() else {
            return false;
        };
        match self.get_mut(&parent).map(|n| &mut n.value) {
            Some(Value::Map(entries)) => {
                let before = entries.len();
                entries.retain(|e| &e.key != key);
                entries.len() != before
            }
            _ => false,
        }
    }

    fn get_mut(&mut self, path: &KeyPath) -> Option<&mut Node> {
        let mut node = self;
        for seg in &path.0 {
            node = match (seg, &mut node.value) {
                (Seg::Key(k), Value::Map(entries)) => {
                    &mut entries.iter_mut().find(|e| &e.key == k)?.value
                }
                (Seg::Index(i), Value::Seq(items)) => items.get_mut(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Sets the value at a path of keys, making mappings on the way (a scalar or null on the way
    /// is replaced). Refuses to step into a list: returns the list's path.
    pub fn set(&mut self, keys: &[String], value: Node, key_loc: &Location) -> Result<(), KeyPath> {
        let mut node = self;
        let mut walked = KeyPath::root();
        for (i, key) in keys.iter().enumerate() {
            if let Value::Seq(_) = node.value {
                return Err(walked);
            }
            if !matches!(node.value, Value::Map(_)) {
                node.value = Value::Map(Vec::new());
            }
            let Value::Map(entries) = &mut node.value else {
                unreachable!("made a mapping above");
            };
            let pos = match entries.iter().position(|e| &e.key == key) {
                Some(pos) => pos,
                None => {
                    entries.push(Entry {
                        key: key.clone(),
                        key_loc: key_loc.clone(),
                        value: Node::null(key_loc.clone()),
                    });
                    entries.len() - 1
                }
            };
            let entry = &mut entries[pos];
            if i + 1 == keys.len() {
                entry.key_loc = key_loc.clone();
                entry.value = value;
                return Ok(());
            }
            walked = walked.key(key);
            node = &mut entry.value;
        }
        *node = value;
        Ok(())
    }
}

/// A key path: `policy.classes[1].cpu_weight`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct KeyPath(pub Vec<Seg>);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

impl KeyPath {
    pub fn root() -> KeyPath {
        KeyPath(Vec::new())
    }

    /// `"policy.cpu_weight_range"` (keys only).
    pub fn parse(dotted: &str) -> KeyPath {
        KeyPath(dotted.split('.').map(|k| Seg::Key(k.to_string())).collect())
    }

    pub fn key(&self, key: &str) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(key.to_string()));
        p
    }

    pub fn index(&self, i: usize) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }

    pub fn split_last(&self) -> Option<(KeyPath, &Seg)> {
        let (last, rest) = self.0.split_last()?;
        Some((KeyPath(rest.to_vec()), last))
    }

    /// The longest prefix that ends in a key (what can be removed from a mapping).
    pub fn to_key(&self) -> KeyPath {
        let mut p = self.clone();
        while let Some(Seg::Index(_)) = p.0.last() {
            p.0.pop();
        }
        p
    }

    pub fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The path with list indices written as `[]`, as in [`super::schema::known_keys`].
    pub fn generic(&self) -> String {
        let mut out = String::new();
        for seg in &self.0 {
            match seg {
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Index(_) => out.push_str("[]"),
            }
        }
        out
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Where parsed values say they come from.
#[derive(Clone, Debug)]
pub(crate) enum Origin {
    File(String),
    Env(String),
}

impl Origin {
    fn at(&self, span: &Span) -> Location {
        match self {
            Self::File(file) => Location::File {
                file: file.clone(),
                line: span.start.line(),
                column: span.start.col() + 1,
            },
            Self::Env(var) => Location::Env { var: var.clone() },
        }
    }
}

/// Parses one YAML document; an empty one is null. Duplicate and non-string
/// keys are returned as problems (the first of duplicates is kept); a syntax error is fatal.
pub(crate) fn parse(text: &str, origin: &Origin) -> Result<(Node, Vec<Problem>), ConfigError> {
    let mut builder = Builder {
        events: Parser::new_from_str(text),
        origin,
        anchors: HashMap::new(),
        problems: Vec::new(),
    };
    let mut root = None;
    let mut path = KeyPath::root();
    loop {
        let (event, span) = builder.next()?;
        match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::DocumentStart(_) | Event::DocumentEnd | Event::Nothing => {}
            event if root.is_none() => root = Some(builder.node(event, span, &mut path)?),
            _ => {
                builder.problems.push(Problem {
                    location: origin.at(&span),
                    path: String::new(),
                    kind: ProblemKind::ExtraDocument,
                });
                break;
            }
        }
    }
    let root = root.unwrap_or_else(|| Node::null(origin.at(&Span::default())));
    Ok((root, builder.problems))
}

struct Builder<'a, 'i> {
    events: Parser<'i, saphyr_parser::StrInput<'i>>,
    origin: &'a Origin,
    anchors: HashMap<usize, Node>,
    problems: Vec<Problem>,
}

impl<'i> Builder<'_, 'i> {
    fn next(&mut self) -> Result<(Event<'i>, Span), ConfigError> {
        match self.events.next() {
            Some(Ok(pair)) => Ok(pair),
            Some(Err(err)) => Err(ConfigError::Syntax {
                location: self.origin.at(&Span::empty(*err.marker())),
                message: err.info().to_string(),
            }),
            None => Ok((Event::StreamEnd, Span::default())),
        }
    }

    fn node(
        &mut self,
        event: Event<'i>,
        span: Span,
        path: &mut KeyPath,
    ) -> Result<Node, ConfigError> {
        let loc = self.origin.at(&span);
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let str_tag = tag.is_some_and(|t| t.is_yaml_core_schema() && t.suffix == "str");
                let quoted = str_tag || style != ScalarStyle::Plain;
                let value = Value::Scalar(Scalar {
                    text: text.into_owned(),
                    quoted,
                });
                (Node { value, loc }, anchor)
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| ConfigError::Syntax {
                        location: loc.clone(),
                        message: "alias to an unknown anchor".into(),
                    })?;
                (node, 0)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    match event {
                        Event::SequenceEnd => break,
                        Event::StreamEnd => return Err(self.truncated(&span)),
                        event => {
                            path.0.push(Seg::Index(items.len()));
                            let item = self.node(event, span, path);
                            path.0.pop();
                            items.push(item?);
                        }
                    }
                }
                (
                    Node {
                        value: Value::Seq(items),
                        loc,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, _) => {
                let entries = self.mapping(path)?;
                (
                    Node {
                        value: Value::Map(entries),
                        loc,
                    },
                    anchor,
                )
            }
            _ => return Err(self.truncated(&span)),
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn mapping(&mut self, path: &mut KeyPath) -> Result<Vec<Entry>, ConfigError> {
        let mut entries: Vec<Entry> = Vec::new();
        loop {
            let (event, span) = self.next()?;
            let key_node = match event {
                Event::MappingEnd => return Ok(entries),
                Event::StreamEnd => return Err(self.truncated(&span)),
                event => self.node(event, span, path)?,
            };
            let (event, span) = self.next()?;
            let key = match &key_node.value {
                Value::Scalar(s) => s.text.clone(),
                _ => String::new(),
            };
            path.0.push(Seg::Key(key.clone()));
            let value = self.node(event, span, path);
            let here = path.to_string();
            path.0.pop();
            let value = value?;
            if !matches!(key_node.value, Value::Scalar(_)) {
                self.problems.push(Problem {
                    location: key_node.loc.clone(),
                    path: path.to_string(),
                    kind: ProblemKind::ComplexKey {
                        found: super::de::describe(&key_node),
                    },
                });
                continue;
            }
            if let Some(first) = entries.iter().find(|e| e.key == key) {
                self.problems.push(Problem {
                    location: key_node.loc,
                    path: here,
                    kind: ProblemKind::DuplicateKey {
                        first: first.key_loc.clone(),
                    },
                });
                continue;
            }
            entries.push(Entry {
                key,
                key_loc: key_node.loc,
                value,
            });
        }
    }

    fn truncated(&self, span: &Span) -> ConfigError {
        ConfigError::Syntax {
            location: self.origin.at(span),
            message: "unexpected end of the document".into(),
        }
    }
}

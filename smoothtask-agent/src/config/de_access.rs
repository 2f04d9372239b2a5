//! The serde access types of the node deserializer: list items, mapping entries (with unknown
//! keys of a struct collected and null values skipped) and plain enum variants.

use std::cell::RefCell;

use serde::de::{
    self, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess, VariantAccess,
    Visitor,
};

use super::{
    de::{De, DeError},
    error::{Problem, ProblemKind},
    node::{Entry, KeyPath, Node},
    suggest,
};

pub(super) struct SeqDe<'a> {
    pub(super) items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    pub(super) path: KeyPath,
    pub(super) unknown: &'a RefCell<Vec<Problem>>,
}

impl<'de> SeqAccess<'de> for SeqDe<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some((i, node)) = self.items.next() else {
            return Ok(None);
        };
        let path = self.path.index(i);
        let de = De {
            node,
            path: path.clone(),
            unknown: self.unknown,
        };
        seed.deserialize(de)
            .map(Some)
            .map_err(|e| e.at(&path, &node.loc))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

pub(super) struct MapDe<'a> {
    pub(super) entries: std::slice::Iter<'a, Entry>,
    pub(super) pending: Option<&'a Entry>,
    /// A struct's fields: other keys are reported as unknown and skipped.
    pub(super) fields: Option<&'static [&'static str]>,
    pub(super) path: KeyPath,
    pub(super) unknown: &'a RefCell<Vec<Problem>>,
}

impl<'de> MapAccess<'de> for MapDe<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        for entry in self.entries.by_ref() {
            if let Some(fields) = self.fields {
                if !fields.contains(&entry.key.as_str()) {
                    let path = self.path.key(&entry.key);
                    self.unknown.borrow_mut().push(Problem {
                        location: entry.key_loc.clone(),
                        path: path.to_string(),
                        kind: ProblemKind::UnknownKey {
                            suggestion: suggest::known_key(&path, fields),
                        },
                    });
                    continue;
                }
                if entry.value.is_null() {
                    continue;
                }
            }
            self.pending = Some(entry);
            let key: de::value::StrDeserializer<'_, DeError> =
                entry.key.as_str().into_deserializer();
            let path = self.path.key(&entry.key);
            return seed
                .deserialize(key)
                .map(Some)
                .map_err(|e| e.at(&path, &entry.key_loc));
        }
        Ok(None)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, DeError> {
        let entry = self
            .pending
            .take()
            .ok_or_else(|| de::Error::custom("a value was asked for before its key"))?;
        let path = self.path.key(&entry.key);
        let de = De {
            node: &entry.value,
            path: path.clone(),
            unknown: self.unknown,
        };
        seed.deserialize(de)
            .map_err(|e| e.at(&path, &entry.value.loc))
    }
}

pub(super) struct UnitVariant<'a> {
    pub(super) name: &'a str,
}

impl<'de> EnumAccess<'de> for UnitVariant<'_> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), DeError> {
        let name: de::value::StrDeserializer<'_, DeError> = self.name.into_deserializer();
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> VariantAccess<'de> for UnitVariant<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, DeError> {
        Err(de::Error::custom("expected a plain value"))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, DeError> {
        Err(de::Error::custom("expected a plain value"))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, DeError> {
        Err(de::Error::custom("expected a plain value"))
    }
}

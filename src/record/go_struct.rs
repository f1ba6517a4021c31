//! `go_record!` declares a record struct together with JSON (de)serialization that behaves like
//! Go's encoding/json on c/storage's structs: fields in declaration order, `omitempty` fields
//! left out when empty, `null` read as empty, and (unlike Go) fields we do not know kept in
//! `extra` and written back after the known ones.
//!
//! It exists instead of `#[serde(flatten)]` because flatten buffers every record into an
//! intermediate map, which made loading a 50,000-layer store several times slower.

macro_rules! go_record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty => $json:literal $(, omit_if $skip:path)?;
            )*
        }
        not_persisted {
            $( $(#[$tmeta:meta])* $tfield:ident : $tty:ty; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Fields of newer c/storage versions, written back untouched.
            pub extra: $crate::record::Flags,
            $( $(#[$tmeta])* pub $tfield: $tty, )*
        }

        impl $name {
            const JSON_FIELDS: &'static [&'static str] = &[$($json),*];
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(None)?;
                $(
                    let skip = false $( || $skip(&self.$field) )?;
                    if !skip {
                        map.serialize_entry($json, &self.$field)?;
                    }
                )*
                for (key, value) in &self.extra {
                    if !Self::JSON_FIELDS.contains(&key.as_str()) {
                        map.serialize_entry(key, value)?;
                    }
                }
                map.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl<'de> serde::de::Visitor<'de> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str(concat!("a c/storage ", stringify!($name), " object"))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        let mut record = $name::default();
                        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                            match key.as_ref() {
                                $( $json => {
                                    if let Some(value) = map.next_value::<Option<$ty>>()? {
                                        record.$field = value;
                                    }
                                } )*
                                _ => {
                                    let value: serde_json::Value = map.next_value()?;
                                    record.extra.insert(key.into_owned(), value);
                                }
                            }
                        }
                        Ok(record)
                    }
                }
                deserializer.deserialize_map(Visitor)
            }
        }
    };
}

pub(crate) use go_record;

pub(crate) fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

pub(crate) fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

pub(crate) fn is_empty_str(v: &str) -> bool {
    v.is_empty()
}

pub(crate) fn is_empty_vec<T>(v: &[T]) -> bool {
    v.is_empty()
}

pub(crate) fn is_empty_map<K, V>(v: &std::collections::BTreeMap<K, V>) -> bool {
    v.is_empty()
}

pub(crate) fn is_empty_flags(v: &super::Flags) -> bool {
    v.is_empty()
}

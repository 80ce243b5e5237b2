//! One declaration per counter group: the struct, its board order, its
//! names and its conversion to and from board words all come from it.
//!
//! Why a macro: a group's counters used to be listed four times (fields,
//! `write`, `read`, names), matched by position; adding a counter to three
//! of the four lists compiled and published it under the wrong name. Here a
//! counter is one line, and every list is generated from that line.

/// Declares a counter group: a struct of `u64` counters (each with its doc
/// comment) plus optional `extra` fields that are not board words (with
/// their own types), and generates `NAMES` (the counters' names in board
/// order), `WORDS`, `to_words` and `from_words`.
///
/// ```
/// dataplane::counter_group! {
///     /// What a port did.
///     pub struct Port {
///         /// Packets in.
///         packets,
///         /// Their bytes.
///         bytes,
///     }
/// }
/// let p = Port { packets: 2, bytes: 3 };
/// assert_eq!(Port::NAMES, ["packets", "bytes"]);
/// assert_eq!(Port::from_words(&p.to_words()), p);
/// ```
#[macro_export]
macro_rules! counter_group {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident ),* $(,)?
        }
        $( extra {
            $( $(#[$emeta:meta])* $efield:ident : $ety:ty ),* $(,)?
        } )?
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        $vis struct $name {
            $( $( $(#[$emeta])* pub $efield: $ety, )* )?
            $( $(#[$fmeta])* pub $field: u64, )*
        }

        impl $name {
            /// The counters' names, in board order.
            pub const NAMES: [&'static str; [$(stringify!($field)),*].len()] =
                [$(stringify!($field)),*];
            /// Board words of the group.
            pub const WORDS: usize = Self::NAMES.len();

            /// The counters in board order.
            pub fn to_words(self) -> [u64; Self::WORDS] {
                [$(self.$field),*]
            }

            /// Rebuilds the counters from board words (missing words read
            /// as 0; `extra` fields take their defaults).
            pub fn from_words(words: &[u64]) -> Self {
                let mut w = words.iter().copied();
                let mut out = Self::default();
                $( out.$field = w.next().unwrap_or(0); )*
                out
            }
        }
    };
}

/// Concatenates name lists in const context, so a board group made of
/// several declared groups still has one `const` name list.
pub const fn concat_names<const N: usize>(parts: &[&[&'static str]]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut k = 0;
    let mut i = 0;
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[k] = parts[i][j];
            k += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(k == N, "concat_names: length mismatch");
    out
}

#[cfg(test)]
mod tests {
    crate::counter_group! {
        /// Test group.
        pub struct G {
            /// a.
            a,
            /// b.
            b,
        }
        extra {
            /// Not a word.
            tag: [u8; 2],
        }
    }

    #[test]
    fn declared_once_named_and_round_tripped() {
        let g = G {
            a: 1,
            b: 2,
            tag: [9, 9],
        };
        assert_eq!(G::NAMES, ["a", "b"]);
        assert_eq!(g.to_words(), [1, 2]);
        assert_eq!(G::from_words(&[1, 2]), G { tag: [0, 0], ..g });
        assert_eq!(G::from_words(&[5]).b, 0);
        const ALL: [&str; 3] = super::concat_names(&[&["up"], &G::NAMES]);
        assert_eq!(ALL, ["up", "a", "b"]);
    }
}

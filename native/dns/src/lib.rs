//! plait-dns: a sans-IO DNS wire codec.
//!
//! [`Message::parse`] reads a whole message (header, question, answer, authority and
//! additional sections, EDNS0 through the OPT record) and [`Message::render`] writes one,
//! compressing names where RFC 3597 §4 allows it and truncating cleanly to a size limit.
//! No I/O, no clock, no panics on input: malformed data is a [`FormatError`] with the byte
//! offset where it went wrong. [`Message::parse_with`] does the same reading and checking
//! into any [`Sink`] (plait's Python extension builds its objects that way, with no
//! intermediate [`Message`]).
#![warn(missing_docs)]

mod answer;
mod cache;
mod denial;
mod error;
mod message;
mod name;
mod nsec3;
mod rdata;
mod svcb;
mod wire;
mod zone;

pub use error::{FormatError, RenderError};
pub use message::{Edns, Header, Message, Question, Record, Section, Sink};
pub use name::{Name, MAX_LABEL_LEN, MAX_NAME_LEN};
pub use rdata::{rtype, RData};
pub use svcb::{key as svc_key, SvcParam};
pub use answer::{rcode, Catalog, Config, Outcome, MAX_CHAIN, MIN_UDP_SIZE};
pub use zone::{canonical_key, Node, RRset, Zone, ZoneError, CLASS_IN};
pub use nsec3::{base32hex_decode, hash_name, sha1, Nsec3Chain};

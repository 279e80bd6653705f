//! Sans-IO AMP/JUICE box framing.
#![warn(missing_docs)]

//! Signature verification (to be written).

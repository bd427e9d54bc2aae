//! Secret detection (to be written).

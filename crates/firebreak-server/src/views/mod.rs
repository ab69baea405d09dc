//! Presentation both transports share, below them and the application layer: pure functions
//! from domain values to text (no state, no I/O).

pub mod markdown;

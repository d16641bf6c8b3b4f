//! Integration tests of `tocsin-hash`: golden outputs of Meta's reference and decoder robustness.

mod helpers;
mod reference;
mod robustness;
mod vpdq;

//! Tests of the Merkle log's mathematics: published reference vectors, then properties over
//! every small tree.

mod helpers;
mod properties;
mod vectors;

//! Spice: the verifiable state machine built on the engine.
pub mod poseidon;
pub mod set_digest;
pub mod set_digest_gadget;
pub mod store;

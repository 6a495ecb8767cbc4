//! Spice: the verifiable state machine built on the engine.
pub mod audit;
pub mod batch;
pub mod cost;
pub mod eddsa;
pub mod eddsa_gadget;
pub mod poseidon;
pub mod proof_log;
pub mod request_commitment;
pub mod set_digest;
pub mod set_digest_gadget;
pub mod storage_gadget;
pub mod store;

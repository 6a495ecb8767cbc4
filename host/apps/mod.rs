//! Spice's applications (DESIGN §5): each is an [`App`](super::storage_gadget::App) — native
//! logic and its circuit twin over the storage gadget — plus a seeded
//! [`Workload`](super::workload::Workload).

pub mod account;
pub mod clients;
pub mod darkpool;
pub mod interbank;
pub mod ledger;
pub mod transfer;

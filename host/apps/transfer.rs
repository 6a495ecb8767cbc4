//! A workload for [`TransferApp`] (the storage layer's worked example, defined with the
//! storage gadget): unsigned u64 balances, deposits, transfers and reads. It exercises the
//! store, the batch circuit and the audit without the cost of signatures — the baseline the
//! real apps are measured against (`spice demo --app transfer`).
//!
//! The mix: every stream is one client owning a disjoint set of accounts (so its transfers
//! never race with another client's debits); it transfers from its accounts to receivers
//! drawn with a heavy skew (hot keys: the receiver's index is `⌊n·u³⌋` for a uniform u, so the
//! first 1% of the accounts take about 22% of the transfers, and the lock of the hottest
//! accounts is contended by every stream), reads a balance now and then, and sends about 4%
//! of requests that the app must reject (an overdraft, or an overflowing deposit).

use ark_bls12_381::Fr;
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};

pub use crate::host::storage_gadget::transfer::{TransferApp, TransferRequest};

use crate::host::{
    field_encoding::u64_of,
    poseidon,
    workload::{ResyncError, ResyncState, Stream, Workload},
};

/// Label of the domain tag of account keys.
pub const ACCOUNT_DOMAIN_LABEL: &str = "spice/apps/transfer/account/v1";

/// The balance [`TransferWorkload::setup`] deposits into every account.
pub const INITIAL_BALANCE: u64 = 1_000_000;

/// The key of account `index`: a Poseidon hash, so keys spread over the whole field.
pub fn account_key(index: u64) -> Fr {
    poseidon::hash(
        poseidon::domain_tag(ACCOUNT_DOMAIN_LABEL),
        [Fr::from(index), Fr::from(0u64), Fr::from(0u64)],
    )
}

/// A seeded workload of `accounts` accounts (see the module docs).
#[derive(Clone, Debug)]
pub struct TransferWorkload {
    accounts: u64,
    rng: StdRng,
    /// What each account holds at least: its deposit less what its owner sent (credits from
    /// other clients arrive in an order the generator does not know).
    floor: Vec<u64>,
}

impl TransferWorkload {
    /// A workload over `accounts` accounts (at least 2) from `seed`.
    pub fn new(accounts: u64, seed: u64) -> Self {
        let accounts = accounts.max(2);
        Self {
            accounts,
            rng: StdRng::seed_from_u64(seed),
            floor: vec![0; accounts as usize],
        }
    }

    /// Number of accounts.
    pub fn accounts(&self) -> u64 {
        self.accounts
    }

    /// A receiver other than `from`, skewed towards low indices.
    fn receiver(&mut self, from: u64) -> u64 {
        let u: f64 = self.rng.gen();
        let to = ((self.accounts as f64) * u * u * u) as u64 % self.accounts;
        if to == from {
            (to + 1) % self.accounts
        } else {
            to
        }
    }

    /// The next request of the client owning `owned`.
    fn request(&mut self, owned: &[u64]) -> TransferRequest {
        let from = owned[self.rng.gen_range(0..owned.len())];
        let roll: u32 = self.rng.gen_range(0..100);
        match roll {
            // An overdraft: more than the account can hold.
            0..=2 => TransferRequest::Transfer {
                from: account_key(from),
                to: account_key(self.receiver(from)),
                amount: u64::MAX,
            },
            // A deposit that overflows the receiver's balance.
            3 => TransferRequest::Deposit {
                to: account_key(self.receiver(from)),
                amount: u64::MAX,
            },
            4..=12 => TransferRequest::Read {
                key: account_key(from),
            },
            _ => {
                let floor = &mut self.floor[from as usize];
                let amount = self.rng.gen_range(0..=(*floor / 10).max(1)).min(*floor);
                *floor -= amount;
                let to = self.receiver(from);
                TransferRequest::Transfer {
                    from: account_key(from),
                    to: account_key(to),
                    amount,
                }
            }
        }
    }
}

impl Workload for TransferWorkload {
    type App = TransferApp;

    fn app(&self) -> TransferApp {
        TransferApp
    }

    /// One deposit of [`INITIAL_BALANCE`] per account, in as many streams as there are
    /// accounts (they are independent).
    fn setup(&mut self) -> Vec<Stream<TransferApp>> {
        self.floor.iter_mut().for_each(|f| *f = INITIAL_BALANCE);
        (0..self.accounts)
            .map(|i| {
                vec![TransferRequest::Deposit {
                    to: account_key(i),
                    amount: INITIAL_BALANCE,
                }]
            })
            .collect()
    }

    /// Every account's floor is its balance in `state`; an account never written is one whose
    /// deposit is missing (setup deposits into every account before any transfer), and its
    /// deposit comes back as a stream of its own, as in [`Workload::setup`].
    fn resync(&mut self, state: &ResyncState) -> Result<Vec<Stream<TransferApp>>, ResyncError> {
        let mut missing = Vec::new();
        for (index, floor) in (0..self.accounts).zip(&mut self.floor) {
            let key = account_key(index);
            if state.contains(&key) {
                *floor = u64_of(state.get(&key)).ok_or_else(|| ResyncError::BadRecord {
                    what: format!("balance of account {index}"),
                })?;
            } else {
                *floor = INITIAL_BALANCE;
                missing.push(vec![TransferRequest::Deposit {
                    to: key,
                    amount: INITIAL_BALANCE,
                }]);
            }
        }
        Ok(missing)
    }

    fn streams(&mut self, requests: usize, streams: usize) -> Vec<Stream<TransferApp>> {
        // Clients own disjoint accounts: client c owns the accounts ≡ c (mod clients).
        let clients = streams.clamp(1, self.accounts as usize);
        let owned: Vec<Vec<u64>> = (0..clients as u64)
            .map(|c| (c..self.accounts).step_by(clients).collect())
            .collect();
        let mut out: Vec<Stream<TransferApp>> = vec![Vec::new(); clients];
        for i in 0..requests {
            let client = i % clients;
            let request = self.request(&owned[client]);
            out[client].push(request);
        }
        out.retain(|stream| !stream.is_empty());
        out
    }
}

//! The simulated clients of the account apps (ledger, interbank): a seeded [`Population`] of
//! key holders that opens and funds accounts, then sends transfers and balance reads — with
//! skewed hot payees and a few per cent of requests the app must reject — as
//! [`Workload`] streams.
//!
//! # Streams and the balances the generator expects
//!
//! Client `i` sends from stream `i mod W` only, so its signed requests reach the store in the
//! order of their nonces (a nonce must exceed the stored one; two streams sharing a payer
//! could reorder them). Payees are chosen across all clients by a Zipf law (client 0 the
//! hottest), which is where concurrent streams meet on shared keys.
//!
//! Transfers are sized so that they are accepted however the streams interleave: a payer
//! spends at most the balance it had when [`Workload::streams`] was called, minus what it
//! already sent in this call — incoming money only raises its balance. After each call the
//! generator applies every planned transfer to its expected balances, which are therefore
//! exact once the call's streams have run (the precondition: run each call's streams before
//! asking for the next, and [`Workload::setup`]'s before the first).
//!
//! # Rejected requests (the [`Mischief`] kinds)
//!
//! The kinds take turns. Each is rejected whatever the interleaving: an overdraft asks for more than the whole
//! supply; a forged signature is another client's signature on the payer's message; a replay
//! is a byte-for-byte copy of an earlier accepted request of the same stream, so its nonce is
//! stale; an unopened payee is a key nobody opened; a wrong bank (interbank) names a bank the
//! payee does not bank with. [`Population::planned_rejections`] counts them, so a test can
//! check that exactly these were rejected.

use ark_bls12_381::Fr;
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use sha2::{Digest, Sha256};

use super::account::Account;
use crate::host::{
    eddsa::{PublicKey, SecretKey},
    storage_gadget::App,
    workload::{ResyncError, ResyncState, Stream, Workload, Zipf},
};

/// A kind of request the app must reject, mixed into a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mischief {
    /// A transfer of more than the total supply.
    Overdraft,
    /// A transfer signed by another client's key.
    ForgedSignature,
    /// An earlier accepted request, sent again.
    Replay,
    /// A transfer to a key that was never opened.
    UnopenedPayee,
    /// A transfer naming the wrong bank for the payee (apps with banks only).
    WrongBank,
}

/// Where money goes: an account key and the bank that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payee<B> {
    /// The payee's account key.
    pub account: Fr,
    /// The payee's bank.
    pub bank: B,
}

/// One simulated client.
#[derive(Clone, Debug)]
pub struct Client<B> {
    /// The client's signing key.
    pub key: SecretKey,
    /// Its account key.
    pub account: Fr,
    /// The bank it banks with.
    pub bank: B,
    /// The last nonce it used.
    pub nonce: u64,
    /// The balance the generator expects once every stream handed out so far has run.
    pub balance: u64,
}

impl<B: Copy> Client<B> {
    /// The client as a payee.
    pub fn payee(&self) -> Payee<B> {
        Payee {
            account: self.account,
            bank: self.bank,
        }
    }
}

/// A transfer to build: who pays, who signs (the payer, unless forged), whom, how much.
#[derive(Clone, Copy, Debug)]
pub struct TransferOrder<'a, B> {
    /// The paying client.
    pub payer: &'a Client<B>,
    /// The key that signs (the payer's own key for an honest transfer).
    pub signer: &'a SecretKey,
    /// The payee's account.
    pub payee: Fr,
    /// The payee's bank as the request names it (the true one for an honest transfer).
    pub payee_bank: B,
    /// The amount.
    pub amount: u64,
    /// The nonce.
    pub nonce: u64,
}

/// An account app as the population sees it: how to build its requests.
pub trait AccountRequests: App {
    /// How the app names a bank (`()` for an app without banks).
    type Bank: Copy + std::fmt::Debug + PartialEq + Send + Sync;

    /// The kinds of rejected requests that make sense for the app.
    const MISCHIEF: &'static [Mischief];

    /// The app's banks (one element for an app without banks).
    fn banks(&self) -> Vec<Self::Bank>;

    /// The issuer key the app trusts.
    fn issuer(&self) -> PublicKey;

    /// The account key of `owner`.
    fn account_key(&self, owner: &PublicKey) -> Fr;

    /// `owner` opens its account at `bank`.
    fn open_request(&self, owner: &SecretKey, bank: Self::Bank, nonce: u64) -> Self::Request;

    /// The issuer creates `amount` into `payee`'s account.
    fn issue_request(
        &self,
        issuer: &SecretKey,
        payee: Payee<Self::Bank>,
        amount: u64,
        nonce: u64,
    ) -> Self::Request;

    /// A transfer as ordered.
    fn transfer_request(&self, order: &TransferOrder<'_, Self::Bank>) -> Self::Request;

    /// A read of `owner`'s account.
    fn balance_request(&self, owner: &PublicKey) -> Self::Request;

    /// The key of the issuer's mint record (its nonce and the money issued so far).
    fn mint_key(&self) -> Fr;

    /// The account (or mint) record stored as `value`, if it is one.
    fn account_record(&self, value: Fr) -> Option<Account>;
}

/// The shape of a population's traffic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mix {
    /// Per cent of requests the app must reject.
    pub invalid_percent: u8,
    /// Per cent of requests that are balance reads.
    pub balance_percent: u8,
    /// Exponent s of the Zipf law over payees (weight of rank k: 1/(k + 1)^s).
    pub zipf_exponent: f64,
    /// What setup issues to every client.
    pub initial_balance: u64,
    /// The largest honest transfer.
    pub max_transfer: u64,
}

impl Default for Mix {
    /// 4 % rejected, 5 % reads, s = 1, a million each, transfers up to 10,000.
    fn default() -> Self {
        Self {
            invalid_percent: 4,
            balance_percent: 5,
            zipf_exponent: 1.0,
            initial_balance: 1_000_000,
            max_transfer: 10_000,
        }
    }
}

/// Why a population cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PopulationError {
    /// Transfers need a payer and a different payee.
    #[error("a population needs at least 2 clients, {clients} asked for")]
    TooFewClients {
        /// Clients asked for.
        clients: usize,
    },
    /// The issuer's key is not a valid public key.
    #[error("the issuer key is not a valid public key")]
    InvalidIssuer,
    /// The issuer's secret key is not the one the app trusts.
    #[error("the issuer key does not match the app's issuer")]
    IssuerMismatch,
    /// Rejected and read percentages above 100, or a mischief-free app asked for rejections.
    #[error("the mix is not a distribution: {0}")]
    BadMix(&'static str),
    /// The app cannot have that many banks.
    #[error("{banks} banks asked for, the app has 1 to {max}")]
    BankCount {
        /// Banks asked for.
        banks: u8,
        /// The most the app supports.
        max: u8,
    },
    /// The app lists no bank to open accounts at.
    #[error("the app has no bank")]
    NoBanks,
    /// The supply would not fit 64 bits.
    #[error("{clients} clients × {initial_balance} overflows a 64-bit supply")]
    SupplyOverflow {
        /// Clients.
        clients: usize,
        /// Initial balance each.
        initial_balance: u64,
    },
}

/// Number of never-opened keys kept as payees of [`Mischief::UnopenedPayee`].
const OUTSIDERS: usize = 4;

/// The issuer key of the workload seeded with `seed`: from a generator of its own (seeded by
/// SHA-256 of a label and the seed), so that it is independent of the clients' keys.
pub fn issuer_key(seed: u64) -> SecretKey {
    let digest: [u8; 32] = Sha256::new_with_prefix(ISSUER_SEED_LABEL)
        .chain_update(seed.to_le_bytes())
        .finalize()
        .into();
    SecretKey::generate(&mut StdRng::from_seed(digest))
}

/// Label of [`issuer_key`]'s seed derivation.
const ISSUER_SEED_LABEL: &[u8] = b"spice/workload/issuer-seed/v1";

/// The seeded client population of an account app (see the module docs).
#[derive(Debug)]
pub struct Population<A: AccountRequests> {
    app: A,
    issuer: SecretKey,
    issuer_nonce: u64,
    clients: Vec<Client<A::Bank>>,
    outsiders: Vec<Fr>,
    payees: Zipf,
    mix: Mix,
    rng: StdRng,
    supply: u64,
    set_up: bool,
    planned_rejections: usize,
}

impl<A: AccountRequests> Population<A> {
    /// `clients` clients of `app` with keys and banks drawn from `seed`; `issuer` must be
    /// the secret key of `app`'s issuer.
    pub fn new(
        app: A,
        issuer: SecretKey,
        clients: usize,
        mix: Mix,
        seed: u64,
    ) -> Result<Self, PopulationError> {
        if clients < 2 {
            return Err(PopulationError::TooFewClients { clients });
        }
        if issuer.public_key() != app.issuer() {
            return Err(PopulationError::IssuerMismatch);
        }
        if u16::from(mix.invalid_percent) + u16::from(mix.balance_percent) > 100 {
            return Err(PopulationError::BadMix("more than 100 per cent"));
        }
        if mix.invalid_percent > 0 && A::MISCHIEF.is_empty() {
            return Err(PopulationError::BadMix(
                "the app lists no kind of rejection",
            ));
        }
        u64::try_from(clients)
            .ok()
            .and_then(|n| n.checked_mul(mix.initial_balance))
            .ok_or(PopulationError::SupplyOverflow {
                clients,
                initial_balance: mix.initial_balance,
            })?;
        let banks = app.banks();
        if banks.is_empty() {
            return Err(PopulationError::NoBanks);
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let clients = (0..clients)
            .map(|_| {
                let key = SecretKey::generate(&mut rng);
                let bank = banks[rng.gen_range(0..banks.len())];
                Client {
                    account: app.account_key(&key.public_key()),
                    key,
                    bank,
                    nonce: 0,
                    balance: 0,
                }
            })
            .collect::<Vec<_>>();
        let outsiders = (0..OUTSIDERS)
            .map(|_| app.account_key(&SecretKey::generate(&mut rng).public_key()))
            .collect();
        Ok(Self {
            payees: Zipf::new(clients.len(), mix.zipf_exponent),
            app,
            issuer,
            issuer_nonce: 0,
            clients,
            outsiders,
            mix,
            rng,
            supply: 0,
            set_up: false,
            planned_rejections: 0,
        })
    }

    /// The clients, with the balances the generator expects.
    pub fn clients(&self) -> &[Client<A::Bank>] {
        &self.clients
    }

    /// How many of the requests handed out so far the app must reject.
    pub fn planned_rejections(&self) -> usize {
        self.planned_rejections
    }

    /// Money issued by setup.
    pub fn supply(&self) -> u64 {
        self.supply
    }

    /// One stream: every client opens its account, then the issuer funds each. (One stream
    /// because an issue needs its payee opened and the issuer's nonces in order.) Empty
    /// once set up.
    fn setup_streams(&mut self) -> Vec<Stream<A>> {
        if self.set_up {
            return Vec::new();
        }
        self.set_up = true;
        let mut stream = Vec::with_capacity(2 * self.clients.len());
        for client in &mut self.clients {
            client.nonce += 1;
            stream.push(
                self.app
                    .open_request(&client.key, client.bank, client.nonce),
            );
        }
        for client in &mut self.clients {
            self.issuer_nonce += 1;
            stream.push(self.app.issue_request(
                &self.issuer,
                client.payee(),
                self.mix.initial_balance,
                self.issuer_nonce,
            ));
            client.balance += self.mix.initial_balance;
            self.supply += self.mix.initial_balance;
        }
        vec![stream]
    }

    /// [`Workload::resync`]: the clients' nonces and balances, the issuer's nonce and the
    /// supply from their records; the opens and issues of the setup the state lacks.
    fn resync_from(&mut self, state: &ResyncState) -> Result<Vec<Stream<A>>, ResyncError> {
        // The model of the setup (nonces, balances) is what the records correct below.
        self.setup_streams();
        let record = |key: &Fr, what: &dyn Fn() -> String| {
            self.app
                .account_record(state.get(key))
                .ok_or_else(|| ResyncError::BadRecord { what: what() })
        };
        let mint = record(&self.app.mint_key(), &|| "issuer's mint record".into())?;
        let mut missing = Vec::new();
        let mut records = Vec::with_capacity(self.clients.len());
        for (i, client) in self.clients.iter().enumerate() {
            records.push(record(&client.account, &|| {
                format!("account of client {i}")
            })?);
        }
        // The setup is one stream: every open, then one issue per client in client order,
        // the issuer's nonces 1, 2, …; so the issuer's stored nonce counts the issues made.
        let issued = usize::try_from(mint.nonce)
            .ok()
            .filter(|&k| k <= self.clients.len())
            .ok_or_else(|| ResyncError::NotThisWorkload {
                what: format!(
                    "the issuer's nonce is {}, its setup issues {} times",
                    mint.nonce,
                    self.clients.len()
                ),
            })?;
        for (client, found) in self.clients.iter_mut().zip(&records) {
            if found.opened {
                client.nonce = found.nonce;
                client.balance = found.balance;
            } else {
                // Unopened (a never-written key reads 0, as does a key only a rejected
                // request touched): its open is missing, with the setup's nonce.
                client.nonce = 1;
                client.balance = 0;
                missing.push(self.app.open_request(&client.key, client.bank, 1));
            }
        }
        for (i, client) in self.clients.iter_mut().enumerate().skip(issued) {
            missing.push(self.app.issue_request(
                &self.issuer,
                client.payee(),
                self.mix.initial_balance,
                i as u64 + 1,
            ));
            client.balance += self.mix.initial_balance;
        }
        let pending = (self.clients.len() - issued) as u64;
        self.issuer_nonce = self.clients.len() as u64;
        self.supply = mint
            .balance
            .checked_add(pending * self.mix.initial_balance)
            .ok_or_else(|| ResyncError::NotThisWorkload {
                what: format!("the issuer's mint record says {} issued", mint.balance),
            })?;
        Ok(if missing.is_empty() {
            Vec::new()
        } else {
            vec![missing]
        })
    }

    /// A payee for `payer` by the Zipf law, never the payer itself.
    fn payee_for(&mut self, payer: usize) -> usize {
        let payee = self.payees.sample(&mut self.rng);
        if payee == payer {
            (payer + 1) % self.clients.len()
        } else {
            payee
        }
    }

    fn request_streams(&mut self, requests: usize, streams: usize) -> Vec<Stream<A>> {
        let count = streams.min(self.clients.len());
        if count == 0 || requests == 0 {
            return Vec::new();
        }
        let n = self.clients.len();
        let mut out: Vec<Stream<A>> = vec![Vec::new(); count];
        // Accepted signed requests per stream: what a replay copies.
        let mut accepted: Vec<Vec<A::Request>> = vec![Vec::new(); count];
        let mut spendable: Vec<u64> = self.clients.iter().map(|c| c.balance).collect();
        let mut incoming = vec![0u64; n];
        for r in 0..requests {
            let stream = r % count;
            // Clients stream, stream + count, … belong to this stream.
            let members = (n - stream).div_ceil(count);
            let payer = stream + count * self.rng.gen_range(0..members);
            let roll = self.rng.gen_range(0..100u8);
            let request = if roll < self.mix.invalid_percent {
                let request = self.mischief(payer, &accepted[stream]);
                self.planned_rejections += 1;
                request
            } else if roll < self.mix.invalid_percent + self.mix.balance_percent
                || spendable[payer] == 0
            {
                self.app
                    .balance_request(&self.clients[payer].key.public_key())
            } else {
                let payee = self.payee_for(payer);
                let amount = self
                    .rng
                    .gen_range(1..=spendable[payer].min(self.mix.max_transfer.max(1)));
                spendable[payer] -= amount;
                incoming[payee] += amount;
                self.clients[payer].nonce += 1;
                let request = self.app.transfer_request(&TransferOrder {
                    payer: &self.clients[payer],
                    signer: &self.clients[payer].key,
                    payee: self.clients[payee].account,
                    payee_bank: self.clients[payee].bank,
                    amount,
                    nonce: self.clients[payer].nonce,
                });
                accepted[stream].push(request.clone());
                request
            };
            out[stream].push(request);
        }
        for ((client, left), received) in self.clients.iter_mut().zip(spendable).zip(incoming) {
            client.balance = left + received;
        }
        out
    }

    /// A request by `payer` that the app must reject; `accepted` are the stream's earlier
    /// accepted requests (a replay copies one; with none yet it becomes an overdraft).
    fn mischief(&mut self, payer: usize, accepted: &[A::Request]) -> A::Request {
        // The kinds take turns, so that every kind shows up once a workload has as many
        // rejections as there are kinds.
        let kinds = A::MISCHIEF;
        let kind = kinds[self.planned_rejections % kinds.len()];
        if kind == Mischief::Replay && !accepted.is_empty() {
            return accepted[self.rng.gen_range(0..accepted.len())].clone();
        }
        let payee = self.payee_for(payer);
        self.clients[payer].nonce += 1;
        let n = self.clients.len();
        let banks = self.app.banks();
        let mut order = TransferOrder {
            payer: &self.clients[payer],
            signer: &self.clients[payer].key,
            payee: self.clients[payee].account,
            payee_bank: self.clients[payee].bank,
            amount: self.rng.gen_range(1..=self.mix.max_transfer.max(1)),
            nonce: self.clients[payer].nonce,
        };
        match kind {
            Mischief::Overdraft | Mischief::Replay => {
                // No balance exceeds the supply.
                order.amount = self.supply.saturating_add(1 + self.rng.gen_range(0..1_000));
            }
            Mischief::ForgedSignature => order.signer = &self.clients[(payer + 1) % n].key,
            Mischief::UnopenedPayee => {
                order.payee = self.outsiders[self.rng.gen_range(0..self.outsiders.len())];
            }
            Mischief::WrongBank => {
                let others: Vec<A::Bank> = banks
                    .iter()
                    .copied()
                    .filter(|&b| b != order.payee_bank)
                    .collect();
                match others.len() {
                    // An app with one bank cannot misname it: overdraw instead.
                    0 => order.amount = self.supply.saturating_add(1),
                    len => order.payee_bank = others[self.rng.gen_range(0..len)],
                }
            }
        }
        self.app.transfer_request(&order)
    }
}

impl<A: AccountRequests> Workload for Population<A> {
    type App = A;

    fn app(&self) -> A {
        self.app.clone()
    }

    fn setup(&mut self) -> Vec<Stream<A>> {
        self.setup_streams()
    }

    fn streams(&mut self, requests: usize, streams: usize) -> Vec<Stream<A>> {
        self.request_streams(requests, streams)
    }

    fn resync(&mut self, state: &ResyncState) -> Result<Vec<Stream<A>>, ResyncError> {
        self.resync_from(state)
    }
}

//! A pool of lanes: independent copies of a backend's mutable device state (on a GPU, a stream
//! with its own workspace), each used by one caller at a time, so that several proofs can be
//! in flight on one device at once.
//!
//! A proof is a sequence of backend calls (the witness map, then MSMs over z, then the MSM over
//! h) that leave state behind for the next call: the schedule built for z, the h that is still
//! in a workspace array. A lane says which scalar vectors it holds ([`LaneState::resident`]),
//! and a call over a vector goes to the lane that holds it ([`LanePool::lock_holding`]), so
//! one proof's calls stay on one lane and find their state there. A lane in the middle of a
//! proof says so ([`LaneState::claimed`]: on the GPU, from the witness map until the H MSM
//! takes h), and everything else ([`LanePool::lock_any`]) takes the first free lane that is
//! not claimed: a proof between two calls keeps its lane while another is free, and callers
//! who prove one at a time only ever use the first lane (and its memory).
//!
//! Where a call lands never changes its result, only its speed: a lane that no longer holds a
//! vector rebuilds what it needs from the host's copy. The pool is generic so that this
//! policy is tested on every machine (the CUDA backend is its only user).

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// What a lane's state says about itself to the pool.
pub trait LaneState {
    /// Ids of the scalar vectors ([`crate::engine::MsmScalars::id`]) whose device copies this
    /// state holds now.
    fn resident(&self) -> Vec<u64>;

    /// Whether a caller is in the middle of work on this state that its next calls will come
    /// back for (a proof between its witness map and its last MSM).
    fn claimed(&self) -> bool;
}

/// The pool's book-keeping for one lane, behind the pool's lock.
#[derive(Clone, Debug, Default)]
struct LaneBook {
    busy: bool,
    /// [`LaneState::resident`] when the lane was last released.
    resident: Vec<u64>,
    /// [`LaneState::claimed`] when the lane was last released.
    claimed: bool,
    /// The pool's clock when the lane was last taken (0: never).
    last_taken: u64,
}

#[derive(Debug, Default)]
struct Books {
    lanes: Vec<LaneBook>,
    clock: u64,
}

/// Lanes of state `T`, handed out one caller per lane.
pub struct LanePool<T> {
    states: Vec<Mutex<T>>,
    books: Mutex<Books>,
    released: Condvar,
}

impl<T> std::fmt::Debug for LanePool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LanePool({} lanes)", self.states.len())
    }
}

/// Exclusive use of one lane's state until dropped.
pub struct LaneGuard<'p, T: LaneState> {
    pool: &'p LanePool<T>,
    index: usize,
    state: MutexGuard<'p, T>,
}

impl<T: LaneState> LanePool<T> {
    /// A pool of the given lanes. `lanes` must not be empty.
    pub fn new(lanes: Vec<T>) -> Self {
        assert!(!lanes.is_empty(), "a lane pool needs at least one lane");
        let books = Books {
            lanes: vec![LaneBook::default(); lanes.len()],
            clock: 0,
        };
        Self {
            states: lanes.into_iter().map(Mutex::new).collect(),
            books: Mutex::new(books),
            released: Condvar::new(),
        }
    }

    /// Number of lanes.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// Never true: a pool has at least one lane.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Lane `index`, waiting while another caller has it. Panics if `index` is out of range
    /// (lane indices come from the pool's own guards).
    pub fn lock(&self, index: usize) -> LaneGuard<'_, T> {
        assert!(index < self.len(), "lane {index} of {}", self.len());
        self.take(|books| (!books.lanes[index].busy).then_some(index))
    }

    /// The lane that holds vector `id`, waiting for it while it is busy; if no lane holds it,
    /// any free lane ([`LanePool::lock_any`]).
    pub fn lock_holding(&self, id: u64) -> LaneGuard<'_, T> {
        self.take(|books| {
            match books
                .lanes
                .iter()
                .position(|lane| lane.resident.contains(&id))
            {
                Some(i) => (!books.lanes[i].busy).then_some(i),
                None => first_free(books),
            }
        })
    }

    /// The first free lane that is not claimed; if every free lane is claimed, the one
    /// claimed longest ago (its caller may have given up); waits when all are busy.
    pub fn lock_any(&self) -> LaneGuard<'_, T> {
        self.take(first_free)
    }

    /// Every lane in turn, each while no one else has it (for work that must see all lanes,
    /// such as waiting for all their queued work).
    pub fn for_each<E>(
        &self,
        mut f: impl FnMut(&mut LaneGuard<'_, T>) -> Result<(), E>,
    ) -> Result<(), E> {
        for index in 0..self.len() {
            f(&mut self.lock(index))?;
        }
        Ok(())
    }

    /// Marks the lane `choose` picks busy and returns its guard; waits for a release and asks
    /// again while it picks none. `choose` sees the books under the pool's lock, so the lane
    /// it picks is free when it is taken.
    fn take(&self, choose: impl Fn(&Books) -> Option<usize>) -> LaneGuard<'_, T> {
        // The books are plain flags and ids, valid whatever a panicking holder was doing.
        let mut books = self.books.lock().unwrap_or_else(PoisonError::into_inner);
        let index = loop {
            if let Some(i) = choose(&books) {
                break i;
            }
            books = self
                .released
                .wait(books)
                .unwrap_or_else(PoisonError::into_inner);
        };
        books.clock += 1;
        let clock = books.clock;
        let lane = &mut books.lanes[index];
        lane.busy = true;
        lane.last_taken = clock;
        drop(books);
        // Uncontended: only the holder of the busy flag locks a lane's state. A panic while a
        // lane was held leaves device state the next call re-checks (schedules are found by
        // id, workspaces re-sized), so the state is taken over.
        let state = self.states[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        LaneGuard {
            pool: self,
            index,
            state,
        }
    }
}

fn first_free(books: &Books) -> Option<usize> {
    let free = || {
        books
            .lanes
            .iter()
            .enumerate()
            .filter(|(_, lane)| !lane.busy)
    };
    free()
        .find(|(_, lane)| !lane.claimed)
        .or_else(|| free().min_by_key(|(_, lane)| lane.last_taken))
        .map(|(i, _)| i)
}

impl<T: LaneState> LaneGuard<'_, T> {
    /// Which lane this is (to come back to it with [`LanePool::lock`]).
    pub fn index(&self) -> usize {
        self.index
    }
}

impl<T: LaneState> std::ops::Deref for LaneGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.state
    }
}

impl<T: LaneState> std::ops::DerefMut for LaneGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.state
    }
}

impl<T: LaneState> Drop for LaneGuard<'_, T> {
    fn drop(&mut self) {
        let resident = self.state.resident();
        let claimed = self.state.claimed();
        let mut books = self
            .pool
            .books
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // A vector is where it was last left: drop it from every other lane's list, so a call
        // over it never waits on a lane that was overwritten since.
        for (i, lane) in books.lanes.iter_mut().enumerate() {
            if i != self.index {
                lane.resident.retain(|id| !resident.contains(id));
            }
        }
        let lane = &mut books.lanes[self.index];
        lane.resident = resident;
        lane.claimed = claimed;
        lane.busy = false;
        drop(books);
        self.pool.released.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A lane that records what it holds and checks nobody else is inside it.
    #[derive(Default)]
    struct Probe {
        holds: Vec<u64>,
        claimed: bool,
        inside: Arc<AtomicBool>,
        uses: usize,
    }

    impl LaneState for Probe {
        fn resident(&self) -> Vec<u64> {
            self.holds.clone()
        }
        fn claimed(&self) -> bool {
            self.claimed
        }
    }

    fn pool(lanes: usize) -> LanePool<Probe> {
        LanePool::new((0..lanes).map(|_| Probe::default()).collect())
    }

    #[test]
    fn a_call_over_a_vector_goes_to_the_lane_that_holds_it() {
        let pool = pool(3);
        {
            let mut lane = pool.lock(1);
            lane.holds = vec![7, 9];
            lane.claimed = true;
        }
        // Lane 0 is free and first, yet both ids lead to lane 1.
        assert_eq!(pool.lock_holding(7).index(), 1);
        assert_eq!(pool.lock_holding(9).index(), 1);
    }

    #[test]
    fn one_caller_at_a_time_only_ever_uses_the_first_lane() {
        let pool = pool(3);
        for id in 0..6 {
            let mut lane = pool.lock_any();
            assert_eq!(lane.index(), 0);
            lane.holds = vec![id]; // a schedule left behind does not claim the lane
        }
        assert_eq!(pool.lock_holding(99).index(), 0);
    }

    #[test]
    fn a_fresh_call_passes_over_a_lane_claimed_by_a_proof_in_progress() {
        let pool = pool(3);
        {
            let mut lane = pool.lock_any();
            lane.claimed = true;
        }
        assert_eq!(
            pool.lock_any().index(),
            1,
            "lane 0 is between two calls of a proof"
        );
        let (one, two) = (pool.lock(1), pool.lock(2));
        assert_eq!(
            pool.lock_any().index(),
            0,
            "claimed, but the only free lane: taken rather than waited for"
        );
        drop((one, two));
        // With every free lane claimed, the one claimed longest ago is taken.
        for i in [2, 1] {
            pool.lock(i).claimed = true;
        }
        assert_eq!(pool.lock_any().index(), 0);
    }

    #[test]
    fn a_fresh_call_never_waits_for_a_busy_lane_while_one_is_free() {
        let pool = Arc::new(pool(2));
        let held = pool.lock(0);
        let (sent, got) = std::sync::mpsc::channel();
        let p = pool.clone();
        std::thread::spawn(move || sent.send(p.lock_any().index()));
        let index = got
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("lock_any waited on the busy lane 0");
        assert_eq!(index, 1);
        drop(held);
    }

    #[test]
    fn a_vector_unknown_to_every_lane_takes_any_free_lane() {
        let pool = pool(2);
        let held = pool.lock(0);
        assert_eq!(pool.lock_holding(42).index(), 1);
        drop(held);
    }

    #[test]
    fn a_vector_left_on_another_lane_is_forgotten_where_it_was() {
        let pool = pool(2);
        {
            let mut lane = pool.lock(0);
            lane.holds = vec![5];
        }
        {
            // Lane 1 rebuilt vector 5 (lane 0 was busy, say): it is there now, not on lane 0.
            let mut lane = pool.lock(1);
            lane.holds = vec![5];
        }
        assert_eq!(pool.lock_holding(5).index(), 1);
        let lane0 = pool.lock(0);
        assert!(
            lane0.holds.contains(&5),
            "the state itself is not changed by the books"
        );
        drop(lane0);
    }

    #[test]
    fn a_call_for_a_busy_holder_waits_for_it_rather_than_taking_a_free_lane() {
        let pool = Arc::new(pool(2));
        {
            let mut lane = pool.lock(0);
            lane.holds = vec![3];
        }
        let held = pool.lock(0);
        let waiter = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.lock_holding(3).index())
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            !waiter.is_finished(),
            "lane 1 is free, but vector 3 is on lane 0"
        );
        drop(held);
        assert_eq!(waiter.join().unwrap(), 0);
    }

    #[test]
    fn a_lane_released_by_a_panic_is_usable_again() {
        let pool = Arc::new(pool(1));
        let p = pool.clone();
        let result = std::thread::spawn(move || {
            let mut lane = p.lock_any();
            lane.holds = vec![1];
            panic!("a bug while holding the lane");
        })
        .join();
        assert!(result.is_err());
        let lane = pool.lock_holding(1);
        assert_eq!(lane.index(), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Threads hammering a pool with random requests: no lane is ever used by two callers
        /// at once, every request is served, and a vector's calls land where it was left
        /// whenever nobody else touched it in between.
        #[test]
        fn lanes_are_exclusive_under_concurrent_callers(
            lanes in 1usize..5,
            threads in 1usize..6,
            plans in proptest::collection::vec(proptest::collection::vec((0u8..3, 0u64..6), 1..30), 6),
        ) {
            let pool = pool(lanes);
            let overlaps = AtomicUsize::new(0);
            let served = AtomicUsize::new(0);
            std::thread::scope(|scope| {
                for plan in plans.iter().take(threads) {
                    let (pool, overlaps, served) = (&pool, &overlaps, &served);
                    scope.spawn(move || {
                        for &(kind, id) in plan {
                            let mut lane = match kind {
                                0 => pool.lock_any(),
                                1 => pool.lock_holding(id),
                                _ => pool.lock((id as usize) % pool.len()),
                            };
                            if lane.inside.swap(true, Ordering::SeqCst) {
                                overlaps.fetch_add(1, Ordering::SeqCst);
                            }
                            lane.holds = vec![id];
                            lane.claimed = id % 2 == 0;
                            lane.uses += 1;
                            std::thread::yield_now();
                            lane.inside.store(false, Ordering::SeqCst);
                            served.fetch_add(1, Ordering::SeqCst);
                        }
                    });
                }
            });
            prop_assert_eq!(overlaps.load(Ordering::SeqCst), 0);
            let requests: usize = plans.iter().take(threads).map(Vec::len).sum();
            prop_assert_eq!(served.load(Ordering::SeqCst), requests);
            let uses: usize = (0..pool.len()).map(|i| pool.lock(i).uses).sum();
            prop_assert_eq!(uses, requests);
            // Single-threaded now: each id still listed leads to a lane whose state holds it.
            for id in 0..6u64 {
                let lane = pool.lock_holding(id);
                let listed = pool.books.lock().unwrap().lanes.iter().any(|l| l.resident.contains(&id));
                if listed {
                    prop_assert!(lane.holds.contains(&id), "id {} led to lane {} which holds {:?}", id, lane.index(), lane.holds);
                }
            }
        }
    }
}

//! Proving independent jobs several at a time while committing their results strictly in
//! order: the service's batch proofs and audit chunk proofs are independent once their
//! witnesses exist, but the log must hold them in sequence, and a failure must leave the log
//! holding exactly the jobs before it.
//!
//! ```text
//! jobs ─▶ committer ─(at most K in flight)─▶ K provers ─▶ results ─▶ reorder ─▶ commit, in order
//! ```
//!
//! The committer (the calling thread) hands out jobs, never more than K unfinished, and
//! commits results as soon as the next one in order is ready. At the first failure (a job
//! that could not be built, a proof that failed, a commit that failed) it stops handing out
//! jobs, returns that error, and drops whatever later results arrive: they were proved, but
//! nothing after a failure is committed. A panic in a prover is resumed on the caller.

use std::any::Any;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Mutex;

/// What a prover thread sends back for job `index`.
enum Outcome<P, E> {
    Done(Result<P, E>),
    Panicked(Box<dyn Any + Send>),
}

/// Runs `prove` over `jobs` on `in_flight` threads (at least 1) and calls `commit` with each
/// result in the jobs' order. Returns the first error in that order: a job the iterator
/// yielded as an error, a failed proof, or a failed commit; nothing after it is committed.
/// `jobs` is pulled lazily, only when a prover is free, so it may block (a channel from the
/// thread that builds the jobs) and stops being pulled at the first failure.
pub fn prove_in_order<J, P, E>(
    jobs: impl IntoIterator<Item = Result<J, E>>,
    in_flight: usize,
    prove: impl Fn(J) -> Result<P, E> + Sync,
    mut commit: impl FnMut(P) -> Result<(), E>,
) -> Result<(), E>
where
    J: Send,
    P: Send,
    E: Send,
{
    let in_flight = in_flight.max(1);
    let mut jobs = jobs.into_iter().enumerate();
    let prove = &prove;
    // The provers borrow the queue, so it outlives the scope; the senders are moved into it,
    // so that returning from it (at a failure too) is what tells the provers to stop.
    let (work, queue) = mpsc::channel::<(usize, J)>();
    let (results, finished) = mpsc::channel::<(usize, Outcome<P, E>)>();
    let queue = Mutex::new(queue);
    let queue = &queue;
    std::thread::scope(move |scope| {
        for _ in 0..in_flight {
            let results = results.clone();
            scope.spawn(move || loop {
                // Only the wait for the next job holds the queue's lock, never a proof.
                let next = queue
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .recv();
                let Ok((index, job)) = next else { return }; // the committer is done
                let outcome = match catch_unwind(AssertUnwindSafe(|| prove(job))) {
                    Ok(result) => Outcome::Done(result),
                    Err(panic) => Outcome::Panicked(panic),
                };
                if results.send((index, outcome)).is_err() {
                    return; // the committer stopped at a failure
                }
            });
        }
        drop(results);

        let mut waiting: BTreeMap<usize, Result<P, E>> = BTreeMap::new();
        let (mut next_to_commit, mut unfinished, mut exhausted) = (0usize, 0usize, false);
        loop {
            // Hand out jobs while provers are free. A job that failed to build takes its place
            // in the order as a failure, and nothing after it is handed out.
            while !exhausted && unfinished < in_flight {
                match jobs.next() {
                    Some((index, Ok(job))) => {
                        // The provers outlive this loop (they end when `work` is dropped).
                        if work.send((index, job)).is_err() {
                            exhausted = true;
                        } else {
                            unfinished += 1;
                        }
                    }
                    Some((index, Err(error))) => {
                        waiting.insert(index, Err(error));
                        exhausted = true;
                    }
                    None => exhausted = true,
                }
            }
            while let Some(result) = waiting.remove(&next_to_commit) {
                next_to_commit += 1;
                commit(result?)?;
            }
            if unfinished == 0 {
                // Everything handed out is committed; a failed job would have returned above.
                return Ok(());
            }
            let Ok((index, outcome)) = finished.recv() else {
                // Every prover ended with jobs unfinished: only a panic outside `prove` could
                // do that, and `catch_unwind` leaves none, so this is not reached.
                unreachable!("the prover threads ended with {unfinished} proofs unfinished");
            };
            unfinished -= 1;
            match outcome {
                Outcome::Done(result) => {
                    waiting.insert(index, result);
                }
                Outcome::Panicked(panic) => resume_unwind(panic),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[derive(Debug, PartialEq, Eq)]
    enum Failure {
        Build(usize),
        Prove(usize),
        Commit(usize),
    }

    /// Runs jobs 0..n where `build`, `prove`, `commit` fail at the given indices, with
    /// `delays[i]` milliseconds of "proving"; returns what was committed, the result, and
    /// the most proofs that ran at once.
    fn run(
        n: usize,
        in_flight: usize,
        delays: &[u64],
        fail_build: Option<usize>,
        fail_prove: Option<usize>,
        fail_commit: Option<usize>,
    ) -> (Vec<usize>, Result<(), Failure>, usize) {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let mut committed = Vec::new();
        let jobs = (0..n).map(|i| {
            if fail_build == Some(i) {
                Err(Failure::Build(i))
            } else {
                Ok(i)
            }
        });
        let result = prove_in_order(
            jobs,
            in_flight,
            |i| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(delays.get(i).copied().unwrap_or(0)));
                running.fetch_sub(1, Ordering::SeqCst);
                if fail_prove == Some(i) {
                    Err(Failure::Prove(i))
                } else {
                    Ok(i * 10)
                }
            },
            |p| {
                if fail_commit == Some(p / 10) {
                    return Err(Failure::Commit(p / 10));
                }
                committed.push(p / 10);
                Ok(())
            },
        );
        (committed, result, most.load(Ordering::SeqCst))
    }

    #[test]
    fn results_are_committed_in_order_when_later_jobs_finish_first() {
        // Job 0 is the slowest: 1, 2, 3 finish before it and wait.
        let (committed, result, _) = run(4, 4, &[80, 5, 5, 5], None, None, None);
        assert_eq!(result, Ok(()));
        assert_eq!(committed, [0, 1, 2, 3]);
    }

    #[test]
    fn every_slot_in_flight_is_used_at_once() {
        // Each proof waits (up to 10 s) until all three are running: they can only all get
        // there if the three were handed out together.
        let running = AtomicUsize::new(0);
        let met = AtomicUsize::new(0);
        let result = prove_in_order(
            (0..3).map(Ok::<usize, ()>),
            3,
            |i| {
                running.fetch_add(1, Ordering::SeqCst);
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                while running.load(Ordering::SeqCst) < 3 && std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                if running.load(Ordering::SeqCst) == 3 {
                    met.fetch_add(1, Ordering::SeqCst);
                }
                Ok(i)
            },
            |_| Ok(()),
        );
        assert_eq!(result, Ok(()));
        assert_eq!(
            met.load(Ordering::SeqCst),
            3,
            "the three proofs were not all in flight together"
        );
    }

    #[test]
    fn no_more_than_in_flight_proofs_run_at_once() {
        let (committed, result, most) = run(9, 2, &[10; 9], None, None, None);
        assert_eq!(result, Ok(()));
        assert_eq!(committed, (0..9).collect::<Vec<_>>());
        assert_eq!(most, 2);
    }

    #[test]
    fn an_empty_job_list_commits_nothing() {
        assert_eq!(run(0, 3, &[], None, None, None), (vec![], Ok(()), 0));
    }

    #[test]
    fn a_panicking_proof_panics_the_caller() {
        let result = catch_unwind(|| {
            prove_in_order(
                (0..3).map(Ok::<usize, ()>),
                2,
                |i| {
                    if i == 1 {
                        panic!("bug in proof {i}")
                    } else {
                        Ok(i)
                    }
                },
                |_| Ok(()),
            )
        });
        assert!(result.is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Whatever fails first in job order decides the result, and exactly the jobs before
        /// it are committed, in order, however the proofs interleave.
        #[test]
        fn the_first_failure_in_order_stops_the_commits(
            n in 1usize..12,
            in_flight in 1usize..5,
            delays in proptest::collection::vec(0u64..6, 12),
            fail_build in proptest::option::of(0usize..12),
            fail_prove in proptest::option::of(0usize..12),
            fail_commit in proptest::option::of(0usize..12),
        ) {
            let (committed, result, most) = run(n, in_flight, &delays, fail_build, fail_prove, fail_commit);
            let first = [
                fail_build.filter(|&i| i < n).map(|i| (i, Failure::Build(i))),
                fail_prove.filter(|&i| i < n && fail_build.is_none_or(|b| i < b)).map(|i| (i, Failure::Prove(i))),
                fail_commit.filter(|&i| i < n && fail_build.is_none_or(|b| i < b) && fail_prove.is_none_or(|p| i < p)).map(|i| (i, Failure::Commit(i))),
            ]
            .into_iter()
            .flatten()
            .min_by_key(|(i, _)| *i);
            match first {
                None => {
                    prop_assert_eq!(result, Ok(()));
                    prop_assert_eq!(committed, (0..n).collect::<Vec<_>>());
                }
                Some((at, failure)) => {
                    prop_assert_eq!(result, Err(failure));
                    prop_assert_eq!(committed, (0..at).collect::<Vec<_>>());
                }
            }
            prop_assert!(most <= in_flight);
        }
    }
}

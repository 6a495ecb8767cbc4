//! The QAP quotient as one fixed sequence of launches over four buffers of `n` elements: which
//! transform runs on which buffer, and where each vector is after it. The CUDA backend queues
//! exactly these launches on its stream and the host simulation runs them on host vectors, so
//! the buffer bookkeeping the device depends on is tested wherever the simulation is.
//!
//! Buffers 0, 1 and 2 start with A·z, B·z and C·z (natural order); buffer 3 is the spare. Each
//! vector's first transform bit-reverses out of place (see [`QUOTIENT_INPUT_STEPS`]), into the
//! spare, and the buffer it read becomes the spare of the next vector: one array more than
//! the three the vectors need, instead of a permutation pass.

use crate::engine::error::Result;

use super::plan::{NttPlan, Slot, TileShape, QUOTIENT_INPUT_STEPS, QUOTIENT_OUTPUT_STEP};

/// Buffers of `n` elements the chain uses.
pub const QUOTIENT_BUFFERS: usize = 4;

/// Which of the chain's three plans a launch runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainStep {
    /// `QUOTIENT_INPUT_STEPS[0]`: evaluations on ⟨ω⟩ → coefficients shifted onto the coset.
    Interpolate,
    /// `QUOTIENT_INPUT_STEPS[1]`: → evaluations on the coset.
    EvaluateOnCoset,
    /// [`QUOTIENT_OUTPUT_STEP`]: h's evaluations on the coset → its coefficients.
    Output,
}

impl ChainStep {
    /// The input steps in the order each vector goes through them.
    pub const INPUT: [ChainStep; 2] = [ChainStep::Interpolate, ChainStep::EvaluateOnCoset];
}

/// One launch (a whole plan, or the pointwise step) of the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainLaunch {
    /// The passes of `step`'s plan over buffer `data`, with buffer `scratch` as its scratch.
    Transform {
        /// Which plan.
        step: ChainStep,
        /// The buffer the plan's [`Slot::Data`] is.
        data: usize,
        /// The buffer its [`Slot::Scratch`] is.
        scratch: usize,
    },
    /// `a ← (a·b − c) / Z` elementwise over the three buffers.
    Pointwise {
        /// Buffer of A (overwritten with h's evaluations).
        a: usize,
        /// Buffer of B.
        b: usize,
        /// Buffer of C.
        c: usize,
    },
}

/// The plans and launches of a quotient over `2^log_n` points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotientChain {
    /// The plans of [`QUOTIENT_INPUT_STEPS`].
    pub input: [NttPlan; 2],
    /// The plan of [`QUOTIENT_OUTPUT_STEP`].
    pub output: NttPlan,
    /// Launches in queue order.
    pub launches: Vec<ChainLaunch>,
    /// The buffer holding h's coefficients at the end.
    pub result: usize,
}

impl QuotientChain {
    /// Plans the chain on `2^log_n` points with tiles of `tile`.
    pub fn new(log_n: u32, tile: TileShape) -> Result<Self> {
        let input = [
            NttPlan::new(log_n, QUOTIENT_INPUT_STEPS[0], tile)?,
            NttPlan::new(log_n, QUOTIENT_INPUT_STEPS[1], tile)?,
        ];
        let output = NttPlan::new(log_n, QUOTIENT_OUTPUT_STEP, tile)?;
        let mut launches = Vec::with_capacity(8);
        let mut spare = 3;
        let mut held = [0, 1, 2];
        for at in &mut held {
            for (step, plan) in ChainStep::INPUT.into_iter().zip(&input) {
                launches.push(ChainLaunch::Transform {
                    step,
                    data: *at,
                    scratch: spare,
                });
                if plan.result == Slot::Scratch {
                    std::mem::swap(at, &mut spare);
                }
            }
        }
        let [a, b, c] = held;
        launches.push(ChainLaunch::Pointwise { a, b, c });
        launches.push(ChainLaunch::Transform {
            step: ChainStep::Output,
            data: a,
            scratch: spare,
        });
        let result = if output.result == Slot::Scratch {
            spare
        } else {
            a
        };
        Ok(Self {
            input,
            output,
            launches,
            result,
        })
    }

    /// The plan a [`ChainLaunch::Transform`] runs.
    pub fn plan(&self, step: ChainStep) -> &NttPlan {
        match step {
            ChainStep::Interpolate => &self.input[0],
            ChainStep::EvaluateOnCoset => &self.input[1],
            ChainStep::Output => &self.output,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::backend::NttDirection;
    use crate::engine::gpu_ntt::TransformSpec;

    /// Follows the launches, tracking which vector each buffer holds: no transform's scratch
    /// holds a live vector, each vector goes through both input steps, the pointwise step
    /// sees A, B, C in their buffers, and the result is where h was written.
    #[test]
    fn no_launch_overwrites_a_live_vector() {
        for log_n in 0..=20 {
            for tile in [
                TileShape::default(),
                TileShape {
                    tile_log: 4,
                    columns_log: 1,
                    max_threads: 4,
                },
            ] {
                let chain = QuotientChain::new(log_n, tile).unwrap();
                // One table set serves the chain (and the device caches one per size): every
                // plan of a size has the same stage split.
                let natural =
                    NttPlan::new(log_n, TransformSpec::natural(NttDirection::Forward), tile)
                        .unwrap();
                for plan in chain.input.iter().chain([&chain.output]) {
                    assert_eq!(
                        (plan.root_log, plan.split),
                        (natural.root_log, natural.split),
                        "{log_n}"
                    );
                }
                // holds[buffer] = Some((vector, steps done))
                let mut holds: [Option<(usize, usize)>; QUOTIENT_BUFFERS] =
                    [Some((0, 0)), Some((1, 0)), Some((2, 0)), None];
                let mut h_at = None;
                for launch in &chain.launches {
                    match *launch {
                        ChainLaunch::Transform {
                            step,
                            data,
                            scratch,
                        } => {
                            assert_ne!(data, scratch, "{log_n}: {launch:?}");
                            let (vector, done) =
                                holds[data].expect("a transform of a buffer holding nothing");
                            let plan = chain.plan(step);
                            let moved = plan.result == Slot::Scratch;
                            if moved {
                                assert!(
                                    holds[scratch].is_none(),
                                    "{log_n}: {launch:?} writes over a live vector"
                                );
                            }
                            match step {
                                ChainStep::Interpolate => {
                                    assert_eq!(done, 0, "{log_n}: steps out of order")
                                }
                                ChainStep::EvaluateOnCoset => {
                                    assert_eq!(done, 1, "{log_n}: steps out of order")
                                }
                                ChainStep::Output => assert_eq!(
                                    (vector, done),
                                    (0, 3),
                                    "{log_n}: output step before pointwise"
                                ),
                            }
                            let target = if moved { scratch } else { data };
                            holds[data] = None;
                            holds[target] = Some((vector, done + 1));
                            if step == ChainStep::Output {
                                h_at = Some(target);
                            }
                        }
                        ChainLaunch::Pointwise { a, b, c } => {
                            assert_eq!(
                                [holds[a], holds[b], holds[c]],
                                [Some((0, 2)), Some((1, 2)), Some((2, 2))],
                                "{log_n}"
                            );
                            holds[a] = Some((0, 3));
                        }
                    }
                }
                assert_eq!(h_at, Some(chain.result), "{log_n}");
            }
        }
    }
}

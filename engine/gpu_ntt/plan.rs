//! Which passes a GPU NTT launches, in which order, on which buffers.
//!
//! The kernels (`kernels/ntt/ntt_pass.cuh`) run one pass per launch: `k` radix-2 stages over
//! index bits `[lo_bit, lo_bit + k)` in shared memory. A transform of `2^L` points is split
//! into as few passes as the tile allows, with the stages spread evenly. Decimation in
//! frequency runs the passes top-down (the pass touching the highest bits first), decimation in
//! time bottom-up. A transform that is natural-order on both sides does its bit reversal in the
//! pass over bits `[0, k)`, out of place into the scratch buffer; the quotient's chain has one
//! such transform, its first (see [`QUOTIENT_INPUT_STEPS`]).

use crate::engine::backend::{NttDirection, MAX_NTT_LOG};
use crate::engine::error::{EngineError, Result};

use super::pass::{FLAG_BITREV_IO, FLAG_DIT, FLAG_LAMBDA, FLAG_SCALE, MAX_TILE_LOG};

/// Radix-2 network of a transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Network {
    /// Decimation in frequency: natural order in, bit-reversed out.
    Dif,
    /// Decimation in time: bit-reversed in, natural out.
    Dit,
}

/// Which root of unity the transform uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Roots {
    /// `ω`, arkworks' generator of the domain: evaluation.
    Forward,
    /// `ω⁻¹`: interpolation (with a factor `n⁻¹`).
    Inverse,
}

/// The per-element factor applied to the natural-order side of a transform (the input of a
/// DIF, the output of a DIT), where `g = Fr::GENERATOR` is the coset offset arkworks uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scale {
    /// None.
    None,
    /// `n⁻¹` (an inverse transform).
    InvN,
    /// `g^i` (into the coset).
    Coset,
    /// `n⁻¹·g^i` (an inverse transform whose coefficients go on into a coset transform).
    InvNCoset,
    /// `n⁻¹·g^(−i)` (out of the coset).
    InvNCosetInv,
}

/// A whole transform as the GPU runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TransformSpec {
    /// The radix-2 network.
    pub network: Network,
    /// The root of unity.
    pub roots: Roots,
    /// The factor on the natural-order side.
    pub scale: Scale,
    /// Whether the transform is natural-order on both sides (one pass bit-reverses, out of
    /// place); otherwise the network's own orders hold and every pass is in place.
    pub natural_both_sides: bool,
}

impl TransformSpec {
    /// One of the backend's transforms, natural order in and out.
    pub fn natural(direction: NttDirection) -> Self {
        let (network, roots, scale) = match direction {
            NttDirection::Forward => (Network::Dif, Roots::Forward, Scale::None),
            NttDirection::Inverse => (Network::Dit, Roots::Inverse, Scale::InvN),
            NttDirection::CosetForward => (Network::Dif, Roots::Forward, Scale::Coset),
            NttDirection::CosetInverse => (Network::Dit, Roots::Inverse, Scale::InvNCosetInv),
        };
        Self {
            network,
            roots,
            scale,
            natural_both_sides: true,
        }
    }
}

/// The steps each of A·z, B·z, C·z goes through in the quotient: natural-order evaluations on
/// ⟨ω⟩, the order the prover computes them in → (DIT inverse, times `n⁻¹·g^i`) natural
/// coefficients already shifted onto the coset → (DIF forward) bit-reversed evaluations on the
/// coset. The pointwise step does not care about order.
///
/// The one permutation of the chain is inside the first step's first pass: the DIT's bottom
/// pass reads its tile from the natural-order input at bit-reversed positions (runs of
/// `2^columns` consecutive elements, as every strided pass reads) and writes it out of place
/// into a scratch buffer; no pass is added for it, on the device or on the host.
pub const QUOTIENT_INPUT_STEPS: [TransformSpec; 2] = [
    TransformSpec {
        network: Network::Dit,
        roots: Roots::Inverse,
        scale: Scale::InvNCoset,
        natural_both_sides: true,
    },
    TransformSpec {
        network: Network::Dif,
        roots: Roots::Forward,
        scale: Scale::None,
        natural_both_sides: false,
    },
];

/// The quotient's last step: bit-reversed evaluations of h on the coset → natural
/// coefficients (DIT inverse, times `n⁻¹·g^(−i)`).
pub const QUOTIENT_OUTPUT_STEP: TransformSpec = TransformSpec {
    network: Network::Dit,
    roots: Roots::Inverse,
    scale: Scale::InvNCosetInv,
    natural_both_sides: false,
};

/// Most threads a block of the pass kernel may have (its `__launch_bounds__`).
pub const MAX_THREADS: u32 = 512;

/// Tile geometry of the kernels. The default suits every CUDA GPU since Volta (32 KiB of
/// shared memory a block); tests use tiny tiles to get many passes on small inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileShape {
    /// log2 of the elements one block holds (at most 12: 128 KiB).
    pub tile_log: u32,
    /// log2 of the groups side by side in a tile when a group is strided in memory, so each
    /// row a warp reads is `2^columns_log` consecutive elements (2: 128-byte runs).
    pub columns_log: u32,
    /// Most threads a block launches (a power of two up to [`MAX_THREADS`]).
    pub max_threads: u32,
}

impl Default for TileShape {
    fn default() -> Self {
        Self {
            tile_log: 10,
            columns_log: 2,
            max_threads: 256,
        }
    }
}

impl TileShape {
    fn check(&self) -> Result<()> {
        let bad = |why: &str| {
            Err(EngineError::BadNttPlan(format!(
                "tile shape {self:?}: {why}"
            )))
        };
        if self.tile_log == 0 || self.tile_log > MAX_TILE_LOG {
            return bad("tile_log must be in 1..=12");
        }
        if self.columns_log >= self.tile_log {
            return bad("columns_log must leave at least one stage per pass");
        }
        if self.max_threads == 0
            || !self.max_threads.is_power_of_two()
            || self.max_threads > MAX_THREADS
        {
            return bad(
                "max_threads must be a power of two up to 512 (the pass kernel's launch bound)",
            );
        }
        Ok(())
    }
}

/// A buffer of the transform: the caller's data, or a scratch array of the same length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    /// The array given to the transform.
    Data,
    /// A second array of the same size.
    Scratch,
}

/// One launch of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedPass {
    /// Lowest index bit of the pass's stages.
    pub lo_bit: u32,
    /// Number of stages.
    pub stages: u32,
    /// log2 of the groups side by side in a tile.
    pub log_columns: u32,
    /// Threads per block.
    pub threads: u32,
    /// `FLAG_*` bits of `spice_ntt_pass`.
    pub flags: u32,
    /// Buffer read.
    pub src: Slot,
    /// Buffer written.
    pub dst: Slot,
}

/// The passes of one transform of `2^log_n` points, in launch order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NttPlan {
    /// log2 of the size.
    pub log_n: u32,
    /// The transform.
    pub spec: TransformSpec,
    /// Passes in launch order (empty for `n = 1`, where every transform is the identity).
    pub passes: Vec<PlannedPass>,
    /// log2 of the order of the root table the passes read (the most stages in one pass).
    pub root_log: u32,
    /// Split bit of the twiddle and scale tables.
    pub split: u32,
    /// Where the result is.
    pub result: Slot,
}

impl NttPlan {
    /// Plans `spec` on `2^log_n` points with tiles of `tile`.
    pub fn new(log_n: u32, spec: TransformSpec, tile: TileShape) -> Result<Self> {
        tile.check()?;
        if log_n > MAX_NTT_LOG {
            return Err(EngineError::BadNttSize {
                size: 1usize << log_n.min(62),
                max_log: MAX_NTT_LOG,
            });
        }
        let split = log_n.div_ceil(2);
        if log_n == 0 {
            return Ok(Self {
                log_n,
                spec,
                passes: Vec::new(),
                root_log: 0,
                split,
                result: Slot::Data,
            });
        }
        // Stages per pass, top pass first.
        let stages: Vec<u32> = if log_n <= tile.tile_log {
            vec![log_n]
        } else {
            let per_pass = tile.tile_log - tile.columns_log;
            let count = log_n.div_ceil(per_pass);
            (0..count)
                .map(|p| log_n / count + u32::from(p < log_n % count))
                .collect()
        };
        let root_log = stages.iter().copied().max().unwrap_or(1);
        let bitrev = spec.natural_both_sides;
        let top_flags = match spec.scale {
            Scale::None => 0,
            Scale::InvN => FLAG_LAMBDA,
            Scale::Coset => FLAG_SCALE,
            Scale::InvNCoset | Scale::InvNCosetInv => FLAG_SCALE | FLAG_LAMBDA,
        };
        let mut hi = log_n;
        let mut top_down = Vec::with_capacity(stages.len());
        for (p, &k) in stages.iter().enumerate() {
            let lo_bit = hi - k;
            let log_columns = if lo_bit > 0 {
                tile.columns_log.min(lo_bit)
            } else if bitrev {
                tile.columns_log.min(log_n - k)
            } else {
                0
            };
            let mut flags = if spec.network == Network::Dit {
                FLAG_DIT
            } else {
                0
            };
            if p == 0 {
                flags |= top_flags;
            }
            let bit_reversing = lo_bit == 0 && bitrev;
            if bit_reversing {
                flags |= FLAG_BITREV_IO;
            }
            let threads = tile.max_threads.min(1 << (k + log_columns - 1));
            top_down.push(PlannedPass {
                lo_bit,
                stages: k,
                log_columns,
                threads,
                flags,
                src: Slot::Data,
                dst: Slot::Data,
            });
            hi = lo_bit;
        }
        let mut passes = top_down;
        if spec.network == Network::Dit {
            passes.reverse();
        }
        // Every pass works in place on the buffer the previous one wrote, except the
        // bit-reversing one, which moves the data into the other buffer.
        let mut at = Slot::Data;
        for pass in &mut passes {
            pass.src = at;
            if pass.flags & FLAG_BITREV_IO != 0 {
                at = if at == Slot::Data {
                    Slot::Scratch
                } else {
                    Slot::Data
                };
            }
            pass.dst = at;
        }
        Ok(Self {
            log_n,
            spec,
            passes,
            root_log,
            split,
            result: at,
        })
    }

    /// Whether the plan needs the scratch buffer.
    pub fn uses_scratch(&self) -> bool {
        self.result == Slot::Scratch
    }
}

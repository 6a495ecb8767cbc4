//! How a GPU MSM is cut up: the window size, the counting sort's scan, the levels of the bucket
//! accumulation, the bucket reduction's segments, and every buffer's size.
//!
//! The plan depends on the scalars only through three counts (how many are zero, ±1, or
//! anything else), which the host knows before any upload ([`ScalarStats`]), and on how many
//! threads the device runs at once. It is the same for G1 and G2, so one schedule serves the
//! B query in both groups.
//!
//! With k window copies ([`MsmOptions::window_copies`]) the bases were loaded with copies
//! 2^(j·c)·Pᵢ for j < k, so windows k apart fall into the same buckets (window w's digits add
//! copy w mod k into the buckets of window w / k): the reduction runs ⌈windows / k⌉ times
//! instead of `windows`, which pays for a wider window, for k times the bases' memory. With
//! one copy a window (k = windows, [`ALL_WINDOW_COPIES`]) it runs once. The window and k are
//! then fixed when the bases are loaded, by their number alone ([`base_copies`]), and the plan
//! of any scalars over them uses them.

use crate::engine::error::{EngineError, Result};
use crate::engine::scalars::ScalarStats;

use super::params::{MAX_WINDOW_BITS, MIN_CHUNK, MIN_WINDOW_BITS, NEGATE};

/// Bits of a normalised scalar's magnitude (below 2^254) plus the one the signed digits need
/// free above it: `windows · c ≥ 255`.
const DIGIT_BITS: u32 = 255;

/// Cost of one entry in a bucket (a mixed XYZZ addition, 8M + 2S), of one sorted entry
/// (counting, scatter) and of one bucket in the reduction (two full XYZZ additions,
/// 2 · (12M + 2S)), in field multiplications: the window size minimises their sum.
const ENTRY_COST: u64 = 10 + 2;
const BUCKET_COST: u64 = 28;

/// Most threads a block of the scan's one-block launch has.
pub const SCAN_BLOCK_THREADS: u32 = 1024;
/// Most threads a tree block has (the curve kernels' launch bound is 128 for G2).
pub const TREE_THREADS: u32 = 128;

/// Cost of a dependent addition in a tree block against one the host makes adding a window's
/// trees: a GPU thread runs a latency-bound chain about ten times slower than a CPU core
/// (combine.rs). The number of trees a window minimises their sum.
const TREE_ADD_COST: u64 = 10;

/// What the planner may be told instead of choosing itself (benchmarks and tests sweep
/// these), and the device's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MsmOptions {
    /// Window size c (signed digits of c bits, 2^(c−1) buckets a window).
    pub window_bits: Option<u32>,
    /// Elements a thread sums in one level of the bucket accumulation.
    pub chunk: Option<u32>,
    /// log2 of the buckets one thread reduces.
    pub segment_log: Option<u32>,
    /// Counters per segment of the scan.
    pub scan_segment: Option<u32>,
    /// Trees (blocks) a window's segment sums are added in, a power of two; the host adds
    /// their sums.
    pub tree_groups: Option<u32>,
    /// Threads the device keeps in flight at once (multiprocessors × resident threads each):
    /// sizes chunks and segments so that every launch fills the device.
    pub resident_threads: u32,
    /// Copies of the bases held for the windows, the bases included (k): at most 1 is the
    /// plain plan; k > 1 loads copies 2^(j·c)·Pᵢ for j < k (k times the bases' memory, built
    /// once per key) and windows k apart share buckets; more than the windows is one copy a
    /// window ([`ALL_WINDOW_COPIES`]). The window is [`base_copies`]'s. 1 by default: the GPU
    /// measurements decide (kernels/msm/PERFORMANCE.md, lever 1).
    pub window_copies: u32,
}

impl Default for MsmOptions {
    /// Sized for an H100 (132 multiprocessors, 512 threads counted for each). The G1 kernels'
    /// registers let an SM hold 256 of them and G2's 256 as well (8 warps), so chunks sized by
    /// this count come in 2× more waves than the planner's four; `bench:msm`'s chunk sweep
    /// measures whether fewer, larger chunks pay (kernels/msm/PERFORMANCE.md, lever 2).
    fn default() -> Self {
        Self::for_device(132)
    }
}

impl MsmOptions {
    /// The planner's own choices for a device with `multiprocessors` SMs.
    pub fn for_device(multiprocessors: u32) -> Self {
        Self {
            window_bits: None,
            chunk: None,
            segment_log: None,
            scan_segment: None,
            tree_groups: None,
            resident_threads: multiprocessors.max(1) * 512,
            window_copies: 1,
        }
    }
}

/// One level of the bucket accumulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelShape {
    /// Most elements its input can hold (the actual count is on the device).
    pub input_capacity: u32,
    /// Threads of the launch (grid-stride over its chunks).
    pub threads: u32,
}

/// Every size and launch of one MSM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsmPlan {
    /// Scalars (and bases).
    pub len: u32,
    /// Window size c.
    pub window_bits: u32,
    /// Windows: ⌈255 / c⌉.
    pub windows: u32,
    /// Copies of the bases the entries index, the bases included (k, 1 to `windows`): window
    /// w adds copy w mod k into the buckets of window w / k.
    pub copies: u32,
    /// Windows whose buckets are kept apart: ⌈windows / copies⌉.
    pub bucket_windows: u32,
    /// Buckets: `bucket_windows · 2^(c−1)` plus the ones bucket.
    pub buckets: u32,
    /// Counters per scan segment.
    pub scan_segment: u32,
    /// Scan segments: ⌈buckets / scan_segment⌉.
    pub scan_segments: u32,
    /// Threads of the scan's one-block launch.
    pub scan_block_threads: u32,
    /// Most entries the schedule can produce: one per ±1 scalar, `windows` per other nonzero.
    pub entry_capacity: u32,
    /// Elements per chunk of the accumulation.
    pub chunk: u32,
    /// Accumulation levels in launch order; the last has at most one chunk.
    pub levels: Vec<LevelShape>,
    /// log2 of the buckets a reduction thread sums.
    pub segment_log: u32,
    /// Reduction segments per window: `2^(c−1−segment_log)`.
    pub segments: u32,
    /// Trees a window's segment sums are added in (a power of two, at most `segments`), one
    /// block each; the host adds a window's tree sums.
    pub tree_groups: u32,
    /// Threads of each tree block.
    pub tree_threads: u32,
    /// Threads of the scalar launches (prepare, scatter).
    pub scalar_threads: u32,
    /// Threads of the reduction launch.
    pub reduce_threads: u32,
}

fn bad(why: String) -> EngineError {
    EngineError::BadMsmPlan(why)
}

/// ⌈a / b⌉ for b > 0.
fn div_ceil(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

/// Windows of c bits that cover a normalised scalar.
pub fn windows_for(window_bits: u32) -> u32 {
    DIGIT_BITS.div_ceil(window_bits)
}

/// The window size `window_bits` asks for, if the kernels take it.
fn checked_window(window_bits: Option<u32>) -> Result<Option<u32>> {
    match window_bits {
        Some(c) if !(MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&c) => Err(bad(format!(
            "window of {c} bits: the kernels take {MIN_WINDOW_BITS}..={MAX_WINDOW_BITS}"
        ))),
        c => Ok(c),
    }
}

/// [`MsmOptions::window_copies`] for one copy a window, whatever the window.
pub const ALL_WINDOW_COPIES: u32 = u32::MAX;

/// [`MsmOptions::window_copies`] from text: `all` ([`ALL_WINDOW_COPIES`]) or a number of
/// copies, the bases included (`0` and `1` are the plain plan).
pub fn parse_window_copies(text: &str) -> std::result::Result<u32, String> {
    match text.trim() {
        "all" => Ok(ALL_WINDOW_COPIES),
        number => number
            .parse::<u32>()
            .map(|k| k.max(1))
            .map_err(|_| "expected `all` or a number of copies (1: none)".to_string()),
    }
}

/// The window copies a base set is loaded with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BaseCopies {
    /// The window c they are copies for: copy j is 2^(j·c)·Pᵢ.
    pub window_bits: u32,
    /// Copies, the bases included (k, 2 to ⌈255 / c⌉).
    pub copies: u32,
}

/// The copies that bases of `len` points are loaded with when `options` asks for window
/// copies: the window (the override, or the planner's choice for `len` scalars and k
/// copies) and k, at most one a window; `None` without them. Loading the bases and planning
/// an MSM over them both call it, so they agree.
pub fn base_copies(len: u64, options: &MsmOptions) -> Result<Option<BaseCopies>> {
    if options.window_copies <= 1 {
        return Ok(None);
    }
    let window_bits = checked_window(options.window_bits)?
        .unwrap_or_else(|| choose_copies_window(len, options.window_copies));
    Ok(Some(BaseCopies {
        window_bits,
        copies: options.window_copies.min(windows_for(window_bits)),
    }))
}

/// The largest power of two at most `x` (x ≥ 1).
fn floor_pow2(x: u64) -> u64 {
    1 << (63 - x.max(1).leading_zeros())
}

impl MsmPlan {
    /// Plans an MSM over scalars with these counts.
    pub fn new(stats: ScalarStats, options: MsmOptions) -> Result<Self> {
        let len = stats.len();
        if len >= u64::from(NEGATE) {
            return Err(bad(format!(
                "{len} points: base indices must stay below 2^31"
            )));
        }
        let (window_bits, copies) = match base_copies(len, &options)? {
            Some(c) => (c.window_bits, c.copies),
            None => (
                checked_window(options.window_bits)?
                    .unwrap_or_else(|| choose_window(stats.general)),
                1,
            ),
        };
        let windows = windows_for(window_bits);
        if len * u64::from(copies) >= u64::from(NEGATE) {
            return Err(bad(format!(
                "{len} points in {copies} window copies: base indices must stay below 2^31; use fewer copies or a larger window"
            )));
        }
        let bucket_windows = windows.div_ceil(copies);
        let buckets = u64::from(bucket_windows) << (window_bits - 1);
        let entry_capacity = stats.ones + stats.general * u64::from(windows);
        if entry_capacity > u64::from(u32::MAX) / 2 {
            return Err(bad(format!(
                "{entry_capacity} bucket entries overflow the u32 layouts; use a larger window"
            )));
        }
        let resident = u64::from(options.resident_threads.max(1));

        let scan_segment = options.scan_segment.unwrap_or(32);
        if scan_segment == 0 {
            return Err(bad("scan segments must hold at least one counter".into()));
        }
        let scan_segments = div_ceil(buckets + 1, u64::from(scan_segment));

        // Enough chunks to keep every resident thread busy a few times over; larger chunks cut
        // the partial sums passed between levels (2 per chunk).
        let chunk = match options.chunk {
            Some(t) if t < MIN_CHUNK => {
                return Err(bad(format!(
                    "chunks of {t}: at least {MIN_CHUNK} make every level shrink"
                )))
            }
            Some(t) => t,
            None => floor_pow2(entry_capacity / (4 * resident)).clamp(8, 1024) as u32,
        };
        let mut levels = Vec::new();
        let mut capacity = entry_capacity;
        loop {
            let chunks = div_ceil(capacity, u64::from(chunk));
            levels.push(LevelShape {
                input_capacity: capacity as u32,
                threads: chunks.clamp(1, 1 << 22) as u32,
            });
            if capacity <= u64::from(chunk) {
                break;
            }
            capacity = 2 * chunks;
        }

        // Reduction segments: about as much work weighting the segments (≈ 1.5 c operations a
        // segment) as summing them (2 a bucket), within one wave of the device.
        let window_buckets = 1u64 << (window_bits - 1);
        let segment_log = match options.segment_log {
            Some(l) if l > window_bits - 1 => {
                return Err(bad(format!(
                    "segments of 2^{l} buckets: a window has 2^{}",
                    window_bits - 1
                )))
            }
            Some(l) => l,
            None => {
                let by_work = floor_pow2(window_buckets / (2 * u64::from(window_bits))).max(1);
                let by_device = floor_pow2(resident / u64::from(bucket_windows)).max(1);
                let segments = by_work.min(by_device).min(window_buckets);
                (window_buckets / segments).trailing_zeros()
            }
        };
        let segments = 1u32 << (window_bits - 1 - segment_log);
        let tree_groups = match options.tree_groups {
            Some(g) if !g.is_power_of_two() || g > segments => {
                return Err(bad(format!(
                    "{g} trees a window: a power of two at most the window's {segments} segments"
                )))
            }
            Some(g) => g,
            None => choose_tree_groups(segments, bucket_windows, resident),
        };

        Ok(Self {
            len: len as u32,
            window_bits,
            windows,
            copies,
            bucket_windows,
            buckets: buckets as u32 + 1,
            scan_segment,
            scan_segments: scan_segments as u32,
            scan_block_threads: (scan_segments.next_power_of_two() as u32).min(SCAN_BLOCK_THREADS),
            entry_capacity: entry_capacity as u32,
            chunk,
            levels,
            segment_log,
            segments,
            tree_groups,
            tree_threads: tree_threads(segments / tree_groups),
            scalar_threads: (len as u32).max(1),
            reduce_threads: bucket_windows * segments,
        })
    }

    /// Points the entries index: `len · copies`.
    pub fn base_points(&self) -> u64 {
        u64::from(self.len) * u64::from(self.copies)
    }

    /// The window copies the bases must have been loaded with, or `None` for the bases alone.
    pub fn base_copies(&self) -> Option<BaseCopies> {
        (self.copies > 1).then_some(BaseCopies {
            window_bits: self.window_bits,
            copies: self.copies,
        })
    }

    /// Bits between the weights of consecutive bucket windows: c·k (window w / k of a digit
    /// of window w stands for windows k apart).
    pub fn bucket_window_bits(&self) -> u32 {
        self.window_bits * self.copies
    }

    /// Sums the trees hand back: one a tree, then the ones bucket.
    pub fn tree_sums(&self) -> u32 {
        self.bucket_windows * self.tree_groups + 1
    }

    /// log2 of [`Self::tree_groups`], as the kernels take it.
    pub fn tree_groups_log(&self) -> u32 {
        self.tree_groups.trailing_zeros()
    }

    /// The ones bucket's key (after every window's buckets).
    pub fn ones_bucket(&self) -> u32 {
        self.buckets - 1
    }

    /// Buckets of one window.
    pub fn window_buckets(&self) -> u32 {
        1 << (self.window_bits - 1)
    }

    /// Capacity of the two partial-sum buffers the levels alternate between (level ℓ ≥ 1
    /// reads buffer (ℓ − 1) mod 2 and writes buffer ℓ mod 2; level 0 writes buffer 0).
    pub fn partial_capacities(&self) -> [u32; 2] {
        let cap = |l: usize| self.levels.get(l).map_or(0, |s| s.input_capacity);
        // Level ℓ's output is level ℓ + 1's input; capacities only shrink.
        [cap(1).max(1), cap(2).max(1)]
    }
}

/// The window size that minimises the estimated work for `general` scalars other than 0
/// and ±1: each costs `windows` entries, each window `2^(c−1)` buckets. Ties go to the
/// smaller window (less memory).
fn choose_window(general: u64) -> u32 {
    (MIN_WINDOW_BITS..=20)
        .min_by_key(|&c| {
            let windows = u64::from(windows_for(c));
            windows * (general * ENTRY_COST + (1u64 << (c - 1)) * BUCKET_COST)
        })
        .unwrap_or(MIN_WINDOW_BITS)
}

/// The window for bases held in `copies` window copies (k), over `len` scalars all counted
/// as general: every window's entries still cost one each, but the buckets are paid for
/// ⌈windows / k⌉ times, so the window is wider than [`choose_window`]'s. One copy a window:
/// c = 16 at 2^16, 20 at 2^20, 22 at 2^24; four copies: 17 at 2^20, 22 at 2^24.
fn choose_copies_window(len: u64, copies: u32) -> u32 {
    (MIN_WINDOW_BITS..=MAX_WINDOW_BITS)
        .min_by_key(|&c| {
            let windows = windows_for(c);
            let bucket_windows = windows.div_ceil(copies.clamp(1, windows));
            u64::from(windows) * len * ENTRY_COST
                + u64::from(bucket_windows) * (1u64 << (c - 1)) * BUCKET_COST
        })
        .unwrap_or(MAX_WINDOW_BITS)
}

/// Threads of a tree block over `segments` segment sums: one a pair in the first round.
fn tree_threads(segments: u32) -> u32 {
    (segments / 2).clamp(1, TREE_THREADS)
}

/// Dependent additions a tree block over `segments` (a power of two) makes: each round, the
/// pairs left shared among its threads.
fn tree_depth(segments: u32) -> u64 {
    let threads = tree_threads(segments);
    (0..segments.trailing_zeros())
        .map(|round| u64::from((segments >> (round + 1)).div_ceil(threads)))
        .sum()
}

/// Trees a window for `segments` segment sums in each of `windows`: the power of two that
/// minimises a tree's dependent additions (at [`TREE_ADD_COST`]) plus the host's `G − 1` a
/// window, with every block in flight at once. One window of 8,192 segments (window copies
/// at 2^20) goes from 70 additions in one block to 8 in each of 32.
fn choose_tree_groups(segments: u32, windows: u32, resident: u64) -> u32 {
    (0..=segments.trailing_zeros())
        .map(|g| 1u32 << g)
        .filter(|&g| {
            g == 1
                || u64::from(windows) * u64::from(g) * u64::from(tree_threads(segments / g))
                    <= resident
        })
        .min_by_key(|&g| {
            TREE_ADD_COST * tree_depth(segments / g) + u64::from(windows) * u64::from(g - 1)
        })
        .unwrap_or(1)
}

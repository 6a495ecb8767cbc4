//! How the CUDA backend runs MSMs: the planner's overrides (window, chunk, segment, scan
//! segment) and where the G2 MSM runs. The defaults are the planner's own choices and G2 on
//! the GPU; the environment can override them without a rebuild (the GPU session sweeps them),
//! and the backend logs what it uses when it starts, so no choice is silent.

use crate::engine::error::{EngineError, Result};
use crate::engine::gpu_msm::{parse_window_copies, MsmOptions};

/// Where the backend runs the G2 MSM (the B query in G2, one per proof).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum G2Placement {
    /// Our G2 kernels, after the G1 MSMs on the same stream.
    #[default]
    Gpu,
    /// The CPU backend, while the G1 MSMs run on the GPU (the prover overlaps them; see
    /// [`crate::engine::Backend::overlaps_g2_msm`]). Worth it when the host's cores finish a
    /// G2 MSM before the GPU finishes the three G1 MSMs: the benchmarks measure both.
    CpuConcurrent,
}

/// The MSM settings of a CUDA backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MsmConfig {
    /// Planner overrides (`resident_threads` is replaced by the device's size).
    pub options: MsmOptions,
    /// Where G2 runs.
    pub g2: G2Placement,
}

fn parse(var: &str) -> Result<Option<u32>> {
    match std::env::var(var) {
        Err(_) => Ok(None),
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => v
            .parse()
            .map(Some)
            .map_err(|_| EngineError::BadMsmPlan(format!("{var}={v:?} is not a number"))),
    }
}

impl MsmConfig {
    /// The defaults, overridden by `SPICE_MSM_WINDOW_BITS`, `SPICE_MSM_CHUNK`,
    /// `SPICE_MSM_SEGMENT_LOG`, `SPICE_MSM_SCAN_SEGMENT`, `SPICE_MSM_TREE_GROUPS` (numbers),
    /// `SPICE_MSM_WINDOW_COPIES` (`all`, or how many copies of the bases, the bases included:
    /// `0` or `1` for none; see [`MsmOptions::window_copies`]) and `SPICE_CUDA_G2_MSM` (`gpu`
    /// or `cpu`) where set. A value that does not parse is an error, not ignored.
    pub fn from_env() -> Result<Self> {
        let window_copies = match std::env::var("SPICE_MSM_WINDOW_COPIES").as_deref() {
            Err(_) | Ok("") => 1,
            Ok(text) => parse_window_copies(text).map_err(|e| {
                EngineError::BadMsmPlan(format!("SPICE_MSM_WINDOW_COPIES={text:?}: {e}"))
            })?,
        };
        let options = MsmOptions {
            window_bits: parse("SPICE_MSM_WINDOW_BITS")?,
            chunk: parse("SPICE_MSM_CHUNK")?,
            segment_log: parse("SPICE_MSM_SEGMENT_LOG")?,
            scan_segment: parse("SPICE_MSM_SCAN_SEGMENT")?,
            tree_groups: parse("SPICE_MSM_TREE_GROUPS")?,
            window_copies,
            ..MsmOptions::default()
        };
        let g2 = match std::env::var("SPICE_CUDA_G2_MSM").as_deref() {
            Err(_) | Ok("") | Ok("gpu") => G2Placement::Gpu,
            Ok("cpu") => G2Placement::CpuConcurrent,
            Ok(other) => {
                return Err(EngineError::BadMsmPlan(format!(
                    "SPICE_CUDA_G2_MSM={other:?}: expected gpu or cpu"
                )))
            }
        };
        Ok(Self { options, g2 })
    }
}

//! One lane of the CUDA backend: a stream of its own on the shared context, with the device
//! arrays the work queued on it reads and writes. Lanes let several proofs be in flight on one
//! device ([`crate::engine::lane_pool`] hands them out): one proof's launches are queued on its
//! lane's stream in order, and the device runs two lanes' kernels side by side where one alone
//! leaves SMs idle, and one lane's copies while another computes.
//!
//! What lanes share is read-only once uploaded (the kernels, bases, loaded shapes, domain
//! tables): every upload of those waits for its copy before returning, so any lane may read
//! them next.

use std::sync::Arc;

use crate::engine::error::{EngineError, Result};
use crate::engine::lane_pool::LaneState;

use super::buffer::DeviceBuffer;
use super::device::Device;
use super::msm::MsmWorkspace;

/// Lanes when `SPICE_CUDA_LANES` is not set: two proofs in flight, enough to fill the gaps a
/// small proof leaves (its copies, its narrow launches) without doubling every workspace for
/// large ones, which only the callers that prove concurrently pay for anyway.
pub const DEFAULT_LANES: usize = 2;

/// Most lanes a backend opens.
pub const MAX_LANES: usize = 8;

/// The lane count: `SPICE_CUDA_LANES` (1 to [`MAX_LANES`]) where set, else [`DEFAULT_LANES`].
/// A value that does not parse or is out of range is an error, not ignored.
pub fn lanes_from_env() -> Result<usize> {
    match std::env::var("SPICE_CUDA_LANES") {
        Err(_) => Ok(DEFAULT_LANES),
        Ok(v) if v.is_empty() => Ok(DEFAULT_LANES),
        Ok(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LANES).contains(&n) => Ok(n),
            _ => Err(EngineError::BackendUnavailable {
                name: "cuda".into(),
                reason: format!("SPICE_CUDA_LANES={v:?}: expected a number from 1 to {MAX_LANES}"),
            }),
        },
    }
}

/// A lane's stream (its [`Device`] handle) and the arrays of the work queued on it. Only the
/// caller holding the lane queues on its stream, so the arrays are never shared between two
/// operations in flight.
pub struct Lane {
    /// The handle whose stream this lane queues on.
    pub device: Arc<Device>,
    /// Reused device arrays of `workspace_len` elements (allocation waits for the device,
    /// so proofs of one size reuse them).
    pub workspace: Vec<DeviceBuffer>,
    /// The length of each workspace array.
    pub workspace_len: usize,
    /// MSM schedule and buffers, kept between calls.
    pub msm: MsmWorkspace,
    /// The assignment of the witness map (the largest so far).
    pub assignment: Option<DeviceBuffer>,
    /// The witness map's failure slot.
    pub first_failure: Option<DeviceBuffer<u32>>,
    /// The last witness map's h: the id of the scalars it returned and the workspace array
    /// that still holds them, so that the H MSM's schedule copies them on the device instead
    /// of uploading them again. Cleared when that schedule is built (the proof needs the lane
    /// no more, see [`LaneState::claimed`]) and whenever the workspace is handed out for
    /// writing.
    pub resident_h: Option<(u64, usize)>,
}

impl Lane {
    /// An idle lane queuing on `device`'s stream; its arrays are allocated on first use.
    pub fn new(device: Arc<Device>) -> Self {
        Self {
            device,
            workspace: Vec::new(),
            workspace_len: 0,
            msm: MsmWorkspace::default(),
            assignment: None,
            first_failure: None,
            resident_h: None,
        }
    }

    /// Whether work queued here allocated anything (workspace, MSM buffers; the domain tables
    /// belong to the backend).
    pub fn holds_arrays(&self) -> bool {
        !self.workspace.is_empty()
            || self.assignment.is_some()
            || self.msm.schedule.held_id().is_some()
    }
}

impl LaneState for Lane {
    /// The scalars whose schedule is built here, and the h still in the workspace.
    fn resident(&self) -> Vec<u64> {
        self.msm
            .schedule
            .held_id()
            .into_iter()
            .chain(self.resident_h.map(|(id, _)| id))
            .collect()
    }

    /// A witness map left its h here for the proof's H MSM, which has not taken it yet.
    fn claimed(&self) -> bool {
        self.resident_h.is_some()
    }
}

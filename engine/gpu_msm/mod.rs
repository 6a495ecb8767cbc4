//! The GPU MSM's algorithm on the host side: the plan ([`plan`]), the launch parameters shared
//! with the kernels ([`params`]), the groups' layouts ([`curve`]), the host's final window
//! combination ([`combine`]), the bases' window copies when the plan shares buckets across
//! windows ([`window_copies`]), and a host simulation that runs the kernels' own bodies over
//! every thread ([`host_simulation`]), so the algorithm is tested against arkworks on machines
//! without a GPU. The CUDA backend (`engine/cuda/msm.rs`, feature `cuda`) runs the same plan on
//! a device.
//!
//! The algorithm (kernels/msm/): a signed-digit Pippenger whose schedule (digits sorted into
//! buckets by a counting sort) is built once per scalar vector and shared by every MSM over
//! it; zero scalars have no entry and ±1 scalars one entry in a bucket of their own; buckets
//! are summed by equal-work chunks of the sorted entries; windows are reduced by parallel
//! segments and trees (one or several blocks a window), whose sums the host adds and combines
//! by doublings.
//!
//! None of this needs CUDA: it is compiled and tested in every build.

pub mod combine;
pub mod curve;
pub mod host_simulation;
pub mod params;
pub mod plan;
pub mod window_copies;

pub use curve::MsmCurve;
pub use plan::{
    base_copies, parse_window_copies, BaseCopies, LevelShape, MsmOptions, MsmPlan,
    ALL_WINDOW_COPIES,
};

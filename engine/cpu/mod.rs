//! The CPU backend: rayon-parallel batch-affine Pippenger MSM and arkworks' radix-2 NTT.

pub mod base_field;
pub mod msm;
mod ntt;

use std::sync::Arc;

use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};

use super::backend::{Backend, Bases, NttDirection};
use super::error::{EngineError, Result};
use super::scalars::MsmScalars;

const NAME: &str = "cpu";

/// The CPU backend. Bases stay in host memory, shared behind an `Arc`.
#[derive(Debug, Default, Clone)]
pub struct CpuBackend {
    _private: (),
}

impl CpuBackend {
    /// A CPU backend using rayon's global thread pool.
    pub fn new() -> Self {
        Self::default()
    }
}

fn check_len(bases: usize, scalars: &MsmScalars) -> Result<()> {
    if bases != scalars.len() {
        return Err(EngineError::MsmLength {
            bases,
            scalars: scalars.len(),
        });
    }
    Ok(())
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn load_g1(&self, bases: Vec<G1Affine>) -> Result<Bases<G1Affine>> {
        Ok(Bases::new(NAME, bases.len(), Arc::new(bases)))
    }

    fn load_g2(&self, bases: Vec<G2Affine>) -> Result<Bases<G2Affine>> {
        Ok(Bases::new(NAME, bases.len(), Arc::new(bases)))
    }

    fn msm_g1(&self, bases: &Bases<G1Affine>, scalars: &MsmScalars) -> Result<G1Projective> {
        let points = bases.storage::<Vec<G1Affine>>(NAME)?;
        check_len(points.len(), scalars)?;
        Ok(scalars.cpu_plan().msm(points))
    }

    fn msm_g2(&self, bases: &Bases<G2Affine>, scalars: &MsmScalars) -> Result<G2Projective> {
        let points = bases.storage::<Vec<G2Affine>>(NAME)?;
        check_len(points.len(), scalars)?;
        Ok(scalars.cpu_plan().msm(points))
    }

    fn prepare_scalars(&self, scalars: &MsmScalars) -> Result<()> {
        scalars.cpu_plan();
        Ok(())
    }

    fn ntt(&self, data: &mut [Fr], direction: NttDirection) -> Result<()> {
        ntt::ntt(data, direction)
    }
}

//! NTTs on the CPU: arkworks' parallel radix-2 transform, the same one `ark_groth16` uses.

use ark_bls12_381::Fr;
use ark_ff::FftField;
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};

use crate::engine::backend::{check_ntt_size, NttDirection, MAX_NTT_LOG};
use crate::engine::error::{EngineError, Result};

pub(super) fn ntt(data: &mut [Fr], direction: NttDirection) -> Result<()> {
    check_ntt_size(data.len())?;
    let domain = Radix2EvaluationDomain::<Fr>::new(data.len()).ok_or(EngineError::BadNttSize {
        size: data.len(),
        max_log: MAX_NTT_LOG,
    })?;
    // arkworks' in-place transforms take a `Vec`; one copy is cheap next to the transform.
    let mut buf = data.to_vec();
    match direction {
        NttDirection::Forward => domain.fft_in_place(&mut buf),
        NttDirection::Inverse => domain.ifft_in_place(&mut buf),
        NttDirection::CosetForward | NttDirection::CosetInverse => {
            let coset = domain
                .get_coset(Fr::GENERATOR)
                .ok_or(EngineError::BadNttSize {
                    size: data.len(),
                    max_log: MAX_NTT_LOG,
                })?;
            if direction == NttDirection::CosetForward {
                coset.fft_in_place(&mut buf)
            } else {
                coset.ifft_in_place(&mut buf)
            }
        }
    }
    data.copy_from_slice(&buf);
    Ok(())
}

//! An R1CS shape in the layout the witness-map kernel reads: the three matrices' rows as one
//! compressed-row array of 8-byte terms `(variable, coefficient index)`, with the distinct
//! coefficients in a table. Built once per shape and uploaded once (the rows are the same for
//! every proof of a fixed-shape circuit); each proof then uploads only its assignment.
//!
//! A coefficient is 32 bytes; circuits reuse few of them (±1, powers of two, a hash's round
//! constants and matrix), so indexing a table keeps an 8-slot ledger batch's 938k terms and
//! 3,088 distinct coefficients at 8.4 MB instead of 34.6 MB, and the table (99 KB) stays in
//! cache (`layout:` lines of `benches/synthesis.rs`). Building it takes 17–19 ms for that
//! batch on one core, once per shape (33–41 ms with the standard library's hasher).
//!
//! Every variable index is checked here against the assignment's length, once, so the kernel
//! needs no bounds check per term.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use ark_bls12_381::Fr;
use ark_ff::Field;
use bytemuck::{Pod, Zeroable};

use crate::engine::error::{EngineError, Result};
use crate::engine::kernel_host::FrLimbs;
use crate::engine::shape::R1csShape;
use crate::engine::MAX_NTT_LOG;

use super::params::{COEFF_MINUS_ONE, COEFF_ONE};

/// `spice_witness_term`: one term `coeff·z[var]` of a row.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct WitnessTerm {
    /// Variable index, below the assignment's length.
    pub var: u32,
    /// Index into [`WitnessMapLayout::coeff_table`].
    pub coeff: u32,
}

/// The matrices of one shape as the kernel reads them (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessMapLayout {
    /// `3·rows + 1` offsets into `terms`: A's rows, then B's, then C's.
    pub offsets: Vec<u32>,
    /// Every term of A, B and C, row by row.
    pub terms: Vec<WitnessTerm>,
    /// Distinct coefficients in Montgomery form; `[0]` is 1 and `[1]` is −1.
    pub coeff_table: Vec<FrLimbs>,
    /// The sizes every call is checked against.
    pub dims: ShapeDims,
}

/// The sizes of a shape that a witness-map call must fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShapeDims {
    /// Constraints.
    pub rows: u32,
    /// Instance variables (the one and the public inputs).
    pub instance: u32,
    /// Length of the assignment every proof must supply.
    pub variables: usize,
}

const MATRIX_NAMES: [&str; 3] = ["A", "B", "C"];

impl WitnessMapLayout {
    /// The layout of `shape`. [`EngineError::KeyMismatch`] if a row names a variable beyond the
    /// shape's variables, or the shape is too large for the kernel's 32-bit indices (more than
    /// 2^[`MAX_NTT_LOG`] constraints and inputs, or 2^32 − 3 terms).
    pub fn new(shape: &R1csShape) -> Result<Self> {
        let rows = shape.num_constraints();
        let variables = shape.num_variables();
        if rows + shape.num_instance > 1usize << MAX_NTT_LOG {
            return Err(EngineError::DomainTooLarge {
                needed: rows + shape.num_instance,
                max_log: MAX_NTT_LOG,
            });
        }
        let total_terms: usize = [&shape.a, &shape.b, &shape.c]
            .iter()
            .flat_map(|m| m.iter())
            .map(Vec::len)
            .sum();
        // Offsets and coefficient indices are u32; the table holds at most two more entries
        // than there are terms.
        let max_terms = u32::MAX as usize - 2;
        if total_terms > max_terms {
            return Err(EngineError::KeyMismatch(format!(
                "the matrices have {total_terms} terms; the device layout indexes at most {max_terms}"
            )));
        }
        let mut table = CoefficientTable::new();
        let mut offsets = Vec::with_capacity(3 * rows + 1);
        let mut terms = Vec::with_capacity(total_terms);
        offsets.push(0);
        for (matrix, name) in [&shape.a, &shape.b, &shape.c].into_iter().zip(MATRIX_NAMES) {
            for (i, row) in matrix.iter().enumerate() {
                for &(coeff, var) in row {
                    if var >= variables {
                        return Err(EngineError::KeyMismatch(format!(
                            "row {i} of {name} refers to variable {var}, beyond the shape's {variables} variables"
                        )));
                    }
                    terms.push(WitnessTerm {
                        var: var as u32,
                        coeff: table.index(coeff),
                    });
                }
                offsets.push(terms.len() as u32);
            }
        }
        Ok(Self {
            offsets,
            terms,
            coeff_table: table.values,
            dims: ShapeDims {
                rows: rows as u32,
                instance: shape.num_instance as u32,
                variables,
            },
        })
    }

    /// Bytes the layout occupies on a device.
    pub fn device_bytes(&self) -> usize {
        std::mem::size_of_val(self.offsets.as_slice())
            + std::mem::size_of_val(self.terms.as_slice())
            + std::mem::size_of_val(self.coeff_table.as_slice())
    }
}

impl ShapeDims {
    /// Checks a call against the layout: `z` must have [`Self::variables`] values and the
    /// domain must be a power of two that holds the rows and the instance. Returns the domain
    /// as the kernel's `u32`.
    pub fn check_call(&self, z_len: usize, domain_size: usize) -> Result<u32> {
        let needed = self.rows as usize + self.instance as usize;
        if z_len != self.variables {
            return Err(EngineError::KeyMismatch(format!(
                "assignment has {z_len} values for {} variables",
                self.variables
            )));
        }
        if !domain_size.is_power_of_two()
            || domain_size < needed
            || domain_size > 1usize << MAX_NTT_LOG
        {
            return Err(EngineError::KeyMismatch(format!(
                "{} constraints and {} instance values do not fit a domain of {domain_size}",
                self.rows, self.instance
            )));
        }
        Ok(domain_size as u32)
    }
}

/// Distinct coefficients, by their Montgomery limbs, with 1 and −1 first.
struct CoefficientTable {
    values: Vec<FrLimbs>,
    index: HashMap<FrLimbs, u32, BuildHasherDefault<LimbHasher>>,
}

/// A multiply-rotate fold of 64-bit words. Every term of the shape is looked up once, and
/// with the standard library's SipHash the lookups were most of the layout's build time.
/// Montgomery limbs are spread over all their bits (even for small constants), so this
/// weak hash distributes them well. The shape is the caller's own circuit, not input from a
/// network, so hash flooding is not a concern.
#[derive(Default)]
struct LimbHasher(u64);

impl Hasher for LimbHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }
}

impl CoefficientTable {
    fn new() -> Self {
        let mut table = Self {
            values: Vec::new(),
            index: HashMap::default(),
        };
        let (one, minus_one) = (table.index(Fr::ONE), table.index(-Fr::ONE));
        debug_assert_eq!((one, minus_one), (COEFF_ONE, COEFF_MINUS_ONE));
        table
    }

    fn index(&mut self, coeff: Fr) -> u32 {
        let limbs = FrLimbs::from(coeff);
        *self.index.entry(limbs).or_insert_with(|| {
            self.values.push(limbs);
            // At most two more entries than terms, which were counted to fit.
            (self.values.len() - 1) as u32
        })
    }
}

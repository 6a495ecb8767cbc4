//! The Poseidon permutation in the circuit with exactly the constraints and witness variables
//! of arkworks' `PoseidonSpongeVar`, but without its per-operation bookkeeping.
//!
//! arkworks evaluates a permutation as some 2,000 `FpVar` operations (round constants, the
//! three products of each S-box, sixteen scaled terms and twelve sums in every MDS step), each
//! with its own `AllocatedFp`, reference-counted constraint-system handle, tracing span and
//! linear-combination index, and copies the whole configuration (round constants and MDS
//! matrix) into every new sponge. What a proof needs from all that is 264 witness values and
//! 264 constraints. This module walks the rounds natively, allocates the S-box outputs in
//! arkworks' order with the values it computed, and writes each constraint's linear
//! combinations out only when the constraint system records matrices (key generation, shape
//! extraction): when proving a fixed shape they are never looked at.
//!
//! Why the circuit is the same: every S-box is `x·x = x²`, `x²·x² = x⁴`, `x⁴·x = x⁵` with the
//! operands in arkworks' order, where `x` is the lane's linear form, and a lane's linear form
//! is the same linear function of the same variables whichever way it is built up. arkworks
//! inlines its nested linear combinations, sorts and merges their terms before it writes a
//! matrix row, and drops zero coefficients, so the rows depend only on that function. The
//! tests compare matrices and assignments with `PoseidonSpongeVar` on fresh random inputs:
//! witnesses, constants, sums of variables and repeated variables, at every sponge length
//! across a rate boundary.
//!
//! Which lanes are constants follows arkworks' `FpVar` rules (an operation on constants is a
//! constant, one with a variable is a variable), so a constant lane's S-box costs nothing here
//! exactly where it costs nothing there.

use ark_bls12_381::Fr;
use ark_ff::{AdditiveGroup, Field, Zero};
use ark_r1cs_std::{
    fields::fp::{AllocatedFp, FpVar},
    GR1CSVar,
};
use ark_relations::gr1cs::{ConstraintSystemRef, LinearCombination, SynthesisError, Variable};

use super::poseidon::{config, CAPACITY, FULL_ROUNDS, PARTIAL_ROUNDS, RATE, WIDTH};

/// A lane's linear form: coefficients over the permutation's current basis of variables
/// (`basis[0]` is the constant one). Empty when the constraint system does not record
/// matrices, since nothing reads it then.
type Form = Vec<Fr>;

/// One lane of the state as arkworks' `FpVar` would hold it.
#[derive(Clone)]
struct Lane {
    /// `false` exactly where arkworks' lane would be an `FpVar::Constant`.
    variable: bool,
    /// The lane's value; `None` while setting up (variables have no values then).
    value: Option<Fr>,
    form: Form,
}

/// The variables the lanes' forms are written over, and whether forms are kept at all.
struct Basis {
    variables: Vec<Variable>,
    record: bool,
}

impl Basis {
    fn unit(&self, index: usize) -> Form {
        if !self.record {
            return Form::new();
        }
        let mut form = vec![Fr::ZERO; self.variables.len()];
        form[index] = Fr::ONE;
        form
    }

    /// Starts the basis over as the constant one and `variables`, the variable lanes' own
    /// variables in lane order, and gives each variable lane the unit form of its own.
    fn restart(&mut self, variables: impl IntoIterator<Item = Variable>, lanes: &mut [Lane]) {
        self.variables.truncate(1);
        self.variables.extend(variables);
        let mut position = 0;
        for lane in lanes.iter_mut() {
            lane.form = if lane.variable {
                position += 1;
                self.unit(position)
            } else {
                Form::new()
            };
        }
    }

    /// Appends `variable` to the basis (every lane's form gains a zero coefficient for it)
    /// and returns its position.
    fn push(&mut self, variable: Variable, lanes: &mut [Lane]) -> usize {
        self.variables.push(variable);
        if self.record {
            for lane in lanes.iter_mut() {
                lane.form.push(Fr::ZERO);
            }
        }
        self.variables.len() - 1
    }

    /// The linear combination of `form`, terms merged by variable, zeros left out.
    fn lc(&self, form: &Form) -> LinearCombination<Fr> {
        let mut lc = LinearCombination(
            form.iter()
                .zip(&self.variables)
                .filter(|(c, _)| !c.is_zero())
                .map(|(c, v)| (*c, *v))
                .collect(),
        );
        lc.compactify();
        lc
    }
}

/// The Poseidon permutation of [`config`] on in-circuit lanes: the constraints, witness
/// variables and output values of arkworks' `PoseidonSpongeVar::permute` on the same lanes.
pub fn permute_var(state: [FpVar<Fr>; WIDTH]) -> Result<[FpVar<Fr>; WIDTH], SynthesisError> {
    let cs = state
        .iter()
        .fold(ConstraintSystemRef::None, |cs, lane| cs.or(lane.cs()));
    if cs.is_none() {
        // Every lane is a constant, and so is every step of arkworks' permutation.
        let mut values = [Fr::ZERO; WIDTH];
        for (value, lane) in values.iter_mut().zip(&state) {
            *value = lane.value()?;
        }
        super::poseidon::permute(&mut values);
        return Ok(values.map(FpVar::Constant));
    }
    let record = super::matrix_free::records_linear_combinations(&cs);
    if !record {
        if let Some(values) = state
            .iter()
            .map(|lane| lane.value().ok())
            .collect::<Option<Vec<Fr>>>()
        {
            return permute_var_from_values(&cs, &state, values);
        }
    }

    // The basis starts as the constant one and the variable lanes' own variables.
    let mut basis = Basis {
        variables: vec![Variable::One],
        record,
    };
    let mut lanes: Vec<Lane> = state
        .iter()
        .map(|fp| match fp {
            FpVar::Constant(c) => Lane {
                variable: false,
                value: Some(*c),
                form: Form::new(),
            },
            FpVar::Var(v) => Lane {
                variable: true,
                value: v.value().ok(),
                form: Form::new(),
            },
        })
        .collect();
    let inputs = state.iter().filter_map(|fp| match fp {
        FpVar::Var(v) => Some(v.variable),
        FpVar::Constant(_) => None,
    });
    basis.restart(inputs, &mut lanes);

    let config = config();
    let half = FULL_ROUNDS / 2;
    for (round, constants) in config
        .ark
        .iter()
        .enumerate()
        .take(FULL_ROUNDS + PARTIAL_ROUNDS)
    {
        for (lane, constant) in lanes.iter_mut().zip(constants) {
            lane.value = lane.value.map(|v| v + constant);
            if record && lane.variable {
                lane.form[0] += constant;
            }
        }
        let full = round < half || round >= half + PARTIAL_ROUNDS;
        if full {
            // Every lane's S-box output becomes a lane of its own, so the basis starts over
            // from those (the older variables no longer appear in any lane).
            let outputs: Vec<Option<Variable>> = (0..WIDTH)
                .map(|i| sbox(&cs, &basis, &mut lanes[i]))
                .collect::<Result<_, _>>()?;
            basis.restart(outputs.into_iter().flatten(), &mut lanes);
        } else if let Some(variable) = sbox(&cs, &basis, &mut lanes[0])? {
            let position = basis.push(variable, &mut lanes);
            if record {
                lanes[0].form.iter_mut().for_each(|c| *c = Fr::ZERO);
                lanes[0].form[position] = Fr::ONE;
            }
        }
        mix(&config.mds, &basis, &mut lanes);
    }

    let mut out = state;
    for (fp, lane) in out.iter_mut().zip(&lanes) {
        *fp = if lane.variable {
            let lc = if record {
                basis.lc(&lane.form)
            } else {
                LinearCombination::zero()
            };
            let variable = cs.new_lc(|| lc)?;
            FpVar::Var(AllocatedFp::new(lane.value, variable, cs.clone()))
        } else {
            FpVar::Constant(lane.value.ok_or(SynthesisError::AssignmentMissing)?)
        };
    }
    Ok(out)
}

/// [`permute_var`] when no linear combination is recorded and every lane has a value (the
/// prover's matrix-free synthesis): the S-box powers come from one native permutation
/// ([`super::poseidon::permute_observed`], sparse rounds), and the witnesses are allocated
/// in arkworks' order without any per-lane bookkeeping. Round 0 allocates for the variable
/// lanes only; its MDS step makes every lane a variable.
fn permute_var_from_values(
    cs: &ConstraintSystemRef<Fr>,
    state: &[FpVar<Fr>; WIDTH],
    values: Vec<Fr>,
) -> Result<[FpVar<Fr>; WIDTH], SynthesisError> {
    let mut output = [Fr::ZERO; WIDTH];
    output.copy_from_slice(&values);
    let mut sboxes = Vec::with_capacity(FULL_ROUNDS * WIDTH + PARTIAL_ROUNDS);
    super::poseidon::permute_observed(&mut output, |powers| sboxes.push(*powers));
    let variable_at_start: Vec<bool> = state
        .iter()
        .map(|lane| matches!(lane, FpVar::Var(_)))
        .collect();
    for (k, powers) in sboxes.into_iter().enumerate() {
        if k < WIDTH && !variable_at_start[k] {
            continue;
        }
        // x², x⁴, x⁵ in arkworks' order, as the native S-box computed them. Their three
        // constraints are not enforced: a constraint system that records no matrices keeps
        // nothing of a constraint (arkworks 0.6 does not even count it), so the prover's
        // synthesis loses nothing.
        for witness in [powers.x2, powers.x4, powers.x5] {
            let _ = cs.new_witness_variable(|| Ok(witness))?;
        }
    }
    let mut out = state.clone();
    for (fp, value) in out.iter_mut().zip(output) {
        let variable = cs.new_lc(LinearCombination::zero)?;
        *fp = FpVar::Var(AllocatedFp::new(Some(value), variable, cs.clone()));
    }
    Ok(out)
}

/// x ↦ x⁵ on a lane, as arkworks' `pow_by_constant(&[5])` does it: a constant lane stays a
/// constant; a variable lane `x` gets witnesses x², x⁴, x⁵ (in that order) and the
/// constraints `x·x = x²`, `x²·x² = x⁴`, `x⁴·x = x⁵`. Returns the x⁵ variable, whose unit
/// form the caller gives the lane (the lane's form is left as `x`'s).
fn sbox(
    cs: &ConstraintSystemRef<Fr>,
    basis: &Basis,
    lane: &mut Lane,
) -> Result<Option<Variable>, SynthesisError> {
    let x2_value = lane.value.map(|x| x.square());
    let x4_value = x2_value.map(|x2| x2.square());
    lane.value = x4_value.zip(lane.value).map(|(x4, x)| x4 * x);
    if !lane.variable {
        return Ok(None);
    }
    let missing = SynthesisError::AssignmentMissing;
    let x2 = cs.new_witness_variable(|| x2_value.ok_or(missing))?;
    let x4 = cs.new_witness_variable(|| x4_value.ok_or(missing))?;
    // arkworks allocates x⁴ only after enforcing x², and x⁵ after x⁴; the witness indices
    // are the same either way (constraints allocate no variables), and so is the order of
    // the constraints below.
    let x5 = cs.new_witness_variable(|| lane.value.ok_or(missing))?;
    let x_lc = || basis.lc(&lane.form);
    cs.enforce_r1cs_constraint(x_lc, x_lc, || x2.into())?;
    cs.enforce_r1cs_constraint(|| x2.into(), || x2.into(), || x4.into())?;
    cs.enforce_r1cs_constraint(|| x4.into(), x_lc, || x5.into())?;
    Ok(Some(x5))
}

/// The MDS step: lane i becomes Σⱼ mds[i][j]·lane j. With any variable lane, every new lane
/// is a variable (arkworks adds each scaled term into an `FpVar` that starts as zero).
fn mix(mds: &[Vec<Fr>], basis: &Basis, lanes: &mut [Lane]) {
    let any_variable = lanes.iter().any(|lane| lane.variable);
    let mut mixed: Vec<Lane> = Vec::with_capacity(WIDTH);
    for row in mds {
        let mut value = Some(Fr::ZERO);
        let mut form = if basis.record && any_variable {
            vec![Fr::ZERO; basis.variables.len()]
        } else {
            Form::new()
        };
        for (lane, m) in lanes.iter().zip(row) {
            value = value.zip(lane.value).map(|(sum, v)| sum + *m * v);
            if form.is_empty() {
                continue;
            }
            if lane.variable {
                for (sum, c) in form.iter_mut().zip(&lane.form) {
                    *sum += *m * c;
                }
            } else if let Some(c) = lane.value {
                form[0] += *m * c;
            }
        }
        mixed.push(Lane {
            variable: any_variable,
            value,
            form,
        });
    }
    lanes.clone_from_slice(&mixed);
}

/// In-circuit twin of [`super::poseidon::hash`]: the lanes `[domain, inputs…]`, one
/// permutation, the first rate lane.
///
/// Costs 3 constraints per S-box (x², x⁴, x⁵): 4·8 + 56 = 88 S-boxes, 264 constraints,
/// fewer when lanes are constant in the first round (the domain tag always is).
pub fn hash_var(domain: Fr, inputs: [FpVar<Fr>; RATE]) -> Result<FpVar<Fr>, SynthesisError> {
    let [a, b, c] = inputs;
    let [_, out, _, _] = permute_var([FpVar::Constant(domain), a, b, c])?;
    Ok(out)
}

/// arkworks' duplex sponge with `capacity` in the capacity lane, as `PoseidonSpongeVar` is
/// used by `absorb(inputs)` then `squeeze_field_elements(1)`: inputs added into the rate
/// lanes (a permutation whenever the rate is full and more input follows), then one more
/// permutation, then the first rate lane. The in-circuit twin of
/// [`super::poseidon::sponge_hash`].
pub fn sponge_hash_var(capacity: Fr, inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let zero = FpVar::Constant(Fr::ZERO);
    let mut state = [FpVar::Constant(capacity), zero.clone(), zero.clone(), zero];
    let mut next = 0;
    for input in inputs {
        if next == RATE {
            state = permute_var(state)?;
            next = 0;
        }
        state[CAPACITY + next] += input;
        next += 1;
    }
    let [_, out, _, _] = permute_var(state)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::R1csShape;
    use crate::host::edwards_gadget::tests::{proving_cs, shape_and_assignment};
    use ark_crypto_primitives::sponge::{
        constraints::CryptographicSpongeVar, poseidon::constraints::PoseidonSpongeVar,
    };
    use ark_r1cs_std::{alloc::AllocVar, fields::FieldVar};
    use ark_relations::gr1cs::{ConstraintSystem, SynthesisMode};
    use ark_std::{rand::SeedableRng, UniformRand};
    use proptest::prelude::*;

    /// How a test input enters the circuit.
    #[derive(Clone, Copy, Debug)]
    enum Kind {
        Witness,
        Input,
        Constant,
        /// The sum of two fresh witnesses: a lane that is itself a linear combination.
        Sum,
        /// The previous input's variable again (a witness when there is none).
        Repeat,
    }

    fn kind() -> impl Strategy<Value = Kind> {
        prop_oneof![
            Just(Kind::Witness),
            Just(Kind::Input),
            Just(Kind::Constant),
            Just(Kind::Sum),
            Just(Kind::Repeat),
        ]
    }

    /// Allocates one input per kind in `cs`, with values from `seed`.
    fn inputs(cs: &ConstraintSystemRef<Fr>, kinds: &[Kind], seed: u64) -> Vec<FpVar<Fr>> {
        let mut rng = ark_std::rand::rngs::StdRng::seed_from_u64(seed);
        let mut out: Vec<FpVar<Fr>> = Vec::new();
        for kind in kinds {
            let value = Fr::rand(&mut rng);
            let next = match (kind, out.last()) {
                (Kind::Witness, _) | (Kind::Repeat, None) => {
                    FpVar::new_witness(cs.clone(), || Ok(value)).unwrap()
                }
                (Kind::Input, _) => FpVar::new_input(cs.clone(), || Ok(value)).unwrap(),
                (Kind::Constant, _) => FpVar::constant(value),
                (Kind::Sum, _) => {
                    let a = FpVar::new_witness(cs.clone(), || Ok(value)).unwrap();
                    let b = FpVar::new_witness(cs.clone(), || Ok(value.double())).unwrap();
                    a + b
                }
                (Kind::Repeat, Some(previous)) => previous.clone(),
            };
            out.push(next);
        }
        out
    }

    /// arkworks' sponge, used as [`sponge_hash_var`] uses it.
    fn arkworks_sponge(capacity: Fr, inputs: &[FpVar<Fr>]) -> FpVar<Fr> {
        let cs = inputs
            .iter()
            .fold(ConstraintSystemRef::None, |cs, x| cs.or(x.cs()));
        let mut sponge = PoseidonSpongeVar::new(cs, config());
        sponge.state[0] = FpVar::constant(capacity);
        sponge.absorb(&inputs.to_vec()).unwrap();
        sponge.squeeze_field_elements(1).unwrap().pop().unwrap()
    }

    /// arkworks' permutation on `[domain, a, b, c]`, read at the first rate lane.
    fn arkworks_hash(domain: Fr, inputs: &[FpVar<Fr>]) -> FpVar<Fr> {
        let cs = inputs
            .iter()
            .fold(ConstraintSystemRef::None, |cs, x| cs.or(x.cs()));
        let mut sponge = PoseidonSpongeVar::new(cs, config());
        sponge.state[0] = FpVar::constant(domain);
        sponge.state[CAPACITY..].clone_from_slice(inputs);
        sponge.squeeze_field_elements(1).unwrap().pop().unwrap()
    }

    /// Ours in the prover's mode (no matrices, so no linear combinations written out, and the
    /// S-box values from one native pass) against arkworks with matrices: the same output
    /// and assignment.
    fn matrix_free_matches(
        theirs: &(R1csShape, Vec<Fr>, FpVar<Fr>),
        kinds: &[Kind],
        seed: u64,
        ours: impl Fn(&[FpVar<Fr>]) -> FpVar<Fr>,
    ) -> Result<(), TestCaseError> {
        let cs = ConstraintSystem::new_ref();
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: false,
            generate_lc_assignments: false,
        });
        let out = ours(&inputs(&cs, kinds, seed));
        prop_assert_eq!(out.value().unwrap(), theirs.2.value().unwrap());
        let _square = out.square().unwrap();
        let mut z = cs.instance_assignment().unwrap();
        z.extend(cs.witness_assignment().unwrap());
        prop_assert_eq!(&z, &theirs.1);
        Ok(())
    }

    fn setup_cs() -> ConstraintSystemRef<Fr> {
        let cs = ConstraintSystem::new_ref();
        cs.set_mode(SynthesisMode::Setup);
        cs
    }

    /// The circuit (matrices, and the assignment where there is one) and the output.
    fn run(
        cs: ConstraintSystemRef<Fr>,
        kinds: &[Kind],
        seed: u64,
        gadget: impl Fn(&[FpVar<Fr>]) -> FpVar<Fr>,
    ) -> (R1csShape, Vec<Fr>, FpVar<Fr>) {
        let inputs = inputs(&cs, kinds, seed);
        let out = gadget(&inputs);
        // A constraint on the output, so that its linear combination reaches a matrix row.
        let _square = out.square().unwrap();
        if cs.is_in_setup_mode() {
            cs.finalize();
            let shape = R1csShape::from_constraint_system(&cs).unwrap();
            (shape, Vec::new(), out)
        } else {
            let (shape, z) = shape_and_assignment(&cs);
            (shape, z, out)
        }
    }

    fn assert_same(
        theirs: &(R1csShape, Vec<Fr>, FpVar<Fr>),
        ours: &(R1csShape, Vec<Fr>, FpVar<Fr>),
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(&theirs.0.a, &ours.0.a);
        prop_assert_eq!(&theirs.0.b, &ours.0.b);
        prop_assert_eq!(&theirs.0.c, &ours.0.c);
        prop_assert_eq!(theirs.0.num_instance, ours.0.num_instance);
        prop_assert_eq!(theirs.0.num_witness, ours.0.num_witness);
        prop_assert_eq!(&theirs.1, &ours.1);
        prop_assert_eq!(theirs.2.is_constant(), ours.2.is_constant());
        Ok(())
    }

    /// Rows of `shape` that `z` does not satisfy.
    fn unsatisfied_rows(shape: &R1csShape, z: &[Fr]) -> usize {
        let row =
            |m: &[Vec<(Fr, usize)>], i: usize| m[i].iter().map(|&(c, v)| c * z[v]).sum::<Fr>();
        (0..shape.num_constraints())
            .filter(|&i| row(&shape.a, i) * row(&shape.b, i) != row(&shape.c, i))
            .count()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Same matrices, same variables, same values as arkworks' sponge absorbing then
        /// squeezing one element, for 0 to 7 inputs of every kind; in prove mode with
        /// matrices, in setup mode, and (assignment only) in the prover's mode without them.
        #[test]
        fn sponge_matches_arkworks(seed in any::<u64>(), kinds in proptest::collection::vec(kind(), 0..8), capacity in any::<u64>()) {
            let capacity = Fr::from(capacity);
            let theirs = run(proving_cs(), &kinds, seed, |x| arkworks_sponge(capacity, x));
            let ours = run(proving_cs(), &kinds, seed, |x| sponge_hash_var(capacity, x).unwrap());
            assert_same(&theirs, &ours)?;
            prop_assert_eq!(theirs.2.value().unwrap(), ours.2.value().unwrap());
            let values: Vec<Fr> = inputs(&proving_cs(), &kinds, seed).iter().map(|x| x.value().unwrap()).collect();
            prop_assert_eq!(ours.2.value().unwrap(), crate::host::poseidon::sponge_hash(capacity, &values));

            let their_setup = run(setup_cs(), &kinds, seed, |x| arkworks_sponge(capacity, x));
            let our_setup = run(setup_cs(), &kinds, seed, |x| sponge_hash_var(capacity, x).unwrap());
            assert_same(&their_setup, &our_setup)?;

            matrix_free_matches(&theirs, &kinds, seed, |x| sponge_hash_var(capacity, x).unwrap())?;
        }

        /// The single-permutation hash: the same circuit as arkworks' permutation on
        /// `[domain, a, b, c]`, for inputs of every kind.
        #[test]
        fn hash_matches_arkworks(seed in any::<u64>(), kinds in proptest::collection::vec(kind(), 3), domain in any::<u64>()) {
            let domain = Fr::from(domain);
            let ours_of = |x: &[FpVar<Fr>]| hash_var(domain, [x[0].clone(), x[1].clone(), x[2].clone()]).unwrap();
            let theirs = run(proving_cs(), &kinds, seed, |x| arkworks_hash(domain, x));
            let ours = run(proving_cs(), &kinds, seed, ours_of);
            assert_same(&theirs, &ours)?;
            prop_assert_eq!(theirs.2.value().unwrap(), ours.2.value().unwrap());
            matrix_free_matches(&theirs, &kinds, seed, ours_of)?;
            let theirs = run(setup_cs(), &kinds, seed, |x| arkworks_hash(domain, x));
            let ours = run(setup_cs(), &kinds, seed, ours_of);
            assert_same(&theirs, &ours)?;
        }
    }

    /// A permutation of constants is a constant, computed natively, with no constraints.
    #[test]
    fn constant_lanes_give_a_constant() {
        let lanes = [
            Fr::from(1u64),
            Fr::from(2u64),
            Fr::from(3u64),
            Fr::from(4u64),
        ];
        let out = permute_var(lanes.map(FpVar::constant)).unwrap();
        let mut expected = lanes;
        crate::host::poseidon::permute(&mut expected);
        for (lane, value) in out.iter().zip(expected) {
            assert!(lane.is_constant());
            assert_eq!(lane.value().unwrap(), value);
        }
    }

    /// Every witness the permutation allocates is pinned by its constraints: changing any
    /// one S-box value (x², x⁴ or x⁵ of any round) in an honest assignment breaks a
    /// constraint, so a prover cannot choose them.
    #[test]
    fn a_tampered_sbox_value_is_unsatisfiable() {
        let cs = proving_cs();
        let kinds = [Kind::Witness, Kind::Sum, Kind::Input];
        let inputs = inputs(&cs, &kinds, 7);
        let first_sbox_witness = cs.num_witness_variables();
        let _ = hash_var(
            Fr::from(5u64),
            [inputs[0].clone(), inputs[1].clone(), inputs[2].clone()],
        )
        .unwrap();
        let (shape, z) = shape_and_assignment(&cs);
        assert_eq!(
            unsatisfied_rows(&shape, &z),
            0,
            "the honest assignment satisfies"
        );
        // The domain lane is a constant in the first round: 3 + 3·4 + 56 + 4·4 = 87 S-boxes.
        let sboxes = shape.num_witness - first_sbox_witness;
        assert_eq!(sboxes, 3 * 87);
        let offset = shape.num_instance;
        for w in first_sbox_witness..shape.num_witness {
            let mut tampered = z.clone();
            tampered[offset + w] += Fr::ONE;
            assert!(
                unsatisfied_rows(&shape, &tampered) > 0,
                "witness {w} is free"
            );
        }
    }
}

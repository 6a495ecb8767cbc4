//! The device build of the kernels' field and curve arithmetic (`kernels/arith_selftest.cu`,
//! whose PTX carry chains the host build never reaches) agrees with arkworks on random
//! inputs and the edge cases: 0, 1, p − 1, the identity, P + P and P + (−P); and a kernel's
//! largest block is what its registers leave, as the driver reports and enforces.
//!
//! Without a usable GPU every test prints `skipped: <reason>` and returns, unless
//! `SPICE_REQUIRE_GPU=1` is set, in which case it fails.
#![cfg(feature = "cuda")]

use std::ffi::c_void;
use std::sync::{Arc, OnceLock};

use ark_bls12_381::{Fq, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, One, UniformRand, Zero};
use ark_std::rand::{rngs::StdRng, SeedableRng};
use bytemuck::Pod;
use spice::engine::cuda::buffer::DeviceBuffer;
use spice::engine::cuda::device::Device;
use spice::engine::cuda::module::{Kernel, LaunchShape, Module, ARITH_SELFTEST_IMAGE};
use spice::engine::kernel_host::{FqLimbs, FrLimbs, G1AffineLimbs, G2AffineLimbs};
use spice::engine::EngineError;

struct Gpu {
    device: Arc<Device>,
    module: Module,
}

fn gpu(test: &str) -> Option<&'static Gpu> {
    static GPU: OnceLock<Result<Gpu, String>> = OnceLock::new();
    let opened = GPU.get_or_init(|| {
        let device = Arc::new(Device::open().map_err(|e| e.to_string())?);
        let module = Module::load(&device, &ARITH_SELFTEST_IMAGE).map_err(|e| e.to_string())?;
        Ok(Gpu { device, module })
    });
    match opened {
        Ok(g) => Some(g),
        Err(reason) => {
            assert!(
                std::env::var("SPICE_REQUIRE_GPU").as_deref() != Ok("1"),
                "{test}: SPICE_REQUIRE_GPU=1 but: {reason}"
            );
            println!("{test}: skipped: {reason}");
            None
        }
    }
}

fn rng(test: &str) -> StdRng {
    let seed = rand::random::<u64>();
    println!("{test}: seed {seed}");
    StdRng::seed_from_u64(seed)
}

/// Runs `kernel(in_0, .., in_k, out_0, .., out_m, n)` over equal-length arrays, in blocks of
/// 128 threads.
fn run<I: Pod, O: Pod + Default>(
    g: &Gpu,
    kernel: &str,
    inputs: &[&[I]],
    outputs: usize,
) -> Vec<Vec<O>> {
    let k = g.module.kernel(kernel, 128).unwrap();
    run_in_blocks(g, &k, 128, inputs, outputs).unwrap()
}

/// As [`run`], for a kernel already looked up, in blocks of `threads`; a failed launch is
/// returned.
fn run_in_blocks<I: Pod, O: Pod + Default>(
    g: &Gpu,
    k: &Kernel,
    threads: u32,
    inputs: &[&[I]],
    outputs: usize,
) -> Result<Vec<Vec<O>>, EngineError> {
    let n = inputs[0].len();
    let ins: Vec<DeviceBuffer<I>> = inputs
        .iter()
        .map(|v| DeviceBuffer::from_host(&g.device, v).unwrap())
        .collect();
    let outs: Vec<DeviceBuffer<O>> = (0..outputs)
        .map(|_| DeviceBuffer::new(&g.device, n).unwrap())
        .collect();
    let mut ptrs: Vec<u64> = ins
        .iter()
        .map(|b| b.ptr())
        .chain(outs.iter().map(|b| b.ptr()))
        .collect();
    let mut count = n as u32;
    let mut args: Vec<*mut c_void> = ptrs
        .iter_mut()
        .map(|p| p as *mut u64 as *mut c_void)
        .collect();
    args.push(&mut count as *mut u32 as *mut c_void);
    let shape = LaunchShape {
        blocks: (n as u32).div_ceil(threads),
        threads,
        shared_bytes: 0,
    };
    // SAFETY: the arith_selftest kernels take their arrays then n, in this order; every array
    // holds n elements of the layout the kernel reads or writes, and lives until the download.
    unsafe { k.launch(&g.device, shape, &mut args)? };
    outs.iter()
        .map(|b| {
            let mut host = vec![O::default(); n];
            b.download(&mut host)?;
            g.device.synchronize()?;
            Ok(host)
        })
        .collect()
}

fn fr_values(rng: &mut StdRng) -> Vec<Fr> {
    let mut v = vec![Fr::zero(), Fr::one(), -Fr::one(), Fr::from(2u64)];
    v.extend((0..2000).map(|_| Fr::rand(rng)));
    v
}

fn fq_values(rng: &mut StdRng) -> Vec<Fq> {
    let mut v = vec![Fq::zero(), Fq::one(), -Fq::one(), Fq::from(2u64)];
    v.extend((0..2000).map(|_| Fq::rand(rng)));
    v
}

#[test]
fn gpu_fr_mul_add_sub_match_arkworks() {
    let Some(g) = gpu("gpu_fr_mul_add_sub_match_arkworks") else {
        return;
    };
    let mut rng = rng("gpu_fr_mul_add_sub_match_arkworks");
    let a = fr_values(&mut rng);
    let mut b = fr_values(&mut rng);
    b.reverse(); // every edge value meets random ones and the other edges
    let (la, lb): (Vec<FrLimbs>, Vec<FrLimbs>) = (
        a.iter().map(|&x| x.into()).collect(),
        b.iter().map(|&x| x.into()).collect(),
    );
    let prod = &run::<FrLimbs, FrLimbs>(g, "spice_fr_mul_kernel", &[&la, &lb], 1)[0];
    let sums = run::<FrLimbs, FrLimbs>(g, "spice_fr_add_sub_kernel", &[&la, &lb], 2);
    for i in 0..a.len() {
        assert_eq!(prod[i], FrLimbs::from(a[i] * b[i]), "{} * {}", a[i], b[i]);
        assert_eq!(
            sums[0][i],
            FrLimbs::from(a[i] + b[i]),
            "{} + {}",
            a[i],
            b[i]
        );
        assert_eq!(
            sums[1][i],
            FrLimbs::from(a[i] - b[i]),
            "{} - {}",
            a[i],
            b[i]
        );
    }
}

#[test]
fn gpu_fq_mul_and_inverse_match_arkworks() {
    let Some(g) = gpu("gpu_fq_mul_and_inverse_match_arkworks") else {
        return;
    };
    let mut rng = rng("gpu_fq_mul_and_inverse_match_arkworks");
    let a = fq_values(&mut rng);
    let mut b = fq_values(&mut rng);
    b.reverse();
    let (la, lb): (Vec<FqLimbs>, Vec<FqLimbs>) = (
        a.iter().map(|&x| x.into()).collect(),
        b.iter().map(|&x| x.into()).collect(),
    );
    let prod = &run::<FqLimbs, FqLimbs>(g, "spice_fq_mul_kernel", &[&la, &lb], 1)[0];
    let inv = &run::<FqLimbs, FqLimbs>(g, "spice_fq_inverse_kernel", &[&la], 1)[0];
    for i in 0..a.len() {
        assert_eq!(prod[i], FqLimbs::from(a[i] * b[i]), "{} * {}", a[i], b[i]);
        // The kernel maps zero to zero (Fermat), arkworks to None.
        assert_eq!(
            inv[i],
            FqLimbs::from(a[i].inverse().unwrap_or(Fq::zero())),
            "1 / {}",
            a[i]
        );
    }
}

/// Random points plus the identity, and pairs that hit P + P and P + (−P).
fn pairs<G: CurveGroup>(rng: &mut StdRng) -> (Vec<G::Affine>, Vec<G::Affine>) {
    let mut a: Vec<G::Affine> = (0..500)
        .map(|_| (G::generator() * G::ScalarField::rand(rng)).into_affine())
        .collect();
    let mut b: Vec<G::Affine> = (0..500)
        .map(|_| (G::generator() * G::ScalarField::rand(rng)).into_affine())
        .collect();
    let p = a[0];
    a.extend([p, p, G::Affine::zero(), p, G::Affine::zero()]);
    b.extend([
        p,
        (-p.into_group()).into_affine(),
        p,
        G::Affine::zero(),
        G::Affine::zero(),
    ]);
    (a, b)
}

#[test]
fn gpu_g1_mixed_addition_matches_arkworks() {
    let Some(g) = gpu("gpu_g1_mixed_addition_matches_arkworks") else {
        return;
    };
    let (a, b) = pairs::<G1Projective>(&mut rng("gpu_g1_mixed_addition_matches_arkworks"));
    let (la, lb): (Vec<G1AffineLimbs>, Vec<G1AffineLimbs>) = (
        a.iter().map(|&p| p.into()).collect(),
        b.iter().map(|&p| p.into()).collect(),
    );
    let sum =
        &run::<G1AffineLimbs, G1AffineLimbs>(g, "spice_g1_add_mixed_kernel", &[&la, &lb], 1)[0];
    for i in 0..a.len() {
        let expected: G1Affine = (a[i].into_group() + b[i]).into_affine();
        assert_eq!(sum[i], G1AffineLimbs::from(expected), "pair {i}");
    }
}

#[test]
fn gpu_g2_mixed_addition_matches_arkworks() {
    let Some(g) = gpu("gpu_g2_mixed_addition_matches_arkworks") else {
        return;
    };
    let (a, b) = pairs::<G2Projective>(&mut rng("gpu_g2_mixed_addition_matches_arkworks"));
    let (la, lb): (Vec<G2AffineLimbs>, Vec<G2AffineLimbs>) = (
        a.iter().map(|&p| p.into()).collect(),
        b.iter().map(|&p| p.into()).collect(),
    );
    let sum =
        &run::<G2AffineLimbs, G2AffineLimbs>(g, "spice_g2_add_mixed_kernel", &[&la, &lb], 1)[0];
    for i in 0..a.len() {
        let expected: G2Affine = (a[i].into_group() + b[i]).into_affine();
        assert_eq!(sum[i], G2AffineLimbs::from(expected), "pair {i}");
    }
}

/// A block's threads are bounded by the kernel's registers, not only by the device's 1,024:
/// the G2 addition (over 200 registers a thread and no launch bound) runs right in the
/// largest block the driver reports for it, a larger block is refused when the backend looks
/// the kernel up, and a launch of one fails rather than runs. On a GPU this holds the driver
/// to the rule the CPU emulation of the driver applies (registers rounded up to whole
/// allocation units per warp, out of the 65,536 a block may use).
#[test]
fn a_kernel_runs_in_its_largest_block_and_refuses_a_larger_one() {
    let test = "a_kernel_runs_in_its_largest_block_and_refuses_a_larger_one";
    let Some(g) = gpu(test) else {
        return;
    };
    let name = "spice_g2_add_mixed_kernel";
    let kernel = g.module.kernel(name, 32).unwrap();
    let most = kernel.max_threads_per_block(&g.device).unwrap();
    println!("{test}: {name} runs at most {most} threads a block");
    assert!(
        most % 32 == 0 && (128..1024).contains(&most),
        "{name}: at most {most} threads a block"
    );
    match g.module.kernel(name, most + 32) {
        Err(EngineError::KernelLimit {
            kernel,
            allowed,
            threads,
            ..
        }) => assert_eq!((kernel.as_str(), allowed, threads), (name, most, most + 32)),
        Err(e) => panic!("{name} for blocks of {}: {e}", most + 32),
        Ok(_) => panic!("{name} was accepted for blocks of {}", most + 32),
    }
    let (a, b) = pairs::<G2Projective>(&mut rng(test));
    let (la, lb): (Vec<G2AffineLimbs>, Vec<G2AffineLimbs>) = (
        a.iter().map(|&p| p.into()).collect(),
        b.iter().map(|&p| p.into()).collect(),
    );
    let sum = run_in_blocks::<G2AffineLimbs, G2AffineLimbs>(g, &kernel, most, &[&la, &lb], 1)
        .unwrap_or_else(|e| panic!("{name} in blocks of {most}: {e}"));
    for i in 0..a.len() {
        let expected: G2Affine = (a[i].into_group() + b[i]).into_affine();
        assert_eq!(sum[0][i], G2AffineLimbs::from(expected), "pair {i}");
    }
    let too_many = most + 32;
    match run_in_blocks::<G2AffineLimbs, G2AffineLimbs>(g, &kernel, too_many, &[&la, &lb], 1) {
        Err(EngineError::Cuda { reason, .. }) => assert!(
            reason.contains("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"),
            "{name} in blocks of {too_many}: {reason}"
        ),
        Err(e) => panic!("{name} in blocks of {too_many}: {e}"),
        Ok(_) => panic!("{name} ran in blocks of {too_many}"),
    }
}

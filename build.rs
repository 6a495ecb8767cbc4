//! Build script.
//!
//! Always: compiles the kernels' `__host__ __device__` code for the host (`kernels/host_arith.cpp`:
//! arithmetic and NTT passes; `kernels/host_msm.cpp`: the MSM phases;
//! `kernels/host_witness_map.cpp`: the witness map's rows; C++17) into a static library, so
//! `tests/kernel_arith.rs`, `kernel_ntt.rs`, `kernel_msm.rs` and the engine's unit tests check
//! it against arkworks and the CPU evaluator on every CI run, GPU or not.
//!
//! With the `cuda` feature: compiles every `kernels/*.cu` with nvcc into a fatbin in OUT_DIR
//! (SASS for sm_80/90; PTX for sm_70/75 and for newer GPUs, JIT-compiled by the driver), exported to Rust as
//! `SPICE_FATBIN_<STEM>` (e.g. `SPICE_FATBIN_ARITH_SELFTEST`) for `include_bytes!`, and runs
//! bindgen on `kernels/include/spice_layout.h` into OUT_DIR/spice_layout.rs.
//!
//! With `bench-sppark` (implies `cuda`): compiles `kernels/bench/sppark_ntt.cu` and
//! `sppark_msm.cu`, the glue that lets benches/ntt.rs and benches/msm.rs time sppark's NTT and
//! MSM, and the two sides of benches/arith.rs's arithmetic race (`sppark_race.cu`,
//! `race_ours.cu`), with the CUDA runtime against sppark's headers (`DEP_SPPARK_ROOT`) and
//! blst's (`DEP_BLST_C_SRC`, sppark's host-side field types), for Hopper only (sm_90 and its
//! PTX).

fn main() {
    println!("cargo:rerun-if-changed=kernels");
    println!("cargo:rerun-if-changed=build.rs");

    // Everything below is independent, so the slow parts start first and run side by side:
    // nvcc on msm_g1.cu alone is the longest step of a `cuda` build (about two minutes of one
    // core), and the sppark glue is the next longest. The host C++ and bindgen run meanwhile.
    #[cfg(feature = "cuda")]
    let kernels = cuda::spawn_kernels();
    #[cfg(feature = "bench-sppark")]
    let sppark_glue = std::thread::spawn(cuda::build_sppark_glue);

    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .opt_level(2)
        .include("kernels")
        .file("kernels/host_arith.cpp")
        .file("kernels/host_msm.cpp")
        .file("kernels/host_witness_map.cpp")
        .compile("spice_host_arith");

    // Cargo compiles the build script with the package's features, so this is the
    // CARGO_FEATURE_CUDA switch, and it also gates the optional `bindgen` build-dependency.
    #[cfg(feature = "cuda")]
    {
        cuda::generate_layout_bindings();
        cuda::wait_for(kernels);
    }
    #[cfg(feature = "bench-sppark")]
    if let Err(panic) = sppark_glue.join() {
        // The glue's own message (cc names the failing command) was printed by its thread.
        std::panic::resume_unwind(panic);
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use std::env;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Native code for Ampere (sm_80) and Hopper (sm_90), the GPUs we tune for; compute_70 PTX
    /// that the driver JIT-compiles on Volta and Turing (once, at the first load; the driver
    /// caches it); compute_90 PTX for anything newer. Shipping Volta as PTX rather than SASS
    /// saves one ptxas run per kernel file, a third of each file's build. All supported by
    /// nvcc 11.8 and later.
    const GENCODE: &[&str] = &[
        "arch=compute_70,code=compute_70",
        "arch=compute_80,code=sm_80",
        "arch=compute_90,code=sm_90",
        "arch=compute_90,code=compute_90",
    ];

    /// The architectures of the sppark comparison glue (`bench-sppark`).
    #[cfg(feature = "bench-sppark")]
    const SPPARK_GENCODE: &[&str] = &[
        "arch=compute_90,code=sm_90",
        "arch=compute_90,code=compute_90",
    ];

    /// `SPICE_CUDA_GENCODE` when set: nvcc `-gencode` values separated by `;` (e.g.
    /// `arch=compute_90,code=sm_90` to build for one GPU only, in about half the time), else
    /// [`GENCODE`]. Each value must have nvcc's `arch=compute_NN,code=sm_NN|compute_NN` form.
    fn gencodes() -> Vec<String> {
        let Ok(list) = env::var("SPICE_CUDA_GENCODE") else {
            return GENCODE.iter().map(|g| g.to_string()).collect();
        };
        let gencodes: Vec<String> = list
            .split(';')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(String::from)
            .collect();
        let well_formed = |g: &str| {
            let Some((arch, code)) = g.split_once(',') else {
                return false;
            };
            let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
            arch.strip_prefix("arch=compute_").is_some_and(number)
                && code
                    .strip_prefix("code=")
                    .and_then(|c| c.strip_prefix("sm_").or_else(|| c.strip_prefix("compute_")))
                    .is_some_and(number)
        };
        if gencodes.is_empty() || !gencodes.iter().all(|g| well_formed(g)) {
            panic!(
                "SPICE_CUDA_GENCODE={list:?}: expected `;`-separated nvcc -gencode values such as \
                 `arch=compute_90,code=sm_90;arch=compute_90,code=compute_90`"
            );
        }
        gencodes
    }

    /// Starts one nvcc per `kernels/*.cu`, all at once (each is single-threaded), and tells
    /// Rust where each fatbin will be. [`wait_for`] checks they all succeeded.
    pub fn spawn_kernels() -> Vec<(PathBuf, std::process::Child)> {
        println!("cargo:rerun-if-env-changed=CUDA_PATH");
        println!("cargo:rerun-if-env-changed=NVCC_CCBIN");
        println!("cargo:rerun-if-env-changed=SPICE_CUDA_GENCODE");
        let gencodes = gencodes();
        let nvcc = find_nvcc().unwrap_or_else(|| {
            panic!("feature `cuda` needs nvcc: install the CUDA toolkit or set CUDA_PATH")
        });
        let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

        let mut sources: Vec<PathBuf> = std::fs::read_dir("kernels")
            .expect("kernels/ is part of the package")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "cu"))
            .collect();
        sources.sort();
        sources
            .iter()
            .map(|src| {
                let stem = src
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .expect("ASCII kernel file name");
                let fatbin = out.join(format!("{stem}.fatbin"));
                println!(
                    "cargo:rustc-env=SPICE_FATBIN_{}={}",
                    stem.to_ascii_uppercase(),
                    fatbin.display()
                );
                (src.clone(), spawn_fatbin(&nvcc, src, &fatbin, &gencodes))
            })
            .collect()
    }

    /// Waits for every nvcc of [`spawn_kernels`]; a failed one fails the build, naming its file
    /// (nvcc's own diagnostics are above in the build output).
    pub fn wait_for(jobs: Vec<(PathBuf, std::process::Child)>) {
        for (src, mut child) in jobs {
            let status = child
                .wait()
                .unwrap_or_else(|e| panic!("waiting for nvcc on {}: {e}", src.display()));
            assert!(
                status.success(),
                "nvcc failed on {} ({status})",
                src.display()
            );
        }
    }

    /// bindgen's reading of `kernels/include/spice_layout.h`, the one definition of the limb and
    /// point layouts that Rust and CUDA share, into OUT_DIR/spice_layout.rs.
    pub fn generate_layout_bindings() {
        let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
        bindgen::Builder::default()
            .header("kernels/include/spice_layout.h")
            .allowlist_type("spice_.*")
            .allowlist_var("SPICE_.*")
            .derive_default(true)
            .layout_tests(true)
            .generate()
            .expect("bindgen could not parse kernels/include/spice_layout.h")
            .write_to_file(out.join("spice_layout.rs"))
            .expect("cannot write OUT_DIR/spice_layout.rs");
    }

    /// The sppark comparison glue, linked into the library as a static archive (the
    /// benchmark declares its one `extern "C"` function).
    #[cfg(feature = "bench-sppark")]
    pub fn build_sppark_glue() {
        let sppark =
            env::var("DEP_SPPARK_ROOT").expect("the sppark dependency exports DEP_SPPARK_ROOT");
        let blst = env::var("DEP_BLST_C_SRC").expect("the blst dependency exports DEP_BLST_C_SRC");
        let mut build = cc::Build::new();
        build
            .cuda(true)
            .cudart("static")
            // nvcc's own host compiler, as for the fatbins (cc would pass the default C++
            // compiler, which Debian's nvcc 11.8 rejects when it is GCC 12).
            .ccbin(false)
            .flag("-std=c++17")
            .flag("-O3")
            .define("FEATURE_BLS12_381", None)
            .include(sppark)
            .include(blst)
            .file("kernels/bench/sppark_ntt.cu")
            .file("kernels/bench/sppark_msm.cu")
            .file("kernels/bench/sppark_race.cu")
            .file("kernels/bench/race_ours.cu");
        // sppark's host-side field type calls blst's assembly by its portable names
        // (sqr_mont_384, ...); blst built with ADX (our rustflags) exports only the mulx
        // variants, and its headers map the names when __ADX__ is defined, as blst's own
        // build does for its C sources.
        let target_features = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
        if target_features.split(',').any(|f| f == "adx") {
            build.define("__ADX__", None);
        }
        // Hopper only: the comparison exists for the H100/H200 benchmarks, and each extra
        // architecture of sppark's MSM templates costs minutes of nvcc on every CI run.
        for g in SPPARK_GENCODE {
            build.flag("-gencode").flag(g);
        }
        if let Some(ccbin) = env::var_os("NVCC_CCBIN") {
            build
                .flag("-ccbin")
                .flag(ccbin.to_str().expect("NVCC_CCBIN is a UTF-8 path"));
        }
        build.compile("spice_sppark_glue");
    }

    fn spawn_fatbin(
        nvcc: &Path,
        src: &Path,
        fatbin: &Path,
        gencodes: &[String],
    ) -> std::process::Child {
        let mut cmd = Command::new(nvcc);
        cmd.args(["--fatbin", "-std=c++17", "-O3", "-Ikernels"]);
        for g in gencodes {
            cmd.arg("-gencode").arg(g);
        }
        // The host compiler is only used for preprocessing here; let users pick one nvcc
        // accepts (Debian's nvcc 11.8 refuses GCC > 11 without it).
        if let Some(ccbin) = env::var_os("NVCC_CCBIN") {
            cmd.arg("-ccbin").arg(ccbin);
        }
        cmd.arg("-o").arg(fatbin).arg(src);
        cmd.spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", nvcc.display()))
    }

    /// `$CUDA_PATH/bin/nvcc`, else the first `nvcc` on PATH.
    fn find_nvcc() -> Option<PathBuf> {
        if let Some(root) = env::var_os("CUDA_PATH") {
            let p = Path::new(&root).join("bin").join("nvcc");
            if p.is_file() {
                return Some(p);
            }
        }
        env::split_paths(&env::var_os("PATH")?)
            .map(|dir| dir.join("nvcc"))
            .find(|p| p.is_file())
    }
}

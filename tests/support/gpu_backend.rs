//! What every GPU test starts with: the shared CUDA backend, or the printed reason it is
//! skipped, or a failure under `SPICE_REQUIRE_GPU=1`.

use std::sync::{Arc, OnceLock};

use spice::engine::CudaBackend;

/// The shared GPU backend, or `None` after printing why `test` is skipped. Panics instead
/// when `SPICE_REQUIRE_GPU=1` (the device script sets it), so a broken GPU never passes.
pub fn gpu(test: &str) -> Option<Arc<CudaBackend>> {
    static GPU: OnceLock<std::result::Result<Arc<CudaBackend>, String>> = OnceLock::new();
    match GPU.get_or_init(|| CudaBackend::new().map(Arc::new).map_err(|e| e.to_string())) {
        Ok(b) => Some(b.clone()),
        Err(reason) => {
            assert!(
                std::env::var("SPICE_REQUIRE_GPU").as_deref() != Ok("1"),
                "{test}: SPICE_REQUIRE_GPU=1 but the CUDA backend is unavailable: {reason}"
            );
            println!("{test}: skipped: {reason}");
            None
        }
    }
}

//! Randomised tests draw a fresh seed each run and print it, so a failure can be replayed
//! with `SPICE_TEST_SEED=<seed>`.

/// A fresh seed (or `SPICE_TEST_SEED`), printed with the test's name.
pub fn seed(test: &str) -> u64 {
    let s = std::env::var("SPICE_TEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    println!("{test}: seed {s}");
    s
}

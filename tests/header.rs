//! The committed C header must be exactly what cbindgen (pinned in
//! Cargo.toml) generates from `src/ffi/` now. Regenerate with `make header`
//! (which runs this test with `NYCACHE_WRITE_HEADER=1`).

use std::path::Path;

#[test]
fn committed_header_matches_a_fresh_generation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    let path = root.join("include/nycache.h");
    if std::env::var_os("NYCACHE_WRITE_HEADER").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/nycache.h differs from what cbindgen generates from src/ffi/; run `make header` and commit it"
    );
}

//! Gives the shared library its soname, `libnycache.so.MAJOR`, so programs
//! linked against one major version keep loading any later minor/patch
//! release (`make install` lays out the matching symlinks).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "freebsd" {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnycache.so.{major}");
    }
}

//! Finds the headless Chromium that `tests/report.rs` renders report.html in.
//!
//! The browser is `$DAE_CHROMIUM` when that is set, else `/usr/bin/chromium` (Debian packages
//! `chromium chromium-driver`). When it is there, the tests are built with `--cfg dae_has_chromium`
//! and `DAE_CHROMIUM_AT_BUILD` holds its path; when it is not, the browser test is built ignored,
//! with a reason that `cargo test` prints. `DAE_REQUIRE_BROWSER=1` (set by `.ci/run`) turns a
//! missing browser into a build failure, so CI cannot skip the check.

use std::env;
use std::path::{Path, PathBuf};
use std::process::exit;

const DEFAULT: &str = "/usr/bin/chromium";

fn main() {
    println!("cargo::rustc-check-cfg=cfg(dae_has_chromium)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=DAE_CHROMIUM");
    println!("cargo::rerun-if-env-changed=DAE_REQUIRE_BROWSER");

    let required = match env::var("DAE_REQUIRE_BROWSER").as_deref() {
        Err(_) | Ok("") | Ok("0") => false,
        Ok("1") => true,
        Ok(other) => fail(&format!(
            "DAE_REQUIRE_BROWSER={other:?}: expected 1 (the browser check must run) or 0"
        )),
    };
    let from_env = env::var_os("DAE_CHROMIUM").filter(|p| !p.is_empty());
    let path = from_env
        .clone()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT));

    if path.is_file() {
        // Re-detect when the browser is removed or replaced.
        println!("cargo::rerun-if-changed={}", path.display());
        println!("cargo::rustc-cfg=dae_has_chromium");
        println!("cargo::rustc-env=DAE_CHROMIUM_AT_BUILD={}", path.display());
        return;
    }
    // Not found. Installing the Debian package changes /usr/bin, which re-runs this script; a
    // changed DAE_CHROMIUM re-runs it too. (A path that does not exist is not watched: cargo
    // would re-run the script, and rebuild the crate, on every build.)
    if from_env.is_none() {
        if let Some(dir) = Path::new(DEFAULT).parent().filter(|d| d.is_dir()) {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
    }
    println!("cargo::rustc-env=DAE_CHROMIUM_AT_BUILD=");
    let how = "install the Debian packages `chromium chromium-driver` or set \
               DAE_CHROMIUM=/path/to/chromium";
    if required {
        fail(&format!(
            "DAE_REQUIRE_BROWSER=1 but no headless Chromium at {}: the report test would not \
             check report.html in a real browser; {how}",
            path.display()
        ));
    }
    println!(
        "cargo::warning=no Chromium at {}: the report.html browser test will be ignored; {how}",
        path.display()
    );
}

fn fail(msg: &str) -> ! {
    println!("cargo::error={msg}");
    exit(1)
}

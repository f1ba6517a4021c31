//! The shared object as a C program links it: only `cs_*` symbols exported, exactly the
//! functions the header declares, each called by a C test, and the SONAME carrying the ABI
//! version.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use cstorage::capi::version::CS_ABI_VERSION;

/// target/<profile>/libcstorage.so, built by cargo alongside this test (the lib target's
/// crate types include cdylib).
fn shared_object() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let so = profile_dir.join("libcstorage.so");
    assert!(so.exists(), "{} is missing; run `cargo build`", so.display());
    so
}

fn run(program: &str, args: &[&str]) -> String {
    let so = shared_object();
    let out = Command::new(program)
        .args(args)
        .arg(&so)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(out.status.success(), "{program} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn header_functions() -> BTreeSet<String> {
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/cstorage.h"))
            .unwrap();
    header
        .lines()
        .filter(|l| !l.starts_with("typedef") && !l.starts_with(' ') && l.ends_with(");"))
        .filter_map(|l| {
            let name_end = l.find('(')?;
            let name_start = l[..name_end].rfind([' ', '*'])? + 1;
            Some(l[name_start..name_end].to_string())
        })
        .collect()
}

#[test]
fn only_the_functions_of_the_header_are_exported() {
    let exported: BTreeSet<String> = run("nm", &["-D", "--defined-only"])
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .map(String::from)
        .collect();
    let strays: Vec<&String> = exported.iter().filter(|s| !s.starts_with("cs_")).collect();
    assert!(strays.is_empty(), "non-API symbols exported: {strays:?}");
    let declared = header_functions();
    assert!(declared.len() > 100, "only {} functions found in the header", declared.len());
    assert_eq!(exported, declared, "exported symbols and header prototypes differ");
}

#[test]
fn the_soname_carries_the_abi_version() {
    let dynamic = run("readelf", &["-d"]);
    let soname = dynamic.lines().find(|l| l.contains("(SONAME)")).expect("no SONAME");
    assert!(soname.ends_with(&format!("[libcstorage.so.{CS_ABI_VERSION}]")), "{soname}");
}

/// The C tests (c-tests/, run by `make c-tests`) call every function of the header at least once.
#[test]
fn every_function_is_called_by_a_c_test() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/c-tests");
    let sources: String = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let uncalled: Vec<String> =
        header_functions().into_iter().filter(|f| !sources.contains(&format!("{f}("))).collect();
    assert!(uncalled.is_empty(), "no C test calls {uncalled:?}");
}

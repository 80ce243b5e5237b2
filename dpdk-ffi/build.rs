//! Build script of `dpdk-sys`: finds the system DPDK with pkg-config, generates
//! the raw bindings with bindgen and compiles the C shim (csrc/shim.c) that
//! exports DPDK's static-inline fast path.
//!
//! Plugin drivers (what we found on Debian bookworm, DPDK 22.11):
//! Debian builds DPDK as shared libraries and ships every PMD (net_pcap,
//! net_null, net_ring, net_af_packet, mempool_ring, bus_vdev, bus_pci, ...) as
//! a plugin in `<libdir>/dpdk/pmds-23.0`. librte_eal.so carries that directory
//! built in (RTE_EAL_PMD_PATH) and, when it finds itself loaded as a shared
//! object (`dlopen("librte_eal.so.23", RTLD_NOLOAD)`), dlopens every plugin in
//! it during `rte_eal_init` -- no `-d` needed. rustc links with
//! `--as-needed`, which drops the librte_* libraries whose symbols we do not
//! use; that is harmless because each plugin links its own dependencies and
//! librte_eal itself is always needed. The directory is still exported here
//! (`DPDK_PMD_DIR`) so the wrapper can name it in error messages, and so it
//! can pass `-d` if a build of DPDK lacks the built-in default.

use std::env;
use std::path::{Path, PathBuf};

const MISSING: &str =
    "libdpdk not found by pkg-config: run scripts/setup.sh (installs dpdk, libdpdk-dev, pkg-config, libclang-dev)";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=csrc/wrapper.h");
    println!("cargo:rerun-if-changed=csrc/shim.h");
    println!("cargo:rerun-if-changed=csrc/shim.c");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    let lib = match pkg_config::Config::new()
        .atleast_version("21.11")
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(_) => {
            // One line the user can act on (pkg-config's own text is a page
            // of hints that would bury it).
            eprintln!("error: {MISSING}");
            std::process::exit(1);
        }
    };

    // The raw cflags (-include rte_config.h, -march=..., -I...) are needed as
    // is by both clang (bindgen) and cc: DPDK's headers refuse to compile
    // without the machine flags.
    let cflags = pkg_config_output(&["--cflags", "libdpdk"]);
    let cflags: Vec<String> = cflags.split_whitespace().map(str::to_owned).collect();

    let csrc = Path::new("csrc");
    let mut build = cc::Build::new();
    build.file(csrc.join("shim.c")).include(csrc).opt_level(3);
    for f in &cflags {
        build.flag(f);
    }
    build.warnings(false).compile("dpdk_shim");

    let builder = bindgen::Builder::default()
        .header(csrc.join("wrapper.h").to_string_lossy())
        .clang_args(&cflags)
        .clang_arg(format!("-I{}", csrc.display()))
        .allowlist_function(
            "rte_eal_.*|rte_eth_.*|rte_pktmbuf_.*|rte_mbuf_.*|rte_mempool_.*|rte_lcore_.*\
             |rte_get_.*|rte_socket_.*|rte_ring_.*|rte_tel_.*|rte_telemetry_.*|rte_pdump_.*\
             |rte_version.*|rte_strerror|rte_exit|rte_log_set_global_level|rte_flow_validate\
             |rte_flow_create|rte_flow_destroy|rte_flow_flush|shim_.*",
        )
        .allowlist_type(
            "rte_eth_.*|rte_mbuf.*|rte_mempool.*|rte_ether_addr|rte_lcore_.*|rte_ring.*\
             |rte_tel_.*|rte_pdump.*|lcore_function_t|rte_proc_type_t|rte_flow_attr\
             |rte_flow_item|rte_flow_item_type|rte_flow_item_eth|rte_flow_item_ipv4\
             |rte_flow_item_ipv6|rte_flow_item_udp|rte_flow_action|rte_flow_action_type\
             |rte_flow_action_queue|rte_flow_error|rte_flow_error_type",
        )
        // Protocol headers DPDK drags in through rte_flow; packed + aligned
        // unions that Rust cannot express. We never touch them.
        .opaque_type("rte_l2tpv2_.*|rte_flow_item_l2tpv2.*")
        .allowlist_var(
            "RTE_MBUF_F_.*|RTE_ETH_.*|RTE_MAX_LCORE|RTE_MAX_ETHPORTS|RTE_PKTMBUF_HEADROOM\
             |RTE_MBUF_DEFAULT_.*|RING_F_.*|RTE_RING_.*|SOCKET_ID_ANY|RTE_ETHER_.*\
             |RTE_VER_.*|LCORE_ID_ANY|RTE_MEMPOOL_.*|RTE_LOG_.*|RTE_TEL_MAX_.*|RTE_FLOW_ITEM_TYPE_.*\
             |RTE_FLOW_ACTION_TYPE_.*",
        )
        // DPDK's comments are not Rust docs (indented text would become doctests).
        .generate_comments(false)
        .derive_default(true)
        .derive_debug(false)
        .prepend_enum_name(false)
        .default_enum_style(bindgen::EnumVariation::Consts)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    // bindgen panics (rather than erring) when libclang cannot be loaded:
    // turn both into the one-line hint.
    std::panic::set_hook(Box::new(|_| {}));
    let generated =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || builder.generate()));
    let _ = std::panic::take_hook();
    let bindings = match generated {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            eprintln!("error: bindgen failed on the DPDK headers ({e}): run scripts/setup.sh");
            std::process::exit(1);
        }
        Err(_) => {
            eprintln!("error: libclang not found for bindgen: run scripts/setup.sh (installs libclang-dev)");
            std::process::exit(1);
        }
    };
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR set by cargo"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("write bindings.rs to OUT_DIR");

    // Facts for dependants (DEP_DPDK_* via links = "dpdk") and for this crate.
    let libdir = pkg_config_output(&["--variable=libdir", "libdpdk"]);
    let pmd_dir = find_pmd_dir(Path::new(libdir.trim())).unwrap_or_default();
    println!("cargo:rustc-env=DPDK_PMD_DIR={pmd_dir}");
    println!("cargo:pmd_dir={pmd_dir}");
    println!("cargo:rustc-env=DPDK_PKG_VERSION={}", lib.version);
    println!("cargo:version={}", lib.version);
}

/// `<libdir>/dpdk/pmds-<abi>`, the directory librte_eal autoloads plugins from.
fn find_pmd_dir(libdir: &Path) -> Option<String> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(libdir.join("dpdk"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("pmds-"))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|p| p.display().to_string())
}

fn pkg_config_output(args: &[&str]) -> String {
    let exe = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    match std::process::Command::new(exe).args(args).output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        _ => {
            eprintln!("error: {MISSING}");
            std::process::exit(1);
        }
    }
}

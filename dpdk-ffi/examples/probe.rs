//! Diagnostic: `cargo run -p dpdk-sys --example probe -- <EAL args>` brings up
//! the EAL with the given arguments and lists the ports it enumerated with
//! their drivers. Proves that the PMD plugins load without `-d`.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;

fn main() {
    let args: Vec<CString> = std::env::args()
        .map(|a| CString::new(a).expect("argument without NUL"))
        .collect();
    let mut argv: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr() as *mut c_char).collect();
    // SAFETY: argv holds valid NUL-terminated strings that outlive the call;
    // EAL may permute the array, which we own.
    let rc = unsafe { dpdk_sys::rte_eal_init(argv.len() as i32, argv.as_mut_ptr()) };
    if rc < 0 {
        // SAFETY: plain getters; rte_strerror returns a static string.
        let msg = unsafe { CStr::from_ptr(dpdk_sys::rte_strerror(dpdk_sys::shim_rte_errno())) };
        eprintln!("rte_eal_init failed: {}", msg.to_string_lossy());
        std::process::exit(1);
    }
    // SAFETY: EAL is initialised.
    let version = unsafe { CStr::from_ptr(dpdk_sys::rte_version()) };
    println!(
        "{} (pkg-config {})",
        version.to_string_lossy(),
        dpdk_sys::PKG_VERSION
    );
    // SAFETY: EAL is initialised; rte_eth_find_next walks valid port ids.
    let mut port = unsafe { dpdk_sys::rte_eth_find_next(0) };
    while u32::from(port) < dpdk_sys::RTE_MAX_ETHPORTS {
        let mut info = dpdk_sys::rte_eth_dev_info::default();
        // SAFETY: port is a valid id, info a valid out-pointer.
        unsafe { dpdk_sys::rte_eth_dev_info_get(port, &mut info) };
        // SAFETY: driver_name is a static string owned by the PMD.
        let drv = unsafe { CStr::from_ptr(info.driver_name) };
        println!("port {port}: {}", drv.to_string_lossy());
        // SAFETY: as above.
        port = unsafe { dpdk_sys::rte_eth_find_next(port + 1) };
    }
    // SAFETY: initialised above, nothing DPDK is used afterwards.
    unsafe { dpdk_sys::rte_eal_cleanup() };
}

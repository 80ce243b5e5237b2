//! Safe wrappers over `dpdk-sys`. The only place outside `dpdk-ffi` with `unsafe`.

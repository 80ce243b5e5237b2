//! Raw FFI to DPDK. See build.rs.

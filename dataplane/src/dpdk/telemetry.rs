//! Application commands on DPDK's telemetry socket
//! (`/var/run/dpdk/<prefix>/dpdk_telemetry.v2`, what `dpdk-telemetry.py`
//! talks to).
//!
//! DPDK calls a command's callback on its own telemetry thread with no
//! user pointer, so the handlers live in one process-wide table and a single
//! `extern "C"` trampoline dispatches on the command name. A handler builds
//! a plain Rust [`TelReply`]; the trampoline copies it into DPDK's
//! `rte_tel_data` within the library's limits (strings of 127 bytes, 256
//! dict entries, 512 array entries; 22.11 nests only arrays of scalars in a
//! dict), truncating rather than failing.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int};
use std::sync::{Mutex, OnceLock};

use super::error::DpdkError;

/// A value in a telemetry dict.
#[derive(Clone, Debug, PartialEq)]
pub enum TelValue {
    /// An unsigned counter.
    U64(u64),
    /// A signed integer.
    Int(i32),
    /// Text (cut to 127 bytes).
    Str(String),
    /// A list of counters (e.g. one per leg).
    U64s(Vec<u64>),
    /// A list of texts.
    Strs(Vec<String>),
}

/// What a command answers.
#[derive(Clone, Debug, PartialEq)]
pub enum TelReply {
    /// `{"key": value, ...}`; keys must be ASCII letters, digits or `_`.
    Dict(Vec<(String, TelValue)>),
    /// `[n, ...]`.
    U64s(Vec<u64>),
    /// `["...", ...]`.
    Strs(Vec<String>),
}

/// A command handler: gets the text after the comma (`/cmd,PARAMS`) and
/// answers, or `None` for bad parameters (the client then sees `null`).
pub type TelHandler = Box<dyn Fn(&str) -> Option<TelReply> + Send + Sync>;

type Table = Mutex<Vec<(String, TelHandler)>>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| Mutex::new(Vec::new()))
}

/// Longest string the library stores, terminator excluded.
const MAX_STR: usize = dpdk_sys::RTE_TEL_MAX_STRING_LEN as usize - 1;
const MAX_DICT: usize = dpdk_sys::RTE_TEL_MAX_DICT_ENTRIES as usize;
const MAX_ARRAY: usize = dpdk_sys::RTE_TEL_MAX_ARRAY_ENTRIES as usize;

/// `s` cut to `MAX_STR` bytes at a character boundary, without NULs.
fn c_text(s: &str) -> CString {
    let mut end = s.len().min(MAX_STR);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let clean: Vec<u8> = s.as_bytes()[..end]
        .iter()
        .copied()
        .filter(|b| *b != 0)
        .collect();
    CString::new(clean).unwrap_or_default()
}

/// Registers `handler` for `cmd` (e.g. `/mcast_failover/streams`; DPDK
/// wants `/` then letters, digits, `_` and `/`), with a one-line `help`.
/// Registering the same command again replaces the handler.
pub fn register(cmd: &str, help: &str, handler: TelHandler) -> Result<(), DpdkError> {
    let ok = cmd.starts_with('/')
        && cmd.len() < 56
        && cmd
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'/');
    if !ok {
        return Err(DpdkError::InvalidArgument(format!(
            "telemetry command {cmd:?}: want /name with letters, digits, _ and / only"
        )));
    }
    {
        let mut t = table().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = t.iter_mut().find(|(c, _)| c == cmd) {
            slot.1 = handler;
            return Ok(());
        }
        t.push((cmd.to_string(), handler));
    }
    let c_cmd = c_text(cmd);
    let c_help = c_text(help);
    // SAFETY: both strings are valid and NUL-terminated for the duration of
    // the call (the library copies them into its own table); `trampoline`
    // has exactly the `telemetry_cb` signature and is valid for the life of
    // the process.
    let ret = unsafe {
        dpdk_sys::rte_telemetry_register_cmd(c_cmd.as_ptr(), Some(trampoline), c_help.as_ptr())
    };
    if ret < 0 {
        return Err(DpdkError::from_ret("rte_telemetry_register_cmd", ret));
    }
    Ok(())
}

/// DPDK's callback for every registered command.
extern "C" fn trampoline(
    cmd: *const c_char,
    params: *const c_char,
    d: *mut dpdk_sys::rte_tel_data,
) -> c_int {
    if cmd.is_null() || d.is_null() {
        return -1;
    }
    // SAFETY: the library passes the NUL-terminated command it matched.
    let cmd = unsafe { CStr::from_ptr(cmd) }
        .to_string_lossy()
        .into_owned();
    let params = if params.is_null() {
        String::new()
    } else {
        // SAFETY: when not NULL, the text after the comma, NUL-terminated.
        unsafe { CStr::from_ptr(params) }
            .to_string_lossy()
            .into_owned()
    };
    let reply = std::panic::catch_unwind(|| {
        let t = table().lock().unwrap_or_else(|e| e.into_inner());
        t.iter()
            .find(|(c, _)| *c == cmd)
            .and_then(|(_, h)| h(&params))
    });
    match reply {
        Ok(Some(r)) => {
            // SAFETY: `d` is the library's reply object for this call, not
            // yet started, used only on this thread until we return.
            unsafe { fill(d, &r) };
            0
        }
        _ => -1,
    }
}

/// A new array of `values` for nesting in a dict (the library frees it
/// with the parent: `keep` = 0), or NULL when out of memory.
///
/// # Safety
/// The telemetry library must be initialised (EAL is).
unsafe fn new_array(values: &TelValue) -> *mut dpdk_sys::rte_tel_data {
    // SAFETY (for the whole body): `a` comes from rte_tel_data_alloc and is
    // checked for NULL; the add functions only copy the values given.
    let a = unsafe { dpdk_sys::rte_tel_data_alloc() };
    if a.is_null() {
        return a;
    }
    match values {
        TelValue::U64s(v) => unsafe {
            dpdk_sys::rte_tel_data_start_array(a, dpdk_sys::RTE_TEL_U64_VAL);
            for x in v.iter().take(MAX_ARRAY) {
                dpdk_sys::rte_tel_data_add_array_u64(a, *x);
            }
        },
        TelValue::Strs(v) => unsafe {
            dpdk_sys::rte_tel_data_start_array(a, dpdk_sys::RTE_TEL_STRING_VAL);
            for x in v.iter().take(MAX_ARRAY) {
                dpdk_sys::rte_tel_data_add_array_string(a, c_text(x).as_ptr());
            }
        },
        _ => unsafe {
            dpdk_sys::rte_tel_data_start_array(a, dpdk_sys::RTE_TEL_U64_VAL);
        },
    }
    a
}

/// Copies `r` into the reply object `d`.
///
/// # Safety
/// `d` must be the library's reply object of the current callback.
unsafe fn fill(d: *mut dpdk_sys::rte_tel_data, r: &TelReply) {
    // SAFETY (for the whole body): `d` is valid per the contract; every
    // string passed is a CString alive for its call; nested arrays come from
    // `new_array` and are handed over to the library (keep = 0), which frees
    // them, or are freed here when the library refuses them.
    match r {
        TelReply::U64s(v) => unsafe {
            dpdk_sys::rte_tel_data_start_array(d, dpdk_sys::RTE_TEL_U64_VAL);
            for x in v.iter().take(MAX_ARRAY) {
                dpdk_sys::rte_tel_data_add_array_u64(d, *x);
            }
        },
        TelReply::Strs(v) => unsafe {
            dpdk_sys::rte_tel_data_start_array(d, dpdk_sys::RTE_TEL_STRING_VAL);
            for x in v.iter().take(MAX_ARRAY) {
                dpdk_sys::rte_tel_data_add_array_string(d, c_text(x).as_ptr());
            }
        },
        TelReply::Dict(entries) => unsafe {
            dpdk_sys::rte_tel_data_start_dict(d);
            for (k, v) in entries.iter().take(MAX_DICT) {
                let key = c_text(k);
                match v {
                    TelValue::U64(x) => {
                        dpdk_sys::rte_tel_data_add_dict_u64(d, key.as_ptr(), *x);
                    }
                    TelValue::Int(x) => {
                        dpdk_sys::rte_tel_data_add_dict_int(d, key.as_ptr(), *x);
                    }
                    TelValue::Str(s) => {
                        dpdk_sys::rte_tel_data_add_dict_string(d, key.as_ptr(), c_text(s).as_ptr());
                    }
                    TelValue::U64s(_) | TelValue::Strs(_) => {
                        let a = new_array(v);
                        if !a.is_null()
                            && dpdk_sys::rte_tel_data_add_dict_container(d, key.as_ptr(), a, 0) < 0
                        {
                            dpdk_sys::rte_tel_data_free(a);
                        }
                    }
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_at_a_char_boundary_without_nul() {
        let long = "é".repeat(100);
        let c = c_text(&long);
        assert!(c.as_bytes().len() <= MAX_STR);
        assert!(std::str::from_utf8(c.as_bytes()).is_ok());
        assert_eq!(c_text("a\0b").as_bytes(), b"ab");
    }

    #[test]
    fn bad_command_names_are_refused() {
        assert!(register("no_slash", "", Box::new(|_| None)).is_err());
        assert!(register("/a,b", "", Box::new(|_| None)).is_err());
    }
}

// SPDX-License-Identifier: MIT
//! Checks the Rust declarations against the C header as a C compiler sees it: a small C program (compiled with
//! `cc` from PATH, or `$CC`, and `pkg-config --cflags cfutures`) prints every struct's size, alignment and field
//! offsets, the enums' sizes and every constant; the same figures computed in Rust must match line by line.

use cfutures_sys::*;
use std::collections::BTreeMap;
use std::mem::{align_of, size_of, MaybeUninit};
use std::path::PathBuf;
use std::process::Command;
use std::ptr::addr_of;

/// Byte offset of a field, without `offset_of!` (stable only from Rust 1.77).
macro_rules! offset {
    ($ty:ty, $field:ident) => {{
        let value = MaybeUninit::<$ty>::uninit();
        let base = value.as_ptr();
        // SAFETY: only the address of the field is computed; nothing is read.
        let field = unsafe { addr_of!((*base).$field) };
        field as usize - base as usize
    }};
}

macro_rules! layout {
    ($out:ident, $ty:ident { $($field:ident => $cfield:literal),* $(,)? }) => {{
        $out.push((format!("sizeof {}", stringify!($ty)), size_of::<$ty>().to_string()));
        $out.push((format!("alignof {}", stringify!($ty)), align_of::<$ty>().to_string()));
        $( $out.push((format!("offsetof {}.{}", stringify!($ty), $cfield), offset!($ty, $field).to_string())); )*
    }};
}

macro_rules! constants {
    ($out:ident, $($name:ident),* $(,)?) => {
        $( $out.push((stringify!($name).to_string(), ($name as i64).to_string())); )*
    };
}

fn rust_side() -> Vec<(String, String)> {
    let mut out = Vec::new();
    layout!(out, cf_slice { data => "data", len => "len" });
    layout!(out, cf_error { status => "status", type_ => "type", message => "message", detail => "detail" });
    layout!(out, cf_thread_pool_options {
        struct_size => "struct_size", max_workers => "max_workers", thread_name_prefix => "thread_name_prefix",
        initializer => "initializer", initarg => "initarg", initarg_len => "initarg_len",
        initializer_data => "initializer_data", cancel_running => "cancel_running",
    });
    layout!(out, cf_process_pool_options {
        struct_size => "struct_size", max_workers => "max_workers", start_method => "start_method",
        max_tasks_per_child => "max_tasks_per_child", initializer => "initializer", initarg => "initarg",
        initarg_len => "initarg_len", shared_memory_bytes => "shared_memory_bytes",
        worker_program => "worker_program", worker_start_timeout => "worker_start_timeout",
        cancel_running => "cancel_running", on_worker_death => "on_worker_death", max_restarts => "max_restarts",
        restart_period => "restart_period", worker_args => "worker_args",
    });
    layout!(out, cf_submit_options {
        struct_size => "struct_size", time_limit => "time_limit", release_user_data => "release_user_data",
    });
    layout!(out, cf_executor_stats {
        struct_size => "struct_size", workers => "workers", idle_workers => "idle_workers", queued => "queued",
        running => "running", completed => "completed", failed => "failed", cancelled => "cancelled",
        worker_deaths => "worker_deaths", workers_replaced => "workers_replaced", max_workers => "max_workers",
        workers_started => "workers_started",
    });
    layout!(out, cf_map_options {
        struct_size => "struct_size", timeout => "timeout", chunksize => "chunksize", buffersize => "buffersize",
        unordered => "unordered",
    });
    for (name, size) in [
        ("cf_status", size_of::<cf_status>()),
        ("cf_future_state", size_of::<cf_future_state>()),
        ("cf_return_when", size_of::<cf_return_when>()),
        ("cf_start_method", size_of::<cf_start_method>()),
        ("cf_worker_death", size_of::<cf_worker_death>()),
        ("cf_log_level", size_of::<cf_log_level>()),
        ("cf_task_fn", size_of::<cf_task_fn>()),
        ("cf_done_fn", size_of::<cf_done_fn>()),
        ("cf_arg_source", size_of::<cf_arg_source>()),
        ("cf_log_fn", size_of::<cf_log_fn>()),
    ] {
        out.push((format!("sizeof {name}"), size.to_string()));
    }
    constants!(
        out,
        CF_VERSION_MAJOR,
        CF_VERSION_MINOR,
        CF_VERSION_PATCH,
        CF_VERSION_NUMBER,
        CF_OK,
        CF_DONE,
        CF_E_INVALID_ARGUMENT,
        CF_E_NO_MEMORY,
        CF_E_TIMEOUT,
        CF_E_CANCELLED,
        CF_E_SHUTDOWN,
        CF_E_BROKEN_THREAD_POOL,
        CF_E_BROKEN_PROCESS_POOL,
        CF_E_INVALID_STATE,
        CF_E_TASK_FAILED,
        CF_E_UNKNOWN_TASK,
        CF_E_DEADLOCK,
        CF_E_SYSTEM,
        CF_E_TOO_LARGE,
        CF_E_TIME_LIMIT,
        CF_E_WORKER_DIED,
        CF_STATUS_MAX_ENUM,
        CF_FUTURE_INVALID,
        CF_PENDING,
        CF_RUNNING,
        CF_CANCELLED,
        CF_FINISHED,
        CF_FUTURE_STATE_MAX_ENUM,
        CF_ALL_COMPLETED,
        CF_FIRST_COMPLETED,
        CF_FIRST_EXCEPTION,
        CF_RETURN_WHEN_MAX_ENUM,
        CF_START_DEFAULT,
        CF_START_FORK,
        CF_START_FORKSERVER,
        CF_START_SPAWN,
        CF_START_METHOD_MAX_ENUM,
        CF_WORKER_DEATH_BREAK,
        CF_WORKER_DEATH_REPLACE,
        CF_WORKER_DEATH_MAX_ENUM,
        CF_LOG_DEBUG,
        CF_LOG_INFO,
        CF_LOG_WARNING,
        CF_LOG_ERROR,
        CF_LOG_LEVEL_MAX_ENUM,
    );
    // Every status of the header's one list (cf_status_map.h): a status added there and not here fails the count.
    for (name, value) in [
        ("CF_OK", CF_OK),
        ("CF_DONE", CF_DONE),
        ("CF_E_INVALID_ARGUMENT", CF_E_INVALID_ARGUMENT),
        ("CF_E_NO_MEMORY", CF_E_NO_MEMORY),
        ("CF_E_TIMEOUT", CF_E_TIMEOUT),
        ("CF_E_CANCELLED", CF_E_CANCELLED),
        ("CF_E_SHUTDOWN", CF_E_SHUTDOWN),
        ("CF_E_BROKEN_THREAD_POOL", CF_E_BROKEN_THREAD_POOL),
        ("CF_E_BROKEN_PROCESS_POOL", CF_E_BROKEN_PROCESS_POOL),
        ("CF_E_INVALID_STATE", CF_E_INVALID_STATE),
        ("CF_E_TASK_FAILED", CF_E_TASK_FAILED),
        ("CF_E_UNKNOWN_TASK", CF_E_UNKNOWN_TASK),
        ("CF_E_DEADLOCK", CF_E_DEADLOCK),
        ("CF_E_SYSTEM", CF_E_SYSTEM),
        ("CF_E_TOO_LARGE", CF_E_TOO_LARGE),
        ("CF_E_TIME_LIMIT", CF_E_TIME_LIMIT),
        ("CF_E_WORKER_DIED", CF_E_WORKER_DIED),
    ] {
        out.push((format!("status-map {name}"), (value as i64).to_string()));
    }
    out.push(("CF_FOREVER".to_string(), format!("{:.1}", CF_FOREVER)));
    out
}

/// The C program that prints the same lines as `rust_side`.
fn c_program() -> String {
    let mut body = String::new();
    let mut structs = |ty: &str, fields: &[&str]| {
        body += &format!("    printf(\"sizeof {ty} %zu\\n\", sizeof({ty}));\n");
        body += &format!("    printf(\"alignof {ty} %zu\\n\", (size_t)_Alignof({ty}));\n");
        for f in fields {
            body += &format!("    printf(\"offsetof {ty}.{f} %zu\\n\", offsetof({ty}, {f}));\n");
        }
    };
    structs("cf_slice", &["data", "len"]);
    structs("cf_error", &["status", "type", "message", "detail"]);
    structs(
        "cf_thread_pool_options",
        &[
            "struct_size",
            "max_workers",
            "thread_name_prefix",
            "initializer",
            "initarg",
            "initarg_len",
            "initializer_data",
            "cancel_running",
        ],
    );
    structs(
        "cf_process_pool_options",
        &[
            "struct_size",
            "max_workers",
            "start_method",
            "max_tasks_per_child",
            "initializer",
            "initarg",
            "initarg_len",
            "shared_memory_bytes",
            "worker_program",
            "worker_start_timeout",
            "cancel_running",
            "on_worker_death",
            "max_restarts",
            "restart_period",
            "worker_args",
        ],
    );
    structs("cf_submit_options", &["struct_size", "time_limit", "release_user_data"]);
    structs(
        "cf_executor_stats",
        &[
            "struct_size",
            "workers",
            "idle_workers",
            "queued",
            "running",
            "completed",
            "failed",
            "cancelled",
            "worker_deaths",
            "workers_replaced",
            "max_workers",
            "workers_started",
        ],
    );
    structs("cf_map_options", &["struct_size", "timeout", "chunksize", "buffersize", "unordered"]);
    for ty in [
        "cf_status",
        "cf_future_state",
        "cf_return_when",
        "cf_start_method",
        "cf_worker_death",
        "cf_log_level",
        "cf_task_fn",
        "cf_done_fn",
        "cf_arg_source",
        "cf_log_fn",
    ] {
        body += &format!("    printf(\"sizeof {ty} %zu\\n\", sizeof({ty}));\n");
    }
    for c in [
        "CF_VERSION_MAJOR",
        "CF_VERSION_MINOR",
        "CF_VERSION_PATCH",
        "CF_VERSION_NUMBER",
        "CF_OK",
        "CF_DONE",
        "CF_E_INVALID_ARGUMENT",
        "CF_E_NO_MEMORY",
        "CF_E_TIMEOUT",
        "CF_E_CANCELLED",
        "CF_E_SHUTDOWN",
        "CF_E_BROKEN_THREAD_POOL",
        "CF_E_BROKEN_PROCESS_POOL",
        "CF_E_INVALID_STATE",
        "CF_E_TASK_FAILED",
        "CF_E_UNKNOWN_TASK",
        "CF_E_DEADLOCK",
        "CF_E_SYSTEM",
        "CF_E_TOO_LARGE",
        "CF_E_TIME_LIMIT",
        "CF_E_WORKER_DIED",
        "CF_STATUS_MAX_ENUM",
        "CF_FUTURE_INVALID",
        "CF_PENDING",
        "CF_RUNNING",
        "CF_CANCELLED",
        "CF_FINISHED",
        "CF_FUTURE_STATE_MAX_ENUM",
        "CF_ALL_COMPLETED",
        "CF_FIRST_COMPLETED",
        "CF_FIRST_EXCEPTION",
        "CF_RETURN_WHEN_MAX_ENUM",
        "CF_START_DEFAULT",
        "CF_START_FORK",
        "CF_START_FORKSERVER",
        "CF_START_SPAWN",
        "CF_START_METHOD_MAX_ENUM",
        "CF_WORKER_DEATH_BREAK",
        "CF_WORKER_DEATH_REPLACE",
        "CF_WORKER_DEATH_MAX_ENUM",
        "CF_LOG_DEBUG",
        "CF_LOG_INFO",
        "CF_LOG_WARNING",
        "CF_LOG_ERROR",
        "CF_LOG_LEVEL_MAX_ENUM",
    ] {
        body += &format!("    printf(\"{c} %lld\\n\", (long long)({c}));\n");
    }
    body += "    printf(\"CF_FOREVER %.1f\\n\", CF_FOREVER);\n";
    body += "#define STATUS_LINE(c_name, value, cxx, cxx_exception, py, text) \\\n";
    body += "    printf(\"status-map %s %lld\\n\", #c_name, (long long)(value));\n";
    body += "    CF_STATUS_MAP(STATUS_LINE)\n";
    format!(
        "#include <cfutures/cfutures.h>\n#include <stddef.h>\n#include <stdio.h>\n\nint main(void) {{\n{body}    return 0;\n}}\n"
    )
}

fn pkg_config_cflags() -> Vec<String> {
    let pkg_config = std::env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    let out = Command::new(&pkg_config)
        .env_remove("LD_PRELOAD")
        .args(["--cflags", "cfutures"])
        .output()
        .expect("run pkg-config --cflags cfutures");
    assert!(out.status.success(), "pkg-config --cflags cfutures: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().split_whitespace().map(String::from).collect()
}

#[test]
fn layout_and_constants_match_the_c_header() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cfutures-sys-layout");
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("layout.c");
    let program = dir.join("layout");
    std::fs::write(&source, c_program()).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    // Only the header is needed: the program calls nothing, so it is not linked against the library (which
    // may be a sanitizer build needing its runtime).
    // A sanitizer runtime preloaded into this test (see run-tests.sh) is not meant for the compiler.
    let status = Command::new(&cc)
        .env_remove("LD_PRELOAD")
        .arg("-std=c11")
        .args(pkg_config_cflags())
        .arg(&source)
        .arg("-o")
        .arg(&program)
        .status()
        .unwrap_or_else(|e| panic!("could not run the C compiler `{cc}`: {e}"));
    assert!(status.success(), "compiling {} failed", source.display());
    let out = Command::new(&program).env_remove("LD_PRELOAD").output().expect("run the layout program");
    assert!(out.status.success());
    let c: BTreeMap<String, String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (k, v) = line.rsplit_once(' ').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    let rust = rust_side();
    assert_eq!(rust.len(), c.len(), "the C program and the Rust side check different things");
    let mut mismatches = Vec::new();
    for (key, value) in &rust {
        match c.get(key) {
            Some(cv) if cv == value => {}
            other => mismatches.push(format!("{key}: Rust {value}, C {other:?}")),
        }
    }
    assert!(mismatches.is_empty(), "layout mismatches:\n{}", mismatches.join("\n"));
}

#[test]
fn links_and_reports_a_compatible_version() {
    // SAFETY: plain calls without arguments; the strings are static.
    let (version, text, name) = unsafe {
        (
            cf_version(),
            std::ffi::CStr::from_ptr(cf_version_string()).to_str().unwrap().to_owned(),
            std::ffi::CStr::from_ptr(cf_status_name(CF_E_TIMEOUT)).to_str().unwrap().to_owned(),
        )
    };
    assert_eq!(version >> 16, CF_VERSION_MAJOR, "library major version differs from the declarations");
    assert!(version >= CF_VERSION_NUMBER, "library {text} is older than the declarations");
    assert_eq!(text, format!("{}.{}.{}", version >> 16, (version >> 8) & 0xff, version & 0xff));
    assert_eq!(name, "CF_E_TIMEOUT");
    assert!(cf_version_at_least(0, 1, 0));
}

unsafe extern "C" fn noop(_ctx: *mut cf_task_ctx, _arg: *const c_void, _len: usize, _data: *mut c_void) -> c_int {
    CF_OK
}

#[test]
fn functions_added_after_0_1_0_link_and_fill_their_structs() {
    // SAFETY: valid out-pointers; the executor is freed once; the log handler is reset to the default.
    unsafe {
        let mut o = cf_submit_options { struct_size: 0, time_limit: 123.0, release_user_data: None };
        cf_submit_options_init(&mut o);
        assert_eq!(o.struct_size, size_of::<cf_submit_options>());
        assert_eq!(o.time_limit, CF_FOREVER, "no time limit by default");

        let mut ex = std::ptr::null_mut();
        assert_eq!(cf_thread_pool_new(std::ptr::null(), &mut ex), CF_OK);
        let mut stats = cf_executor_stats { struct_size: size_of::<cf_executor_stats>(), ..Default::default() };
        assert_eq!(cf_executor_stats_get(ex, &mut stats), CF_OK);
        assert_eq!((stats.completed, stats.failed, stats.cancelled, stats.queued), (0, 0, 0, 0));
        // A struct_size too small for the first version is refused.
        let mut small = cf_executor_stats { struct_size: 8, ..Default::default() };
        assert_eq!(cf_executor_stats_get(ex, &mut small), CF_E_INVALID_ARGUMENT);
        let mut f = std::ptr::null_mut();
        o.time_limit = f64::NAN;
        let rc = cf_submit_ex(ex, Some(noop), std::ptr::null_mut(), std::ptr::null(), 0, &o, &mut f);
        assert_eq!(rc, CF_E_INVALID_ARGUMENT, "a NaN time limit is invalid");
        o.time_limit = 30.0;
        assert_eq!(cf_submit_ex(ex, Some(noop), std::ptr::null_mut(), std::ptr::null(), 0, &o, &mut f), CF_OK);
        let mut result = cf_slice { data: std::ptr::null(), len: 0 };
        assert_eq!(cf_future_result(f, 30.0, &mut result), CF_OK);
        cf_future_release(f);
        stats.struct_size = size_of::<cf_executor_stats>();
        assert_eq!(cf_executor_stats_get(ex, &mut stats), CF_OK);
        assert_eq!((stats.completed, stats.failed, stats.cancelled), (1, 0, 0));
        cf_executor_free(ex);

        cf_set_log_handler(None, std::ptr::null_mut());
        let name = std::ffi::CStr::from_ptr(cf_status_name(CF_E_WORKER_DIED)).to_str().unwrap();
        assert_eq!(name, "CF_E_WORKER_DIED");
    }
}

unsafe extern "C" fn count_call(_f: *mut cf_future, data: *mut c_void) {
    (*(data as *const std::sync::atomic::AtomicUsize)).fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

unsafe extern "C" fn count_release(data: *mut c_void) {
    (*(data as *const std::sync::atomic::AtomicUsize)).fetch_add(100, std::sync::atomic::Ordering::SeqCst);
}

#[test]
fn done_callbacks_with_a_release_release_their_data_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // SAFETY: the counters outlive the futures; each future's reference is released once.
    unsafe {
        // Finished: the callback runs, then the release.
        let finished = AtomicUsize::new(0);
        let mut f = std::ptr::null_mut();
        assert_eq!(cf_future_new(&mut f), CF_OK);
        let data = &finished as *const AtomicUsize as *mut c_void;
        assert_eq!(cf_future_add_done_callback_ex(f, Some(count_call), data, Some(count_release)), CF_OK);
        assert_eq!(finished.load(Ordering::SeqCst), 0);
        assert_eq!(cf_future_set_result(f, std::ptr::null(), 0), CF_OK);
        assert_eq!(finished.load(Ordering::SeqCst), 101);
        cf_future_release(f);
        assert_eq!(finished.load(Ordering::SeqCst), 101);

        // Freed unfinished: only the release.
        let unfinished = AtomicUsize::new(0);
        assert_eq!(cf_future_new(&mut f), CF_OK);
        let data = &unfinished as *const AtomicUsize as *mut c_void;
        assert_eq!(cf_future_add_done_callback_ex(f, Some(count_call), data, Some(count_release)), CF_OK);
        cf_future_release(f);
        assert_eq!(unfinished.load(Ordering::SeqCst), 100);

        // A failing call (no callback) still releases.
        let refused = AtomicUsize::new(0);
        assert_eq!(cf_future_new(&mut f), CF_OK);
        let data = &refused as *const AtomicUsize as *mut c_void;
        assert_eq!(cf_future_add_done_callback_ex(f, None, data, Some(count_release)), CF_E_INVALID_ARGUMENT);
        assert_eq!(refused.load(Ordering::SeqCst), 100);
        cf_future_release(f);
    }
}

unsafe extern "C" fn add_one(ctx: *mut cf_task_ctx, arg: *const c_void, len: usize, _data: *mut c_void) -> c_int {
    let n = std::slice::from_raw_parts(arg as *const u8, len)[0] + 1;
    cf_task_return(ctx, &n as *const u8 as *const c_void, 1)
}

/// The bytes of a finished future (waits up to 30 s).
unsafe fn bytes(f: *mut cf_future) -> Vec<u8> {
    let mut out = cf_slice { data: std::ptr::null(), len: 0 };
    assert_eq!(cf_future_result(f, 30.0, &mut out), CF_OK);
    if out.len == 0 {
        Vec::new()
    } else {
        std::slice::from_raw_parts(out.data as *const u8, out.len).to_vec()
    }
}

#[test]
fn composition_functions_link_and_release_their_user_data_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // SAFETY: valid handles and out-pointers; the counters outlive every step; each reference is released once.
    unsafe {
        let mut ex = std::ptr::null_mut();
        assert_eq!(cf_thread_pool_new(std::ptr::null(), &mut ex), CF_OK);
        let (mut source, mut other, mut then, mut named, mut all, mut any) = (
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        assert_eq!(cf_future_new(&mut source), CF_OK);
        assert_eq!(cf_future_new(&mut other), CF_OK);
        assert_eq!(
            cf_task_register(b"layout.add_one\0".as_ptr() as *const c_char, Some(add_one), std::ptr::null_mut()),
            CF_OK
        );

        let ran = AtomicUsize::new(0);
        let data = &ran as *const AtomicUsize as *mut c_void;
        let mut o = cf_submit_options { struct_size: 0, time_limit: 0.0, release_user_data: None };
        cf_submit_options_init(&mut o);
        o.release_user_data = Some(count_release);
        assert_eq!(cf_future_then_ex(source, ex, Some(add_one), data, &o, &mut then), CF_OK);
        assert_eq!(cf_future_then_named(then, ex, b"layout.add_one\0".as_ptr() as *const c_char, &mut named), CF_OK);
        let fs = [source, other];
        assert_eq!(cf_when_all(fs.as_ptr(), 2, &mut all), CF_OK);
        assert_eq!(cf_when_any(fs.as_ptr(), 2, &mut any), CF_OK);
        assert_eq!(cf_future_done(all), 0);

        assert_eq!(cf_future_set_result(other, [7u8].as_ptr() as *const c_void, 1), CF_OK);
        assert_eq!(bytes(any), 1u64.to_ne_bytes(), "the index of the first done, a native u64");
        assert_eq!(cf_future_set_result(source, [1u8].as_ptr() as *const c_void, 1), CF_OK);
        assert_eq!(bytes(named), [3], "1, then + 1 twice");
        assert_eq!(bytes(all), [] as [u8; 0]);
        // The release follows the step's run on its worker, perhaps after its future is done: a waiting shutdown
        // has seen every run end.
        assert_eq!(cf_executor_shutdown(ex, 1, 0), CF_OK);
        assert_eq!(ran.load(Ordering::SeqCst), 100, "released once, after the step ran");

        // A failing call releases the user data too; when_any of nothing is refused, when_all of nothing is done.
        let refused = AtomicUsize::new(0);
        let data = &refused as *const AtomicUsize as *mut c_void;
        let mut f = std::ptr::null_mut();
        assert_eq!(cf_future_then_ex(source, ex, None, data, &o, &mut f), CF_E_INVALID_ARGUMENT);
        assert_eq!(refused.load(Ordering::SeqCst), 100);
        assert_eq!(
            cf_future_then(source, ex, Some(add_one), std::ptr::null_mut(), std::ptr::null_mut()),
            CF_E_INVALID_ARGUMENT
        );
        assert_eq!(cf_when_any(std::ptr::null(), 0, &mut f), CF_E_INVALID_ARGUMENT);
        assert_eq!(cf_when_all(std::ptr::null(), 0, &mut f), CF_OK);
        assert_eq!(cf_future_done(f), 1);
        cf_future_release(f);

        for f in [source, other, then, named, all, any] {
            cf_future_release(f);
        }
        cf_executor_free(ex);
    }
}

// SPDX-License-Identifier: MIT
//! The I/O-bound example of Python's concurrent.futures docs: 20 simulated downloads (each waits 100 ms, then
//! returns the page's size), one after another and then on a 20-thread pool. Checks every result and that the
//! pool ran them concurrently; exits non-zero otherwise.

use cfutures::{as_completed, ThreadPool, ThreadPoolOptions};
use std::process::ExitCode;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// A "download": waits as a network round trip would, then gives the page's size.
fn download(url: &str) -> usize {
    sleep(Duration::from_millis(100));
    1000 + url.len() * 37
}

fn main() -> ExitCode {
    let urls: Vec<String> = (0..20).map(|i| format!("https://example.org/page/{}", "x".repeat(i + 1))).collect();
    let expected: usize = urls.iter().map(|u| 1000 + u.len() * 37).sum();

    let t0 = Instant::now();
    let sequential_total: usize = urls.iter().map(|u| download(u)).sum();
    let sequential = t0.elapsed();

    let t0 = Instant::now();
    let pool = match ThreadPool::new(ThreadPoolOptions::new().max_workers(20).thread_name_prefix("download")) {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("downloads: {e}");
            return ExitCode::FAILURE;
        }
    };
    let futures: Vec<_> = urls
        .iter()
        .map(|url| {
            let url = url.clone();
            pool.submit(move || (url.clone(), download(&url))).expect("submit")
        })
        .collect();
    let mut pooled_total = 0;
    let mut count = 0;
    for future in as_completed(&futures, Some(Duration::from_secs(30))).expect("as_completed") {
        match future.and_then(|f| f.result(None)) {
            Ok((url, size)) if size == 1000 + url.len() * 37 => {
                pooled_total += size;
                count += 1;
            }
            Ok((url, size)) => {
                eprintln!("downloads: WRONG SIZE {size} for {url}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("downloads: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    drop(pool);
    let pooled = t0.elapsed();

    println!(
        "downloads: {count} pages ({pooled_total} bytes): sequential {:.2} s, 20-thread pool {:.2} s ({:.1}x faster)",
        sequential.as_secs_f64(),
        pooled.as_secs_f64(),
        sequential.as_secs_f64() / pooled.as_secs_f64()
    );
    if count != 20 || pooled_total != expected || sequential_total != expected {
        eprintln!("downloads: WRONG TOTALS: pool {pooled_total} ({count} pages), sequential {sequential_total}, expected {expected}");
        return ExitCode::FAILURE;
    }
    // 20 waits of 100 ms in parallel take about 0.1 s; one after another 2 s. Leave room for a loaded machine
    // (and sanitizers), but a pool that ran them one at a time would fail this.
    if pooled >= sequential / 2 {
        eprintln!("downloads: the pool did not run the downloads concurrently");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

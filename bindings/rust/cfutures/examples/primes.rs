// SPDX-License-Identifier: MIT
//! The CPU-bound example of Python's concurrent.futures docs: are these six numbers prime? Sequentially, then on a
//! process pool whose workers are started by spawn (or the method named by the first argument: fork, forkserver,
//! spawn). Checks the pool's answers against the sequential ones and exits non-zero on any difference.

use cfutures::{register_task, task_fn, MapOptions, ProcessPool, ProcessPoolOptions, StartMethod, TaskError};
use std::process::ExitCode;
use std::time::Instant;

const PRIMES: [u64; 6] =
    [112272535095293, 112582705942171, 112272535095293, 115280095190773, 115797848077099, 1099726899285419];

/// The docs' is_prime: trial division by the odd numbers up to the square root.
fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n == 2 {
        return true;
    }
    if n % 2 == 0 {
        return false;
    }
    let mut i: u64 = 3;
    while i <= n / i {
        if n % i == 0 {
            return false;
        }
        i += 2;
    }
    true
}

task_fn! {
    /// The task: 8 bytes (a little-endian u64) in, one byte (1: prime) out.
    fn is_prime_task(arg: &[u8]) -> Result<Vec<u8>, TaskError> {
        let bytes: [u8; 8] = arg
            .try_into()
            .map_err(|_| TaskError::new("ValueError", "is_prime wants one 8-byte number"))?;
        Ok(vec![is_prime(u64::from_le_bytes(bytes)) as u8])
    }
}

fn main() -> ExitCode {
    // Registration, then worker_entry: a spawned worker is this program started again, and serves tasks here.
    register_task("primes.is_prime", is_prime_task).expect("register is_prime");
    cfutures::worker_entry().expect("worker_entry");

    let method = match std::env::args().nth(1).as_deref() {
        None | Some("spawn") => StartMethod::Spawn,
        Some("fork") => StartMethod::Fork,
        Some("forkserver") => StartMethod::Forkserver,
        Some(other) => {
            eprintln!("usage: primes [spawn|fork|forkserver] (not {other:?})");
            return ExitCode::from(2);
        }
    };

    let t0 = Instant::now();
    let sequential: Vec<bool> = PRIMES.iter().map(|&n| is_prime(n)).collect();
    let sequential_time = t0.elapsed();

    let t0 = Instant::now();
    let pool = match ProcessPool::new(ProcessPoolOptions::new().start_method(method)) {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("primes: {e}");
            return ExitCode::FAILURE;
        }
    };
    let args: Vec<[u8; 8]> = PRIMES.iter().map(|n| n.to_le_bytes()).collect();
    let verdicts: Result<Vec<Vec<u8>>, _> =
        pool.map_named("primes.is_prime", &args, &MapOptions::new()).and_then(|results| results.collect());
    drop(pool);
    let pool_time = t0.elapsed();
    let verdicts = match verdicts {
        Ok(v) => v,
        Err(e) => {
            eprintln!("primes: the process pool failed: {e}");
            return ExitCode::FAILURE;
        }
    };

    let mut ok = verdicts.len() == PRIMES.len();
    for ((n, expected), verdict) in PRIMES.iter().zip(&sequential).zip(&verdicts) {
        let prime = verdict.as_slice() == [1];
        println!("{n} is prime: {}", if prime { "True" } else { "False" });
        ok &= verdict.len() == 1 && prime == *expected;
    }
    // The docs' answer: all prime but the last.
    ok &= sequential == [true, true, true, true, true, false];
    println!(
        "primes: sequential {:.3} s, process pool ({method:?}, incl. start and shutdown) {:.3} s",
        sequential_time.as_secs_f64(),
        pool_time.as_secs_f64()
    );
    if !ok {
        eprintln!("primes: WRONG ANSWER: pool {verdicts:?}, sequential {sequential:?}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

//! nycache / peer throughput ratios that survive a noisy machine: the peers
//! take turns, one batch of 65,536 operations each, round after round, so a
//! slow spell of the machine hits all of them alike; each ratio is the median
//! over rounds of (nycache's rate / the peer's rate) within the same round.
//! Workload and peers: `common/mod.rs`.
//!
//! Run: `cargo bench --bench ratio` (`ROUNDS=n` to change the 31 rounds).

use std::time::Instant;

mod common;
use common::*;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    // `cargo test --benches` runs this once as a smoke test.
    let rounds: usize = if std::env::args().any(|a| a == "--bench") {
        std::env::var("ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(31)
    } else {
        1
    };
    let work = Workload::new();
    let peers = peers();
    for (_, p) in &peers {
        work.prefill(p.as_ref());
    }
    if rounds == 1 {
        println!("smoke run (not a measurement): `cargo bench --bench ratio` measures");
    }
    println!("{rounds} rounds of {OPS} ops, single thread; Mops/s are medians over rounds");
    println!(
        "| workload | {} |",
        peers
            .iter()
            .map(|(n, _)| format!("{n} Mops/s"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let mut ratio_rows = Vec::new();
    // The C ABI against the Rust call it wraps (both copy into a buffer).
    let index = |n: &str| peers.iter().position(|(name, _)| *name == n);
    let abi_pair = index("nycache_c_abi").zip(index("nycache_copy"));
    let mut abi_rows = Vec::new();
    for name in WORKLOADS {
        // rates[peer][round]
        let mut rates = vec![Vec::with_capacity(rounds); peers.len()];
        for _ in 0..rounds {
            for (i, (_, p)) in peers.iter().enumerate() {
                let t = Instant::now();
                std::hint::black_box(work.run(name, p.as_ref()));
                rates[i].push(OPS as f64 / t.elapsed().as_secs_f64() / 1e6);
            }
        }
        let cells: Vec<String> = rates
            .iter()
            .map(|r| format!("{:.2}", median(r.clone())))
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
        let ratios: Vec<String> = (1..peers.len())
            .map(|j| {
                format!(
                    "{:.2}",
                    median((0..rounds).map(|k| rates[0][k] / rates[j][k]).collect())
                )
            })
            .collect();
        ratio_rows.push(format!("| {name} | {} |", ratios.join(" | ")));
        if let Some((c, rust)) = abi_pair {
            let r = median((0..rounds).map(|k| rates[c][k] / rates[rust][k]).collect());
            abi_rows.push(format!("| {name} | {r:.3} |"));
        }
    }
    println!();
    println!(
        "| workload | {} |",
        peers[1..]
            .iter()
            .map(|(n, _)| format!("nycache / {n}"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    for row in ratio_rows {
        println!("{row}");
    }
    if !abi_rows.is_empty() {
        println!();
        println!("| workload | C ABI (nyc_get/nyc_set) / Rust (get_into/set) |");
        for row in abi_rows {
            println!("{row}");
        }
    }
}

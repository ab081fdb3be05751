//! Single-thread operation costs, nycache beside its peers in the same run
//! (workload and peers in `common/mod.rs`).
//!
//! Run: `cargo bench --bench ops` (or `make bench`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::*;

fn bench(c: &mut Criterion) {
    let work = Workload::new();
    let peers = peers();
    for (_, p) in &peers {
        work.prefill(p.as_ref());
    }
    // One group per workload, so the peers of a workload run close together
    // in time (this machine is shared and noisy).
    for name in WORKLOADS {
        let mut g = c.benchmark_group(name);
        g.throughput(criterion::Throughput::Elements(OPS as u64));
        for (peer, p) in &peers {
            g.bench_function(*peer, |b| b.iter(|| black_box(work.run(name, p.as_ref()))));
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(20);
    targets = bench
}
criterion_main!(benches);

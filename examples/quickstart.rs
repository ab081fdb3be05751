//! nycache from Rust: open a cache, store and read values, use a TTL,
//! a counter and a batch, then print the stats.
//!
//! Run: `cargo run --example quickstart` (part of `make demo`).

use std::time::Duration;

use nycache::{Cache, KeyTtl};

fn main() -> nycache::Result<()> {
    let cache = Cache::open("max_memory=64MiB compress_min=1024")?;

    cache.set(b"greeting", b"hello, world", None)?;
    let v = cache.get(b"greeting")?.expect("just stored");
    println!("greeting = {}", String::from_utf8_lossy(&v));

    cache.set(b"session:42", b"{\"user\": \"ada\"}", Some(Duration::from_secs(30)))?;
    if let KeyTtl::Expires(left) = cache.ttl(b"session:42")? {
        println!("session:42 expires in {} s", left.as_secs());
    }

    for _ in 0..3 {
        cache.incr(b"page_views", 1)?;
    }
    println!("page_views = {}", cache.incr(b"page_views", 0)?);

    let page = b"<tr><td>row</td></tr>".repeat(500);
    cache.set(b"report.html", &page, None)?;
    println!("report.html: {} bytes, {} saved by compression", page.len(), cache.stats().compressed_bytes_saved);

    cache.set_many(&[(&b"a"[..], &b"1"[..]), (b"b", b"2")], None)?;
    let got = cache.get_many(&[&b"a"[..], b"b", b"missing"])?;
    let shown: Vec<String> =
        got.iter().map(|v| v.as_ref().map_or("(missing)".into(), |v| String::from_utf8_lossy(v).into_owned())).collect();
    println!("get_many(a, b, missing) = {shown:?}");

    let err = cache.add(b"greeting", b"again", None).unwrap_err();
    println!("add on an existing key: {err}");

    let s = cache.stats();
    println!(
        "stats: entries={} hits={} misses={} sets={} used_bytes={} max_bytes={} hit_rate={:.2}",
        s.entries, s.hits, s.misses, s.sets, s.used_bytes, s.max_bytes, s.hit_rate()
    );
    Ok(())
}

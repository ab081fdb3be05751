//! Data structures through the C ABI against redis-server on loopback, one
//! thread: LPUSH, LRANGE, HSET, HGET, ZADD, ZRANGE per second, Redis with
//! and without pipelining; then bytes per element of small (compact) and
//! large collections, nycache's charge and jemalloc's count beside Redis's
//! `MEMORY USAGE`. Prints markdown tables for docs/performance.md.
//!
//! Run: `cargo run --release --example types_vs_redis` (starts its own
//! redis-server on a free port with persistence off, and stops it).
//!
//! The nycache calls go through the exported `extern "C"` entry points
//! (`nycache::ffi::nyc_*`), taken as function pointers through
//! `black_box`, so every call is an indirect C-ABI call as from a C host:
//! panic boundary, pointer checks, `nyc_array` replies and all.

use std::ffi::c_void;
use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nycache::ffi::*;

const KEYS: usize = 1000;

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A minimal RESP2 client: encode arrays of bulk strings, skip replies.
struct Redis {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Redis {
    fn encode(args: &[&[u8]], out: &mut Vec<u8>) {
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
    }

    /// Reads one reply; returns the integer of an integer reply.
    fn reply(&mut self) -> i64 {
        let mut line = Vec::new();
        self.r.read_until(b'\n', &mut line).unwrap();
        let text = std::str::from_utf8(&line[1..line.len() - 2]).unwrap();
        match line[0] {
            b':' => text.parse().unwrap(),
            b'$' => {
                let n: i64 = text.parse().unwrap();
                if n >= 0 {
                    let mut buf = vec![0; n as usize + 2];
                    self.r.read_exact(&mut buf).unwrap();
                }
                0
            }
            b'*' => {
                let n: i64 = text.parse().unwrap();
                for _ in 0..n.max(0) {
                    self.reply();
                }
                0
            }
            b'-' => panic!("redis error: {text}"),
            _ => 0,
        }
    }

    fn call(&mut self, args: &[&[u8]]) -> i64 {
        let mut out = Vec::new();
        Self::encode(args, &mut out);
        self.w.write_all(&out).unwrap();
        self.reply()
    }
}

fn start_redis() -> (Server, Redis) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server on PATH (apt-get install redis-server)");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    let stream = loop {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            break s;
        }
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    stream.set_nodelay(true).unwrap();
    (
        server,
        Redis {
            r: BufReader::new(stream.try_clone().unwrap()),
            w: stream,
        },
    )
}


/// One benchmarked operation: its Redis command and its C call.
struct Op {
    name: &'static str,
    redis: fn(&Data, usize) -> Vec<Vec<u8>>,
    nyc: fn(*const nyc_cache, &Data, usize),
}

/// Keys and elements made before the clock starts, so the timed loops
/// measure the calls, not string formatting.
struct Data {
    keys: [Vec<Vec<u8>>; 3],
    elems: Vec<Vec<u8>>,
}

impl Data {
    fn new(n: usize) -> Data {
        let keys = ["l", "h", "z"].map(|t| (0..KEYS).map(|i| format!("{t}:{i:06}").into_bytes()).collect());
        Data { keys, elems: (0..n).map(|i| format!("element:{i:08}").into_bytes()).collect() }
    }

    /// Key `i` of a type's key space (`t` = "l", "h" or "z").
    fn key(&self, t: &str, i: usize) -> &[u8] {
        let k = match t {
            "l" => 0,
            "h" => 1,
            _ => 2,
        };
        &self.keys[k][i % KEYS]
    }

    fn elem(&self, i: usize) -> &[u8] {
        &self.elems[i % self.elems.len()]
    }
}

fn sl(b: &[u8]) -> nyc_slice {
    nyc_slice {
        ptr: b.as_ptr().cast(),
        len: b.len(),
    }
}

fn ops() -> Vec<Op> {
    vec![
        Op {
            name: "LPUSH",
            redis: |d, i| vec![b"LPUSH".to_vec(), d.key("l", i).to_vec(), d.elem(i).to_vec()],
            nyc: |c, d, i| {
                let (k, e) = (d.key("l", i), d.elem(i));
                let f: unsafe extern "C" fn(*const nyc_cache, *const c_void, usize, *const nyc_slice, usize, *mut u64) -> nyc_status = black_box(nyc_lpush);
                // SAFETY: live cache; key and one slice of a live element.
                assert_eq!(
                    unsafe {
                        f(
                            c,
                            k.as_ptr().cast(),
                            k.len(),
                            &sl(&e),
                            1,
                            std::ptr::null_mut(),
                        )
                    },
                    nyc_status::NYC_OK
                );
            },
        },
        Op {
            name: "LRANGE 0 9",
            redis: |d, i| vec![b"LRANGE".to_vec(), d.key("l", i).to_vec(), b"0".to_vec(), b"9".to_vec()],
            nyc: |c, d, i| {
                let k = d.key("l", i);
                let f: unsafe extern "C" fn(*const nyc_cache, *const c_void, usize, i64, i64, *mut *mut nyc_array) -> nyc_status = black_box(nyc_lrange);
                let mut a: *mut nyc_array = std::ptr::null_mut();
                // SAFETY: live cache and key; `a` is a writable out-parameter, freed below.
                unsafe {
                    assert_eq!(
                        f(c, k.as_ptr().cast::<c_void>(), k.len(), 0, 9, &mut a),
                        nyc_status::NYC_OK
                    );
                    black_box(nyc_array_count(a));
                    nyc_array_free(a);
                }
            },
        },
        Op {
            name: "HSET",
            redis: |d, i| vec![b"HSET".to_vec(), d.key("h", i).to_vec(), d.elem(i / KEYS % 100).to_vec(), d.elem(i).to_vec()],
            nyc: |c, d, i| {
                let (k, fld, v) = (d.key("h", i), d.elem(i / KEYS % 100), d.elem(i));
                let f: unsafe extern "C" fn(*const nyc_cache, *const c_void, usize, *const nyc_slice, *const nyc_slice, usize, *mut u64) -> nyc_status = black_box(nyc_hset);
                // SAFETY: live cache, key, one field and one value slice.
                assert_eq!(
                    unsafe {
                        f(
                            c,
                            k.as_ptr().cast(),
                            k.len(),
                            &sl(&fld),
                            &sl(&v),
                            1,
                            std::ptr::null_mut(),
                        )
                    },
                    nyc_status::NYC_OK
                );
            },
        },
        Op {
            name: "HGET",
            redis: |d, i| vec![b"HGET".to_vec(), d.key("h", i).to_vec(), d.elem(i / KEYS % 100).to_vec()],
            nyc: |c, d, i| {
                let (k, fld) = (d.key("h", i), d.elem(i / KEYS % 100));
                let f: unsafe extern "C" fn(*const nyc_cache, *const c_void, usize, *const c_void, usize, *mut *mut nyc_value) -> nyc_status = black_box(nyc_hget);
                let mut v: *mut nyc_value = std::ptr::null_mut();
                // SAFETY: live cache, key and field; `v` is freed below (NULL is allowed).
                unsafe {
                    let st = f(
                        c,
                        k.as_ptr().cast(),
                        k.len(),
                        fld.as_ptr().cast(),
                        fld.len(),
                        &mut v,
                    );
                    black_box(st);
                    nyc_value_free(v);
                }
            },
        },
        Op {
            name: "ZADD",
            redis: |d, i| {
                vec![
                    b"ZADD".to_vec(),
                    d.key("z", i).to_vec(),
                    ((i * 7919) % 100_000).to_string().into_bytes(),
                    d.elem(i).to_vec(),
                ]
            },
            nyc: |c, d, i| {
                let (k, m) = (d.key("z", i), d.elem(i));
                let s = ((i * 7919) % 100_000) as f64;
                let f: unsafe extern "C" fn(*const nyc_cache, *const c_void, usize, *const f64, *const nyc_slice, usize, u32, *mut u64) -> nyc_status = black_box(nyc_zadd);
                // SAFETY: live cache and key; one score and one member slice.
                assert_eq!(
                    unsafe {
                        f(
                            c,
                            k.as_ptr().cast(),
                            k.len(),
                            &s,
                            &sl(&m),
                            1,
                            0,
                            std::ptr::null_mut(),
                        )
                    },
                    nyc_status::NYC_OK
                );
            },
        },
        Op {
            name: "ZRANGE 0 9 WITHSCORES",
            redis: |d, i| {
                vec![
                    b"ZRANGE".to_vec(),
                    d.key("z", i).to_vec(),
                    b"0".to_vec(),
                    b"9".to_vec(),
                    b"WITHSCORES".to_vec(),
                ]
            },
            nyc: |c, d, i| {
                let k = d.key("z", i);
                let f: unsafe extern "C" fn(*const nyc_cache, *const c_void, usize, i64, i64, u32, *mut *mut nyc_array) -> nyc_status = black_box(nyc_zrange);
                let mut a: *mut nyc_array = std::ptr::null_mut();
                // SAFETY: live cache and key; `a` is a writable out-parameter, freed below.
                unsafe {
                    assert_eq!(
                        f(
                            c,
                            k.as_ptr().cast(),
                            k.len(),
                            0,
                            9,
                            NYC_ZRANGE_WITHSCORES,
                            &mut a
                        ),
                        nyc_status::NYC_OK
                    );
                    black_box(nyc_array_count(a));
                    nyc_array_free(a);
                }
            },
        },
    ]
}

fn per_sec(n: usize, t: Duration) -> String {
    format!("{:.0}k", n as f64 / t.as_secs_f64() / 1000.0)
}

fn main() {
    let n: usize = std::env::var("OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let (_server, mut redis) = start_redis();
    let data = Data::new(2 * n);
    let mut cache: *mut nyc_cache = std::ptr::null_mut();
    // SAFETY: a NUL-terminated config and a writable out-parameter.
    assert_eq!(
        unsafe { nyc_open(c"max_memory=1GiB maintenance_ms=0".as_ptr(), &mut cache) },
        nyc_status::NYC_OK
    );

    println!(
        "ops/s, one thread, {n} ops each ({KEYS} keys; lists, hashes and sorted sets grow to {} elements per key)\n",
        n / KEYS
    );
    println!(
        "| command | nycache C ABI | redis, no pipelining | redis, pipelined x64 | nycache / redis pipelined |"
    );
    println!("|---|---|---|---|---|");
    for op in ops() {
        let t = Instant::now();
        for i in 0..n {
            (op.nyc)(cache, &data, i);
        }
        let nyc = t.elapsed();
        // Redis, one round trip per command (a quarter of the ops: slow).
        let m = n / 4;
        let t = Instant::now();
        for i in n..n + m {
            let args = (op.redis)(&data, i);
            let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            redis.call(&refs);
        }
        let plain = t.elapsed();
        // Redis, 64 commands per write.
        let t = Instant::now();
        let mut i = 0;
        while i < n {
            let mut out = Vec::new();
            let batch = 64.min(n - i);
            for j in i..i + batch {
                let args = (op.redis)(&data, j);
                let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                Redis::encode(&refs, &mut out);
            }
            redis.w.write_all(&out).unwrap();
            for _ in 0..batch {
                redis.reply();
            }
            i += batch;
        }
        let piped = t.elapsed();
        let ratio = piped.as_secs_f64() / nyc.as_secs_f64();
        println!(
            "| {} | {} | {} | {} | {:.1}x |",
            op.name,
            per_sec(n, nyc),
            per_sec(m, plain),
            per_sec(n, piped),
            ratio
        );
    }

    println!(
        "\nbytes per element: 1000 keys of 100 elements (compact), 10 keys of 10,000 (full); \
         elements of 16 bytes (hash values 16 more); nycache: charged (used_bytes) and \
         allocated (jemalloc stats.allocated); redis: MEMORY USAGE key SAMPLES 0, summed\n"
    );
    println!("| type | elements per key | nycache charged | nycache allocated | redis MEMORY USAGE |");
    println!("|---|---|---|---|---|");
    for (keys, size) in [(1000usize, 100usize), (10, 10_000)] {
        for ty in ["list", "set", "hash", "zset"] {
            let name = |k: usize| format!("mem:{ty}:{size}:{k}").into_bytes();
            let member = |i: usize| format!("member:{i:09}").into_bytes();
            let value = |i: usize| format!("value:{i:010}").into_bytes();
            let names: Vec<Vec<u8>> = (0..keys).map(name).collect();
            let members: Vec<Vec<u8>> = (0..size).map(member).collect();
            let values: Vec<Vec<u8>> = (0..size).map(value).collect();
            let (used_before, alloc_before) = (used(cache), allocated());
            for kb in &names {
                for i in 0..size {
                    let (e, v) = (&members[i], &values[i]);
                    // SAFETY: live cache; key and element slices outlive the calls.
                    let st = unsafe {
                        match ty {
                            "list" => nyc_rpush(cache, kb.as_ptr().cast(), kb.len(), &sl(e), 1, std::ptr::null_mut()),
                            "set" => nyc_sadd(cache, kb.as_ptr().cast(), kb.len(), &sl(e), 1, std::ptr::null_mut()),
                            "hash" => nyc_hset(cache, kb.as_ptr().cast(), kb.len(), &sl(e), &sl(v), 1, std::ptr::null_mut()),
                            _ => nyc_zadd(cache, kb.as_ptr().cast(), kb.len(), &(i as f64), &sl(e), 1, 0, std::ptr::null_mut()),
                        }
                    };
                    assert_eq!(st, nyc_status::NYC_OK);
                }
            }
            let charged = used(cache) - used_before;
            let alloc = allocated().saturating_sub(alloc_before);
            // The same data into Redis, pipelined per key.
            let mut usage = 0;
            for kb in &names {
                let mut out = Vec::new();
                for i in 0..size {
                    let score = i.to_string().into_bytes();
                    let (e, v) = (&members[i][..], &values[i][..]);
                    let cmd: Vec<&[u8]> = match ty {
                        "list" => vec![b"RPUSH", kb, e],
                        "set" => vec![b"SADD", kb, e],
                        "hash" => vec![b"HSET", kb, e, v],
                        _ => vec![b"ZADD", kb, &score, e],
                    };
                    Redis::encode(&cmd, &mut out);
                }
                redis.w.write_all(&out).unwrap();
                for _ in 0..size {
                    redis.reply();
                }
                usage += redis.call(&[b"MEMORY", b"USAGE", kb, b"SAMPLES", b"0"]);
            }
            let total = (keys * size) as f64;
            println!(
                "| {ty} | {size} | {:.1} | {:.1} | {:.1} |",
                charged as f64 / total,
                alloc as f64 / total,
                usage as f64 / total
            );
        }
    }
    // SAFETY: opened above, closed once.
    unsafe { nyc_close(cache) };
}

fn used(cache: *const nyc_cache) -> u64 {
    // SAFETY: the stats struct is plain data; nyc_stats fills it.
    let mut st: nyc_cache_stats = unsafe { std::mem::zeroed() };
    // SAFETY: live cache, writable out-parameter.
    assert_eq!(unsafe { nyc_stats(cache, &mut st) }, nyc_status::NYC_OK);
    st.used_bytes
}

fn allocated() -> u64 {
    tikv_jemalloc_ctl::epoch::advance().unwrap();
    tikv_jemalloc_ctl::stats::allocated::read().unwrap() as u64
}

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

fn key(i: usize) -> Vec<u8> {
    format!("key:{:06}", i % KEYS).into_bytes()
}

fn elem(i: usize) -> Vec<u8> {
    format!("element:{i:08}").into_bytes()
}

/// One benchmarked operation: its Redis command and its C call.
struct Op {
    name: &'static str,
    redis: fn(usize) -> Vec<Vec<u8>>,
    nyc: fn(*const nyc_cache, usize),
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
            redis: |i| vec![b"LPUSH".to_vec(), key(i), elem(i)],
            nyc: |c, i| {
                let (k, e) = (key(i), elem(i));
                let f = black_box(nyc_lpush as unsafe extern "C" fn(_, _, _, _, _, _) -> _);
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
            redis: |i| vec![b"LRANGE".to_vec(), key(i), b"0".to_vec(), b"9".to_vec()],
            nyc: |c, i| {
                let k = key(i);
                let f = black_box(nyc_lrange as unsafe extern "C" fn(_, _, _, _, _, _) -> _);
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
            redis: |i| vec![b"HSET".to_vec(), key(i), elem(i / KEYS % 100), elem(i)],
            nyc: |c, i| {
                let (k, fld, v) = (key(i), elem(i / KEYS % 100), elem(i));
                let f = black_box(nyc_hset as unsafe extern "C" fn(_, _, _, _, _, _, _) -> _);
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
            redis: |i| vec![b"HGET".to_vec(), key(i), elem(i / KEYS % 100)],
            nyc: |c, i| {
                let (k, fld) = (key(i), elem(i / KEYS % 100));
                let f = black_box(nyc_hget as unsafe extern "C" fn(_, _, _, _, _, _) -> _);
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
            redis: |i| {
                vec![
                    b"ZADD".to_vec(),
                    key(i),
                    ((i * 7919) % 100_000).to_string().into_bytes(),
                    elem(i),
                ]
            },
            nyc: |c, i| {
                let (k, m) = (key(i), elem(i));
                let s = ((i * 7919) % 100_000) as f64;
                let f = black_box(nyc_zadd as unsafe extern "C" fn(_, _, _, _, _, _, _, _) -> _);
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
            redis: |i| {
                vec![
                    b"ZRANGE".to_vec(),
                    key(i),
                    b"0".to_vec(),
                    b"9".to_vec(),
                    b"WITHSCORES".to_vec(),
                ]
            },
            nyc: |c, i| {
                let k = key(i);
                let f = black_box(nyc_zrange as unsafe extern "C" fn(_, _, _, _, _, _, _) -> _);
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
            (op.nyc)(cache, i);
        }
        let nyc = t.elapsed();
        // Redis, one round trip per command (a quarter of the ops: slow).
        let m = n / 4;
        let t = Instant::now();
        for i in n..n + m {
            let args = (op.redis)(i);
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
                let args = (op.redis)(j);
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
        "\nbytes per element (16-byte elements; nycache: charged and jemalloc-allocated; redis: MEMORY USAGE SAMPLES 0)\n"
    );
    println!("| type | elements | nycache charged | nycache allocated | redis MEMORY USAGE |");
    println!("|---|---|---|---|---|");
    for size in [100usize, 10_000] {
        for ty in ["list", "set", "hash", "zset"] {
            let k = format!("mem:{ty}:{size}");
            let used_before = used(cache);
            let alloc_before = allocated();
            for i in 0..size {
                let e = format!("member:{i:09}").into_bytes();
                let v = format!("value:{i:010}").into_bytes();
                let kb = k.as_bytes();
                // SAFETY: live cache; key and element slices outlive the calls.
                let st = unsafe {
                    match ty {
                        "list" => nyc_rpush(
                            cache,
                            kb.as_ptr().cast(),
                            kb.len(),
                            &sl(&e),
                            1,
                            std::ptr::null_mut(),
                        ),
                        "set" => nyc_sadd(
                            cache,
                            kb.as_ptr().cast(),
                            kb.len(),
                            &sl(&e),
                            1,
                            std::ptr::null_mut(),
                        ),
                        "hash" => nyc_hset(
                            cache,
                            kb.as_ptr().cast(),
                            kb.len(),
                            &sl(&e),
                            &sl(&v),
                            1,
                            std::ptr::null_mut(),
                        ),
                        _ => nyc_zadd(
                            cache,
                            kb.as_ptr().cast(),
                            kb.len(),
                            &(i as f64),
                            &sl(&e),
                            1,
                            0,
                            std::ptr::null_mut(),
                        ),
                    }
                };
                assert_eq!(st, nyc_status::NYC_OK);
                let cmd: Vec<&[u8]> = match ty {
                    "list" => vec![b"RPUSH", kb, &e],
                    "set" => vec![b"SADD", kb, &e],
                    "hash" => vec![b"HSET", kb, &e, &v],
                    _ => vec![b"ZADD", kb, b"0", &e],
                };
                let score = i.to_string().into_bytes();
                let cmd: Vec<&[u8]> = if ty == "zset" {
                    vec![cmd[0], cmd[1], &score, cmd[3]]
                } else {
                    cmd
                };
                redis.call(&cmd);
            }
            let charged = used(cache) - used_before;
            let alloc = allocated().saturating_sub(alloc_before);
            let usage = redis.call(&[b"MEMORY", b"USAGE", k.as_bytes(), b"SAMPLES", b"0"]);
            println!(
                "| {ty} | {size} | {:.1} | {:.1} | {:.1} |",
                charged as f64 / size as f64,
                alloc as f64 / size as f64,
                usage as f64 / size as f64
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

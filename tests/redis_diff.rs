//! Differential test against a real Redis: the same random commands (fixed
//! seeds, every data-structure type, wrong-type calls and edge cases) go to
//! `redis-server` and to nycache's Rust API, and every reply must match:
//! exact values, except where Redis leaves the order open (SMEMBERS,
//! HGETALL, ...: compared as multisets) or picks at random (SPOP,
//! SRANDMEMBER: checked against Redis's set, and SPOP's pick is replayed on
//! Redis with SREM so both stay equal). Errors compare by category (which
//! error), values exactly, scores as Redis's text.
//!
//! The server is started here on a free loopback port with persistence off
//! and killed at the end (a Drop guard, so also on panic). Without
//! `redis-server` the test prints a skip message and passes, unless
//! `NYCACHE_REQUIRE_REDIS=1` (CI) makes that a failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nycache::{Cache, ErrorKind, ScoreBound, ZAddFlags, format_score};

/// Commands per seed; four seeds make the 100,000+ of the issue.
const COMMANDS_PER_SEED: usize = 26_000;
const SEEDS: [u64; 4] = [1, 2, 3, 0x5eed_cafe];
/// Commands sent to Redis per pipelined batch.
const BATCH: usize = 512;

// ---------------------------------------------------------------- server

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_redis_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/sbin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(bin: &PathBuf) -> (Server, TcpStream) {
    let port = free_port();
    let child = Command::new(bin)
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
        .args(["--daemonize", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", server.port)) {
            s.set_nodelay(true).unwrap();
            return (server, s);
        }
        assert!(
            Instant::now() < deadline,
            "redis-server did not listen on port {} within 10 s",
            server.port
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------- RESP

/// A reply, from either side, in RESP2's shapes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Reply {
    Status(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
    NilArray,
    Error(String),
}

fn encode(args: &[Vec<u8>], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn read_reply(r: &mut BufReader<TcpStream>) -> Reply {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line).expect("reply from redis");
    assert!(line.ends_with(b"\r\n"), "truncated reply {line:?}");
    let text = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
    match line[0] {
        b'+' => Reply::Status(text),
        b'-' => Reply::Error(text),
        b':' => Reply::Int(text.parse().unwrap()),
        b'$' => {
            let n: i64 = text.parse().unwrap();
            if n < 0 {
                return Reply::Nil;
            }
            let mut buf = vec![0; n as usize + 2];
            r.read_exact(&mut buf).unwrap();
            buf.truncate(n as usize);
            Reply::Bulk(buf)
        }
        b'*' => {
            let n: i64 = text.parse().unwrap();
            if n < 0 {
                return Reply::NilArray;
            }
            Reply::Array((0..n).map(|_| read_reply(r)).collect())
        }
        other => panic!("unknown RESP type byte {other}"),
    }
}

/// The error category of a Redis error reply, named after nycache's kinds.
fn redis_category(message: &str) -> String {
    let m = message;
    let cat = if m.starts_with("WRONGTYPE") {
        "WrongType"
    } else if m == "ERR no such key" {
        "NotFound"
    } else if m == "ERR index out of range"
        || m == "ERR syntax error"
        || m.starts_with("ERR XX and NX")
        || m.starts_with("ERR GT, LT, and/or NX")
        || m.starts_with("ERR INCR option")
    {
        "InvalidArgument"
    } else if m == "ERR hash value is not an integer"
        || m == "ERR value is not a valid float"
        || m.starts_with("ERR resulting score is not a number")
        || m == "ERR min or max is not a float"
        || m == "ERR value is not an integer or out of range"
    {
        "NotANumber"
    } else if m == "ERR increment or decrement would overflow" {
        "Overflow"
    } else {
        return format!("unmapped: {m}");
    };
    cat.to_owned()
}

fn kind_category(kind: ErrorKind) -> String {
    format!("{kind:?}")
}

// ---------------------------------------------------------------- nycache side

fn opt_bulk(b: Option<Vec<u8>>) -> Reply {
    b.map_or(Reply::Nil, Reply::Bulk)
}
fn array(items: Vec<Vec<u8>>) -> Reply {
    Reply::Array(items.into_iter().map(Reply::Bulk).collect())
}
fn scored(items: Vec<(Vec<u8>, f64)>, with_scores: bool) -> Reply {
    let mut out = Vec::new();
    for (m, s) in items {
        out.push(Reply::Bulk(m));
        if with_scores {
            out.push(Reply::Bulk(format_score(s).into_bytes()));
        }
    }
    Reply::Array(out)
}
fn int(n: u64) -> Reply {
    Reply::Int(n as i64)
}
fn score_reply(s: f64) -> Reply {
    Reply::Bulk(format_score(s).into_bytes())
}
fn ours<T>(r: nycache::Result<T>, f: impl FnOnce(T) -> Reply) -> Reply {
    match r {
        Ok(v) => f(v),
        Err(e) => Reply::Error(kind_category(e.kind())),
    }
}

// ---------------------------------------------------------------- generator

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

/// Key groups: each type mostly has its own keys, and a few keys are
/// shared by every type, so that wrong-type calls happen without wiping
/// every collection before it grows.
const GROUPS: [&str; 5] = ["s", "l", "t", "h", "z"];

fn key(r: &mut Rng, group: &str) -> Vec<u8> {
    if r.chance(12) {
        format!("k{}", r.below(4)).into_bytes()
    } else {
        format!("{group}{}", r.below(5)).into_bytes()
    }
}

/// Every key the generator can name.
fn all_keys() -> Vec<String> {
    let mut keys: Vec<String> = (0..4).map(|i| format!("k{i}")).collect();
    keys.extend(
        GROUPS
            .iter()
            .flat_map(|g| (0..5).map(move |i| format!("{g}{i}"))),
    );
    keys
}

fn element(r: &mut Rng) -> Vec<u8> {
    match r.below(100) {
        0..=54 => format!("m{}", r.below(20)).into_bytes(),
        55..=74 => r.range(-300, 300).to_string().into_bytes(),
        75..=89 => format!("x{}", r.below(200)).into_bytes(),
        90..=93 => [
            "",
            "-0",
            "007",
            "9223372036854775807",
            "-9223372036854775808",
            "+1",
        ][r.below(6) as usize]
            .as_bytes()
            .to_vec(),
        _ => format!("{}{}", "L".repeat(64), r.below(10)).into_bytes(),
    }
}

fn elements(r: &mut Rng) -> Vec<Vec<u8>> {
    let n = if r.chance(8) {
        20 + r.below(60)
    } else {
        1 + r.below(4)
    };
    (0..n).map(|_| element(r)).collect()
}

fn score(r: &mut Rng) -> f64 {
    match r.below(20) {
        0 => f64::INFINITY,
        1 => f64::NEG_INFINITY,
        2 => 0.1,
        3 => 1.0 / 3.0,
        4 => 1e20,
        5 => -1.5e-7,
        6 => -0.0,
        7 => 123456789.125,
        8..=11 => r.range(-4, 4) as f64 + 0.5,
        _ => r.range(-6, 6) as f64,
    }
}

/// Score text Redis parses back to exactly `s`.
fn score_text(s: f64) -> Vec<u8> {
    if s.is_infinite() {
        return if s > 0.0 {
            b"+inf".to_vec()
        } else {
            b"-inf".to_vec()
        };
    }
    format!("{s:?}").into_bytes()
}

fn bound(r: &mut Rng) -> (ScoreBound, Vec<u8>) {
    let s = score(r);
    let exclusive = r.chance(30);
    let mut text = score_text(s);
    if exclusive {
        text.insert(0, b'(');
    }
    (
        ScoreBound {
            value: s,
            exclusive,
        },
        text,
    )
}

fn index(r: &mut Rng) -> i64 {
    match r.below(10) {
        0 => r.range(-200, 200),
        1 => [i64::MIN / 2, i64::MAX / 2][r.below(2) as usize],
        _ => r.range(-6, 6),
    }
}

/// What to check a Redis reply against.
enum Expect {
    /// The same reply.
    Exact(Reply),
    /// The same elements (arrays), in any order; `pairs` keeps
    /// field/value pairs together.
    Unordered { reply: Reply, pairs: bool },
    /// We popped these members at random; Redis got `SREM` of them (or
    /// `SCARD` when none), which must agree.
    Popped { ours: Reply, count: Option<u64> },
    /// Random members; Redis got `SMEMBERS` to check them against.
    Random { ours: Reply, count: Option<i64> },
}

fn s(t: &str) -> Vec<u8> {
    t.as_bytes().to_vec()
}

/// Generates one command, runs it on nycache, and returns the command
/// for Redis and what its reply must satisfy.
fn step(r: &mut Rng, c: &Cache) -> (Vec<Vec<u8>>, Expect) {
    let op = r.below(64);
    let group = match op {
        // SET and INCRBY write strings: onto string keys (and the shared
        // ones), or typed keys would stay strings for good.
        1 | 3 => "s",
        0..=4 => GROUPS[r.below(5) as usize],
        5..=16 => "l",
        17..=28 => "t",
        29..=41 => "h",
        _ => "z",
    };
    let k = key(r, group);
    let e = element(r);
    let exact = |cmd: Vec<Vec<u8>>, reply: Reply| (cmd, Expect::Exact(reply));
    match op {
        // ---- strings and keys, for wrong-type collisions
        0 => exact(
            vec![s("GET"), k.clone()],
            ours(c.get(&k), |v| opt_bulk(v.map(|v| v.to_vec()))),
        ),
        1 => exact(
            vec![s("SET"), k.clone(), e.clone()],
            ours(c.set(&k, &e, None), |_| Reply::Status("OK".into())),
        ),
        2 => exact(
            vec![s("DEL"), k.clone()],
            ours(c.delete(&k), |d| int(d as u64)),
        ),
        3 => exact(
            vec![s("INCRBY"), k.clone(), s("3")],
            ours(c.incr(&k, 3), Reply::Int),
        ),
        4 => exact(
            vec![s("EXISTS"), k.clone()],
            ours(c.exists(&k), |d| int(d as u64)),
        ),
        // ---- lists
        5..=7 => {
            let items = elements(r);
            let front = r.chance(50);
            let mut cmd = vec![s(if front { "LPUSH" } else { "RPUSH" }), k.clone()];
            cmd.extend(items.iter().cloned());
            let reply = ours(
                if front {
                    c.lpush(&k, &items)
                } else {
                    c.rpush(&k, &items)
                },
                int,
            );
            exact(cmd, reply)
        }
        8 | 9 => {
            let front = r.chance(50);
            let name = s(if front { "LPOP" } else { "RPOP" });
            if r.chance(50) {
                let reply = ours(if front { c.lpop(&k) } else { c.rpop(&k) }, opt_bulk);
                exact(vec![name, k], reply)
            } else {
                let n = r.below(5);
                let got = if front {
                    c.lpop_count(&k, n as usize)
                } else {
                    c.rpop_count(&k, n as usize)
                };
                exact(
                    vec![name, k, n.to_string().into_bytes()],
                    ours(got, |v| v.map_or(Reply::NilArray, array)),
                )
            }
        }
        10 | 11 => {
            let (a, b) = (index(r), index(r));
            exact(
                vec![
                    s("LRANGE"),
                    k.clone(),
                    a.to_string().into_bytes(),
                    b.to_string().into_bytes(),
                ],
                ours(c.lrange(&k, a, b), array),
            )
        }
        12 => exact(vec![s("LLEN"), k.clone()], ours(c.llen(&k), int)),
        13 => {
            let i = index(r);
            exact(
                vec![s("LINDEX"), k.clone(), i.to_string().into_bytes()],
                ours(c.lindex(&k, i), opt_bulk),
            )
        }
        14 => {
            let i = index(r);
            let reply = ours(c.lset(&k, i, &e), |_| Reply::Status("OK".into()));
            exact(vec![s("LSET"), k, i.to_string().into_bytes(), e], reply)
        }
        15 => {
            let n = r.range(-3, 3);
            let reply = ours(c.lrem(&k, n, &e), int);
            exact(vec![s("LREM"), k, n.to_string().into_bytes(), e], reply)
        }
        16 => {
            let (a, b) = (index(r), index(r));
            let reply = ours(c.ltrim(&k, a, b), |_| Reply::Status("OK".into()));
            exact(
                vec![
                    s("LTRIM"),
                    k,
                    a.to_string().into_bytes(),
                    b.to_string().into_bytes(),
                ],
                reply,
            )
        }
        // ---- sets
        17..=19 => {
            let items = elements(r);
            let mut cmd = vec![s("SADD"), k.clone()];
            cmd.extend(items.iter().cloned());
            exact(cmd, ours(c.sadd(&k, &items), int))
        }
        20 => {
            let items = elements(r);
            let mut cmd = vec![s("SREM"), k.clone()];
            cmd.extend(items.iter().cloned());
            exact(cmd, ours(c.srem(&k, &items), int))
        }
        21 => exact(
            vec![s("SISMEMBER"), k.clone(), e.clone()],
            ours(c.sismember(&k, &e), |b| int(b as u64)),
        ),
        22 => (
            vec![s("SMEMBERS"), k.clone()],
            Expect::Unordered {
                reply: ours(c.smembers(&k), array),
                pairs: false,
            },
        ),
        23 => exact(vec![s("SCARD"), k.clone()], ours(c.scard(&k), int)),
        24 => {
            let count = r.chance(50).then(|| r.below(4));
            let got = match count {
                None => ours(c.spop(&k), opt_bulk),
                Some(n) => ours(c.spop_count(&k, n as usize), array),
            };
            let popped: Vec<Vec<u8>> = match &got {
                Reply::Bulk(m) => vec![m.clone()],
                Reply::Array(items) => items
                    .iter()
                    .map(|i| {
                        if let Reply::Bulk(b) = i {
                            b.clone()
                        } else {
                            unreachable!()
                        }
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let cmd = if popped.is_empty() {
                vec![s("SCARD"), k]
            } else {
                let mut cmd = vec![s("SREM"), k];
                cmd.extend(popped);
                cmd
            };
            (cmd, Expect::Popped { ours: got, count })
        }
        25 => {
            let count = r.chance(60).then(|| r.range(-5, 5));
            let got = match count {
                None => ours(c.srandmember(&k), opt_bulk),
                Some(n) => ours(c.srandmember_count(&k, n), array),
            };
            (vec![s("SMEMBERS"), k], Expect::Random { ours: got, count })
        }
        26..=28 => {
            let keys: Vec<Vec<u8>> = (0..1 + r.below(3)).map(|_| key(r, "t")).collect();
            let (name, got) = match r.below(3) {
                0 => ("SINTER", c.sinter(&keys)),
                1 => ("SUNION", c.sunion(&keys)),
                _ => ("SDIFF", c.sdiff(&keys)),
            };
            let mut cmd = vec![s(name)];
            cmd.extend(keys);
            (
                cmd,
                Expect::Unordered {
                    reply: ours(got, array),
                    pairs: false,
                },
            )
        }
        // ---- hashes
        29..=31 => {
            let n = if r.chance(8) {
                20 + r.below(50)
            } else {
                1 + r.below(3)
            };
            let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
                .map(|_| {
                    let v = if r.chance(25) {
                        r.range(-9, 9).to_string().into_bytes()
                    } else {
                        element(r)
                    };
                    (element(r), v)
                })
                .collect();
            let mut cmd = vec![s("HSET"), k.clone()];
            for (f, v) in &pairs {
                cmd.push(f.clone());
                cmd.push(v.clone());
            }
            exact(cmd, ours(c.hset(&k, &pairs), int))
        }
        32 => exact(
            vec![s("HGET"), k.clone(), e.clone()],
            ours(c.hget(&k, &e), opt_bulk),
        ),
        33 => {
            let items = elements(r);
            let mut cmd = vec![s("HDEL"), k.clone()];
            cmd.extend(items.iter().cloned());
            exact(cmd, ours(c.hdel(&k, &items), int))
        }
        34 => exact(
            vec![s("HEXISTS"), k.clone(), e.clone()],
            ours(c.hexists(&k, &e), |b| int(b as u64)),
        ),
        35 => (
            vec![s("HKEYS"), k.clone()],
            Expect::Unordered {
                reply: ours(c.hkeys(&k), array),
                pairs: false,
            },
        ),
        36 => (
            vec![s("HVALS"), k.clone()],
            Expect::Unordered {
                reply: ours(c.hvals(&k), array),
                pairs: false,
            },
        ),
        37 => exact(vec![s("HLEN"), k.clone()], ours(c.hlen(&k), int)),
        38 => {
            let got = ours(c.hgetall(&k), |pairs| {
                array(pairs.into_iter().flat_map(|(f, v)| [f, v]).collect())
            });
            (
                vec![s("HGETALL"), k],
                Expect::Unordered {
                    reply: got,
                    pairs: true,
                },
            )
        }
        39 | 40 => {
            let delta = match r.below(10) {
                0 => i64::MAX,
                1 => i64::MIN,
                _ => r.range(-5, 5),
            };
            let field = if r.chance(50) {
                format!("m{}", r.below(20)).into_bytes()
            } else {
                e.clone()
            };
            let reply = ours(c.hincrby(&k, &field, delta), Reply::Int);
            exact(
                vec![s("HINCRBY"), k, field, delta.to_string().into_bytes()],
                reply,
            )
        }
        41 => {
            let v = element(r);
            let reply = ours(c.hsetnx(&k, &e, &v), |b| int(b as u64));
            exact(vec![s("HSETNX"), k, e, v], reply)
        }
        // ---- sorted sets
        42..=45 => {
            let n = if r.chance(8) {
                20 + r.below(60)
            } else {
                1 + r.below(3)
            };
            let pairs: Vec<(f64, Vec<u8>)> = (0..n).map(|_| (score(r), element(r))).collect();
            let mut flags = ZAddFlags::default();
            let mut cmd = vec![s("ZADD"), k.clone()];
            for (flag, name) in [(0, "NX"), (1, "XX"), (2, "GT"), (3, "LT"), (4, "CH")] {
                if r.chance(if flag == 4 { 30 } else { 12 }) {
                    match flag {
                        0 => flags.nx = true,
                        1 => flags.xx = true,
                        2 => flags.gt = true,
                        3 => flags.lt = true,
                        _ => flags.ch = true,
                    }
                    cmd.push(s(name));
                }
            }
            if r.chance(15) {
                cmd.push(s("INCR"));
                let (sc, m) = pairs[0].clone();
                cmd.push(score_text(sc));
                cmd.push(m.clone());
                exact(
                    cmd,
                    ours(c.zadd_incr(&k, sc, &m, flags), |v| {
                        v.map_or(Reply::Nil, score_reply)
                    }),
                )
            } else {
                for (sc, m) in &pairs {
                    cmd.push(score_text(*sc));
                    cmd.push(m.clone());
                }
                exact(cmd, ours(c.zadd(&k, &pairs, flags), int))
            }
        }
        46 => {
            let items = elements(r);
            let mut cmd = vec![s("ZREM"), k.clone()];
            cmd.extend(items.iter().cloned());
            exact(cmd, ours(c.zrem(&k, &items), int))
        }
        47 | 48 => exact(
            vec![s("ZSCORE"), k.clone(), e.clone()],
            ours(c.zscore(&k, &e), |v| v.map_or(Reply::Nil, score_reply)),
        ),
        49 => {
            let inc = score(r);
            let reply = ours(c.zincrby(&k, inc, &e), score_reply);
            exact(vec![s("ZINCRBY"), k, score_text(inc), e], reply)
        }
        50 => exact(vec![s("ZCARD"), k.clone()], ours(c.zcard(&k), int)),
        51 => exact(
            vec![s("ZRANK"), k.clone(), e.clone()],
            ours(c.zrank(&k, &e), |v| v.map_or(Reply::Nil, int)),
        ),
        52..=54 => {
            let (a, b) = (index(r), index(r));
            let (rev, with) = (r.chance(40), r.chance(50));
            let mut cmd = vec![
                s("ZRANGE"),
                k.clone(),
                a.to_string().into_bytes(),
                b.to_string().into_bytes(),
            ];
            if rev {
                cmd.push(s("REV"));
            }
            if with {
                cmd.push(s("WITHSCORES"));
            }
            exact(cmd, ours(c.zrange(&k, a, b, rev), |v| scored(v, with)))
        }
        55..=57 => {
            let ((min, mt), (max, xt)) = (bound(r), bound(r));
            let with = r.chance(50);
            let limit = r.chance(40).then(|| (r.range(-1, 5), r.range(-2, 6)));
            let mut cmd = vec![s("ZRANGEBYSCORE"), k.clone(), mt, xt];
            if with {
                cmd.push(s("WITHSCORES"));
            }
            if let Some((o, n)) = limit {
                cmd.extend([
                    s("LIMIT"),
                    o.to_string().into_bytes(),
                    n.to_string().into_bytes(),
                ]);
            }
            exact(
                cmd,
                ours(c.zrangebyscore(&k, min, max, limit), |v| scored(v, with)),
            )
        }
        58 => {
            let ((min, mt), (max, xt)) = (bound(r), bound(r));
            exact(
                vec![s("ZCOUNT"), k.clone(), mt, xt],
                ours(c.zcount(&k, min, max), int),
            )
        }
        59..=61 => {
            let max = r.chance(50);
            let name = s(if max { "ZPOPMAX" } else { "ZPOPMIN" });
            let count = r.chance(50).then(|| r.below(4));
            let n = count.unwrap_or(1) as usize;
            let got = ours(
                if max {
                    c.zpopmax(&k, n)
                } else {
                    c.zpopmin(&k, n)
                },
                |v| scored(v, true),
            );
            let mut cmd = vec![name, k];
            if let Some(n) = count {
                cmd.push(n.to_string().into_bytes());
            }
            exact(cmd, got)
        }
        // ---- invalid flag combinations and NaN increments, on purpose
        _ => {
            let m = e.clone();
            if r.chance(50) {
                let flags = [
                    ZAddFlags {
                        nx: true,
                        xx: true,
                        ..Default::default()
                    },
                    ZAddFlags {
                        gt: true,
                        lt: true,
                        ..Default::default()
                    },
                    ZAddFlags {
                        nx: true,
                        gt: true,
                        ..Default::default()
                    },
                ][r.below(3) as usize];
                let mut cmd = vec![s("ZADD"), k.clone()];
                for (on, name) in [
                    (flags.nx, "NX"),
                    (flags.xx, "XX"),
                    (flags.gt, "GT"),
                    (flags.lt, "LT"),
                ] {
                    if on {
                        cmd.push(s(name));
                    }
                }
                cmd.extend([s("1"), m.clone()]);
                exact(cmd, ours(c.zadd(&k, &[(1.0, &m)], flags), int))
            } else {
                let inc = if r.chance(50) {
                    f64::INFINITY
                } else {
                    f64::NEG_INFINITY
                };
                let reply = ours(c.zincrby(&k, inc, &m), score_reply);
                exact(vec![s("ZINCRBY"), k, score_text(inc), m], reply)
            }
        }
    }
}

/// Errors compare by category; everything else as it is.
fn normalise(reply: Reply) -> Reply {
    match reply {
        Reply::Error(m) if m.contains(' ') || m.starts_with("WRONGTYPE") => {
            Reply::Error(redis_category(&m))
        }
        other => other,
    }
}

fn sorted(reply: Reply, pairs: bool) -> Reply {
    match reply {
        Reply::Array(items) if pairs => {
            let mut chunks: Vec<Vec<Reply>> = items.chunks(2).map(<[Reply]>::to_vec).collect();
            chunks.sort();
            Reply::Array(chunks.into_iter().flatten().collect())
        }
        Reply::Array(mut items) => {
            items.sort();
            Reply::Array(items)
        }
        other => other,
    }
}

/// None if the Redis reply satisfies the expectation, else why not.
fn check(expect: Expect, theirs: Reply) -> Option<String> {
    let theirs = normalise(theirs);
    match expect {
        Expect::Exact(ours) => {
            (ours != theirs).then(|| format!("nycache {ours:?}\n     redis   {theirs:?}"))
        }
        Expect::Unordered { reply, pairs } => {
            let (a, b) = (sorted(reply, pairs), sorted(theirs, pairs));
            (a != b).then(|| format!("nycache {a:?}\n     redis   {b:?}"))
        }
        Expect::Popped { ours, count } => {
            let ok = match (&ours, &theirs) {
                (Reply::Error(a), Reply::Error(b)) => a == b,
                (Reply::Bulk(_), Reply::Int(1)) => true,
                (Reply::Array(items), Reply::Int(n)) if !items.is_empty() => {
                    *n == items.len() as i64
                }
                // Nothing popped: the set was empty, or the count 0.
                (Reply::Nil, Reply::Int(0)) => true,
                (Reply::Array(_), Reply::Int(n)) => count == Some(0) || *n == 0,
                _ => false,
            };
            (!ok).then(|| format!("SPOP: nycache {ours:?}, redis (SREM/SCARD) {theirs:?}"))
        }
        Expect::Random { ours, count } => {
            let ok = match (&ours, &theirs) {
                (Reply::Error(a), Reply::Error(b)) => a == b,
                (Reply::Nil, Reply::Array(m)) => m.is_empty(),
                (Reply::Bulk(b), Reply::Array(m)) => m.contains(&Reply::Bulk(b.clone())),
                (Reply::Array(got), Reply::Array(m)) => {
                    let all_members = got.iter().all(|g| m.contains(g));
                    let n = count.unwrap_or(1);
                    let len_ok = if n < 0 {
                        got.len() as i64 == if m.is_empty() { 0 } else { -n }
                    } else {
                        let mut distinct = got.clone();
                        distinct.sort();
                        distinct.dedup();
                        distinct.len() == got.len() && got.len() == (n as usize).min(m.len())
                    };
                    all_members && len_ok
                }
                _ => false,
            };
            (!ok).then(|| format!("SRANDMEMBER: nycache {ours:?}, redis members {theirs:?}"))
        }
    }
}

fn show(cmd: &[Vec<u8>]) -> String {
    cmd.iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn replies_match_redis() {
    let Some(bin) = find_redis_server() else {
        let required = std::env::var("NYCACHE_REQUIRE_REDIS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "NYCACHE_REQUIRE_REDIS=1 but no redis-server was found on PATH (apt-get install redis-server)"
        );
        eprintln!(
            "SKIPPED: redis-server not found; install it (apt-get install redis-server) to run the differential test"
        );
        return;
    };
    let started = Instant::now();
    let (server, stream) = start_server(&bin);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let cache = Cache::open("max_memory=512MiB maintenance_ms=0").unwrap();
    let (mut total, mut divergences) = (0usize, Vec::new());
    // Coverage: which errors Redis gave, and the largest collections seen.
    let mut errors = std::collections::BTreeMap::<String, usize>::new();
    let mut largest = std::collections::BTreeMap::<String, i64>::new();
    for seed in SEEDS {
        cache.flush();
        writer.write_all(b"*1\r\n$8\r\nFLUSHALL\r\n").unwrap();
        assert_eq!(read_reply(&mut reader), Reply::Status("OK".into()));
        let mut rng = Rng(seed);
        let mut done = 0;
        while done < COMMANDS_PER_SEED {
            let mut out = Vec::new();
            let mut pending = Vec::new();
            for _ in 0..BATCH.min(COMMANDS_PER_SEED - done) {
                let (cmd, expect) = step(&mut rng, &cache);
                encode(&cmd, &mut out);
                pending.push((cmd, expect));
            }
            writer.write_all(&out).unwrap();
            for (cmd, expect) in pending {
                let theirs = read_reply(&mut reader);
                match &theirs {
                    Reply::Error(m) => *errors.entry(redis_category(m)).or_insert(0) += 1,
                    Reply::Int(n) => {
                        let name = String::from_utf8_lossy(&cmd[0]).into_owned();
                        if ["LLEN", "SCARD", "HLEN", "ZCARD"].contains(&name.as_str()) {
                            let top = largest.entry(name).or_insert(0);
                            *top = (*top).max(*n);
                        }
                    }
                    _ => {}
                }
                if let Some(why) = check(expect, theirs) {
                    divergences.push(format!("seed {seed} #{done}: {}\n     {why}", show(&cmd)));
                }
                done += 1;
            }
        }
        total += done;
        // The whole keyspace must agree at the end of each seed.
        for key in all_keys() {
            let exists = cache.exists(key.as_bytes()).unwrap();
            writer
                .write_all(format!("*2\r\n$6\r\nEXISTS\r\n${}\r\n{key}\r\n", key.len()).as_bytes())
                .unwrap();
            assert_eq!(
                read_reply(&mut reader),
                Reply::Int(exists as i64),
                "seed {seed}: key {key} exists on one side only"
            );
        }
    }
    drop(server);
    eprintln!(
        "redis differential test: {total} commands over {} seeds, {} divergences, {:.1} s",
        SEEDS.len(),
        divergences.len(),
        started.elapsed().as_secs_f64(),
    );
    eprintln!("errors by category: {errors:?}\nlargest collections: {largest:?}");
    assert!(total >= 100_000);
    for category in [
        "WrongType",
        "NotFound",
        "InvalidArgument",
        "NotANumber",
        "Overflow",
    ] {
        assert!(
            errors.get(category).is_some_and(|&n| n > 0),
            "the commands never hit a {category} error: {errors:?}"
        );
    }
    assert!(
        !errors.keys().any(|k| k.starts_with("unmapped")),
        "Redis errors without a category: {errors:?}"
    );
    for name in ["LLEN", "SCARD", "HLEN", "ZCARD"] {
        let top = largest.get(name).copied().unwrap_or(0);
        assert!(
            top > 128,
            "{name} never saw a collection past the compact threshold (largest {top})"
        );
    }
    assert!(
        divergences.is_empty(),
        "{} divergences from Redis; the first ones:\n{}",
        divergences.len(),
        divergences
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

//! `memhog <MiB>`: waits for a line on stdin (so a test can move it into a cgroup first), then
//! allocates and touches MiB mebibytes of anonymous memory, prints `touched`, and waits for
//! stdin to close. A test helper for memory pressure and OOM kills.

use std::io::{BufRead as _, Write as _};

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(64);
    let mut stdin = std::io::stdin().lock();
    let mut line = String::new();
    let _ = stdin.read_line(&mut line);
    let mut blocks: Vec<Vec<u8>> = Vec::with_capacity(mib);
    for _ in 0..mib {
        // Every page written, so every page is charged.
        blocks.push(vec![0x5a; 1 << 20]);
    }
    println!("touched {}", blocks.len());
    let _ = std::io::stdout().flush();
    let _ = stdin.read_line(&mut line);
    std::hint::black_box(&blocks);
}

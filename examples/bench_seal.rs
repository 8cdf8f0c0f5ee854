//! What age encryption adds to the work of a backup's stream, measured apart from the
//! network, the server and the sources, whose noise on a shared machine is larger than the
//! difference: the same bytes, in memory, through zstd into 8 MiB parts hashed as an upload
//! hashes them whatever the transport (the object's SHA-256 and CRC32, each part's CRC32; not
//! the SHA-256 a request's signature carries over plain HTTP only), in clear and sealed for
//! an age key, alternating pass by pass on one thread. A whole backup does this work and
//! more (the walk, the dump, the requests), so what encryption adds to it is at most the
//! share measured here. For `scripts/bench_encrypt.sh`. Not part of the app.
//!
//! bench_seal FILE MEBIBYTES ROUNDS
//! takes MEBIBYTES blocks of 1 MiB spread evenly over FILE (so that a short pass has the
//! file's mix of contents), prints one line a pass (round, mode, CPU seconds, bytes stored),
//! then the medians and the quartiles of the encrypted pass's cost over the clear one's
//! next to it.

use async_compression::Level;
use async_compression::tokio::bufread::ZstdEncoder;
use bytes::BytesMut;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use s3_backup::backup::encryption;
use s3_backup::backup::upload::{PartSource, Plain};
use s3_backup::settings::Identity;

/// The engine's part size for objects under 80 GB, and its zstd level.
const PART: usize = 8 * 1024 * 1024;
const LEVEL: i32 = 3;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, mebibytes, rounds] = args.as_slice() else {
        return Err("usage: bench_seal FILE MEBIBYTES ROUNDS".into());
    };
    let rounds: u32 = rounds.parse()?;
    if rounds == 0 {
        return Err("ROUNDS must be at least 1".into());
    }
    let data = sample(file, mebibytes.parse()?).await?;
    let recipients = Identity::generate().recipients();
    let (mut clear, mut sealed, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        // Which goes first alternates, so neither always follows the other.
        let order = if round % 2 == 1 {
            [false, true]
        } else {
            [true, false]
        };
        for encrypted in order {
            let before = cpu_seconds()?;
            let compressed = ZstdEncoder::with_quality(&data[..], Level::Precise(LEVEL));
            let stored = if encrypted {
                hash_parts(encryption::encrypt(compressed, &recipients)?).await?
            } else {
                hash_parts(Plain(compressed)).await?
            };
            let spent = cpu_seconds()? - before;
            let mode = if encrypted { "encrypted" } else { "clear" };
            println!("{round} {mode} {spent:.3} {stored}");
            if encrypted { &mut sealed } else { &mut clear }.push(spent);
        }
        if let (Some(one), Some(other)) = (clear.last(), sealed.last()) {
            ratios.push(other / one);
        }
    }
    let [clear, sealed] = [median(&mut clear), median(&mut sealed)];
    ratios.sort_by(f64::total_cmp);
    let quartile = |q: usize| ratios[(ratios.len() - 1) * q / 4] * 100.0 - 100.0;
    println!(
        "medians: clear {clear:.3} s, encrypted {sealed:.3} s ({:+.1} %); \
         encrypted over clear, pass by pass: median {:+.1} %, quartiles {:+.1} % to {:+.1} %",
        sealed / clear * 100.0 - 100.0,
        quartile(2),
        quartile(1),
        quartile(3),
    );
    Ok(())
}

/// `mebibytes` blocks of 1 MiB spread evenly over `file`, in order.
async fn sample(file: &str, mebibytes: u64) -> std::io::Result<Vec<u8>> {
    const BLOCK: u64 = 1024 * 1024;
    let mut input = tokio::fs::File::open(file).await?;
    let blocks = input.metadata().await?.len() / BLOCK;
    let mut data = Vec::new();
    for n in 0..mebibytes.min(blocks) {
        let at = n * blocks / mebibytes.min(blocks).max(1) * BLOCK;
        input.seek(std::io::SeekFrom::Start(at)).await?;
        (&mut input).take(BLOCK).read_to_end(&mut data).await?;
    }
    Ok(data)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Reads every part of `source` and hashes it as the upload does; the bytes stored.
async fn hash_parts(mut source: impl PartSource) -> std::io::Result<u64> {
    let mut object_sha = Sha256::new();
    let mut object_crc = crc32fast::Hasher::new();
    let mut stored = 0;
    let mut buf = BytesMut::with_capacity(PART);
    loop {
        let part = source.read_part(buf, PART).await?;
        if part.is_empty() {
            return Ok(stored);
        }
        object_sha.update(&part);
        object_crc.update(&part);
        std::hint::black_box(crc32fast::hash(&part));
        stored += part.len() as u64;
        buf = part
            .try_into_mut()
            .unwrap_or_else(|_| BytesMut::with_capacity(PART));
        buf.clear();
    }
}

/// CPU time this thread has run, from the scheduler's own count (nanoseconds).
fn cpu_seconds() -> Result<f64, Box<dyn std::error::Error>> {
    let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let nanos: u64 = schedstat
        .split_whitespace()
        .next()
        .ok_or("empty /proc/thread-self/schedstat")?
        .parse()?;
    Ok(nanos as f64 / 1e9)
}

//! The sample in `tests/data` is the one `scan_small.expected.csv` was made
//! from: each file's size, line and row counts and SHA-256 are pinned here
//! (the same digests `sha256sum tests/data/*` prints, listed in
//! `tests/data/README.md`), so a changed byte in the chain, the config or the
//! expected output fails this test before it can make `scan_sample` agree
//! with the wrong thing.

use vspread_analytics::scanner::csv::read_chain;
use vspread_core::config::Config;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data");

/// One sample file as it must be.
struct Pinned {
    name: &'static str,
    bytes: usize,
    lines: usize,
    sha256: &'static str,
}

const FILES: [Pinned; 3] = [
    Pinned {
        name: "chain_small.csv",
        bytes: 725_841,
        lines: 11_500,
        sha256: "639f57cf163bcd3ea1907a0b11939fe9da142add061f1a55b4963a82f387f054",
    },
    Pinned {
        name: "scan_small.toml",
        bytes: 990,
        lines: 25,
        sha256: "7acb75c93e0774067669ee64ad461f7e46e4c27dc29d8231a5d9f0b886e7629e",
    },
    Pinned {
        name: "scan_small.expected.csv",
        bytes: 49_869,
        lines: 301,
        sha256: "c72d6452c89ea9548ff3ab93f99584c8a8fc88c14bce8d117c3172d75beec140",
    },
];

fn read(name: &str) -> Vec<u8> {
    let path = format!("{DATA}/{name}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

#[test]
fn each_file_has_its_pinned_size_lines_and_sha256() {
    for f in &FILES {
        let bytes = read(f.name);
        assert_eq!(bytes.len(), f.bytes, "{}: size", f.name);
        assert_eq!(
            bytes.iter().filter(|&&b| b == b'\n').count(),
            f.lines,
            "{}: lines",
            f.name
        );
        assert_eq!(
            bytes.last(),
            Some(&b'\n'),
            "{}: ends with a newline",
            f.name
        );
        assert!(!bytes.contains(&b'\r'), "{}: LF line ends only", f.name);
        assert_eq!(hex(&sha256(&bytes)), f.sha256, "{}: SHA-256", f.name);
    }
}

#[test]
fn the_readme_lists_the_same_digests() {
    let readme = String::from_utf8(read("README.md")).unwrap();
    for f in &FILES {
        let line = format!(
            "| `{}` | {} | {} | `{}` |",
            f.name, f.bytes, f.lines, f.sha256
        );
        assert!(readme.contains(&line), "README.md lacks the row {line}");
    }
}

#[test]
fn the_row_counts_are_the_ones_the_expected_output_was_made_from() {
    let chain = read("chain_small.csv");
    let parsed = read_chain(&chain).unwrap();
    // 11,500 lines: the header and 11,499 rows, 7 of them bad.
    assert_eq!(parsed.rows, 11_499);
    assert_eq!(parsed.bad_rows.len(), 7);
    assert_eq!(parsed.chain.len(), 11_492);

    let config =
        Config::from_toml_str(&String::from_utf8(read("scan_small.toml")).unwrap()).unwrap();
    let expected = String::from_utf8(read("scan_small.expected.csv")).unwrap();
    let rows: Vec<&str> = expected.lines().skip(1).collect();
    // The config caps the output at 300 rows and the chain yields more, so
    // the expected output is exactly max_results long.
    assert_eq!(config.scanner.max_results, 300);
    assert_eq!(rows.len(), 300);
    // Every expected row names an underlying of the chain, and the chain has
    // the six underlyings the config's comment speaks of.
    let underlyings: std::collections::BTreeSet<&str> = std::str::from_utf8(&chain)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(underlyings.len(), 6, "{underlyings:?}");
    for row in &rows {
        let name = row.split(',').next().unwrap();
        assert!(underlyings.contains(name), "{row}");
    }
}

#[test]
fn the_digest_is_sha256() {
    // FIPS 180-4's examples: the empty message, "abc", and the two-block
    // 448-bit message.
    assert_eq!(
        hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(&sha256(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    // A message of exactly one block's length needs a second block for its
    // padding.
    assert_eq!(
        hex(&sha256(&[b'a'; 64])),
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"
    );
}

/// SHA-256 (FIPS 180-4), written out so the test needs no new dependency.
fn sha256(message: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    // Padding: a 1 bit, zeros to 56 mod 64 bytes, then the length in bits.
    let mut data = message.to_vec();
    data.push(0x80);
    while data.len() % 64 != 56 {
        data.push(0);
    }
    data.extend_from_slice(&((message.len() as u64) * 8).to_be_bytes());

    for block in data.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

//! Merkle tree hashing and proofs as defined in RFC 6962 §2.1 and RFC 9162
//! §2.1. The audit log's signed checkpoints are tree heads computed over every
//! event hash in feed order. Auditors keep those checkpoints outside the
//! system; an inclusion proof shows that one event hash is covered by a tree
//! head, and a consistency proof shows that a later tree head extends an
//! earlier one, so history recorded before a checkpoint cannot be rewritten
//! without the change being detected.

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Domain-separation prefix for leaf hashes (RFC 6962 §2.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix for interior node hashes (RFC 6962 §2.1).
const NODE_PREFIX: u8 = 0x01;

/// Hashes one leaf: `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([LEAF_PREFIX])
        .chain_update(data)
        .finalize()
        .into()
}

/// Hashes two child nodes into their parent: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([NODE_PREFIX])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The root of the empty tree: SHA-256 of the empty string.
fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly smaller than `n`. Requires `n >= 2`.
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Computes the Merkle Tree Hash (RFC 6962 §2.1) of a list of leaf hashes.
///
/// `leaves` must already be leaf hashes (see [`leaf_hash`]). The empty tree
/// hashes to SHA-256 of the empty string. The computation is iterative: it
/// hashes each node once and keeps only a stack of completed perfect subtree
/// roots (at most one per bit of the length), which are merged right to left
/// at the end, exactly as the recursive definition splits an unbalanced tree.
pub fn root(leaves: &[Hash]) -> Hash {
    let mut stack: Vec<Hash> = Vec::with_capacity(usize::BITS as usize);
    for (i, leaf) in leaves.iter().enumerate() {
        let mut node = *leaf;
        // After appending leaf `i`, the number of perfect subtrees that
        // become complete equals the number of trailing zero bits of `i + 1`.
        for _ in 0..(i + 1).trailing_zeros() {
            match stack.pop() {
                Some(left) => node = node_hash(&left, &node),
                None => break,
            }
        }
        stack.push(node);
    }
    match stack.split_last() {
        Some((last, rest)) => rest
            .iter()
            .rev()
            .fold(*last, |acc, left| node_hash(left, &acc)),
        None => empty_root(),
    }
}

/// Builds the inclusion proof (audit path, RFC 6962 §2.1.1 `PATH`) for the
/// leaf at `index` in the tree over `leaves`.
///
/// The proof lists sibling subtree roots from the leaf upwards. Returns
/// `None` when `index` is not smaller than `leaves.len()`.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut proof = Vec::new();
    let (mut lo, mut hi, mut m) = (0, leaves.len(), index);
    // Walk from the root down to the leaf, collecting siblings; the proof is
    // ordered leaf-first, so reverse at the end.
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if m < k {
            proof.push(root(&leaves[lo + k..hi]));
            hi = lo + k;
        } else {
            proof.push(root(&leaves[lo..lo + k]));
            lo += k;
            m -= k;
        }
    }
    proof.reverse();
    Some(proof)
}

/// Checks an inclusion proof with the algorithm of RFC 9162 §2.1.3.2.
///
/// Returns `true` when `proof` shows that `leaf` (a leaf hash) is the entry
/// at `index` in the tree of `size` leaves whose root is `root`. `size` and
/// `root` must be taken from the same tree head.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let mut f_n = index;
    let mut s_n = size - 1;
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && r == *root
}

/// Builds the consistency proof (RFC 6962 §2.1.2 `PROOF`/`SUBPROOF`) between
/// the tree over the first `old_size` entries of `leaves` and the tree over
/// all of `leaves`.
///
/// Returns `None` when `old_size` is 0 or larger than `leaves.len()`, and an
/// empty proof when `old_size == leaves.len()`.
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Option<Vec<Hash>> {
    if old_size == 0 || old_size > leaves.len() {
        return None;
    }
    let mut proof = Vec::new();
    let (mut lo, mut hi, mut m) = (0, leaves.len(), old_size);
    // `whole_old_tree` is SUBPROOF's flag `b`: true while the subtree being
    // examined still starts at the old tree's root, whose hash the verifier
    // already holds.
    let mut whole_old_tree = true;
    while m != hi - lo {
        let k = split_point(hi - lo);
        if m <= k {
            proof.push(root(&leaves[lo + k..hi]));
            hi = lo + k;
        } else {
            proof.push(root(&leaves[lo..lo + k]));
            lo += k;
            m -= k;
            whole_old_tree = false;
        }
    }
    if !whole_old_tree {
        proof.push(root(&leaves[lo..hi]));
    }
    proof.reverse();
    Some(proof)
}

/// Checks a consistency proof with the algorithm of RFC 9162 §2.1.4.2.
///
/// Returns `true` when `proof` shows that the tree of `new_size` leaves with
/// root `new_root` extends the tree of `old_size` leaves with root
/// `old_root`. Equal sizes require an empty proof and equal roots. An
/// `old_size` of 0 or larger than `new_size` is rejected, matching
/// [`consistency_proof`], which produces no proof for those sizes.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size == 0 || old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if proof.is_empty() {
        return false;
    }
    // When the old tree is a perfect subtree of the new one its root is the
    // implicit first element of the path.
    let (first, rest) = if old_size.is_power_of_two() {
        (*old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return false,
        }
    };
    let mut f_n = old_size - 1;
    let mut s_n = new_size - 1;
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let mut f_r = first;
    let mut s_r = first;
    for c in rest {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && f_r == *old_root && s_r == *new_root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hash {
        let bytes = hex::decode(s).expect("valid hex");
        bytes.try_into().expect("32 bytes")
    }

    fn hs(list: &[&str]) -> Vec<Hash> {
        list.iter().map(|s| h(s)).collect()
    }

    fn flip(hash: &Hash, byte: usize, bit: u8) -> Hash {
        let mut out = *hash;
        out[byte] ^= 1 << bit;
        out
    }

    /// Straightforward recursive MTH from RFC 6962 §2.1.
    fn reference_root(d: &[Hash]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => d[0],
            n => {
                let k = split_point(n);
                node_hash(&reference_root(&d[..k]), &reference_root(&d[k..]))
            }
        }
    }

    /// Recursive PATH from RFC 6962 §2.1.1.
    fn reference_path(m: usize, d: &[Hash]) -> Vec<Hash> {
        let n = d.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = split_point(n);
        let (mut path, sibling) = if m < k {
            (reference_path(m, &d[..k]), reference_root(&d[k..]))
        } else {
            (reference_path(m - k, &d[k..]), reference_root(&d[..k]))
        };
        path.push(sibling);
        path
    }

    /// Recursive SUBPROOF from RFC 6962 §2.1.2.
    fn reference_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b {
                Vec::new()
            } else {
                vec![reference_root(d)]
            };
        }
        let k = split_point(n);
        let (mut proof, sibling) = if m <= k {
            (reference_subproof(m, &d[..k], b), reference_root(&d[k..]))
        } else {
            (
                reference_subproof(m - k, &d[k..], false),
                reference_root(&d[..k]),
            )
        };
        proof.push(sibling);
        proof
    }

    /// Sizes or indexes close to `x` in value or in bit pattern, used as
    /// wrong inputs: off by one or two, one bit flipped, doubled, halved and
    /// the neighbouring powers of two.
    fn nearby(x: usize) -> Vec<usize> {
        let mut out = vec![
            x + 1,
            x + 2,
            x ^ 1,
            x ^ 2,
            x ^ 4,
            x * 2,
            x / 2,
            x.next_power_of_two(),
            x.next_power_of_two() / 2,
            0,
        ];
        out.extend(x.checked_sub(1));
        out.extend(x.checked_sub(2));
        out.sort_unstable();
        out.dedup();
        out
    }

    fn sample_leaves(n: usize) -> Vec<Hash> {
        (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    // Test data from transparency-dev/merkle: testonly/constants.go
    // (LeafInputs, NodeHashes, RootHashes) and proof/verify_test.go
    // (inclusionProofs, consistencyProofs).

    const LEAF_INPUTS: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    /// NodeHashes(): level 0 (leaf hashes), level 1, level 2, level 3.
    const NODE_HASHES: [&[&str]; 4] = [
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        ],
        &[
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ],
        &[
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
        &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
    ];

    /// RootHashes(): roots for tree sizes 0..=8.
    const ROOT_HASHES: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// inclusionProofs from proof/verify_test.go, as (0-based index, size,
    /// proof). The source lists 1-based leaf numbers.
    const INCLUSION_VECTORS: [(usize, usize, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    /// consistencyProofs from proof/verify_test.go, as (old size, new size,
    /// proof).
    const CONSISTENCY_VECTORS: [(usize, usize, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];

    fn vector_leaves() -> Vec<Hash> {
        LEAF_INPUTS
            .iter()
            .map(|s| leaf_hash(&hex::decode(s).expect("valid hex")))
            .collect()
    }

    #[test]
    fn hasher_vectors() {
        // rfc6962/rfc6962_test.go in transparency-dev/merkle.
        assert_eq!(
            root(&[]),
            h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(
            leaf_hash(b""),
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        );
        assert_eq!(
            leaf_hash(b"L123456"),
            h("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
        );
    }

    #[test]
    fn leaf_and_node_hash_vectors() {
        let leaves = vector_leaves();
        assert_eq!(leaves, hs(NODE_HASHES[0]));
        // Every complete subtree listed in NodeHashes().
        for (level, nodes) in NODE_HASHES.iter().enumerate() {
            let width = 1usize << level;
            for (i, want) in nodes.iter().enumerate() {
                assert_eq!(
                    root(&leaves[i * width..(i + 1) * width]),
                    h(want),
                    "level {level} node {i}"
                );
            }
        }
        // Interior nodes are node_hash of their two children.
        for level in 1..NODE_HASHES.len() {
            let below = hs(NODE_HASHES[level - 1]);
            for (i, want) in hs(NODE_HASHES[level]).iter().enumerate() {
                assert_eq!(node_hash(&below[2 * i], &below[2 * i + 1]), *want);
            }
        }
    }

    #[test]
    fn root_vectors() {
        let leaves = vector_leaves();
        for (size, want) in ROOT_HASHES.iter().enumerate() {
            assert_eq!(root(&leaves[..size]), h(want), "size {size}");
        }
    }

    #[test]
    fn inclusion_vectors() {
        let leaves = vector_leaves();
        for (index, size, want) in INCLUSION_VECTORS {
            let want = hs(want);
            let tree = &leaves[..size];
            let got = inclusion_proof(tree, index).expect("index in range");
            assert_eq!(got, want, "index {index} size {size}");
            let root_hash = h(ROOT_HASHES[size]);
            let (i, s) = (index as u64, size as u64);
            assert!(verify_inclusion(&leaves[index], i, s, &want, &root_hash));

            // Corruptions used by verify_test.go's corruptInclusionProof.
            let wrong_index = [i.wrapping_sub(1), i + 1, i ^ 2];
            for wi in wrong_index {
                assert!(!verify_inclusion(&leaves[index], wi, s, &want, &root_hash));
            }
            for ws in [s * 2, s / 2] {
                assert!(!verify_inclusion(&leaves[index], i, ws, &want, &root_hash));
            }
            let wrong_leaf = leaf_hash(b"WrongLeaf");
            assert!(!verify_inclusion(&wrong_leaf, i, s, &want, &root_hash));
            let empty = root(&[]);
            assert!(!verify_inclusion(&leaves[index], i, s, &want, &empty));
            let mut longer = want.clone();
            longer.push(root_hash);
            assert!(!verify_inclusion(&leaves[index], i, s, &longer, &root_hash));
            let mut prefixed = vec![root_hash];
            prefixed.extend_from_slice(&want);
            assert!(!verify_inclusion(
                &leaves[index],
                i,
                s,
                &prefixed,
                &root_hash
            ));
            for j in 0..want.len() {
                let mut bad = want.clone();
                bad[j] = flip(&bad[j], 0, 3);
                assert!(!verify_inclusion(&leaves[index], i, s, &bad, &root_hash));
            }
            if let Some((_, shorter)) = want.split_last() {
                assert!(!verify_inclusion(&leaves[index], i, s, shorter, &root_hash));
            }
        }
    }

    #[test]
    fn consistency_vectors() {
        let leaves = vector_leaves();
        for (m, n, want) in CONSISTENCY_VECTORS {
            let want = hs(want);
            let got = consistency_proof(&leaves[..n], m).expect("sizes in range");
            assert_eq!(got, want, "{m} -> {n}");
            let r1 = h(ROOT_HASHES[m]);
            let r2 = h(ROOT_HASHES[n]);
            let (m, n) = (m as u64, n as u64);
            assert!(verify_consistency(m, n, &r1, &r2, &want));
            if want.is_empty() {
                continue;
            }

            // Corruptions used by verify_test.go's corruptConsistencyProof.
            for (wm, wn) in [(m - 1, n), (m + 1, n), (m ^ 2, n), (m, n * 2), (m, n / 2)] {
                assert!(!verify_consistency(wm, wn, &r1, &r2, &want), "{wm} {wn}");
            }
            assert!(!verify_consistency(m, n, &r2, &r1, &want));
            assert!(!verify_consistency(m, n, &flip(&r1, 0, 0), &r2, &want));
            assert!(!verify_consistency(m, n, &r1, &flip(&r2, 0, 0), &want));
            assert!(!verify_consistency(m, n, &r1, &r2, &[]));
            for extra in [r1, r2] {
                let mut longer = want.clone();
                longer.push(extra);
                assert!(!verify_consistency(m, n, &r1, &r2, &longer));
            }
            for extra in [r1, r2, want[0]] {
                let mut prefixed = vec![extra];
                prefixed.extend_from_slice(&want);
                assert!(!verify_consistency(m, n, &r1, &r2, &prefixed));
            }
            assert!(!verify_consistency(m, n, &r1, &r2, &want[..want.len() - 1]));
            for j in 0..want.len() {
                let mut bad = want.clone();
                bad[j] = flip(&bad[j], 0, 4);
                assert!(!verify_consistency(m, n, &r1, &r2, &bad));
            }
        }
    }

    /// Proof shapes from proof/proof_test.go (TestInclusion and
    /// TestConsistency), expressed with the NodeHashes() of the 8-leaf test
    /// tree. There `rehash` marks nodes that are combined into the hash of a
    /// missing parent; in these trees that is always node_hash(i, j).
    #[test]
    fn proof_shapes_from_reference_node_ids() {
        let leaves = vector_leaves();
        let n0 = hs(NODE_HASHES[0]);
        let n1 = hs(NODE_HASHES[1]);
        let n2 = hs(NODE_HASHES[2]);
        let (a, b, c, d, e, f, j) = (n0[0], n0[1], n0[2], n0[3], n0[4], n0[5], n0[6]);
        let (g, hh, i) = (n1[0], n1[1], n1[2]);
        let (k, l) = (n2[0], n2[1]);
        let ij = node_hash(&i, &j);

        let inclusion: [(usize, usize, Vec<Hash>); 14] = [
            (1, 0, vec![]),
            (2, 0, vec![b]),
            (2, 1, vec![a]),
            (3, 1, vec![a, c]),
            (7, 0, vec![b, hh, ij]),
            (7, 1, vec![a, hh, ij]),
            (7, 2, vec![d, g, ij]),
            (7, 3, vec![c, g, ij]),
            (7, 4, vec![f, j, k]),
            (7, 5, vec![e, j, k]),
            (7, 6, vec![i, k]),
            (4, 2, vec![d, g]),
            (5, 3, vec![c, g, e]),
            (6, 3, vec![c, g, i]),
        ];
        for (size, index, want) in inclusion {
            assert_eq!(
                inclusion_proof(&leaves[..size], index),
                Some(want),
                "size {size} index {index}"
            );
        }
        assert_eq!(inclusion_proof(&leaves[..6], 4), Some(vec![f, k]));
        assert_eq!(inclusion_proof(&leaves[..0], 0), None);
        assert_eq!(inclusion_proof(&leaves[..1], 2), None);
        assert_eq!(inclusion_proof(&leaves[..7], 8), None);

        let consistency: [(usize, usize, Vec<Hash>); 15] = [
            (1, 2, vec![b]),
            (1, 4, vec![b, hh]),
            (1, 6, vec![b, hh, i]),
            (2, 3, vec![c]),
            (2, 8, vec![hh, l]),
            (3, 7, vec![c, d, g, ij]),
            (4, 7, vec![ij]),
            (5, 7, vec![e, f, j, k]),
            (6, 7, vec![i, j, k]),
            (7, 8, vec![j, n0[7], i, k]),
            (2, 4, vec![hh]),
            (3, 5, vec![c, d, g, e]),
            (3, 6, vec![c, d, g, i]),
            (4, 6, vec![i]),
            (1, 7, vec![b, hh, ij]),
        ];
        for (m, n, want) in consistency {
            assert_eq!(consistency_proof(&leaves[..n], m), Some(want), "{m} -> {n}");
        }
        for size in 1..=8 {
            assert_eq!(consistency_proof(&leaves[..size], size), Some(vec![]));
        }
        assert_eq!(consistency_proof(&leaves[..8], 9), None);
        assert_eq!(consistency_proof(&leaves[..3], 0), None);
    }

    #[test]
    fn root_matches_recursive_definition() {
        let leaves = sample_leaves(130);
        for n in 0..=130 {
            assert_eq!(root(&leaves[..n]), reference_root(&leaves[..n]), "n {n}");
        }
    }

    #[test]
    fn inclusion_proofs_exhaustive() {
        const MAX: usize = 70;
        let leaves = sample_leaves(2 * MAX + 2);
        let roots: Vec<Hash> = (0..=2 * MAX + 2).map(|s| root(&leaves[..s])).collect();
        for n in 1..=MAX {
            let tree = &leaves[..n];
            let size = n as u64;
            assert_eq!(inclusion_proof(tree, n), None);
            for index in 0..n {
                let proof = inclusion_proof(tree, index).expect("index in range");
                assert_eq!(proof, reference_path(index, tree), "n {n} index {index}");
                let leaf = &leaves[index];
                let i = index as u64;
                assert!(verify_inclusion(leaf, i, size, &proof, &roots[n]));

                // Any single flipped bit in any proof element.
                for (j, byte, bit) in (0..proof.len()).flat_map(|j| [(j, 0, 0), (j, 31, 7)]) {
                    let mut bad = proof.clone();
                    bad[j] = flip(&bad[j], byte, bit);
                    assert!(!verify_inclusion(leaf, i, size, &bad, &roots[n]));
                }
                // Other indexes in the same tree.
                for wrong in nearby(index).into_iter().filter(|&w| w != index) {
                    let w = wrong as u64;
                    assert!(!verify_inclusion(leaf, w, size, &proof, &roots[n]));
                }
                // Other tree heads (a size with its own root).
                for other in nearby(n).into_iter().filter(|&s| s != n && s > index) {
                    let s = other as u64;
                    assert!(!verify_inclusion(leaf, i, s, &proof, &roots[other]));
                }
                // Wrong root or leaf.
                let bad_root = flip(&roots[n], 7, 2);
                assert!(!verify_inclusion(leaf, i, size, &proof, &bad_root));
                assert!(!verify_inclusion(leaf, i, size, &proof, &roots[0]));
                let other_leaf = leaves[index + 1];
                assert!(!verify_inclusion(&other_leaf, i, size, &proof, &roots[n]));
                // Extra or missing elements.
                let mut longer = proof.clone();
                longer.push(roots[n]);
                assert!(!verify_inclusion(leaf, i, size, &longer, &roots[n]));
                if let Some((_, shorter)) = proof.split_last() {
                    assert!(!verify_inclusion(leaf, i, size, shorter, &roots[n]));
                }
            }
        }
    }

    #[test]
    fn consistency_proofs_exhaustive() {
        const MAX: usize = 70;
        let leaves = sample_leaves(2 * MAX + 2);
        let roots: Vec<Hash> = (0..=2 * MAX + 2).map(|s| root(&leaves[..s])).collect();
        for n in 1..=MAX {
            let tree = &leaves[..n];
            let new_size = n as u64;
            assert_eq!(consistency_proof(tree, 0), None);
            assert_eq!(consistency_proof(tree, n + 1), None);
            for m in 1..=n {
                let proof = consistency_proof(tree, m).expect("sizes in range");
                assert_eq!(proof, reference_subproof(m, tree, true), "{m} -> {n}");
                let old_size = m as u64;
                let (r1, r2) = (&roots[m], &roots[n]);
                assert!(verify_consistency(old_size, new_size, r1, r2, &proof));
                assert_eq!(proof.is_empty(), m == n);

                // Any single flipped bit in any proof element.
                for (j, byte, bit) in (0..proof.len()).flat_map(|j| [(j, 0, 0), (j, 31, 7)]) {
                    let mut bad = proof.clone();
                    bad[j] = flip(&bad[j], byte, bit);
                    assert!(!verify_consistency(old_size, new_size, r1, r2, &bad));
                }
                // Wrong roots.
                let bad1 = flip(r1, 5, 1);
                let bad2 = flip(r2, 5, 1);
                assert!(!verify_consistency(old_size, new_size, &bad1, r2, &proof));
                assert!(!verify_consistency(old_size, new_size, r1, &bad2, &proof));
                if m != n {
                    assert!(!verify_consistency(old_size, new_size, r2, r1, &proof));
                }
                // Other old tree heads (a size with its own root).
                for other in nearby(m)
                    .into_iter()
                    .filter(|&s| s != m && s >= 1 && s <= n)
                {
                    let s = other as u64;
                    assert!(
                        !verify_consistency(s, new_size, &roots[other], r2, &proof),
                        "{m} -> {n} accepted as {other} -> {n}"
                    );
                }
                // Other new tree heads.
                for other in nearby(n).into_iter().filter(|&s| s != n && s >= m) {
                    let s = other as u64;
                    assert!(
                        !verify_consistency(old_size, s, r1, &roots[other], &proof),
                        "{m} -> {n} accepted as {m} -> {other}"
                    );
                }
                // Extra or missing elements.
                let mut longer = proof.clone();
                longer.push(*r2);
                assert!(!verify_consistency(old_size, new_size, r1, r2, &longer));
                if let Some((_, shorter)) = proof.split_last() {
                    assert!(!verify_consistency(old_size, new_size, r1, r2, shorter));
                }
            }
        }
    }

    #[test]
    fn consistency_edge_cases() {
        let leaves = sample_leaves(4);
        let r1 = root(&leaves[..1]);
        let r4 = root(&leaves[..4]);
        let empty = root(&[]);
        // Equal sizes: empty proof and equal roots only.
        assert!(verify_consistency(4, 4, &r4, &r4, &[]));
        assert!(!verify_consistency(4, 4, &r4, &r1, &[]));
        assert!(!verify_consistency(4, 4, &r4, &r4, &[r4]));
        // Old size 0 and shrinking trees are rejected.
        assert!(!verify_consistency(0, 0, &empty, &empty, &[]));
        assert!(!verify_consistency(0, 4, &empty, &r4, &[]));
        assert!(!verify_consistency(4, 1, &r4, &r1, &[]));
        // Inclusion with an index outside the tree.
        assert!(!verify_inclusion(&leaves[0], 1, 1, &[], &leaves[0]));
        assert!(!verify_inclusion(&leaves[0], 0, 0, &[], &empty));
        assert!(verify_inclusion(&leaves[0], 0, 1, &[], &leaves[0]));
    }

    #[test]
    fn proofs_over_a_hundred_thousand_leaves() {
        const N: usize = 100_003;
        // Arbitrary distinct 32-byte values stand in for leaf hashes.
        let leaves: Vec<Hash> = (0..N as u64)
            .map(|i| {
                let mut leaf = [0u8; 32];
                leaf[..8].copy_from_slice(&i.to_be_bytes());
                leaf
            })
            .collect();
        let full = root(&leaves);

        let index = 76_543;
        let proof = inclusion_proof(&leaves, index).expect("index in range");
        // A path is at most ceil(log2(N)) = 17 hashes long.
        assert!(proof.len() <= 17);
        assert!(verify_inclusion(
            &leaves[index],
            index as u64,
            N as u64,
            &proof,
            &full
        ));

        let old = 33_333;
        let old_root = root(&leaves[..old]);
        let proof = consistency_proof(&leaves, old).expect("sizes in range");
        assert!(verify_consistency(
            old as u64, N as u64, &old_root, &full, &proof
        ));
        let bad = flip(&proof[proof.len() / 2], 0, 0);
        let mut tampered = proof.clone();
        tampered[proof.len() / 2] = bad;
        assert!(!verify_consistency(
            old as u64, N as u64, &old_root, &full, &tampered
        ));
    }
}

//! RFC 6962 (Certificate Transparency) Merkle trees over the ballots: leaves
//! `SHA-256(0x00 || tracking_code || ballot_hash)` (the tracking code's ASCII
//! bytes, then the ballot hash's 32 raw bytes) in tracking-code order, nodes
//! `SHA-256(0x01 || left || right)`. Built bottom-up with an odd last node
//! carried up unchanged, which gives exactly RFC 6962's tree.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The leaf hash of one ballot.
pub fn leaf_hash(tracking_code: &str, ballot_hash_hex: &str) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(tracking_code.as_bytes());
    let mut raw = [0u8; 32];
    if hex::decode_to_slice(ballot_hash_hex, &mut raw).is_ok() {
        h.update(raw);
    } else {
        // Never the case for stored ballots; hashing the text keeps this total.
        h.update(ballot_hash_hex.as_bytes());
    }
    h.finalize().into()
}

/// The hash of raw leaf data (RFC 6962's MTH of one entry).
pub fn hash_leaf_data(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

pub fn hash_children(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Every level of a tree, leaves first; the root is the last level's node.
#[derive(Debug, Clone)]
pub struct MerkleTree {
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    pub fn from_leaves(leaves: Vec<Hash>) -> Self {
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().map(Vec::as_slice).unwrap_or_default();
            let mut above = Vec::with_capacity(below.len().div_ceil(2));
            for pair in below.chunks(2) {
                // An odd last node is carried up unchanged.
                above.push(match pair {
                    [l, r] => hash_children(l, r),
                    _ => pair[0],
                });
            }
            levels.push(above);
        }
        Self { levels }
    }

    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The root; the empty tree's root is SHA-256 of nothing.
    pub fn root(&self) -> Hash {
        match self.levels.last().and_then(|l| l.first()) {
            Some(root) if !self.is_empty() => *root,
            _ => Sha256::digest([]).into(),
        }
    }

    /// RFC 6962 audit path for leaf `index`, nearest sibling first.
    pub fn proof(&self, index: usize) -> Option<Vec<Hash>> {
        if index >= self.len() {
            return None;
        }
        let mut path = Vec::new();
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = i ^ 1;
            if sibling < level.len() {
                path.push(level[sibling]);
            }
            i /= 2;
        }
        Some(path)
    }
}

/// The root of leaves given one at a time, in O(log n) memory: complete
/// subtrees are merged as soon as two of one size exist, and the rest are
/// folded right to left at the end, which is RFC 6962's split at the
/// largest power of two. Used to check a tally's ballots against the root
/// fixed at close without holding a million leaves.
#[derive(Debug, Default, Clone)]
pub struct RootBuilder {
    /// Complete subtrees (leaf count, hash), largest first.
    stack: Vec<(u64, Hash)>,
    len: u64,
}

impl RootBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut node = (1u64, leaf);
        while let Some(&(size, left)) = self.stack.last() {
            if size != node.0 {
                break;
            }
            self.stack.pop();
            node = (size * 2, hash_children(&left, &node.1));
        }
        self.stack.push(node);
        self.len += 1;
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The same root as [`MerkleTree::root`] over the same leaves.
    pub fn root(&self) -> Hash {
        let mut nodes = self.stack.iter().rev();
        let Some(&(_, mut acc)) = nodes.next() else {
            return Sha256::digest([]).into();
        };
        for (_, left) in nodes {
            acc = hash_children(left, &acc);
        }
        acc
    }
}

/// Verifies an audit path (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = hash_children(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = hash_children(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && &r == root
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The leaf data of the Certificate Transparency reference tests.
    fn ct_leaves() -> Vec<Vec<u8>> {
        vec![
            vec![],
            vec![0x00],
            vec![0x10],
            vec![0x20, 0x21],
            vec![0x30, 0x31],
            vec![0x40, 0x41, 0x42, 0x43],
            vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            vec![
                0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                0x6e, 0x6f,
            ],
        ]
    }

    /// RFC 6962's recursive definition, for comparison.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let k = n.next_power_of_two() / 2;
                hash_children(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_match_rfc6962_recursion_and_every_proof_verifies() {
        for n in 0..70usize {
            let leaves: Vec<Hash> = (0..n).map(|i| hash_leaf_data(&i.to_be_bytes())).collect();
            let tree = MerkleTree::from_leaves(leaves.clone());
            assert_eq!(tree.root(), mth(&leaves), "size {n}");
            for (i, leaf) in leaves.iter().enumerate() {
                let proof = tree.proof(i).unwrap();
                assert!(
                    verify_inclusion(leaf, i as u64, n as u64, &proof, &tree.root()),
                    "size {n} leaf {i}"
                );
                if n > 1 {
                    assert!(!verify_inclusion(
                        leaf,
                        ((i + 1) % n) as u64,
                        n as u64,
                        &proof,
                        &tree.root()
                    ));
                }
            }
        }
    }

    #[test]
    fn the_streaming_root_is_the_tree_root_at_every_size() {
        let mut b = RootBuilder::new();
        assert_eq!(b.root(), MerkleTree::from_leaves(Vec::new()).root());
        let mut leaves = Vec::new();
        for i in 0..130usize {
            let leaf = hash_leaf_data(&i.to_be_bytes());
            leaves.push(leaf);
            b.push(leaf);
            assert_eq!(b.root(), mth(&leaves), "size {}", i + 1);
        }
        assert_eq!(b.len(), 130);
    }

    #[test]
    fn the_ct_reference_tree_of_eight_leaves_has_its_published_root() {
        let leaves: Vec<Hash> = ct_leaves().iter().map(|d| hash_leaf_data(d)).collect();
        let tree = MerkleTree::from_leaves(leaves);
        assert_eq!(
            hex::encode(tree.root()),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        );
        // The published audit path of leaf 0 in that tree.
        let path: Vec<String> = tree.proof(0).unwrap().iter().map(hex::encode).collect();
        assert_eq!(
            path,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
            ]
        );
    }
}

//! The bulletin board: tracking codes with their ballot hashes, the Merkle
//! root fixed at close, and inclusion proofs for receipts.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::repo;
use crate::crypto::merkle::{leaf_hash, MerkleTree};
use crate::db::DbConnection;
use crate::elections::ElectionId;
use crate::error::AppError;

/// A closed election's tree and its leaves' tracking codes, in order.
pub struct ClosedBoard {
    pub codes: Vec<String>,
    pub tree: MerkleTree,
}

impl ClosedBoard {
    pub fn load(conn: &mut DbConnection, id: ElectionId) -> Result<Self, AppError> {
        let rows = repo::all_leaves(conn, id)?;
        let leaves = rows
            .iter()
            .map(|(code, hash)| leaf_hash(code, hash))
            .collect();
        Ok(Self {
            codes: rows.into_iter().map(|(code, _)| code).collect(),
            tree: MerkleTree::from_leaves(leaves),
        })
    }

    pub fn root_hex(&self) -> String {
        hex::encode(self.tree.root())
    }
}

/// The RFC 6962 root over an election's ballots, as stored at close.
pub fn merkle_root_of(conn: &mut DbConnection, id: ElectionId) -> Result<String, AppError> {
    Ok(ClosedBoard::load(conn, id)?.root_hex())
}

/// Trees of closed elections (immutable once closed), built on first use.
#[derive(Default)]
pub struct BoardCache {
    map: RwLock<HashMap<ElectionId, Arc<ClosedBoard>>>,
}

impl BoardCache {
    pub fn get_or_load(
        &self,
        conn: &mut DbConnection,
        id: ElectionId,
    ) -> Result<Arc<ClosedBoard>, AppError> {
        if let Some(b) = self.map.read().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(b);
        }
        let board = Arc::new(ClosedBoard::load(conn, id)?);
        if let Ok(mut m) = self.map.write() {
            // A few large trees at most: proofs are asked for around a close.
            if m.len() >= 8 {
                m.clear();
            }
            m.insert(id, board.clone());
        }
        Ok(board)
    }
}

//! Directory trees on disk: random ones to back up, setting their times, and a snapshot of
//! everything a backup must bring back (type, mode, mtime, content or link target) to
//! compare a restore with.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use sha2::{Digest, Sha256};

pub const MIB: usize = 1024 * 1024;

/// `total` bytes of random (incompressible) data in files of at most 4 MiB, in two
/// directories.
pub fn random_tree(root: &Path, total: usize) {
    use rand::RngCore;
    std::fs::create_dir_all(root.join("scans")).expect("mkdir");
    let mut rng = rand::thread_rng();
    let mut left = total;
    let mut index = 0;
    while left > 0 {
        let size = left.min(4 * MIB - 17 * index);
        let mut bytes = vec![0u8; size];
        rng.fill_bytes(&mut bytes);
        let dir = if index % 2 == 0 { "scans" } else { "" };
        std::fs::write(root.join(dir).join(format!("file-{index}.bin")), bytes).expect("write");
        left -= size;
        index += 1;
    }
}

pub fn set_mtime(path: &Path, seconds: u64) {
    let time = UNIX_EPOCH + Duration::from_secs(seconds);
    std::fs::File::open(path)
        .expect("open")
        .set_modified(time)
        .expect("set mtime");
}

/// Every entry of a tree: type, mode, mtime and content or link target.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut entries = BTreeMap::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in std::fs::read_dir(root.join(&relative)).expect("read dir") {
            let entry = entry.expect("entry");
            let name = relative.join(entry.file_name());
            let path = root.join(&name);
            let metadata = std::fs::symlink_metadata(&path).expect("metadata");
            let what = if metadata.file_type().is_symlink() {
                format!("link -> {:?}", std::fs::read_link(&path).expect("link"))
            } else if metadata.is_dir() {
                pending.push(name.clone());
                "dir".to_owned()
            } else {
                let content = std::fs::read(&path).expect("read");
                format!("file {}", hex::encode(Sha256::digest(content)))
            };
            let mode = if metadata.file_type().is_symlink() {
                0
            } else {
                metadata.mode() & 0o7777
            };
            entries.insert(
                name,
                format!("{what} mode {mode:o} mtime {}", metadata.mtime()),
            );
        }
    }
    entries
}

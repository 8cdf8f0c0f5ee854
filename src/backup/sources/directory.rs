//! A directory as a tar stream (paths relative to the directory, so `tar -x -C DEST`
//! restores it). A blocking thread walks the tree depth first and reads files in large
//! chunks that go to the compressor as they are, without copies; tokio-tar writes the headers
//! (long names included). A file that shrinks while read is padded and reported, like GNU tar
//! does. The entries and bytes of file content written are counted for the manifest. Like
//! `tar --one-file-system`, the walk stays on the directory's filesystem: a mount point below
//! it is archived empty and named in the run's log (so `/` never takes in `/proc` or `/dev`).
//! The paths the job leaves out (the application's data directory) are never archived, also
//! named in the log.

use crate::lang::Message;
use std::ffi::OsString;
use std::fs::Metadata;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio_tar::{Builder, EntryType, Header, HeaderMode};
use tokio_util::io::StreamReader;

use super::{Facts, SourceStream};
use crate::backup::error::BackupError;
use crate::backup::job::SourceSpec;
use crate::backup::progress::{LogLevel, Reporter};

/// Bytes of a file read at once; one chunk is one message to the compressor.
const CHUNK_SIZE: usize = 1024 * 1024;
/// Chunks waiting for the compressor: bounds the memory held between the two.
const CHUNKS_QUEUED: usize = 4;
/// Files up to this size travel with their header in one message.
const SMALL_FILE: u64 = 64 * 1024;

type Chunks = mpsc::Sender<io::Result<Bytes>>;

pub async fn open(
    spec: &SourceSpec,
    leave_out: &[PathBuf],
    reporter: &Reporter,
) -> Result<SourceStream, BackupError> {
    let root = spec
        .location
        .as_path()
        .map(PathBuf::from)
        .unwrap_or_default();
    open_at(&spec.name, root, None, leave_out, reporter).await
}

/// The tar of `root` for the source `name`. With `prefix` (`./<site>/public/files`, as
/// bench writes it), every entry's path starts with it, the root itself included, written
/// as is (`./` kept).
pub async fn open_at(
    name: &str,
    root: PathBuf,
    prefix: Option<String>,
    leave_out: &[PathBuf],
    reporter: &Reporter,
) -> Result<SourceStream, BackupError> {
    let source_error = |cause: io::Error| BackupError::Source {
        source_name: name.to_owned(),
        step: format!("reading directory {}", root.display()),
        cause,
    };
    let metadata = tokio::fs::metadata(&root).await.map_err(source_error)?;
    if !metadata.is_dir() {
        return Err(source_error(io::Error::new(
            io::ErrorKind::NotADirectory,
            "not a directory",
        )));
    }
    let (sender, mut receiver) = mpsc::channel(CHUNKS_QUEUED);
    let walk_root = root.clone();
    let walk_reporter = reporter.clone();
    let facts = Facts::default();
    let walk_facts = facts.clone();
    let leave_out = leave_out.to_vec();
    let task = tokio::task::spawn_blocking(move || {
        let left_out = LeftOut::of(&leave_out);
        let mut writer = TarWriter::new(sender, walk_reporter, walk_facts);
        writer.prefix = prefix.map(String::into_bytes);
        writer.write_all(&walk_root, &left_out)
    });
    let source_name = name.to_owned();
    let done = Box::pin(async move {
        let archived = task
            .await
            .unwrap_or_else(|join_error| Err(io::Error::other(join_error.to_string())));
        archived.map_err(|cause| BackupError::Source {
            source_name,
            step: format!("archiving {}", root.display()),
            cause,
        })
    });
    let chunks = futures::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    Ok(SourceStream {
        reader: Box::new(StreamReader::new(chunks)),
        done,
        keep_alive: None,
        facts,
    })
}

/// Adds `path` to the message of an I/O error.
fn at(path: &Path, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("{}: {err}", path.display()))
}

/// The paths never archived, known by what they are on disk (device and inode) rather than
/// by how they are spelt, so that a path reached through a symbolic link or a bind mount
/// is met too. A path that does not exist leaves nothing out.
struct LeftOut(Vec<(u64, u64)>);

impl LeftOut {
    fn of(paths: &[PathBuf]) -> Self {
        Self(
            paths
                .iter()
                .filter_map(|path| std::fs::metadata(path).ok())
                .map(|metadata| (metadata.dev(), metadata.ino()))
                .collect(),
        )
    }

    fn holds(&self, metadata: &Metadata) -> bool {
        self.0.contains(&(metadata.dev(), metadata.ino()))
    }
}

/// A directory being archived: its path in the archive and its names not yet written.
struct Listing {
    relative: PathBuf,
    names: std::vec::IntoIter<OsString>,
}

impl Listing {
    /// The names in `root/relative`, sorted by their bytes.
    fn read(root: &Path, relative: PathBuf) -> io::Result<Self> {
        let dir = root.join(&relative);
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|err| at(&dir, err))? {
            names.push(entry.map_err(|err| at(&dir, err))?.file_name());
        }
        names.sort();
        Ok(Self {
            relative,
            names: names.into_iter(),
        })
    }
}

struct TarWriter {
    chunks: Chunks,
    /// Headers and small files, sent once large enough or before a large file's data.
    pending: BytesMut,
    /// Writes headers (and GNU long-name entries) into memory.
    headers: Builder<Vec<u8>>,
    reporter: Reporter,
    /// Entries written, as a reader of the archive sees them (long-name headers are part of
    /// the entry they name).
    entries: u64,
    /// Bytes of file content written, padding of shrunk files included.
    content_bytes: u64,
    facts: Facts,
    /// Written before every entry's path, as is.
    prefix: Option<Vec<u8>>,
}

/// The longest path a tar header holds; a longer one goes in a GNU long-name entry first.
const NAME_FIELD: usize = 100;

impl TarWriter {
    fn new(chunks: Chunks, reporter: Reporter, facts: Facts) -> Self {
        Self {
            chunks,
            pending: BytesMut::with_capacity(CHUNK_SIZE),
            headers: Builder::new_non_terminated(Vec::new()),
            reporter,
            entries: 0,
            content_bytes: 0,
            facts,
            prefix: None,
        }
    }

    /// Writes the tree depth first: each directory is followed by all it holds, then by its
    /// next sibling, so GNU tar can set a directory's mtime as soon as it leaves it. Only the
    /// names of the directories on the current path are held, never the whole tree.
    fn write_all(mut self, root: &Path, left_out: &LeftOut) -> io::Result<()> {
        let root_metadata = std::fs::metadata(root).map_err(|err| at(root, err))?;
        let device = root_metadata.dev();
        let mut open = Vec::new();
        if left_out.holds(&root_metadata) {
            self.leave_out(root);
        } else {
            if self.prefix.is_some() {
                // The prefix names the root: it is an entry of its own, as in bench's tar.
                let mut header = Header::new_gnu();
                header.set_metadata_in_mode(&root_metadata, HeaderMode::Complete);
                self.header(&mut header, Path::new(""), root)?;
            }
            open.push(Listing::read(root, PathBuf::new())?);
        }
        while let Some(listing) = open.last_mut() {
            let Some(name) = listing.names.next() else {
                open.pop();
                continue;
            };
            let relative = listing.relative.join(&name);
            let path = root.join(&relative);
            let metadata = match std::fs::symlink_metadata(&path) {
                Ok(metadata) => metadata,
                // Removed since the directory was listed: nothing to keep.
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(at(&path, err)),
            };
            if left_out.holds(&metadata) {
                self.leave_out(&path);
                continue;
            }
            let file_type = metadata.file_type();
            let elsewhere = metadata.dev() != device;
            if elsewhere {
                self.reporter.log(
                    LogLevel::Warn,
                    Message::new("run.log.skipped_mount").with("path", path.display()),
                );
            }
            if file_type.is_dir() {
                let mut header = Header::new_gnu();
                header.set_metadata_in_mode(&metadata, HeaderMode::Complete);
                self.header(&mut header, &relative, &path)?;
                if !elsewhere {
                    open.push(Listing::read(root, relative)?);
                }
            } else if elsewhere {
                // A file mounted on its own (a bind mount) belongs to another filesystem.
            } else if file_type.is_file() {
                self.file(&path, &relative)?;
            } else if file_type.is_symlink() {
                let target = std::fs::read_link(&path).map_err(|err| at(&path, err))?;
                let mut header = Header::new_gnu();
                header.set_metadata_in_mode(&metadata, HeaderMode::Complete);
                header.set_entry_type(EntryType::Symlink);
                header.set_size(0);
                header
                    .set_link_name(&target)
                    .map_err(|err| at(&path, err))?;
                self.header(&mut header, &relative, &path)?;
            } else {
                self.reporter.log(
                    LogLevel::Warn,
                    Message::new("run.log.skipped_special").with("path", path.display()),
                );
            }
        }
        // The end-of-archive marker: two zero blocks.
        self.pending.extend_from_slice(&[0u8; 1024]);
        self.flush()?;
        let (entries, content_bytes) = (self.entries, self.content_bytes);
        self.facts.record(|contents| {
            contents.entries = Some(entries);
            contents.content_bytes = Some(content_bytes);
        });
        Ok(())
    }

    /// Says in the run's log that `path`, one the job leaves out, is not in the archive.
    fn leave_out(&self, path: &Path) {
        self.reporter.log(
            LogLevel::Warn,
            Message::new("run.log.skipped_data_dir").with("path", path.display()),
        );
    }

    /// Queues an entry's header (with a long-name entry before it if needed).
    fn header(&mut self, header: &mut Header, relative: &Path, path: &Path) -> io::Result<()> {
        if let Some(prefix) = &self.prefix {
            use std::os::unix::ffi::OsStrExt;
            let mut name = prefix.clone();
            if !relative.as_os_str().is_empty() {
                name.push(b'/');
                name.extend_from_slice(relative.as_os_str().as_bytes());
            }
            if header.entry_type() == EntryType::Directory {
                name.push(b'/');
            }
            self.named_header(header, &name);
            return Ok(());
        }
        // Writing into a Vec completes at once: block_on never waits.
        futures::executor::block_on(
            self.headers
                .append_data(header, relative, tokio::io::empty()),
        )
        .map_err(|err| at(path, err))?;
        let written = self.headers.get_mut();
        self.pending.extend_from_slice(written);
        written.clear();
        self.entries += 1;
        Ok(())
    }

    /// Queues `header` under `name` written byte for byte, after a GNU long-name entry
    /// when it does not fit, as GNU tar does.
    fn named_header(&mut self, header: &mut Header, name: &[u8]) {
        if name.len() > NAME_FIELD {
            let mut long = Header::new_gnu();
            long.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
            long.set_entry_type(EntryType::GNULongName);
            long.set_mode(0o644);
            long.set_mtime(0);
            long.set_size(name.len() as u64 + 1);
            long.set_cksum();
            self.pending.extend_from_slice(long.as_bytes());
            self.pending.extend_from_slice(name);
            let written = name.len() + 1;
            self.pending
                .resize(self.pending.len() + 1 + (512 - written % 512) % 512, 0);
        }
        let field = &mut header.as_old_mut().name;
        field.fill(0);
        let kept = name.len().min(NAME_FIELD);
        field[..kept].copy_from_slice(&name[..kept]);
        header.set_cksum();
        self.pending.extend_from_slice(header.as_bytes());
        self.entries += 1;
    }

    fn file(&mut self, path: &Path, relative: &Path) -> io::Result<()> {
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(at(path, err)),
        };
        let metadata = file.metadata().map_err(|err| at(path, err))?;
        let size = metadata.len();
        let mut header = Header::new_gnu();
        header.set_metadata_in_mode(&metadata, HeaderMode::Complete);
        header.set_size(size);
        self.header(&mut header, relative, path)?;
        self.content_bytes += size;

        let mut remaining = size;
        while remaining > 0 {
            let want = remaining.min(CHUNK_SIZE as u64);
            let mut chunk = Vec::with_capacity(want as usize);
            let read = (&mut file)
                .take(want)
                .read_to_end(&mut chunk)
                .map_err(|err| at(path, err))? as u64;
            if read == 0 {
                // The file shrank while being read: pad to keep the archive valid.
                self.reporter.log(
                    LogLevel::Warn,
                    Message::new("run.log.file_shrank")
                        .with("path", path.display())
                        .with("bytes", remaining),
                );
                self.zeros(remaining)?;
                break;
            }
            remaining -= read;
            if size <= SMALL_FILE {
                self.pending.extend_from_slice(&chunk);
            } else {
                self.flush()?;
                self.send(Bytes::from(chunk))?;
            }
        }
        let padding = (512 - size % 512) % 512;
        self.zeros(padding)?;
        if self.pending.len() >= CHUNK_SIZE / 2 {
            self.flush()?;
        }
        Ok(())
    }

    fn zeros(&mut self, count: u64) -> io::Result<()> {
        let mut left = count;
        while left > 0 {
            let now = left.min(CHUNK_SIZE as u64) as usize;
            self.pending.resize(self.pending.len() + now, 0);
            left -= now as u64;
            if self.pending.len() >= CHUNK_SIZE {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let ready = self.pending.split().freeze();
        self.send(ready)
    }

    fn send(&self, chunk: Bytes) -> io::Result<()> {
        self.chunks
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped reading"))
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use tokio::io::AsyncReadExt;

    use super::*;
    use crate::settings::SourceKind;

    /// The archive's entry paths in order, directories ending with a slash.
    async fn entry_paths(root: &Path) -> Vec<String> {
        let location = root.to_str().expect("a UTF-8 temp dir");
        let spec = SourceSpec::parse("files", SourceKind::Directory, location).expect("a source");
        archive_paths(&archive_of(&spec, &Reporter::detached()).await).await
    }

    /// The whole archive of `spec`, its producer finished cleanly.
    async fn archive_of(spec: &SourceSpec, reporter: &Reporter) -> Vec<u8> {
        let mut stream = open(spec, &[], reporter).await.expect("opens");
        let mut archive = Vec::new();
        stream
            .reader
            .read_to_end(&mut archive)
            .await
            .expect("archive");
        stream.done.await.expect("complete");
        archive
    }

    async fn archive_paths(archive: &[u8]) -> Vec<String> {
        let mut entries = tokio_tar::Archive::new(archive).entries().expect("entries");
        let mut paths = Vec::new();
        while let Some(entry) = entries.next().await {
            let entry = entry.expect("an entry");
            let path = entry.path().expect("a path").to_string_lossy().into_owned();
            let slash = if entry.header().entry_type().is_dir() {
                "/"
            } else {
                ""
            };
            paths.push(format!("{path}{slash}"));
        }
        paths
    }

    #[tokio::test]
    async fn the_archive_stays_on_the_filesystem_of_its_directory() {
        // /dev/shm is a filesystem of its own mounted in /dev on Linux; nothing to prove
        // where it is not.
        let (dev, shm) = (Path::new("/dev"), Path::new("/dev/shm"));
        let device = |path: &Path| std::fs::metadata(path).map(|m| m.dev()).ok();
        if device(shm).is_none() || device(dev) == device(shm) {
            return;
        }
        let planted = tempfile::Builder::new()
            .prefix("s3-backup-test-")
            .tempfile_in(shm)
            .expect("a file in /dev/shm");
        let planted_name = planted
            .path()
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
        let reporter = Reporter::new(Default::default(), events);
        let spec = SourceSpec::parse("dev", SourceKind::Directory, "/dev").expect("a source");

        let archive = archive_of(&spec, &reporter).await;

        let paths = archive_paths(&archive).await;
        assert!(
            paths.iter().any(|path| path == "shm/"),
            "the mount point is kept"
        );
        assert!(
            !paths.iter().any(|path| path.contains(&planted_name)),
            "nothing under the mount point: {paths:?}"
        );
        let mut logged = Vec::new();
        while let Ok(event) = received.try_recv() {
            if let crate::backup::progress::RunEvent::Log { message, .. } = event {
                logged.push(message.to_string());
            }
        }
        assert!(
            logged
                .iter()
                .any(|line| line.contains("/dev/shm") && line.contains("another filesystem")),
            "{logged:?}"
        );
    }

    #[tokio::test]
    async fn each_directory_is_followed_by_its_contents_before_its_siblings() {
        let root = tempfile::tempdir().expect("temp dir");
        for dir in ["a/b", "c", "z"] {
            std::fs::create_dir_all(root.path().join(dir)).expect("mkdir");
        }
        for file in ["a/b/deep.txt", "a/m.txt", "b.txt", "z/y.txt"] {
            std::fs::write(root.path().join(file), file).expect("write");
        }

        let paths = entry_paths(root.path()).await;

        assert_eq!(
            paths,
            [
                "a/",
                "a/b/",
                "a/b/deep.txt",
                "a/m.txt",
                "b.txt",
                "c/",
                "z/",
                "z/y.txt"
            ]
        );
    }
}

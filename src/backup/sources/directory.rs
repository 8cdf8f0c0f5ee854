//! A directory as a tar stream (paths relative to the directory, so `tar -x -C DEST` restores
//! it), written by a task into an in-memory pipe. File contents are copied in large chunks;
//! a file that shrinks while read is padded and reported, like GNU tar does.

use std::io;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_tar::{Builder, EntryType, Header, HeaderMode};

use super::SourceStream;
use crate::backup::error::BackupError;
use crate::backup::job::SourceSpec;
use crate::backup::progress::{LogLevel, Reporter};

/// Bytes buffered between the tar writer and the compressor.
const PIPE_SIZE: usize = 1024 * 1024;
/// Bytes read from a file at once.
const CHUNK_SIZE: usize = 256 * 1024;

pub async fn open(spec: &SourceSpec, reporter: &Reporter) -> Result<SourceStream, BackupError> {
    let root = PathBuf::from(&spec.location);
    let source_error = |cause: io::Error| BackupError::Source {
        source_name: spec.name.clone(),
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
    let (writer, reader) = tokio::io::duplex(PIPE_SIZE);
    let task = tokio::spawn(write_tar(root.clone(), writer, reporter.clone()));
    let source_name = spec.name.clone();
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
    Ok(SourceStream {
        reader: Box::new(reader),
        done,
        keep_alive: None,
    })
}

/// Adds `path` to the message of an I/O error.
fn at(path: &Path, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("{}: {err}", path.display()))
}

async fn write_tar(root: PathBuf, writer: DuplexStream, reporter: Reporter) -> io::Result<()> {
    let mut builder = Builder::new(writer);
    builder.mode(HeaderMode::Complete);
    let mut chunk = vec![0u8; CHUNK_SIZE];
    let mut pending = vec![PathBuf::new()];
    while let Some(relative_dir) = pending.pop() {
        let dir = root.join(&relative_dir);
        let mut names = Vec::new();
        let mut entries = tokio::fs::read_dir(&dir)
            .await
            .map_err(|err| at(&dir, err))?;
        while let Some(entry) = entries.next_entry().await.map_err(|err| at(&dir, err))? {
            names.push(entry.file_name());
        }
        names.sort();
        let mut subdirs = Vec::new();
        for name in names {
            let relative = relative_dir.join(&name);
            let path = root.join(&relative);
            let metadata = match tokio::fs::symlink_metadata(&path).await {
                Ok(metadata) => metadata,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(at(&path, err)),
            };
            let file_type = metadata.file_type();
            if file_type.is_dir() {
                let mut header = Header::new_gnu();
                header.set_metadata_in_mode(&metadata, HeaderMode::Complete);
                builder
                    .append_data(&mut header, &relative, tokio::io::empty())
                    .await
                    .map_err(|err| at(&path, err))?;
                subdirs.push(relative);
            } else if file_type.is_file() {
                append_file(&mut builder, &path, &relative, &mut chunk, &reporter).await?;
            } else if file_type.is_symlink() {
                let target = tokio::fs::read_link(&path)
                    .await
                    .map_err(|err| at(&path, err))?;
                let mut header = Header::new_gnu();
                header.set_metadata_in_mode(&metadata, HeaderMode::Complete);
                header.set_entry_type(EntryType::Symlink);
                header.set_size(0);
                header
                    .set_link_name(&target)
                    .map_err(|err| at(&path, err))?;
                builder
                    .append_data(&mut header, &relative, tokio::io::empty())
                    .await
                    .map_err(|err| at(&path, err))?;
            } else {
                reporter.log(
                    LogLevel::Warn,
                    format!("skipped {}: not a file, directory or link", path.display()),
                );
            }
        }
        pending.extend(subdirs.into_iter().rev());
    }
    let mut writer = builder.into_inner().await?;
    writer.shutdown().await
}

async fn append_file(
    builder: &mut Builder<DuplexStream>,
    path: &Path,
    relative: &Path,
    chunk: &mut [u8],
    reporter: &Reporter,
) -> io::Result<()> {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        // Removed since the directory was listed: nothing to keep.
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(at(path, err)),
    };
    let metadata = file.metadata().await.map_err(|err| at(path, err))?;
    let size = metadata.len();
    let mut header = Header::new_gnu();
    header.set_metadata_in_mode(&metadata, HeaderMode::Complete);
    header.set_size(size);
    // Writes the header (and a long-name entry if needed) but no data: the data is copied
    // below in large chunks rather than through the builder's small buffer.
    builder
        .append_data(&mut header, relative, tokio::io::empty())
        .await
        .map_err(|err| at(path, err))?;
    let out = builder.get_mut();
    let mut remaining = size;
    while remaining > 0 {
        let want = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(chunk.len());
        let read = file
            .read(&mut chunk[..want])
            .await
            .map_err(|err| at(path, err))?;
        if read == 0 {
            // The file shrank while being read: keep the archive valid.
            reporter.log(
                LogLevel::Warn,
                format!(
                    "{} shrank by {remaining} bytes while being read; padded with zeros",
                    path.display()
                ),
            );
            chunk.fill(0);
            while remaining > 0 {
                let pad = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(chunk.len());
                out.write_all(&chunk[..pad]).await?;
                remaining -= pad as u64;
            }
            break;
        }
        out.write_all(&chunk[..read]).await?;
        remaining -= read as u64;
    }
    let padding = (512 - size % 512) % 512;
    if padding > 0 {
        out.write_all(&[0u8; 512][..padding as usize]).await?;
    }
    Ok(())
}

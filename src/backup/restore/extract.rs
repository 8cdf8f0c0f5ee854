//! Unpacking a tar stream into a fresh directory, entry by entry, refusing whatever could
//! write outside it: absolute paths, `..`, paths through a symlink of the archive, links that
//! point outside, and special files. Modes and mtimes are set as the archive says. Blocking:
//! it runs on a thread of its own, fed by the download (`feed`), so writing files overlaps
//! with downloading and decompressing.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::io::{Read, Write};

use tar::{Archive, Entry, EntryType};

use super::RestoreError;
use super::stream::{BUFFER, Origin};

/// Symlinks followed while checking where one points, before giving up on a loop.
const MAX_HOPS: usize = 40;

/// Unpacks the archive `reader` holds into `root` (an empty directory), then reads the
/// stream to its end: a clean end is the check's verdict that every byte was as stored.
/// The first `strip` names of every path are left out, as `tar --strip` does; the entries
/// those names alone make (the folders above) are skipped.
pub fn unpack_stripped<R: Read>(
    reader: R,
    root: &Path,
    origin: &Origin,
    strip: usize,
) -> Result<(), RestoreError> {
    let mut archive = Archive::new(reader);
    let mut unpacker = Unpacker {
        root,
        origin,
        strip,
        symlinks: HashMap::new(),
        files: HashSet::new(),
        directories: Vec::new(),
    };
    let mut buffer = vec![0u8; BUFFER];
    for entry in archive.entries().map_err(|cause| origin.read(cause))? {
        let mut entry = entry.map_err(|cause| origin.read(cause))?;
        unpacker.entry(&mut entry, &mut buffer)?;
    }
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|cause| origin.read(cause))?;
    unpacker.finish()
}

struct Unpacker<'a> {
    root: &'a Path,
    origin: &'a Origin,
    /// Leading names left out of every path.
    strip: usize,
    /// Symlinks created so far, by relative path, with their targets.
    symlinks: HashMap<PathBuf, PathBuf>,
    /// Regular files created so far: the only things a hard link may point to.
    files: HashSet<PathBuf>,
    /// Directories whose mode and mtime are set at the end, once their content is written.
    directories: Vec<(PathBuf, u32, SystemTime)>,
}

impl Unpacker<'_> {
    fn entry<R: Read>(
        &mut self,
        entry: &mut Entry<R>,
        buffer: &mut [u8],
    ) -> Result<(), RestoreError> {
        let raw = entry
            .path()
            .map_err(|cause| self.origin.read(cause))?
            .into_owned();
        let shown = raw.display().to_string();
        let relative = relative(&raw).map_err(|reason| self.origin.refused(&shown, reason))?;
        let Some(relative) = stripped(&relative, self.strip) else {
            if entry.header().entry_type() == EntryType::Directory {
                return Ok(());
            }
            return Err(self
                .origin
                .refused(&shown, "an entry above the folder the archive restores"));
        };
        if let Some(through) = self.symlink_ancestor(&relative) {
            return Err(self.origin.refused(
                &shown,
                format!(
                    "a path through the symlink {} of the archive",
                    through.display()
                ),
            ));
        }
        let header = entry.header();
        let mode = header.mode().map_err(|cause| self.origin.read(cause))? & 0o7777;
        let mtime = UNIX_EPOCH
            + Duration::from_secs(header.mtime().map_err(|cause| self.origin.read(cause))?);
        let path = self.root.join(&relative);
        match header.entry_type() {
            EntryType::Directory => {
                self.directory(&path, &shown)?;
                self.directories.push((relative, mode, mtime));
            }
            EntryType::Regular | EntryType::Continuous if !relative.as_os_str().is_empty() => {
                self.parent_of(&path)?;
                self.file(entry, buffer, &path, mode, mtime)?;
                self.files.insert(relative);
            }
            EntryType::Symlink if !relative.as_os_str().is_empty() => {
                let target = self.link_name(entry, &shown)?;
                if target.is_absolute() || target.as_os_str().is_empty() {
                    return Err(self
                        .origin
                        .refused(&shown, "a symlink that points outside the target"));
                }
                self.parent_of(&path)?;
                std::os::unix::fs::symlink(&target, &path)
                    .map_err(RestoreError::write("creating the symlink", &path))?;
                set_symlink_mtime(&path, mtime)?;
                self.symlinks.insert(relative.clone(), target);
                if escapes(&self.symlinks, &relative) {
                    return Err(self
                        .origin
                        .refused(&shown, "a symlink that points outside the target"));
                }
            }
            EntryType::Link if !relative.as_os_str().is_empty() => {
                let target = self.link_name(entry, &shown)?;
                let target = match relative_path(&target)
                    .ok()
                    .and_then(|target| stripped(&target, self.strip))
                    .ok_or("")
                {
                    Ok(target) if self.files.contains(&target) => target,
                    _ => {
                        return Err(self.origin.refused(
                            &shown,
                            "a hard link to something that is not a file of the archive",
                        ));
                    }
                };
                self.parent_of(&path)?;
                std::fs::hard_link(self.root.join(target), &path)
                    .map_err(RestoreError::write("creating the hard link", &path))?;
            }
            // Metadata for the entries after it, nothing to write.
            EntryType::XGlobalHeader => {}
            other => {
                let what = match other {
                    EntryType::Char | EntryType::Block => "a device",
                    EntryType::Fifo => "a FIFO",
                    _ => "a special entry",
                };
                return Err(self
                    .origin
                    .refused(&shown, format!("{what}, which a restore never creates")));
            }
        }
        Ok(())
    }

    fn link_name<R: Read>(&self, entry: &Entry<R>, shown: &str) -> Result<PathBuf, RestoreError> {
        match entry.link_name().map_err(|cause| self.origin.read(cause))? {
            Some(name) => Ok(name.into_owned()),
            None => Err(self.origin.refused(shown, "a link without a target")),
        }
    }

    /// The first ancestor of `relative` that is a symlink the archive created.
    fn symlink_ancestor(&self, relative: &Path) -> Option<PathBuf> {
        relative
            .ancestors()
            .skip(1)
            .find(|ancestor| self.symlinks.contains_key(*ancestor))
            .map(Path::to_owned)
    }

    fn directory(&self, path: &Path, shown: &str) -> Result<(), RestoreError> {
        match std::fs::create_dir_all(path) {
            Ok(()) => {}
            Err(cause) if cause.kind() != io::ErrorKind::AlreadyExists => {
                return Err(RestoreError::write("creating the directory", path)(cause));
            }
            Err(_) => {}
        }
        match std::fs::symlink_metadata(path) {
            Ok(metadata) if metadata.is_dir() => Ok(()),
            _ => Err(self
                .origin
                .refused(shown, "a directory where the archive put something else")),
        }
    }

    /// Directories the archive did not list are created as it goes (they hold no symlink:
    /// the path was checked).
    fn parent_of(&self, path: &Path) -> Result<(), RestoreError> {
        match path.parent() {
            Some(parent) => std::fs::create_dir_all(parent)
                .map_err(RestoreError::write("creating the directory", parent)),
            None => Ok(()),
        }
    }

    fn file<R: Read>(
        &self,
        entry: &mut Entry<R>,
        buffer: &mut [u8],
        path: &Path,
        mode: u32,
        mtime: SystemTime,
    ) -> Result<(), RestoreError> {
        // create_new: never through a symlink, never over what an earlier entry wrote.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(RestoreError::write("creating", path))?;
        loop {
            let read = match entry.read(buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(cause) if cause.kind() == io::ErrorKind::Interrupted => continue,
                Err(cause) => return Err(self.origin.read(cause)),
            };
            file.write_all(&buffer[..read])
                .map_err(RestoreError::write("writing", path))?;
        }
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(RestoreError::write("setting the mode of", path))?;
        file.set_modified(mtime)
            .map_err(RestoreError::write("setting the mtime of", path))?;
        Ok(())
    }

    /// Once every entry is written: no symlink points outside, even through another one, and
    /// directories get their modes and mtimes, deepest first.
    fn finish(mut self) -> Result<(), RestoreError> {
        for link in self.symlinks.keys() {
            if escapes(&self.symlinks, link) {
                return Err(self.origin.refused(
                    link.display().to_string(),
                    "a symlink that points outside the target",
                ));
            }
        }
        self.directories
            .sort_by_key(|(relative, _, _)| std::cmp::Reverse(relative.components().count()));
        for (relative, mode, mtime) in &self.directories {
            let path = self.root.join(relative);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))
                .map_err(RestoreError::write("setting the mode of", &path))?;
            std::fs::File::open(&path)
                .and_then(|dir| dir.set_modified(*mtime))
                .map_err(RestoreError::write("setting the mtime of", &path))?;
        }
        Ok(())
    }
}

/// An entry's path as a path inside the target: `.` components dropped, no root, no `..`.
fn relative(raw: &Path) -> Result<PathBuf, &'static str> {
    let mut relative = PathBuf::new();
    for component in raw.components() {
        match component {
            Component::Normal(name) => relative.push(name),
            Component::CurDir => {}
            Component::ParentDir => return Err("a path with \"..\""),
            Component::RootDir | Component::Prefix(_) => return Err("an absolute path"),
        }
    }
    Ok(relative)
}

/// `relative` without its first `strip` names; `None` when nothing would be left of it
/// (with no names to strip, the root itself stays).
fn stripped(relative: &Path, strip: usize) -> Option<PathBuf> {
    if strip == 0 {
        return Some(relative.to_owned());
    }
    let rest: PathBuf = relative.components().skip(strip).collect();
    (!rest.as_os_str().is_empty()).then_some(rest)
}

/// A hard link's target, by the same rules, and naming something.
fn relative_path(raw: &Path) -> Result<PathBuf, &'static str> {
    let relative = relative(raw)?;
    if relative.as_os_str().is_empty() {
        return Err("an empty path");
    }
    Ok(relative)
}

/// Where the symlink `link` points leaves the root, following the archive's other symlinks
/// the way the kernel would (a `..` after a symlink goes up from where that one points).
fn escapes(symlinks: &HashMap<PathBuf, PathBuf>, link: &Path) -> bool {
    enum Step {
        Up,
        Name(OsString),
    }
    fn steps(target: &Path) -> Option<Vec<Step>> {
        let mut steps = Vec::new();
        for component in target.components() {
            match component {
                Component::Normal(name) => steps.push(Step::Name(name.to_owned())),
                Component::CurDir => {}
                Component::ParentDir => steps.push(Step::Up),
                Component::RootDir | Component::Prefix(_) => return None,
            }
        }
        steps.reverse();
        Some(steps)
    }
    let Some(mut pending) = symlinks.get(link).and_then(|target| steps(target)) else {
        return true;
    };
    let mut at = link.parent().map(Path::to_owned).unwrap_or_default();
    let mut hops = 0;
    while let Some(step) = pending.pop() {
        match step {
            Step::Up => {
                if !at.pop() {
                    return true;
                }
            }
            Step::Name(name) => {
                at.push(name);
                if let Some(target) = symlinks.get(&at) {
                    hops += 1;
                    if hops > MAX_HOPS {
                        return true;
                    }
                    at.pop();
                    let Some(more) = steps(target) else {
                        return true;
                    };
                    pending.extend(more);
                }
            }
        }
    }
    false
}

fn set_symlink_mtime(path: &Path, mtime: SystemTime) -> Result<(), RestoreError> {
    use rustix::fs::{AtFlags, CWD, Timespec, Timestamps, utimensat};
    let seconds = mtime
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0);
    let time = Timespec {
        tv_sec: i64::try_from(seconds).unwrap_or(i64::MAX),
        tv_nsec: 0,
    };
    let times = Timestamps {
        last_access: time,
        last_modification: time,
    };
    utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|errno| RestoreError::write("setting the mtime of", path)(errno.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(pairs: &[(&str, &str)]) -> HashMap<PathBuf, PathBuf> {
        pairs
            .iter()
            .map(|(link, target)| (PathBuf::from(link), PathBuf::from(target)))
            .collect()
    }

    #[test]
    fn entry_paths_stay_inside() {
        assert_eq!(relative(Path::new("./a/b")), Ok(PathBuf::from("a/b")));
        assert!(relative(Path::new("../escape")).is_err());
        assert!(relative(Path::new("a/../../b")).is_err());
        assert!(relative(Path::new("/abs")).is_err());
        assert_eq!(relative(Path::new("./")), Ok(PathBuf::new()));
    }

    #[test]
    fn symlinks_pointing_outside_are_found_even_through_another_symlink() {
        let inside = links(&[("a/current", "../releases/v2"), ("top", "a")]);
        assert!(!escapes(&inside, Path::new("a/current")));
        assert!(!escapes(&inside, Path::new("top")));
        assert!(escapes(&links(&[("a", "../..")]), Path::new("a")));
        assert!(escapes(&links(&[("a", "/tmp")]), Path::new("a")));
        // `x/..` is the root lexically, but x points at the root: `..` from there is outside.
        let tricky = links(&[("x", "."), ("d/x", ".."), ("y", "d/x/..")]);
        assert!(escapes(&tricky, Path::new("y")));
        assert!(escapes(&links(&[("l", "l/x")]), Path::new("l")));
    }
}

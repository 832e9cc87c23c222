//! How strata touches the project's files: it reads regular files only (a symlink to one
//! is followed, wherever it points), never more than a size limit, as UTF-8 (a byte order
//! mark is allowed; an error says where the text stops being UTF-8 and what encoding it
//! looks like); and it replaces a file it writes through a temporary file renamed over it,
//! never writing through a symlink.
//!
//! Opening a FIFO for reading blocks until a writer comes, and `/dev/zero` never ends:
//! files are opened non-blocking and checked with `fstat` on the open descriptor before a
//! byte is read, so what is checked is what is read.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::FileErrorKind;

/// The default of `[migrations] max_file_size`: 64 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// What kind of file `mode` (from `stat`) is, for errors; `None` for a regular file.
#[cfg(unix)]
pub(crate) fn special_kind(file_type: rustix::fs::FileType) -> Option<&'static str> {
    use rustix::fs::FileType;
    match file_type {
        FileType::RegularFile => None,
        FileType::Directory => Some("a directory"),
        FileType::Fifo => Some("a FIFO (named pipe)"),
        FileType::Socket => Some("a socket"),
        FileType::CharacterDevice => Some("a character device"),
        FileType::BlockDevice => Some("a block device"),
        FileType::Symlink => Some("a symbolic link"),
        _ => Some("not a regular file"),
    }
}

/// Opens `name` in the directory `dir` (the open directory `at`, on Unix) for reading:
/// non-blocking, then checked to be a regular file of at most `limit` bytes. Returns the
/// file and its size.
#[cfg(unix)]
pub(crate) fn open_regular_at(
    at: &std::os::fd::OwnedFd,
    name: &std::ffi::OsStr,
    limit: u64,
) -> Result<(fs::File, u64), FileErrorKind> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
    let fd = match rustix::fs::openat(at, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) => {
            // A socket cannot be opened at all (ENXIO), nor a symlink to nothing: say
            // what they are.
            use rustix::fs::AtFlags;
            let followed = rustix::fs::statat(at, name, AtFlags::empty());
            let link = rustix::fs::statat(at, name, AtFlags::SYMLINK_NOFOLLOW);
            let kind = match (followed, link) {
                (Ok(st), _) => special_kind(file_type(&st)),
                (Err(_), Ok(st)) if file_type(&st) == rustix::fs::FileType::Symlink => {
                    Some("a symbolic link to nothing (its target does not exist)")
                }
                _ => None,
            };
            return Err(match kind {
                Some(kind) => FileErrorKind::NotRegular(kind),
                None => FileErrorKind::Io(io::Error::from(e).to_string()),
            });
        }
    };
    let st =
        rustix::fs::fstat(&fd).map_err(|e| FileErrorKind::Io(io::Error::from(e).to_string()))?;
    if let Some(kind) = special_kind(file_type(&st)) {
        return Err(FileErrorKind::NotRegular(kind));
    }
    let size = st.st_size as u64;
    if size > limit {
        return Err(FileErrorKind::TooLarge { size, limit });
    }
    Ok((fs::File::from(fd), size))
}

#[cfg(unix)]
fn file_type(st: &rustix::fs::Stat) -> rustix::fs::FileType {
    rustix::fs::FileType::from_raw_mode(st.st_mode as _)
}

/// Opens the file at `path` for reading as [`open_regular_at`] does.
pub(crate) fn open_regular(path: &Path, limit: u64) -> Result<(fs::File, u64), FileErrorKind> {
    #[cfg(unix)]
    {
        let (dir, name) = match (path.parent(), path.file_name()) {
            (Some(d), Some(n)) => (
                if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                },
                n,
            ),
            _ => return Err(FileErrorKind::NotRegular("not a regular file")),
        };
        use rustix::fs::{Mode, OFlags};
        let at = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| FileErrorKind::Io(io::Error::from(e).to_string()))?;
        open_regular_at(&at, name, limit)
    }
    #[cfg(not(unix))]
    {
        let file = fs::File::open(path).map_err(|e| FileErrorKind::Io(e.to_string()))?;
        let meta = file
            .metadata()
            .map_err(|e| FileErrorKind::Io(e.to_string()))?;
        if meta.is_dir() {
            return Err(FileErrorKind::NotRegular("a directory"));
        }
        if !meta.is_file() {
            return Err(FileErrorKind::NotRegular("not a regular file"));
        }
        if meta.len() > limit {
            return Err(FileErrorKind::TooLarge {
                size: meta.len(),
                limit,
            });
        }
        Ok((file, meta.len()))
    }
}

/// Reads the whole file at `path` under the rules of this module: a regular file (or a
/// symlink to one), at most `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, FileErrorKind> {
    let (file, size) = open_regular(path, limit)?;
    read_opened(file, size, limit)
}

/// Reads the rest of `file`, whose length was `size` when it was opened, into a buffer
/// allocated once at that size (growing it by doubling would hold up to twice the file
/// while the last copy is made), at most `limit` bytes.
pub(crate) fn read_opened(file: fs::File, size: u64, limit: u64) -> Result<Vec<u8>, FileErrorKind> {
    let mut buf = Vec::with_capacity(usize::try_from(size.min(limit)).unwrap_or(0) + 1);
    // A file that grows while it is read still stops at the limit.
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| FileErrorKind::Io(e.to_string()))?;
    if buf.len() as u64 > limit {
        return Err(FileErrorKind::TooLarge {
            size: buf.len() as u64,
            limit,
        });
    }
    Ok(buf)
}

/// The UTF-8 byte order mark, which some Windows editors write at the start of a file.
const BOM: &str = "\u{feff}";

/// `text` without its leading byte order mark (or marks: a tool that adds one to a file
/// that has one makes two).
pub fn strip_bom(text: &str) -> &str {
    text.trim_start_matches(BOM)
}

/// The bytes of a file as text: UTF-8, and not UTF-16 without a byte order mark (whose
/// ASCII characters are valid UTF-8, each beside a NUL byte). The error has the 1-based
/// line of the first byte that does not belong.
pub fn decode(bytes: &[u8]) -> Result<&str, (usize, FileErrorKind)> {
    let text = std::str::from_utf8(bytes).map_err(|e| not_utf8(bytes, e))?;
    if bytes.contains(&0) {
        if let Some(encoding @ ("UTF-16LE" | "UTF-16BE")) = guess_encoding(bytes) {
            let at = bytes.iter().position(|&b| b == 0).unwrap_or(0);
            return Err(position(bytes, at, Some(encoding)));
        }
    }
    Ok(text)
}

/// [`decode`], taking the bytes over as a `String` without copying them.
pub fn decode_owned(bytes: Vec<u8>) -> Result<String, (usize, FileErrorKind)> {
    match String::from_utf8(bytes) {
        Ok(text) => {
            decode(text.as_bytes())?;
            Ok(text)
        }
        Err(e) => Err(not_utf8(e.as_bytes(), e.utf8_error())),
    }
}

/// Where the bytes of a file stop being UTF-8: the 1-based line, and what to tell the user.
pub fn not_utf8(bytes: &[u8], error: std::str::Utf8Error) -> (usize, FileErrorKind) {
    position(bytes, error.valid_up_to(), guess_encoding(bytes))
}

fn position(bytes: &[u8], at: usize, encoding: Option<&'static str>) -> (usize, FileErrorKind) {
    let before = &bytes[..at];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = at
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
        + 1;
    (
        line,
        FileErrorKind::NotUtf8 {
            byte: bytes[at],
            offset: at,
            column,
            encoding,
        },
    )
}

/// What a file that is not UTF-8 probably is, by its byte order mark or its bytes.
fn guess_encoding(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0xFF, 0xFE, 0, 0, ..] => return Some("UTF-32LE"),
        [0, 0, 0xFE, 0xFF, ..] => return Some("UTF-32BE"),
        [0xFF, 0xFE, ..] => return Some("UTF-16LE"),
        [0xFE, 0xFF, ..] => return Some("UTF-16BE"),
        _ => {}
    }
    // UTF-16 without a mark: ASCII text with a NUL beside every character.
    let head = &bytes[..bytes.len().min(512) & !1];
    let zeros = |start: usize| {
        head.iter()
            .skip(start)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let pairs = head.len() / 2;
    if pairs >= 4 && zeros(1) * 4 >= pairs * 3 {
        return Some("UTF-16LE");
    }
    if pairs >= 4 && zeros(0) * 4 >= pairs * 3 {
        return Some("UTF-16BE");
    }
    // Text in a single-byte encoding: no NUL, and hardly any other control byte.
    let controls = bytes
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
        .count();
    (!bytes.contains(&0) && controls * 100 <= bytes.len())
        .then_some("Latin-1 (ISO-8859-1) or Windows-1252")
}

/// Writes `contents` to `path` by writing a temporary file in the same directory and
/// renaming it over `path`: readers never see half a file, and a symlink at `path` is
/// refused rather than followed (as is anything else that is not a regular file). The
/// temporary file is created exclusively, so a symlink planted under its name is not
/// followed either. An existing file's permissions are kept.
pub fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace_with(path, contents, true)
}

/// [`replace`] without waiting for the data to reach the disk: for caches, which are
/// checked when read.
pub(crate) fn replace_unsynced(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace_with(path, contents, false)
}

/// Whether [`replace`] would write `path`: an error when it is a symlink or something
/// else that is not a regular file.
pub fn check_replaceable(path: &Path) -> io::Result<()> {
    existing_permissions(path).map(drop)
}

/// The permissions of the regular file at `path` (`None`: there is none yet); an error
/// for a symlink or anything else.
fn existing_permissions(path: &Path) -> io::Result<Option<fs::Permissions>> {
    Ok(match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(io::Error::other(
                "is a symbolic link: strata writes only regular files and never through a link (replace the link with a regular file)",
            ))
        }
        Ok(meta) if !meta.is_file() => {
            return Err(io::Error::other(
                "is not a regular file: strata writes only regular files (remove it, or move it away)",
            ))
        }
        Ok(meta) => Some(meta.permissions()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    })
}

fn replace_with(path: &Path, contents: &[u8], sync: bool) -> io::Result<()> {
    let permissions = existing_permissions(path)?;
    let tmp = temporary_name(path);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    let written = file
        .write_all(contents)
        .and_then(|()| match permissions {
            Some(p) => file.set_permissions(p),
            None => Ok(()),
        })
        .and_then(|()| if sync { file.sync_all() } else { Ok(()) });
    drop(file);
    match written.and_then(|()| fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// `.NAME.PID.N.tmp` beside `path`, unique within this process.
fn temporary_name(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_recognised() {
        let utf16: Vec<u8> = "-- revision: a\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(guess_encoding(&utf16), Some("UTF-16LE"));
        let utf16: Vec<u8> = "-- revision: a\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(guess_encoding(&utf16), Some("UTF-16BE"));
        assert_eq!(guess_encoding(&[0xFF, 0xFE, b'-', 0]), Some("UTF-16LE"));
        assert_eq!(
            guess_encoding(b"caf\xe9\n"),
            Some("Latin-1 (ISO-8859-1) or Windows-1252")
        );
        let bytes = std::hint::black_box(b"-- revision: a\n-- message: caf\xe9\n".as_slice());
        let e = std::str::from_utf8(bytes).unwrap_err();
        let (line, kind) = not_utf8(bytes, e);
        assert_eq!(line, 2);
        let utf16: Vec<u8> = "-- a\n-- b\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let (line16, kind16) = decode(&utf16).unwrap_err();
        assert_eq!(line16, 1);
        assert!(
            matches!(
                kind16,
                FileErrorKind::NotUtf8 {
                    byte: 0,
                    offset: 1,
                    encoding: Some("UTF-16LE"),
                    ..
                }
            ),
            "{kind16:?}"
        );
        assert_eq!(decode(b"SELECT '\0';\n").unwrap(), "SELECT '\0';\n");
        assert_eq!(strip_bom("\u{feff}\u{feff}-- a"), "-- a");
        assert!(
            matches!(
                kind,
                FileErrorKind::NotUtf8 {
                    byte: 0xE9,
                    offset: 30,
                    column: 16,
                    ..
                }
            ),
            "{kind:?}"
        );
    }

    #[test]
    fn replace_never_writes_through_a_symlink_and_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, "keep").unwrap();
        let link = dir.path().join("HEADS");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = replace(&link, b"new").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
        let e = replace(dir.path(), b"new").unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");

        let file = dir.path().join("f");
        fs::write(&file, "old").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
        replace(&file, b"new").unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "new");
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o640
        );
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn reading_refuses_special_files_and_large_ones() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_regular(Path::new("/dev/zero"), 100).unwrap_err();
        assert!(
            matches!(e, FileErrorKind::NotRegular("a character device")),
            "{e:?}"
        );
        let e = read_regular(dir.path(), 100).unwrap_err();
        assert!(
            matches!(e, FileErrorKind::NotRegular("a directory")),
            "{e:?}"
        );
        let f = dir.path().join("big");
        fs::write(&f, [b'x'; 101]).unwrap();
        let e = read_regular(&f, 100).unwrap_err();
        assert!(
            matches!(
                e,
                FileErrorKind::TooLarge {
                    size: 101,
                    limit: 100
                }
            ),
            "{e:?}"
        );
        assert_eq!(read_regular(&f, 101).unwrap().len(), 101);
    }
}

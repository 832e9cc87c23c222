//! The migrations directory: every `*.sql` file below it (except `repeatable/`), parsed in
//! parallel; the repeatable scripts in `repeatable/`; and the `HEADS` file that makes
//! parallel heads a git conflict.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use crate::error::{FileError, FileErrorKind, LoadError};
use crate::header_cache::{self, Cache, DirRecord, Stamp};
use crate::revision::{self, Depth, Repeatable, Revision};

/// Name of the file, inside the migrations directory, that lists the head of every branch.
pub const HEADS_FILE: &str = "HEADS";
/// Sub-directory for repeatable scripts; never read as revisions.
pub const REPEATABLE_DIR: &str = "repeatable";

/// Reads migration files for one loader thread: one reused buffer and, on Unix, the
/// open directory the files are opened relative to (a path walk of one component per
/// file instead of the whole path: at 10,000 files the kernel's work dominates).
struct Reader {
    buf: Vec<u8>,
    #[cfg(unix)]
    dir: Option<(Arc<PathBuf>, std::os::fd::OwnedFd)>,
}

impl Reader {
    fn new() -> Reader {
        Reader {
            buf: vec![0; 16 * 1024],
            #[cfg(unix)]
            dir: None,
        }
    }

    /// The open directory `dir`, opened once per directory a thread reads from.
    #[cfg(unix)]
    fn dir_fd(&mut self, dir: &Arc<PathBuf>) -> std::io::Result<&std::os::fd::OwnedFd> {
        use rustix::fs::{Mode, OFlags};
        if self.dir.as_ref().is_none_or(|(d, _)| !Arc::ptr_eq(d, dir)) {
            let fd = rustix::fs::open(
                dir.as_path(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            self.dir = Some((dir.clone(), fd));
        }
        Ok(&self.dir.as_ref().expect("just opened").1)
    }

    #[cfg(unix)]
    fn open(&mut self, dir: &Arc<PathBuf>, name: &OsStr) -> std::io::Result<fs::File> {
        use rustix::fs::{Mode, OFlags};
        let fd = self.dir_fd(dir)?;
        let file = rustix::fs::openat(fd, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(fs::File::from(file))
    }

    #[cfg(not(unix))]
    fn open(&mut self, dir: &Arc<PathBuf>, name: &OsStr) -> std::io::Result<fs::File> {
        fs::File::open(dir.join(name))
    }

    /// The file's stamp for the header cache (`None`: not a regular file, or no `stat`).
    #[cfg(unix)]
    fn stamp(&mut self, dir: &Arc<PathBuf>, name: &OsStr) -> Option<Stamp> {
        let fd = self.dir_fd(dir).ok()?;
        let st = rustix::fs::statat(fd, name, rustix::fs::AtFlags::empty()).ok()?;
        Stamp::of(&st)
    }

    #[cfg(not(unix))]
    fn stamp(&mut self, _: &Arc<PathBuf>, _: &OsStr) -> Option<Stamp> {
        None
    }

    /// Reads into the buffer from `filled` on: once (`to_end` false) or up to the end of
    /// the file. Returns the new fill level.
    fn fill(
        &mut self,
        file: &mut fs::File,
        mut filled: usize,
        to_end: bool,
    ) -> std::io::Result<usize> {
        use std::io::Read;
        loop {
            if filled == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let n = match file.read(&mut self.buf[filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            filled += n;
            if n == 0 || !to_end {
                return Ok(filled);
            }
        }
    }

    /// Reads and parses the file `name` in `dir` to `depth`. For headers, one read
    /// usually holds the whole header block; only a longer header makes it read on to the
    /// end of the file.
    fn parse(
        &mut self,
        dir: &Arc<PathBuf>,
        name: &OsStr,
        depth: Depth,
    ) -> Result<Revision, FileError> {
        let path = dir.join(name);
        let io = |e: std::io::Error| FileError {
            path: path.clone(),
            line: 0,
            kind: FileErrorKind::Io(e.to_string()),
        };
        let mut file = self.open(dir, name).map_err(io)?;
        let mut filled = self.fill(&mut file, 0, depth == Depth::Full).map_err(io)?;
        let mut whole = depth == Depth::Full || filled == 0;
        loop {
            let text = match std::str::from_utf8(&self.buf[..filled]) {
                Ok(t) => t,
                // A partial read may end inside a character: parse up to it.
                Err(e) if !whole && e.error_len().is_none() => {
                    std::str::from_utf8(&self.buf[..e.valid_up_to()]).expect("valid prefix")
                }
                Err(_) => {
                    return Err(io(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "stream did not contain valid UTF-8",
                    )))
                }
            };
            if let Some(r) = revision::parse_with(&path, text, depth, whole)? {
                return Ok(r);
            }
            filled = self.fill(&mut file, filled, true).map_err(io)?;
            whole = true;
        }
    }
}

/// Files of one directory, handed to a reader thread together.
struct Batch {
    dir: Arc<PathBuf>,
    /// `dir` relative to the migrations directory, `/`-separated, with a trailing `/`
    /// (empty at the top): the prefix of the header cache's keys.
    rel: Arc<[u8]>,
    names: Vec<OsString>,
    /// Files of a directory unchanged since the header cache was written, as the cache's
    /// entries (named by the cache: no listing, no copy of their names).
    cached: Vec<u32>,
}

/// Files per batch: large enough that the queue's lock is rare, small enough that the
/// readers start while the directory is still being listed.
const BATCH: usize = 64;

/// Reads and parses every migration file below `dir`. All file errors are collected, so a
/// user fixes them in one pass. The result is in path order.
pub fn load(dir: &Path) -> Result<Vec<Revision>, LoadError> {
    load_to(dir, Depth::Full)
}

/// [`load`], reading each file only as deep as `depth`.
pub fn load_to(dir: &Path, depth: Depth) -> Result<Vec<Revision>, LoadError> {
    let mut revisions = load_unsorted(dir, depth, false)?;
    sort_by_path(dir, &mut revisions);
    Ok(revisions)
}

/// [`load_to`] with [`Depth::Headers`], taking the header of every file whose `stat` is
/// unchanged from the header cache in `dir/.strata-cache` (see [`crate::header_cache`]),
/// and rewriting the cache when a file was added, changed or removed.
pub fn load_headers_cached(dir: &Path) -> Result<Vec<Revision>, LoadError> {
    let mut revisions = load_unsorted(dir, Depth::Headers, true)?;
    sort_by_path(dir, &mut revisions);
    Ok(revisions)
}

fn sort_by_path(dir: &Path, revisions: &mut [Revision]) {
    // Every path starts with `dir`: compare what follows it.
    let skip = dir.as_os_str().len();
    fn tail(r: &Revision, skip: usize) -> &[u8] {
        &r.path.as_os_str().as_encoded_bytes()[skip..]
    }
    revisions.sort_unstable_by(|a, b| tail(a, skip).cmp(tail(b, skip)));
}

/// What one reader thread found.
#[derive(Default)]
struct Found {
    revisions: Vec<Revision>,
    /// With the cache: the stamp of each revision's file, taken before it was read.
    stamps: Vec<Option<Stamp>>,
    errors: Vec<FileError>,
    hits: usize,
}

/// The revisions below `dir` in no particular order (the graph sorts them by id), through
/// the header cache when `use_cache` (with [`Depth::Headers`] only).
///
/// The directory is listed on this thread while a pool of readers opens, reads and
/// parses the files already listed: at 10,000 files listing alone takes milliseconds,
/// and reading waits on the disk more than on the CPU when the page cache is cold, so
/// the pool is sized for I/O, not by the number of cores.
pub(crate) fn load_unsorted(
    dir: &Path,
    depth: Depth,
    use_cache: bool,
) -> Result<Vec<Revision>, LoadError> {
    assert!(
        !use_cache || depth == Depth::Headers,
        "the cache holds headers only"
    );
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads = if use_cache {
        // Mostly `stat`s and copies out of the cache: work for the CPU, not the disk.
        cores.clamp(2, 16)
    } else {
        (cores * 2).clamp(4, 16)
    };
    let queue = Mutex::new(Queue::default());
    let ready = Condvar::new();
    let cache = if use_cache { Cache::open(dir) } else { None };
    let mut listing = Listing {
        cache: cache.as_ref(),
        ..Listing::default()
    };
    let (found, listed) = std::thread::scope(|s| {
        let (queue, ready, cache) = (&queue, &ready, cache.as_ref());
        let worker = move || {
            let mut reader = Reader::new();
            let mut found = Found::default();
            // Room for this reader's share of the cached files up front: in a process
            // that loads again and again (a service embedding strata), growing a vector
            // of 10,000 revisions remaps it several times, and every remap stops the
            // other threads to flush their TLBs (10,000 cached headers: 20 -> 15 ms).
            let share = cache.map_or(0, Cache::len) / threads + BATCH;
            found.revisions.reserve(share);
            if use_cache {
                found.stamps.reserve(share);
            }
            let mut key = Vec::new();
            while let Some(batch) = Queue::next(queue, ready) {
                // Files of an unchanged directory come as cache entries, listed ones by name.
                let entries = batch
                    .cached
                    .iter()
                    .filter_map(|&i| cache.map(|c| (c.file_name(i, batch.rel.len()), Some(i))));
                let listed = batch.names.iter().map(|n| (n.as_os_str(), None));
                for (name, entry) in entries.chain(listed) {
                    let stamp = if use_cache {
                        reader.stamp(&batch.dir, name)
                    } else {
                        None
                    };
                    if let (Some(cache), Some(stamp)) = (cache, &stamp) {
                        let path = || batch.dir.join(name);
                        let hit = match entry {
                            Some(i) => cache.entry(i, stamp, path),
                            None => {
                                key.clear();
                                key.extend_from_slice(&batch.rel);
                                key.extend_from_slice(name.as_encoded_bytes());
                                cache.lookup(&key, stamp, path)
                            }
                        };
                        if let Some(r) = hit {
                            found.revisions.push(r);
                            found.stamps.push(Some(*stamp));
                            found.hits += 1;
                            continue;
                        }
                    }
                    match reader.parse(&batch.dir, name, depth) {
                        Ok(r) => {
                            found.revisions.push(r);
                            if use_cache {
                                found.stamps.push(stamp);
                            }
                        }
                        Err(e) => found.errors.push(e),
                    }
                }
            }
            found
        };
        let mut workers = Vec::new();
        let listed = walk(
            dir,
            &mut |batch| {
                // Readers start as work appears: a project of a few files starts one.
                if workers.len() < threads {
                    workers.push(s.spawn(worker));
                }
                Queue::push(queue, ready, batch);
            },
            use_cache.then_some(&mut listing),
        );
        Queue::close(queue, ready);
        let mut all = Found::default();
        for w in workers {
            let mut f = w.join().expect("reader thread panicked");
            if all.revisions.capacity() < f.revisions.capacity() {
                // Append to the largest: fewer revisions copied.
                std::mem::swap(&mut all.revisions, &mut f.revisions);
                std::mem::swap(&mut all.stamps, &mut f.stamps);
            }
            all.revisions.append(&mut f.revisions);
            all.stamps.append(&mut f.stamps);
            all.errors.append(&mut f.errors);
            all.hits += f.hits;
        }
        (all, listed)
    });
    listed?;
    let Found {
        revisions,
        stamps,
        mut errors,
        hits,
    } = found;
    if !errors.is_empty() {
        errors.sort_by(|a, b| a.path.cmp(&b.path));
        return Err(LoadError::Files(errors));
    }
    let cached = cache.as_ref().map_or(0, Cache::len);
    if use_cache && (listing.listed || hits != revisions.len() || cached != revisions.len()) {
        // A file or directory was added, changed or removed since the cache was written.
        let entries: Vec<(Stamp, &Revision)> = stamps
            .iter()
            .zip(&revisions)
            .filter_map(|(s, r)| Some(((*s)?, r)))
            .collect();
        header_cache::write(dir, &entries, &listing.dirs);
    }
    Ok(revisions)
}

#[derive(Default)]
struct Queue {
    batches: Vec<Batch>,
    closed: bool,
}

impl Queue {
    fn push(queue: &Mutex<Queue>, ready: &Condvar, batch: Batch) {
        queue.lock().expect("queue").batches.push(batch);
        ready.notify_one();
    }

    fn close(queue: &Mutex<Queue>, ready: &Condvar) {
        queue.lock().expect("queue").closed = true;
        ready.notify_all();
    }

    fn next(queue: &Mutex<Queue>, ready: &Condvar) -> Option<Batch> {
        let mut q = queue.lock().expect("queue");
        loop {
            if let Some(b) = q.batches.pop() {
                return Some(b);
            }
            if q.closed {
                return None;
            }
            q = ready.wait(q).expect("queue");
        }
    }
}

/// With the header cache, what [`walk`] learns about each directory: its stamp and its
/// sub-directories, for the cache to record; and whether any directory had to be listed
/// (or could not be stamped), for the cache to be rewritten.
#[derive(Default)]
struct Listing<'c> {
    cache: Option<&'c Cache>,
    dirs: Vec<DirRecord>,
    listed: bool,
}

/// Walks the migrations directory (not hidden directories, not `repeatable/` at the top),
/// handing the `*.sql` files to `found` in batches of one directory's files.
///
/// With a `listing`, a directory whose `stat` is what the header cache recorded (its
/// modification time moves whenever an entry is added, removed or renamed in it) is not
/// listed again: its files and sub-directories come from the cache, as git's untracked
/// cache does. Only its files' own `stat`s are then taken, by the readers.
fn walk(
    dir: &Path,
    found: &mut dyn FnMut(Batch),
    mut listing: Option<&mut Listing<'_>>,
) -> Result<(), LoadError> {
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let err = |path: &Path, e: std::io::Error| LoadError::Directory {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let here = Arc::new(d.clone());
        let rel: Arc<[u8]> = match d.strip_prefix(dir) {
            Ok(r) if !r.as_os_str().is_empty() => {
                let mut v = Vec::new();
                for c in r.components() {
                    v.extend_from_slice(c.as_os_str().as_encoded_bytes());
                    v.push(b'/');
                }
                v.into()
            }
            _ => Arc::from(&b""[..]),
        };
        let mut emit = |names: Vec<OsString>, cached: Vec<u32>| {
            found(Batch {
                dir: here.clone(),
                rel: rel.clone(),
                names,
                cached,
            })
        };
        if let Some(listing) = listing.as_deref_mut() {
            let stamp = dir_stamp(&d);
            let cached = match (listing.cache, &stamp) {
                (Some(cache), Some(stamp)) => cache.dir(&rel, stamp),
                _ => None,
            };
            if let Some(cached) = cached {
                for files in cached.files.chunks(BATCH) {
                    emit(Vec::new(), files.to_vec());
                }
                pending.extend(cached.subdirs.iter().map(|s| d.join(s)));
                listing.dirs.push(DirRecord {
                    rel: rel.to_vec(),
                    stamp: stamp.expect("a cached directory has a stamp"),
                    subdirs: cached.subdirs,
                });
                continue;
            }
            listing.listed = true;
            if let Some(stamp) = stamp {
                // Stamped before listing: a change in between is seen next time.
                listing.dirs.push(DirRecord {
                    rel: rel.to_vec(),
                    stamp,
                    subdirs: Vec::new(),
                });
            }
        }
        let entries = fs::read_dir(&d).map_err(|e| err(&d, e))?;
        let mut names = Vec::with_capacity(BATCH);
        let mut subdirs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| err(&d, e))?;
            let name = entry.file_name();
            let file_type = entry.file_type().map_err(|e| err(&d.join(&name), e))?;
            if file_type.is_dir() {
                let hidden = name
                    .to_str()
                    .is_some_and(|n| n.starts_with('.') || (d == dir && n == REPEATABLE_DIR));
                if !hidden {
                    pending.push(d.join(&name));
                    subdirs.push(name);
                }
            } else if Path::new(&name).extension().is_some_and(|e| e == "sql") {
                names.push(name);
                if names.len() == BATCH {
                    emit(
                        std::mem::replace(&mut names, Vec::with_capacity(BATCH)),
                        Vec::new(),
                    );
                }
            }
        }
        if !names.is_empty() {
            emit(names, Vec::new());
        }
        if let Some(record) = listing.as_deref_mut().and_then(|l| l.dirs.last_mut()) {
            if record.rel[..] == rel[..] {
                record.subdirs = subdirs;
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn dir_stamp(d: &Path) -> Option<Stamp> {
    Stamp::of_dir(&rustix::fs::stat(d).ok()?)
}

#[cfg(not(unix))]
fn dir_stamp(_: &Path) -> Option<Stamp> {
    None
}

/// Lists the migration files below `dir`, sorted by path.
pub fn list_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    walk(
        dir,
        &mut |b| out.extend(b.names.iter().map(|n| b.dir.join(n))),
        None,
    )?;
    out.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    Ok(out)
}

/// Reads and parses the repeatable scripts: every `*.sql` file directly in
/// `dir/repeatable/` (none when it does not exist), sorted by file name, which is the
/// order they run in.
pub fn load_repeatables(dir: &Path) -> Result<Vec<Repeatable>, LoadError> {
    let rdir = dir.join(REPEATABLE_DIR);
    if !rdir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = fs::read_dir(&rdir).map_err(|e| LoadError::Directory {
        path: rdir.clone(),
        message: e.to_string(),
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| LoadError::Directory {
            path: rdir.clone(),
            message: e.to_string(),
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "sql") && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    let mut out = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for path in files {
        let parsed = fs::read_to_string(&path)
            .map_err(|e| FileError {
                path: path.clone(),
                line: 0,
                kind: FileErrorKind::Io(e.to_string()),
            })
            .and_then(|text| revision::parse_repeatable(&path, &text));
        match parsed {
            Ok(r) => out.push(r),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(LoadError::Files(errors))
    }
}

/// The content of the HEADS file: one `BRANCH REVISION` line per head (a head without a
/// branch label is written as its id alone), sorted, below a comment that explains it.
pub fn render_heads(heads: &[(Option<String>, String)]) -> String {
    let mut lines: Vec<String> = heads
        .iter()
        .map(|(branch, id)| match branch {
            Some(b) => format!("{b} {id}"),
            None => id.clone(),
        })
        .collect();
    lines.sort();
    let mut s = String::from(
        "# The head of every branch, written by `strata new`, `merge` and `rebase`; checked by `strata check`.\n\
         # Two changes that each add a revision conflict here in git: resolve it with `strata merge` or `strata rebase`.\n",
    );
    for l in lines {
        s.push_str(&l);
        s.push('\n');
    }
    s
}

/// Parses a HEADS file into `(branch, revision)` pairs; comment lines are skipped.
/// Git conflict markers make it unparseable, which `check` reports.
pub fn parse_heads(text: &str) -> Result<Vec<(Option<String>, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("<<<<<<<") || line.starts_with("=======") || line.starts_with(">>>>>>>")
        {
            return Err(format!("line {}: unresolved git conflict marker", i + 1));
        }
        let mut words = line.split_whitespace();
        let (a, b) = (words.next(), words.next());
        match (a, b, words.next()) {
            (Some(id), None, None) => out.push((None, id.to_string())),
            (Some(branch), Some(id), None) => out.push((Some(branch.to_string()), id.to_string())),
            _ => {
                return Err(format!(
                    "line {}: expected `BRANCH REVISION` or `REVISION`",
                    i + 1
                ))
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn headers_and_full_loads_agree_on_every_header_whatever_the_file_size() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        // A header longer than the reader's first read (16 KiB), a body longer than it,
        // a multi-byte character across the first read's end, and a nested directory.
        let long_message = "é".repeat(12 * 1024);
        write(dir, "a.sql", &format!("-- revision: a\n-- parents:\n-- message: {long_message}\n\n-- +upgrade\nSELECT 1;\n"));
        let long_body = "SELECT 'x';\n".repeat(4000);
        write(
            dir,
            "b.sql",
            &format!("-- revision: b\n-- parents: a\n\n-- +upgrade\n{long_body}"),
        );
        write(
            dir,
            "sub/c.sql",
            "-- revision: c\n-- parents: b\n-- branch: core\n-- +upgrade\nSELECT 1;",
        );
        let full = load(dir).unwrap();
        let headers = load_to(dir, Depth::Headers).unwrap();
        assert_eq!(full.len(), 3);
        for (f, h) in full.iter().zip(&headers) {
            assert_eq!(
                (&f.id, &f.parents, &f.message, &f.branch, &f.path),
                (&h.id, &h.parents, &h.message, &h.branch, &h.path)
            );
            assert!(f.has_body && !h.has_body);
        }
        assert_eq!(headers[0].message, long_message);
        assert_eq!(full[1].upgrade.plain.as_ref().unwrap().sql, long_body);
    }

    #[test]
    fn invalid_utf8_is_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "a.sql",
            "-- revision: a\n-- parents:\n\n-- +upgrade\nSELECT '\u{0}';\n",
        );
        let mut bytes = std::fs::read(tmp.path().join("a.sql")).unwrap();
        bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
        std::fs::write(tmp.path().join("a.sql"), bytes).unwrap();
        let Err(LoadError::Files(errors)) = load(tmp.path()) else {
            panic!("expected an error")
        };
        assert!(errors[0].path.ends_with("a.sql"));
        assert!(
            matches!(&errors[0].kind, FileErrorKind::Io(m) if m.contains("UTF-8")),
            "{:?}",
            errors[0].kind
        );
    }
}

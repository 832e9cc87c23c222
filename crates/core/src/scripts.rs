//! The migrations directory: every `*.sql` file below it (except `repeatable/`), parsed in
//! parallel; the repeatable scripts in `repeatable/`; and the `HEADS` file that makes
//! parallel heads a git conflict.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use crate::control_chars;
use crate::error::{FileError, FileErrorKind, LoadError};
use crate::files::{self, DEFAULT_MAX_FILE_SIZE};
use crate::header_cache::{self, Cache, DirRecord, Stamp};
use crate::revision::{self, Depth, Repeatable, Revision};
use crate::shared_text::SharedText;

/// How a migrations directory is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    pub depth: Depth,
    /// Take unchanged files from the header cache, and keep it up to date
    /// ([`crate::header_cache`]). With [`Depth::Headers`]: their headers. With
    /// [`Depth::Full`]: a file unchanged since a load that read it whole is not opened: it
    /// comes as its header and the checksum of its upgrade sections, without the sections
    /// ([`Revision::has_body`] false); every other file is read whole. The caller reads the
    /// sections it needs later ([`crate::bodies`]): `upgrade` those of pending revisions.
    pub header_cache: bool,
    /// A file larger than this many bytes is an error (`[migrations] max_file_size`).
    pub max_file_size: u64,
    /// Refuse transaction-control statements in transactional revisions (the default;
    /// only tests of the executor's own check turn it off).
    pub refuse_transaction_control: bool,
}

impl LoadOptions {
    /// Reading to `depth`, without the cache, with the default size limit.
    pub fn new(depth: Depth) -> LoadOptions {
        LoadOptions {
            depth,
            header_cache: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            refuse_transaction_control: true,
        }
    }
}

/// Name of the file, inside the migrations directory, that lists the head of every branch.
pub const HEADS_FILE: &str = "HEADS";
/// Sub-directory for repeatable scripts; never read as revisions.
pub const REPEATABLE_DIR: &str = "repeatable";

/// The largest read buffer a loader thread keeps for its next file.
const KEPT_BUFFER: usize = 1 << 20;

/// Reads migration files for one loader thread: one reused buffer and, on Unix, the
/// open directory the files are opened relative to (a path walk of one component per
/// file instead of the whole path: at 10,000 files the kernel's work dominates).
struct Reader {
    buf: Vec<u8>,
    #[cfg(unix)]
    dir: Option<(Arc<PathBuf>, std::os::fd::OwnedFd)>,
    max_file_size: u64,
}

impl Reader {
    fn new(max_file_size: u64) -> Reader {
        Reader {
            buf: vec![0; 16 * 1024],
            #[cfg(unix)]
            dir: None,
            max_file_size,
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

    /// Opens a migration file under the rules of [`files`]: a regular file (or a symlink
    /// to one) within the size limit, opened without blocking on a FIFO.
    #[cfg(unix)]
    /// Returns the file and its length.
    fn open(&mut self, dir: &Arc<PathBuf>, name: &OsStr) -> Result<(fs::File, u64), FileErrorKind> {
        let limit = self.max_file_size;
        let fd = self
            .dir_fd(dir)
            .map_err(|e| FileErrorKind::Io(e.to_string()))?;
        files::open_regular_at(fd, name, limit)
    }

    #[cfg(not(unix))]
    fn open(&mut self, dir: &Arc<PathBuf>, name: &OsStr) -> Result<(fs::File, u64), FileErrorKind> {
        files::open_regular(&dir.join(name), self.max_file_size)
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
        if to_end {
            // Room for the whole file at once: growing by doubling would hold two buffers
            // (and up to twice the file) while the last one is copied.
            if let Ok(meta) = file.metadata() {
                let want = usize::try_from(meta.len().min(self.max_file_size))
                    .unwrap_or(usize::MAX)
                    .saturating_add(filled)
                    .saturating_add(1);
                if self.buf.len() < want {
                    self.buf.resize(want, 0);
                }
            }
        }
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

    /// Reads and parses the file `name` in `dir` to `depth`. A whole file is read into a
    /// buffer of its own, which becomes the text its sections are spans of: a file is held
    /// once, however large. For headers, one read into the reused buffer usually holds the
    /// whole header block; only a longer header makes it read on to the end of the file,
    /// and a buffer grown for a large file is given back at once.
    fn parse(
        &mut self,
        dir: &Arc<PathBuf>,
        name: &OsStr,
        depth: Depth,
    ) -> Result<Revision, FileError> {
        let path = dir.join(name);
        let at = |line: usize, kind: FileErrorKind| FileError {
            path: path.clone(),
            line,
            kind,
        };
        let (file, size) = self.open(dir, name).map_err(|kind| at(0, kind))?;
        if depth == Depth::Full {
            let bytes =
                files::read_opened(file, size, self.max_file_size).map_err(|kind| at(0, kind))?;
            let text = files::decode_owned(bytes).map_err(|(line, kind)| at(line, kind))?;
            return revision::parse_shared(&path, SharedText::whole(text));
        }
        let parsed = self.parse_header(file, &path);
        if self.buf.len() > KEPT_BUFFER {
            self.buf = vec![0; 16 * 1024];
        }
        parsed
    }

    fn parse_header(&mut self, mut file: fs::File, path: &Path) -> Result<Revision, FileError> {
        let depth = Depth::Headers;
        let at = |line: usize, kind: FileErrorKind| FileError {
            path: path.to_path_buf(),
            line,
            kind,
        };
        let io = |e: std::io::Error| at(0, FileErrorKind::Io(e.to_string()));
        let mut filled = self.fill(&mut file, 0, false).map_err(io)?;
        let mut whole = filled == 0;
        loop {
            // A file that grew after it was checked still stops at the limit.
            if filled as u64 > self.max_file_size {
                return Err(at(
                    0,
                    FileErrorKind::TooLarge {
                        size: filled as u64,
                        limit: self.max_file_size,
                    },
                ));
            }
            // A partial read may end inside a character: parse up to it.
            let complete = match std::str::from_utf8(&self.buf[..filled]) {
                Err(e) if !whole && e.error_len().is_none() => e.valid_up_to(),
                _ => filled,
            };
            let text =
                files::decode(&self.buf[..complete]).map_err(|(line, kind)| at(line, kind))?;
            if let Some(r) = revision::parse_with(path, text, depth, whole)? {
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
    load_with(dir, &LoadOptions::new(depth))
}

/// [`load_to`] with [`Depth::Headers`], taking the header of every file whose `stat` is
/// unchanged from the header cache in `dir/.strata-cache` (see [`crate::header_cache`]),
/// and rewriting the cache when a file was added, changed or removed.
pub fn load_headers_cached(dir: &Path) -> Result<Vec<Revision>, LoadError> {
    let opts = LoadOptions {
        header_cache: true,
        ..LoadOptions::new(Depth::Headers)
    };
    load_with(dir, &opts)
}

/// [`load`] as `opts` say.
pub fn load_with(dir: &Path, opts: &LoadOptions) -> Result<Vec<Revision>, LoadError> {
    let mut revisions = load_unsorted(dir, opts)?;
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
pub(crate) fn load_unsorted(dir: &Path, opts: &LoadOptions) -> Result<Vec<Revision>, LoadError> {
    let (depth, use_cache, max_file_size) = (opts.depth, opts.header_cache, opts.max_file_size);
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
            let mut reader = Reader::new(max_file_size);
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
                    if entry.is_none() {
                        // Names from the cache were checked when they were listed.
                        if let Some(e) = control_in_name(&batch.dir, &batch.rel, name) {
                            found.errors.push(e);
                            continue;
                        }
                    }
                    let stamp = stamp.filter(|s| s.size() <= max_file_size);
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
                        // Read whole, a file is taken from the cache only with its checksum.
                        let hit = hit.filter(|r| depth == Depth::Headers || r.has_known_checksum());
                        if let Some(r) = hit {
                            found.revisions.push(r);
                            found.stamps.push(Some(*stamp));
                            found.hits += 1;
                            continue;
                        }
                    }
                    match reader.parse(&batch.dir, name, depth) {
                        Ok(mut r) => {
                            if use_cache && r.has_body {
                                // For the cache, here on the loader's threads.
                                r.remember_checksum();
                            }
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
            let sql = Path::new(&name).extension().is_some_and(|e| e == "sql");
            if file_type.is_dir() {
                let hidden = name
                    .to_str()
                    .is_some_and(|n| n.starts_with('.') || (d == dir && n == REPEATABLE_DIR));
                if sql && !hidden {
                    // Not walked into: read as a file, it is an error naming it.
                    names.push(name);
                } else if !hidden {
                    pending.push(d.join(&name));
                    subdirs.push(name);
                }
            } else if sql {
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

/// An error for a file whose name, or the name of a directory below the migrations
/// directory (`rel`) that holds it, has a control character: it would be written into
/// the comments of offline scripts.
fn control_in_name(dir: &Path, rel: &[u8], name: &OsStr) -> Option<FileError> {
    let rel = String::from_utf8_lossy(rel);
    let name_text = name.to_string_lossy();
    let (_, ch) = control_chars::find(&rel).or_else(|| control_chars::find(&name_text))?;
    Some(FileError {
        path: dir.join(name),
        line: 0,
        kind: FileErrorKind::ControlCharacter { ch, column: 0 },
    })
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
    load_repeatables_with(dir, DEFAULT_MAX_FILE_SIZE)
}

/// [`load_repeatables`] with a size limit for each file.
pub fn load_repeatables_with(dir: &Path, max_file_size: u64) -> Result<Vec<Repeatable>, LoadError> {
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
        if path.extension().is_some_and(|e| e == "sql") {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    let mut out = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for path in files {
        let at = |line: usize, kind: FileErrorKind| FileError {
            path: path.clone(),
            line,
            kind,
        };
        let parsed = files::read_regular(&path, max_file_size)
            .map_err(|kind| at(0, kind))
            .and_then(|bytes| match files::decode_owned(bytes) {
                Ok(text) => revision::parse_repeatable_shared(&path, SharedText::whole(text)),
                Err((line, kind)) => Err(at(line, kind)),
            });
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
        assert_eq!(&*full[1].upgrade.plain.as_ref().unwrap().sql, long_body);
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
        // The line and byte where the text stops being UTF-8.
        assert_eq!(errors[0].line, 6);
        assert!(
            matches!(
                &errors[0].kind,
                FileErrorKind::NotUtf8 {
                    byte: 0xFF,
                    offset: 52,
                    column: 1,
                    ..
                }
            ),
            "{:?}",
            errors[0].kind
        );
    }
}

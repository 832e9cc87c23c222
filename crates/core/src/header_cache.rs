//! The header cache: the parsed header block of every migration file, kept in
//! `MIGRATIONS/.strata-cache/headers` for the commands that read only headers (`heads`,
//! `history`, `branches`, `current`), and, for a file that a load read whole, the
//! checksum of its upgrade sections: `upgrade` and `status` compare that with the history
//! without opening a file that is unchanged (see [`crate::scripts::LoadOptions`]). A
//! changed file misses, so an edited applied revision is still read and refused.
//!
//! Opening, reading and closing 10,000 small files costs the kernel far more than one
//! `stat` of each, so a file whose `stat` is what the cache recorded is not opened: its
//! header comes from the cache. The `stat` compared is the inode, the size, and the
//! modification and change times to the nanosecond, as git's index and Python's
//! `__pycache__` do. The change time cannot be set by a program (`touch -d`, `rsync -t`,
//! `tar` set the modification time only, and the change time moves on), so an edited file
//! never matches its old entry. A directory is not even listed when its own `stat` is
//! what the cache recorded (adding, removing or renaming an entry changes a directory's
//! times), as git's untracked cache does: its files and sub-directories come from the
//! cache, and only the files' `stat`s are taken.
//!
//! A file or directory changed shortly before the cache was written ("racily clean" in git's terms: a
//! second edit within the same clock tick leaves the times as they were) is never taken
//! from the cache: its entry is trusted only when the file's times are more than
//! [`RACY_SECS`] older than the cache file itself (both times come from the file system's
//! clock). Everything else is a plain miss: the file is read and parsed, and the cache is
//! rewritten (to a temporary file, renamed over the old one, so readers and concurrent
//! writers never see half a cache). A cache that is missing, from another strata version,
//! truncated or damaged (its checksum) is ignored and rebuilt; one that cannot be written
//! (a read-only checkout) is simply not written. The directory carries a `.gitignore` of
//! `*`, so it never shows up in `git status`.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::files;
use crate::revision::{Revision, Sections};

/// The cache's directory inside the migrations directory (hidden: the loader skips it).
pub const CACHE_DIR: &str = ".strata-cache";
const FILE: &str = "headers";
const MAGIC: &[u8; 16] = b"strata headers\n\0";
/// Bumped whenever the layout or the header parser's meaning changes (3: control
/// characters, reserved names and repeated parents are refused; 4: the checksum of the
/// upgrade sections).
const FORMAT: u32 = 4;
/// A cache file larger than this is not read (about 200 bytes per migration file).
const MAX_SIZE: u64 = 1 << 30;
/// A cached entry is trusted only for a file last changed this many seconds before the
/// cache was written.
pub const RACY_SECS: i64 = 3;

/// What `stat` says about a file, as far as the cache compares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    ino: u64,
    size: u64,
    mtime: (i64, u32),
    ctime: (i64, u32),
}

impl Stamp {
    /// `None` for anything but a regular file.
    #[cfg(unix)]
    pub(crate) fn of(st: &rustix::fs::Stat) -> Option<Stamp> {
        let regular = rustix::fs::FileType::from_raw_mode(st.st_mode as _).is_file();
        regular.then(|| Stamp::from(st))
    }

    /// `None` for anything but a directory.
    #[cfg(unix)]
    pub(crate) fn of_dir(st: &rustix::fs::Stat) -> Option<Stamp> {
        let dir = rustix::fs::FileType::from_raw_mode(st.st_mode as _).is_dir();
        dir.then(|| Stamp::from(st))
    }

    #[cfg(unix)]
    fn from(st: &rustix::fs::Stat) -> Stamp {
        #[allow(clippy::unnecessary_cast)] // the field types differ between targets
        Stamp {
            ino: st.st_ino as u64,
            size: st.st_size as u64,
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as u32),
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as u32),
        }
    }

    /// The file's size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    fn changed_at(&self) -> (i64, u32) {
        self.mtime.max(self.ctime)
    }
}

/// One cached file: where its name and header are in the buffer, and its stamp.
struct Entry {
    name: (u32, u32),
    stamp: Stamp,
    header: (u32, u32),
}

/// A directory as the loader saw it: recorded in the cache so that an unchanged one is not
/// listed again.
pub(crate) struct DirRecord {
    /// Relative to the migrations directory, `/`-separated with a trailing `/` (empty for
    /// the top).
    pub rel: Vec<u8>,
    /// Taken before the directory was listed.
    pub stamp: Stamp,
    /// The sub-directories the loader walks into (not hidden ones, not `repeatable/`).
    pub subdirs: Vec<OsString>,
}

/// A cached directory that is unchanged: what listing it would find.
pub(crate) struct CachedDir {
    /// Its `*.sql` files, as entries of the cache (their names: [`Cache::file_name`]).
    pub files: Vec<u32>,
    pub subdirs: Vec<OsString>,
}

struct DirEntry {
    rel: (u32, u32),
    stamp: Stamp,
    subdirs: Vec<(u32, u32)>,
    files: Vec<u32>,
}

/// A cache read from disk. Lookups are read-only, so the loader's threads share it.
pub(crate) struct Cache {
    buf: Vec<u8>,
    entries: Vec<Entry>,
    dirs: Vec<DirEntry>,
    /// Entries by name, built on first use: a load where every directory is unchanged
    /// finds its entries through [`Cache::dir`] and never needs it.
    table: std::sync::OnceLock<hashbrown::HashTable<u32>>,
    /// Files changed at or after this time are read, whatever their entry says.
    racy_from: (i64, u32),
}

impl Cache {
    /// The cache of the migrations directory `dir`, if there is a usable one.
    ///
    /// It is read under the rules of [`crate::files`] (a regular file, opened without
    /// blocking, of at most [`MAX_SIZE`] bytes): a FIFO or `/dev/zero` put in its place is
    /// no cache.
    pub(crate) fn open(dir: &Path) -> Option<Cache> {
        use std::io::Read;
        let (file, size) = files::open_regular(&dir.join(CACHE_DIR).join(FILE), MAX_SIZE).ok()?;
        let written = file_time(&file.metadata().ok()?)?;
        let mut buf = Vec::with_capacity(size as usize + 1);
        file.take(MAX_SIZE + 1).read_to_end(&mut buf).ok()?;
        Cache::decode(buf, (written.0 - RACY_SECS, written.1))
    }

    fn decode(buf: Vec<u8>, racy_from: (i64, u32)) -> Option<Cache> {
        let mut c = Cursor { buf: &buf, at: 0 };
        if c.bytes(MAGIC.len())? != MAGIC || c.u32()? != FORMAT {
            return None;
        }
        let version_len = c.u32()? as usize;
        if c.bytes(version_len)? != env!("CARGO_PKG_VERSION").as_bytes() {
            return None;
        }
        let sum = c.u64()?;
        let body = c.at;
        if hash(&buf[body..]) != sum {
            return None;
        }
        let count = c.u32()? as usize;
        let mut entries = Vec::with_capacity(count.min(buf.len() / 64));
        for _ in 0..count {
            let name = c.range()?;
            let stamp = c.stamp()?;
            let header = c.range()?;
            entries.push(Entry {
                name,
                stamp,
                header,
            });
        }
        let ndirs = c.u32()? as usize;
        let mut dirs = Vec::with_capacity(ndirs.min(buf.len() / 64));
        for _ in 0..ndirs {
            let rel = c.range()?;
            let stamp = c.stamp()?;
            let nsub = c.u32()? as usize;
            let mut subdirs = Vec::with_capacity(nsub.min(buf.len()));
            for _ in 0..nsub {
                subdirs.push(c.range()?);
            }
            let nfiles = c.u32()? as usize;
            let mut files = Vec::with_capacity(nfiles.min(buf.len()));
            for _ in 0..nfiles {
                let i = c.u32()?;
                if i as usize >= entries.len() {
                    return None;
                }
                files.push(i);
            }
            dirs.push(DirEntry {
                rel,
                stamp,
                subdirs,
                files,
            });
        }
        if c.at != buf.len() {
            return None;
        }
        Some(Cache {
            buf,
            entries,
            dirs,
            table: std::sync::OnceLock::new(),
            racy_from,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// What listing the directory `rel` would find, if its stamp is the recorded one and
    /// trusted.
    pub(crate) fn dir(&self, rel: &[u8], stamp: &Stamp) -> Option<CachedDir> {
        let buf = &self.buf;
        let at = |r: (u32, u32)| &buf[r.0 as usize..r.1 as usize];
        let d = self.dirs.iter().find(|d| at(d.rel) == rel)?;
        if d.stamp != *stamp || stamp.changed_at() >= self.racy_from {
            return None;
        }
        // Every name must be a file of this directory (not of one below it) and UTF-8,
        // which `file_name` relies on; anything else makes the directory be listed again.
        let ok = d.files.iter().all(|&i| {
            at(self.entries[i as usize].name)
                .strip_prefix(rel)
                .is_some_and(|base| !base.contains(&b'/') && std::str::from_utf8(base).is_ok())
        });
        if !ok {
            return None;
        }
        let subdirs = d
            .subdirs
            .iter()
            .map(|&r| std::str::from_utf8(at(r)).ok().map(OsString::from))
            .collect::<Option<Vec<_>>>()?;
        Some(CachedDir {
            files: d.files.clone(),
            subdirs,
        })
    }

    /// The file name (within its directory, `rel` bytes long) of an entry that
    /// [`Cache::dir`] returned.
    pub(crate) fn file_name(&self, i: u32, rel: usize) -> &OsStr {
        let (from, to) = self.entries[i as usize].name;
        let base = &self.buf[from as usize + rel..to as usize];
        #[cfg(unix)]
        {
            std::os::unix::ffi::OsStrExt::from_bytes(base)
        }
        #[cfg(not(unix))]
        OsStr::new(std::str::from_utf8(base).expect("checked by Cache::dir"))
    }

    /// The revision of entry `i` if `stamp` is the one recorded and trusted; its path is
    /// `path()`.
    pub(crate) fn entry(
        &self,
        i: u32,
        stamp: &Stamp,
        path: impl FnOnce() -> PathBuf,
    ) -> Option<Revision> {
        let e = &self.entries[i as usize];
        if e.stamp != *stamp || stamp.changed_at() >= self.racy_from {
            return None;
        }
        decode_header(&self.buf[e.header.0 as usize..e.header.1 as usize], path())
    }

    /// The revision of the file `name` (relative to the migrations directory, `/`
    /// separated) if its entry matches `stamp` and is trusted; its path is `path()`.
    pub(crate) fn lookup(
        &self,
        name: &[u8],
        stamp: &Stamp,
        path: impl FnOnce() -> PathBuf,
    ) -> Option<Revision> {
        let buf = &self.buf;
        let at = |r: (u32, u32)| &buf[r.0 as usize..r.1 as usize];
        let table = self.table.get_or_init(|| {
            let mut table = hashbrown::HashTable::with_capacity(self.entries.len());
            for (i, e) in self.entries.iter().enumerate() {
                table.insert_unique(hash(at(e.name)), i as u32, |&j| {
                    hash(at(self.entries[j as usize].name))
                });
            }
            table
        });
        let &i = table.find(hash(name), |&i| at(self.entries[i as usize].name) == name)?;
        self.entry(i, stamp, path)
    }
}

#[cfg(unix)]
fn file_time(meta: &std::fs::Metadata) -> Option<(i64, u32)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.mtime(), meta.mtime_nsec() as u32))
}

#[cfg(not(unix))]
fn file_time(_: &std::fs::Metadata) -> Option<(i64, u32)> {
    None
}

/// Writes the cache of `dir` from `revisions` (each with the stamp taken before its file
/// was read). Best effort: a directory that cannot be written keeps no cache, and neither
/// does one whose `.strata-cache` is not a directory of its own (a symlink is not
/// followed) or whose cache file is a symlink ([`files::replace`]).
pub(crate) fn write(dir: &Path, revisions: &[(Stamp, &Revision)], dirs: &[DirRecord]) {
    let cache_dir = dir.join(CACHE_DIR);
    match std::fs::symlink_metadata(&cache_dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return,
        Err(_) => {
            if std::fs::create_dir(&cache_dir).is_err() {
                return;
            }
            let _ = files::replace_unsynced(
                &cache_dir.join(".gitignore"),
                b"# strata's header cache (docs/configuration.md, `cache`): safe to delete, never committed\n*\n",
            );
        }
    }
    let _ = files::replace_unsynced(&cache_dir.join(FILE), &encode(dir, revisions, dirs));
}

fn encode(dir: &Path, revisions: &[(Stamp, &Revision)], dirs: &[DirRecord]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + revisions.len() * 192);
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, FORMAT);
    put_str(&mut out, env!("CARGO_PKG_VERSION"));
    let sum_at = out.len();
    out.extend_from_slice(&[0; 8]);
    let body = out.len();
    let names: Vec<Option<Vec<u8>>> = revisions
        .iter()
        .map(|(_, r)| relative_name(dir, &r.path))
        .collect();
    put_u32(
        &mut out,
        names.iter().filter(|n| n.is_some()).count() as u32,
    );
    let mut header = Vec::with_capacity(256);
    // Entry numbers by directory (the part of the name up to its last `/`, inclusive).
    let mut by_dir: std::collections::HashMap<&[u8], Vec<u32>> = Default::default();
    let mut index = 0u32;
    for ((stamp, r), name) in revisions.iter().zip(&names) {
        let Some(name) = name else { continue };
        put_bytes(&mut out, name);
        put_stamp(&mut out, stamp);
        header.clear();
        encode_header(&mut header, r);
        put_bytes(&mut out, &header);
        let parent = name.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
        by_dir.entry(&name[..parent]).or_default().push(index);
        index += 1;
    }
    put_u32(&mut out, dirs.len() as u32);
    for d in dirs {
        put_bytes(&mut out, &d.rel);
        put_stamp(&mut out, &d.stamp);
        put_u32(&mut out, d.subdirs.len() as u32);
        for s in &d.subdirs {
            put_bytes(&mut out, s.as_encoded_bytes());
        }
        let files = by_dir.get(&d.rel[..]).map_or(&[][..], Vec::as_slice);
        put_u32(&mut out, files.len() as u32);
        for &i in files {
            put_u32(&mut out, i);
        }
    }
    let sum = hash(&out[body..]);
    out[sum_at..sum_at + 8].copy_from_slice(&sum.to_le_bytes());
    out
}

/// `path` relative to `dir`, `/`-separated: the key the loader looks files up by.
fn relative_name(dir: &Path, path: &Path) -> Option<Vec<u8>> {
    let rel = path.strip_prefix(dir).ok()?;
    let mut out = Vec::new();
    for (i, c) in rel.components().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(c.as_os_str().as_encoded_bytes());
    }
    Some(out)
}

fn encode_header(out: &mut Vec<u8>, r: &Revision) {
    put_str(out, &r.id);
    put_list(out, &r.parents);
    put_str(out, &r.message);
    put_opt(out, r.branch.as_deref());
    put_list(out, &r.depends_on);
    put_list(out, &r.tags);
    out.push(r.transactional as u8);
    put_opt(out, r.created.as_deref());
    put_u32(out, r.parents_line as u32);
    put_u32(out, r.depends_on_line as u32);
    match &r.known_checksum {
        None => out.push(0),
        Some(sum) => {
            out.push(1);
            out.extend_from_slice(sum);
        }
    }
}

fn decode_header(bytes: &[u8], path: PathBuf) -> Option<Revision> {
    let mut c = Cursor { buf: bytes, at: 0 };
    let r = Revision {
        id: c.string()?,
        parents: c.list()?,
        message: c.string()?,
        branch: c.opt()?,
        depends_on: c.list()?,
        tags: c.list()?,
        transactional: c.bytes(1)?[0] != 0,
        created: c.opt()?,
        parents_line: c.u32()? as usize,
        depends_on_line: c.u32()? as usize,
        path,
        upgrade: Sections::default(),
        downgrade: Sections::default(),
        checks: Default::default(),
        has_body: false,
        known_checksum: match c.bytes(1)?[0] {
            0 => None,
            1 => Some(c.bytes(32)?.try_into().ok()?),
            _ => return None,
        },
    };
    (c.at == bytes.len()).then_some(r)
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_stamp(out: &mut Vec<u8>, s: &Stamp) {
    put_u64(out, s.ino);
    put_u64(out, s.size);
    put_u64(out, s.mtime.0 as u64);
    put_u32(out, s.mtime.1);
    put_u64(out, s.ctime.0 as u64);
    put_u32(out, s.ctime.1);
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len() as u32);
    out.extend_from_slice(b);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

fn put_list(out: &mut Vec<u8>, list: &[String]) {
    put_u32(out, list.len() as u32);
    for s in list {
        put_str(out, s);
    }
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// Reads what the `put_*` functions wrote; `None` at the first thing out of bounds.
struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.buf.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(b)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }

    fn stamp(&mut self) -> Option<Stamp> {
        Some(Stamp {
            ino: self.u64()?,
            size: self.u64()?,
            mtime: (self.u64()? as i64, self.u32()?),
            ctime: (self.u64()? as i64, self.u32()?),
        })
    }

    /// A length-prefixed byte string, as a range of the buffer.
    fn range(&mut self) -> Option<(u32, u32)> {
        let n = self.u32()? as usize;
        let start = self.at;
        self.bytes(n)?;
        Some((start as u32, self.at as u32))
    }

    fn string(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        Some(std::str::from_utf8(self.bytes(n)?).ok()?.to_string())
    }

    fn list(&mut self) -> Option<Vec<String>> {
        let n = self.u32()? as usize;
        let mut v = Vec::with_capacity(n.min(self.buf.len()));
        for _ in 0..n {
            v.push(self.string()?);
        }
        Some(v)
    }

    fn opt(&mut self) -> Option<Option<String>> {
        match self.bytes(1)?[0] {
            0 => Some(None),
            1 => Some(Some(self.string()?)),
            _ => None,
        }
    }
}

/// A fast 64-bit hash (8 bytes per step, then a final mix), for the lookup table and the
/// cache's checksum. Not cryptographic: it detects damage, not tampering, and a tampered
/// cache can only lie about files the tamperer could edit anyway.
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(id: &str, path: &str) -> Revision {
        let text = format!(
            "-- revision: {id}\n-- parents: a, b\n-- message: hello {id}\n-- branch: core\n\
             -- depends-on: x\n-- tags: v1, v2\n-- transaction: false\n-- created: 2026-01-01\n\n\
             -- +upgrade\nSELECT 1;\n"
        );
        crate::revision::parse_with(Path::new(path), &text, crate::Depth::Headers, true)
            .unwrap()
            .unwrap()
    }

    fn stamp(n: u64) -> Stamp {
        Stamp {
            ino: n,
            size: 100 + n,
            mtime: (1_000 + n as i64, 5),
            ctime: (1_000 + n as i64, 7),
        }
    }

    #[test]
    fn a_cache_returns_what_it_was_given_and_nothing_for_changed_or_racy_files() {
        let dir = Path::new("/m");
        let a = rev("aaa", "/m/0001_a.sql");
        let b = rev("bbb", "/m/sub/0002_b.sql");
        let buf = encode(dir, &[(stamp(1), &a), (stamp(2), &b)], &[]);
        let cache = Cache::decode(buf.clone(), (2_000, 0)).expect("decodes");
        assert_eq!(cache.len(), 2);
        let got = cache
            .lookup(b"sub/0002_b.sql", &stamp(2), || b.path.clone())
            .expect("hit");
        assert_eq!(format!("{got:?}"), format!("{b:?}"));
        assert!(cache
            .lookup(b"0001_a.sql", &stamp(1), || a.path.clone())
            .is_some());
        // Another inode, size or time: a miss.
        for other in [
            Stamp { ino: 9, ..stamp(1) },
            Stamp {
                size: 1,
                ..stamp(1)
            },
            Stamp {
                mtime: (1_001, 6),
                ..stamp(1)
            },
            Stamp {
                ctime: (1_001, 8),
                ..stamp(1)
            },
        ] {
            assert!(cache.lookup(b"0001_a.sql", &other, PathBuf::new).is_none());
        }
        assert!(cache.lookup(b"nope.sql", &stamp(1), PathBuf::new).is_none());
        // Changed within the racy window before the cache was written: never trusted.
        let racy = Cache::decode(buf.clone(), (1_002, 0)).unwrap();
        assert!(racy
            .lookup(b"0001_a.sql", &stamp(1), PathBuf::new)
            .is_some());
        assert!(racy
            .lookup(b"sub/0002_b.sql", &stamp(2), PathBuf::new)
            .is_none());
    }

    #[test]
    fn an_unchanged_directory_is_listed_from_the_cache() {
        let dir = Path::new("/m");
        let a = rev("aaa", "/m/0001_a.sql");
        let b = rev("bbb", "/m/sub/0002_b.sql");
        let dirs = [
            DirRecord {
                rel: b"".to_vec(),
                stamp: stamp(10),
                subdirs: vec!["sub".into()],
            },
            DirRecord {
                rel: b"sub/".to_vec(),
                stamp: stamp(11),
                subdirs: vec![],
            },
        ];
        let buf = encode(dir, &[(stamp(1), &a), (stamp(2), &b)], &dirs);
        let cache = Cache::decode(buf.clone(), (2_000, 0)).unwrap();
        let names = |d: &CachedDir, rel: usize| -> Vec<&OsStr> {
            d.files.iter().map(|&i| cache.file_name(i, rel)).collect()
        };
        let top = cache.dir(b"", &stamp(10)).expect("unchanged");
        assert_eq!(names(&top, 0), ["0001_a.sql"]);
        assert_eq!(top.subdirs, ["sub"]);
        let sub = cache.dir(b"sub/", &stamp(11)).expect("unchanged");
        assert_eq!(names(&sub, 4), ["0002_b.sql"]);
        assert!(sub.subdirs.is_empty());
        // Changed (an entry added, removed or renamed moves its times), unknown, or racy.
        assert!(cache.dir(b"", &stamp(12)).is_none());
        assert!(cache.dir(b"other/", &stamp(11)).is_none());
        let racy = Cache::decode(buf, (1_011, 0)).unwrap();
        assert!(racy.dir(b"", &stamp(10)).is_some());
        assert!(racy.dir(b"sub/", &stamp(11)).is_none());
    }

    #[test]
    fn a_damaged_truncated_or_foreign_cache_is_ignored() {
        let dir = Path::new("/m");
        let a = rev("aaa", "/m/0001_a.sql");
        let buf = encode(dir, &[(stamp(1), &a)], &[]);
        for cut in 0..buf.len() {
            assert!(Cache::decode(buf[..cut].to_vec(), (2_000, 0)).is_none());
        }
        for i in 0..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x20;
            assert!(
                Cache::decode(bad, (2_000, 0)).is_none(),
                "a flipped byte at {i} went unnoticed"
            );
        }
    }
}

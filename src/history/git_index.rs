//! The small half of git's split index, read and written without touching the big half.
//!
//! With `core.splitIndex`, `.git/index` holds only the entries that changed since git last wrote
//! the shared index (`.git/sharedindex.<hash>`, 200 MB at 2.8 million files) plus a `link`
//! extension naming it. A commit that adds or rewrites a few records only needs to add their
//! entries here: git merges this file over the shared one when it reads the index (an added
//! entry replaces a shared entry of the same name). So a commit on the largest tree reads and
//! writes a few kilobytes instead of 200 MB. The format is git's own (gitformat-index(5));
//! anything this module does not understand makes the caller fall back to plain git.

use sha1::{Digest, Sha1};

/// Fixed part of an on-disk entry: ctime, mtime, dev, ino, mode, uid, gid, size (ten u32),
/// the 20-byte object name and the 16-bit flags.
const FIXED: usize = 62;
const NAME_MASK: u16 = 0x0fff;
const EXTENDED: u16 = 0x4000;
const STAGE_MASK: u16 = 0x3000;
const HASH: usize = 20;

/// One index entry. `stat` holds the ten 32-bit fields in on-disk order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub stat: [u32; 10],
    pub oid: [u8; HASH],
    /// The flags word without its name length and extended bits (both derived on write).
    pub flags: u16,
    /// The second flags word, present when `flags` has the extended bit.
    pub flags2: Option<u16>,
    /// Empty for an entry that replaces a shared entry (git strips those names).
    pub name: Vec<u8>,
}

impl Entry {
    /// A stage-0 entry for a regular file with the given stat data and blob.
    pub fn file(name: &[u8], meta: &std::fs::Metadata, oid: [u8; HASH]) -> Entry {
        use std::os::unix::fs::MetadataExt;
        let mode = file_mode(meta.mode());
        // git keeps the low 32 bits of every field: a heuristic, compared the same way.
        let stat = [
            meta.ctime() as u32,
            meta.ctime_nsec() as u32,
            meta.mtime() as u32,
            meta.mtime_nsec() as u32,
            meta.dev() as u32,
            meta.ino() as u32,
            mode,
            meta.uid(),
            meta.gid(),
            meta.size() as u32,
        ];
        Entry {
            stat,
            oid,
            flags: 0,
            flags2: None,
            name: name.to_vec(),
        }
    }

    pub fn stage(&self) -> u16 {
        (self.flags & STAGE_MASK) >> 12
    }
}

/// A node of the cache-tree (`TREE`) extension: the tree object a directory of the index
/// would be written as, or an invalidated node (`entries` < 0) that git recomputes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheTree {
    pub name: Vec<u8>,
    pub entries: i64,
    pub oid: Option<[u8; HASH]>,
    pub children: Vec<CacheTree>,
}

impl CacheTree {
    fn parse(data: &[u8], pos: &mut usize, depth: usize) -> Option<CacheTree> {
        let node = Node::read(data, pos, depth)?;
        let mut children = Vec::with_capacity(node.subtrees.min(1024));
        for _ in 0..node.subtrees {
            children.push(CacheTree::parse(data, pos, depth + 1)?);
        }
        Some(CacheTree {
            name: node.name.to_vec(),
            entries: node.entries,
            oid: node.oid,
            children,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        write_node(out, &self.name, self.entries, self.children.len(), self.oid);
        for child in &self.children {
            child.write(out);
        }
    }
}

/// The cache-tree extension as git wrote it. A commit only marks the directories along the
/// paths it stages as changed, so the extension is kept as bytes and edited in one pass: at
/// full size it is 300 KB, a node per folder, and building those 12,000 nodes and writing them
/// out again was 1.5 ms of every commit. Its form is checked as it is walked: [`Self::nodes`]
/// gives the tree itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeExtension(Vec<u8>);

impl TreeExtension {
    /// The tree as nodes (`check`'s status walks it); None when the bytes are not exactly one
    /// well-formed tree.
    pub fn nodes(&self) -> Option<CacheTree> {
        let mut at = 0;
        CacheTree::parse(&self.0, &mut at, 0).filter(|_| at == self.0.len())
    }

    /// Marks the directories holding each of `paths` as changed, as git does when it stages
    /// a file (`cache_tree_invalidate_path`); every other node is copied as it is. False, and
    /// nothing changed, when the bytes are not exactly one well-formed tree.
    #[must_use]
    pub fn invalidate<'a>(&mut self, paths: impl IntoIterator<Item = &'a [u8]>) -> bool {
        let paths: Vec<&[u8]> = paths.into_iter().collect();
        let mut out = Vec::with_capacity(self.0.len());
        let mut at = 0;
        if invalidate_node(&self.0, &mut at, &mut out, &paths, 0).is_none() || at != self.0.len() {
            return false;
        }
        self.0 = out;
        true
    }
}

impl From<&CacheTree> for TreeExtension {
    fn from(tree: &CacheTree) -> TreeExtension {
        let mut out = Vec::new();
        tree.write(&mut out);
        TreeExtension(out)
    }
}

/// One node's own fields: `name NUL entries SP subtrees LF [oid]`, its subtrees following.
struct Node<'a> {
    name: &'a [u8],
    entries: i64,
    subtrees: usize,
    oid: Option<[u8; HASH]>,
}

impl<'a> Node<'a> {
    fn read(data: &'a [u8], pos: &mut usize, depth: usize) -> Option<Node<'a>> {
        if depth > 4096 {
            return None;
        }
        let name_end = *pos + memchr::memchr(0, data.get(*pos..)?)?;
        let name = &data[*pos..name_end];
        *pos = name_end + 1;
        let line_end = *pos + memchr::memchr(b'\n', data.get(*pos..)?)?;
        let (count, subtrees) = split_once(&data[*pos..line_end], b' ')?;
        let entries = match count {
            [b'-', digits @ ..] => -(parse_decimal(digits)? as i64),
            digits => parse_decimal(digits)? as i64,
        };
        let subtrees = parse_decimal(subtrees)? as usize;
        *pos = line_end + 1;
        let oid = if entries >= 0 {
            let oid: [u8; HASH] = data.get(*pos..*pos + HASH)?.try_into().ok()?;
            *pos += HASH;
            Some(oid)
        } else {
            None
        };
        Some(Node {
            name,
            entries,
            subtrees,
            oid,
        })
    }
}

fn split_once(bytes: &[u8], at: u8) -> Option<(&[u8], &[u8])> {
    let i = memchr::memchr(at, bytes)?;
    Some((&bytes[..i], &bytes[i + 1..]))
}

/// Digits only, as git writes them (no sign, no spaces), and small enough for any count.
fn parse_decimal(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0u32, |n, d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

fn write_node(
    out: &mut Vec<u8>,
    name: &[u8],
    entries: i64,
    subtrees: usize,
    oid: Option<[u8; HASH]>,
) {
    out.extend_from_slice(name);
    out.push(0);
    push_decimal(out, entries);
    out.push(b' ');
    push_decimal(out, subtrees as i64);
    out.push(b'\n');
    if let (true, Some(oid)) = (entries >= 0, oid) {
        out.extend_from_slice(&oid);
    }
}

/// Moves `pos` past a node and all its subtrees.
fn skip_node(data: &[u8], pos: &mut usize, depth: usize) -> Option<()> {
    let node = Node::read(data, pos, depth)?;
    for _ in 0..node.subtrees {
        skip_node(data, pos, depth + 1)?;
    }
    Some(())
}

/// Copies the node at `pos` and its subtrees to `out`, invalidated along `paths` (relative to
/// this node's directory). A node no path goes through is copied as a whole.
fn invalidate_node(
    data: &[u8],
    pos: &mut usize,
    out: &mut Vec<u8>,
    paths: &[&[u8]],
    depth: usize,
) -> Option<()> {
    let start = *pos;
    let node = Node::read(data, pos, depth)?;
    if paths.is_empty() {
        for _ in 0..node.subtrees {
            skip_node(data, pos, depth + 1)?;
        }
        out.extend_from_slice(&data[start..*pos]);
        return Some(());
    }
    write_node(out, node.name, -1, node.subtrees, None);
    // The paths by their first folder: one pass over them, not one per subtree (an import
    // stages 100,000 files across a thousand shard folders).
    let mut below: std::collections::HashMap<&[u8], Vec<&[u8]>> = std::collections::HashMap::new();
    for path in paths {
        if let Some(slash) = path.iter().position(|b| *b == b'/') {
            below
                .entry(&path[..slash])
                .or_default()
                .push(&path[slash + 1..]);
        }
    }
    for _ in 0..node.subtrees {
        let name_end = *pos + memchr::memchr(0, data.get(*pos..)?)?;
        let inner = below.remove(&data[*pos..name_end]).unwrap_or_default();
        invalidate_node(data, pos, out, &inner, depth + 1)?;
    }
    Some(())
}

// Numbers are written by hand, not through `format!`, which was most of the work when every
// commit wrote every node.

/// `n` in decimal, as `format!("{n}")` spells it.
fn push_decimal(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// The `.git/index` of a split index: its own entries and the extensions worth keeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub version: u32,
    /// Entries replacing shared ones (empty names, in shared order), then added entries
    /// (sorted by name).
    pub entries: Vec<Entry>,
    /// The `link` extension, verbatim: the shared index's name and the delete and replace
    /// bitmaps, which count shared positions and so stay valid while only added entries change.
    pub link: Vec<u8>,
    pub tree: Option<TreeExtension>,
    /// Resolve-undo data (`REUC`), kept verbatim: it is keyed by path, not position.
    pub resolve_undo: Option<Vec<u8>>,
}

/// Why the small index cannot be used; the caller then lets git do the work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Not a split index (or the shared half is not written yet).
    NotSplit,
    /// Too big to be worth reading here: git's whole unsplit index, or a small half that git
    /// let grow. Folding it into a new shared index is the cure.
    TooBig,
    /// Corrupt, truncated, an unknown version, or a required extension this code does not know.
    Unknown(&'static str),
}

/// A small half past this size is not read: at 20,000 entries it is about 2 MB, and an unsplit
/// index of a big tree (200 MB) would otherwise be read and hashed only to learn it is unsplit.
const MAX_SMALL_BYTES: u64 = 64 << 20;

impl Delta {
    /// Reads and parses `.git/index`; a missing or unreadable file is `Unknown`.
    pub fn read(path: &std::path::Path) -> Result<Delta, Unusable> {
        match std::fs::metadata(path) {
            Ok(meta) if meta.len() > MAX_SMALL_BYTES => return Err(Unusable::TooBig),
            Ok(_) => {}
            Err(_) => return Err(Unusable::Unknown("no index file")),
        }
        let bytes = std::fs::read(path).map_err(|_| Unusable::Unknown("unreadable index"))?;
        Delta::parse(&bytes)
    }

    pub fn parse(data: &[u8]) -> Result<Delta, Unusable> {
        use Unusable::Unknown;
        if data.len() < 12 + HASH || &data[..4] != b"DIRC" {
            return Err(Unknown("not an index file"));
        }
        let body = &data[..data.len() - HASH];
        let trailer = &data[data.len() - HASH..];
        // A zero trailer means git skipped the checksum (index.skipHash).
        if trailer.iter().any(|b| *b != 0) && Sha1::digest(body).as_slice() != trailer {
            return Err(Unknown("checksum mismatch"));
        }
        let version = be32(body, 4).ok_or(Unknown("short header"))?;
        if !(2..=4).contains(&version) {
            return Err(Unknown("index version"));
        }
        let count = be32(body, 8).ok_or(Unknown("short header"))? as usize;
        let mut pos = 12;
        let mut entries = Vec::with_capacity(count.min(1 << 20));
        let mut previous: Vec<u8> = Vec::new();
        for _ in 0..count {
            let (entry, next) =
                parse_entry(body, pos, version, &previous).ok_or(Unknown("corrupt entry"))?;
            previous.clone_from(&entry.name);
            entries.push(entry);
            pos = next;
        }
        let tail = parse_extensions(body.get(pos..).ok_or(Unknown("corrupt entry"))?)?;
        let delta = Delta {
            version,
            entries,
            link: tail.link,
            tree: tail.tree,
            resolve_undo: tail.resolve_undo,
        };
        if delta.link.len() < HASH || delta.link[..HASH].iter().all(|b| *b == 0) {
            return Err(Unusable::NotSplit);
        }
        if delta.entries.iter().any(|e| e.stage() != 0) {
            return Err(Unknown("unmerged entries"));
        }
        Ok(delta)
    }

    /// Marks the cache-tree's directories along `paths` as changed. A cache-tree that is not
    /// well formed is dropped: git rebuilds it, and a dropped cache is always correct.
    pub fn invalidate_tree<'a>(&mut self, paths: impl IntoIterator<Item = &'a [u8]>) {
        if let Some(tree) = self.tree.as_mut()
            && !tree.invalidate(paths)
        {
            self.tree = None;
        }
    }

    /// Entries this file holds, added or replacing: what every commit reads and rewrites.
    pub fn held(&self) -> usize {
        self.entries.len()
    }

    /// Entries this file adds on top of the shared index (after the replacing ones).
    pub fn added(&self) -> usize {
        self.entries.len() - self.replacing()
    }

    /// Entries replacing shared ones (git writes them first, with empty names).
    pub fn replacing(&self) -> usize {
        self.entries
            .iter()
            .take_while(|e| e.name.is_empty())
            .count()
    }

    /// Sets the entry for `entry.name`: git applies added entries after the shared index and
    /// its replacements, so an added entry wins over any shared entry of the same name.
    pub fn upsert(&mut self, entry: Entry) {
        let start = self.replacing();
        match self.entries[start..].binary_search_by(|e| e.name.as_slice().cmp(&entry.name)) {
            Ok(i) => self.entries[start + i] = entry,
            Err(i) => self.entries.insert(start + i, entry),
        }
    }

    /// `upsert` for many entries at once: one merge instead of an insertion each.
    pub fn upsert_all(&mut self, mut entries: Vec<Entry>) {
        if entries.len() < 16 {
            entries.into_iter().for_each(|e| self.upsert(e));
            return;
        }
        // Later entries for a name win, as with one upsert after another.
        entries.reverse();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        entries.dedup_by(|later, first| later.name == first.name);
        if self.entries.is_empty() {
            // Nothing to merge with (a first commit into a fresh small index): no copy.
            self.entries = entries;
            return;
        }
        let start = self.replacing();
        let added = self.entries.split_off(start);
        // Merged straight into place: one more list of 100,000 entries after an import is
        // 15 MB.
        self.entries.reserve(added.len() + entries.len());
        let mut old = added.into_iter().peekable();
        for entry in entries {
            while let Some(o) = old.next_if(|o| o.name < entry.name) {
                self.entries.push(o);
            }
            // Replaced by the new entry.
            old.next_if(|o| o.name == entry.name);
            self.entries.push(entry);
        }
        self.entries.extend(old);
    }

    pub fn write(&self) -> Vec<u8> {
        let extended = self.entries.iter().any(|e| e.flags2.is_some());
        // Version 2 cannot hold extended flags; 3 and 4 can.
        let version = if extended && self.version == 2 {
            3
        } else {
            self.version
        };
        let mut out = Vec::with_capacity(64 + self.entries.len() * 96 + self.link.len());
        out.extend_from_slice(b"DIRC");
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&(self.entries.len() as u32).to_be_bytes());
        let mut previous: &[u8] = &[];
        for entry in &self.entries {
            write_entry(&mut out, entry, version, previous);
            previous = &entry.name;
        }
        write_extension(&mut out, b"link", &self.link);
        if let Some(tree) = &self.tree {
            write_extension(&mut out, b"TREE", &tree.0);
        }
        if let Some(reuc) = &self.resolve_undo {
            write_extension(&mut out, b"REUC", reuc);
        }
        let sum = Sha1::digest(&out);
        out.extend_from_slice(&sum);
        out
    }
}

// ---- the whole index as a stream (check's status) ----

/// Bytes kept ahead of the parser: more than any entry (git paths stop at 4,096 bytes).
const AHEAD: usize = 64 << 10;
const WINDOW: usize = 1 << 20;

/// Reads an index file one entry at a time in bounded memory (git's shared index of a
/// 2.8-million-file tree is 200 MB), hashing it on the way to verify its trailer.
pub struct IndexReader {
    file: std::fs::File,
    buf: Vec<u8>,
    at: usize,
    end: usize,
    eof: bool,
    hasher: Sha1,
    version: u32,
    left: u32,
    previous: Vec<u8>,
}

impl IndexReader {
    pub fn open(path: &std::path::Path) -> Result<IndexReader, Unusable> {
        use Unusable::Unknown;
        let file = std::fs::File::open(path).map_err(|_| Unknown("no index file"))?;
        let mut r = IndexReader {
            file,
            buf: vec![0; WINDOW],
            at: 0,
            end: 0,
            eof: false,
            hasher: Sha1::new(),
            version: 0,
            left: 0,
            previous: Vec::new(),
        };
        r.fill()?;
        if r.end < 12 + HASH || &r.buf[..4] != b"DIRC" {
            return Err(Unknown("not an index file"));
        }
        r.version = be32(&r.buf, 4).ok_or(Unknown("short header"))?;
        if !(2..=4).contains(&r.version) {
            return Err(Unknown("index version"));
        }
        r.left = be32(&r.buf, 8).ok_or(Unknown("short header"))?;
        r.at = 12;
        Ok(r)
    }

    /// Keeps at least [`AHEAD`] unparsed bytes in the buffer, unless the file ends first.
    fn fill(&mut self) -> Result<(), Unusable> {
        if self.eof || self.end - self.at >= AHEAD {
            return Ok(());
        }
        self.hasher.update(&self.buf[..self.at]);
        self.buf.copy_within(self.at..self.end, 0);
        self.end -= self.at;
        self.at = 0;
        while self.end < self.buf.len() {
            use std::io::Read;
            let n = self
                .file
                .read(&mut self.buf[self.end..])
                .map_err(|_| Unusable::Unknown("unreadable index"))?;
            if n == 0 {
                self.eof = true;
                break;
            }
            self.end += n;
        }
        Ok(())
    }

    /// The next entry, or None after the last.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, Unusable> {
        if self.left == 0 {
            return Ok(None);
        }
        self.fill()?;
        let (entry, next) =
            parse_entry(&self.buf[..self.end], self.at, self.version, &self.previous)
                .ok_or(Unusable::Unknown("corrupt entry"))?;
        self.previous.clone_from(&entry.name);
        self.at = next;
        self.left -= 1;
        Ok(Some(entry))
    }

    /// After the last entry: the extensions, once the whole file's checksum is verified.
    /// Returns them with the trailer (the checksum, all zero when git skipped it).
    pub fn finish(mut self) -> Result<(Tail, [u8; HASH]), Unusable> {
        use Unusable::Unknown;
        if self.left != 0 {
            return Err(Unknown("entries left unread"));
        }
        self.hasher.update(&self.buf[..self.at]);
        let mut rest = self.buf[self.at..self.end].to_vec();
        drop(self.buf);
        std::io::Read::read_to_end(&mut self.file, &mut rest)
            .map_err(|_| Unknown("unreadable index"))?;
        let body_len = rest
            .len()
            .checked_sub(HASH)
            .ok_or(Unknown("truncated index"))?;
        let (body, trailer) = rest.split_at(body_len);
        self.hasher.update(body);
        let trailer: [u8; HASH] = trailer.try_into().map_err(|_| Unknown("truncated index"))?;
        if trailer.iter().any(|b| *b != 0) && self.hasher.finalize().as_slice() != trailer {
            return Err(Unknown("checksum mismatch"));
        }
        Ok((parse_extensions(body)?, trailer))
    }
}

/// git's index as one sorted stream: a split index's shared half read entry by entry, with
/// the small half's deletions, replacements and additions merged in as git merges them
/// (split-index.c, `merge_base_index`); or a whole unsplit index.
pub struct MergedIndex {
    base: IndexReader,
    /// The shared half's checksum the small half names (None for an unsplit index).
    base_name: Option<[u8; HASH]>,
    pos: u32,
    deleted: std::iter::Peekable<std::vec::IntoIter<u32>>,
    replaced: std::iter::Peekable<std::vec::IntoIter<u32>>,
    replacements: std::vec::IntoIter<Entry>,
    added: std::iter::Peekable<std::vec::IntoIter<Entry>>,
    held: Option<Entry>,
}

impl MergedIndex {
    /// A whole index file on its own.
    pub fn unsplit(path: &std::path::Path) -> Result<MergedIndex, Unusable> {
        let base = IndexReader::open(path)?;
        let (deleted, replaced) = (Vec::new(), Vec::new());
        Ok(MergedIndex::over(
            base,
            None,
            deleted,
            replaced,
            Vec::new(),
            Vec::new(),
        ))
    }

    /// The shared index `delta` links to (in `git_dir`), merged with `delta`.
    pub fn split(git_dir: &std::path::Path, delta: Delta) -> Result<MergedIndex, Unusable> {
        use Unusable::Unknown;
        let (name, deleted, replaced) = parse_link(&delta.link).ok_or(Unknown("corrupt link"))?;
        let shared = git_dir.join(format!("sharedindex.{}", hex(&name)));
        let base = IndexReader::open(&shared)?;
        let replacing = delta.replacing();
        let mut replacements = delta.entries;
        let added = replacements.split_off(replacing);
        if replacements.len() != replaced.len() {
            return Err(Unknown("replacements do not match the link"));
        }
        let name = Some(name);
        Ok(MergedIndex::over(
            base,
            name,
            deleted,
            replaced,
            replacements,
            added,
        ))
    }

    fn over(
        base: IndexReader,
        base_name: Option<[u8; HASH]>,
        deleted: Vec<u32>,
        replaced: Vec<u32>,
        replacements: Vec<Entry>,
        added: Vec<Entry>,
    ) -> MergedIndex {
        MergedIndex {
            base,
            base_name,
            pos: 0,
            deleted: deleted.into_iter().peekable(),
            replaced: replaced.into_iter().peekable(),
            replacements: replacements.into_iter(),
            added: added.into_iter().peekable(),
            held: None,
        }
    }

    /// When the shared half being read was written (seconds); None for an unsplit index.
    pub fn shared_written(&self) -> Option<i64> {
        use std::os::unix::fs::MetadataExt;
        self.base_name?;
        Some(self.base.file.metadata().ok()?.mtime())
    }

    /// The next entry in index order, or None after the last.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, Unusable> {
        while self.held.is_none() {
            let Some(mut entry) = self.base.next_entry()? else {
                break;
            };
            let pos = self.pos;
            self.pos += 1;
            if self.deleted.next_if_eq(&pos).is_some() {
                continue;
            }
            if self.replaced.next_if_eq(&pos).is_some() {
                let mut new = self
                    .replacements
                    .next()
                    .ok_or(Unusable::Unknown("missing replacement"))?;
                new.name = std::mem::take(&mut entry.name);
                entry = new;
            }
            self.held = Some(entry);
        }
        let next = match (self.held.take(), self.added.peek()) {
            (None, _) => self.added.next(),
            (Some(shared), None) => Some(shared),
            (Some(shared), Some(added)) => match added.name.cmp(&shared.name) {
                std::cmp::Ordering::Less => {
                    self.held = Some(shared);
                    self.added.next()
                }
                // An added entry replaces the shared entry of its name.
                std::cmp::Ordering::Equal => self.added.next(),
                std::cmp::Ordering::Greater => Some(shared),
            },
        };
        Ok(next)
    }

    /// After the last entry: the shared half is checked whole and must be the one linked to.
    /// Returns the unsplit index's extensions (a split index's are in its small half).
    pub fn finish(mut self) -> Result<Tail, Unusable> {
        use Unusable::Unknown;
        if self.deleted.next().is_some() || self.replaced.next().is_some() {
            return Err(Unknown("link names entries past the shared index"));
        }
        let (tail, trailer) = self.base.finish()?;
        match self.base_name {
            Some(name) if name != trailer => Err(Unknown("shared index does not match its link")),
            Some(_) => Ok(Tail::default()),
            None => Ok(tail),
        }
    }
}

/// The `link` extension: the shared index's name, then (optionally) the delete and replace
/// bitmaps of shared positions.
fn parse_link(link: &[u8]) -> Option<([u8; HASH], Vec<u32>, Vec<u32>)> {
    let name: [u8; HASH] = link.get(..HASH)?.try_into().ok()?;
    let rest = &link[HASH..];
    if rest.is_empty() {
        return Some((name, Vec::new(), Vec::new()));
    }
    let (deleted, used) = ewah_positions(rest)?;
    let (replaced, used2) = ewah_positions(rest.get(used..)?)?;
    (used + used2 == rest.len()).then_some((name, deleted, replaced))
}

/// The positions set in a serialized EWAH bitmap (git's ewah/ewah_io.c), ascending, and the
/// bytes it took: bit count, word count, the 64-bit words, the last marker's position. Each
/// marker word holds a run (bit 0 repeated for bits 1-32 words) and a count of literal words
/// that follow it (bits 33-63).
fn ewah_positions(data: &[u8]) -> Option<(Vec<u32>, usize)> {
    let bits = u64::from(be32(data, 0)?);
    let words = be32(data, 4)? as usize;
    let used = 8usize.checked_add(words.checked_mul(8)?)?.checked_add(4)?;
    data.get(..used)?;
    let word = |i: usize| -> Option<u64> {
        Some(u64::from_be_bytes(
            data.get(8 + 8 * i..16 + 8 * i)?.try_into().ok()?,
        ))
    };
    let mut out = Vec::new();
    let (mut i, mut at) = (0usize, 0u64);
    while i < words {
        let marker = word(i)?;
        i += 1;
        let run = ((marker >> 1) & 0xffff_ffff) * 64;
        if marker & 1 == 1 {
            if at + run > bits {
                return None;
            }
            out.extend((at..at + run).map(|p| p as u32));
        }
        at += run;
        for _ in 0..marker >> 33 {
            let literal = word(i)?;
            i += 1;
            out.extend(
                (0..64)
                    .filter(|b| literal >> b & 1 == 1)
                    .map(|b| (at + b) as u32),
            );
            at += 64;
        }
    }
    (out.last().is_none_or(|p| u64::from(*p) < bits)).then_some((out, used))
}

/// What follows an index's entries: the extensions this module keeps.
#[derive(Debug, Default)]
pub struct Tail {
    pub link: Vec<u8>,
    pub tree: Option<TreeExtension>,
    pub resolve_undo: Option<Vec<u8>>,
}

/// Reads the extensions after the entries (`data` ends before the trailing checksum).
fn parse_extensions(data: &[u8]) -> Result<Tail, Unusable> {
    use Unusable::Unknown;
    let mut tail = Tail::default();
    let mut pos = 0;
    while pos < data.len() {
        let sig: [u8; 4] = data
            .get(pos..pos + 4)
            .and_then(|s| s.try_into().ok())
            .ok_or(Unknown("truncated extension"))?;
        let len = be32(data, pos + 4).ok_or(Unknown("truncated extension"))? as usize;
        let ext = data
            .get(pos + 8..pos + 8 + len)
            .ok_or(Unknown("truncated extension"))?;
        match &sig {
            b"link" => tail.link = ext.to_vec(),
            b"TREE" if !ext.is_empty() => {
                // Its form is checked where it is walked (a commit invalidates it in one pass).
                tail.tree = Some(TreeExtension(ext.to_vec()));
            }
            b"REUC" => tail.resolve_undo = Some(ext.to_vec()),
            // Optional extensions (capital first letter) are caches git rebuilds: the
            // untracked cache, fsmonitor state, entry offset tables. Dropping them is
            // always correct; keeping them unchanged might not be.
            [b'A'..=b'Z', ..] => {}
            _ => return Err(Unknown("required index extension")),
        }
        pos += 8 + len;
    }
    Ok(tail)
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

/// Parses the entry at `pos`; returns it and the position of the next one. Follows git's
/// reader (read-cache.c, create_from_disk), including version 4's prefix-compressed names.
fn parse_entry(data: &[u8], pos: usize, version: u32, previous: &[u8]) -> Option<(Entry, usize)> {
    let mut stat = [0u32; 10];
    for (i, field) in stat.iter_mut().enumerate() {
        *field = be32(data, pos + 4 * i)?;
    }
    let oid: [u8; HASH] = data.get(pos + 40..pos + 60)?.try_into().ok()?;
    let flags = be16(data, pos + 60)?;
    let (flags2, name_at) = if flags & EXTENDED != 0 {
        if version < 3 {
            return None;
        }
        (Some(be16(data, pos + FIXED)?), pos + FIXED + 2)
    } else {
        (None, pos + FIXED)
    };
    let len = (flags & NAME_MASK) as usize;
    let flags = flags & !NAME_MASK & !EXTENDED;
    let (name, next) = if version == 4 {
        let (strip, used) = decode_varint(data.get(name_at..)?)?;
        let keep = previous.len().checked_sub(usize::try_from(strip).ok()?)?;
        let suffix_at = name_at + used;
        let suffix_len = if len == NAME_MASK as usize {
            data.get(suffix_at..)?.iter().position(|b| *b == 0)?
        } else {
            len.checked_sub(keep)?
        };
        if *data.get(suffix_at + suffix_len)? != 0 {
            return None;
        }
        let mut name = previous[..keep].to_vec();
        name.extend_from_slice(data.get(suffix_at..suffix_at + suffix_len)?);
        (name, suffix_at + suffix_len + 1)
    } else {
        let name_len = if len == NAME_MASK as usize {
            data.get(name_at..)?.iter().position(|b| *b == 0)?
        } else {
            len
        };
        let name = data.get(name_at..name_at + name_len)?.to_vec();
        let size = (name_at - pos + name_len + 8) & !7;
        data.get(pos..pos + size)?;
        (name, pos + size)
    };
    let entry = Entry {
        stat,
        oid,
        flags,
        flags2,
        name,
    };
    Some((entry, next))
}

fn write_entry(out: &mut Vec<u8>, entry: &Entry, version: u32, previous: &[u8]) {
    let start = out.len();
    for field in entry.stat {
        out.extend_from_slice(&field.to_be_bytes());
    }
    out.extend_from_slice(&entry.oid);
    let name_len = entry.name.len().min(NAME_MASK as usize) as u16;
    let mut flags = (entry.flags & !NAME_MASK & !EXTENDED) | name_len;
    if entry.flags2.is_some() {
        flags |= EXTENDED;
    }
    out.extend_from_slice(&flags.to_be_bytes());
    if let Some(flags2) = entry.flags2 {
        out.extend_from_slice(&flags2.to_be_bytes());
    }
    if version == 4 {
        let common = entry
            .name
            .iter()
            .zip(previous)
            .take_while(|(a, b)| a == b)
            .count();
        encode_varint((previous.len() - common) as u64, out);
        out.extend_from_slice(&entry.name[common..]);
        out.push(0);
    } else {
        out.extend_from_slice(&entry.name);
        let size = (out.len() - start + 8) & !7;
        out.resize(start + size, 0);
    }
}

fn write_extension(out: &mut Vec<u8>, sig: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(sig);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
}

/// git's variable-length integer (varint.c): big-endian groups of 7 bits, each continuation
/// adding one so that every value has exactly one encoding.
fn decode_varint(data: &[u8]) -> Option<(u64, usize)> {
    let mut used = 0;
    let mut byte = *data.first()?;
    used += 1;
    let mut value = u64::from(byte & 0x7f);
    while byte & 0x80 != 0 {
        value = value.checked_add(1)?;
        if value >> 57 != 0 {
            return None;
        }
        byte = *data.get(used)?;
        used += 1;
        value = (value << 7) + u64::from(byte & 0x7f);
    }
    Some((value, used))
}

fn encode_varint(mut value: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 16];
    let mut pos = buf.len() - 1;
    buf[pos] = (value & 0x7f) as u8;
    loop {
        value >>= 7;
        if value == 0 {
            break;
        }
        value -= 1;
        pos -= 1;
        buf[pos] = 0x80 | (value & 0x7f) as u8;
    }
    out.extend_from_slice(&buf[pos..]);
}

/// The object name git gives a file's content.
pub fn blob_oid(content: &[u8]) -> [u8; HASH] {
    let mut hasher = Sha1::new();
    hasher.update(format!("blob {}\0", content.len()).as_bytes());
    hasher.update(content);
    hasher.finalize().into()
}

pub fn hex(oid: &[u8]) -> String {
    oid.iter().map(|b| format!("{b:02x}")).collect()
}

/// The object name `hex` writes, read back; None for anything but 40 hex digits.
pub fn unhex(s: &str) -> Option<[u8; HASH]> {
    let mut out = [0u8; HASH];
    if s.len() != 2 * HASH {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The mode git records for a regular file with this `st_mode`: executable when its owner may
/// run it.
pub fn file_mode(st_mode: u32) -> u32 {
    if st_mode & 0o100 != 0 {
        0o100755
    } else {
        0o100644
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_tree_numbers_are_written_as_std_writes_them() {
        for n in [0, -1, 9, 10, 10_618, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    #[test]
    fn ewah_bitmaps_decode_runs_and_literal_words() {
        // Bits 0 and 3 (a literal word), 64..128 (a run of ones), 200 (a literal after it).
        let marker = |run_bit: u64, run: u64, literals: u64| run_bit | run << 1 | literals << 33;
        let words = [marker(0, 0, 1), 0b1001, marker(1, 1, 2), 0, 1 << 8];
        let mut data = 201u32.to_be_bytes().to_vec();
        data.extend_from_slice(&(words.len() as u32).to_be_bytes());
        for w in words {
            data.extend_from_slice(&w.to_be_bytes());
        }
        data.extend_from_slice(&2u32.to_be_bytes());
        let (bits, used) = ewah_positions(&data).unwrap();
        let mut expected = vec![0, 3];
        expected.extend(64..128);
        expected.push(200);
        assert_eq!(bits, expected);
        assert_eq!(used, data.len());
        // A bit past the bitmap's size, and a truncated bitmap, are refused.
        let mut past = data.clone();
        past[..4].copy_from_slice(&150u32.to_be_bytes());
        assert_eq!(ewah_positions(&past), None);
        assert_eq!(ewah_positions(&data[..data.len() - 5]), None);
    }

    #[test]
    fn varints_round_trip_as_git_encodes_them() {
        // git: 127 -> 7f, 128 -> 80 00, 16511 -> ff 7f, 16512 -> 80 80 00
        for (value, bytes) in [
            (0u64, vec![0u8]),
            (127, vec![0x7f]),
            (128, vec![0x80, 0x00]),
            (16511, vec![0xff, 0x7f]),
            (16512, vec![0x80, 0x80, 0x00]),
        ] {
            let mut out = Vec::new();
            encode_varint(value, &mut out);
            assert_eq!(out, bytes, "{value}");
            assert_eq!(decode_varint(&bytes), Some((value, bytes.len())));
        }
    }

    #[test]
    fn blob_oid_matches_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            hex(&blob_oid(b"hello\n")),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }

    fn entry(name: &str) -> Entry {
        Entry {
            stat: [1, 2, 3, 4, 5, 6, 0o100644, 8, 9, 10],
            oid: [7; HASH],
            flags: 0,
            flags2: None,
            name: name.as_bytes().to_vec(),
        }
    }

    fn delta(version: u32, names: &[&str]) -> Delta {
        Delta {
            version,
            entries: names.iter().map(|n| entry(n)).collect(),
            link: [[9u8; HASH].as_slice(), &[0u8; 24]].concat(),
            tree: Some(TreeExtension::from(&CacheTree {
                name: Vec::new(),
                entries: 3,
                oid: Some([4; HASH]),
                children: vec![CacheTree {
                    name: b"patients".to_vec(),
                    entries: 2,
                    oid: Some([5; HASH]),
                    children: Vec::new(),
                }],
            })),
            resolve_undo: None,
        }
    }

    #[test]
    fn every_version_round_trips_including_replacing_entries() {
        for version in [2, 3, 4] {
            let d = delta(version, &["", "", "a/b", "a/bc", "patients/P1.toml"]);
            let bytes = d.write();
            assert_eq!(Delta::parse(&bytes), Ok(d.clone()), "version {version}");
        }
    }

    #[test]
    fn upsert_keeps_added_entries_sorted_after_replacing_ones() {
        let mut d = delta(4, &["", "b"]);
        d.upsert(entry("c"));
        d.upsert(entry("a"));
        let mut changed = entry("b");
        changed.oid = [1; HASH];
        d.upsert(changed.clone());
        let names: Vec<_> = d.entries.iter().map(|e| e.name.clone()).collect();
        assert_eq!(
            names,
            [b"".to_vec(), b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        assert_eq!(d.entries[2], changed);
        assert_eq!(d.added(), 3);
    }

    #[test]
    fn upsert_all_matches_one_upsert_after_another() {
        let names: Vec<String> = (0..40).map(|i| format!("p/{:02}", (i * 7) % 23)).collect();
        // With entries to merge with, and with none (a fresh small index).
        for before in [&["", "p/05", "p/30", "q"][..], &[]] {
            let mut one_by_one = delta(4, before);
            let mut all = one_by_one.clone();
            let entries: Vec<Entry> = names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let mut e = entry(n);
                    e.oid = [i as u8; HASH];
                    e
                })
                .collect();
            entries.iter().cloned().for_each(|e| one_by_one.upsert(e));
            all.upsert_all(entries);
            assert_eq!(all, one_by_one, "{before:?}");
        }
    }

    /// A node whose oid names its depth and place, so that a copied node is recognisable.
    fn node(name: &str, oid: u8, children: Vec<CacheTree>) -> CacheTree {
        CacheTree {
            name: name.as_bytes().to_vec(),
            entries: 1 + children.len() as i64,
            oid: Some([oid; HASH]),
            children,
        }
    }

    #[test]
    fn invalidating_paths_clears_their_directories_only() {
        let tree = node(
            "",
            1,
            vec![
                node(
                    "appointments",
                    2,
                    vec![node(
                        "2026",
                        3,
                        vec![node("12", 4, vec![]), node("11", 5, vec![])],
                    )],
                ),
                node("ledger", 6, vec![node("2026", 7, vec![])]),
                node(
                    "patients",
                    8,
                    vec![node("P1", 9, vec![]), node("P2", 10, vec![])],
                ),
            ],
        );
        let mut raw = TreeExtension::from(&tree);
        assert!(raw.invalidate([
            b"appointments/2026/12/06/A1.toml".as_slice(),
            b"patients/P2/P2ABC.toml".as_slice(),
            b"patients/P2/P2DEF.toml".as_slice(),
            b"frontdesk.toml".as_slice(),
        ]));
        let mut expected = tree.clone();
        let clear = |n: &mut CacheTree| (n.entries, n.oid) = (-1, None);
        clear(&mut expected);
        clear(&mut expected.children[0]);
        clear(&mut expected.children[0].children[0]);
        clear(&mut expected.children[0].children[0].children[0]);
        clear(&mut expected.children[2]);
        clear(&mut expected.children[2].children[1]);
        assert_eq!(raw.nodes(), Some(expected.clone()));
        // Invalid nodes stay invalid, and an empty list changes nothing.
        let before = raw.clone();
        assert!(raw.invalidate([b"appointments/2026/12/07/A2.toml".as_slice()]));
        assert_eq!(raw, before);
        assert!(raw.invalidate([]));
        assert_eq!(raw, before);
        // Written and read back as git would.
        let mut d = delta(2, &["x"]);
        d.tree = Some(raw.clone());
        assert_eq!(Delta::parse(&d.write()).unwrap().tree, Some(raw));
    }

    #[test]
    fn a_damaged_cache_tree_is_dropped_not_misread() {
        let good = TreeExtension::from(&node("", 1, vec![node("a", 2, vec![])]));
        let mut damaged: Vec<TreeExtension> = (0..good.0.len())
            .map(|cut| TreeExtension(good.0[..cut].to_vec()))
            .collect();
        damaged.push(TreeExtension([good.0.as_slice(), b"\0"].concat()));
        let mut not_a_number = good.0.clone();
        let space = not_a_number.iter().position(|b| *b == b' ').unwrap();
        not_a_number[space - 1] = b'x';
        damaged.push(TreeExtension(not_a_number));
        for raw in damaged {
            assert_eq!(raw.nodes(), None, "{raw:?}");
            let mut d = delta(2, &["x"]);
            d.tree = Some(raw.clone());
            // Read back whole (git's checksum holds), then dropped by the commit's edit.
            let mut read = Delta::parse(&d.write()).unwrap();
            read.invalidate_tree([b"a/b.toml".as_slice()]);
            assert_eq!(read.tree, None, "{raw:?}");
        }
        let mut d = delta(2, &["x"]);
        d.tree = Some(good.clone());
        d.invalidate_tree([b"a/b.toml".as_slice()]);
        assert!(d.tree.is_some_and(|t| t != good && t.nodes().is_some()));
    }

    #[test]
    fn a_big_index_is_not_read_to_learn_it_is_not_small() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        std::fs::write(&path, delta(4, &["a"]).write()).unwrap();
        assert!(Delta::read(&path).is_ok());
        // Sparse: no disk is used, and the size alone must decide.
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(MAX_SMALL_BYTES + 1)
            .unwrap();
        assert_eq!(Delta::read(&path), Err(Unusable::TooBig));
        assert!(matches!(
            Delta::read(&dir.path().join("missing")),
            Err(Unusable::Unknown(_))
        ));
    }

    #[test]
    fn damage_and_unsplit_indexes_are_refused_not_misread() {
        let good = delta(4, &["a"]).write();
        let mut flipped = good.clone();
        flipped[20] ^= 1;
        assert_eq!(
            Delta::parse(&flipped),
            Err(Unusable::Unknown("checksum mismatch"))
        );
        for cut in 0..good.len() {
            // Never panics, whatever the truncation.
            let _ = Delta::parse(&good[..cut]);
        }
        let mut unsplit = delta(2, &["a"]);
        unsplit.link = Vec::new();
        assert_eq!(Delta::parse(&unsplit.write()), Err(Unusable::NotSplit));
    }
}

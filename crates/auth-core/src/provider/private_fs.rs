//! Folders and files that hold secrets, treated as ssh treats `~/.ssh`.
//!
//! - A folder is trusted only when it is owned by the effective user and neither group nor
//!   others may write to it ([`check_folder`]); a folder this module creates is created 0700
//!   ([`create_folder`]).
//! - A file is opened without trust ([`read_file`], [`open_lock_file`]): never through a
//!   symbolic link (`O_NOFOLLOW`), never waiting on a FIFO or device (`O_NONBLOCK`), and then
//!   checked on the open descriptor (`fstat`): a regular file, owned by the user, neither
//!   readable nor writable by group or others, at most [`MAX_FILE_BYTES`] (1 MiB) long. At most
//!   that many bytes plus one are ever read.
//!
//! Used by the credential [`FileStore`](crate::store::FileStore) and its lock files, and meant
//! for every other file of secrets (the Evotor receiver's users and tokens).
//!
//! On other systems than Unix the checks that have no meaning there (owner, mode) are skipped.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The largest file [`read_file`] accepts: 1 MiB.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Why a folder is not trusted. The message names the folder and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntrustedFolder {
    /// The folder.
    pub folder: PathBuf,
    /// What is wrong with it.
    pub problem: FolderProblem,
}

/// What is wrong with a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderProblem {
    /// It exists but is not a folder.
    NotAFolder,
    /// Another user owns it (uid given).
    OtherOwner(u32),
    /// Group or others may write to it (mode given).
    Writable(u32),
}

impl fmt::Display for UntrustedFolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let folder = self.folder.display();
        match self.problem {
            FolderProblem::NotAFolder => write!(
                f,
                "{folder} is not a folder; choose another folder for the store"
            ),
            FolderProblem::OtherOwner(uid) => write!(
                f,
                "the folder {folder} belongs to another user (uid {uid}), so it is not trusted with credentials; use a folder of your own, or have it handed over and made private: chown $(id -u) {folder} && chmod 700 {folder}"
            ),
            FolderProblem::Writable(mode) => write!(
                f,
                "the folder {folder} can be written by other users (mode {mode:04o}), so it is not trusted with credentials; fix it with: chmod 700 {folder}"
            ),
        }
    }
}

impl std::error::Error for UntrustedFolder {}

/// Why a file was not opened or read.
#[derive(Debug)]
pub enum UntrustedFile {
    /// A symbolic link: never followed.
    Symlink,
    /// Not a regular file (a FIFO, a device, a folder, a socket).
    NotRegular,
    /// Owned by another user (uid given).
    OtherOwner(u32),
    /// Group or others may read or write it (mode given).
    NotPrivate(u32),
    /// Larger than the cap (bytes given, as far as known).
    TooLarge(u64),
    /// Could not be opened or read for another reason.
    Io(io::Error),
}

impl fmt::Display for UntrustedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Symlink => f.write_str("it is a symbolic link (never followed)"),
            Self::NotRegular => f.write_str("it is not a regular file (a FIFO, device or folder)"),
            Self::OtherOwner(uid) => write!(f, "it belongs to another user (uid {uid})"),
            Self::NotPrivate(mode) => write!(
                f,
                "group or others may read or write it (mode {mode:04o}; it must be 0600)"
            ),
            Self::TooLarge(size) => write!(
                f,
                "it is larger than {MAX_FILE_BYTES} bytes ({size} bytes or more)"
            ),
            Self::Io(error) => write!(f, "it cannot be read: {error}"),
        }
    }
}

impl std::error::Error for UntrustedFile {}

/// The effective user's id (Unix), which owns the files and folders this module trusts.
#[cfg(unix)]
pub fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Checks `folder`: `Ok(false)` when it does not exist (nothing to trust yet), `Ok(true)` when it
/// is the effective user's own and neither group nor others may write it. A symbolic link to a
/// folder is judged by the folder it points to.
pub fn check_folder(folder: &Path) -> Result<bool, UntrustedFolder> {
    let untrusted = |problem| UntrustedFolder {
        folder: folder.to_owned(),
        problem,
    };
    let metadata = match fs::metadata(folder) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        // Unreadable metadata: the read or write that follows reports the I/O error itself.
        Err(_) => return Ok(true),
    };
    if !metadata.is_dir() {
        return Err(untrusted(FolderProblem::NotAFolder));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if metadata.uid() != effective_uid() {
            return Err(untrusted(FolderProblem::OtherOwner(metadata.uid())));
        }
        let mode = metadata.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(untrusted(FolderProblem::Writable(mode)));
        }
    }
    Ok(true)
}

/// Creates `folder` (and missing parents) with mode 0700 when it is missing, then checks it as
/// [`check_folder`] does. The I/O error of a failed creation is the outer `Err`.
pub fn create_folder(folder: &Path) -> io::Result<Result<(), UntrustedFolder>> {
    if !check_folder(folder).is_ok_and(|exists| exists) {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(folder)?;
    }
    Ok(check_folder(folder).map(|_| ()))
}

/// Flags that make `open` refuse a symbolic link and never wait (on a FIFO without a writer).
#[cfg(unix)]
fn untrusting_flags() -> i32 {
    use rustix::fs::OFlags;
    (OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC).bits() as i32
}

fn open_untrusting(path: &Path, options: &mut OpenOptions) -> Result<File, UntrustedFile> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(untrusting_flags());
    }
    match options.open(path) {
        Ok(file) => Ok(file),
        // O_NOFOLLOW on a symbolic link fails with ELOOP.
        #[cfg(unix)]
        Err(error) if error.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            Err(UntrustedFile::Symlink)
        }
        Err(error) => Err(UntrustedFile::Io(error)),
    }
}

/// Checks an open file on its descriptor: regular, the user's, private, at most `cap` bytes.
fn check_open_file(file: &File, cap: u64) -> Result<(), UntrustedFile> {
    let metadata = file.metadata().map_err(UntrustedFile::Io)?;
    if !metadata.file_type().is_file() {
        return Err(UntrustedFile::NotRegular);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if metadata.uid() != effective_uid() {
            return Err(UntrustedFile::OtherOwner(metadata.uid()));
        }
        let mode = metadata.mode() & 0o7777;
        if mode & 0o066 != 0 {
            return Err(UntrustedFile::NotPrivate(mode));
        }
    }
    if metadata.len() > cap {
        return Err(UntrustedFile::TooLarge(metadata.len()));
    }
    Ok(())
}

/// Reads the file at `path` without trusting it (see the module docs), accepting at most `cap`
/// bytes (use [`MAX_FILE_BYTES`]). `Ok(None)` when there is no such file.
pub fn read_file(path: &Path, cap: u64) -> Result<Option<Vec<u8>>, UntrustedFile> {
    let file = match open_untrusting(path, OpenOptions::new().read(true)) {
        Ok(file) => file,
        Err(UntrustedFile::Io(error)) if error.kind() == io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(problem) => return Err(problem),
    };
    check_open_file(&file, cap)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(UntrustedFile::Io)?;
    if bytes.len() as u64 > cap {
        return Err(UntrustedFile::TooLarge(bytes.len() as u64));
    }
    Ok(Some(bytes))
}

/// Opens (creating it 0600 if missing) the lock file at `path` for reading and writing, without
/// trusting what is already there: a symbolic link, FIFO, device, another user's file or a file
/// others may read or write is refused, never followed or waited on.
pub fn open_lock_file(path: &Path) -> Result<File, UntrustedFile> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = open_untrusting(path, &mut options)?;
    check_open_file(&file, MAX_FILE_BYTES)?;
    Ok(file)
}

/// The most a key file (`--key-file`, `--private-key-file`) may hold: 64 KiB.
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// Reads a file the user named (a key file, a certificate bundle), at most `cap` bytes: never
/// more than `cap + 1` bytes are read, so `/dev/zero` or a huge file cannot exhaust memory. A
/// larger file is an `InvalidData` error saying so. Unlike [`read_file`], it follows symbolic
/// links and does not ask for owner-only modes: the user chose this path.
pub fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let file = open_untrusting_follow(path)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is larger than {cap} bytes, too large for what it should hold"),
        ));
    }
    Ok(bytes)
}

/// Opens for reading without waiting on a FIFO (`O_NONBLOCK`); symbolic links are followed.
fn open_untrusting_follow(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use rustix::fs::OFlags;
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags((OFlags::NONBLOCK | OFlags::CLOEXEC).bits() as i32);
    }
    let file = options.open(path)?;
    if file.metadata()?.file_type().is_fifo_like() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is a FIFO or socket, not a file",
        ));
    }
    Ok(file)
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}

impl FifoLike for fs::FileType {
    #[cfg(unix)]
    fn is_fifo_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_fifo() || self.is_socket()
    }
    #[cfg(not(unix))]
    fn is_fifo_like(&self) -> bool {
        false
    }
}

/// Options for a new private file (0600, `O_EXCL`, never through a symbolic link), for the
/// temporary file of an atomic write.
pub fn new_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(untrusting_flags());
    }
    options
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn private_folder() -> tempfile::TempDir {
        let folder = tempfile::tempdir().unwrap();
        fs::set_permissions(folder.path(), fs::Permissions::from_mode(0o700)).unwrap();
        folder
    }

    fn write_private(path: &Path, bytes: &[u8]) {
        fs::write(path, bytes).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    }

    #[test]
    fn a_private_folder_is_trusted_and_a_missing_one_is_created_0700() {
        let folder = private_folder();
        assert_eq!(check_folder(folder.path()), Ok(true));
        let inner = folder.path().join("a/b");
        assert_eq!(check_folder(&inner), Ok(false));
        create_folder(&inner).unwrap().unwrap();
        let mode = fs::metadata(&inner).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn a_folder_others_may_write_is_refused_with_the_fix() {
        let folder = private_folder();
        fs::set_permissions(folder.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let error = check_folder(folder.path()).unwrap_err();
        assert_eq!(error.problem, FolderProblem::Writable(0o777));
        let message = error.to_string();
        assert!(
            message.contains(&format!("chmod 700 {}", folder.path().display())),
            "{message}"
        );
        // Creating does not "fix" it either.
        assert!(create_folder(folder.path()).unwrap().is_err());
        fs::set_permissions(folder.path(), fs::Permissions::from_mode(0o720)).unwrap();
        assert!(check_folder(folder.path()).is_err(), "group-writable");
        fs::set_permissions(folder.path(), fs::Permissions::from_mode(0o750)).unwrap();
        assert_eq!(check_folder(folder.path()), Ok(true), "group may only read");
    }

    #[test]
    fn a_folder_of_another_owner_is_refused() {
        if effective_uid() != 0 {
            eprintln!("skipped: chown to another uid needs root");
            return;
        }
        let folder = private_folder();
        rustix::fs::chown(folder.path(), Some(rustix::fs::Uid::from_raw(4242)), None).unwrap();
        let error = check_folder(folder.path()).unwrap_err();
        assert_eq!(error.problem, FolderProblem::OtherOwner(4242));
    }

    #[test]
    fn a_plain_file_in_place_of_the_folder_is_refused() {
        let folder = private_folder();
        let file = folder.path().join("file");
        write_private(&file, b"x");
        assert_eq!(
            check_folder(&file).unwrap_err().problem,
            FolderProblem::NotAFolder
        );
    }

    #[test]
    fn a_private_file_is_read_and_a_missing_one_is_none() {
        let folder = private_folder();
        let path = folder.path().join("entry.json");
        assert!(read_file(&path, MAX_FILE_BYTES).unwrap().is_none());
        write_private(&path, b"{}");
        assert_eq!(read_file(&path, MAX_FILE_BYTES).unwrap().unwrap(), b"{}");
    }

    #[test]
    fn a_symlink_is_never_followed() {
        let folder = private_folder();
        let target = folder.path().join("target");
        write_private(&target, b"{}");
        let link = folder.path().join("link");
        symlink(&target, &link).unwrap();
        assert!(matches!(
            read_file(&link, MAX_FILE_BYTES),
            Err(UntrustedFile::Symlink)
        ));
        let zero = folder.path().join("zero");
        symlink("/dev/zero", &zero).unwrap();
        assert!(matches!(
            read_file(&zero, MAX_FILE_BYTES),
            Err(UntrustedFile::Symlink)
        ));
        assert!(matches!(open_lock_file(&zero), Err(UntrustedFile::Symlink)));
    }

    #[test]
    fn a_fifo_is_refused_without_waiting() {
        let folder = private_folder();
        let fifo = folder.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // Without O_NONBLOCK this would block for ever: no writer ever comes.
        assert!(matches!(
            read_file(&fifo, MAX_FILE_BYTES),
            Err(UntrustedFile::NotRegular)
        ));
        assert!(matches!(
            open_lock_file(&fifo),
            Err(UntrustedFile::NotRegular)
        ));
    }

    #[test]
    fn a_large_file_is_refused_and_a_file_at_the_cap_is_read() {
        let folder = private_folder();
        let path = folder.path().join("big");
        write_private(&path, &vec![b'a'; MAX_FILE_BYTES as usize + 1]);
        assert!(matches!(
            read_file(&path, MAX_FILE_BYTES),
            Err(UntrustedFile::TooLarge(_))
        ));
        write_private(&path, &[b'a'; 16]);
        assert!(matches!(
            read_file(&path, 15),
            Err(UntrustedFile::TooLarge(16))
        ));
        assert_eq!(read_file(&path, 16).unwrap().unwrap().len(), 16);
    }

    #[test]
    fn a_group_readable_or_world_writable_file_is_refused() {
        let folder = private_folder();
        let path = folder.path().join("entry");
        write_private(&path, b"{}");
        for mode in [0o640, 0o620, 0o604, 0o602] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            assert!(
                matches!(read_file(&path, MAX_FILE_BYTES), Err(UntrustedFile::NotPrivate(m)) if m == mode),
                "{mode:o}"
            );
            assert!(open_lock_file(&path).is_err(), "{mode:o}");
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(read_file(&path, MAX_FILE_BYTES).unwrap().is_some());
    }

    #[test]
    fn a_file_of_another_owner_is_refused() {
        if effective_uid() != 0 {
            eprintln!("skipped: chown to another uid needs root");
            return;
        }
        let folder = private_folder();
        let path = folder.path().join("entry");
        write_private(&path, b"{}");
        rustix::fs::chown(&path, Some(rustix::fs::Uid::from_raw(4242)), None).unwrap();
        assert!(matches!(
            read_file(&path, MAX_FILE_BYTES),
            Err(UntrustedFile::OtherOwner(4242))
        ));
        assert!(matches!(
            open_lock_file(&path),
            Err(UntrustedFile::OtherOwner(4242))
        ));
    }

    #[test]
    fn read_capped_stops_at_the_cap_even_on_dev_zero() {
        let error = read_capped(Path::new("/dev/zero"), MAX_KEY_FILE_BYTES).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("65536"), "{error}");
        let folder = private_folder();
        let path = folder.path().join("key");
        write_private(&path, b"key");
        assert_eq!(read_capped(&path, 3).unwrap(), b"key");
        assert!(read_capped(&path, 2).is_err());
    }

    #[test]
    fn a_lock_file_is_created_0600() {
        let folder = private_folder();
        let path = folder.path().join("x.lock");
        let file = open_lock_file(&path).unwrap();
        drop(file);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        open_lock_file(&path).unwrap();
    }
}

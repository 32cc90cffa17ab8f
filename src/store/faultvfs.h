/* Storage fault injection for the functional tests, the way SQLite's own
 * tests do it: a VFS wrapped around the default one that makes writes to
 * the database and its WAL fail on demand.
 *
 * Only the test flavour (build/asan, compiled with -DMINTRAC_FAULTVFS)
 * contains it; in every other build faultvfs_install() does nothing, so a
 * user can never switch it on. In the test flavour it is active only when
 * MINTRAC_TEST_FAULTS names a control file. The file's first word is the
 * fault, re-read whenever the file changes (a test switches faults on and
 * off while the server runs):
 *   full      every write fails with SQLITE_FULL, nothing written (ENOSPC)
 *   short     every write stores its first half, then fails (short write)
 *   fsync     writes succeed, every xSync fails (SQLITE_IOERR_FSYNC)
 *   readonly  writes fail (SQLITE_IOERR_WRITE, as EROFS does); a database
 *             or WAL opened now opens read-only, as SQLite does after EACCES
 *   anything else, an empty or a missing file: no fault. */
#ifndef MINTRAC_FAULTVFS_H
#define MINTRAC_FAULTVFS_H

/* Registers the fault VFS as SQLite's default, once per process, before
 * the first database is opened. */
void faultvfs_install(void);
#endif

/* Fault-injecting SQLite VFS (see faultvfs.h). Every file opened through
 * it is the real VFS's file with a small header in front: the header's
 * methods consult the control file and either fail or forward. Only the
 * main database and its WAL are faulted; the -shm is memory-mapped and
 * temporary files live in memory (temp_store=MEMORY). */
#include "store/faultvfs.h"

#ifndef MINTRAC_FAULTVFS

void faultvfs_install(void)
{
}

#else

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum fault { FAULT_NONE, FAULT_FULL, FAULT_SHORT, FAULT_FSYNC, FAULT_READONLY };

struct fault_file {
	sqlite3_file  base;
	sqlite3_file *real;     /* follows this struct in the same allocation */
	int           faulted;  /* main database or WAL */
};

/* One control file per process, read by the loop and the writer thread. */
static pthread_mutex_t ctl_mu = PTHREAD_MUTEX_INITIALIZER;
static const char     *ctl_path;
static struct stat     ctl_seen;
static enum fault      ctl_fault;
static sqlite3_vfs    *real_vfs;

static enum fault parse_fault(const char *s)
{
	static const struct { const char *word; enum fault f; } words[] = {
		{ "full", FAULT_FULL }, { "short", FAULT_SHORT },
		{ "fsync", FAULT_FSYNC }, { "readonly", FAULT_READONLY },
	};
	s += strspn(s, " \t\r\n");
	size_t n = strcspn(s, " \t\r\n");
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (n == strlen(words[i].word) && !memcmp(s, words[i].word, n))
			return words[i].f;
	return FAULT_NONE;
}

/* Re-reads the control file when its inode, size or mtime changed. */
static enum fault current_fault(void)
{
	struct stat sb;
	pthread_mutex_lock(&ctl_mu);
	if (stat(ctl_path, &sb) != 0) {
		memset(&ctl_seen, 0, sizeof ctl_seen);
		ctl_fault = FAULT_NONE;
	} else if (sb.st_ino != ctl_seen.st_ino || sb.st_size != ctl_seen.st_size ||
	           sb.st_mtim.tv_sec != ctl_seen.st_mtim.tv_sec ||
	           sb.st_mtim.tv_nsec != ctl_seen.st_mtim.tv_nsec) {
		char buf[64] = "";
		int fd = open(ctl_path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof buf - 1);
			buf[n > 0 ? n : 0] = '\0';
			close(fd);
		}
		ctl_fault = parse_fault(buf);
		ctl_seen = sb;
	}
	enum fault f = ctl_fault;
	pthread_mutex_unlock(&ctl_mu);
	return f;
}

static struct sqlite3_file *real_of(sqlite3_file *f)
{
	return ((struct fault_file *)(void *)f)->real;
}

static enum fault fault_of(sqlite3_file *f)
{
	return ((struct fault_file *)(void *)f)->faulted ? current_fault() : FAULT_NONE;
}

static int f_close(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
}

static int f_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xRead(r, buf, amt, off);
}

static int f_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	sqlite3_file *r = real_of(f);
	switch (fault_of(f)) {
	case FAULT_FULL:
		return SQLITE_FULL;
	case FAULT_SHORT:
		/* What os_unix.c does when write() stores fewer bytes than asked. */
		if (amt > 1)
			(void)r->pMethods->xWrite(r, buf, amt / 2, off);
		return SQLITE_FULL;
	case FAULT_READONLY:
		return SQLITE_IOERR_WRITE;
	default:
		return r->pMethods->xWrite(r, buf, amt, off);
	}
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	sqlite3_file *r = real_of(f);
	if (fault_of(f) == FAULT_READONLY)
		return SQLITE_IOERR_TRUNCATE;
	return r->pMethods->xTruncate(r, size);
}

static int f_sync(sqlite3_file *f, int flags)
{
	sqlite3_file *r = real_of(f);
	enum fault ft = fault_of(f);
	if (ft == FAULT_FSYNC || ft == FAULT_READONLY)
		return SQLITE_IOERR_FSYNC;
	return r->pMethods->xSync(r, flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xFileSize(r, size);
}

static int f_lock(sqlite3_file *f, int lvl)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xLock(r, lvl);
}

static int f_unlock(sqlite3_file *f, int lvl)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xUnlock(r, lvl);
}

static int f_check_lock(sqlite3_file *f, int *out)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xCheckReservedLock(r, out);
}

static int f_fcntl(sqlite3_file *f, int op, void *arg)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xFileControl(r, op, arg);
}

static int f_sector(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xSectorSize(r);
}

static int f_devchar(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xDeviceCharacteristics(r);
}

static int f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xShmMap(r, pg, pgsz, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xShmLock(r, off, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);
	r->pMethods->xShmBarrier(r);
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xShmUnmap(r, del);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xFetch(r, off, amt, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	sqlite3_file *r = real_of(f);
	return r->pMethods->xUnfetch(r, off, p);
}

static const sqlite3_io_methods fault_methods = {
	.iVersion = 3,
	.xClose = f_close, .xRead = f_read, .xWrite = f_write, .xTruncate = f_truncate,
	.xSync = f_sync, .xFileSize = f_size, .xLock = f_lock, .xUnlock = f_unlock,
	.xCheckReservedLock = f_check_lock, .xFileControl = f_fcntl,
	.xSectorSize = f_sector, .xDeviceCharacteristics = f_devchar,
	.xShmMap = f_shm_map, .xShmLock = f_shm_lock, .xShmBarrier = f_shm_barrier,
	.xShmUnmap = f_shm_unmap, .xFetch = f_fetch, .xUnfetch = f_unfetch,
};

static int v_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                  int *out_flags)
{
	(void)vfs;
	struct fault_file *ff = (struct fault_file *)(void *)f;
	ff->real = (sqlite3_file *)(void *)(ff + 1);
	ff->faulted = (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) != 0;
	f->pMethods = NULL;
	if (ff->faulted && (flags & SQLITE_OPEN_READWRITE) && current_fault() == FAULT_READONLY) {
		/* os_unix.c's answer to EACCES/EROFS on an existing file. */
		flags &= ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
		flags |= SQLITE_OPEN_READONLY;
	}
	int rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out_flags);
	if (ff->real->pMethods) {
		/* The real methods must offer everything fault_methods forwards. */
		if (ff->real->pMethods->iVersion < 3) {
			ff->real->pMethods->xClose(ff->real);
			ff->real->pMethods = NULL;
			return SQLITE_CANTOPEN;
		}
		f->pMethods = &fault_methods;
	}
	return rc;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int v_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *v_dlopen(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return real_vfs->xDlOpen(real_vfs, name);
}

static void v_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	real_vfs->xDlError(real_vfs, n, msg);
}

static void (*v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return real_vfs->xDlSym(real_vfs, h, sym);
}

static void v_dlclose(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	real_vfs->xDlClose(real_vfs, h);
}

static int v_random(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return real_vfs->xRandomness(real_vfs, n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return real_vfs->xSleep(real_vfs, us);
}

static int v_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return real_vfs->xCurrentTime(real_vfs, out);
}

static int v_lasterr(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}

static int v_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static sqlite3_vfs fault_vfs = {
	.iVersion = 2,
	.zName = "mintrac-fault",
	.xOpen = v_open, .xDelete = v_delete, .xAccess = v_access,
	.xFullPathname = v_fullpath, .xDlOpen = v_dlopen, .xDlError = v_dlerror,
	.xDlSym = v_dlsym, .xDlClose = v_dlclose, .xRandomness = v_random,
	.xSleep = v_sleep, .xCurrentTime = v_time, .xGetLastError = v_lasterr,
	.xCurrentTimeInt64 = v_time64,
};

static void install_once(void)
{
	const char *path = getenv("MINTRAC_TEST_FAULTS");
	if (!path || !*path)
		return;
	real_vfs = sqlite3_vfs_find(NULL);
	if (!real_vfs || real_vfs->iVersion < 2)
		return;
	ctl_path = path;
	fault_vfs.szOsFile = (int)sizeof(struct fault_file) + real_vfs->szOsFile;
	fault_vfs.mxPathname = real_vfs->mxPathname;
	sqlite3_vfs_register(&fault_vfs, 1);
}

void faultvfs_install(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install_once);
}

#endif

/* The walker's inner loop, compiled: the same walk as `_walk_fd` in walk.py, entry for entry.
 *
 * walk.py's `_walk_fd` is the reference and the fallback; this module must give identical
 * results (tests/core/test_walker_parity.py compares them field by field on caches real uv
 * wrote). Built by the project's own build (hatch_build.py) where a C compiler is found;
 * POSIX only (openat, fdopendir, fstatat).
 *
 * Per directory, with the GIL released: open it through the unit root's descriptor
 * (O_NOFOLLOW | O_DIRECTORY), list it, `fstatat(AT_SYMLINK_NOFOLLOW)` each entry into a
 * buffer. Then, with the GIL held, the same per-entry accounting as the Python loop, in the
 * same order: sums, the inode numbers and sizes of hard-linked files, ownership marks (made by
 * calling back into Python, which keeps the one list of marks), problems, the archive's top
 * names and .dist-info. Nothing is ever followed; nothing is ever changed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Bumped whenever the interface or the meaning of a result changes: walk.py refuses a module
 * built from other sources (a stale in-place build) and falls back to Python. */
#define WALKER_API 1

#define MAX_DEPTH 200
#define MAX_TOP_NAMES 256

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* Times are kept as integer nanoseconds (st_atime_ns, st_mtime_ns), as walk.py does: the
 * largest is turned into a float once, in Python, by both walkers alike. */
#if defined(__APPLE__)
#define ATIME_S(st) ((st)->st_atimespec.tv_sec)
#define ATIME_NS(st) ((st)->st_atimespec.tv_nsec)
#define MTIME_S(st) ((st)->st_mtimespec.tv_sec)
#define MTIME_NS(st) ((st)->st_mtimespec.tv_nsec)
#else
#define ATIME_S(st) ((st)->st_atim.tv_sec)
#define ATIME_NS(st) ((st)->st_atim.tv_nsec)
#define MTIME_S(st) ((st)->st_mtim.tv_sec)
#define MTIME_NS(st) ((st)->st_mtim.tv_nsec)
#endif

static long long
ns_time(time_t sec, long nsec)
{
    return (long long)sec * 1000000000LL + (long long)nsec;
}

/* One listed entry: what the accounting needs from its lstat. */
typedef struct {
    size_t name_off; /* into the directory's name arena */
    size_t name_len;
    int err; /* errno of fstatat, 0 when the fields below are valid */
    mode_t mode;
    uid_t uid;
    gid_t gid;
    nlink_t nlink;
    ino_t ino;
    dev_t dev;
    long long blocks;
    long long atime_ns;
    long long mtime_ns;
} entry_t;

typedef struct {
    entry_t *items;
    size_t n, cap;
    char *names;
    size_t names_len, names_cap;
    int open_err;  /* opening the directory failed (errno) */
    int list_err;  /* listing it failed (errno) after `n` entries */
} listing_t;

/* A directory still to walk (the Python walker's stack tuple). */
typedef struct {
    char *rel; /* NUL-terminated, relative to the unit root; "" for the root */
    size_t rel_len;
    int depth;
    long mk;
    uid_t uid;
    gid_t gid;
    mode_t perm;
} frame_t;

typedef struct {
    uint64_t *keys; /* pairs (dev, ino); a slot is empty when both are ~0 */
    size_t cap, n;
} dirset_t;

static const uint64_t EMPTY = ~(uint64_t)0;

static int
dirset_init(dirset_t *s)
{
    s->cap = 64;
    s->n = 0;
    s->keys = malloc(sizeof(uint64_t) * 2 * s->cap);
    if (!s->keys) {
        return -1;
    }
    memset(s->keys, 0xff, sizeof(uint64_t) * 2 * s->cap);
    return 0;
}

static size_t
dirset_hash(uint64_t dev, uint64_t ino)
{
    uint64_t h = ino * 0x9E3779B97F4A7C15ULL ^ (dev + 0x632BE59BD9B4E019ULL);
    h ^= h >> 29;
    return (size_t)h;
}

/* 1 if added, 0 if present, -1 on memory error. */
static int
dirset_add(dirset_t *s, uint64_t dev, uint64_t ino)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap * 2;
        uint64_t *nk = malloc(sizeof(uint64_t) * 2 * ncap);
        if (!nk) {
            return -1;
        }
        memset(nk, 0xff, sizeof(uint64_t) * 2 * ncap);
        for (size_t i = 0; i < s->cap; i++) {
            uint64_t d = s->keys[2 * i], n = s->keys[2 * i + 1];
            if (d == EMPTY && n == EMPTY) {
                continue;
            }
            size_t j = dirset_hash(d, n) & (ncap - 1);
            while (!(nk[2 * j] == EMPTY && nk[2 * j + 1] == EMPTY)) {
                j = (j + 1) & (ncap - 1);
            }
            nk[2 * j] = d;
            nk[2 * j + 1] = n;
        }
        free(s->keys);
        s->keys = nk;
        s->cap = ncap;
    }
    size_t j = dirset_hash(dev, ino) & (s->cap - 1);
    for (;;) {
        uint64_t d = s->keys[2 * j], n = s->keys[2 * j + 1];
        if (d == EMPTY && n == EMPTY) {
            s->keys[2 * j] = dev;
            s->keys[2 * j + 1] = ino;
            s->n++;
            return 1;
        }
        if (d == dev && n == ino) {
            return 0;
        }
        j = (j + 1) & (s->cap - 1);
    }
}

/* Growable arrays of unsigned 64-bit integers (the linked inodes and their sizes). */
typedef struct {
    uint64_t *v;
    size_t n, cap;
} u64vec_t;

static int
u64_push(u64vec_t *a, uint64_t x)
{
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 256;
        uint64_t *nv = realloc(a->v, ncap * sizeof(uint64_t));
        if (!nv) {
            return -1;
        }
        a->v = nv;
        a->cap = ncap;
    }
    a->v[a->n++] = x;
    return 0;
}

/* Per-mark totals of the files below a mark that are not marks themselves, added to the
 * Python side's lists at the end. Indexed by the mark's index. */
typedef struct {
    long long *files;
    long long *bytes;
    size_t cap;
    long maxidx;
} markcount_t;

static int
markcount_add(markcount_t *m, long idx, long long nbytes)
{
    if ((size_t)idx >= m->cap) {
        size_t ncap = m->cap ? m->cap : 16;
        while (ncap <= (size_t)idx) {
            ncap *= 2;
        }
        long long *nf = realloc(m->files, ncap * sizeof(long long));
        if (!nf) {
            return -1;
        }
        m->files = nf;
        long long *nb = realloc(m->bytes, ncap * sizeof(long long));
        if (!nb) {
            return -1;
        }
        m->bytes = nb;
        memset(m->files + m->cap, 0, (ncap - m->cap) * sizeof(long long));
        memset(m->bytes + m->cap, 0, (ncap - m->cap) * sizeof(long long));
        m->cap = ncap;
    }
    m->files[idx] += 1;
    m->bytes[idx] += nbytes;
    if (idx > m->maxidx) {
        m->maxidx = idx;
    }
    return 0;
}

static int
listing_push(listing_t *l, const char *name, size_t len)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        entry_t *ni = realloc(l->items, ncap * sizeof(entry_t));
        if (!ni) {
            return -1;
        }
        l->items = ni;
        l->cap = ncap;
    }
    if (l->names_len + len + 1 > l->names_cap) {
        size_t ncap = l->names_cap ? l->names_cap * 2 : 4096;
        while (ncap < l->names_len + len + 1) {
            ncap *= 2;
        }
        char *nn = realloc(l->names, ncap);
        if (!nn) {
            return -1;
        }
        l->names = nn;
        l->names_cap = ncap;
    }
    entry_t *e = &l->items[l->n++];
    memset(e, 0, sizeof(*e));
    e->name_off = l->names_len;
    e->name_len = len;
    memcpy(l->names + l->names_len, name, len + 1);
    l->names_len += len + 1;
    return 0;
}

/* List directory `dfd` (taken over: closed here) and lstat each entry. Runs without the GIL.
 * Returns -1 only when memory runs out. */
static int
list_dir(int dfd, listing_t *l)
{
    l->n = 0;
    l->names_len = 0;
    l->open_err = 0;
    l->list_err = 0;
    DIR *d = fdopendir(dfd);
    if (!d) {
        l->open_err = errno;
        close(dfd);
        return 0;
    }
    int fd = dirfd(d);
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno) {
                l->list_err = errno;
            }
            break;
        }
        const char *name = de->d_name;
        if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) {
            continue;
        }
        size_t len = strlen(name);
        if (listing_push(l, name, len) < 0) {
            closedir(d);
            return -1;
        }
        entry_t *e = &l->items[l->n - 1];
        struct stat st;
        if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            e->err = errno;
            continue;
        }
        e->mode = st.st_mode;
        e->uid = st.st_uid;
        e->gid = st.st_gid;
        e->nlink = st.st_nlink;
        e->ino = st.st_ino;
        e->dev = st.st_dev;
        e->blocks = (long long)st.st_blocks;
        e->atime_ns = ns_time(ATIME_S(&st), ATIME_NS(&st));
        e->mtime_ns = ns_time(MTIME_S(&st), MTIME_NS(&st));
    }
    closedir(d);
    return 0;
}

/* "<strerror> (os error N)", as walk.py's _err() words an OSError. */
static PyObject *
err_text(int err)
{
    return PyUnicode_FromFormat("%s (os error %d)", strerror(err), err);
}

static PyObject *
decode(const char *s, size_t len)
{
    return PyUnicode_DecodeFSDefaultAndSize(s, (Py_ssize_t)len);
}

/* marks.add_raw(rel, reason, uid, gid, st_mode, allocated bytes, parent, detail) -> index */
static int
add_mark(PyObject *add, const char *rel, size_t rel_len, const char *reason, uid_t uid, gid_t gid,
         mode_t mode, long long blocks, long parent, PyObject *detail, long *out)
{
    PyObject *prel = decode(rel, rel_len);
    if (!prel) {
        return -1;
    }
    PyObject *r = PyObject_CallFunction(add, "OsLLLLlO", prel, reason, (long long)uid,
                                        (long long)gid, (long long)mode, blocks * 512, parent,
                                        detail);
    Py_DECREF(prel);
    if (!r) {
        return -1;
    }
    long idx = PyLong_AsLong(r);
    Py_DECREF(r);
    if (idx == -1 && PyErr_Occurred()) {
        return -1;
    }
    *out = idx;
    return 0;
}

static int
add_problem(PyObject *problems, const char *rel, size_t rel_len, int err)
{
    PyObject *prel = decode(rel, rel_len);
    PyObject *text = err_text(err);
    PyObject *t = (prel && text) ? Py_BuildValue("(sOO)", "unreadable", prel, text) : NULL;
    Py_XDECREF(prel);
    Py_XDECREF(text);
    if (!t) {
        return -1;
    }
    int rc = PyList_Append(problems, t);
    Py_DECREF(t);
    return rc;
}

/* Join "prefix/name" (or "name" at the root) into buf; returns the length. */
static size_t
join(char **buf, size_t *cap, const char *rel, size_t rel_len, const char *name, size_t name_len)
{
    size_t need = rel_len + 1 + name_len + 1;
    if (need > *cap) {
        size_t ncap = *cap ? *cap : 256;
        while (ncap < need) {
            ncap *= 2;
        }
        char *nb = realloc(*buf, ncap);
        if (!nb) {
            return (size_t)-1;
        }
        *buf = nb;
        *cap = ncap;
    }
    size_t n = 0;
    if (rel_len) {
        memcpy(*buf, rel, rel_len);
        (*buf)[rel_len] = '/';
        n = rel_len + 1;
    }
    memcpy(*buf + n, name, name_len);
    n += name_len;
    (*buf)[n] = 0;
    return n;
}

static int
ends_with(const char *s, size_t len, const char *suffix)
{
    size_t sl = strlen(suffix);
    return len >= sl && memcmp(s + len - sl, suffix, sl) == 0;
}

typedef struct {
    frame_t *v;
    size_t n, cap;
} stack_t_;

static int
stack_push(stack_t_ *s, const char *rel, size_t rel_len, int depth, long mk, uid_t uid, gid_t gid,
           mode_t perm)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        frame_t *nv = realloc(s->v, ncap * sizeof(frame_t));
        if (!nv) {
            return -1;
        }
        s->v = nv;
        s->cap = ncap;
    }
    char *copy = malloc(rel_len + 1);
    if (!copy) {
        return -1;
    }
    memcpy(copy, rel, rel_len);
    copy[rel_len] = 0;
    frame_t *f = &s->v[s->n++];
    f->rel = copy;
    f->rel_len = rel_len;
    f->depth = depth;
    f->mk = mk;
    f->uid = uid;
    f->gid = gid;
    f->perm = perm;
    return 0;
}

static int
append_name(PyObject *list, const char *name, size_t len)
{
    PyObject *pn = decode(name, len);
    if (!pn) {
        return -1;
    }
    int rc = PyList_Append(list, pn);
    Py_DECREF(pn);
    return rc;
}

static int
set_item(PyObject *dict, const char *key, size_t len, PyObject *value)
{
    PyObject *k = decode(key, len);
    if (!k) {
        return -1;
    }
    int rc = PyDict_SetItem(dict, k, value);
    Py_DECREF(k);
    return rc;
}

#define NOMEM()            \
    do {                   \
        PyErr_NoMemory();  \
        goto done;         \
    } while (0)
#define CHECK(call)        \
    do {                   \
        if ((call) < 0) {  \
            goto done;     \
        }                  \
    } while (0)

static PyObject *
walker_walk(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *add, *too_deep_text;
    int rootfd, is_archive, track_file_mtime;
    unsigned long long root_dev, root_ino;
    long root_uid, root_gid, root_perm, root_mark;
    long long root_mtime_ns;
    if (!PyArg_ParseTuple(args, "ippKKlllLlOO", &rootfd, &is_archive, &track_file_mtime,
                          &root_dev, &root_ino, &root_uid, &root_gid, &root_perm,
                          &root_mtime_ns, &root_mark, &add, &too_deep_text)) {
        return NULL;
    }

    PyObject *result = NULL;
    PyObject *problems = PyList_New(0);
    PyObject *top = PyList_New(0);
    PyObject *dist_info = PyDict_New();
    PyObject *other_devices = PyList_New(0);
    PyObject *special_text = PyUnicode_FromString("not a file or directory");
    PyObject *mount_text = PyUnicode_FromString("another filesystem");
    PyObject *loop_text = PyUnicode_FromString("directory seen twice");
    PyObject *empty_text = PyUnicode_FromString("");
    listing_t lst = {0};
    stack_t_ stack = {0};
    dirset_t seen = {0};
    u64vec_t lino = {0}, lblk = {0};
    markcount_t mc = {0};
    mc.maxidx = -1;
    char *buf = NULL; /* "rel/name" of the entry at hand */
    size_t bufcap = 0;
    char *cur = NULL; /* the rel of the directory at hand (owned) */
    int top_truncated = 0;
    long long blocks = 0, files = 0, dirs = 0, symlinks = 0, others = 0, vanished = 0;
    long long max_atime = 0, max_mtime = root_mtime_ns;
    size_t *subdirs = NULL; /* indexes into the listing, in listing order */
    size_t subdirs_cap = 0;

    if (!problems || !top || !dist_info || !other_devices || !special_text || !mount_text ||
        !loop_text || !empty_text || dirset_init(&seen) < 0) {
        NOMEM();
    }
    if (stack_push(&stack, "", 0, 0, root_mark, (uid_t)root_uid, (gid_t)root_gid,
                   (mode_t)root_perm) < 0 ||
        dirset_add(&seen, root_dev, root_ino) < 0) {
        NOMEM();
    }

    while (stack.n) {
        frame_t fr = stack.v[--stack.n];
        cur = fr.rel;
        int dfd, err = 0, lrc = 0;
        Py_BEGIN_ALLOW_THREADS
        if (fr.rel_len == 0) {
            dfd = dup(rootfd); /* as os.scandir(fd) does: the root's descriptor stays open */
        }
        else {
            dfd = openat(rootfd, fr.rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (dfd < 0) {
            err = errno;
        }
        else {
            lrc = list_dir(dfd, &lst);
        }
        Py_END_ALLOW_THREADS
        if (lrc < 0) {
            NOMEM();
        }
        if (dfd < 0 && fr.rel_len) {
            if (err == ENOENT) {
                vanished++;
            }
            else if (err == EACCES || err == EPERM) {
                struct stat dst;
                if (fstatat(rootfd, fr.rel, &dst, AT_SYMLINK_NOFOLLOW) == 0) {
                    PyObject *text = err_text(err);
                    long ignored;
                    if (!text) {
                        goto done;
                    }
                    int rc = add_mark(add, fr.rel, fr.rel_len, "unreadable", dst.st_uid,
                                      dst.st_gid, dst.st_mode, (long long)dst.st_blocks, fr.mk,
                                      text, &ignored);
                    Py_DECREF(text);
                    CHECK(rc);
                }
                else {
                    CHECK(add_problem(problems, fr.rel, fr.rel_len, err));
                }
            }
            else {
                CHECK(add_problem(problems, fr.rel, fr.rel_len, err));
            }
            free(cur);
            cur = NULL;
            continue;
        }
        if (dfd < 0) { /* dup() of the root failed: as a failed listing of it */
            lst.n = 0;
            lst.open_err = err;
            lst.list_err = 0;
        }
        /* Names matter only at an archive's top and in its .dist-info directories. */
        int named = is_archive && fr.depth == 0;
        if (is_archive && fr.depth == 1 && PyDict_GET_SIZE(dist_info) > 0) {
            PyObject *key = decode(fr.rel, fr.rel_len);
            if (!key) {
                goto done;
            }
            named = PyDict_Contains(dist_info, key);
            Py_DECREF(key);
            CHECK(named);
        }
        size_t nsub = 0;
        for (size_t i = 0; i < lst.n; i++) {
            entry_t *e = &lst.items[i];
            const char *name = lst.names + e->name_off;
            size_t n;
            if (e->err) {
                if (e->err == ENOENT) {
                    vanished++;
                    continue;
                }
                n = join(&buf, &bufcap, fr.rel, fr.rel_len, name, e->name_len);
                if (n == (size_t)-1) {
                    NOMEM();
                }
                CHECK(add_problem(problems, buf, n, e->err));
                continue;
            }
            blocks += e->blocks;
            mode_t m = e->mode;
            mode_t fmt = m & S_IFMT;
            const char *mark_reason = NULL;
            PyObject *mark_detail = empty_text;
            if (fmt == S_IFREG) {
                files++;
                if (e->nlink > 1) {
                    if (u64_push(&lino, (uint64_t)e->ino) < 0 ||
                        u64_push(&lblk, (uint64_t)(e->blocks * 512)) < 0) {
                        NOMEM();
                    }
                }
                if (e->atime_ns > max_atime) {
                    max_atime = e->atime_ns;
                }
                if (track_file_mtime && e->mtime_ns > max_mtime) {
                    max_mtime = e->mtime_ns;
                }
                if (e->uid != fr.uid || e->gid != fr.gid) {
                    mark_reason = "owner";
                }
                else if (!(m & 0400)) {
                    mark_reason = "mode";
                }
                else if (fr.mk >= 0 && markcount_add(&mc, fr.mk, e->blocks * 512) < 0) {
                    NOMEM();
                }
            }
            else if (fmt == S_IFDIR) {
                if (nsub == subdirs_cap) {
                    size_t ncap = subdirs_cap ? subdirs_cap * 2 : 64;
                    size_t *ns = realloc(subdirs, ncap * sizeof(size_t));
                    if (!ns) {
                        NOMEM();
                    }
                    subdirs = ns;
                    subdirs_cap = ncap;
                }
                subdirs[nsub++] = i;
            }
            else if (fmt == S_IFLNK) {
                symlinks++;
                if (e->uid != fr.uid) {
                    mark_reason = "owner";
                }
            }
            else {
                others++;
                mark_reason = "special";
                mark_detail = special_text;
            }
            if (mark_reason) {
                long ignored;
                n = join(&buf, &bufcap, fr.rel, fr.rel_len, name, e->name_len);
                if (n == (size_t)-1) {
                    NOMEM();
                }
                CHECK(add_mark(add, buf, n, mark_reason, e->uid, e->gid, e->mode, e->blocks,
                               fr.mk, mark_detail, &ignored));
            }
            if (named) {
                if (fr.depth == 0) {
                    if (PyList_GET_SIZE(top) < MAX_TOP_NAMES) {
                        CHECK(append_name(top, name, e->name_len));
                    }
                    else {
                        top_truncated = 1;
                    }
                }
                else if (e->name_len == 6 && memcmp(name, "RECORD", 6) == 0) {
                    CHECK(set_item(dist_info, fr.rel, fr.rel_len, Py_True));
                }
            }
        }
        if (lst.open_err || lst.list_err) {
            int le = lst.open_err ? lst.open_err : lst.list_err;
            if (le == ENOENT) {
                vanished++;
            }
            else {
                CHECK(add_problem(problems, fr.rel, fr.rel_len, le));
            }
        }
        for (size_t k = 0; k < nsub; k++) {
            entry_t *e = &lst.items[subdirs[k]];
            const char *name = lst.names + e->name_off;
            long cmk = fr.mk, ignored;
            dirs++;
            if (e->mtime_ns > max_mtime) {
                max_mtime = e->mtime_ns;
            }
            size_t n = join(&buf, &bufcap, fr.rel, fr.rel_len, name, e->name_len);
            if (n == (size_t)-1) {
                NOMEM();
            }
            if (is_archive && fr.depth == 0 && ends_with(name, e->name_len, ".dist-info")) {
                CHECK(set_item(dist_info, buf, n, Py_False));
            }
            if ((unsigned long long)e->dev != root_dev) {
                PyObject *pdev = PyLong_FromUnsignedLongLong((unsigned long long)e->dev);
                if (!pdev) {
                    goto done;
                }
                int known = PySequence_Contains(other_devices, pdev);
                int rc = known;
                if (known == 0) {
                    rc = PyList_Append(other_devices, pdev);
                    if (rc == 0) {
                        rc = add_mark(add, buf, n, "mount", e->uid, e->gid, e->mode, e->blocks,
                                      fr.mk, mount_text, &cmk);
                    }
                }
                Py_DECREF(pdev);
                CHECK(rc);
            }
            int added = dirset_add(&seen, (uint64_t)e->dev, (uint64_t)e->ino);
            if (added < 0) {
                NOMEM();
            }
            if (!added) {
                CHECK(add_mark(add, buf, n, "loop", e->uid, e->gid, e->mode, e->blocks, fr.mk,
                               loop_text, &ignored));
                continue;
            }
            if (fr.depth + 1 >= MAX_DEPTH) {
                CHECK(add_mark(add, buf, n, "too-deep", e->uid, e->gid, e->mode, e->blocks, fr.mk,
                               too_deep_text, &ignored));
                continue;
            }
            mode_t cperm = e->mode & 07777;
            if (e->uid != fr.uid || e->gid != fr.gid) {
                CHECK(add_mark(add, buf, n, "owner", e->uid, e->gid, e->mode, e->blocks, fr.mk,
                               empty_text, &cmk));
            }
            else if (cperm != fr.perm) {
                CHECK(add_mark(add, buf, n, "mode", e->uid, e->gid, e->mode, e->blocks, fr.mk,
                               empty_text, &cmk));
            }
            if (stack_push(&stack, buf, n, fr.depth + 1, cmk, e->uid, e->gid, cperm) < 0) {
                NOMEM();
            }
        }
        free(cur);
        cur = NULL;
    }

    {
        unsigned long long shared = 0;
        for (size_t i = 0; i < lblk.n; i++) {
            shared += lblk.v[i];
        }
        PyObject *counts = PyList_New(0);
        if (!counts) {
            goto done;
        }
        for (long i = 0; i <= mc.maxidx; i++) {
            if (!mc.files[i]) {
                continue;
            }
            PyObject *t = Py_BuildValue("(lLL)", i, mc.files[i], mc.bytes[i]);
            if (!t || PyList_Append(counts, t) < 0) {
                Py_XDECREF(t);
                Py_DECREF(counts);
                goto done;
            }
            Py_DECREF(t);
        }
        result = Py_BuildValue(
            "(LLLLLLLLOOOy#y#KOOO)", blocks, files, dirs, symlinks, others, vanished, max_atime,
            max_mtime, top, top_truncated ? Py_True : Py_False, dist_info,
            lino.v ? (const char *)lino.v : "", (Py_ssize_t)(lino.n * sizeof(uint64_t)),
            lblk.v ? (const char *)lblk.v : "", (Py_ssize_t)(lblk.n * sizeof(uint64_t)), shared,
            problems, other_devices, counts);
        Py_DECREF(counts);
    }

done:
    free(cur);
    for (size_t i = 0; i < stack.n; i++) {
        free(stack.v[i].rel);
    }
    free(stack.v);
    free(lst.items);
    free(lst.names);
    free(seen.keys);
    free(lino.v);
    free(lblk.v);
    free(mc.files);
    free(mc.bytes);
    free(buf);
    free(subdirs);
    Py_XDECREF(problems);
    Py_XDECREF(top);
    Py_XDECREF(dist_info);
    Py_XDECREF(other_devices);
    Py_XDECREF(special_text);
    Py_XDECREF(mount_text);
    Py_XDECREF(loop_text);
    Py_XDECREF(empty_text);
    return result;
}

static PyMethodDef walker_methods[] = {
    {"walk", walker_walk, METH_VARARGS,
     "walk(root_fd, is_archive, track_file_mtime, root_dev, root_ino, root_uid, root_gid, "
     "root_perm, root_mtime_ns, root_mark, add_mark, too_deep_detail) -> tuple\n\n"
     "The inner loop of walk.py's _walk_fd; see walk.py for the meaning of the result."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef walker_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_walker",
    .m_doc = "The compiled walker (see _walker.c); walk.py's _walk_fd is its reference.",
    .m_size = -1,
    .m_methods = walker_methods,
};

PyMODINIT_FUNC
PyInit__walker(void)
{
    PyObject *m = PyModule_Create(&walker_module);
    if (m && PyModule_AddIntConstant(m, "API", WALKER_API) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

/* The walker, compiled: `walk_unit` of walk.py for a list of units, entry for entry.
 *
 * walk.py's Python walker is the reference and the fallback; this module must give identical
 * results (tests/core/test_walker_parity.py compares them field by field on caches real uv
 * wrote). Built by the project's own build (hatch_build.py) where a C compiler is found;
 * POSIX only (openat, fstatat; getdents64 on Linux, fdopendir elsewhere).
 *
 * A whole list of units is walked without the GIL: each unit's root is lstat-ed and opened
 * (O_NOFOLLOW | O_DIRECTORY), every directory below is opened from the root's descriptor and
 * listed, each entry lstat-ed once (fstatat, AT_SYMLINK_NOFOLLOW), and everything is summed or
 * recorded in C buffers, in the Python walker's order: sums, the inode numbers and sizes of
 * hard-linked files, ownership marks (rolled up into their ancestors as walk.py's _Marks does),
 * problems, the archive's top names and .dist-info. Python objects are made once, at the end,
 * with the GIL held, so walker threads run in parallel with each other and with the rest of
 * the inspector. Nothing is ever followed; nothing is ever changed.
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
#ifdef __linux__
#include <sys/syscall.h>
#endif

/* Bumped whenever the interface or the meaning of a result changes: walk.py refuses a module
 * built from other sources (a stale in-place build) and falls back to Python. */
#define WALKER_API 3

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

#if defined(__APPLE__)
#define ATIME(st) ns_time((st)->st_atimespec.tv_sec, (st)->st_atimespec.tv_nsec)
#define MTIME(st) ns_time((st)->st_mtimespec.tv_sec, (st)->st_mtimespec.tv_nsec)
#else
#define ATIME(st) ns_time((st)->st_atim.tv_sec, (st)->st_atim.tv_nsec)
#define MTIME(st) ns_time((st)->st_mtim.tv_sec, (st)->st_mtim.tv_nsec)
#endif

/* Times are integer nanoseconds (st_atime_ns, st_mtime_ns), as in walk.py: the newest is
 * turned into a float once, in Python, by both walkers alike. */
static long long
ns_time(time_t sec, long nsec)
{
    return (long long)sec * 1000000000LL + (long long)nsec;
}

/* ---- growable buffers ------------------------------------------------------------------ */

static int
grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        ncap *= 2;
    }
    void *nv = realloc(*v, ncap * size);
    if (!nv) {
        return -1;
    }
    *v = nv;
    *cap = ncap;
    return 0;
}

#define PUSH(arr, n, cap, item)                                                  \
    (grow((void **)&(arr), &(cap), (n) + 1, sizeof(*(arr))) < 0 ? -1             \
                                                                : ((arr)[(n)++] = (item), 0))

typedef struct {
    char *v;
    size_t n, cap;
} arena_t;

/* Copy `len` bytes into the arena; returns their offset, or (size_t)-1. */
static size_t
arena_put(arena_t *a, const char *s, size_t len)
{
    if (grow((void **)&a->v, &a->cap, a->n + len + 1, 1) < 0) {
        return (size_t)-1;
    }
    size_t off = a->n;
    memcpy(a->v + off, s, len);
    a->v[off + len] = 0;
    a->n += len + 1;
    return off;
}

/* "rel/name" (or "name" at the root) into the arena. */
static size_t
arena_join(arena_t *a, const char *rel, size_t rel_len, const char *name, size_t name_len,
           size_t *out_len)
{
    size_t len = rel_len ? rel_len + 1 + name_len : name_len;
    if (grow((void **)&a->v, &a->cap, a->n + len + 1, 1) < 0) {
        return (size_t)-1;
    }
    size_t off = a->n;
    char *p = a->v + off;
    if (rel_len) {
        memcpy(p, rel, rel_len);
        p[rel_len] = '/';
        p += rel_len + 1;
    }
    memcpy(p, name, name_len);
    p[name_len] = 0;
    a->n += len + 1;
    *out_len = len;
    return off;
}

/* ---- what one unit's walk records ------------------------------------------------------ */

enum { R_OWNER, R_MODE, R_SPECIAL, R_UNREADABLE, R_MOUNT, R_LOOP, R_TOO_DEEP };
static const char *REASONS[] = {"owner", "mode", "special", "unreadable", "mount", "loop",
                                "too-deep"};

typedef struct {
    size_t rel_off, rel_len; /* in the unit's arena */
    int reason;
    int err; /* unreadable: errno */
    uid_t uid;
    gid_t gid;
    mode_t mode; /* full st_mode */
    long parent;
    long long files, bytes; /* itself, then rolled up */
} mark_t;

typedef struct {
    size_t rel_off, rel_len;
    int err;
} problem_t;

typedef struct {
    size_t off, len;
    int has_record;
} distinfo_t;

typedef struct {
    PyObject *path; /* borrowed from the argument list */
    PyObject *kind;
    int is_archive;
    int has_owner;
    long long puid, pgid, pmode;
    /* results */
    int exists, is_dir;
    int root_err; /* lstat failed (not ENOENT): the "unreadable" problem of the root */
    struct stat st;
    long long blocks; /* below the root */
    long long files, dirs, symlinks, others, vanished;
    long long max_atime, max_mtime; /* ns */
    uint64_t *lino, *lblk;
    size_t nlinked, linked_cap;
    mark_t *marks;
    size_t nmarks, marks_cap;
    long dropped;
    problem_t *problems;
    size_t nproblems, problems_cap;
    size_t *top; /* offsets into the arena: name, length pairs */
    size_t ntop, top_cap;
    int top_truncated;
    distinfo_t *dist;
    size_t ndist, dist_cap;
    dev_t *devs;
    size_t ndevs, devs_cap;
    arena_t arena;
} unit_t;

static void
unit_free(unit_t *u)
{
    free(u->lino);
    free(u->lblk);
    free(u->marks);
    free(u->problems);
    free(u->top);
    free(u->dist);
    free(u->devs);
    free(u->arena.v);
}

typedef struct {
    long max_marks, max_depth, max_top;
} limits_t;

/* _Marks.add: the new mark's index, or `parent` when there are too many. */
static int
add_mark(unit_t *u, const limits_t *lim, const char *rel, size_t rel_len, int reason, int err,
         const struct stat *st, long parent, long *index)
{
    if ((long)u->nmarks >= lim->max_marks) {
        u->dropped++;
        *index = parent;
        return 0;
    }
    mark_t m;
    m.rel_off = arena_put(&u->arena, rel, rel_len);
    if (m.rel_off == (size_t)-1) {
        return -1;
    }
    m.rel_len = rel_len;
    m.reason = reason;
    m.err = err;
    m.uid = st->st_uid;
    m.gid = st->st_gid;
    m.mode = st->st_mode;
    m.parent = parent;
    int is_dir = S_ISDIR(st->st_mode);
    m.files = is_dir ? 0 : 1;
    m.bytes = is_dir ? 0 : (long long)st->st_blocks * 512;
    if (PUSH(u->marks, u->nmarks, u->marks_cap, m) < 0) {
        return -1;
    }
    *index = (long)u->nmarks - 1;
    return 0;
}

static int
add_problem(unit_t *u, const char *rel, size_t rel_len, int err)
{
    problem_t p;
    p.rel_off = arena_put(&u->arena, rel, rel_len);
    if (p.rel_off == (size_t)-1) {
        return -1;
    }
    p.rel_len = rel_len;
    p.err = err;
    return PUSH(u->problems, u->nproblems, u->problems_cap, p);
}

static distinfo_t *
find_dist(unit_t *u, const char *rel, size_t len)
{
    for (size_t i = 0; i < u->ndist; i++) {
        if (u->dist[i].len == len && memcmp(u->arena.v + u->dist[i].off, rel, len) == 0) {
            return &u->dist[i];
        }
    }
    return NULL;
}

/* ---- listing a directory ----------------------------------------------------------------- */

typedef struct {
    size_t name_off, name_len; /* in the listing's own name buffer */
    int err;                   /* errno of fstatat; 0: `st` is valid */
    int d_type;                /* from the directory listing (DT_UNKNOWN: not known) */
    struct stat st;
} entry_t;

typedef struct {
    entry_t *items;
    size_t n, cap;
    arena_t names;
    int err; /* listing it failed (errno), after `n` entries */
    char *buf; /* getdents64 buffer */
} listing_t;

#define DENTS_SIZE 32768

#ifdef __linux__
struct dirent64_raw {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};
#endif

#ifndef DT_UNKNOWN
#define DT_UNKNOWN 0
#endif

static int
listing_add(listing_t *l, int dfd, const char *name, int d_type)
{
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) {
        return 0;
    }
    size_t len = strlen(name);
    if (grow((void **)&l->items, &l->cap, l->n + 1, sizeof(entry_t)) < 0) {
        return -1;
    }
    entry_t *e = &l->items[l->n];
    e->name_off = arena_put(&l->names, name, len);
    if (e->name_off == (size_t)-1) {
        return -1;
    }
    e->name_len = len;
    e->d_type = d_type;
    e->err = fstatat(dfd, name, &e->st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
    l->n++;
    return 0;
}

/* List the open directory `dfd` (left open) and lstat each entry. -1: out of memory. */
static int
list_dir(int dfd, listing_t *l)
{
    l->n = 0;
    l->names.n = 0;
    l->err = 0;
#ifdef __linux__
    if (!l->buf && !(l->buf = malloc(DENTS_SIZE))) {
        return -1;
    }
    for (;;) {
        long got = syscall(SYS_getdents64, dfd, l->buf, DENTS_SIZE);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            l->err = errno;
            return 0;
        }
        if (got == 0) {
            return 0;
        }
        for (long pos = 0; pos < got;) {
            struct dirent64_raw *d = (struct dirent64_raw *)(l->buf + pos);
            pos += d->d_reclen;
            if (listing_add(l, dfd, d->d_name, d->d_type) < 0) {
                return -1;
            }
        }
    }
#else
    int fd = dup(dfd);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        l->err = errno;
        if (fd >= 0) {
            close(fd);
        }
        return 0;
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            l->err = errno;
            break;
        }
#ifdef _DIRENT_HAVE_D_TYPE
        int d_type = de->d_type;
#elif defined(DT_DIR)
        int d_type = de->d_type;
#else
        int d_type = DT_UNKNOWN;
#endif
        if (listing_add(l, dirfd(d), de->d_name, d_type) < 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    return 0;
#endif
}

/* ---- the walk of one unit (no GIL) --------------------------------------------------------- */

typedef struct {
    size_t rel_off, rel_len; /* in the stack's own arena */
    int depth;
    long mk;
    uid_t uid;
    gid_t gid;
    mode_t perm;
} frame_t;

typedef struct {
    uint64_t *keys; /* (dev, ino) pairs; a slot is empty when both are ~0 */
    size_t cap, n;
} dirset_t;

static size_t
dirset_hash(uint64_t dev, uint64_t ino)
{
    uint64_t h = ino * 0x9E3779B97F4A7C15ULL ^ (dev + 0x632BE59BD9B4E019ULL);
    h ^= h >> 29;
    return (size_t)h;
}

static void
dirset_clear(dirset_t *s)
{
    if (s->keys) {
        memset(s->keys, 0xff, sizeof(uint64_t) * 2 * s->cap);
    }
    s->n = 0;
}

/* 1 added, 0 present, -1 out of memory */
static int
dirset_add(dirset_t *s, uint64_t dev, uint64_t ino)
{
    const uint64_t E = ~(uint64_t)0;
    if ((s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        uint64_t *nk = malloc(sizeof(uint64_t) * 2 * ncap);
        if (!nk) {
            return -1;
        }
        memset(nk, 0xff, sizeof(uint64_t) * 2 * ncap);
        for (size_t i = 0; i < s->cap; i++) {
            uint64_t d = s->keys[2 * i], n = s->keys[2 * i + 1];
            if (d == E && n == E) {
                continue;
            }
            size_t j = dirset_hash(d, n) & (ncap - 1);
            while (!(nk[2 * j] == E && nk[2 * j + 1] == E)) {
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
        if (d == E && n == E) {
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

/* Scratch space shared by the units of one call. */
typedef struct {
    listing_t lst;
    frame_t *stack;
    size_t nstack, stack_cap;
    arena_t rels; /* the stack's paths */
    size_t *subdirs;
    size_t nsub_cap;
    dirset_t seen;
} scratch_t;

static void
scratch_free(scratch_t *s)
{
    free(s->lst.items);
    free(s->lst.names.v);
    free(s->lst.buf);
    free(s->stack);
    free(s->rels.v);
    free(s->subdirs);
    free(s->seen.keys);
}

/* The body of walk.py's _walk_fd_python for an open unit root. -1: out of memory. */
static int
walk_tree(unit_t *u, int rootfd, long root_mark, const limits_t *lim, scratch_t *s)
{
    listing_t *l = &s->lst;
    int track_file_mtime = !u->is_archive;
    dev_t unit_dev = u->st.st_dev;
    s->nstack = 0;
    s->rels.n = 0;
    dirset_clear(&s->seen);
    if (dirset_add(&s->seen, (uint64_t)unit_dev, (uint64_t)u->st.st_ino) < 0) {
        return -1;
    }
    frame_t root = {0, 0, 0, root_mark, u->st.st_uid, u->st.st_gid, u->st.st_mode & 07777};
    if (arena_put(&s->rels, "", 0) == (size_t)-1 ||
        PUSH(s->stack, s->nstack, s->stack_cap, root) < 0) {
        return -1;
    }
    while (s->nstack) {
        frame_t fr = s->stack[--s->nstack];
        /* The path is copied out: pushing children may move the stack's arena. */
        char *rel = malloc(fr.rel_len + 1);
        if (!rel) {
            return -1;
        }
        memcpy(rel, s->rels.v + fr.rel_off, fr.rel_len + 1);
        s->rels.n = fr.rel_off; /* popped: its path is the arena's last */
        int dfd = rootfd;
        if (fr.rel_len) {
            dfd = openat(rootfd, rel, DIR_FLAGS);
            if (dfd < 0) {
                int err = errno;
                int rc = 0;
                if (err == ENOENT) {
                    u->vanished++;
                }
                else if (err == EACCES || err == EPERM) {
                    struct stat dst;
                    long ignored;
                    if (fstatat(rootfd, rel, &dst, AT_SYMLINK_NOFOLLOW) == 0) {
                        rc = add_mark(u, lim, rel, fr.rel_len, R_UNREADABLE, err, &dst, fr.mk,
                                      &ignored);
                    }
                    else {
                        rc = add_problem(u, rel, fr.rel_len, err);
                    }
                }
                else {
                    rc = add_problem(u, rel, fr.rel_len, err);
                }
                free(rel);
                if (rc < 0) {
                    return -1;
                }
                continue;
            }
        }
        int rc = list_dir(dfd, l);
        if (dfd != rootfd) {
            close(dfd);
        }
        if (rc < 0) {
            free(rel);
            return -1;
        }
        /* Names matter only at an archive's top and in its .dist-info directories. */
        int named = u->is_archive &&
                    (fr.depth == 0 || (fr.depth == 1 && find_dist(u, rel, fr.rel_len)));
        size_t nsub = 0;
        for (size_t i = 0; i < l->n; i++) {
            entry_t *e = &l->items[i];
            const char *name = l->names.v + e->name_off;
            size_t plen, poff;
            long ignored;
            if (e->err) {
                if (e->err == ENOENT) {
                    u->vanished++;
                    continue;
                }
                poff = arena_join(&u->arena, rel, fr.rel_len, name, e->name_len, &plen);
                problem_t p = {poff, plen, e->err};
                if (poff == (size_t)-1 || PUSH(u->problems, u->nproblems, u->problems_cap, p) < 0) {
                    goto oom;
                }
                continue;
            }
            const struct stat *st = &e->st;
            u->blocks += (long long)st->st_blocks;
            mode_t fmt = st->st_mode & S_IFMT;
            int reason = -1;
            if (fmt == S_IFREG) {
                u->files++;
                if (st->st_nlink > 1) {
                    if (grow((void **)&u->lino, &u->linked_cap, u->nlinked + 1, sizeof(uint64_t)) < 0) {
                        goto oom;
                    }
                    size_t cap = u->linked_cap;
                    uint64_t *nb = realloc(u->lblk, cap * sizeof(uint64_t));
                    if (!nb) {
                        goto oom;
                    }
                    u->lblk = nb;
                    u->lino[u->nlinked] = (uint64_t)st->st_ino;
                    u->lblk[u->nlinked] = (uint64_t)st->st_blocks * 512;
                    u->nlinked++;
                }
                long long t = ATIME(st);
                if (t > u->max_atime) {
                    u->max_atime = t;
                }
                if (track_file_mtime) {
                    t = MTIME(st);
                    if (t > u->max_mtime) {
                        u->max_mtime = t;
                    }
                }
                if (st->st_uid != fr.uid || st->st_gid != fr.gid) {
                    reason = R_OWNER;
                }
                else if (!(st->st_mode & 0400)) {
                    reason = R_MODE;
                }
                else if (fr.mk >= 0) {
                    u->marks[fr.mk].files += 1;
                    u->marks[fr.mk].bytes += (long long)st->st_blocks * 512;
                }
            }
            else if (fmt == S_IFDIR) {
                if (PUSH(s->subdirs, nsub, s->nsub_cap, i) < 0) {
                    goto oom;
                }
            }
            else if (fmt == S_IFLNK) {
                u->symlinks++;
                if (st->st_uid != fr.uid) {
                    reason = R_OWNER;
                }
            }
            else {
                u->others++;
                reason = R_SPECIAL;
            }
            if (reason >= 0) {
                /* The path goes to the arena twice at worst (a dropped mark leaves it). */
                size_t mark_len = fr.rel_len ? fr.rel_len + 1 + e->name_len : e->name_len;
                char *tmp = malloc(mark_len + 1);
                if (!tmp) {
                    goto oom;
                }
                if (fr.rel_len) {
                    memcpy(tmp, rel, fr.rel_len);
                    tmp[fr.rel_len] = '/';
                    memcpy(tmp + fr.rel_len + 1, name, e->name_len);
                }
                else {
                    memcpy(tmp, name, e->name_len);
                }
                int mrc = add_mark(u, lim, tmp, mark_len, reason, 0, st, fr.mk, &ignored);
                free(tmp);
                if (mrc < 0) {
                    goto oom;
                }
            }
            if (named) {
                if (fr.depth == 0) {
                    if ((long)u->ntop < lim->max_top) {
                        size_t off = arena_put(&u->arena, name, e->name_len);
                        if (off == (size_t)-1 ||
                            grow((void **)&u->top, &u->top_cap, 2 * u->ntop + 2, sizeof(size_t)) <
                                0) {
                            goto oom;
                        }
                        u->top[2 * u->ntop] = off;
                        u->top[2 * u->ntop + 1] = e->name_len;
                        u->ntop++;
                    }
                    else {
                        u->top_truncated = 1;
                    }
                }
                else if (e->name_len == 6 && memcmp(name, "RECORD", 6) == 0) {
                    find_dist(u, rel, fr.rel_len)->has_record = 1;
                }
            }
        }
        if (l->err) {
            if (l->err == ENOENT) {
                u->vanished++;
            }
            else if (add_problem(u, rel, fr.rel_len, l->err) < 0) {
                goto oom;
            }
        }
        for (size_t k = 0; k < nsub; k++) {
            entry_t *e = &l->items[s->subdirs[k]];
            const struct stat *st = &e->st;
            const char *name = l->names.v + e->name_off;
            long cmk = fr.mk, ignored;
            u->dirs++;
            long long t = MTIME(st);
            if (t > u->max_mtime) {
                u->max_mtime = t;
            }
            size_t clen;
            size_t coff = arena_join(&s->rels, rel, fr.rel_len, name, e->name_len, &clen);
            if (coff == (size_t)-1) {
                goto oom;
            }
            const char *child = s->rels.v + coff;
            if (u->is_archive && fr.depth == 0 && e->name_len >= 10 &&
                memcmp(name + e->name_len - 10, ".dist-info", 10) == 0 &&
                !find_dist(u, child, clen)) {
                distinfo_t d = {0, clen, 0};
                d.off = arena_put(&u->arena, child, clen);
                if (d.off == (size_t)-1 || PUSH(u->dist, u->ndist, u->dist_cap, d) < 0) {
                    goto oom;
                }
            }
            int pushed = 0;
            if (st->st_dev != unit_dev) {
                int known = 0;
                for (size_t j = 0; j < u->ndevs; j++) {
                    known |= u->devs[j] == st->st_dev;
                }
                if (!known) {
                    if (PUSH(u->devs, u->ndevs, u->devs_cap, st->st_dev) < 0 ||
                        add_mark(u, lim, child, clen, R_MOUNT, 0, st, fr.mk, &cmk) < 0) {
                        goto oom;
                    }
                }
            }
            int added = dirset_add(&s->seen, (uint64_t)st->st_dev, (uint64_t)st->st_ino);
            if (added < 0) {
                goto oom;
            }
            if (!added) {
                if (add_mark(u, lim, child, clen, R_LOOP, 0, st, fr.mk, &ignored) < 0) {
                    goto oom;
                }
            }
            else if (fr.depth + 1 >= lim->max_depth) {
                if (add_mark(u, lim, child, clen, R_TOO_DEEP, 0, st, fr.mk, &ignored) < 0) {
                    goto oom;
                }
            }
            else {
                mode_t cperm = st->st_mode & 07777;
                if (st->st_uid != fr.uid || st->st_gid != fr.gid) {
                    if (add_mark(u, lim, child, clen, R_OWNER, 0, st, fr.mk, &cmk) < 0) {
                        goto oom;
                    }
                }
                else if (cperm != fr.perm) {
                    if (add_mark(u, lim, child, clen, R_MODE, 0, st, fr.mk, &cmk) < 0) {
                        goto oom;
                    }
                }
                frame_t f = {coff, clen, fr.depth + 1, cmk, st->st_uid, st->st_gid, cperm};
                if (PUSH(s->stack, s->nstack, s->stack_cap, f) < 0) {
                    goto oom;
                }
                pushed = 1;
            }
            if (!pushed) {
                s->rels.n = coff; /* not walked: drop its path */
            }
        }
        free(rel);
        continue;
    oom:
        free(rel);
        return -1;
    }
    return 0;
}

/* walk.py's walk_unit, without Python objects. -1: out of memory. */
static int
walk_one(unit_t *u, const char *path, const limits_t *lim, scratch_t *s)
{
    u->exists = 1;
    u->is_dir = 1;
    if (lstat(path, &u->st) != 0) {
        u->exists = 0;
        if (errno == ENOENT) {
            u->vanished = 1;
        }
        else {
            u->root_err = errno;
        }
        return 0;
    }
    const struct stat *st = &u->st;
    u->max_mtime = MTIME(st);
    long root_mark = -1;
    if (u->has_owner) {
        if ((long long)st->st_uid != u->puid || (long long)st->st_gid != u->pgid) {
            if (add_mark(u, lim, "", 0, R_OWNER, 0, st, -1, &root_mark) < 0) {
                return -1;
            }
        }
        else if (S_ISDIR(st->st_mode) && (long long)(st->st_mode & 07777) != u->pmode) {
            if (add_mark(u, lim, "", 0, R_MODE, 0, st, -1, &root_mark) < 0) {
                return -1;
            }
        }
    }
    if (!S_ISDIR(st->st_mode)) {
        u->is_dir = 0;
        if (S_ISREG(st->st_mode)) {
            u->files = 1;
            u->max_atime = ATIME(st);
            if (st->st_nlink > 1) {
                u->lino = malloc(sizeof(uint64_t));
                u->lblk = malloc(sizeof(uint64_t));
                if (!u->lino || !u->lblk) {
                    return -1;
                }
                u->lino[0] = (uint64_t)st->st_ino;
                u->lblk[0] = (uint64_t)st->st_blocks * 512;
                u->nlinked = 1;
            }
        }
        else if (S_ISLNK(st->st_mode)) {
            u->symlinks = 1;
        }
        else {
            u->others = 1;
        }
        return 0;
    }
    int rootfd = open(path, DIR_FLAGS);
    if (rootfd < 0) {
        long ignored;
        if (errno == ENOENT) {
            u->vanished++;
            return 0;
        }
        return add_mark(u, lim, "", 0, R_UNREADABLE, errno, st, root_mark, &ignored);
    }
    int rc = walk_tree(u, rootfd, root_mark, lim, s);
    close(rootfd);
    return rc;
}

/* ---- results as Python objects (GIL held) ------------------------------------------------ */

static PyObject *
decode(const char *s, size_t len)
{
    return PyUnicode_DecodeFSDefaultAndSize(s, (Py_ssize_t)len);
}

/* "<strerror> (os error N)", as walk.py's _err() words an OSError. */
static PyObject *
err_text(int err)
{
    return PyUnicode_FromFormat("%s (os error %d)", strerror(err), err);
}

static PyObject *
detail_text(const mark_t *m, const limits_t *lim)
{
    switch (m->reason) {
    case R_SPECIAL:
        return PyUnicode_FromString("not a file or directory");
    case R_MOUNT:
        return PyUnicode_FromString("another filesystem");
    case R_LOOP:
        return PyUnicode_FromString("directory seen twice");
    case R_TOO_DEEP:
        return PyUnicode_FromFormat("deeper than %ld", lim->max_depth);
    case R_UNREADABLE:
        return err_text(m->err);
    default:
        return PyUnicode_FromString("");
    }
}

static PyObject *
unit_result(unit_t *u, const limits_t *lim)
{
    PyObject *marks = NULL, *problems = NULL, *top = NULL, *dist = NULL, *devs = NULL;
    PyObject *out = NULL;
    const char *a = u->arena.v;
    /* _Marks.finish: every mark's totals into its nearest marked ancestor, children last. */
    for (size_t i = u->nmarks; i-- > 0;) {
        long p = u->marks[i].parent;
        if (p >= 0) {
            u->marks[p].files += u->marks[i].files;
            u->marks[p].bytes += u->marks[i].bytes;
        }
    }
    if (!(marks = PyList_New((Py_ssize_t)u->nmarks))) {
        goto done;
    }
    for (size_t i = 0; i < u->nmarks; i++) {
        mark_t *m = &u->marks[i];
        PyObject *rel = decode(a + m->rel_off, m->rel_len);
        PyObject *detail = detail_text(m, lim);
        PyObject *t = (rel && detail)
                          ? Py_BuildValue("(NslllOLLN)", rel, REASONS[m->reason], (long)m->uid,
                                          (long)m->gid, (long)(m->mode & 07777),
                                          S_ISDIR(m->mode) ? Py_True : Py_False, m->files,
                                          m->bytes, detail)
                          : NULL;
        if (!t) {
            if (!rel || !detail) {
                Py_XDECREF(rel);
                Py_XDECREF(detail);
            }
            goto done;
        }
        PyList_SET_ITEM(marks, (Py_ssize_t)i, t);
    }
    if (!(problems = PyList_New(0))) {
        goto done;
    }
    if (u->root_err) {
        PyObject *t = Py_BuildValue("(ssN)", "unreadable", "", err_text(u->root_err));
        if (!t || PyList_Append(problems, t) < 0) {
            Py_XDECREF(t);
            goto done;
        }
        Py_DECREF(t);
    }
    for (size_t i = 0; i < u->nproblems; i++) {
        problem_t *p = &u->problems[i];
        PyObject *t = Py_BuildValue("(sNN)", "unreadable", decode(a + p->rel_off, p->rel_len),
                                    err_text(p->err));
        if (!t || PyList_Append(problems, t) < 0) {
            Py_XDECREF(t);
            goto done;
        }
        Py_DECREF(t);
    }
    if (!(top = PyList_New((Py_ssize_t)u->ntop))) {
        goto done;
    }
    for (size_t i = 0; i < u->ntop; i++) {
        PyObject *n = decode(a + u->top[2 * i], u->top[2 * i + 1]);
        if (!n) {
            goto done;
        }
        PyList_SET_ITEM(top, (Py_ssize_t)i, n);
    }
    if (!(dist = PyList_New((Py_ssize_t)u->ndist))) {
        goto done;
    }
    for (size_t i = 0; i < u->ndist; i++) {
        PyObject *t = Py_BuildValue("(NO)", decode(a + u->dist[i].off, u->dist[i].len),
                                    u->dist[i].has_record ? Py_True : Py_False);
        if (!t) {
            goto done;
        }
        PyList_SET_ITEM(dist, (Py_ssize_t)i, t);
    }
    if (!(devs = PyList_New((Py_ssize_t)u->ndevs))) {
        goto done;
    }
    for (size_t i = 0; i < u->ndevs; i++) {
        PyObject *d = PyLong_FromUnsignedLongLong((unsigned long long)u->devs[i]);
        if (!d) {
            goto done;
        }
        PyList_SET_ITEM(devs, (Py_ssize_t)i, d);
    }
    unsigned long long shared = 0;
    for (size_t i = 0; i < u->nlinked; i++) {
        shared += u->lblk[i];
    }
    const struct stat *st = &u->st;
    out = Py_BuildValue(
        "(OOiillKKKLLLLLLLLy#y#KOOOOlL)", u->path, u->kind, u->exists, u->is_dir,
        u->exists ? (long)st->st_uid : -1L, u->exists ? (long)st->st_gid : -1L,
        (unsigned long long)(u->exists ? st->st_mode : 0),
        (unsigned long long)(u->exists ? st->st_ino : 0),
        (unsigned long long)(u->exists ? st->st_dev : 0),
        u->exists ? (long long)st->st_blocks * 512 : 0LL, u->blocks * 512, u->files, u->dirs,
        u->symlinks, u->others, u->max_atime, u->max_mtime,
        u->lino ? (const char *)u->lino : "", (Py_ssize_t)(u->nlinked * sizeof(uint64_t)),
        u->lblk ? (const char *)u->lblk : "", (Py_ssize_t)(u->nlinked * sizeof(uint64_t)),
        shared, top, u->top_truncated ? Py_True : Py_False, dist, marks, u->dropped, u->vanished);
    if (out) {
        /* problems and other_devices go last, appended by walk.py with the rest */
        PyObject *full = PyTuple_Pack(3, out, problems, devs);
        Py_DECREF(out);
        out = full;
    }
done:
    Py_XDECREF(marks);
    Py_XDECREF(problems);
    Py_XDECREF(top);
    Py_XDECREF(dist);
    Py_XDECREF(devs);
    return out;
}

/* walk_units(units, max_marks, max_depth, max_top) -> list of results (see walk.py) */
static PyObject *
walker_walk_units(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *units;
    limits_t lim;
    if (!PyArg_ParseTuple(args, "O!lll", &PyList_Type, &units, &lim.max_marks, &lim.max_depth,
                          &lim.max_top)) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(units);
    unit_t *us = calloc(n ? (size_t)n : 1, sizeof(unit_t));
    PyObject **paths = calloc(n ? (size_t)n : 1, sizeof(PyObject *)); /* fs-encoded bytes */
    PyObject *result = NULL;
    scratch_t s;
    memset(&s, 0, sizeof(s));
    if (!us || !paths) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(units, i);
        PyObject *owner;
        unit_t *u = &us[i];
        if (!PyArg_ParseTuple(item, "OO!O", &u->path, &PyUnicode_Type, &u->kind, &owner) ||
            !PyUnicode_FSConverter(u->path, &paths[i])) {
            goto done;
        }
        u->is_archive = PyUnicode_CompareWithASCIIString(u->kind, "archive") == 0;
        if (owner != Py_None) {
            if (!PyArg_ParseTuple(owner, "LLL", &u->puid, &u->pgid, &u->pmode)) {
                goto done;
            }
            u->has_owner = 1;
        }
    }
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n && !failed; i++) {
        failed = walk_one(&us[i], PyBytes_AS_STRING(paths[i]), &lim, &s) < 0;
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    if (!(result = PyList_New(n))) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *r = unit_result(&us[i], &lim);
        if (!r) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, i, r);
    }
done:
    if (us) {
        for (Py_ssize_t i = 0; i < n; i++) {
            unit_free(&us[i]);
        }
    }
    if (paths) {
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_XDECREF(paths[i]);
        }
    }
    free(us);
    free(paths);
    scratch_free(&s);
    return result;
}

/* ---- one directory of a link bucket --------------------------------------------------------- */

/* What os.DirEntry says of the entry's kind: the listing's d_type, else its lstat. */
static const char *
entry_kind(const entry_t *e)
{
#ifdef DT_LNK
    if (e->d_type == DT_LNK) {
        return "link";
    }
    if (e->d_type == DT_DIR) {
        return "dir";
    }
    if (e->d_type != DT_UNKNOWN) {
        return "file";
    }
#endif
    if (e->err) {
        return "file";
    }
    return S_ISLNK(e->st.st_mode) ? "link" : S_ISDIR(e->st.st_mode) ? "dir" : "file";
}

/* readlinkat into a growing buffer; the target's length, or -1 (errno set). */
static ssize_t
read_link(int dfd, const char *name, char **buf, size_t *cap)
{
    for (;;) {
        if (*cap == 0 || !*buf) {
            *cap = 4096;
            if (!(*buf = malloc(*cap))) {
                errno = ENOMEM;
                return -1;
            }
        }
        ssize_t n = readlinkat(dfd, name, *buf, *cap);
        if (n < 0 || (size_t)n < *cap) {
            return n;
        }
        char *nb = realloc(*buf, *cap * 2);
        if (!nb) {
            errno = ENOMEM;
            return -1;
        }
        *buf = nb;
        *cap *= 2;
    }
}

/* list_dir(path) -> [(name, kind, mode, ino, nlink, uid, gid, size, blocks, stat errno,
 * link target or None, readlink errno)]: walk.py's _list_dir_python, without the GIL. */
static PyObject *
walker_list_dir(PyObject *self, PyObject *arg)
{
    (void)self;
    PyObject *path_bytes;
    if (!PyUnicode_FSConverter(arg, &path_bytes)) {
        return NULL;
    }
    const char *path = PyBytes_AS_STRING(path_bytes);
    listing_t l;
    memset(&l, 0, sizeof(l));
    arena_t targets = {0};
    size_t *target_off = NULL, *target_len = NULL;
    int *link_err = NULL;
    char *buf = NULL;
    size_t bufcap = 0;
    int err = 0, oom = 0;
    PyObject *out = NULL;
    Py_BEGIN_ALLOW_THREADS
    int fd = open(path, DIR_FLAGS);
    if (fd < 0) {
        err = errno;
    }
    else {
        if (list_dir(fd, &l) < 0) {
            oom = 1;
        }
        else if (l.err) {
            err = l.err; /* a listing that fails half way is a directory that cannot be read */
        }
        else if (l.n) {
            target_off = calloc(l.n, sizeof(size_t));
            target_len = calloc(l.n, sizeof(size_t));
            link_err = calloc(l.n, sizeof(int));
            oom = !target_off || !target_len || !link_err;
            for (size_t i = 0; i < l.n && !oom; i++) {
                entry_t *e = &l.items[i];
                target_off[i] = (size_t)-1;
                if (e->err || !S_ISLNK(e->st.st_mode)) {
                    continue;
                }
                ssize_t n = read_link(fd, l.names.v + e->name_off, &buf, &bufcap);
                if (n < 0) {
                    link_err[i] = errno;
                    oom = errno == ENOMEM;
                    continue;
                }
                target_off[i] = arena_put(&targets, buf, (size_t)n);
                target_len[i] = (size_t)n;
                oom = target_off[i] == (size_t)-1;
            }
        }
        close(fd);
    }
    Py_END_ALLOW_THREADS
    if (oom) {
        PyErr_NoMemory();
        goto done;
    }
    if (err) {
        errno = err;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, arg);
        goto done;
    }
    if (!(out = PyList_New((Py_ssize_t)l.n))) {
        goto done;
    }
    for (size_t i = 0; i < l.n; i++) {
        entry_t *e = &l.items[i];
        const struct stat *st = &e->st;
        PyObject *name = decode(l.names.v + e->name_off, e->name_len);
        PyObject *target = Py_None;
        Py_INCREF(Py_None);
        if (target_off && target_off[i] != (size_t)-1) {
            Py_DECREF(Py_None);
            target = decode(targets.v + target_off[i], target_len[i]);
        }
        int ok = !e->err;
        PyObject *t = (name && target)
                          ? Py_BuildValue("(NsKKKllLLiNi)", name, entry_kind(e),
                                          (unsigned long long)(ok ? st->st_mode : 0),
                                          (unsigned long long)(ok ? st->st_ino : 0),
                                          (unsigned long long)(ok ? st->st_nlink : 0),
                                          (long)(ok ? st->st_uid : 0), (long)(ok ? st->st_gid : 0),
                                          (long long)(ok ? st->st_size : 0),
                                          (long long)(ok ? st->st_blocks : 0), e->err, target,
                                          link_err ? link_err[i] : 0)
                          : NULL;
        if (!t) {
            if (!name || !target) {
                Py_XDECREF(name);
                Py_XDECREF(target);
            }
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)i, t);
    }
done:
    Py_DECREF(path_bytes);
    free(l.items);
    free(l.names.v);
    free(l.buf);
    free(targets.v);
    free(target_off);
    free(target_len);
    free(link_err);
    free(buf);
    return out;
}

static PyMethodDef walker_methods[] = {
    {"list_dir", walker_list_dir, METH_O,
     "list_dir(path) -> list\n\n"
     "walk.py's _list_dir_python: one directory's entries, lstat-ed, links read."},
    {"walk_units", walker_walk_units, METH_VARARGS,
     "walk_units(units, max_marks, max_depth, max_top) -> list\n\n"
     "walk.py's walk_unit for each (path, kind, parent owner or None), without the GIL."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef walker_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_walker",
    .m_doc = "The compiled walker (see _walker.c); walk.py's Python walker is its reference.",
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

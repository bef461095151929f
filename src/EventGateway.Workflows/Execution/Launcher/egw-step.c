/*
 * egw-step: starts one workflow step, sandboxed or not, and records how it ended.
 *
 * Why hand-written: bubblewrap is a general tool; a step needs one fixed shape of sandbox, and egw used to
 * reach it through five execs (sh for limits and redirection, nsenter, bwrap, setpriv, unshare). This makes
 * exactly the system calls a step needs in one static binary, so starting a sandboxed step costs about as
 * much as starting the step itself (measured in bench/fanout).
 *
 *   egw-step --dir NODE_DIR [--chdir DIR] [--data KB] [--nproc N] [--nofile N]
 *            [--root ROOT --base BASE --etc ETC --uid UID --gid GID [--netns PATH | --private-net] [--run-as UID GID]
 *             [--ro DIR]... [--bind HOST SANDBOX_PATH]... [--python3-compat] [--template NS_FD ROOT_FD]]
 *            -- PROGRAM ARG...
 *   egw-step --make-template --base MOUNT_POINT --etc ETC [--ro DIR]...     (see make_template)
 *
 * With --template (egw's default) the sandbox is built on a copy of the service's template mount namespace instead
 * of the host's (see make_template): the same view, without a copy of the host's mounts or pivot_root per step.
 * Without --root the step is a plain host process (egw serve --no-sandbox). With it, the step gets:
 *  - its own mount, pid, ipc, uts and cgroup namespaces, and the workflow's network namespace (--netns) or a
 *    private one with loopback only (--private-net);
 *  - ROOT (host directory, the step's own) as the writable layer of an overlay over BASE, egw's shared
 *    skeleton of mount points and symlinks (so no step writes a skeleton of its own: creating and removing
 *    a score of inodes per step made the file system the bottleneck), system directories read-only (--ro), egw's
 *    shared /etc read-only, fresh /proc, a minimal /dev, tmpfs /run, /dev/shm; every mount nosuid, nodev
 *    where it can be; no path of the host's outside these;
 *  - the host uid UID and gid GID, no supplementary groups, no capabilities (effective, permitted,
 *    inheritable, ambient, bounding), no_new_privs; with --run-as a user namespace mapping the requested
 *    ids onto UID/GID, again with no capabilities;
 *  - rlimits (--data in KiB, --nproc, --nofile) and umask 002.
 * This process's pid goes to NODE_DIR/pid first; the step's stdout and stderr to NODE_DIR/stdout and
 * NODE_DIR/stderr; its exit code (128+N for signal N,
 * 127 when the program cannot be executed, 125 when the sandbox cannot be made, with the reason on stderr)
 * to NODE_DIR/exitcode, written by this process, which stays outside the sandbox. Killing this process's
 * group kills the step: the sandbox's pid 1 dies with this process and takes every process of the step.
 * ROOT keeps only what the step wrote; an empty ROOT is removed after the step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* The kernel interfaces below are declared here rather than through <linux/...> headers, so the launcher
 * builds the same with musl (whose static binaries start without glibc's CPU probing, a measurable cost
 * per step in a VM) and with glibc. Values are the kernel's ABI. */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#define SYS_move_mount 429
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif
#define EGW_OPEN_TREE_CLONE 1
#define EGW_MOVE_MOUNT_F_EMPTY_PATH 0x04
#define EGW_MOVE_MOUNT_T_EMPTY_PATH 0x40
#define EGW_FSCONFIG_SET_FLAG 0
#define EGW_FSCONFIG_SET_STRING 1
#define EGW_FSCONFIG_CMD_CREATE 6
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
struct egw_open_how { unsigned long long flags, mode, resolve; };
#define EGW_RESOLVE_NO_MAGICLINKS 0x02
#define EGW_RESOLVE_NO_SYMLINKS 0x04
#define EGW_RESOLVE_BENEATH 0x08
struct egw_mount_attr { unsigned long long attr_set, attr_clr, propagation, userns_fd; };
#define EGW_MOUNT_ATTR_RDONLY 0x01
#define EGW_MOUNT_ATTR_NOSUID 0x02
#define EGW_MOUNT_ATTR_NODEV 0x04
#define EGW_MOUNT_ATTR_NOEXEC 0x08
struct egw_cap_header { unsigned int version; int pid; };
struct egw_cap_data { unsigned int effective, permitted, inheritable; };
#define EGW_CAP_VERSION_3 0x20080522

#define EXIT_SANDBOX 125
#define EXIT_NOT_RUN 127
#define MAX_LIST 64

struct pair { const char *a, *b; };

static struct {
    const char *dir, *chdir, *root, *base, *etc, *netns;
    long long data_kb, nproc, nofile;
    long uid, gid, run_uid, run_gid;
    int private_net, run_as, python3, template_fd, template_root, make_template;
    const char *ro[MAX_LIST]; int n_ro;
    struct pair binds[MAX_LIST]; int n_binds;
    char **argv;
} opt = { .data_kb = -1, .nproc = -1, .nofile = -1, .uid = -1, .gid = -1, .template_fd = -1, .template_root = -1 };


static int err_fd = 2;

static void say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
    buf[n++] = '\n';
    if (write(err_fd, "egw-step: ", 10) < 0 || write(err_fd, buf, n) < 0) { /* nowhere left to say it */ }
}

static _Noreturn void fail(const char *what)
{
    say("%s: %s", what, strerror(errno));
    _exit(EXIT_SANDBOX);
}

static _Noreturn void usage(const char *why)
{
    say("%s", why);
    _exit(2);
}

static long long number(const char *s, const char *flag)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0) { say("%s: not a number: %s", flag, s); _exit(2); }
    return v;
}

static void parse(int argc, char **argv)
{
    int i = 1;
#define NEED(k) do { if (i + (k) >= argc) usage("missing value"); } while (0)
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        else if (!strcmp(a, "--dir")) { NEED(1); opt.dir = argv[++i]; }
        else if (!strcmp(a, "--chdir")) { NEED(1); opt.chdir = argv[++i]; }
        else if (!strcmp(a, "--data")) { NEED(1); opt.data_kb = number(argv[++i], a); }
        else if (!strcmp(a, "--nproc")) { NEED(1); opt.nproc = number(argv[++i], a); }
        else if (!strcmp(a, "--nofile")) { NEED(1); opt.nofile = number(argv[++i], a); }
        else if (!strcmp(a, "--root")) { NEED(1); opt.root = argv[++i]; }
        else if (!strcmp(a, "--etc")) { NEED(1); opt.etc = argv[++i]; }
        else if (!strcmp(a, "--base")) { NEED(1); opt.base = argv[++i]; }
        else if (!strcmp(a, "--uid")) { NEED(1); opt.uid = number(argv[++i], a); }
        else if (!strcmp(a, "--gid")) { NEED(1); opt.gid = number(argv[++i], a); }
        else if (!strcmp(a, "--netns")) { NEED(1); opt.netns = argv[++i]; }
        else if (!strcmp(a, "--private-net")) opt.private_net = 1;
        else if (!strcmp(a, "--python3-compat")) opt.python3 = 1;
        else if (!strcmp(a, "--template")) { NEED(2); opt.template_fd = (int)number(argv[++i], a); opt.template_root = (int)number(argv[++i], a); }
        else if (!strcmp(a, "--make-template")) opt.make_template = 1;
        else if (!strcmp(a, "--run-as")) { NEED(2); opt.run_as = 1; opt.run_uid = number(argv[++i], a); opt.run_gid = number(argv[++i], a); }
        else if (!strcmp(a, "--ro")) { NEED(1); if (opt.n_ro == MAX_LIST) usage("too many --ro"); opt.ro[opt.n_ro++] = argv[++i]; }
        else if (!strcmp(a, "--bind")) { NEED(2); if (opt.n_binds == MAX_LIST) usage("too many --bind"); opt.binds[opt.n_binds].a = argv[++i]; opt.binds[opt.n_binds++].b = argv[++i]; }
        else { say("unknown option %s", a); _exit(2); }
    }
#undef NEED
    if (opt.make_template) {
        if (!opt.base || !opt.etc) usage("--make-template needs --base and --etc");
        return;
    }
    if (!opt.dir) usage("--dir is required");
    if (i >= argc) usage("no program to run");
    if (opt.root && (!opt.etc || !opt.base || opt.uid <= 0 || opt.gid <= 0)) usage("--root needs --base, --etc, --uid and --gid (not 0)");
    if (opt.template_fd >= 0 && (!opt.root || opt.template_fd <= 2 || opt.template_root <= 2)) usage("--template needs --root and descriptors above 2");
    opt.argv = argv + i;
}

/* ---------- inside the sandbox's pid 1 (before the step) ---------- */

/* An O_PATH descriptor of PATH beneath ROOT, refusing any symlink and anything outside ROOT on the way:
 * the step's root is the step's, so nothing in it may redirect a mount to another place. */
static int beneath_as(int root, const char *path, unsigned long long flags)
{
    struct egw_open_how how = { .flags = flags | O_CLOEXEC, .resolve = EGW_RESOLVE_BENEATH | EGW_RESOLVE_NO_SYMLINKS | EGW_RESOLVE_NO_MAGICLINKS };
    while (*path == '/') path++;
    return (int)syscall(SYS_openat2, root, *path ? path : ".", &how, sizeof how);
}

static int beneath(int root, const char *path) { return beneath_as(root, path, O_PATH); }

/* Mounts onto an O_PATH descriptor through its /proc/self/fd link, so the target is exactly that directory. */
static void mount_at(const char *source, int target, const char *type, unsigned long flags, const char *data, const char *what)
{
    char at[64];
    snprintf(at, sizeof at, "/proc/self/fd/%d", target);
    if (mount(source, at, type, flags, data) < 0) fail(what);
}

/* A new, detached file system of TYPE with DATA ("key=value,flag,..."), as a mount descriptor with ATTRS
 * (EGW_MOUNT_ATTR_*). The new mount API needs no path, so it works where no /proc is mounted (the template). */
static int new_fs(const char *type, const char *data, unsigned attrs, const char *what)
{
    int fs = (int)syscall(SYS_fsopen, type, 1 /* FSOPEN_CLOEXEC */);
    if (fs < 0) fail(what);
    char buf[8192];
    if ((size_t)snprintf(buf, sizeof buf, "%s", data ? data : "") >= sizeof buf) usage("mount options too long");
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (eq) *eq = 0;
        long r = eq ? syscall(SYS_fsconfig, fs, EGW_FSCONFIG_SET_STRING, kv, eq + 1, 0)
                    : syscall(SYS_fsconfig, fs, EGW_FSCONFIG_SET_FLAG, kv, NULL, 0);
        if (r < 0) { say("%s: option %s", what, kv); fail(what); }
    }
    if (syscall(SYS_fsconfig, fs, EGW_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) fail(what);
    int m = (int)syscall(SYS_fsmount, fs, 1 /* FSMOUNT_CLOEXEC */, attrs);
    if (m < 0) fail(what);
    close(fs);
    return m;
}

/* Attaches the detached mount MOUNT onto the directory TARGET (an O_PATH descriptor) and closes MOUNT. */
static void attach(int mount, int target, const char *what)
{
    if (syscall(SYS_move_mount, mount, "", target, "", EGW_MOVE_MOUNT_F_EMPTY_PATH | EGW_MOVE_MOUNT_T_EMPTY_PATH) < 0) fail(what);
    close(mount);
}

/* A detached copy of the mount at PATH (and, RECURSIVE, every mount beneath it), keeping its flags (read-only stays read-only). */
static int clone_tree(int at, const char *path, int recursive, const char *what)
{
    int m = (int)syscall(SYS_open_tree, at, path, EGW_OPEN_TREE_CLONE | O_CLOEXEC | AT_SYMLINK_NOFOLLOW | (recursive ? AT_RECURSIVE : 0) | (*path ? 0 : AT_EMPTY_PATH));
    if (m < 0) fail(what);
    return m;
}

/* Read-only, nosuid, nodev for the mount at TARGET and every mount beneath it. */
static void read_only(int target, unsigned long long extra, const char *what)
{
    struct egw_mount_attr attr = { .attr_set = EGW_MOUNT_ATTR_RDONLY | EGW_MOUNT_ATTR_NOSUID | EGW_MOUNT_ATTR_NODEV | extra };
    if (syscall(SYS_mount_setattr, target, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) fail(what);
}

/* A top-level directory of the sandbox to mount on: BASE has one for every mount. */
static int mount_point(int root, const char *name)
{
    int fd = beneath(root, name);
    if (fd < 0) fail(name);
    return fd;
}

static void make_dev(int root)
{
    int dev = mount_point(root, "dev");
    attach(new_fs("tmpfs", "mode=0755,size=64k,nr_inodes=64", EGW_MOUNT_ATTR_NOSUID | EGW_MOUNT_ATTR_NOEXEC, "/dev"), dev, "/dev");
    close(dev);
    int d = beneath_as(root, "dev", O_DIRECTORY | O_RDONLY); /* the tmpfs now on top */
    if (d < 0) fail("/dev");
    static const struct { const char *name; unsigned major, minor; } nodes[] = {
        { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
    };
    for (unsigned i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        if (mknodat(d, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0) fail("/dev node");
    }
    static const struct pair links[] = {
        { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
        { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" },
    };
    for (unsigned i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlinkat(links[i].a, d, links[i].b) < 0) fail("/dev link");
    if (mkdirat(d, "pts", 0755) < 0 || mkdirat(d, "shm", 01777) < 0) fail("/dev dirs");
    int pts = openat(d, "pts", O_PATH | O_NOFOLLOW | O_CLOEXEC), shm = openat(d, "shm", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (pts < 0 || shm < 0) fail("/dev dirs");
    attach(new_fs("devpts", "newinstance,ptmxmode=0666,mode=620", EGW_MOUNT_ATTR_NOSUID | EGW_MOUNT_ATTR_NOEXEC, "/dev/pts"), pts, "/dev/pts");
    attach(new_fs("tmpfs", "mode=1777,size=64m", EGW_MOUNT_ATTR_NOSUID | EGW_MOUNT_ATTR_NODEV, "/dev/shm"), shm, "/dev/shm");
    close(pts); close(shm); close(d);
}

static void make_run(int root)
{
    int run = mount_point(root, "run");
    attach(new_fs("tmpfs", "mode=0755,size=1m", EGW_MOUNT_ATTR_NOSUID | EGW_MOUNT_ATTR_NODEV, "/run"), run, "/run");
    close(run);
    int d = beneath_as(root, "run", O_DIRECTORY | O_RDONLY);
    if (d < 0) fail("/run");
    if (mkdirat(d, "egw", 0755) < 0) fail("/run/egw");
    int egw = openat(d, "egw", O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (egw < 0) fail("/run/egw");
    /* The step's users and groups: egw's /etc/passwd and /etc/group link here, so /etc can be shared by every step. */
    long uid = opt.run_as ? opt.run_uid : opt.uid, gid = opt.run_as ? opt.run_gid : opt.gid;
    char passwd[512], group[256];
    int np = snprintf(passwd, sizeof passwd, "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
    if (uid != 0 && uid != 65534) np += snprintf(passwd + np, sizeof passwd - np, "step:x:%ld:%ld:step:/tmp:/bin/sh\n", uid, gid);
    int ng = snprintf(group, sizeof group, "root:x:0:\nnogroup:x:65534:\n");
    if (gid != 0 && gid != 65534) ng += snprintf(group + ng, sizeof group - ng, "step:x:%ld:\n", gid);
    const struct { const char *name; const char *text; int len; } files[] = { { "passwd", passwd, np }, { "group", group, ng } };
    for (int i = 0; i < 2; i++) {
        int f = openat(egw, files[i].name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (f < 0 || write(f, files[i].text, files[i].len) != files[i].len || close(f) < 0) fail("/run/egw");
    }
    if (opt.python3) {
        /* Images take `python` for granted; Debian installs python3. */
        if (mkdirat(egw, "bin", 0755) < 0 || symlinkat("/usr/bin/python3", egw, "bin/python") < 0) fail("/run/egw/bin");
    }
    close(egw); close(d);
}

/* The step's own /proc (of its pid namespace), /dev and /run, on ROOT. */
static void make_proc_dev_run(int root)
{
    int proc = mount_point(root, "proc");
    attach(new_fs("proc", NULL, EGW_MOUNT_ATTR_NOSUID | EGW_MOUNT_ATTR_NODEV | EGW_MOUNT_ATTR_NOEXEC, "/proc"), proc, "/proc");
    make_dev(root);
    make_run(root);
}

/* Everything of the sandbox's view, then pivot into ROOT. Runs as pid 1 of the new namespaces, still root. */
static void build_root(void)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) fail("making mounts private");
    /* The step's view of /: BASE below, ROOT on top, mounted over ROOT itself (in this namespace only). */
    char layers[8192];
    /* volatile: no sync of the whole file system when the sandbox ends (it made every step's end wait for the
     * disk); what the step wrote reaches the disk as any process's writes do, and this overlay is never
     * mounted again, so the marker volatile leaves in the work directory does not matter. */
    if ((size_t)snprintf(layers, sizeof layers, "lowerdir=%s,upperdir=%s,workdir=%s/work,index=off,metacopy=off,redirect_dir=off,xino=off,volatile",
                         opt.base, opt.root, opt.dir) >= sizeof layers) usage("paths too long");
    if (mount("overlay", opt.root, "overlay", MS_NOSUID | MS_NODEV, layers) < 0) fail("the step's root (overlay)");
    int root = open(opt.root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (root < 0) fail(opt.root);

    for (int i = 0; i < opt.n_ro; i++) {
        const char *name = opt.ro[i] + 1; /* "/usr" -> "usr" */
        int at = mount_point(root, name);
        int src = open(opt.ro[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (src < 0) fail(opt.ro[i]);
        char from[64];
        snprintf(from, sizeof from, "/proc/self/fd/%d", src);
        mount_at(from, at, NULL, MS_BIND | MS_REC, NULL, opt.ro[i]);
        close(at);
        at = beneath(root, name);
        read_only(at, 0, opt.ro[i]);
        close(at); close(src);
    }
    int etc = mount_point(root, "etc");
    mount_at(opt.etc, etc, NULL, MS_BIND, NULL, "/etc");
    close(etc);
    etc = beneath(root, "etc");
    read_only(etc, EGW_MOUNT_ATTR_NOEXEC, "/etc");
    close(etc);

    make_proc_dev_run(root);

    for (int i = 0; i < opt.n_binds; i++) {
        /* Volumes: the host side is egw's own directory; the mount point must already exist inside ROOT. */
        int src = open(opt.binds[i].a, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (src < 0) fail(opt.binds[i].a);
        int at = beneath(root, opt.binds[i].b);
        if (at < 0) fail(opt.binds[i].b);
        char from[64];
        snprintf(from, sizeof from, "/proc/self/fd/%d", src);
        mount_at(from, at, NULL, MS_BIND, NULL, opt.binds[i].b);
        close(at);
        at = beneath(root, opt.binds[i].b);
        mount_at(NULL, at, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, NULL, opt.binds[i].b);
        close(at); close(src);
    }

    if (fchdir(root) < 0) fail("entering the step's root");
    if (syscall(SYS_pivot_root, ".", ".") < 0) fail("pivot_root");
    if (umount2(".", MNT_DETACH) < 0) fail("detaching the host's root");
    if (chdir("/") < 0) fail("chdir /");
    close(root);
    if (sethostname("step", 4) < 0) fail("sethostname");
}

/* ---------- the template: the part of every sandbox that is the same for every step ---------- */

/*
 * Why: pivot_root walks every thread of the host (chroot_fs_refs) and a mount namespace copied from the host's
 * copies and then detaches all of the host's mounts; in a fan-out beside a busy .NET process pivot_root alone
 * was a fifth of the launcher's CPU. The template is a mount namespace built once per service: a read-only,
 * otherwise empty tmpfs as its root holding the system directories (read-only) and egw's /etc, and an empty
 * ".egw-step-root" directory (a name no host has: entering anything else fails). A step's monitor enters it (--template), each sandbox copies it (a handful of mounts),
 * attaches the step's own overlay on that directory, clones the system directories into it, and moves it onto / with a
 * chroot, which walks nothing. Escaping that chroot (a new user namespace grants CAP_SYS_CHROOT; climbing out
 * with "..") lands on the template's root, on which the step's root is stacked: a lookup there finds the step's
 * own root again. The template's root is read-only and holds nothing the sandbox does not show anyway.
 * It runs no step code and nothing in it is writable, so one serves every step of the service, as the shared
 * base and /etc directories do.
 *
 *   egw-step --make-template --base MOUNT_POINT --etc ETC [--ro DIR]...
 * builds it in a new mount namespace of its own, says "ready" on stdout and holds it until stdin closes; egw
 * opens /proc/PID/ns/mnt and /proc/PID/root meanwhile and keeps both descriptors (--template NS ROOT), which
 * keep the namespace and its root.
 */
static _Noreturn void make_template(void)
{
    umask(022); /* modes as written, whatever the service's umask */
    if (unshare(CLONE_NEWNS) < 0) fail("template: mount namespace");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("template: making mounts private");
    int at = open(opt.base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC); /* any directory: hidden in this namespace only */
    if (at < 0) fail(opt.base);
    attach(new_fs("tmpfs", "mode=0755,size=16k,nr_inodes=32", EGW_MOUNT_ATTR_NOSUID | EGW_MOUNT_ATTR_NODEV | EGW_MOUNT_ATTR_NOEXEC, "template root"), at, "template root");
    close(at);
    int t = open(opt.base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (t < 0) fail("template root");
    if (mkdirat(t, ".egw-step-root", 0755) < 0 || mkdirat(t, "etc", 0755) < 0) fail("template dirs");
    for (int i = 0; i < opt.n_ro; i++) {
        const char *name = opt.ro[i] + 1;
        if (mkdirat(t, name, 0755) < 0) fail(opt.ro[i]);
        int d = beneath(t, name);
        if (d < 0) fail(opt.ro[i]);
        attach(clone_tree(AT_FDCWD, opt.ro[i], 1, opt.ro[i]), d, opt.ro[i]);
        close(d);
        d = beneath(t, name);
        read_only(d, 0, opt.ro[i]);
        close(d);
    }
    int etc = beneath(t, "etc");
    attach(clone_tree(AT_FDCWD, opt.etc, 0, "/etc"), etc, "/etc");
    close(etc);
    etc = beneath(t, "etc");
    read_only(etc, EGW_MOUNT_ATTR_NOEXEC, "/etc");
    close(etc);
    if (fchdir(t) < 0) fail("template root");
    if (syscall(SYS_pivot_root, ".", ".") < 0) fail("template: pivot_root");
    if (umount2(".", MNT_DETACH) < 0) fail("template: detaching the host's root");
    if (chdir("/") < 0) fail("chdir /");
    /* The root itself read-only too (not recursive: its mounts are already). */
    struct egw_mount_attr ro = { .attr_set = EGW_MOUNT_ATTR_RDONLY | EGW_MOUNT_ATTR_NOSUID | EGW_MOUNT_ATTR_NODEV | EGW_MOUNT_ATTR_NOEXEC };
    if (syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, &ro, sizeof ro) < 0) fail("template: read-only root");
    if (write(1, "ready\n", 6) != 6) fail("template: stdout");
    for (;;) {
        char c;
        ssize_t n = read(0, &c, 1);
        if (n == 0 || (n < 0 && errno != EINTR)) _exit(0);
    }
}

/* The sandbox's view from the template (this process's mount namespace is a fresh copy of it): OVERLAY (the
 * step's root, made by the monitor outside) on /.egw-step-root, the system directories and /etc cloned from the template's
 * own, /proc, /dev, /run, volumes (BINDS, detached copies made outside), then that moved onto / and chrooted. */
static void build_root_in_template(int overlay, const int *binds)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("making mounts private");
    int step = open("/.egw-step-root", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (step < 0) fail("the template's /.egw-step-root");
    attach(overlay, step, "the step's root (overlay)");
    close(step);
    int root = open("/.egw-step-root", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (root < 0) fail("the step's root");
    for (int i = 0; i < opt.n_ro; i++) {
        int at = mount_point(root, opt.ro[i] + 1);
        attach(clone_tree(AT_FDCWD, opt.ro[i], 1, opt.ro[i]), at, opt.ro[i]); /* read-only as in the template */
        close(at);
    }
    int etc = mount_point(root, "etc");
    attach(clone_tree(AT_FDCWD, "/etc", 0, "/etc"), etc, "/etc");
    close(etc);
    make_proc_dev_run(root);
    for (int i = 0; i < opt.n_binds; i++) {
        int at = beneath(root, opt.binds[i].b);
        if (at < 0) fail(opt.binds[i].b);
        attach(binds[i], at, opt.binds[i].b);
        close(at);
        at = beneath(root, opt.binds[i].b);
        struct egw_mount_attr attr = { .attr_set = EGW_MOUNT_ATTR_NOSUID | EGW_MOUNT_ATTR_NODEV };
        if (syscall(SYS_mount_setattr, at, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) fail(opt.binds[i].b);
        close(at);
    }
    if (fchdir(root) < 0) fail("entering the step's root");
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) fail("moving the step's root onto /");
    if (chroot(".") < 0) fail("chroot");
    if (chdir("/") < 0) fail("chdir /");
    close(root);
    if (sethostname("step", 4) < 0) fail("sethostname");
}

/* A private network has loopback only, and up: processes of the step talk to each other on 127.0.0.1. */
static void loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &r) < 0) fail("loopback");
    r.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &r) < 0) fail("loopback");
    close(s);
}

static void drop_bounding_set(void)
{
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) fail("dropping capabilities");
}

static void clear_capabilities(void)
{
    struct egw_cap_header h = { .version = EGW_CAP_VERSION_3, .pid = 0 };
    struct egw_cap_data d[2] = { 0 };
    if (syscall(SYS_capset, &h, d) < 0) fail("clearing capabilities");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) fail("clearing ambient capabilities");
}

static void write_file(const char *path, const char *text)
{
    int f = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n = (ssize_t)strlen(text);
    if (f < 0 || write(f, text, n) != n || close(f) < 0) fail(path);
}

/* The step's own host uid and gid, no groups, no capabilities now or after any exec. */
static void become_step(void)
{
    drop_bounding_set();
    if (setgroups(0, NULL) < 0) fail("setgroups");
    if (setresgid(opt.gid, opt.gid, opt.gid) < 0) fail("setresgid");
    if (setresuid(opt.uid, opt.uid, opt.uid) < 0) fail("setresuid");
    clear_capabilities();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("no_new_privs");
    if (opt.run_as) {
        /* A user namespace maps the requested ids onto the step's host ids; a fresh one grants its creator
         * every capability within it, so drop them again before the step's program starts. */
        /* Changing uid made this process non-dumpable, which makes its /proc files root's; the exec that
         * follows would make it dumpable again anyway. */
        if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) fail("dumpable");
        if (unshare(CLONE_NEWUSER) < 0) fail("user namespace for runAsUser");
        char map[64];
        write_file("/proc/self/setgroups", "deny");
        snprintf(map, sizeof map, "%ld %ld 1\n", opt.run_uid, opt.uid);
        write_file("/proc/self/uid_map", map);
        snprintf(map, sizeof map, "%ld %ld 1\n", opt.run_gid, opt.gid);
        write_file("/proc/self/gid_map", map);
        drop_bounding_set();
        clear_capabilities();
    }
}

static void set_limit(int resource, long long value, const char *what)
{
    if (value < 0) return;
    struct rlimit r = { (rlim_t)value, (rlim_t)value };
    if (setrlimit(resource, &r) < 0) fail(what);
}

static void reset_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL); /* .NET leaves SIGPIPE ignored for its children */
}

static _Noreturn void exec_step(int out, int err)
{
    set_limit(RLIMIT_DATA, opt.data_kb < 0 ? -1 : opt.data_kb * 1024, "memory limit");
    set_limit(RLIMIT_NPROC, opt.nproc, "process limit");
    set_limit(RLIMIT_NOFILE, opt.nofile, "open files limit");
    umask(002);
    const char *dir = opt.chdir ? opt.chdir : "/";
    if (chdir(dir) < 0) fail(dir);
    if (dup2(out, 1) < 0 || dup2(err, 2) < 0) fail("stdout/stderr");
    err_fd = 2;
    execvp(opt.argv[0], opt.argv);
    int e = errno;
    say("%s: %s", opt.argv[0], strerror(e));
    _exit(e == ENOENT ? EXIT_NOT_RUN : 126);
}

static int exit_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : EXIT_SANDBOX;
}

/* The sandbox's pid 1: builds the view, starts the step as pid 2, reaps orphans, ends with the step. */
static _Noreturn void sandbox_init(int out, int err, int overlay, const int *binds)
{
    /* Killing the monitor's process group reaches this process too; this covers the monitor dying alone. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) _exit(EXIT_SANDBOX);
    if (opt.private_net) loopback_up();
    if (overlay >= 0) build_root_in_template(overlay, binds);
    else build_root();
    pid_t step = fork();
    if (step < 0) fail("fork");
    if (step == 0) {
        become_step();
        exec_step(out, err);
    }
    close(out); close(err);
    /* pid 1 needs no privilege to reap: drop it too. */
    if (setgroups(0, NULL) < 0 || setresgid(opt.gid, opt.gid, opt.gid) < 0 || setresuid(opt.uid, opt.uid, opt.uid) < 0) _exit(EXIT_SANDBOX);
    for (;;) {
        int status;
        pid_t p = wait(&status);
        if (p == step) _exit(exit_code(status)); /* the kernel ends every other process of the namespace */
        if (p < 0 && errno != EINTR) _exit(EXIT_SANDBOX);
    }
}

/* ---------- the monitor, outside the sandbox ---------- */

/* Removes the overlay's work directory and ROOT when the step left nothing in it (their mounts ended
 * with the sandbox): a finished step keeps only what it wrote. */
static void remove_scratch(int dir, int root_parent, const char *root_name)
{
    int work = openat(dir, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (work >= 0) {
        unlinkat(work, "work/incompat/volatile/dirty", 0); /* the volatile mount's marker */
        unlinkat(work, "work/incompat/volatile", AT_REMOVEDIR);
        unlinkat(work, "work/incompat", AT_REMOVEDIR);
        unlinkat(work, "work", AT_REMOVEDIR);
        close(work);
        unlinkat(dir, "work", AT_REMOVEDIR);
    }
    unlinkat(root_parent, root_name, AT_REMOVEDIR);
}

static void pause_ends(int sig) { (void)sig; _exit(0); }

int main(int argc, char **argv)
{
    /* --pause: the container executor's pod infra container (holds the network namespace a pod's containers join).
     * As pid 1 it gets no default signal actions, so it ends on SIGTERM/SIGINT through a handler. */
    if (argc == 2 && !strcmp(argv[1], "--pause")) {
        signal(SIGTERM, pause_ends);
        signal(SIGINT, pause_ends);
        for (;;) pause();
    }
    parse(argc, argv);
    if (opt.make_template) make_template();
    reset_signals();
    /* Every mode below is meant as written: `egw serve` runs with umask 077, which would make the sandbox's own
     * /run/egw, /dev/pts and passwd unreadable to the step. The step gets umask 002 when it starts. */
    umask(0);
    int dir = open(opt.dir, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0) fail(opt.dir);
    /* The service's own files: 0600, as everything in its data directory. */
    int out = openat(dir, "stdout", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    int err = openat(dir, "stderr", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0 || err < 0) fail("opening the step's logs");
    err_fd = err;
    /* The durable record that this node's process exists, before anything of the step runs: a service
     * restarted after this point adopts the step instead of starting it again. */
    char pid[24];
    int np = snprintf(pid, sizeof pid, "%d", (int)getpid());
    int pf = openat(dir, "pid", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (pf < 0 || write(pf, pid, np) != np || close(pf) < 0) fail("writing the pid file");

    pid_t child;
    /* ROOT by a descriptor of its parent: with a template, host paths do not resolve after entering it. */
    int root_parent = -1;
    const char *root_name = NULL;
    if (opt.root) {
        char parent[4096];
        const char *slash = strrchr(opt.root, '/');
        if (!slash || !slash[1] || (size_t)(slash - opt.root) >= sizeof parent) usage("--root must be an absolute path");
        memcpy(parent, opt.root, slash - opt.root);
        parent[slash - opt.root] = 0;
        root_parent = open(*parent ? parent : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_parent < 0) fail(parent);
        root_name = slash + 1;
    }
    if (!opt.root) {
        child = fork();
        if (child == 0) exec_step(out, err);
    } else {
        if (mkdirat(dir, "work", 0700) < 0 && errno != EEXIST) fail("the overlay's work directory");
        int overlay = -1, binds[MAX_LIST];
        if (opt.template_fd >= 0) {
            /* Everything of the host the sandbox needs, taken before entering the template: the step's overlay
             * (its paths are the host's) and detached copies of its volumes. */
            char layers[8192];
            if ((size_t)snprintf(layers, sizeof layers, "lowerdir=%s,upperdir=%s,workdir=%s/work,index=off,metacopy=off,redirect_dir=off,xino=off,volatile",
                                 opt.base, opt.root, opt.dir) >= sizeof layers) usage("paths too long");
            overlay = new_fs("overlay", layers, EGW_MOUNT_ATTR_NOSUID | EGW_MOUNT_ATTR_NODEV, "the step's root (overlay)");
            for (int i = 0; i < opt.n_binds; i++) {
                binds[i] = clone_tree(AT_FDCWD, opt.binds[i].a, 0, opt.binds[i].a);
                struct stat st;
                if (fstat(binds[i], &st) < 0 || !S_ISDIR(st.st_mode)) { errno = ENOTDIR; fail(opt.binds[i].a); }
            }
        }
        if (opt.netns) {
            int ns = open(opt.netns, O_RDONLY | O_CLOEXEC);
            if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) fail(opt.netns);
            close(ns);
        }
        if (opt.template_fd >= 0) {
            /* Its namespace, then its root (a namespace is entered at the root of its first mount, not the
             * template's); the sandbox's clone of the namespace carries this root over to its own copy. */
            if (setns(opt.template_fd, CLONE_NEWNS) < 0 || fchdir(opt.template_root) < 0 || chroot(".") < 0) fail("entering the sandbox template");
            close(opt.template_fd);
            close(opt.template_root);
        }
        unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | SIGCHLD;
        if (opt.private_net) flags |= CLONE_NEWNET;
        child = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
        if (child < 0 && errno == EINVAL) child = (pid_t)syscall(SYS_clone, flags & ~(unsigned long)CLONE_NEWCGROUP, NULL, NULL, NULL, NULL);
        if (child == 0) sandbox_init(out, err, overlay, binds);
        if (overlay >= 0) close(overlay);
        for (int i = 0; overlay >= 0 && i < opt.n_binds; i++) close(binds[i]);
    }
    if (child < 0) fail("starting the step");
    close(out);

    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR) fail("waiting for the step");
    int code = exit_code(status);

    if (opt.root) remove_scratch(dir, root_parent, root_name);

    char text[16];
    int n = snprintf(text, sizeof text, "%d\n", code);
    int f = openat(dir, "exitcode", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0 || write(f, text, n) != n || close(f) < 0) fail("writing the exit code");
    return code;
}

using System.Runtime.InteropServices;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// Starts processes with glibc's posix_spawn: a vfork-style clone that costs the same whatever the
/// service's size, in a new session (so the step's process group can be killed as one and outlives
/// the service), with stdio on /dev/null, the working directory set in the child, and every signal at its
/// default and unblocked (.NET ignores SIGPIPE, which children would otherwise inherit); descriptors the caller
/// names are handed on as 3, 4, ... (everything else of the service's is close-on-exec).
/// </summary>
internal static unsafe partial class PosixSpawn
{
    private const short SetSid = 0x80; // POSIX_SPAWN_SETSID (glibc)
    private const short SetSigDef = 0x04; // POSIX_SPAWN_SETSIGDEF
    private const short SetSigMask = 0x08; // POSIX_SPAWN_SETSIGMASK
    private const int SigSetSize = 128;
    private const int ORdWr = 2;
    private const int Eintr = 4;
    private const int AttrSize = 1024;   // larger than glibc's posix_spawnattr_t (336 bytes)
    private const int ActionsSize = 1024; // larger than posix_spawn_file_actions_t (80 bytes)

    /// <summary>Starts <paramref name="argv"/>[0] (an absolute path) and returns its pid, or throws IOException.</summary>
    public static int Start(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> env, string workingDirectory, IReadOnlyList<int>? inherit = null)
    {
        var strings = new List<nint>();
        byte* Utf8(string s)
        {
            var p = Marshal.StringToCoTaskMemUTF8(s);
            strings.Add(p);
            return (byte*)p;
        }
        var attr = NativeMemory.AllocZeroed(AttrSize);
        var actions = NativeMemory.AllocZeroed(ActionsSize);
        var args = (byte**)NativeMemory.AllocZeroed((nuint)(argv.Count + 1), (nuint)sizeof(byte*));
        var envp = (byte**)NativeMemory.AllocZeroed((nuint)(env.Count + 1), (nuint)sizeof(byte*));
        try
        {
            for (var i = 0; i < argv.Count; i++) args[i] = Utf8(argv[i]);
            var k = 0;
            foreach (var (name, value) in env) envp[k++] = Utf8($"{name}={value}");
            Check(posix_spawnattr_init(attr), "posix_spawnattr_init");
            Check(posix_spawnattr_setflags(attr, SetSid | SetSigDef | SetSigMask), "posix_spawnattr_setflags");
            var signals = stackalloc byte[SigSetSize];
            sigfillset(signals);
            Check(posix_spawnattr_setsigdefault(attr, signals), "posix_spawnattr_setsigdefault");
            sigemptyset(signals);
            Check(posix_spawnattr_setsigmask(attr, signals), "posix_spawnattr_setsigmask");
            Check(posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            var devNull = Utf8("/dev/null");
            for (var fd = 0; fd <= 2; fd++) Check(posix_spawn_file_actions_addopen(actions, fd, devNull, ORdWr, 0), "posix_spawn_file_actions_addopen");
            Check(posix_spawn_file_actions_addchdir_np(actions, Utf8(workingDirectory)), "posix_spawn_file_actions_addchdir_np");
            // dup2 clears close-on-exec on the copy only: the child gets these, nothing else does.
            for (var i = 0; i < (inherit?.Count ?? 0); i++) Check(posix_spawn_file_actions_adddup2(actions, inherit![i], 3 + i), "posix_spawn_file_actions_adddup2");
            var rc = posix_spawn(out var pid, args[0], actions, attr, args, envp);
            if (rc != 0) throw new IOException($"cannot start {argv[0]}: {Marshal.GetPInvokeErrorMessage(rc)}");
            return pid;
        }
        finally
        {
            posix_spawn_file_actions_destroy(actions);
            posix_spawnattr_destroy(attr);
            NativeMemory.Free(attr);
            NativeMemory.Free(actions);
            NativeMemory.Free(args);
            NativeMemory.Free(envp);
            foreach (var p in strings) Marshal.FreeCoTaskMem(p);
        }
    }

    /// <summary>Waits for a child started here and reaps it; returns its exit code (128+signal when killed).</summary>
    public static Task<int> WaitAsync(int pid) => ChildReaper.WaitAsync(pid) ?? Task.Factory.StartNew(() => Reap(pid),
        CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Blocks until <paramref name="pid"/> ends and reaps it.</summary>
    internal static int Reap(int pid)
    {
        while (true)
        {
            if (waitpid(pid, out var status, 0) == pid)
                return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
            if (Marshal.GetLastPInvokeError() != Eintr) return -1;
        }
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0) throw new IOException($"{what} failed: {Marshal.GetPInvokeErrorMessage(rc)}");
    }

    [LibraryImport("libc")]
    private static partial int posix_spawn(out int pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_init(void* attr);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigdefault(void* attr, byte* set);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigmask(void* attr, byte* set);

    [LibraryImport("libc")]
    private static partial int sigfillset(byte* set);

    [LibraryImport("libc")]
    private static partial int sigemptyset(byte* set);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_addopen(void* actions, int fd, byte* path, int flags, int mode);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_addchdir_np(void* actions, byte* path);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newFd);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, out int status, int options);
}

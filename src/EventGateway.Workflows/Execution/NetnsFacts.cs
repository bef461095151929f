using System.Globalization;
using System.Runtime.InteropServices;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// What the kernel says about a named network namespace (/run/netns/NAME): its identity, whether any process is in
/// it, whether any socket is left in it; and how to remove its name. Every call is a handful of syscalls, no child process.
/// </summary>
internal static partial class NetnsFacts
{
    private const int CloneNewNet = 0x40000000;
    private const int OpenReadOnlyCloexec = 0x80000; // O_RDONLY | O_CLOEXEC
    private const int MntDetach = 2;

    /// <summary>
    /// Per-namespace socket tables (read inside the namespace) of the kinds sockstat does not count. TCP, UDP,
    /// UDP-Lite and raw sockets are counted from sockstat instead (the kernel's per-namespace counters; in use:
    /// listening, connected and orphaned; tw: TIME_WAIT): /proc/net/tcp and /proc/net/udp walk the host's whole
    /// hash tables, ~4 ms a read, which made recycling a namespace cost more than running a one-step workflow.
    /// </summary>
    private static readonly string[] SocketTables = ["icmp", "icmp6", "unix"];

    /// <summary>The sockstat lines that count sockets (FRAG counts reassembly queues).</summary>
    private static readonly string[] SockstatProtocols = ["TCP:", "UDP:", "UDPLITE:", "RAW:", "TCP6:", "UDP6:", "UDPLITE6:", "RAW6:"];

    /// <summary>The namespace's inode (its identity, as /proc/PID/ns/net shows it), or null when the name is gone.</summary>
    public static ulong? Inode(string path)
    {
        Span<byte> buf = stackalloc byte[256]; // struct stat; st_ino follows the 8-byte st_dev on x86_64 and arm64
        return stat(path, ref MemoryMarshal.GetReference(buf)) == 0 ? BitConverter.ToUInt64(buf[8..16]) : null;
    }

    /// <summary>
    /// The network namespaces some process is in right now: one readlink per process (zombies and processes that
    /// just ended have none). Threads are not looked at: changing a thread's namespace needs CAP_SYS_ADMIN, which
    /// no step has.
    /// </summary>
    public static HashSet<ulong> Occupied()
    {
        var occupied = new HashSet<ulong>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var name = dir.AsSpan(6);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0])) continue;
            if (InodeOfLink(dir + "/ns/net") is { } inode) occupied.Add(inode);
        }
        return occupied;
    }

    /// <summary>How many sockets the namespace holds, of every table; counted from this thread, which visits it and comes back.</summary>
    /// <param name="processesGone">every process that was in it is known to be gone: the tables are skipped, as their sockets
    /// (unix, ping) end with the processes holding them; TCP's can outlive them (orphaned, TIME_WAIT), and sockstat counts those.</param>
    public static int Sockets(string path, bool processesGone = false) => Inside(path, () =>
    {
        var count = 0;
        foreach (var line in File.ReadLines("/proc/thread-self/net/sockstat").Concat(File.ReadLines("/proc/thread-self/net/sockstat6")))
        {
            // TCP: inuse N orphan N tw N alloc N mem N; UDP: inuse N mem N; RAW6: inuse N
            var words = line.Split(' ');
            if (!SockstatProtocols.Contains(words[0])) continue;
            for (var i = 1; i + 1 < words.Length; i += 2)
                if (words[i] is "inuse" or "tw") count += int.Parse(words[i + 1], CultureInfo.InvariantCulture);
        }
        foreach (var table in processesGone ? [] : SocketTables)
        {
            try
            {
                using var reader = new StreamReader("/proc/thread-self/net/" + table);
                reader.ReadLine(); // the header
                while (reader.ReadLine() is not null) count++;
            }
            catch (FileNotFoundException) { } // a protocol this kernel lacks (IPv6 off)
        }
        return count;
    });

    /// <summary>Sets a sysctl of the namespace (a path under /proc/sys/net, resolved in the namespace of the thread that opens it).</summary>
    public static void SetSysctl(string path, string sysctl, string value) =>
        Inside(path, () => { File.WriteAllText("/proc/sys/net/" + sysctl, value); return 0; });

    /// <summary>Removes the namespace's name, as `ip netns delete` does: the namespace itself ends when nothing holds it (pasta notices the name is gone and quits).</summary>
    public static void RemoveName(string path)
    {
        umount2(path, MntDetach);
        unlink(path);
    }

    /// <summary>A handle on a process that stays its own even after the pid is reused (a pidfd); -1 when it is gone already.</summary>
    public static int Pidfd(int pid) => (int)syscall(434, pid, 0); // pidfd_open

    /// <summary>SIGTERM through a pidfd, which is then closed: never reaches a process that merely reuses the pid.</summary>
    public static void Terminate(int pidfd)
    {
        syscall(424, pidfd, 15, 0, 0); // pidfd_send_signal
        close(pidfd);
    }

    /// <summary>Closes a pidfd without signalling.</summary>
    public static void Forget(int pidfd) => close(pidfd);

    /// <summary>Runs <paramref name="read"/> with this thread in the namespace, then puts the thread back where it was, whatever happens.</summary>
    internal static T Inside<T>(string path, Func<T> read)
    {
        var home = open("/proc/thread-self/ns/net", OpenReadOnlyCloexec);
        if (home < 0) throw Error("cannot open this thread's network namespace");
        try
        {
            var target = open(path, OpenReadOnlyCloexec);
            if (target < 0) throw Error($"cannot open {path}");
            try
            {
                if (setns(target, CloneNewNet) != 0) throw Error($"cannot enter {path}");
            }
            finally { close(target); }
            try { return read(); }
            finally
            {
                // A thread left in a workflow's namespace would do the service's later work there: not survivable.
                if (setns(home, CloneNewNet) != 0) Environment.FailFast("cannot return a thread to the service's network namespace");
            }
        }
        finally { close(home); }
    }

    private static ulong? InodeOfLink(string link)
    {
        Span<byte> buf = stackalloc byte[64];
        var n = readlink(link, ref MemoryMarshal.GetReference(buf), buf.Length);
        if (n <= 0) return null;
        var text = buf[..(int)n]; // "net:[4026531833]"
        var open = text.IndexOf((byte)'[');
        return open >= 0 && ulong.TryParse(System.Text.Encoding.ASCII.GetString(text[(open + 1)..^1]), NumberStyles.None, CultureInfo.InvariantCulture, out var inode) ? inode : null;
    }

    private static IOException Error(string what) => new($"{what}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc")]
    private static partial int close(int fd);

    [LibraryImport("libc")]
    private static partial long syscall(long number, long a, long b, long c = 0, long d = 0);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int stat(string path, ref byte buffer);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint readlink(string path, ref byte buffer, nint size);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int umount2(string target, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int unlink(string path);
}

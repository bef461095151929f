using System.Runtime.InteropServices;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// One thread learns of every step process's end, through a pidfd per process and one epoll set, instead of a
/// thread blocked in waitpid per running step (thousands of thread starts and stacks in a fan-out). Hand-written:
/// .NET's Process can only wait for processes it started itself, and steps are started with posix_spawn.
/// </summary>
internal static unsafe partial class ChildReaper
{
    private const int EpollIn = 0x001, EpollCtlAdd = 1, EpollCloExec = 0x80000, Eintr = 4;
    /// <summary>struct epoll_event is packed on x86-64 (12 bytes), naturally aligned elsewhere (16).</summary>
    private static readonly bool Packed = RuntimeInformation.ProcessArchitecture == Architecture.X64;
    private static int EventSize => Packed ? 12 : 16;
    private static int DataOffset => Packed ? 4 : 8;

    private static readonly Lock Gate = new();
    private static readonly Dictionary<int, (int Pid, TaskCompletionSource<int> Ended)> Waiting = [];
    private static int _epoll = -1;
    private static bool _unavailable;

    /// <summary>A task that completes with the exit code when <paramref name="pid"/> ends; null where pidfds are not available (then wait another way).</summary>
    public static Task<int>? WaitAsync(int pid)
    {
        lock (Gate)
        {
            if (_unavailable || !Started()) return null;
            int fd;
            try { fd = pidfd_open(pid, 0); }
            catch (EntryPointNotFoundException) { _unavailable = true; return null; } // glibc before 2.36
            if (fd < 0) return null;
            var ended = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            Waiting[fd] = (pid, ended);
            var ev = stackalloc byte[16];
            *(uint*)ev = EpollIn;
            *(long*)(ev + DataOffset) = fd;
            if (epoll_ctl(_epoll, EpollCtlAdd, fd, ev) < 0)
            {
                Waiting.Remove(fd);
                close(fd);
                return null;
            }
            return ended.Task;
        }
    }

    private static bool Started()
    {
        if (_epoll >= 0) return true;
        _epoll = epoll_create1(EpollCloExec);
        if (_epoll < 0) { _unavailable = true; return false; }
        new Thread(Run) { IsBackground = true, Name = "egw-step-reaper" }.Start();
        return true;
    }

    private static void Run()
    {
        const int Max = 64;
        var events = stackalloc byte[Max * 16];
        while (true)
        {
            var n = epoll_wait(_epoll, events, Max, -1);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == Eintr) continue;
                return;
            }
            for (var i = 0; i < n; i++)
            {
                var fd = (int)*(long*)(events + i * EventSize + DataOffset);
                (int Pid, TaskCompletionSource<int> Ended) entry;
                lock (Gate)
                {
                    if (!Waiting.Remove(fd, out entry)) continue;
                }
                close(fd); // also takes it out of the epoll set
                entry.Ended.SetResult(PosixSpawn.Reap(entry.Pid)); // it has ended: this does not block
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pidfd_open(int pid, uint flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_ctl(int epfd, int op, int fd, byte* ev);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_wait(int epfd, byte* events, int maxEvents, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}

using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// The part of every sandbox that is the same for every step, built once per service: a mount namespace whose
/// root is a read-only, otherwise empty tmpfs holding the system directories (read-only) and egw's /etc
/// (egw-step --make-template). Each step's launcher enters it (--template) and builds its sandbox on a copy of
/// it: its own overlay root, /proc, /dev, /run and volumes, moved onto / with a chroot. That is what spares
/// every step a copy of the host's mount table, its detaching, and pivot_root, whose walk over every thread of
/// the host was a fifth of the launcher's CPU beside a busy service. The template runs no step code and
/// nothing in it is writable, so, like the shared base and /etc directories, one serves every workflow.
/// Held as two descriptors (the namespace and its root), which every step's launcher inherits as 3 and 4.
/// </summary>
internal sealed partial class SandboxTemplate : IDisposable
{
    private const int ORdOnly = 0, ODirectory = 0x10000, OCloExec = 0x80000, OPath = 0x200000, FDupFdCloExec = 1030;

    private SandboxTemplate(int ns, int root) => (Namespace, Root) = (ns, root);

    /// <summary>The template's mount namespace (an nsfs descriptor).</summary>
    public int Namespace { get; private set; }

    /// <summary>The template's root directory (an O_PATH descriptor): a namespace is entered at the root of its first mount, not this one.</summary>
    public int Root { get; private set; }

    /// <summary>The descriptors a step's launcher gets, in the order of its --template arguments.</summary>
    public int[] Descriptors => [Namespace, Root];

    /// <summary>Builds the template; throws IOException with the launcher's reason when it cannot.</summary>
    /// <param name="mountPoint">Any directory of the host: the template's root is mounted on it in the template's own namespace only.</param>
    public static SandboxTemplate Create(string launcher, string mountPoint, string etc, IEnumerable<string> readOnlyDirs)
    {
        var psi = new ProcessStartInfo(launcher) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--make-template", "--base", mountPoint, "--etc", etc }) psi.ArgumentList.Add(a);
        foreach (var d in readOnlyDirs) { psi.ArgumentList.Add("--ro"); psi.ArgumentList.Add(d); }
        using var p = Process.Start(psi) ?? throw new IOException($"cannot start {launcher}");
        try
        {
            // It holds the namespace until its stdin closes; the descriptors opened meanwhile keep it after.
            if (p.StandardOutput.ReadLine() != "ready")
            {
                p.StandardInput.Close();
                p.WaitForExit();
                throw new IOException($"the sandbox template cannot be made: {p.StandardError.ReadToEnd().Trim()} (exit code {p.ExitCode})");
            }
            var ns = Open($"/proc/{p.Id}/ns/mnt", ORdOnly | OCloExec);
            var root = Open($"/proc/{p.Id}/root", OPath | ODirectory | OCloExec);
            return new SandboxTemplate(ns, root);
        }
        finally
        {
            try { p.StandardInput.Close(); } catch (IOException) { }
            p.WaitForExit();
        }
    }

    private static int Open(string path, int flags)
    {
        var fd = open(path, flags);
        if (fd < 0) throw new IOException($"cannot open {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        if (fd > 4) return fd;
        // Handed on as 3 and 4 in order: a descriptor already at 3 or 4 could be overwritten by the other's dup2.
        var high = fcntl(fd, FDupFdCloExec, 10);
        close(fd);
        return high >= 0 ? high : throw new IOException($"cannot move the descriptor of {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    public void Dispose()
    {
        if (Namespace >= 0) close(Namespace);
        if (Root >= 0) close(Root);
        Namespace = Root = -1;
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int cmd, int arg);
}

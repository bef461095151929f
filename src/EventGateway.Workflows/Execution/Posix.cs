using System.Runtime.InteropServices;

namespace EventGateway.Workflows.Execution;

/// <summary>File ownership calls .NET does not offer.</summary>
internal static partial class Posix
{
    /// <summary>Changes the owner of <paramref name="path"/> itself (a symlink stays a symlink), or throws IOException.</summary>
    public static void Chown(string path, int uid, int gid)
    {
        if (lchown(path, uid, gid) != 0)
            throw new IOException($"cannot hand {path} to uid {uid}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    /// <summary>Hands a directory and everything in it to the step's uid, without following symlinks.</summary>
    public static void ChownTree(string dir, int uid, int gid)
    {
        Chown(dir, uid, gid);
        foreach (var entry in FileTree.Walk(dir)) Chown(entry.FullName, uid, gid);
    }

    [LibraryImport("libc", EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lchown(string path, int owner, int group);
}

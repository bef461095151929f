namespace EventGateway.Workflows.Execution;

/// <summary>
/// Walks a directory tree without following symlinks. .NET's recursive enumeration descends into a symlink that
/// points at a directory, so anything that changes or reads every entry of a tree (chown, chmod, hashing) would
/// reach through a link to wherever it points: the host's /etc alternatives link to /usr/lib, a step's files
/// can link anywhere.
/// </summary>
internal static class FileTree
{
    private static readonly EnumerationOptions OneLevel = new() { RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = false };

    /// <summary>Every entry under <paramref name="dir"/> (not <paramref name="dir"/> itself); a symlink is an entry, never entered.</summary>
    public static IEnumerable<FileSystemInfo> Walk(string dir)
    {
        var pending = new Stack<DirectoryInfo>();
        pending.Push(new DirectoryInfo(dir));
        while (pending.TryPop(out var current))
        {
            foreach (var entry in current.EnumerateFileSystemInfos("*", OneLevel))
            {
                yield return entry;
                if (entry is DirectoryInfo sub && entry.LinkTarget is null) pending.Push(sub);
            }
        }
    }
}

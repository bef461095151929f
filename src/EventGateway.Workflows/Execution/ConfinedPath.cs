namespace EventGateway.Workflows.Execution;

/// <summary>A step's output path that would leave the step's root; the output is refused with this reason.</summary>
public sealed class OutputPathException(string message) : IOException(message);

/// <summary>
/// Resolves a path the way the step saw it, inside its root on the host, without ever leaving that root:
/// each component is examined without following it; a symlink's target is walked the same way (an
/// absolute target from the root, as inside the sandbox); <c>..</c> above the root or more than 40 links
/// are refused. Directories are checked entry by entry, since copying or archiving them on the host
/// would follow their links with the host's meaning: there any absolute or escaping link is refused.
/// </summary>
public static class ConfinedPath
{
    private const int MaxLinks = 40;

    /// <summary>The host path of <paramref name="sandboxPath"/> under <paramref name="root"/> (which need not exist), or OutputPathException.</summary>
    public static string Resolve(string root, string sandboxPath)
    {
        var resolved = Walk(root, sandboxPath, sandboxPath, absoluteFromRoot: true);
        if (Directory.Exists(resolved)) CheckTree(root, resolved, sandboxPath);
        return resolved;
    }

    private static string Walk(string root, string start, string shown, bool absoluteFromRoot)
    {
        var pending = new LinkedList<string>(Split(start));
        var current = new List<string>();
        var links = 0;
        while (pending.First is { } node)
        {
            pending.RemoveFirst();
            var c = node.Value;
            if (c is "" or ".") continue;
            if (c == "..")
            {
                if (current.Count == 0) throw new OutputPathException($"{shown} leads out of the step's root (..)");
                current.RemoveAt(current.Count - 1);
                continue;
            }
            var candidate = Path.Join(root, string.Join('/', current), c);
            var target = new FileInfo(candidate).LinkTarget;
            if (target is null)
            {
                current.Add(c);
                continue;
            }
            if (++links > MaxLinks) throw new OutputPathException($"{shown}: more than {MaxLinks} symbolic links");
            if (target.StartsWith('/'))
            {
                if (!absoluteFromRoot) throw new OutputPathException($"{shown} is or holds a symbolic link to {target}, outside the output");
                current.Clear();
            }
            foreach (var part in Split(target).Reverse()) pending.AddFirst(part);
        }
        return current.Count == 0 ? root : Path.Join(root, string.Join('/', current));
    }

    /// <summary>Every link in a directory output must stay inside the root when followed on the host.</summary>
    private static void CheckTree(string root, string dir, string shown)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false };
        foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos("*", options))
        {
            if (entry.LinkTarget is not { } target) continue;
            var at = Path.GetRelativePath(root, Path.GetDirectoryName(entry.FullName)!);
            var inside = $"{shown}/{Path.GetRelativePath(dir, entry.FullName)}";
            if (target.StartsWith('/')) throw new OutputPathException($"{inside} is a symbolic link to {target}, outside the output");
            Walk(root, at == "." ? target : $"{at}/{target}", inside, absoluteFromRoot: false);
        }
    }

    private static string[] Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);
}

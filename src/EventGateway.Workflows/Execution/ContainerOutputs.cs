using System.Formats.Tar;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// Unpacks the tar the engine gives for an output path of a stopped container (GET /containers/ID/archive) into the
/// step's root on the host, where <see cref="ConfinedPath"/> then reads it as the local executor's outputs are read.
/// Nothing is ever written through a link: an entry whose parent on the host is not a plain directory of the root
/// is refused, links are recreated as links (never followed here), and hard links only to entries of the same root.
/// </summary>
internal static class ContainerOutputs
{
    /// <summary>Extracts <paramref name="tar"/>, whose entries are named relative to the output's parent directory <paramref name="parent"/>.</summary>
    public static async Task ExtractAsync(Stream tar, string root, string parent, CancellationToken ct)
    {
        await using var reader = new TarReader(tar, leaveOpen: true);
        while (await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
        {
            var relative = $"{parent.TrimEnd('/')}/{entry.Name.TrimEnd('/')}";
            if (Target(root, relative) is not { } target) continue;
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    if (!Directory.Exists(target)) Directory.CreateDirectory(target);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    Replace(target);
                    await entry.ExtractToFileAsync(target, overwrite: false, ct).ConfigureAwait(false);
                    break;
                case TarEntryType.SymbolicLink:
                    Replace(target);
                    File.CreateSymbolicLink(target, entry.LinkName); // read later by ConfinedPath, which never lets it lead out
                    break;
                case TarEntryType.HardLink:
                    // Named from the archive's root, like every entry: copy what was already unpacked there, if anything.
                    if (Target(root, $"{parent.TrimEnd('/')}/{entry.LinkName}") is { } source && File.Exists(source) && new FileInfo(source).LinkTarget is null)
                    {
                        Replace(target);
                        File.Copy(source, target);
                    }
                    break;
                default:
                    break; // devices, fifos: not outputs
            }
        }
    }

    /// <summary>The entry's place under the root, or null when it would leave it or go through anything but plain directories.</summary>
    private static string? Target(string root, string sandboxPath)
    {
        var parts = sandboxPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(p => p is "." or "..")) return null;
        var current = root;
        Directory.CreateDirectory(root);
        for (var i = 0; i < parts.Length - 1; i++)
        {
            current = Path.Join(current, parts[i]);
            var info = new DirectoryInfo(current);
            if (info.LinkTarget is not null) return null;
            if (!info.Exists)
            {
                if (File.Exists(current)) return null;
                Directory.CreateDirectory(current);
            }
        }
        return Path.Join(current, parts[^1]);
    }

    /// <summary>An earlier copy (a retry's, or the staged input of the same path) gives way; a link is removed, never followed.</summary>
    private static void Replace(string target)
    {
        var info = new FileInfo(target);
        if (info.LinkTarget is not null || info.Exists) info.Delete();
        else if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
    }
}

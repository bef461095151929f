using System.Security.Cryptography;
using System.Text;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// The directories every sandbox of one service shares, under the data directory's sandbox/: the base of
/// every step's root and the /etc it sees. Each is named by its content, so a restart on an unchanged host
/// reuses it, and a changed host gets a new one while steps adopted from before keep the one they mounted.
/// </summary>
internal static class SandboxDirs
{
    public static string Prepare(string dataDir, string name, Action<string> write)
    {
        var parent = Path.Combine(dataDir, "sandbox");
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{name}-{Guid.NewGuid():N}");
        try
        {
            write(staging);
            Readable(staging);
            var dir = Path.Combine(parent, $"{name}-{Fingerprint(staging)}");
            if (!Directory.Exists(dir)) Directory.Move(staging, dir);
            return dir;
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>
    /// Every step reads these (mounted read-only): directories 0755, files 0644, whatever the service's umask
    /// (`egw serve` runs with 077, which left a step unable to read /etc/hosts or the CA certificates); a sticky
    /// directory (/tmp of the base) keeps its mode.
    /// </summary>
    private static void Readable(string dir)
    {
        if (OperatingSystem.IsWindows()) return;
        var entries = FileTree.Walk(dir).Prepend(new DirectoryInfo(dir));
        foreach (var entry in entries)
        {
            if (entry.LinkTarget is not null || entry.UnixFileMode.HasFlag(UnixFileMode.StickyBit)) continue;
            entry.UnixFileMode = entry is DirectoryInfo
                ? (UnixFileMode)0b111_101_101
                : (UnixFileMode)0b110_100_100;
        }
    }

    /// <summary>A hash of every path, mode, link target and file content under <paramref name="dir"/>.</summary>
    private static string Fingerprint(string dir)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var info in FileTree.Walk(dir).OrderBy(e => e.FullName, StringComparer.Ordinal))
        {
            var mode = OperatingSystem.IsWindows() ? 0 : (int)info.UnixFileMode;
            hash.AppendData(Encoding.UTF8.GetBytes($"{Path.GetRelativePath(dir, info.FullName)}\0{mode}\0{info.LinkTarget}\0"));
            if (info is FileInfo && info.LinkTarget is null)
            {
                using var content = File.OpenRead(info.FullName);
                hash.AppendData(SHA256.HashData(content));
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }
}

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
            var dir = Path.Combine(parent, $"{name}-{Fingerprint(staging)}");
            if (!Directory.Exists(dir)) Directory.Move(staging, dir);
            return dir;
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>A hash of every path, mode, link target and file content under <paramref name="dir"/>.</summary>
    private static string Fingerprint(string dir)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var path in Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(path);
            var mode = OperatingSystem.IsWindows() ? 0 : (int)info.UnixFileMode;
            hash.AppendData(Encoding.UTF8.GetBytes($"{Path.GetRelativePath(dir, path)}\0{mode}\0{info.LinkTarget}\0"));
            if (info.LinkTarget is null && info.Exists) hash.AppendData(File.ReadAllBytes(path));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }
}

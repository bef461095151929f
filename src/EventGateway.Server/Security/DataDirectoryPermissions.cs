using System.Runtime.InteropServices;

namespace EventGateway.Server.Security;

/// <summary>
/// The data directory holds the store (Secrets included, also in the SQLite WAL), the admin token and step logs: only the
/// service's user may read it. <c>egw serve</c> sets umask 077, so every file it creates is 0600 and every directory
/// 0700, and tightens a directory (and the files in it) that an older version or another tool left open.
/// </summary>
public static partial class DataDirectoryPermissions
{
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Sets the process umask to 077; step processes inherit it.</summary>
    public static void RestrictUmask()
    {
        if (!OperatingSystem.IsWindows()) umask(0x3F); // 077
    }

    /// <summary>
    /// Creates the directory 0700 or tightens it, and tightens the files directly in it (egw.db and its -wal/-shm, events.db,
    /// admin.token, ...). Subdirectories are left alone: the executor owns the modes of node and pod directories.
    /// Returns what was tightened, for the log.
    /// </summary>
    public static IReadOnlyList<string> Secure(string dataDir)
    {
        var tightened = new List<string>();
        if (OperatingSystem.IsWindows()) return tightened; // the service runs steps in bubblewrap: Linux only
        if (!Directory.Exists(dataDir)) Directory.CreateDirectory(dataDir, OwnerOnlyDirectory);
        else if ((File.GetUnixFileMode(dataDir) & GroupOrOther) != 0)
        {
            tightened.Add($"{dataDir} ({Octal(File.GetUnixFileMode(dataDir))} -> 0700)");
            File.SetUnixFileMode(dataDir, OwnerOnlyDirectory);
        }
        foreach (var file in Directory.EnumerateFiles(dataDir))
        {
            if (new FileInfo(file).LinkTarget is not null) continue; // never follow a link out of the directory
            var mode = File.GetUnixFileMode(file);
            if ((mode & GroupOrOther) == 0) continue;
            tightened.Add($"{file} ({Octal(mode)} -> 0600)");
            File.SetUnixFileMode(file, mode & ~GroupOrOther | OwnerOnlyFile);
        }
        return tightened;
    }

    private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode, 8);

    [LibraryImport("libc")]
    private static partial uint umask(uint mask);
}

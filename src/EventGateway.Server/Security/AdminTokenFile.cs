namespace EventGateway.Server.Security;

/// <summary>
/// The first-start admin token (<c>&lt;data-dir&gt;/admin.token</c>, mode 0600): all namespaces, admin role. Created once;
/// whoever can read the data directory is the service's owner anyway.
/// </summary>
public static class AdminTokenFile
{
    public const string FileName = "admin.token";

    public static string PathIn(string dataDir) => Path.Combine(dataDir, FileName);

    /// <summary>Reads the admin token, creating it (exclusively, 0600) if there is none yet; Created says whether this call made it.</summary>
    public static (string Token, bool Created) LoadOrCreate(string dataDir)
    {
        var path = PathIn(dataDir);
        if (Read(path) is { } existing) return (existing, false);
        Directory.CreateDirectory(dataDir);
        var token = TokenHash.NewToken();
        try
        {
            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using var f = new FileStream(path, create);
            using var w = new StreamWriter(f);
            w.Write(token + "\n");
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process made it first: theirs is the token.
            return (Read(path) ?? throw new IOException($"{path}: the admin token file is empty"), false);
        }
        return (token, true);
    }

    /// <summary>The token in the file, or null when there is no file.</summary>
    public static string? Read(string path)
    {
        if (!File.Exists(path)) return null;
        var text = File.ReadAllText(path).Trim();
        if (text.Length < TokenHash.MinTokenLength)
            throw new IOException($"{path}: the admin token file holds no token (remove it to have a new one made at the next start)");
        return text;
    }
}

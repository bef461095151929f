namespace EventGateway.Workflows.Execution;

/// <summary>
/// Wraps a step's argv in bubblewrap. The step sees the host's system directories read-only and a
/// writable root backed by its own node directory, so every file it writes outside them (/tmp, /output,
/// a working directory) survives exit for output collection, and no two steps share a /tmp.
/// </summary>
public sealed class Sandbox
{
    private static readonly HashSet<string> NotShared = new(StringComparer.Ordinal) { "tmp", "proc", "dev", "sys", "run", "lost+found", "mnt", "media" };
    private readonly string? _bwrap;
    private readonly List<string> _systemBinds;

    private Sandbox(string? bwrap, List<string> systemBinds) => (_bwrap, _systemBinds) = (bwrap, systemBinds);

    public bool Isolated => _bwrap is not null;

    /// <summary>Isolation was turned off on purpose (--no-sandbox), rather than unavailable.</summary>
    public bool Disabled { get; private init; }

    /// <summary>Finds bwrap and checks it can create namespaces here; null path means "run without isolation".</summary>
    public static Sandbox Detect(bool enabled = true)
    {
        if (!enabled) return new Sandbox(null, []) { Disabled = true };
        var bwrap = new[] { "/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap" }.FirstOrDefault(File.Exists);
        if (bwrap is null) return new Sandbox(null, []);
        var binds = new List<string>();
        foreach (var entry in new DirectoryInfo("/").EnumerateFileSystemInfos())
        {
            if (NotShared.Contains(entry.Name)) continue;
            if (entry.LinkTarget is { } target) binds.AddRange(["--symlink", target, "/" + entry.Name]);
            else if (entry is DirectoryInfo) binds.AddRange(["--ro-bind", entry.FullName, entry.FullName]);
        }
        var sandbox = new Sandbox(bwrap, binds);
        return sandbox.Works() ? sandbox : new Sandbox(null, []);
    }

    private bool Works()
    {
        var root = Directory.CreateTempSubdirectory("egw-probe-");
        try
        {
            var argv = Wrap(root.FullName, "/", ["/bin/true"]);
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(argv[0], argv.Skip(1)) { RedirectStandardError = true })!;
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
        finally { root.Delete(recursive: true); }
    }

    /// <summary>The argv that runs <paramref name="argv"/> inside the sandbox rooted at <paramref name="rootDir"/>, with host directories bound at sandbox paths.</summary>
    public IReadOnlyList<string> Wrap(string rootDir, string workingDir, IReadOnlyList<string> argv, IReadOnlyList<(string Host, string Sandbox)>? binds = null)
    {
        if (_bwrap is null) return argv;
        Directory.CreateDirectory(Path.Combine(rootDir, "tmp"));
        var a = new List<string>(_systemBinds.Count + argv.Count + 16) { _bwrap, "--bind", rootDir, "/" };
        a.AddRange(_systemBinds);
        foreach (var (host, at) in binds ?? []) a.AddRange(["--bind", host, at]);
        a.AddRange(["--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--chdir", workingDir, "--"]);
        a.AddRange(argv);
        return a;
    }

    /// <summary>Where a path inside the sandbox lives on the host.</summary>
    public string HostPath(string rootDir, string sandboxPath) =>
        _bwrap is null ? sandboxPath : Path.Combine(rootDir, sandboxPath.TrimStart('/'));
}

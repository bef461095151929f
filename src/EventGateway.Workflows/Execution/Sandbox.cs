using System.Diagnostics;
using System.Globalization;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// Wraps a step's argv in bubblewrap. bwrap (started as the service's root) builds the step's view: its own
/// node directory as a writable root, an allow-list of system directories read-only, a synthesized /etc,
/// fresh /proc and /dev, private pid/ipc/uts namespaces and the network the service chose. Inside, setpriv
/// drops to the step's own unprivileged host uid with no capabilities, an empty bounding set and
/// no_new_privs before the step starts, so host file permissions protect whatever is bound, and a
/// requested runAsUser/runAsGroup is the uid of a user namespace on top of that host uid.
/// </summary>
public sealed class Sandbox
{
    /// <summary>The step's host gid (shared, so containers of one pod can share volumes like Kubernetes' fsGroup); uids are <see cref="StepUids"/>.</summary>
    public const int StepGid = 2_000_000;

    internal static readonly string[] BwrapPaths = ["/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"];

    /// <summary>System directories a step sees read-only; symlinks (merged /usr) stay symlinks. Nothing else of the host's root is there.</summary>
    private static readonly string[] SystemDirs = ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "opt"];

    private readonly string? _bwrap;
    private readonly string[] _systemBinds;

    private Sandbox(string? bwrap, string[] systemBinds, StepNetwork network) => (_bwrap, _systemBinds, Network) = (bwrap, systemBinds, network);

    public bool Isolated => _bwrap is not null;

    /// <summary>Isolation was turned off on purpose (--no-sandbox): steps run as plain host processes.</summary>
    public bool Disabled { get; private init; }

    /// <summary>Why the sandbox cannot start when it was asked for; steps are refused with this reason.</summary>
    public string? Unavailable { get; private init; }

    public StepNetwork Network { get; }

    /// <summary>pasta gives isolated workflows outbound access; without it their namespace has loopback only.</summary>
    public bool Outbound { get; private init; }

    /// <summary>Finds bwrap and checks a full hardened sandbox starts here; <paramref name="bwrapPaths"/> is a seam for tests.</summary>
    public static Sandbox Detect(bool enabled = true, StepNetwork network = StepNetwork.Isolated, IReadOnlyList<string>? bwrapPaths = null)
    {
        if (!enabled) return new Sandbox(null, [], network) { Disabled = true };
        var candidates = bwrapPaths ?? BwrapPaths;
        var bwrap = candidates.FirstOrDefault(File.Exists);
        if (bwrap is null) return Refused(network, $"bubblewrap is not installed ({string.Join(", ", candidates)} not found)");
        if (!File.Exists(Tools.Setpriv)) return Refused(network, $"setpriv (util-linux) is not installed ({Tools.Setpriv} not found)");
        if (network == StepNetwork.Isolated && (Tools.Ip is null || !File.Exists(Tools.Nsenter)))
            return Refused(network, "--step-network isolated needs ip (iproute2) and nsenter (util-linux)");
        var binds = new List<string>();
        foreach (var name in SystemDirs)
        {
            var entry = new DirectoryInfo("/" + name);
            if (entry.LinkTarget is { } target) binds.AddRange(["--symlink", target, entry.FullName]);
            else if (entry.Exists) binds.AddRange(["--ro-bind", entry.FullName, entry.FullName]);
        }
        var sandbox = new Sandbox(bwrap, [.. binds], network) { Outbound = Tools.Pasta is not null };
        return sandbox.Probe() is { } error ? Refused(network, $"bubblewrap cannot create a sandbox here: {error}") : sandbox;
    }

    private static Sandbox Refused(StepNetwork network, string reason) => new(null, [], network) { Unavailable = reason };

    /// <summary>Starts one hardened sandbox (private network, dropped uid) running /bin/true; the error text when it fails.</summary>
    private string? Probe()
    {
        var dir = Directory.CreateTempSubdirectory("egw-probe-");
        try
        {
            var root = Path.Combine(dir.FullName, "root");
            Directory.CreateDirectory(root);
            Posix.Chown(root, StepUids.First, StepGid);
            SandboxEtc.Write(Path.Combine(dir.FullName, "etc"), StepUids.First, StepGid);
            var argv = Wrap(new SandboxedStep(root, Path.Combine(dir.FullName, "etc"), "/", ["/bin/true"], [], StepUids.First, null, NetworkNamespace: null, PrivateNetwork: true));
            using var p = Process.Start(new ProcessStartInfo(argv[0], argv.Skip(1)) { RedirectStandardError = true })!;
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0 ? null : stderr.Trim() is { Length: > 0 } s ? s : $"exit code {p.ExitCode}";
        }
        catch (System.ComponentModel.Win32Exception e) { return e.Message; }
        finally { dir.Delete(recursive: true); }
    }

    /// <summary>The argv that runs the step inside its sandbox.</summary>
    public IReadOnlyList<string> Wrap(SandboxedStep s)
    {
        if (_bwrap is null) return s.Argv;
        var a = new List<string>(_systemBinds.Length + s.Argv.Count + 64);
        if (s.NetworkNamespace is { } netns) a.AddRange([Tools.Nsenter, "--net=" + netns, "--"]);
        a.AddRange([_bwrap, "--bind", s.Root, "/"]);
        a.AddRange(_systemBinds);
        SandboxEtc.AddMounts(a, s.Etc);
        foreach (var (host, at) in s.Binds) a.AddRange(["--bind", host, at]);
        a.AddRange(Compat.Value);
        a.AddRange(["--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "step"]);
        if (s.PrivateNetwork) a.Add("--unshare-net");
        a.AddRange(["--die-with-parent", "--chdir", s.WorkingDir, "--"]);
        var uid = s.HostUid.ToString(CultureInfo.InvariantCulture);
        // From here on: the step's own host uid, no supplementary groups, no capabilities now or after any exec.
        a.AddRange([Tools.Setpriv, "--reuid", uid, "--regid", StepGid.ToString(CultureInfo.InvariantCulture), "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]);
        if (s.RunAs is { } runAs && (runAs.User is not null || runAs.Group is not null))
        {
            // A user namespace maps the requested ids onto the step's host uid; a fresh namespace grants its
            // creator every capability again, so drop them once more before the step's program starts.
            a.AddRange([Tools.Unshare, "--user", "--map-user=" + (runAs.User ?? s.HostUid).ToString(CultureInfo.InvariantCulture),
                "--map-group=" + (runAs.Group ?? StepGid).ToString(CultureInfo.InvariantCulture), "--",
                Tools.Setpriv, "--inh-caps=-all", "--bounding-set=-all", "--"]);
        }
        a.AddRange(s.Argv);
        return a;
    }

    /// <summary>PATH inside the sandbox: the system's directories (the host's PATH names places, like ~/.pyenv, a step does not see) and <see cref="CompatBin"/>.</summary>
    public const string StepPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:" + CompatBin;

    /// <summary>Names images take for granted that Debian installs under another name (python for python3), on a private tmpfs at /run.</summary>
    private const string CompatBin = "/run/egw/bin";

    private static readonly Lazy<string[]> Compat = new(() =>
    {
        var a = new List<string> { "--tmpfs", "/run", "--dir", CompatBin };
        if (!File.Exists("/usr/bin/python") && File.Exists("/usr/bin/python3")) a.AddRange(["--symlink", "/usr/bin/python3", CompatBin + "/python"]);
        return [.. a];
    });

    /// <summary>Where a path inside the sandbox lives on the host.</summary>
    public string HostPath(string rootDir, string sandboxPath) =>
        _bwrap is null ? sandboxPath : Path.Combine(rootDir, sandboxPath.TrimStart('/'));
}

/// <summary>One step's sandbox: its root and /etc on the host, host directories bound at sandbox paths, its host uid and network.</summary>
public sealed record SandboxedStep(
    string Root,
    string Etc,
    string WorkingDir,
    IReadOnlyList<string> Argv,
    IReadOnlyList<(string Host, string Sandbox)> Binds,
    int HostUid,
    RunAs? RunAs,
    string? NetworkNamespace,
    bool PrivateNetwork);

/// <summary>The host programs the sandbox is built from.</summary>
internal static class Tools
{
    public const string Setpriv = "/usr/bin/setpriv";
    public const string Nsenter = "/usr/bin/nsenter";
    public const string Unshare = "/usr/bin/unshare";
    public static readonly string? Ip = new[] { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" }.FirstOrDefault(File.Exists);
    public static readonly string? Pasta = new[] { "/usr/bin/pasta", "/usr/local/bin/pasta" }.FirstOrDefault(File.Exists);
}

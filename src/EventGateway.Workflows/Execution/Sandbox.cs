using System.Diagnostics;
using System.Globalization;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// How a step's process is started: always through egw-step (Execution/Launcher/egw-step.c, built with this
/// assembly), which sets the step's limits, sends its output to its node directory and records its exit code.
/// Isolated (the default), egw-step builds the step's view in one process: its own node directory as a
/// writable root, an allow-list of system directories read-only, egw's shared /etc, fresh /proc and /dev,
/// private mount/pid/ipc/uts/cgroup namespaces and the network the service chose, then the step's own
/// unprivileged host uid with no capabilities and no_new_privs, so host file permissions protect whatever
/// is bound; a requested runAsUser/runAsGroup is the uid of a user namespace on top of that host uid.
/// </summary>
public sealed class Sandbox
{
    /// <summary>The step's host gid (shared, so containers of one pod can share volumes like Kubernetes' fsGroup); uids are <see cref="StepUids"/>.</summary>
    public const int StepGid = 2_000_000;

    /// <summary>Where the launcher is: beside the assemblies (the build copies it there).</summary>
    public static string LauncherPath => Path.Combine(AppContext.BaseDirectory, "egw-step");

    /// <summary>System directories a step sees read-only; symlinks (merged /usr) stay symlinks. Nothing else of the host's root is there.</summary>
    private static readonly string[] SystemDirs = ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "opt"];

    private readonly string _launcher;
    /// <summary>System directories bound read-only, and the host's top-level symlinks (merged /usr) the base repeats.</summary>
    private readonly string[] _systemDirs;
    private readonly (string Target, string Name)[] _systemLinks;
    private readonly bool _python3Compat;

    private Sandbox(string launcher, string[] systemDirs, (string, string)[] systemLinks, bool python3Compat, StepNetwork network, bool isolated) =>
        (_launcher, _systemDirs, _systemLinks, _python3Compat, Network, Isolated) = (launcher, systemDirs, systemLinks, python3Compat, network, isolated);

    public bool Isolated { get; }

    /// <summary>Isolation was turned off on purpose (--no-sandbox): steps run as plain host processes.</summary>
    public bool Disabled { get; private init; }

    /// <summary>Why steps cannot start (the sandbox was asked for but cannot be made, or the launcher is missing); steps are refused with this reason.</summary>
    public string? Unavailable { get; private init; }

    public StepNetwork Network { get; }

    /// <summary>pasta gives isolated workflows outbound access; without it their namespace has loopback only.</summary>
    public bool Outbound { get; private init; }

    /// <summary>Finds the launcher and checks a full hardened sandbox starts here; <paramref name="launcher"/> is a seam for tests.</summary>
    public static Sandbox Detect(bool enabled = true, StepNetwork network = StepNetwork.Isolated, string? launcher = null)
    {
        launcher ??= LauncherPath;
        if (!File.Exists(launcher))
            return Refused(launcher, network, $"the step launcher is missing ({launcher} not found; it is built with egw and needs a C compiler)");
        if (!enabled) return new Sandbox(launcher, [], [], false, network, isolated: false) { Disabled = true };
        if (network == StepNetwork.Isolated && Tools.Ip is null)
            return Refused(launcher, network, "--step-network isolated needs ip (iproute2)");
        var dirs = new List<string>();
        var links = new List<(string, string)>();
        foreach (var name in SystemDirs)
        {
            var entry = new DirectoryInfo("/" + name);
            if (entry.LinkTarget is { } target) links.Add((target, name));
            else if (entry.Exists) dirs.Add(name);
        }
        var python3Compat = !File.Exists("/usr/bin/python") && File.Exists("/usr/bin/python3");
        var sandbox = new Sandbox(launcher, [.. dirs], [.. links], python3Compat, network, isolated: true) { Outbound = Tools.Pasta is not null };
        return sandbox.Probe() is { } error ? Refused(launcher, network, $"a sandbox cannot be made here: {error}") : sandbox;
    }

    private static Sandbox Refused(string launcher, StepNetwork network, string reason) => new(launcher, [], [], false, network, isolated: false) { Unavailable = reason };

    /// <summary>Builds the template every step's sandbox starts from (<see cref="SandboxTemplate"/>), its root mounted over <paramref name="mountPoint"/> in its own namespace only.</summary>
    internal SandboxTemplate MakeTemplate(string mountPoint, string etc) => SandboxTemplate.Create(_launcher, mountPoint, etc, _systemDirs.Select(d => "/" + d));

    /// <summary>Mount points every sandbox needs besides the system directories; /tmp is the base's own, writable by everyone (sticky).</summary>
    private static readonly string[] MountPoints = ["etc", "proc", "dev", "run"];

    /// <summary>
    /// Writes the base every step's root lies on (the overlay's lower layer): an empty directory for each
    /// mount, the host's top-level symlinks, and /tmp. Shared and never written through: a step's writes go
    /// to its own root.
    /// </summary>
    internal void WriteBase(string dir)
    {
        Directory.CreateDirectory(dir);
        foreach (var name in _systemDirs.Concat(MountPoints)) Directory.CreateDirectory(Path.Combine(dir, name));
        foreach (var (target, name) in _systemLinks) File.CreateSymbolicLink(Path.Combine(dir, name), target);
        foreach (var name in ScratchDirs)
        {
            var scratch = Directory.CreateDirectory(Path.Combine(dir, name));
            if (!OperatingSystem.IsWindows()) scratch.UnixFileMode = (UnixFileMode)0b1_111_111_111;
        }
    }

    /// <summary>
    /// Empty directories every container image has and steps write into as they would in a container
    /// (<c>os.mkdir("/mnt/out")</c> in Argo's map-reduce example): writable by everyone (sticky), like /tmp.
    /// A step's writes land in its own root, so nothing is shared.
    /// </summary>
    private static readonly string[] ScratchDirs = ["tmp", "mnt", "srv", "media"];

    /// <summary>Starts one hardened sandbox (private network, dropped uid) running /bin/true; the error text when it fails.</summary>
    private string? Probe()
    {
        var dir = Directory.CreateTempSubdirectory("egw-probe-");
        try
        {
            var root = Path.Combine(dir.FullName, "root");
            Directory.CreateDirectory(root);
            Posix.Chown(root, StepUids.First, StepGid);
            var etc = Directory.CreateDirectory(Path.Combine(dir.FullName, "etc")).FullName; // /bin/true needs none of it
            var @base = Path.Combine(dir.FullName, "base");
            WriteBase(@base);
            var argv = Command(dir.FullName, "/", StepLimits.None, ["/bin/true"],
                new SandboxedStep(root, @base, etc, [], StepUids.First, null, NetworkNamespace: null, PrivateNetwork: true));
            using var p = Process.Start(new ProcessStartInfo(argv[0], argv.Skip(1)) { RedirectStandardError = true })!;
            var early = p.StandardError.ReadToEnd(); // what the launcher said before it had the step's log to say it in
            p.WaitForExit();
            var log = Path.Combine(dir.FullName, "stderr");
            var stderr = (File.Exists(log) ? File.ReadAllText(log) : early).Trim();
            return p.ExitCode == 0 ? null : stderr.Length > 0 ? stderr : $"exit code {p.ExitCode}";
        }
        catch (System.ComponentModel.Win32Exception e) { return e.Message; }
        finally { dir.Delete(recursive: true); }
    }

    /// <summary>The argv that starts the step: the launcher with the step's node directory, limits and, when isolated, its sandbox.</summary>
    public IReadOnlyList<string> Command(string nodeDir, string workingDir, StepLimits limits, IReadOnlyList<string> argv, SandboxedStep? s)
    {
        var a = new List<string>(argv.Count + 32) { _launcher, "--dir", nodeDir, "--chdir", workingDir };
        static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
        if (limits.MemoryBytes is { } m) a.AddRange(["--data", N(m / 1024)]);
        if (limits.Pids is { } p) a.AddRange(["--nproc", N(p)]);
        if (limits.OpenFiles is { } n) a.AddRange(["--nofile", N(n)]);
        if (s is not null && Isolated)
        {
            a.AddRange(["--root", s.Root, "--base", s.Base, "--etc", s.Etc, "--uid", N(s.HostUid), "--gid", N(StepGid)]);
            foreach (var d in _systemDirs) a.AddRange(["--ro", "/" + d]);
            if (_python3Compat) a.Add("--python3-compat");
            if (s.NetworkNamespace is { } netns) a.AddRange(["--netns", netns]);
            if (s.Template) a.AddRange(["--template", "3", "4"]); // PosixSpawn hands SandboxTemplate's descriptors on as 3 and 4
            else if (s.PrivateNetwork) a.Add("--private-net");
            // A user namespace maps the requested ids onto the step's host uid.
            if (s.RunAs is { } runAs && (runAs.User is not null || runAs.Group is not null))
                a.AddRange(["--run-as", N(runAs.User ?? s.HostUid), N(runAs.Group ?? StepGid)]);
            foreach (var (host, at) in s.Binds) a.AddRange(["--bind", host, at]);
        }
        a.Add("--");
        a.AddRange(argv);
        return a;
    }

    /// <summary>PATH inside the sandbox: the system's directories (the host's PATH names places, like ~/.pyenv, a step does not see) and <see cref="CompatBin"/>.</summary>
    public const string StepPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:" + CompatBin;

    /// <summary>Names images take for granted that Debian installs under another name (python for python3), on the sandbox's private /run.</summary>
    private const string CompatBin = "/run/egw/bin";

    /// <summary>Where a path inside the sandbox lives on the host.</summary>
    public string HostPath(string rootDir, string sandboxPath) =>
        Isolated ? Path.Combine(rootDir, sandboxPath.TrimStart('/')) : sandboxPath;
}

/// <summary>One step's sandbox: its root, the base under it and egw's /etc on the host, host directories bound at sandbox paths, its host uid and network.</summary>
public sealed record SandboxedStep(
    string Root,
    string Base,
    string Etc,
    IReadOnlyList<(string Host, string Sandbox)> Binds,
    int HostUid,
    RunAs? RunAs,
    string? NetworkNamespace,
    bool PrivateNetwork,
    bool Template = false);

/// <summary>The host programs the step network is built from.</summary>
internal static class Tools
{
    public static readonly string? Ip = new[] { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" }.FirstOrDefault(File.Exists);
    public static readonly string? Pasta = new[] { "/usr/bin/pasta", "/usr/local/bin/pasta" }.FirstOrDefault(File.Exists);
}

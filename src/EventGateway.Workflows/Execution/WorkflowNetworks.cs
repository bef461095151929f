using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// One private network namespace per workflow (<c>--step-network isolated</c>), shared by the workflow's
/// running steps like a pod's containers share one: they reach each other on 127.0.0.1, and nothing else
/// reaches them. pasta, when installed, gives the namespace outbound access with the host's loopback
/// unreachable (<c>--no-map-gw</c>, no port forwarding either way). A workflow takes its namespace from
/// <see cref="NetnsPool"/> when its first step starts and gives it back when its last running step ends. Which
/// workflow holds which namespace is known in memory only: after a restart, the steps still running say it (their
/// launchers' arguments name both), and their workflows get those namespaces back (see <see cref="RemoveLeftovers"/>).
/// Nothing is written per workflow: the link per workflow earlier versions kept in /run/egw-netns was an inode made
/// and removed on /run's file system for every workflow, ~2 % of the CPU of a run of one-step workflows where /run is
/// a disk (this machine's).
/// </summary>
public sealed class WorkflowNetworks : IDisposable
{
    private sealed class Held(string owner)
    {
        public string Owner { get; } = owner;
        public volatile string? Name;
        public int Users;
        /// <summary>Every step that released it ended cleanly (see <see cref="Release"/>).</summary>
        public bool Clean = true;
    }

    private readonly Dictionary<string, Held> _held = new(StringComparer.Ordinal); // by alias
    /// <summary>Namespaces steps of the previous run still run in, by their workflow's alias, until the workflow takes its own back.</summary>
    private readonly Dictionary<string, string> _adoptable = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly string _prefix;
    private readonly NetnsPool _pool;

    public WorkflowNetworks(string dataDir, ILogger? log = null, TimeProvider? time = null)
    {
        _prefix = "egw-" + Hash(dataDir)[..8] + "-";
        _pool = new NetnsPool(_prefix, log ?? NullLogger.Instance, time);
    }

    internal NetnsPool Pool => _pool;

    /// <summary>How every /run/netns name of this service begins.</summary>
    internal string Prefix => _prefix;

    /// <summary>
    /// Removes what a previous run of this service left (it was killed, or stopped while steps ran): every
    /// namespace no process is in. A namespace a step still runs in stays for that step's adoption, and is its
    /// workflow's again: <paramref name="running"/> names the workflow and namespace of each step still running.
    /// </summary>
    public void RemoveLeftovers(IEnumerable<(string Namespace, string Workflow, string Netns)>? running = null)
    {
        if (Directory.Exists(AliasDir))
            foreach (var link in new DirectoryInfo(AliasDir).EnumerateFiles(_prefix + "*")) link.Delete(); // where earlier versions kept the links
        if (Tools.Ip is null || !Directory.Exists("/run/netns")) return;
        var occupied = NetnsFacts.Occupied();
        var kept = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in new DirectoryInfo("/run/netns").EnumerateFiles(_prefix + "*"))
        {
            if (entry.LinkTarget is not null) { entry.Delete(); continue; } // where still earlier versions kept the links
            if (NetnsFacts.Inode(entry.FullName) is { } inode && occupied.Contains(inode)) kept.Add(entry.Name);
            else NetnsFacts.RemoveName(entry.FullName);
        }
        var steps = running?.ToList() ?? [];
        lock (_gate)
            foreach (var (ns, workflow, netns) in steps)
                if (kept.Contains(netns)) _adoptable[Alias(ns, workflow)] = netns;
        EndOrphanPastas();
    }

    /// <summary>
    /// Ends this service's pastas whose namespace has no name any more. pasta is meant to quit when the name goes,
    /// but after a CI run 19 of them were found still running (~30 MB each) with their names long gone: those of a
    /// service killed before it could end them, whose names a later start removed.
    /// </summary>
    private void EndOrphanPastas()
    {
        var mine = "/run/netns/" + _prefix;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), System.Globalization.CultureInfo.InvariantCulture, out var pid)) continue;
            if (OrphanPastaNamespace(pid, mine) is null) continue;
            var fd = NetnsFacts.Pidfd(pid);
            if (fd < 0) continue;
            // Asked again through the pidfd's process: the pid may have been reused since the first look.
            if (OrphanPastaNamespace(pid, mine) is not null) NetnsFacts.Terminate(fd);
            else NetnsFacts.Forget(fd);
        }
    }

    /// <summary>The namespace path of process <paramref name="pid"/> when it is a pasta of ours whose namespace name is gone.</summary>
    private static string? OrphanPastaNamespace(int pid, string mine)
    {
        string[] argv;
        try { argv = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0'); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        if (argv.Length < 2 || Path.GetFileName(argv[0]) != "pasta") return null;
        var at = Array.IndexOf(argv, "--netns");
        if (at < 0 || at + 1 >= argv.Length || !argv[at + 1].StartsWith(mine, StringComparison.Ordinal)) return null;
        return File.Exists(argv[at + 1]) ? null : argv[at + 1];
    }

    /// <summary>The path of the workflow's namespace for a step about to run (taken on first use); pair with <see cref="Release"/>.</summary>
    public string Acquire(string @namespace, string workflow)
    {
        var alias = Alias(@namespace, workflow);
        Held held;
        lock (_gate)
        {
            if (!_held.TryGetValue(alias, out held!)) _held[alias] = held = new Held(@namespace);
            held.Users++;
        }
        lock (held) // siblings starting together wait for the one that takes the namespace
        {
            if (held.Name is null)
            {
                try
                {
                    string? adopted;
                    lock (_gate) _adoptable.Remove(alias, out adopted);
                    held.Name = adopted is not null && NetnsFacts.Inode(PathOf(adopted)) is not null ? adopted : _pool.Take(@namespace);
                }
                catch (IOException)
                {
                    lock (_gate)
                        if (--held.Users == 0) _held.Remove(alias);
                    throw;
                }
            }
            return PathOf(held.Name);
        }
    }

    /// <param name="cleanly">the step's launcher saw every process of the step end (not killed from outside): the
    /// pool need not look for processes left in the namespace.</param>
    public void Release(string @namespace, string workflow, bool cleanly = false)
    {
        var alias = Alias(@namespace, workflow);
        string? name;
        bool clean;
        lock (_gate)
        {
            if (!_held.TryGetValue(alias, out var held)) return;
            held.Clean &= cleanly;
            clean = held.Clean;
            if (--held.Users > 0) return;
            _held.Remove(alias);
            name = held.Name;
        }
        if (name is not null) _pool.Return(@namespace, name, clean);
    }

    /// <summary>Deletes the namespaces waiting in the pool; those of running steps stay for their adoption after a restart.</summary>
    public void Dispose() => _pool.Dispose();

    internal static string PathOf(string name) => "/run/netns/" + name;

    /// <summary>Where earlier versions kept a link per workflow to its namespace (removed at start).</summary>
    internal const string AliasDir = "/run/egw-netns";

    /// <summary>A host-wide name: the data directory's hash leads it, so two services on one host never share a namespace, and each finds its own leftovers.</summary>
    private string Alias(string @namespace, string workflow) => _prefix + Hash($"{@namespace}\0{workflow}")[..12];

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}

using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// One private network namespace per workflow (<c>--step-network isolated</c>), shared by the workflow's
/// running steps like a pod's containers share one: they reach each other on 127.0.0.1, and nothing else
/// reaches them. pasta, when installed, gives the namespace outbound access with the host's loopback
/// unreachable (<c>--no-map-gw</c>, no port forwarding either way). The namespace is a named one
/// (/run/netns), so steps adopted after a restart are counted back in; it is deleted, and pasta with it,
/// when the workflow's last running step ends.
/// </summary>
public sealed class WorkflowNetworks
{
    private readonly Dictionary<string, int> _users = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly string _prefix;

    public WorkflowNetworks(string dataDir) => _prefix = "egw-" + Hash(dataDir)[..8] + "-";

    /// <summary>
    /// Deletes the namespaces a previous run of this service left (killed before its steps ended): steps still
    /// running in one keep it alive; a step adopted later gets a fresh one for its bookkeeping.
    /// </summary>
    public void RemoveLeftovers()
    {
        if (Tools.Ip is null || !Directory.Exists("/run/netns")) return;
        foreach (var path in Directory.EnumerateFiles("/run/netns", _prefix + "*"))
            Run(Tools.Ip, "netns", "delete", Path.GetFileName(path));
    }

    /// <summary>The namespace's path for a step about to run (created on first use); pair with <see cref="Release"/>.</summary>
    public string Acquire(string @namespace, string workflow)
    {
        var name = Name(@namespace, workflow);
        lock (_gate)
        {
            _users.TryGetValue(name, out var n);
            if (n == 0 && !File.Exists(PathOf(name))) Create(name);
            _users[name] = n + 1;
        }
        return PathOf(name);
    }

    public void Release(string @namespace, string workflow)
    {
        var name = Name(@namespace, workflow);
        lock (_gate)
        {
            if (!_users.TryGetValue(name, out var n)) return;
            if (n > 1) { _users[name] = n - 1; return; }
            _users.Remove(name);
            Run(Tools.Ip!, "netns", "delete", name); // pasta notices and exits
        }
    }

    private static void Create(string name)
    {
        try
        {
            Run(Tools.Ip!, "netns", "add", name);
            Run(Tools.Ip!, "-n", name, "link", "set", "lo", "up");
            // pasta must stay root to join a namespace owned by the host; it drops its capabilities itself.
            // It daemonizes: its stdio goes to /dev/null so the daemon holds none of the service's pipes. It refuses
            // to start with SIGPIPE ignored, as .NET leaves it for children.
            if (Tools.Pasta is { } pasta)
                Run("/bin/sh", "-c", "exec \"$0\" \"$@\" </dev/null >/dev/null 2>&1", "/usr/bin/env", "--default-signal=PIPE", pasta, "--runas", "0:0", "--netns", PathOf(name), "--config-net", "--no-map-gw",
                    "-t", "none", "-u", "none", "-T", "none", "-U", "none", "-q");
        }
        catch (IOException)
        {
            Run(Tools.Ip!, "netns", "delete", name);
            throw;
        }
    }

    private static string PathOf(string name) => "/run/netns/" + name;

    /// <summary>A host-wide name: the data directory's hash leads it, so two services on one host never share a namespace, and each finds its own leftovers.</summary>
    private string Name(string @namespace, string workflow) => _prefix + Hash($"{@namespace}\0{workflow}")[..12];

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static void Run(string program, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 && !(args is ["netns", "delete", ..]))
            throw new IOException($"cannot set up the workflow's network namespace: {Path.GetFileName(program)} {string.Join(' ', args)}: {stderr.Result.Trim()}");
    }
}

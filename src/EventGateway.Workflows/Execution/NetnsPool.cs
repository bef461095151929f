using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// Network namespaces made ready ahead of demand, so a workflow's first step does not wait ~30 ms (mostly pasta)
/// for one. A background thread keeps <see cref="ReadyTarget"/> fresh ones, and takes back the ones workflows
/// are done with: each is recycled only when the kernel shows nothing of its last workflow left in it.
/// <para>
/// Why a recycled namespace carries nothing of its last workflow: every step runs in its own pid namespace
/// (bwrap --unshare-pid) whose init ends with the step, and the kernel kills and reaps everything in a pid
/// namespace before its init is gone; so once the last step's process is reaped, no process of the workflow is
/// left. That is checked, not assumed (a kill of the step's group can reap the wrapper while the pid namespace
/// is still being torn down): a namespace some process is still in (/proc/PID/ns/net), or that still holds a
/// socket of any kind (listening, connected, orphaned, unix), is deleted instead. Steps have no capabilities, so
/// addresses, routes, firewall and sysctls are as pasta and this class set them. TIME_WAIT is off in these
/// namespaces (tcp_max_tw_buckets 0): their only peers are loopback and pasta, which keeps the host-side TCP
/// state itself, and a closed connection leaves no socket to carry over. What does survive are counters
/// (/proc/net/dev, /proc/net/snmp: how much traffic passed), so a recycled namespace only serves workflows of
/// the same Argo namespace as the one it came from; fresh ones serve anyone.
/// </para>
/// Limits: at most <see cref="ReadyTarget"/> fresh and <see cref="MaxIdle"/> recycled namespaces wait idle; a
/// namespace released beyond that is deleted, and one idle for <see cref="IdleFor"/> too (each holds a pasta of
/// ~30 MB: a busy service keeps as many as it runs workflows at once, a quiet one gives them back). With the pool empty (a burst, or a failing pasta) a workflow's
/// namespace is created on demand as before.
/// </summary>
internal sealed partial class NetnsPool : IDisposable
{
    public const int ReadyTarget = 2;
    /// <summary>Enough for the workflows a busy service runs at once: fewer made every wave of them pay for new ones (measured: 142 made for 600 workflows with 8).</summary>
    public const int MaxIdle = 32;
    public static readonly TimeSpan IdleFor = TimeSpan.FromSeconds(30);

    /// <summary>
    /// bwrap reports its step's exit before the kernel has finished killing the rest of the step's pid namespace, so a
    /// namespace still in use is checked again, every <see cref="Recheck"/>, this many times before it is deleted.
    /// </summary>
    public const int Checks = 10;
    private static readonly TimeSpan Recheck = TimeSpan.FromMilliseconds(20);

    private readonly string _prefix;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private readonly Queue<string> _ready = new();
    private readonly LinkedList<(string Owner, string Name, DateTimeOffset Since)> _idle = new(); // oldest first
    private readonly List<(string Owner, string Name, int Checks, bool Clean)> _returned = [];
    private readonly Dictionary<string, int> _pastas = new(StringComparer.Ordinal); // name -> pidfd of its pasta
    private readonly AutoResetEvent _wake = new(false);
    private Thread? _worker;
    private bool _stopping;

    private readonly TimeProvider _time;

    public NetnsPool(string prefix, ILogger log, TimeProvider? time = null) => (_prefix, _log, _time) = (prefix, log, time ?? TimeProvider.System);

    /// <summary>Lets the background thread look at the pool now (tests, after moving their clock).</summary>
    internal void Wake() => _wake.Set();

    /// <summary>Recycled namespaces waiting (for tests and metrics).</summary>
    public int Idle { get { lock (_gate) return _idle.Count; } }

    /// <summary>Fresh namespaces waiting.</summary>
    public int Ready { get { lock (_gate) return _ready.Count; } }

    /// <summary>
    /// A namespace for a workflow of Argo namespace <paramref name="owner"/>: its own last one, one it returned
    /// moments ago (checked here and now: a check costs a few ms, a fresh namespace tens, mostly pasta's, and
    /// taking a fresh one while returned ones wait made every workflow of a steady stream pay for a new one),
    /// a fresh one, or one made now.
    /// </summary>
    public string Take(string owner)
    {
        string? name = null;
        List<(string Owner, string Name, int Checks, bool Clean)> pending = [];
        lock (_gate)
        {
            StartWorker();
            name = TakeIdle(owner);
            if (name is null)
            {
                pending = _returned.Where(r => r.Owner == owner).ToList();
                _returned.RemoveAll(r => r.Owner == owner);
            }
        }
        if (pending.Count > 0)
        {
            Recycle(pending);
            lock (_gate) name = TakeIdle(owner);
        }
        lock (_gate)
            if (name is null && _ready.TryDequeue(out var fresh)) name = fresh;
        _wake.Set(); // refill
        return name ?? Create();
    }

    /// <summary>The newest idle namespace of <paramref name="owner"/>, taken out of the pool (under the gate).</summary>
    private string? TakeIdle(string owner)
    {
        for (var n = _idle.Last; n is not null; n = n.Previous)
        {
            if (n.Value.Owner != owner) continue;
            _idle.Remove(n);
            return n.Value.Name;
        }
        return null;
    }

    /// <summary>A namespace its workflow is done with: checked and recycled, or deleted, by the background thread.</summary>
    /// <param name="clean">every process that was in it is known to be gone: the scan of /proc (a few ms) is skipped.</param>
    public void Return(string owner, string name, bool clean = false)
    {
        lock (_gate)
        {
            if (_stopping)
            {
                Delete(name);
                return;
            }
            StartWorker();
            _returned.Add((owner, name, 0, clean));
        }
        _wake.Set();
    }

    /// <summary>Makes a namespace with loopback up and, when pasta is installed, outbound access.</summary>
    public string Create()
    {
        var name = _prefix + "p" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))[..11];
        var path = WorkflowNetworks.PathOf(name);
        try
        {
            Run(Tools.Ip!, "netns", "add", name);
            Run(Tools.Ip!, "-n", name, "link", "set", "lo", "up");
            NetnsFacts.SetSysctl(path, "ipv4/tcp_max_tw_buckets", "0"); // see the class comment
            // pasta must stay root to join a namespace owned by the host; it drops its capabilities itself.
            // It daemonizes: its stdio goes to /dev/null so the daemon holds none of the service's pipes. It refuses
            // to start with SIGPIPE ignored, as .NET leaves it for children.
            // pasta quits when the name is deleted, but only once it watches for that: a name deleted right after
            // pasta started would leave it running, so Delete also ends it through a pidfd.
            if (Tools.Pasta is { } pasta)
            {
                var pidFile = "/run/" + name + ".pasta.pid";
                try
                {
                    Run("/bin/sh", "-c", "exec \"$0\" \"$@\" </dev/null >/dev/null 2>&1", "/usr/bin/env", "--default-signal=PIPE", pasta, "--runas", "0:0", "--netns", path, "--config-net", "--no-map-gw",
                        "-t", "none", "-u", "none", "-T", "none", "-U", "none", "-q", "--pid", pidFile);
                    if (int.TryParse(File.ReadAllText(pidFile), System.Globalization.CultureInfo.InvariantCulture, out var pid) && NetnsFacts.Pidfd(pid) is var fd and >= 0)
                        lock (_gate) _pastas[name] = fd;
                }
                finally { File.Delete(pidFile); }
            }
        }
        catch (IOException)
        {
            Delete(name);
            throw;
        }
        return name;
    }

    /// <summary>Removes the name; pasta notices and quits, and the kernel frees the namespace once no process is in it.</summary>
    public void Delete(string name)
    {
        NetnsFacts.RemoveName(WorkflowNetworks.PathOf(name));
        lock (_gate)
            if (_pastas.Remove(name, out var pasta)) NetnsFacts.Terminate(pasta);
    }

    private void StartWorker()
    {
        if (_worker is not null || _stopping) return;
        _worker = new Thread(Work) { IsBackground = true, Name = "egw-netns-pool" };
        _worker.Start();
    }

    private void Work()
    {
        while (true)
        {
            TimeSpan wait;
            lock (_gate)
                wait = _returned.Count > 0 ? Recheck
                    : _idle.First is { } oldest ? Clamp(oldest.Value.Since + IdleFor - _time.GetUtcNow())
                    : Timeout.InfiniteTimeSpan;
            _wake.WaitOne(wait);
            EvictExpired();
            List<(string Owner, string Name, int Checks, bool Clean)> returned;
            lock (_gate)
            {
                if (_stopping) return;
                returned = [.. _returned];
                _returned.Clear();
            }
            if (returned.Count > 0) Recycle(returned);
            while (true)
            {
                lock (_gate)
                    if (_stopping || _ready.Count >= ReadyTarget) break;
                string fresh;
                try { fresh = Create(); }
                catch (IOException e)
                {
                    LogRefillFailed(_log, e.Message); // the next Take tries again, and creates on demand meanwhile
                    break;
                }
                lock (_gate)
                {
                    if (_stopping) Delete(fresh);
                    else _ready.Enqueue(fresh);
                }
            }
        }
    }

    private static TimeSpan Clamp(TimeSpan t) => t < TimeSpan.Zero ? TimeSpan.Zero : t > IdleFor ? IdleFor : t;

    /// <summary>Deletes the namespaces idle for longer than <see cref="IdleFor"/>.</summary>
    private void EvictExpired()
    {
        var expired = new List<string>();
        var now = _time.GetUtcNow();
        lock (_gate)
            while (_idle.First is { } oldest && now - oldest.Value.Since >= IdleFor)
            {
                expired.Add(oldest.Value.Name);
                _idle.RemoveFirst();
            }
        foreach (var name in expired) Delete(name);
    }

    /// <summary>One scan of /proc for every namespace returned since the last pass: the check costs the same for one or for many.</summary>
    private void Recycle(List<(string Owner, string Name, int Checks, bool Clean)> returned)
    {
        var occupied = returned.All(r => r.Clean) ? [] : NetnsFacts.Occupied();
        foreach (var (owner, name, checks, clean) in returned)
        {
            var path = WorkflowNetworks.PathOf(name);
            string? why = NetnsFacts.Inode(path) is not { } inode ? "its name is gone"
                : !clean && occupied.Contains(inode) ? "a process is still in it"
                : Sockets(path, clean) is var n and > 0 ? $"{n} socket(s) are left in it"
                : null;
            if (why is not null && checks + 1 < Checks && NetnsFacts.Inode(path) is not null)
            {
                lock (_gate) _returned.Add((owner, name, checks + 1, clean));
                continue;
            }
            if (why is not null)
            {
                LogNotRecycled(_log, name, why);
                Delete(name);
                continue;
            }
            string evicted;
            lock (_gate)
            {
                if (_stopping) { Delete(name); continue; }
                _idle.AddLast((owner, name, _time.GetUtcNow()));
                if (_idle.Count <= MaxIdle) continue;
                evicted = _idle.First!.Value.Name;
                _idle.RemoveFirst();
            }
            Delete(evicted); // over the bound: the longest idle goes
        }
    }

    private static int Sockets(string path, bool processesGone)
    {
        try { return NetnsFacts.Sockets(path, processesGone); }
        catch (IOException) { return int.MaxValue; }
    }

    /// <summary>Stops the background thread and deletes every namespace no workflow holds.</summary>
    public void Dispose()
    {
        Thread? worker;
        lock (_gate)
        {
            _stopping = true;
            worker = _worker;
        }
        _wake.Set();
        worker?.Join(TimeSpan.FromSeconds(10)); // at most one creation (tens of ms) to finish
        lock (_gate)
        {
            foreach (var name in _ready) Delete(name);
            foreach (var (_, name, _) in _idle) Delete(name);
            foreach (var (_, name, _, _) in _returned) Delete(name);
            _ready.Clear();
            _idle.Clear();
            _returned.Clear();
            foreach (var pasta in _pastas.Values) NetnsFacts.Forget(pasta); // those of running steps' namespaces run on
            _pastas.Clear();
        }
    }

    private static void Run(string program, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new IOException($"cannot set up the workflow's network namespace: {Path.GetFileName(program)} {string.Join(' ', args)}: {stderr.Result.Trim()}");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "cannot prepare a network namespace ahead of demand: {Reason}")]
    private static partial void LogRefillFailed(ILogger log, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "network namespace {Name} deleted instead of recycled: {Why}")]
    private static partial void LogNotRecycled(ILogger log, string name, string why);
}

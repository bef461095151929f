using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// Runs each step as a host process in its own session (so a deadline kills the whole group and a
/// service crash does not), inside its sandbox (egw-step) unless --no-sandbox. Everything about a step
/// lives in its node directory: pid, stdout, stderr, exitcode and the sandbox root; what a running step holds
/// (its uid) is in its launcher's arguments, read back when a restarted service adopts it.
/// The exitcode file is the durable fact that a step finished, which is what makes adoption after
/// a restart safe.
/// </summary>
public sealed partial class LocalProcessExecutor : IStepExecutor, IDisposable
{
    // sh runs the step with its streams on files, so they outlive the service, and records the exit code.
    // It sets the step's rlimits first ("-": none); they bind the step's uid, not root's sandbox setup.
    // umask 002 with the shared step gid lets containers of one pod write each other's files in shared volumes.
    // (One literal: bench/fanout/lib.sh reads it from here.)

    private readonly string _root;
    private readonly Sandbox _sandbox;
    private readonly SemaphoreSlim _slots;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly TimeSpan _adoptPoll;
    private readonly Dictionary<string, int> _running = new(StringComparer.Ordinal); // 0 while the process is being spawned
    private readonly HashSet<string> _killWhenStarted = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly StepUids _uids = new();
    private readonly WorkflowNetworks _networks;
    /// <summary>The base of every sandboxed step's root, the /etc it mounts and the template its sandbox is built on, made for the first step.</summary>
    private readonly Lazy<(string Base, string Etc, SandboxTemplate? Template)> _shared;
    internal WorkflowNetworks Networks => _networks;
    private readonly StepLimits _limits;
    private readonly TimeSpan? _stepTimeout;

    /// <param name="limits">Service-wide step limits (--step-memory, --step-pids, --step-open-files); a container's resources.limits.memory overrides memory.</param>
    /// <param name="stepTimeout">Wall-clock limit for steps without an activeDeadlineSeconds of their own (--step-timeout); null: none.</param>
    public LocalProcessExecutor(string dataDir, int maxProcesses, Sandbox sandbox, TimeProvider time, ILogger<LocalProcessExecutor> log, TimeSpan? adoptPoll = null,
        StepLimits? limits = null, TimeSpan? stepTimeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxProcesses, 1);
        _root = Path.Combine(Path.GetFullPath(dataDir), "pods"); // absolute: the launcher runs in the node directory, and adoption matches it
        _sandbox = sandbox;
        _slots = new SemaphoreSlim(maxProcesses, maxProcesses);
        _time = time;
        _log = log;
        _adoptPoll = adoptPoll ?? TimeSpan.FromMilliseconds(100);
        _networks = new WorkflowNetworks(Path.GetFullPath(dataDir), log);
        _shared = new Lazy<(string, string, SandboxTemplate?)>(() =>
        {
            var @base = SandboxDirs.Prepare(dataDir, "base", sandbox.WriteBase);
            var etc = SandboxDirs.Prepare(dataDir, "etc", SandboxEtc.Write);
            return (@base, etc, Template(@base, etc));
        });
        if (sandbox.Isolated && sandbox.Network == StepNetwork.Isolated) _networks.RemoveLeftovers(RunningStepNetworks());
        _limits = limits ?? StepLimits.Default;
        _stepTimeout = stepTimeout;
        if (sandbox.Disabled) LogSandboxDisabled(_log);
        else if (sandbox.Unavailable is { } reason) LogSandboxUnavailable(_log, reason);
        else if (sandbox.Network == StepNetwork.Host) LogHostNetwork(_log);
        else if (sandbox.Network == StepNetwork.Isolated && !sandbox.Outbound) LogNoOutbound(_log);
    }

    /// <summary>The shared template; without one (a kernel before the new mount API) each sandbox is built from the host's mounts, as isolated and slower.</summary>
    private SandboxTemplate? Template(string @base, string etc)
    {
        try { return _sandbox.MakeTemplate(@base, etc); }
        catch (Exception e) when (e is IOException or System.ComponentModel.Win32Exception)
        {
            LogNoTemplate(_log, e.Message);
            return null;
        }
    }

    /// <summary>Why steps are refused: the sandbox was asked for (the default) but cannot start.</summary>
    private string? Refusal => _sandbox.Unavailable is { } reason
        ? $"step refused: the sandbox is unavailable: {reason}; install it, or start egw with --no-sandbox to run steps as unisolated host processes"
        : null;

    public async Task<StepOutcome> RunAsync(StepSpec spec, Action started, CancellationToken stopWaiting)
    {
        var dir = NodeDir(spec.Key);
        if (NodeDirs.ReadExit(dir) is { } done) return Finished(dir, done, started);
        if (ReadPid(dir) is { } pid)
        {
            // Started before a restart: adopt it if alive (and still the launcher of this node, not a process that
            // took its pid after a reboot), otherwise it was lost with the host.
            started();
            return IsAlive(pid) && LauncherArgs(pid, dir) is { } args
                ? await AdoptAsync(spec, dir, pid, Uid(args), stopWaiting).ConfigureAwait(false)
                : NodeDirs.ReadExit(dir) is { } late ? Finished(dir, late, () => { })
                : new StepOutcome(StepEnd.Lost, null, "step process was lost while the service was down", StartTime(dir), _time.GetUtcNow());
        }

        if (Refusal is { } refusal)
        {
            started();
            if (!Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
            return new StepOutcome(StepEnd.FailedToStart, null, refusal, _time.GetUtcNow(), _time.GetUtcNow());
        }

        var key = Key(spec.Key);
        lock (_gate) _running[key] = 0; // from here a kill is remembered, also while it waits for a slot
        try
        {
            if (!spec.InPodSlot) await _slots.WaitAsync(stopWaiting).ConfigureAwait(false);
        }
        catch
        {
            Forget(key);
            throw;
        }
        try
        {
            lock (_gate)
            {
                if (_killWhenStarted.Contains(key))
                {
                    Forget(key);
                    return new StepOutcome(StepEnd.Killed, null, "step was killed before it started", _time.GetUtcNow(), _time.GetUtcNow());
                }
            }
            started();
            var startedAt = _time.GetUtcNow();
            int child;
            StepLease? lease = null;
            try
            {
                lease = Lease(spec, adopted: null);
                child = Start(spec, dir, startedAt, lease);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Forget(key);
                lease?.Dispose();
                return new StepOutcome(StepEnd.FailedToStart, null, $"failed to start step: {e.Message}", startedAt, _time.GetUtcNow());
            }
            bool killNow;
            lock (_gate)
            {
                _running[key] = child;
                killNow = _killWhenStarted.Remove(key);
            }
            if (killNow) KillGroup(child); // killed while it was being spawned
            var exited = PosixSpawn.WaitAsync(child);
            // The uid and network are free once the step's process is gone.
            _ = exited.ContinueWith(_ =>
            {
                if (NodeDirs.ReadExit(dir) is not null) lease.Ended();
                else lease.Dispose();
            }, TaskScheduler.Default);
            return await WaitAsync(spec, dir, child, startedAt, () => exited.WaitAsync(stopWaiting), stopWaiting).ConfigureAwait(false);
        }
        finally
        {
            if (!spec.InPodSlot) _slots.Release();
        }
    }

    /// <summary>What a running step holds besides its slot: its host uid and its workflow's network namespace.</summary>
    private sealed class StepLease(Action<bool> release) : IDisposable
    {
        private int _released;
        public int Uid { get; init; }
        public string? Network { get; init; }

        /// <summary>
        /// The launcher ended the step itself (it wrote the exit code): it waited for the sandbox's pid 1, which the
        /// kernel lets end only once every process of the step is gone, so nothing of the step is left anywhere.
        /// </summary>
        public void Ended() => Release(cleanly: true);

        public void Dispose() => Release(cleanly: false);

        private void Release(bool cleanly)
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) release(cleanly);
        }
    }

    private StepLease Lease(StepSpec spec, int? adopted)
    {
        if (!_sandbox.Isolated) return new StepLease(_ => { });
        var uid = adopted ?? _uids.Take();
        if (adopted is { } held) _uids.Hold(held);
        string? network = null;
        if (_sandbox.Network == StepNetwork.Isolated)
        {
            try { network = _networks.Acquire(spec.Key.Namespace, spec.Key.Workflow); }
            catch (IOException) when (adopted is not null) { } // the adopted step keeps the namespace it has
            catch (IOException)
            {
                _uids.Release(uid);
                throw;
            }
        }
        return new StepLease(cleanly =>
        {
            _uids.Release(uid);
            if (network is not null) _networks.Release(spec.Key.Namespace, spec.Key.Workflow, cleanly);
        }) { Uid = uid, Network = network };
    }

    private int Start(StepSpec spec, string dir, DateTimeOffset startedAt, StepLease lease)
    {
        var root = Path.Combine(dir, "root");
        Directory.CreateDirectory(root);
        var binds = Mount(spec, dir, root);
        var argvIn = spec.Argv;
        foreach (var f in spec.Files)
        {
            var target = HostTarget(binds, f.SandboxPath) ?? Path.Combine(root, f.SandboxPath.TrimStart('/'));
            Stage(target, f);
            // Without the sandbox nothing maps sandbox paths: the step gets the staged file's place in its node directory.
            if (!_sandbox.Isolated) argvIn = argvIn.Select(a => a == f.SandboxPath ? target : a).ToList();
        }
        var workingDir = spec.WorkingDir ?? "/";
        var limits = (spec.Limits ?? StepLimits.None).Over(_limits);
        SandboxedStep? sandboxed = null;
        if (_sandbox.Isolated)
        {
            Directory.CreateDirectory(_sandbox.HostPath(root, workingDir));
            Posix.ChownTree(root, lease.Uid, Sandbox.StepGid); // only the step's own root is the step's
            var shared = _shared.Value;
            sandboxed = new SandboxedStep(root, shared.Base, shared.Etc, binds, lease.Uid, spec.RunAs, lease.Network, _sandbox.Network == StepNetwork.None, shared.Template is not null);
        }

        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = _sandbox.Isolated ? Sandbox.StepPath : Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
            ["HOME"] = _sandbox.Isolated ? "/tmp" : Environment.GetEnvironmentVariable("HOME") ?? "/root",
            ["LANG"] = "C.UTF-8",
        };
        foreach (var (k, v) in spec.Env) env[k] = v;
        if (!_sandbox.Isolated && !Directory.Exists(workingDir)) throw new IOException($"working directory {workingDir} does not exist");

        // The launcher writes the pid file, the durable record that this node's process exists, before the step runs.
        return PosixSpawn.Start(_sandbox.Command(dir, workingDir, limits, argvIn, sandboxed), env, dir, sandboxed?.Template == true ? _shared.Value.Template!.Descriptors : null);
    }

    /// <summary>
    /// Shared volumes (a containerSet's, Argo's emptyDir): one directory per volume in the owning pod's node
    /// directory, bound into this step's sandbox. The binds are recorded in the step's "mounts" file so that
    /// HostPath finds outputs written to a volume, also after a restart.
    /// </summary>
    private List<(string Host, string Sandbox)> Mount(StepSpec spec, string dir, string root)
    {
        if (spec.Volumes.Count == 0) return [];
        if (!_sandbox.Isolated) throw new IOException("volumes shared between containers need the sandbox, which is turned off (--no-sandbox) or unavailable");
        var binds = new List<(string Host, string Sandbox)>(spec.Volumes.Count);
        foreach (var v in spec.Volumes)
        {
            if (v.Name is "" or "." or ".." || v.Name.Contains('/')) throw new IOException($"volume name '{v.Name}' is not a valid name");
            var host = Path.Combine(NodeDir(v.Owner), "volumes", v.Name);
            if (!Directory.Exists(host))
            {
                // Shared by the pod's containers, each with its own uid: writable through the shared step group (setgid keeps it on new files).
                Directory.CreateDirectory(host);
                Posix.Chown(host, 0, Sandbox.StepGid);
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(host, (UnixFileMode)0b010_111_111_101);
            }
            Directory.CreateDirectory(_sandbox.HostPath(root, v.MountPath));
            binds.Add((host, v.MountPath));
        }
        File.WriteAllText(Path.Combine(dir, "mounts"), JsonSerializer.Serialize(binds.Select(b => new[] { b.Sandbox, b.Host })));
        return binds;
    }

    private async Task<StepOutcome> AdoptAsync(StepSpec spec, string dir, int pid, int? uid, CancellationToken stopWaiting)
    {
        using var lease = uid is { } held ? Lease(spec, held) : new StepLease(_ => { });
        async Task PollUntilExit()
        {
            using var timer = new PeriodicTimer(_adoptPoll, _time);
            while (IsAlive(pid) && NodeDirs.ReadExit(dir) is null)
                await timer.WaitForNextTickAsync(stopWaiting).ConfigureAwait(false);
        }
        return await WaitAsync(spec, dir, pid, StartTime(dir), PollUntilExit, stopWaiting).ConfigureAwait(false);
    }

    /// <summary>
    /// The arguments of process <paramref name="pid"/> when it is a step process of node directory
    /// <paramref name="dir"/> (the launcher's argv names it): the record of what a running step holds, its uid
    /// included, so nothing else is written per step for a restart to read.
    /// </summary>
    private static string[]? LauncherArgs(int pid, string dir)
    {
        try
        {
            var argv = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            return argv.Contains(dir, StringComparer.Ordinal) ? argv : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The step's host uid from the launcher's arguments; null for an unsandboxed step.</summary>
    private static int? Uid(string[] launcherArgs) =>
        LauncherOption(launcherArgs, "--uid") is { } text && int.TryParse(text, CultureInfo.InvariantCulture, out var uid) ? uid : null;

    /// <summary>The value of a launcher's option <paramref name="name"/> (before its "--", after which the step's own arguments come).</summary>
    private static string? LauncherOption(string[] launcherArgs, string name)
    {
        for (var i = 1; i + 1 < launcherArgs.Length && launcherArgs[i] != "--"; i++)
            if (launcherArgs[i] == name) return launcherArgs[i + 1];
        return null;
    }

    /// <summary>
    /// The workflow and network namespace of every step of this service still running from before a restart, from
    /// their launchers' arguments (--dir names the node's directory, --netns the namespace): what the namespaces are
    /// given back to their workflows by, so the adopted steps and their new siblings share one network again.
    /// </summary>
    private IEnumerable<(string Namespace, string Workflow, string Netns)> RunningStepNetworks()
    {
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), CultureInfo.InvariantCulture, out var pid)) continue;
            string[] argv;
            try { argv = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0'); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; } // gone meanwhile
            if (argv.Length < 2 || Path.GetFileName(argv[0]) != "egw-step") continue;
            if (LauncherOption(argv, "--dir") is not { } dir || LauncherOption(argv, "--netns") is not { } netns) continue;
            if (!dir.StartsWith(_root + "/", StringComparison.Ordinal)) continue; // another service's
            if (Path.GetRelativePath(_root, dir).Split('/') is [var ns, var workflow, _]) yield return (ns, workflow, Path.GetFileName(netns));
        }
    }

    private async Task<StepOutcome> WaitAsync(StepSpec spec, string dir, int pid, DateTimeOffset startedAt, Func<Task> exited, CancellationToken stopWaiting)
    {
        lock (_gate) _running[Key(spec.Key)] = pid;
        try
        {
            var wait = exited();
            var timedOut = spec.Deadline is null && _stepTimeout is { } limit ? startedAt + limit : (DateTimeOffset?)null;
            if ((spec.Deadline ?? timedOut) is { } deadline)
            {
                var remaining = deadline - _time.GetUtcNow();
                using var timeout = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, _time);
                var fired = await Task.WhenAny(wait, Task.Delay(Timeout.InfiniteTimeSpan, timeout.Token)).ConfigureAwait(false);
                if (fired != wait && NodeDirs.ReadExit(dir) is null)
                {
                    KillGroup(pid);
                    await wait.ConfigureAwait(false);
                    var why = timedOut is null ? "Step exceeded its deadline" : $"Step exceeded the service's step time limit (--step-timeout {_stepTimeout})";
                    return new StepOutcome(StepEnd.DeadlineExceeded, null, why, startedAt, _time.GetUtcNow());
                }
            }
            await wait.ConfigureAwait(false);
            if (NodeDirs.ReadExit(dir) is { } code)
                return new StepOutcome(StepEnd.Exited, code, code == 0 ? null : $"Error (exit code {code}){LimitReached(dir, (spec.Limits ?? StepLimits.None).Over(_limits))}", startedAt, _time.GetUtcNow());
            return File.Exists(Path.Combine(dir, "killed"))
                ? new StepOutcome(StepEnd.Killed, null, "step was killed", startedAt, _time.GetUtcNow())
                : new StepOutcome(StepEnd.Lost, null, "step process ended without an exit code (killed by a signal)", startedAt, _time.GetUtcNow());
        }
        finally
        {
            Forget(Key(spec.Key));
        }
    }

    private void Forget(string key)
    {
        lock (_gate)
        {
            _running.Remove(key);
            _killWhenStarted.Remove(key);
        }
    }

    public void Kill(StepKey key)
    {
        int pid;
        lock (_gate)
        {
            if (!_running.TryGetValue(Key(key), out pid)) return;
            if (pid == 0) _killWhenStarted.Add(Key(key)); // waiting for a slot or being spawned: never starts, or is killed once its pid is known
        }
        // The mark tells a restarted service the step was killed; a deleted workflow's directory is gone and needs none.
        try { File.WriteAllText(Path.Combine(NodeDir(key), "killed"), ""); }
        catch (DirectoryNotFoundException) { }
        if (pid != 0) KillGroup(pid);
    }

    /// <summary>
    /// SIGTERM to every process of the step but its launcher, which must live to record the exit code (the sandbox's
    /// pid 1 ignores it, as a pid namespace's init without a handler does): the step's own processes get the signal a
    /// stopped container gets. Processes that left the launcher's process group are reached by the kill that follows.
    /// </summary>
    public void Terminate(StepKey key)
    {
        int pid;
        lock (_gate)
        {
            if (!_running.TryGetValue(Key(key), out pid)) return;
        }
        if (pid == 0)
        {
            Kill(key); // not started yet: it never starts
            return;
        }
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out var p) || p == pid) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields.Length > 2 && int.TryParse(fields[2], CultureInfo.InvariantCulture, out var group) && group == pid) Kill(p, 15);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // gone meanwhile
        }
    }

    public async Task<System.Net.Sockets.Socket> ConnectAsync(StepKey key, int port, CancellationToken ct)
    {
        int pid;
        lock (_gate)
            if (!_running.TryGetValue(Key(key), out pid) || pid == 0) throw new IOException("the step is not running");
        // The launcher's child (the sandbox's pid 1, or the unsandboxed step) is in the step's network, whatever it is.
        var children = File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (children.Length == 0 || !int.TryParse(children[0], CultureInfo.InvariantCulture, out var child)) throw new IOException("the step has no process yet");
        static System.Net.Sockets.Socket Make() => new(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        // A socket belongs to the namespace of the thread that made it; it is connected from anywhere after.
        var socket = _sandbox.Isolated && _sandbox.Network != StepNetwork.Host ? NetnsFacts.Inside($"/proc/{child}/ns/net", Make) : Make();
        try
        {
            await socket.ConnectAsync(System.Net.IPAddress.Loopback, port, ct).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Where an output path of a finished step lies on the host, resolved inside the step's root (or the volume
    /// holding it) without following any link out of it; throws <see cref="OutputPathException"/> when it would leave.
    /// </summary>
    public string HostPath(StepKey key, string sandboxPath)
    {
        var dir = DirOf(key);
        var root = Path.Combine(dir, "root");
        if (!_sandbox.Isolated) return _sandbox.HostPath(root, sandboxPath); // unisolated steps are host processes: their paths are the host's
        var mounts = Path.Combine(dir, "mounts");
        var binds = File.Exists(mounts) ? JsonSerializer.Deserialize<string[][]>(File.ReadAllText(mounts))!.Select(b => (b[1], b[0])).ToList() : [];
        return Bind(binds, sandboxPath) is { } b ? ConfinedPath.Resolve(b.Host, b.Inside) : ConfinedPath.Resolve(root, sandboxPath);
    }

    /// <summary>Where a sandbox path lies on the host when a bind holds it (the deepest bind wins, as in the sandbox); else null.</summary>
    private static string? HostTarget(List<(string Host, string Sandbox)> binds, string sandboxPath) =>
        Bind(binds, sandboxPath) is { } b ? Path.Combine(b.Host, b.Inside) : null;

    private static (string Host, string Inside)? Bind(List<(string Host, string Sandbox)> binds, string sandboxPath)
    {
        foreach (var (host, sandbox) in binds.OrderByDescending(b => b.Sandbox.Length))
        {
            var at = sandbox.TrimEnd('/');
            if (sandboxPath == at || sandboxPath.StartsWith(at + "/", StringComparison.Ordinal))
                return (host, sandboxPath[at.Length..].TrimStart('/'));
        }
        return null;
    }

    /// <summary>rlimits make the step's own calls fail rather than killing it: its stderr says which limit it met.</summary>
    private static string LimitReached(string dir, StepLimits limits)
    {
        string tail;
        try
        {
            using var f = File.OpenRead(Path.Combine(dir, "stderr"));
            f.Seek(Math.Max(0, f.Length - 8192), SeekOrigin.Begin);
            tail = new StreamReader(f).ReadToEnd();
        }
        catch (IOException) { return ""; }
        if (limits.MemoryBytes is { } m && (tail.Contains("Cannot allocate memory", StringComparison.Ordinal) || tail.Contains("MemoryError", StringComparison.Ordinal)
            || tail.Contains("out of memory", StringComparison.OrdinalIgnoreCase) || tail.Contains("bad_alloc", StringComparison.Ordinal)))
            return $": the step reached its memory limit ({StepLimits.Format(m)}; resources.limits.memory or --step-memory)";
        if (limits.Pids is { } p && (tail.Contains("Resource temporarily unavailable", StringComparison.Ordinal) || tail.Contains("Cannot fork", StringComparison.Ordinal) || tail.Contains("fork: ", StringComparison.Ordinal)))
            return $": the step reached its process limit ({p}; --step-pids)";
        if (limits.OpenFiles is { } n && tail.Contains("Too many open files", StringComparison.Ordinal))
            return $": the step reached its open files limit ({n}; --step-open-files)";
        return "";
    }

    public string LogPath(StepKey key, string stream) => Path.Combine(DirOf(key), stream);

    public void Forget(StepKey key)
    {
        // Node ids also arrive from an annotation (retry): one that is no plain name names no step of ours.
        if (key.NodeId.Length == 0 || key.NodeId.Contains('/') || key.NodeId is "." or "..") return;
        var dir = DirOf(key);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    public void Forget(string @namespace, string workflow)
    {
        var dir = Path.Combine(_root, @namespace, workflow);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    private StepOutcome Finished(string dir, int code, Action started)
    {
        started();
        var finished = File.GetLastWriteTimeUtc(Path.Combine(dir, "exitcode"));
        return new StepOutcome(StepEnd.Exited, code, code == 0 ? null : $"Error (exit code {code})", StartTime(dir), new DateTimeOffset(finished, TimeSpan.Zero));
    }

    private static void Stage(string target, StagedFile f)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        if (f.Content is not null) File.WriteAllText(target, f.Content);
        else if (f.HostSource is { } src) Copy(src, target);
        if (f.Mode is { } mode && !OperatingSystem.IsWindows() && File.Exists(target)) File.SetUnixFileMode(target, (UnixFileMode)mode);
    }

    internal static void Copy(string source, string target)
    {
        if (File.Exists(source)) { File.Copy(source, target, overwrite: true); return; }
        Directory.CreateDirectory(target);
        foreach (var d in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(source, d)));
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(target, Path.GetRelativePath(source, file)), overwrite: true);
    }

    private string NodeDir(StepKey key) => NodeDirs.Make(_root, key);

    private string DirOf(StepKey key) => NodeDirs.Of(_root, key);

    private static string Key(StepKey k) => $"{k.Namespace}/{k.Workflow}/{k.NodeId}";

    private static int? ReadPid(string dir)
    {
        var path = Path.Combine(dir, "pid");
        return File.Exists(path) && int.TryParse(File.ReadAllText(path), CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }

    private DateTimeOffset StartTime(string dir)
    {
        var pid = Path.Combine(dir, "pid");
        return File.Exists(pid) ? new DateTimeOffset(File.GetLastWriteTimeUtc(pid), TimeSpan.Zero) : _time.GetUtcNow();
    }

    private static bool IsAlive(int pid) => Kill(pid, 0) == 0 && !IsZombie(pid);

    private static bool IsZombie(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].StartsWith('Z'); }
        catch (IOException) { return false; }
    }

    private static void KillGroup(int pid) => Kill(-pid, 9);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "--no-sandbox: steps run as plain host processes with the service's own user and privileges, its files and its network")]
    private static partial void LogSandboxDisabled(ILogger log);

    [LoggerMessage(Level = LogLevel.Error, Message = "the step sandbox is unavailable, so every step will be refused: {Reason}; install it, or start with --no-sandbox to run steps unisolated")]
    private static partial void LogSandboxUnavailable(ILogger log, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the sandbox template cannot be made, so every step's sandbox is built from the host's mounts (as isolated, slower): {Reason}")]
    private static partial void LogNoTemplate(ILogger log, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "--step-network host: steps share the host's network, its loopback services (this API included) too")]
    private static partial void LogHostNetwork(ILogger log);

    [LoggerMessage(Level = LogLevel.Warning, Message = "--step-network isolated without pasta (Debian package passt): workflows' network namespaces have loopback only, no outbound access")]
    private static partial void LogNoOutbound(ILogger log);

    public void Dispose()
    {
        _slots.Dispose();
        _networks.Dispose(); // the idle pool's namespaces and their pastas; running steps keep theirs for adoption
        if (_shared.IsValueCreated) _shared.Value.Template?.Dispose(); // running steps hold their own copies
    }
}

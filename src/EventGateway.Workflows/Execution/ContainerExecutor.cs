using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// Runs each step in its image through the Docker Engine API (Docker or Podman's compatible service on a unix socket).
/// The node directory has the same layout as the local executor's (stdout, stderr, exitcode, killed), so logs, `egw logs`
/// and retention read it alike. The container's name is derived from the step's key and its labels name the workflow and
/// node: a restarted service finds the container of a step it started and adopts it instead of starting it again.
/// The exitcode file is written only once the logs are complete; it is the durable fact that the step finished, after
/// which the container is removed.
/// </summary>
public sealed partial class ContainerExecutor : IStepExecutor, IDisposable
{
    public const string WorkflowLabel = "io.eventgateway.workflow";
    public const string NamespaceLabel = "io.eventgateway.namespace";
    public const string NodeLabel = "io.eventgateway.node";
    public const string InstanceLabel = "io.eventgateway.instance";

    private readonly string _root;
    private readonly DockerClient _docker;
    private readonly SemaphoreSlim _slots;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly StepLimits _limits;
    private readonly TimeSpan? _stepTimeout;

    /// <param name="host">The engine's endpoint, e.g. unix:///run/podman/podman.sock.</param>
    public ContainerExecutor(string dataDir, Uri host, int maxProcesses, TimeProvider time, ILogger<ContainerExecutor> log,
        StepLimits? limits = null, TimeSpan? stepTimeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxProcesses, 1);
        _root = Path.Combine(Path.GetFullPath(dataDir), "pods");
        _docker = ContainerEngine.Connect(host);
        _slots = new SemaphoreSlim(maxProcesses, maxProcesses);
        _time = time;
        _log = log;
        _limits = limits ?? StepLimits.Default;
        _stepTimeout = stepTimeout;
    }

    public async Task<StepOutcome> RunAsync(StepSpec spec, Action started, CancellationToken stopWaiting)
    {
        if (spec.Pod is not { } pod || NodeDirs.ReadExit(NodeDir(spec.Key)) is not null) return await RunStepAsync(spec, null, started, stopWaiting).ConfigureAwait(false);
        string infra;
        try { infra = await JoinPodAsync(pod, stopWaiting).ConfigureAwait(false); }
        catch (Exception e) when (e is DockerApiException or IOException or HttpRequestException)
        {
            started();
            var now = _time.GetUtcNow();
            return new StepOutcome(StepEnd.FailedToStart, null, $"the pod's network (its infra container) could not be started: {(e as DockerApiException)?.ResponseBody?.Trim() ?? e.Message}", now, now);
        }
        var ended = false;
        try
        {
            var outcome = await RunStepAsync(spec, infra, started, stopWaiting).ConfigureAwait(false);
            ended = true;
            return outcome;
        }
        finally { await LeavePodAsync(pod, ended).ConfigureAwait(false); }
    }

    /// <param name="infra">The pod's infra container, whose network the step joins; null: the step's own network.</param>
    private async Task<StepOutcome> RunStepAsync(StepSpec spec, string? infra, Action started, CancellationToken stopWaiting)
    {
        var dir = NodeDir(spec.Key);
        if (NodeDirs.ReadExit(dir) is { } done)
        {
            started();
            return Finished(dir, done);
        }
        var name = ContainerName(spec.Key);
        // Started before a restart (or by a run that was interrupted between create and start): adopt it.
        if (await InspectAsync(name, stopWaiting).ConfigureAwait(false) is { } existing)
        {
            started();
            if (existing.State?.Status == "created") // created, then the service went down before it started it
                await _docker.Containers.StartContainerAsync(name, new ContainerStartParameters(), stopWaiting).ConfigureAwait(false);
            return await WaitAsync(spec, dir, name, StartTime(dir), stopWaiting).ConfigureAwait(false);
        }

        if (!spec.InPodSlot) await _slots.WaitAsync(stopWaiting).ConfigureAwait(false);
        try
        {
            started();
            var startedAt = _time.GetUtcNow();
            // The killed mark is the one record of a kill, also of one that came while the step waited for a slot.
            var killedMark = Path.Combine(dir, "killed");
            if (File.Exists(killedMark)) return new StepOutcome(StepEnd.Killed, null, "step was killed before it started", startedAt, startedAt);
            try
            {
                if ((await PullAsync(spec, stopWaiting).ConfigureAwait(false) ?? await NonRootAsync(spec, stopWaiting).ConfigureAwait(false)) is { } refused)
                    return new StepOutcome(StepEnd.FailedToStart, null, refused, startedAt, _time.GetUtcNow());
                await CreateAsync(spec, dir, name, infra, stopWaiting).ConfigureAwait(false);
                File.WriteAllText(Path.Combine(dir, "container"), name); // when it started: StartTime reads this file's time
                await _docker.Containers.StartContainerAsync(name, new ContainerStartParameters(), stopWaiting).ConfigureAwait(false);
            }
            catch (DockerImageNotFoundException)
            {
                await RemoveAsync(name).ConfigureAwait(false);
                return new StepOutcome(StepEnd.FailedToStart, null, $"image '{spec.Image}' is not present in the container engine", startedAt, _time.GetUtcNow());
            }
            catch (DockerApiException e)
            {
                await RemoveAsync(name).ConfigureAwait(false);
                return new StepOutcome(StepEnd.FailedToStart, null, $"the container engine refused to start the step: {e.ResponseBody?.Trim() ?? e.Message}", startedAt, _time.GetUtcNow());
            }
            catch (Exception e) when (e is IOException or HttpRequestException or UnauthorizedAccessException)
            {
                await RemoveAsync(name).ConfigureAwait(false);
                return new StepOutcome(StepEnd.FailedToStart, null, $"failed to start step: {e.Message}", startedAt, _time.GetUtcNow());
            }
            if (File.Exists(killedMark)) await KillAsync(name, "KILL").ConfigureAwait(false); // killed while it was being started
            return await WaitAsync(spec, dir, name, startedAt, stopWaiting).ConfigureAwait(false);
        }
        finally
        {
            if (!spec.InPodSlot) _slots.Release();
        }
    }

    /// <summary>
    /// imagePullPolicy: Never runs only an image the engine has, IfNotPresent (also when unset: a local engine's images
    /// are often built on the machine, where Kubernetes' default of Always for :latest would fail) pulls a missing one,
    /// Always pulls each time. Returns why the image cannot be had, or null.
    /// </summary>
    private async Task<string?> PullAsync(StepSpec spec, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(spec.Image)) return "the container has no image";
        var policy = spec.PullPolicy ?? "IfNotPresent";
        if (policy != "Always" && await HasImageAsync(spec.Image, ct).ConfigureAwait(false)) return null;
        if (policy == "Never") return $"image '{spec.Image}' is not present in the container engine and imagePullPolicy is Never (ErrImageNeverPull)";
        AuthConfig? auth;
        try { auth = RegistryAuths.For(spec.Image, spec.PullSecrets); }
        catch (FormatException e) { return $"cannot pull image '{spec.Image}': {e.Message}"; }
        var errors = new List<string>();
        try
        {
            await _docker.Images.CreateImageAsync(new ImagesCreateParameters { FromImage = spec.Image }, auth ?? new AuthConfig(),
                new Progress(m => { if (m.Error?.Message is { Length: > 0 } e) lock (errors) errors.Add(e); }), ct).ConfigureAwait(false);
        }
        catch (DockerApiException e) { errors.Add(e.ResponseBody?.Trim() ?? e.Message); }
        if (errors.Count == 0 && await HasImageAsync(spec.Image, ct).ConfigureAwait(false)) return null;
        return $"cannot pull image '{spec.Image}' (imagePullPolicy {policy}{(auth is null ? "" : $", credentials for {auth.ServerAddress}")}): {(errors.Count > 0 ? string.Join("; ", errors.Distinct()) : "the engine reported no error but has no such image")} (ErrImagePull)";
    }

    /// <summary>runAsNonRoot as the kubelet checks it: the uid the step will have, from runAsUser or else the image's USER.</summary>
    private async Task<string?> NonRootAsync(StepSpec spec, CancellationToken ct)
    {
        if (!spec.RunAsNonRoot) return null;
        if (spec.RunAs?.User is { } uid) return uid == 0 ? "container has runAsNonRoot and runAsUser 0 (CreateContainerConfigError)" : null;
        var user = (await _docker.Images.InspectImageAsync(spec.Image, ct).ConfigureAwait(false)).Config?.User ?? "";
        var name = user.Split(':')[0];
        if (name is "" or "0" or "root") return $"container has runAsNonRoot and image '{spec.Image}' will run as root (CreateContainerConfigError)";
        return long.TryParse(name, CultureInfo.InvariantCulture, out _) ? null
            : $"container has runAsNonRoot and image '{spec.Image}' has a non-numeric user ({name}): cannot verify it is not root (CreateContainerConfigError)";
    }

    private async Task<bool> HasImageAsync(string image, CancellationToken ct)
    {
        try
        {
            await _docker.Images.InspectImageAsync(image, ct).ConfigureAwait(false);
            return true;
        }
        catch (DockerImageNotFoundException) { return false; }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound) { return false; }
    }

    /// <summary>Pull progress, synchronously (System.Progress would post to the thread pool, after the pull has returned).</summary>
    internal sealed class Progress(Action<JSONMessage> report) : IProgress<JSONMessage>
    {
        public void Report(JSONMessage value) => report(value);
    }

    /// <summary>
    /// Creates the step's container. Kubernetes rules: `command` replaces the image's ENTRYPOINT, `args` its CMD; a step
    /// with neither runs the image's own. No privileges, the engine's default bridge network, limits within the host's.
    /// </summary>
    private async Task CreateAsync(StepSpec spec, string dir, string name, string? infra, CancellationToken ct)
    {
        var (entrypoint, cmd) = spec.Container is { } c ? (c.Command, c.Args) : (spec.Argv, null);
        var limits = (spec.Limits ?? StepLimits.None).Over(_limits);
        var binds = Stage(spec, dir);
        var parameters = new CreateContainerParameters
        {
            Name = name,
            Image = spec.Image,
            Entrypoint = entrypoint is { Count: > 0 } ? [.. entrypoint] : null,
            Cmd = cmd is { Count: > 0 } ? [.. cmd] : null,
            Env = [.. spec.Env.Select(e => $"{e.Key}={e.Value}")],
            WorkingDir = spec.WorkingDir ?? "",
            User = spec.RunAs is { } r ? $"{r.User ?? 0}{(r.Group is { } g ? $":{g}" : "")}" : "",
            Labels = new Dictionary<string, string>
            {
                [NamespaceLabel] = spec.Key.Namespace,
                [WorkflowLabel] = spec.Key.Workflow,
                [NodeLabel] = spec.Key.NodeId,
                [InstanceLabel] = Instance,
            },
            HostConfig = new HostConfig
            {
                Privileged = false,
                SecurityOpt = ["no-new-privileges"],
                Binds = binds,
                Memory = limits.MemoryBytes ?? 0,
                // Without a swap limit the kernel swaps instead of ending the step at its memory limit.
                MemorySwap = limits.MemoryBytes ?? 0,
                PidsLimit = limits.Pids,
                NanoCPUs = spec.CpuMillis is { } cpu ? cpu * 1_000_000 : 0,
                // Within the machine's hard limits: an engine's defaults above them make runc's setrlimit fail.
                Ulimits =
                [
                    new Ulimit { Name = "nofile", Soft = limits.OpenFiles ?? 1024, Hard = limits.OpenFiles ?? 1024 },
                    new Ulimit { Name = "nproc", Soft = limits.Pids ?? 4096, Hard = limits.Pids ?? 4096 },
                ],
            },
        };
        if (infra is not null) parameters.HostConfig.NetworkMode = $"container:{infra}"; // the pod's network: its containers meet on 127.0.0.1
        if (entrypoint is { Count: > 0 } && cmd is null) parameters.Cmd = []; // a command replaces the image's CMD too, as in Kubernetes
        await _docker.Containers.CreateContainerAsync(parameters, ct).ConfigureAwait(false);
    }

    /// <summary>Staged files and shared volumes, bound from the node directory (never any other host path).</summary>
    private List<string> Stage(StepSpec spec, string dir)
    {
        var binds = new List<string>();
        var root = Path.Combine(dir, "root");
        foreach (var f in spec.Files)
        {
            var target = ConfinedPath.Resolve(root, f.SandboxPath);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (f.Content is not null) File.WriteAllText(target, f.Content);
            else if (f.HostSource is { } src) LocalProcessExecutor.Copy(src, target);
            if (f.Mode is { } mode && !OperatingSystem.IsWindows() && File.Exists(target)) File.SetUnixFileMode(target, (UnixFileMode)mode);
            binds.Add($"{target}:{f.SandboxPath}");
        }
        foreach (var v in spec.Volumes)
        {
            if (v.Name is "" or "." or ".." || v.Name.Contains('/')) throw new IOException($"volume name '{v.Name}' is not a valid name");
            var host = Path.Combine(NodeDir(v.Owner), "volumes", v.Name);
            Directory.CreateDirectory(host);
            binds.Add($"{host}:{v.MountPath}");
        }
        return binds;
    }

    private async Task<StepOutcome> WaitAsync(StepSpec spec, string dir, string name, DateTimeOffset startedAt, CancellationToken stopWaiting)
    {
        // Logs from the container's start, each time: after a restart the files are written again in full.
        using var stopLogs = CancellationTokenSource.CreateLinkedTokenSource(stopWaiting);
        var logs = CopyLogsAsync(dir, name, stopLogs.Token);
        var exit = ExitAsync(name, stopWaiting);
        var timedOut = spec.Deadline is null && _stepTimeout is { } limit ? startedAt + limit : (DateTimeOffset?)null;
        if ((spec.Deadline ?? timedOut) is { } deadline)
        {
            var remaining = deadline - _time.GetUtcNow();
            using var timeout = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, _time);
            var fired = await Task.WhenAny(exit, Task.Delay(Timeout.InfiniteTimeSpan, timeout.Token)).ConfigureAwait(false);
            if (fired != exit)
            {
                stopWaiting.ThrowIfCancellationRequested();
                await KillAsync(name, "KILL").ConfigureAwait(false);
                await exit.ConfigureAwait(false);
                await LogsCompleteAsync(logs, stopLogs, dir, name).ConfigureAwait(false);
                File.WriteAllText(Path.Combine(dir, "killed"), "");
                await RemoveAsync(name).ConfigureAwait(false);
                var why = timedOut is null ? "Step exceeded its deadline" : $"Step exceeded the service's step time limit (--step-timeout {_stepTimeout})";
                return new StepOutcome(StepEnd.DeadlineExceeded, null, why, startedAt, _time.GetUtcNow());
            }
        }
        var code = (int)await exit.ConfigureAwait(false);
        await LogsCompleteAsync(logs, stopLogs, dir, name).ConfigureAwait(false);
        var inspected = await InspectAsync(name, CancellationToken.None).ConfigureAwait(false);
        var killed = File.Exists(Path.Combine(dir, "killed"));
        if (!killed)
        {
            // Before the exit code: once that is written the container may be gone, and its files with it.
            await CopyOutputsAsync(spec, dir, name, stopWaiting).ConfigureAwait(false);
            File.WriteAllText(Path.Combine(dir, "exitcode"), code.ToString(CultureInfo.InvariantCulture));
        }
        await RemoveAsync(name).ConfigureAwait(false);
        if (killed) return new StepOutcome(StepEnd.Killed, null, "step was killed", startedAt, _time.GetUtcNow());
        var oomKilled = code != 0 && await OomKilledAsync(inspected, code).ConfigureAwait(false);
        var message = code == 0 ? null
            : oomKilled ? $"OOMKilled (exit code {code}): the step reached its memory limit ({StepLimits.Format(spec.Limits?.MemoryBytes ?? _limits.MemoryBytes ?? 0)}; resources.limits.memory or --step-memory)"
            : $"Error (exit code {code})";
        return new StepOutcome(StepEnd.Exited, code, message, startedAt, _time.GetUtcNow());
    }

    /// <summary>
    /// Whether the kernel's out-of-memory killer ended the container: what the engine says, else the kernel log's
    /// oom-kill record naming the container's cgroup (Podman 4 on cgroup v1 leaves State.OOMKilled false). Asked only
    /// of a step that died of SIGKILL (137) that egw did not send.
    /// </summary>
    private static async Task<bool> OomKilledAsync(ContainerInspectResponse? inspected, int code)
    {
        if (inspected?.State?.OOMKilled == true) return true;
        if (code != 137 || inspected?.ID is not { Length: > 0 } id) return false;
        try
        {
            using var dmesg = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dmesg") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var log = dmesg.StandardOutput.ReadToEndAsync();
            _ = dmesg.StandardError.ReadToEndAsync();
            await dmesg.WaitForExitAsync().ConfigureAwait(false);
            return (await log.ConfigureAwait(false)).Split('\n').Any(l => l.Contains("oom-kill:", StringComparison.Ordinal) && l.Contains(id, StringComparison.Ordinal));
        }
        catch (System.ComponentModel.Win32Exception) { return false; } // no dmesg
    }

    /// <summary>
    /// Copies the step's output paths out of the stopped container into its root, where <see cref="HostPath"/> reads
    /// them. A path the step did not write is left missing: the output collector says so (or takes its default).
    /// </summary>
    private async Task CopyOutputsAsync(StepSpec spec, string dir, string name, CancellationToken ct)
    {
        var root = Path.Combine(dir, "root");
        foreach (var path in spec.OutputPaths)
        {
            var absolute = path.StartsWith('/') ? path : $"{(spec.WorkingDir ?? "/").TrimEnd('/')}/{path}";
            ContainerArchiveResponse archive;
            try { archive = await _docker.Containers.GetArchiveFromContainerAsync(name, new ContainerPathStatParameters { Path = absolute }, statOnly: false, ct).ConfigureAwait(false); }
            catch (DockerContainerNotFoundException) { continue; } // no such path in the container
            catch (DockerApiException e) { LogOutputNotCopied(_log, name, absolute, e.ResponseBody ?? e.Message); continue; }
            if (archive.Stream is not { } tar) continue;
            var spool = Path.Combine(dir, "output.tar");
            await using (tar)
            await using (var file = File.Create(spool))
            {
                // Podman 4 ends this chunked body without its last chunk; the tar's own end blocks say whether it is whole.
                try { await tar.CopyToAsync(file, ct).ConfigureAwait(false); }
                catch (HttpIOException e) when (e.HttpRequestError == HttpRequestError.ResponseEnded) { }
            }
            try
            {
                await using var file = File.OpenRead(spool);
                await ContainerOutputs.ExtractAsync(file, root, Path.GetDirectoryName(absolute) ?? "/", ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
            {
                throw new IOException($"output {absolute} of the step's container could not be read: {e.Message}", e);
            }
            finally { File.Delete(spool); }
        }
    }

    /// <summary>
    /// The container's exit code: the engine's wait, or, should that never answer (seen with Podman 4.3 under load: a
    /// step stayed Running for minutes after its container had exited), the state inspect reports, polled.
    /// </summary>
    private async Task<long> ExitAsync(string name, CancellationToken ct)
    {
        var wait = _docker.Containers.WaitContainerAsync(name, ct);
        while (true)
        {
            var polled = Task.Delay(ExitPoll, _time, ct);
            if (await Task.WhenAny(wait, polled).ConfigureAwait(false) == wait) return (await wait.ConfigureAwait(false)).StatusCode;
            await polled.ConfigureAwait(false);
            if (await InspectAsync(name, ct).ConfigureAwait(false) is { State: { Running: false, Status: "exited" or "dead" } state })
                return state.ExitCode;
        }
    }

    private static readonly TimeSpan ExitPoll = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Waits for the followed logs to end after the container exited, bounded: should the follow stream never end,
    /// the logs are read once more, whole, without following.
    /// </summary>
    private async Task LogsCompleteAsync(Task logs, CancellationTokenSource stopLogs, string dir, string name)
    {
        var grace = Task.Delay(ExitPoll, _time);
        if (await Task.WhenAny(logs, grace).ConfigureAwait(false) == logs)
        {
            await logs.ConfigureAwait(false);
            return;
        }
        await stopLogs.CancelAsync().ConfigureAwait(false);
        try { await logs.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        await CopyLogsAsync(dir, name, CancellationToken.None, follow: false).ConfigureAwait(false);
    }

    /// <summary>Streams the container's stdout and stderr into the node directory's files as they come.</summary>
    private async Task CopyLogsAsync(string dir, string name, CancellationToken ct, bool follow = true)
    {
        using var stream = await _docker.Containers.GetContainerLogsAsync(name, new ContainerLogsParameters { Follow = follow, ShowStdout = true, ShowStderr = true }, ct).ConfigureAwait(false);
        await using var stdout = new FileStream(Path.Combine(dir, "stdout"), FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
        await using var stderr = new FileStream(Path.Combine(dir, "stderr"), FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
        await stream.CopyOutputToAsync(Stream.Null, stdout, stderr, ct).ConfigureAwait(false);
    }

    private async Task<ContainerInspectResponse?> InspectAsync(string name, CancellationToken ct)
    {
        try { return await _docker.Containers.InspectContainerAsync(name, ct).ConfigureAwait(false); }
        catch (DockerContainerNotFoundException) { return null; }
    }

    private async Task KillAsync(string name, string signal)
    {
        try { await _docker.Containers.KillContainerAsync(name, new ContainerKillParameters { Signal = signal }, CancellationToken.None).ConfigureAwait(false); }
        catch (DockerContainerNotFoundException) { }
        catch (DockerApiException e) { LogKillFailed(_log, name, e.ResponseBody ?? e.Message); } // already stopped
    }

    private async Task RemoveAsync(string name)
    {
        try { await _docker.Containers.RemoveContainerAsync(name, new ContainerRemoveParameters { Force = true }, CancellationToken.None).ConfigureAwait(false); }
        catch (DockerContainerNotFoundException) { }
    }

    public void Kill(StepKey key)
    {
        try { File.WriteAllText(Path.Combine(DirOf(key), "killed"), ""); }
        catch (DirectoryNotFoundException) { }
        KillAsync(ContainerName(key), "KILL").GetAwaiter().GetResult();
    }

    public void Terminate(StepKey key) => KillAsync(ContainerName(key), "TERM").GetAwaiter().GetResult();

    /// <summary>A daemon's probe: the host reaches the step's container at its address on the engine's bridge.</summary>
    public async Task<System.Net.Sockets.Socket> ConnectAsync(StepKey key, int port, CancellationToken ct)
    {
        var ip = System.Net.IPAddress.Parse(await PodIPAsync(key, ct).ConfigureAwait(false));
        var socket = new System.Net.Sockets.Socket(ip.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(ip, port, ct).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The running step's container's address on the engine's bridge network, from inspect.</summary>
    public async Task<string> PodIPAsync(StepKey key, CancellationToken ct)
    {
        var inspected = await InspectAsync(ContainerName(key), ct).ConfigureAwait(false);
        if (inspected?.State?.Running != true) throw new IOException("the step's container is not running");
        inspected = await NetworkOwnerAsync(inspected, ct).ConfigureAwait(false);
        var ip = inspected?.NetworkSettings?.Networks?.Values.Select(n => n.IPAddress).FirstOrDefault(a => !string.IsNullOrEmpty(a));
        return ip ?? throw new IOException("the step's container has no address on the engine's network");
    }

    /// <summary>Staged inputs, and outputs copied out of the container after it exited (<see cref="CopyOutputsAsync"/>), confined to the step's root.</summary>
    public string HostPath(StepKey key, string sandboxPath) => ConfinedPath.Resolve(Path.Combine(DirOf(key), "root"), sandboxPath);

    public bool RunsImages => true;

    public string LogPath(StepKey key, string stream) => Path.Combine(DirOf(key), stream);

    public void Forget(StepKey key)
    {
        if (key.NodeId.Length == 0 || key.NodeId.Contains('/') || key.NodeId is "." or "..") return;
        RemoveAsync(ContainerName(key)).GetAwaiter().GetResult();
        // A pod's infra container; the engine refuses while a member still uses it (that member's own Forget comes later).
        try { RemoveAsync(InfraName(key)).GetAwaiter().GetResult(); }
        catch (DockerApiException e) { LogKillFailed(_log, InfraName(key), e.ResponseBody ?? e.Message); }
        var dir = DirOf(key);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    public void Forget(string @namespace, string workflow)
    {
        var found = _docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{InstanceLabel}={Instance}"] = true, [$"{NamespaceLabel}={@namespace}"] = true, [$"{WorkflowLabel}={workflow}"] = true } },
        }).GetAwaiter().GetResult();
        // Pods' infra containers last: the engine refuses to remove one while a container still uses its network.
        foreach (var c in found.OrderBy(c => c.Labels?.ContainsKey(PodLabel) == true))
            RemoveAsync(c.Names?.FirstOrDefault()?.TrimStart('/') ?? c.ID).GetAwaiter().GetResult();
        var dir = Path.Combine(_root, @namespace, workflow);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    /// <summary>
    /// A container name per step and data directory, the same after a restart: names allow [a-zA-Z0-9_.-], keys do not
    /// fit them, and two services (or test engines) on one engine must never adopt each other's steps.
    /// </summary>
    public string ContainerName(StepKey key) =>
        "egw-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{_root}\n{key.Namespace}/{key.Workflow}/{key.NodeId}")))[..24];

    /// <summary>The data directory's mark on its containers (label <see cref="InstanceLabel"/>), so podGC never touches another service's.</summary>
    private string Instance => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(_root)))[..16];

    private StepOutcome Finished(string dir, int code)
    {
        var finished = File.GetLastWriteTimeUtc(Path.Combine(dir, "exitcode"));
        return new StepOutcome(StepEnd.Exited, code, code == 0 ? null : $"Error (exit code {code})", StartTime(dir), new DateTimeOffset(finished, TimeSpan.Zero));
    }

    private string NodeDir(StepKey key) => NodeDirs.Make(_root, key);

    private string DirOf(StepKey key) => NodeDirs.Of(_root, key);

    private DateTimeOffset StartTime(string dir)
    {
        var marker = Path.Combine(dir, "container");
        return File.Exists(marker) ? new DateTimeOffset(File.GetLastWriteTimeUtc(marker), TimeSpan.Zero) : _time.GetUtcNow();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "output {Path} of container {Name} not copied: {Reason}")]
    private static partial void LogOutputNotCopied(ILogger log, string name, string path, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "killing container {Name}: {Reason}")]
    private static partial void LogKillFailed(ILogger log, string name, string reason);

    public void Dispose()
    {
        _docker.Dispose();
        _slots.Dispose();
        _podGate.Dispose();
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using EventGateway.Model;
using EventGateway.Workflows.Artifacts;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Execution;

namespace EventGateway.Server.Kubernetes.Pods;

/// <summary>
/// <c>--executor kubernetes</c>: each step is a Pod made through the API server (<see cref="PodManifest"/>), labelled
/// with its workflow and step, so a restarted service lists the step's pod by label and waits for it instead of
/// creating a second one. The node directory keeps the same layout as the other executors' (stdout from the pod's
/// `log` subresource, exitcode, killed, root with the outputs), so `egw logs`, the logs API, the output collector and
/// retention read it alike. Deadlines, stop and terminate delete the pod; podGC (<see cref="Forget(StepKey)"/>) too.
/// The pod stays after it completed until podGC removes it, as in Argo.
/// </summary>
public sealed partial class PodExecutor : IStepExecutor, IDisposable
{
    /// <summary>Waiting reasons of main that never resolve by waiting: the node fails with them, as the container executor fails a pull at once.</summary>
    private static readonly HashSet<string> Hopeless = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError"];

    private readonly IKubernetes _client;
    private readonly ArtifactStorage _artifacts;
    private readonly PodExecutorOptions _options;
    private readonly S3ArtifactRepository _repository;
    private readonly string _root;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    /// <summary>Steps whose pod this service follows now: their sidecars wait here for the pod's end.</summary>
    private readonly ConcurrentDictionary<StepKey, PodRun> _runs = new();

    private sealed record PodRun(TaskCompletionSource<V1Pod?> Ended, IReadOnlySet<string> Sidecars);

    public PodExecutor(string dataDir, IKubernetes client, ArtifactStorage artifacts, S3ArtifactRepository repository, PodExecutorOptions options,
        TimeProvider time, ILogger<PodExecutor> log)
    {
        _root = Path.Combine(Path.GetFullPath(dataDir), "k8s-pods");
        _client = client;
        _artifacts = artifacts;
        _repository = repository;
        _options = options;
        _time = time;
        _log = log;
    }

    public bool RunsImages => true;

    private string Instance => PodManifest.StepOf(_root, default)[..16];

    private string StepOf(StepKey key) => PodManifest.StepOf(_root, key);

    public async Task<StepOutcome> RunAsync(StepSpec spec, Action started, CancellationToken stopWaiting)
    {
        if (spec.Pod is { } pod && pod != spec.Key) return await RunMemberAsync(spec, pod, started, stopWaiting).ConfigureAwait(false);
        var dir = NodeDir(spec.Key);
        var run = new PodRun(new TaskCompletionSource<V1Pod?>(TaskCreationOptions.RunContinuationsAsynchronously),
            (spec.Template?.Sidecars ?? []).Select(c => c.Name ?? "").ToHashSet(StringComparer.Ordinal));
        _runs[spec.Key] = run;
        var ended = run.Ended;
        try
        {
            if (NodeDirs.ReadExit(dir) is { } done)
            {
                started();
                return Finished(dir, done);
            }
            var step = StepOf(spec.Key);
            V1Pod? existing;
            while (true)
            {
                try
                {
                    existing = await FindAsync(spec.Key.Namespace, step, stopWaiting).ConfigureAwait(false);
                    break;
                }
                catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException)
                {
                    // Whether the step already has a pod must be known before one is made: an API outage waits, it never fails the step.
                    LogApiFailed(_log, spec.Key.Namespace, spec.Key.Workflow, e.Message);
                    await Task.Delay(_options.Resync, _time, stopWaiting).ConfigureAwait(false);
                }
            }
            started();
            DateTimeOffset startedAt;
            string name;
            if (existing is not null)
            {
                name = existing.Metadata.Name;
                startedAt = existing.Metadata.CreationTimestamp is { } created ? new DateTimeOffset(DateTime.SpecifyKind(created, DateTimeKind.Utc)) : _time.GetUtcNow();
            }
            else
            {
                startedAt = _time.GetUtcNow();
                if (File.Exists(Path.Combine(dir, "killed"))) return new StepOutcome(StepEnd.Killed, null, "step was killed before it started", startedAt, startedAt);
                name = PodManifest.NameOf(spec.Key.Workflow, step);
                var refused = await CreateAsync(spec, name, step, stopWaiting).ConfigureAwait(false);
                if (refused is not null) return new StepOutcome(StepEnd.FailedToStart, null, refused, startedAt, _time.GetUtcNow());
            }
            var outcome = await WaitAsync(spec, dir, name, startedAt, ended, stopWaiting).ConfigureAwait(false);
            if (spec.Files.Any(f => f.HostSource is not null)) await DropInputsAsync(spec.Key, step).ConfigureAwait(false);
            return outcome;
        }
        finally
        {
            ended.TrySetResult(null);
            _runs.TryRemove(new KeyValuePair<StepKey, PodRun>(spec.Key, run));
        }
    }

    /// <summary>The staged inputs' object, once the pod no longer needs it.</summary>
    private async Task DropInputsAsync(StepKey key, string step)
    {
        try
        {
            using var repo = await _artifacts.OpenRepositoryAsync(key.Namespace, _repository, CancellationToken.None).ConfigureAwait(false);
            await repo.DeleteAsync(PodOutputs.StagingKey(_repository.KeyPrefix, step + "-inputs"), CancellationToken.None).ConfigureAwait(false);
        }
        catch (ArtifactException e) { LogApiFailed(_log, key.Namespace, key.Workflow, e.Message); }
    }

    /// <summary>Creates the step's pod; returns why it cannot be made (the manifest, or the API server's refusal), or null.</summary>
    private async Task<string?> CreateAsync(StepSpec spec, string name, string step, CancellationToken ct)
    {
        PodManifest.Outputs? outputs = null;
        PodManifest.Inputs? inputs = null;
        var loaded = spec.Files.Where(f => f.HostSource is not null).ToList();
        if (spec.OutputPaths.Count > 0 || loaded.Count > 0)
        {
            S3BucketRepository repo;
            try { repo = await _artifacts.OpenRepositoryAsync(spec.Key.Namespace, _repository, ct).ConfigureAwait(false); }
            catch (ArtifactException e) { return $"the S3 artifact repository for the pod's inputs and outputs: {e.Message}"; }
            using (repo)
            {
                // Valid as long as the step may run (SigV4 allows at most 7 days).
                var expires = (spec.Deadline ?? _time.GetUtcNow().AddDays(7)).AddMinutes(10);
                var limit = _time.GetUtcNow().AddDays(7);
                var until = (expires < limit ? expires : limit).UtcDateTime;
                if (spec.OutputPaths.Count > 0)
                    outputs = new PodManifest.Outputs(spec.OutputPaths, repo.PresignPut(PodOutputs.StagingKey(_repository.KeyPrefix, step), until), _options.UploadImage);
                if (loaded.Count > 0)
                {
                    // egw has loaded the inputs already (from any repository, with its credentials): the pod gets them from one object.
                    var tar = Path.Combine(NodeDir(spec.Key), "inputs.tar");
                    var key = PodOutputs.StagingKey(_repository.KeyPrefix, step + "-inputs");
                    try
                    {
                        await PodOutputs.WriteInputsAsync(loaded, tar, ct).ConfigureAwait(false);
                        await repo.SaveAsync(key, tar, ct).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is ArtifactException or IOException or UnauthorizedAccessException)
                    {
                        return $"staging the step's input artifacts for its pod: {e.Message}";
                    }
                    finally { File.Delete(tar); }
                    inputs = new PodManifest.Inputs(repo.PresignGet(key, until), _options.UploadImage);
                }
            }
        }
        var (manifest, error) = PodManifest.Build(spec, name, step, Instance, outputs, inputs);
        if (manifest is null) return error;
        try
        {
            await _client.CoreV1.CreateNamespacedPodAsync(KubernetesJson.Deserialize<V1Pod>(manifest.ToJsonString()), spec.Key.Namespace, cancellationToken: ct).ConfigureAwait(false);
            return null;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            return null; // made by an earlier attempt whose answer was lost: it is this step's (the name is the step's)
        }
        catch (HttpOperationException e)
        {
            return $"the API server refused the step's pod {spec.Key.Namespace}/{name}: {StatusMessage(e)}";
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Text.Json.JsonException)
        {
            return $"creating the step's pod {spec.Key.Namespace}/{name} failed: {e.Message}";
        }
    }

    private async Task<V1Pod?> FindAsync(string ns, string step, CancellationToken ct)
    {
        var list = await _client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"{PodManifest.StepLabel}={step}", cancellationToken: ct).ConfigureAwait(false);
        return list.Items.FirstOrDefault();
    }

    private async Task<V1Pod?> ReadAsync(string ns, string name, CancellationToken ct)
    {
        try { return await _client.CoreV1.ReadNamespacedPodAsync(name, ns, cancellationToken: ct).ConfigureAwait(false); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { return null; }
    }

    /// <summary>
    /// Follows the pod until it completes, is deleted, cannot start, or its deadline passes: each pass reads the pod,
    /// then waits on a watch of it (from the read's resourceVersion) for its next change, the deadline, or a resync
    /// interval should the watch miss something. API errors are retried; they never fail the step on their own.
    /// </summary>
    private async Task<StepOutcome> WaitAsync(StepSpec spec, string dir, string name, DateTimeOffset startedAt, TaskCompletionSource<V1Pod?> ended, CancellationToken stopWaiting)
    {
        var ns = spec.Key.Namespace;
        Task? logs = null;
        using var stopLogs = CancellationTokenSource.CreateLinkedTokenSource(stopWaiting);
        DateTimeOffset? mainEndedAt = null;
        string? pending = null; // why the pod has not started yet, as the scheduler or kubelet said: the node's message should it end so
        try
        {
            while (true)
            {
                V1Pod? pod;
                try { pod = await ReadAsync(ns, name, stopWaiting).ConfigureAwait(false); }
                catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException)
                {
                    LogApiFailed(_log, ns, name, e.Message);
                    await Task.Delay(_options.Resync, _time, stopWaiting).ConfigureAwait(false);
                    continue;
                }
                var killed = File.Exists(Path.Combine(dir, "killed"));
                if (pod is null)
                {
                    if (logs is not null) await LogsEndAsync(logs, stopLogs).ConfigureAwait(false);
                    return killed
                        ? new StepOutcome(StepEnd.Killed, null, "step was killed", startedAt, _time.GetUtcNow())
                        : new StepOutcome(StepEnd.Lost, null, "pod deleted" + (pending is null ? "" : $" (it never started: {pending})"), startedAt, _time.GetUtcNow());
                }
                var main = pod.Status?.ContainerStatuses?.FirstOrDefault(s => s.Name == "main");
                if (main?.State?.Waiting is { Reason: { } reason } waiting && Hopeless.Contains(reason))
                {
                    await DeleteAsync(ns, name, 0).ConfigureAwait(false);
                    return new StepOutcome(StepEnd.FailedToStart, null, $"{reason}: {waiting.Message}".TrimEnd(' ', ':'), startedAt, _time.GetUtcNow());
                }
                if (logs is null && (main?.State?.Running is not null || main?.State?.Terminated is not null))
                    logs = CopyLogsAsync(ns, name, "main", Path.Combine(dir, "stdout"), follow: true, stopLogs.Token);
                if (pod.Status?.Phase is "Succeeded" or "Failed")
                {
                    ended.TrySetResult(pod);
                    logs ??= CopyLogsAsync(ns, name, "main", Path.Combine(dir, "stdout"), follow: false, stopLogs.Token);
                    await LogsEndAsync(logs, stopLogs).ConfigureAwait(false);
                    return await CompletedAsync(spec, dir, pod, killed, startedAt, stopWaiting).ConfigureAwait(false);
                }
                if (main?.State?.Terminated is not null && mainEndedAt is null) mainEndedAt = _time.GetUtcNow();
                pending = PendingWhy(pod) ?? (pod.Status?.Phase is "Pending" or null ? pending : null);
                var now = _time.GetUtcNow();
                if (spec.Deadline is { } deadline && now >= deadline)
                {
                    File.WriteAllText(Path.Combine(dir, "killed"), "");
                    await DeleteAsync(ns, name, 0).ConfigureAwait(false);
                    if (logs is not null) await LogsEndAsync(logs, stopLogs).ConfigureAwait(false);
                    return new StepOutcome(StepEnd.DeadlineExceeded, null,
                        "Pod was active on the node longer than the specified deadline" + (pending is null ? "" : $" (it never started: {pending})"), startedAt, _time.GetUtcNow());
                }
                if (mainEndedAt is { } mainEnded && now - mainEnded >= _options.UploadGrace)
                {
                    // Main ended but the upload never finished (main's wrapper died before its mark): outputs are lost, the pod goes.
                    await DeleteAsync(ns, name, 0).ConfigureAwait(false);
                    if (logs is not null) await LogsEndAsync(logs, stopLogs).ConfigureAwait(false);
                    return new StepOutcome(StepEnd.Lost, main?.State?.Terminated?.ExitCode, $"main ended and its outputs were not uploaded within {_options.UploadGrace}", startedAt, _time.GetUtcNow());
                }
                var wake = _options.Resync;
                if (spec.Deadline is { } d2 && d2 - now < wake) wake = d2 - now;
                if (mainEndedAt is { } m2 && m2 + _options.UploadGrace - now < wake) wake = m2 + _options.UploadGrace - now;
                await NextChangeAsync(ns, name, pod.Metadata.ResourceVersion, wake, stopWaiting).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopWaiting.IsCancellationRequested)
        {
            await stopLogs.CancelAsync().ConfigureAwait(false);
            throw; // the service stops: the pod runs on, and the next start adopts it
        }
    }

    /// <summary>Why a pod is not running yet: PodScheduled False (Unschedulable, with the scheduler's message), or main waiting for a reason other than being created.</summary>
    private static string? PendingWhy(V1Pod pod)
    {
        if (pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status == "False") is { } unscheduled)
            return $"{unscheduled.Reason ?? "Unschedulable"}: {unscheduled.Message}".TrimEnd(' ', ':');
        return pod.Status?.ContainerStatuses?.FirstOrDefault(s => s.Name == "main")?.State?.Waiting is { Reason: { } reason and not "ContainerCreating" and not "PodInitializing" } w
            ? $"{reason}: {w.Message}".TrimEnd(' ', ':')
            : null;
    }

    /// <summary>Returns at the pod's next change (a watch event), after <paramref name="wake"/>, or when the watch fails.</summary>
    private async Task NextChangeAsync(string ns, string name, string resourceVersion, TimeSpan wake, CancellationToken ct)
    {
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var timer = Task.Delay(wake < TimeSpan.Zero ? TimeSpan.Zero : wake, _time, cut.Token);
        var watch = Task.Run(async () =>
        {
            try
            {
                await foreach (var _ in _client.CoreV1.WatchListNamespacedPodAsync(ns, fieldSelector: $"metadata.name={name}", resourceVersion: resourceVersion,
                    timeoutSeconds: ClusterKind.WatchTimeoutSeconds, onError: _ => { }, cancellationToken: cut.Token).ConfigureAwait(false))
                    return;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException)
            {
                LogApiFailed(_log, ns, name, e.Message);
                await Task.Delay(_options.Resync, _time, cut.Token).ConfigureAwait(false);
            }
        }, cut.Token);
        try { await Task.WhenAny(timer, watch).ConfigureAwait(false); }
        finally { await cut.CancelAsync().ConfigureAwait(false); }
        ct.ThrowIfCancellationRequested();
    }

    /// <summary>The completed pod's result: main's exit code, the outputs it uploaded, and why it failed in Argo's words.</summary>
    private async Task<StepOutcome> CompletedAsync(StepSpec spec, string dir, V1Pod pod, bool killed, DateTimeOffset startedAt, CancellationToken ct)
    {
        var finishedAt = _time.GetUtcNow();
        if (killed) return new StepOutcome(StepEnd.Killed, null, "step was killed", startedAt, finishedAt);
        if (pod.Status?.InitContainerStatuses?.FirstOrDefault(s => s.Name == PodManifest.InitContainer)?.State?.Terminated is { ExitCode: not 0 } init)
            return new StepOutcome(StepEnd.FailedToStart, null, init.Message?.Trim() is { Length: > 0 } why ? why : $"the {PodManifest.InitContainer} container exited with {init.ExitCode}", startedAt, finishedAt);
        var main = pod.Status?.ContainerStatuses?.FirstOrDefault(s => s.Name == "main")?.State?.Terminated;
        if (main is null)
            return new StepOutcome(StepEnd.Lost, null, $"pod {pod.Status?.Phase}: {pod.Status?.Reason} {pod.Status?.Message}".Trim().TrimEnd(':'), startedAt, finishedAt);
        var wait = pod.Status?.ContainerStatuses?.FirstOrDefault(s => s.Name == PodManifest.WaitContainer)?.State?.Terminated;
        if (wait is { ExitCode: not 0 })
            return new StepOutcome(StepEnd.Lost, main.ExitCode, $"failed to save outputs: {wait.Message?.Trim() ?? $"the {PodManifest.WaitContainer} container exited with {wait.ExitCode}"}", startedAt, finishedAt);
        if (spec.OutputPaths.Count > 0)
        {
            try
            {
                using var repo = await _artifacts.OpenRepositoryAsync(spec.Key.Namespace, _repository, ct).ConfigureAwait(false);
                await PodOutputs.FetchAsync(repo, PodOutputs.StagingKey(_repository.KeyPrefix, StepOf(spec.Key)), dir, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ArtifactException or IOException)
            {
                return new StepOutcome(StepEnd.Lost, main.ExitCode, $"failed to save outputs: {e.Message}", startedAt, finishedAt);
            }
        }
        var code = main.ExitCode;
        File.WriteAllText(Path.Combine(dir, "exitcode"), code.ToString(CultureInfo.InvariantCulture));
        var message = code == 0 ? null
            : main.Reason == "OOMKilled" ? $"OOMKilled (exit code {code})"
            : $"Error (exit code {code})";
        return new StepOutcome(StepEnd.Exited, code, message, startedAt, finishedAt);
    }

    /// <summary>
    /// A container of another step's pod (a sidecar: a native sidecar of main's pod). It runs with that pod: this waits
    /// for the pod to end and reports the container's exit code and logs. Anything else that would join a pod (a
    /// containerSet's container, a daemon's exec probe) has no pod container to be here.
    /// </summary>
    private async Task<StepOutcome> RunMemberAsync(StepSpec spec, StepKey podKey, Action started, CancellationToken stopWaiting)
    {
        started();
        var startedAt = _time.GetUtcNow();
        var container = spec.Key.NodeId.StartsWith(podKey.NodeId + "/", StringComparison.Ordinal) ? spec.Key.NodeId[(podKey.NodeId.Length + 1)..] : "";
        if (!_runs.TryGetValue(podKey, out var run) || !run.Sidecars.Contains(container))
            return new StepOutcome(StepEnd.FailedToStart, null, "--executor kubernetes runs a pod's containers only within the step's own pod: containerSet templates and exec readiness probes are not supported yet (a daemon's httpGet or tcpSocket probe is)", startedAt, startedAt);
        var pod = await run.Ended.Task.WaitAsync(stopWaiting).ConfigureAwait(false);
        var dir = NodeDir(spec.Key);
        if (pod?.Metadata?.Name is { } name)
        {
            try { await CopyLogsAsync(spec.Key.Namespace, name, container, Path.Combine(dir, "stdout"), follow: false, stopWaiting).ConfigureAwait(false); }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException) { LogApiFailed(_log, spec.Key.Namespace, name, e.Message); }
        }
        var state = pod?.Status?.InitContainerStatuses?.FirstOrDefault(s => s.Name == container)?.State?.Terminated;
        return new StepOutcome(StepEnd.Exited, state?.ExitCode ?? 0, null, startedAt, _time.GetUtcNow());
    }

    /// <summary>The pod's `log` of one container into a node file (Kubernetes merges stdout and stderr into one stream).</summary>
    private async Task CopyLogsAsync(string ns, string name, string container, string path, bool follow, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
        await using var stream = await _client.CoreV1.ReadNamespacedPodLogAsync(name, ns, container: container, follow: follow, cancellationToken: ct).ConfigureAwait(false);
        var buffer = new byte[8192];
        int n;
        while ((n = await stream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
            await file.FlushAsync(ct).ConfigureAwait(false); // readers (egw logs --follow) see each chunk as it comes
        }
    }

    /// <summary>Waits for the followed log to end once the pod completed; one that hangs is cut after <see cref="PodExecutorOptions.Resync"/>.</summary>
    private async Task LogsEndAsync(Task logs, CancellationTokenSource stopLogs)
    {
        await Task.WhenAny(logs, Task.Delay(_options.Resync, _time)).ConfigureAwait(false);
        if (!logs.IsCompleted) await stopLogs.CancelAsync().ConfigureAwait(false);
        try { await logs.ConfigureAwait(false); }
        catch (Exception e) when (e is OperationCanceledException or HttpOperationException or HttpRequestException or IOException) { }
    }

    private async Task DeleteAsync(string ns, string name, long? grace)
    {
        try
        {
            await _client.CoreV1.DeleteNamespacedPodAsync(name, ns, gracePeriodSeconds: (int?)grace, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException) { LogApiFailed(_log, ns, name, e.Message); }
    }

    private static bool IsMember(StepKey key) => key.NodeId.Contains('/');

    /// <summary>Stop, terminate or a deadline of an enclosing node: the pod is deleted at once. A sidecar ends with its pod.</summary>
    public void Kill(StepKey key)
    {
        if (IsMember(key)) return;
        try { File.WriteAllText(Path.Combine(DirOf(key), "killed"), ""); }
        catch (DirectoryNotFoundException) { }
        DeleteAsync(key.Namespace, PodManifest.NameOf(key.Workflow, StepOf(key)), 0).GetAwaiter().GetResult();
    }

    /// <summary>As Kubernetes stops a pod: deleted with its grace period (SIGTERM, then SIGKILL).</summary>
    public void Terminate(StepKey key)
    {
        if (IsMember(key)) return;
        DeleteAsync(key.Namespace, PodManifest.NameOf(key.Workflow, StepOf(key)), null).GetAwaiter().GetResult();
    }

    /// <summary>A pod of its own; a daemon's address is its pod IP.</summary>
    public async Task<string> PodIPAsync(StepKey key, CancellationToken ct)
    {
        var pod = await ReadAsync(key.Namespace, PodManifest.NameOf(key.Workflow, StepOf(key)), ct).ConfigureAwait(false);
        return pod?.Status?.PodIP is { Length: > 0 } ip ? ip : throw new IOException("the step's pod has no IP (yet)");
    }

    public async Task<System.Net.Sockets.Socket> ConnectAsync(StepKey key, int port, CancellationToken ct)
    {
        var ip = IPAddress.Parse(await PodIPAsync(key, ct).ConfigureAwait(false));
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

    public Task<Func<bool, Task>?> HoldPodAsync(StepKey pod, CancellationToken ct) =>
        throw new NotSupportedException("containerSet templates do not run with --executor kubernetes yet: use container or script templates");

    /// <summary>Outputs the pod uploaded, unpacked after it completed, confined to the step's root.</summary>
    public string HostPath(StepKey key, string sandboxPath) => ConfinedPath.Resolve(Path.Combine(DirOf(key), "root"), sandboxPath);

    public string LogPath(StepKey key, string stream) => Path.Combine(DirOf(key), stream);

    /// <summary>podGC of one step, or a step about to run again: its pod is deleted through the API, its files removed.</summary>
    public void Forget(StepKey key)
    {
        if (key.NodeId.Length == 0 || key.NodeId is "." or ".." || key.NodeId.Split('/').Any(p => p is "." or "..")) return;
        if (!IsMember(key)) DeleteAsync(key.Namespace, PodManifest.NameOf(key.Workflow, StepOf(key)), 0).GetAwaiter().GetResult();
        var dir = DirOf(key);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    /// <summary>The workflow is deleted: every pod of it that this service made.</summary>
    public void Forget(string @namespace, string workflow)
    {
        try
        {
            var pods = _client.CoreV1.ListNamespacedPodAsync(@namespace, labelSelector: $"{PodManifest.WorkflowLabel}={workflow},{PodManifest.InstanceLabel}={Instance}")
                .GetAwaiter().GetResult();
            foreach (var p in pods.Items) DeleteAsync(@namespace, p.Metadata.Name, 0).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException) { LogApiFailed(_log, @namespace, workflow, e.Message); }
        var dir = Path.Combine(_root, @namespace, workflow);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    private StepOutcome Finished(string dir, int code)
    {
        var finished = File.GetLastWriteTimeUtc(Path.Combine(dir, "exitcode"));
        var at = new DateTimeOffset(finished, TimeSpan.Zero);
        return new StepOutcome(StepEnd.Exited, code, code == 0 ? null : $"Error (exit code {code})", at, at);
    }

    private string NodeDir(StepKey key) => NodeDirs.Make(_root, key);

    private string DirOf(StepKey key) => NodeDirs.Of(_root, key);

    private static string StatusMessage(HttpOperationException e)
    {
        try { return JsonNode.Parse(e.Response.Content)?["message"]?.GetValue<string>() ?? e.Response.Content; }
        catch (System.Text.Json.JsonException) { return e.Response.Content ?? e.Message; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "kubernetes: pod {Namespace}/{Name}: {Error}; retrying")]
    private static partial void LogApiFailed(ILogger log, string @namespace, string name, string error);

    public void Dispose() { }
}

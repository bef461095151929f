using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Validation;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// Runs one containerSet pod. Each container is an executor step of its own, under its Container node's id
/// (its own process group, logs and exit code file), with the set's volumes bound into every container's
/// sandbox: several sandboxed processes sharing bind-mounted volumes, not one sandbox running a supervisor of
/// ours. So kill, deadline, process slots and adoption after a restart stay the executor's alone, and a
/// restart that runs the set again adopts each container that ran (still running or finished) and starts
/// only those whose dependencies are known to have exited 0.
/// </summary>
public sealed class ContainerSetRun(
    IStepExecutor executor, StepSpecBuilder specs, OutputCollector outputs, TimeProvider time, Workflow wf, PodRequest pod,
    Action podStarted, Action<PodResult> progress, Action<string, StepKey> containerStarted, Action<string, StepKey> containerFinished)
{
    /// <summary>Argo loads inputs into, and reads outputs from, the container of this name.</summary>
    public const string Main = "main";

    private readonly Lock _gate = new();
    private readonly HashSet<StepKey> _active = [];
    private readonly TaskCompletionSource _killed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _podStarted;

    public static string NodeName(string podNodeName, string? container) => $"{podNodeName}.{container}";

    /// <summary>What makes a set unrunnable (checked at load too; this covers inline and referenced templates).</summary>
    public static string? GraphProblem(ContainerSetTemplate set)
    {
        if (set.Containers.Count == 0) return "containerSet has no containers";
        var edges = new Dictionary<string, IReadOnlyCollection<string>>(StringComparer.Ordinal);
        foreach (var c in set.Containers)
            if (string.IsNullOrEmpty(c.Name) || !edges.TryAdd(c.Name, c.Dependencies ?? []))
                return $"containerSet: container name '{c.Name}' is missing or not unique";
        foreach (var (name, deps) in edges)
            if (deps.FirstOrDefault(d => !edges.ContainsKey(d)) is { } unknown)
                return $"containerSet: container '{name}' depends on '{unknown}', which is not defined";
        return WorkflowValidator.FindCycle(edges) is { } cycle ? $"containerSet: dependency cycle: {string.Join(" -> ", cycle)}" : null;
    }

    /// <summary>Stops every container: running ones are killed, the others never start.</summary>
    public void Kill()
    {
        List<StepKey> active;
        lock (_gate)
        {
            _killed.TrySetResult();
            active = [.. _active];
        }
        foreach (var key in active) executor.Kill(key);
    }

    private bool Killed => _killed.Task.IsCompleted;

    public async Task<PodResult> RunAsync(CancellationToken stopWaiting)
    {
        var set = pod.Template.ContainerSet!;
        var podKey = new StepKey(wf.NamespaceOrDefault, wf.Name, pod.NodeId);
        var startedAt = time.GetUtcNow();
        var (retries, backoff, retryError) = RetryOf(set.RetryStrategy);
        if (retryError is not null)
            return new PodResult(pod.NodeId, NodePhase.Error, retryError, null, null, startedAt, startedAt);

        // Every container's spec first: a missing secret or command fails the set before anything runs.
        DateTimeOffset? deadline = pod.ActiveDeadline is { } d ? startedAt + d : null;
        var steps = new Dictionary<string, (ContainerNode Container, StepSpec Spec)>(StringComparer.Ordinal);
        foreach (var c in set.Containers)
        {
            var request = pod with
            {
                NodeId = NodeIds.For(wf.Name, NodeName(pod.NodeName, c.Name)),
                Template = new Template { Name = c.Name, Container = c },
                InputArtifacts = c.Name == Main ? pod.InputArtifacts : [],
            };
            var (spec, error) = await specs.BuildAsync(wf, request, time, stopWaiting).ConfigureAwait(false);
            if (spec is null) return new PodResult(pod.NodeId, NodePhase.Error, error, null, null, startedAt, time.GetUtcNow());
            var volumes = (set.VolumeMounts ?? []).Select(m => (m.Name, m.MountPath)).Concat(ContainerMounts.Of(c))
                .Select(m => new SharedVolume(podKey, m.Name, m.MountPath)).ToList();
            steps[c.Name ?? ""] = (c, spec with
            {
                Deadline = deadline, Volumes = [.. spec.Volumes, .. volumes], Pod = podKey,
                OutputPaths = c.Name == Main ? StepSpecBuilder.OutputPathsOf(pod.Template) : [], // the set's outputs are main's
            });
        }

        Func<bool, Task>? release = null;
        try
        {
            // The pod's network lives as long as the pod, also between containers that run one after another.
            release = await executor.HoldPodAsync(podKey, stopWaiting).ConfigureAwait(false);
            return await RunContainersAsync(set, steps, retries, backoff, startedAt, stopWaiting).ConfigureAwait(false);
        }
        catch (Exception) when (!stopWaiting.IsCancellationRequested)
        {
            Kill(); // an executor failure ends the pod: none of its containers may run on unseen
            throw;
        }
        finally
        {
            if (release is not null) await release(!stopWaiting.IsCancellationRequested).ConfigureAwait(false);
        }
    }

    private async Task<PodResult> RunContainersAsync(ContainerSetTemplate set, Dictionary<string, (ContainerNode Container, StepSpec Spec)> steps,
        int retries, TimeSpan backoff, DateTimeOffset startedAt, CancellationToken stopWaiting)
    {
        var ended = new Dictionary<string, PodResult>(StringComparer.Ordinal);
        var running = new Dictionary<Task<(StepOutcome, StepKey)>, string>();
        var pending = set.Containers.Select(c => c.Name ?? "").ToList();
        (string Name, StepEnd End)? firstFailure = null;
        while (true)
        {
            // Start what can start, and give up on what never can (a dependency did not succeed), to a fixpoint.
            for (var changed = true; changed;)
            {
                changed = false;
                foreach (var name in pending.ToList())
                {
                    var deps = steps[name].Container.Dependencies ?? [];
                    if (deps.FirstOrDefault(x => ended.TryGetValue(x, out var e) && e.Phase != NodePhase.Succeeded) is { } failedDep)
                    {
                        var now = time.GetUtcNow();
                        var omitted = new PodResult(steps[name].Spec.Key.NodeId, NodePhase.Omitted, $"not started: dependency '{failedDep}' did not succeed", null, null, now, now);
                        ended[name] = omitted;
                        progress(omitted);
                    }
                    else if (deps.All(x => ended.TryGetValue(x, out var e) && e.Phase == NodePhase.Succeeded))
                        running[RunContainerAsync(steps[name].Spec, retries, backoff, stopWaiting)] = name;
                    else continue;
                    pending.Remove(name);
                    changed = true;
                }
            }
            if (running.Count == 0) break;
            var done = await Task.WhenAny(running.Keys).ConfigureAwait(false);
            var finished = running[done];
            running.Remove(done);
            var (outcome, key) = await done.ConfigureAwait(false);
            // Main's report carries the set's declared outputs, read once main has ended (Argo's main container).
            var report = await outputs.CollectAsync(wf, pod with { NodeId = steps[finished].Spec.Key.NodeId, Template = finished == Main ? pod.Template : new Template() }, key, outcome, stopWaiting).ConfigureAwait(false);
            ended[finished] = report;
            progress(report);
            if (report.Phase != NodePhase.Succeeded) firstFailure ??= (finished, outcome.End);
        }

        var first = ended.Values.Where(e => e.Phase != NodePhase.Omitted).Select(e => e.StartedAt).DefaultIfEmpty(startedAt).Min();
        var main = ended.GetValueOrDefault(Main);
        if (firstFailure is null)
            return new PodResult(pod.NodeId, NodePhase.Succeeded, null, main?.ExitCode, main?.Outputs, first, time.GetUtcNow());
        var (failed, end) = firstFailure.Value;
        var failure = ended[failed];
        var message = end == StepEnd.DeadlineExceeded ? failure.Message : $"container '{failed}': {failure.Message}";
        return new PodResult(pod.NodeId, failure.Phase, message, main?.ExitCode, main?.Outputs, first, time.GetUtcNow());
    }

    /// <summary>Runs a container, again in place after a failed exit while containerSet.retryStrategy allows.</summary>
    private async Task<(StepOutcome, StepKey)> RunContainerAsync(StepSpec spec, int retries, TimeSpan backoff, CancellationToken stopWaiting)
    {
        for (var attempt = 0; ; attempt++)
        {
            // A retry runs under a key of its own, or the executor would adopt the failed attempt's exit code. The
            // key nests in the container's own directory, so discarding a container (egw retry) discards its attempts.
            var key = attempt == 0 ? spec.Key : spec.Key with { NodeId = $"{spec.Key.NodeId}/retry-{attempt}" };
            lock (_gate)
            {
                if (Killed) return (new StepOutcome(StepEnd.Killed, null, "step was killed before it started", time.GetUtcNow(), time.GetUtcNow()), key);
                _active.Add(key);
            }
            StepOutcome outcome;
            try
            {
                var run = executor.RunAsync(spec with { Key = key }, () => Started(spec.Key.NodeId, key), stopWaiting);
                if (Killed) executor.Kill(key); // Kill() ran before the executor knew this key
                outcome = await run.ConfigureAwait(false);
            }
            finally
            {
                lock (_gate) _active.Remove(key);
            }
            containerFinished(spec.Key.NodeId, key);
            if (outcome.Succeeded || outcome.End is not (StepEnd.Exited or StepEnd.Lost) || attempt >= retries || Killed) return (outcome, key);
            if (backoff > TimeSpan.Zero) await Task.WhenAny(Task.Delay(backoff, time, stopWaiting), _killed.Task).ConfigureAwait(false);
            stopWaiting.ThrowIfCancellationRequested();
        }
    }

    private void Started(string nodeId, StepKey key)
    {
        bool first;
        lock (_gate)
        {
            first = !_podStarted;
            _podStarted = true;
        }
        if (first) podStarted();
        progress(new PodResult(nodeId, NodePhase.Running, null, null, null, time.GetUtcNow(), default));
        containerStarted(nodeId, key);
    }

    private static (int Retries, TimeSpan Backoff, string? Error) RetryOf(ContainerSetRetryStrategy? r)
    {
        if (r is null) return (0, TimeSpan.Zero, null);
        var retries = 0;
        if (r.Retries is { } text && (!int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out retries) || retries < 0))
            return (0, TimeSpan.Zero, $"containerSet.retryStrategy.retries: '{text}' is not a non-negative integer");
        var backoff = TimeSpan.Zero;
        if (r.Duration is { } d && !Durations.TryParse(d, out backoff))
            return (0, TimeSpan.Zero, $"containerSet.retryStrategy.duration: '{d}' is not a duration like 10s, 2m or 1h");
        return (retries, backoff, null);
    }
}

using EventGateway.Model;
using EventGateway.Workflows.Execution;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// The sidecars of one container or script pod: sandboxed processes of their own, started with the main container,
/// in the same network namespace (the workflow's, so main reaches them on 127.0.0.1, as a pod's containers reach each
/// other), within the pod's process slot, and stopped when main ends: SIGTERM, then SIGKILL after
/// <see cref="Grace"/>. Their outcome never changes the pod's phase, which is main's. Each keeps its logs in
/// <c>{pod}/{sidecar}</c> under the pod's directory (<see cref="KeyOf"/>), read with the logs' container option.
/// </summary>
internal sealed class PodSidecars(IStepExecutor executor, TimeProvider time, IReadOnlyList<StepSpec> specs)
{
    /// <summary>How long a sidecar has to end after SIGTERM (Kubernetes' default grace is 30 s; a sidecar's end holds up its step).</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly List<Task> _running = [];
    private bool _stopped;

    /// <summary>Where a sidecar's process lives: under its pod's directory, so discarding the pod discards it.</summary>
    public static StepKey KeyOf(StepKey pod, string sidecar) => pod with { NodeId = $"{pod.NodeId}/{sidecar}" };

    /// <summary>Every sidecar's spec, before anything starts: a missing Secret or command fails the pod, not half of it.</summary>
    public static async Task<(PodSidecars? Sidecars, string? Error)> PrepareAsync(IStepExecutor executor, StepSpecBuilder builder, TimeProvider time,
        Workflow wf, PodRequest pod, StepSpec main, CancellationToken ct)
    {
        if (pod.Template.Sidecars is not { Count: > 0 } sidecars) return (null, null);
        var specs = new List<StepSpec>(sidecars.Count);
        foreach (var s in sidecars)
        {
            var request = pod with { NodeId = KeyOf(main.Key, s.Name ?? "").NodeId, Template = new Template { Name = s.Name, Container = s }, InputArtifacts = [] };
            var (spec, error) = await builder.BuildAsync(wf, request, time, ct).ConfigureAwait(false);
            if (spec is null) return (null, $"sidecar '{s.Name}': {error}");
            // mirrorVolumeMounts: the volumes main has (its git clones) at the same paths.
            specs.Add(spec with { InPodSlot = true, Deadline = null, Pod = main.Key, Volumes = s.MirrorVolumeMounts == true ? [.. spec.Volumes, .. main.Volumes] : spec.Volumes });
        }
        return (new PodSidecars(executor, time, specs), null);
    }

    /// <summary>Starts (or, after a restart, adopts) every sidecar; called once main holds its process slot.</summary>
    public void Start(CancellationToken stopWaiting)
    {
        lock (_gate)
        {
            if (_stopped || _running.Count > 0) return;
            // Off the caller's thread: spawning blocks, and main is about to be spawned too.
            foreach (var spec in specs) _running.Add(Task.Run(() => executor.RunAsync(spec, () => { }, stopWaiting), stopWaiting));
        }
    }

    /// <summary>Main ended: SIGTERM to every sidecar, SIGKILL to those still running after <see cref="Grace"/>; returns once all ended.</summary>
    public async Task StopAsync(CancellationToken stopWaiting)
    {
        Task[] running;
        lock (_gate)
        {
            _stopped = true;
            running = [.. _running];
        }
        if (running.Length == 0) return;
        foreach (var spec in specs) executor.Terminate(spec.Key);
        var all = Task.WhenAll(running);
        await Task.WhenAny(all, Task.Delay(Grace, time, stopWaiting)).ConfigureAwait(false);
        if (!all.IsCompleted)
            foreach (var spec in specs) executor.Kill(spec.Key);
        try { await all.WaitAsync(stopWaiting).ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException) { } // a sidecar's failure is not the pod's
    }
}

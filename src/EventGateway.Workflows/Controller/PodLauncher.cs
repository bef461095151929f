using EventGateway.Model;
using EventGateway.Workflows.Execution;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// The pods of one running workflow from launch to end. A pod a pass asks for runs once however often it is asked
/// for; it waits for its process slot in the executor (or is adopted after a restart); it can be killed at any
/// point, and killed before it has its slot it never starts. Results go back to the controller through
/// <c>report</c>, never into the status directly: the status is the reconcile loop's alone.
/// </summary>
internal sealed class PodLauncher
{
    private readonly StepRunner _steps;
    private readonly IWorkflowObserver _observer;
    private readonly TimeProvider _time;
    private readonly Workflow _wf;
    private readonly Action<PodResult> _report;
    private readonly CancellationToken _stopping;
    private readonly Lock _gate = new();
    /// <summary>The pods launched and not yet ended (guarded by <see cref="_gate"/>).</summary>
    private readonly Dictionary<string, Pod> _inFlight = new(StringComparer.Ordinal);
    /// <summary>The workflow was deleted (guarded by <see cref="_gate"/>): a pass still under way launches nothing more.</summary>
    private bool _deleted;

    /// <param name="stopping">the service's: a pod it stops is left running, to be adopted after a restart.</param>
    public PodLauncher(StepRunner steps, IWorkflowObserver observer, TimeProvider time, Workflow wf, Action<PodResult> report, CancellationToken stopping) =>
        (_steps, _observer, _time, _wf, _report, _stopping) = (steps, observer, time, wf, report, stopping);

    /// <summary>One launched pod: whether it got its process and whether it was killed (both guarded by the launcher's gate).</summary>
    internal sealed class Pod(PodLauncher owner, PodRequest request)
    {
        public PodRequest Request { get; } = request;
        public StepKey Key { get; } = new(owner._wf.NamespaceOrDefault, owner._wf.Name, request.NodeId);
        /// <summary>Cancelled only while the step waits for a slot: cancelling later would stop the wait for a live process.</summary>
        public CancellationTokenSource WaitForSlot { get; } = CancellationTokenSource.CreateLinkedTokenSource(owner._stopping);
        public bool Started { get; set; }
        public bool Killed { get; set; }
        /// <summary>The containers of a containerSet pod, which a kill of the pod stops.</summary>
        public ContainerSetRun? Set { get; private set; }

        /// <summary>The step got its process slot: it is Running, unless it was killed while it waited (then no process may start).</summary>
        public void MarkStarted()
        {
            lock (owner._gate)
            {
                if (Killed) throw new OperationCanceledException(WaitForSlot.Token);
                Started = true;
            }
            Report(new PodResult(Request.NodeId, NodePhase.Running, null, null, null, owner._time.GetUtcNow(), default));
        }

        public void Report(PodResult result) => owner._report(result);

        public void Holds(ContainerSetRun set)
        {
            lock (owner._gate) Set = set;
        }
    }

    /// <summary>Starts each pod not already in flight.</summary>
    public void Launch(IEnumerable<PodRequest> requests)
    {
        foreach (var request in requests)
        {
            Pod? pod = null;
            lock (_gate)
                if (!_deleted && !_inFlight.ContainsKey(request.NodeId))
                    _inFlight[request.NodeId] = pod = new Pod(this, request);
            if (pod is not null) _ = RunAsync(pod);
        }
    }

    /// <summary>
    /// The workflow is gone: kills every pod in flight, and no later launch starts one (a pass under way when the
    /// deletion came would otherwise start a step that nothing stops).
    /// </summary>
    public void KillAll()
    {
        List<string> inFlight;
        lock (_gate)
        {
            _deleted = true;
            inFlight = [.. _inFlight.Keys];
        }
        Kill(inFlight);
    }

    /// <summary>
    /// Kills steps' processes; steps still waiting for a process slot never start. All are marked killed before
    /// any process dies, or the slot a kill frees could go to a step that is being killed too.
    /// </summary>
    public void Kill(IReadOnlyList<string> nodeIds)
    {
        var waiting = new List<CancellationTokenSource>();
        var sets = new List<ContainerSetRun>();
        var daemons = new HashSet<string>(StringComparer.Ordinal);
        lock (_gate)
            foreach (var id in nodeIds)
                if (_inFlight.GetValueOrDefault(id) is { } pod)
                {
                    pod.Killed = true;
                    if (!pod.Started) waiting.Add(pod.WaitForSlot);
                    if (pod.Set is { } set) sets.Add(set);
                    if (pod.Started && pod.Request.Template.Daemon == true) daemons.Add(id);
                }
        foreach (var set in sets) set.Kill();
        foreach (var cancel in waiting)
        {
            try { cancel.Cancel(); }
            catch (ObjectDisposedException) { } // the step ended meanwhile
        }
        foreach (var id in nodeIds)
        {
            var key = new StepKey(_wf.NamespaceOrDefault, _wf.Name, id);
            if (daemons.Contains(id)) _ = StopAsync(key);
            else _steps.Executor.Kill(key);
        }
    }

    /// <summary>A daemon is stopped as Kubernetes stops a container: SIGTERM, then SIGKILL once the grace period is over.</summary>
    private async Task StopAsync(StepKey key)
    {
        _steps.Executor.Terminate(key);
        try { await Task.Delay(PodSidecars.Grace, _time, _stopping).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        _steps.Executor.Kill(key); // nothing happens to a step that has ended
    }

    private async Task RunAsync(Pod pod)
    {
        PodResult result;
        try
        {
            result = await _steps.RunAsync(_wf, pod, pod.WaitForSlot.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return; // service stopping: the step goes on and is adopted after restart
        }
        catch (OperationCanceledException) when (pod.Killed)
        {
            return; // killed before it started (shutdown, deadline): its node already says why
        }
        catch (Exception e)
        {
            var now = _time.GetUtcNow();
            result = new PodResult(pod.Request.NodeId, NodePhase.Error, $"executor error: {e.Message}", null, null, now, now);
        }
        finally
        {
            bool deleted;
            lock (_gate)
            {
                if (_inFlight.Remove(pod.Request.NodeId, out var ended)) ended.WaitForSlot.Dispose();
                deleted = _deleted;
            }
            // The deleter removed the workflow's directories when it deleted the workflow; a step that was starting
            // then wrote its directory again. The last of its pods to end removes what is left (best effort: one still
            // being torn down may hold a file a moment longer, and its own end comes after).
            if (deleted)
            {
                try { _steps.Executor.Forget(_wf.NamespaceOrDefault, _wf.Name); }
                catch (IOException) { }
            }
        }
        _report(result);
        StepRunner.Notify(_observer.StepFinished, _wf, pod.Request.NodeId, pod.Key);
    }
}
